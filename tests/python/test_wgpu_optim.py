"""Optimizer updates, gradient clipping and zero_grad on wgpu: each SGD / Adam / AdamW
configuration against the CPU optimizer from the same start (float32 tolerance), state
beside the parameters and state_dict round trips between the devices, and host
transfers counted with ``fg._core._wgpu_stats()`` (none inside a step).

Skipped as a whole, with the adapter's error as the reason, where ``fg.device("wgpu")``
raises RuntimeError (no adapter, or a build without wgpu)."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn

pytestmark = pytest.mark.usefixtures("wgpu_device")

GPU = "wgpu"
# Shapes include a ragged tail past one 256-thread workgroup (300) and an odd matrix.
SHAPES = [(3, 5), (300,), (17,)]
RTOL, ATOL = 1e-5, 1e-6


def _stats():
    s = fg._core._wgpu_stats()
    return {k: s[k] for k in ("uploads", "readbacks")}


def _np(t):
    return t.detach().to("cpu").numpy()


def _init(seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(np.float32) for s in SHAPES]


def _grads(step, seed=1):
    r = np.random.default_rng(seed + 100 * step)
    return [r.standard_normal(s).astype(np.float32) for s in SHAPES]


def _params(init, dev):
    return [fg.tensor(a).to(dev).requires_grad_() for a in init]


def _set_grads(params, grads, dev):
    for p, g in zip(params, grads):
        p.grad = fg.tensor(g).to(dev)


def _run(make, dev, steps=5, init=None):
    params = _params(_init() if init is None else init, dev)
    opt = make(params)
    for s in range(steps):
        _set_grads(params, _grads(s), dev)
        opt.step()
    return params, opt


def _close(a, b, what=""):
    np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL, atol=ATOL, err_msg=what)


CONFIGS = {
    "sgd": lambda p: fg.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: fg.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_dampening_wd": lambda p: fg.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3,
                                               weight_decay=0.01),
    "sgd_nesterov": lambda p: fg.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "sgd_nesterov_wd": lambda p: fg.optim.SGD(p, lr=0.1, momentum=0.5, nesterov=True,
                                              weight_decay=0.1),
    "adam": lambda p: fg.optim.Adam(p, lr=0.01),
    "adam_l2": lambda p: fg.optim.Adam(p, lr=0.01, weight_decay=0.1),
    "adam_amsgrad": lambda p: fg.optim.Adam(p, lr=0.01, amsgrad=True),
    # beta1 < 0.5: torch.lerp's second form.
    "adam_low_beta1": lambda p: fg.optim.Adam(p, lr=0.02, betas=(0.3, 0.9)),
    "adamw": lambda p: fg.optim.AdamW(p, lr=0.01),
    "adamw_amsgrad_wd": lambda p: fg.optim.AdamW(p, lr=0.01, weight_decay=0.2, amsgrad=True),
    "param_groups": lambda p: fg.optim.AdamW(
        [{"params": p[:1], "lr": 0.05}, {"params": p[1:], "weight_decay": 0.0}], lr=0.01),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_optimizer_matches_cpu(name):
    make = CONFIGS[name]
    gp, gopt = _run(make, GPU)
    cp, copt = _run(make, "cpu")
    for i, (g, c) in enumerate(zip(gp, cp)):
        assert g.device.type == GPU
        _close(g, c, f"param {i}")
        # The state lives beside its parameter and matches the CPU's.
        gs, cs = gopt.state[g], copt.state[c]
        assert set(gs) == set(cs)
        for k, v in cs.items():
            if isinstance(v, fg.Tensor) and k != "step":
                assert gs[k].device.type == GPU, k
                _close(gs[k], v, f"param {i} state {k}")
    # The update moved the parameters (a no-op kernel would fail the parity only by luck).
    assert not np.allclose(_np(gp[1]), _init()[1])


def test_step_is_in_place_and_bumps_versions():
    p = fg.tensor(_init()[1]).to(GPU).requires_grad_()
    y = (p * p).sum()  # saves p for its backward
    opt = fg.optim.Adam([p], lr=0.1)
    p.grad = fg.ones(p.shape, device=GPU)
    before = _stats()
    opt.step()
    assert _stats() == before
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_step_does_no_host_transfer():
    for name in ("sgd_nesterov_wd", "adamw_amsgrad_wd"):
        params = _params(_init(), GPU)
        opt = CONFIGS[name](params)
        _set_grads(params, _grads(0), GPU)
        before = _stats()
        opt.step()
        opt.step()
        assert _stats() == before, name


@pytest.mark.parametrize("name", ["sgd_momentum", "adam_amsgrad", "adamw"])
def test_state_dict_round_trips_between_devices(name):
    make = CONFIGS[name]
    # 3 steps on the GPU, then 2 more on each device from the GPU's state.
    gp, gopt = _run(make, GPU, steps=3)
    sd = gopt.state_dict()
    cp = [fg.tensor(_np(p)).requires_grad_() for p in gp]
    copt = make(cp)
    copt.load_state_dict(sd)
    for c in cp:
        for k, v in copt.state[c].items():
            if isinstance(v, fg.Tensor) and k != "step":
                assert v.device.type == "cpu", k
    # ... and back: the CPU optimizer's state loads into a fresh GPU one.
    gp2 = [fg.tensor(_np(p)).to(GPU).requires_grad_() for p in gp]
    gopt2 = make(gp2)
    gopt2.load_state_dict(copt.state_dict())
    for g in gp2:
        for k, v in gopt2.state[g].items():
            if isinstance(v, fg.Tensor) and k != "step":
                assert v.device.type == GPU, k
    for s in range(3, 5):
        g = _grads(s)
        _set_grads(gp, g, GPU)
        _set_grads(cp, g, "cpu")
        _set_grads(gp2, g, GPU)
        gopt.step()
        copt.step()
        gopt2.step()
    for a, b, c in zip(gp, cp, gp2):
        _close(a, b)
        _close(c, b)
    # The uninterrupted CPU run agrees too.
    ref, _ = _run(make, "cpu", steps=5)
    for a, r in zip(cp, ref):
        _close(a, r)


def test_errors():
    p = fg.tensor(_init()[0]).to(GPU).requires_grad_()
    opt = fg.optim.SGD([p], lr=0.1)
    p.grad = fg.tensor(_grads(0)[0])  # a CPU gradient for a GPU parameter
    with pytest.raises(RuntimeError, match="same device"):
        opt.step()
    # State buffers that alias the parameter are refused, not silently raced.
    g = fg.ones((4,), device=GPU)
    q = fg.zeros((4,), device=GPU)
    with pytest.raises(ValueError, match="share memory"):
        fg._core._adam_step(q, g, q, fg.zeros((4,), device=GPU), None, 1, 0.1, 0.9, 0.999,
                            1e-8, 0.0, False, False)
    # A gradient that is the parameter itself is read from a copy: same result as CPU.
    for dev in ("cpu", GPU):
        t = fg.tensor(np.arange(5, dtype=np.float32)).to(dev)
        fg._core._sgd_step(t, t, None, 0.5, 0.0, 0.0, 0.0, False, True)
        np.testing.assert_array_equal(_np(t), np.arange(5, dtype=np.float32) * 0.5)


# --------------------------------------------------------------- clip_grad_norm_


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
def test_clip_grad_norm_matches_cpu_without_transfers(norm_type):
    res = {}
    for dev in ("cpu", GPU):
        params = _params(_init(), dev)
        _set_grads(params, [g * 3 for g in _grads(0)], dev)
        before = _stats()
        total = nn.utils.clip_grad_norm_(params, 1.5, norm_type=norm_type)
        if dev == GPU:
            assert _stats() == before
            assert total.device.type == GPU
        res[dev] = (total, [p.grad for p in params])
    np.testing.assert_allclose(_np(res[GPU][0]), _np(res["cpu"][0]), rtol=1e-5)
    for g, c in zip(res[GPU][1], res["cpu"][1]):
        _close(g, c)
    # The gradients were clipped: their total norm is now max_norm.
    clipped = np.concatenate([_np(g).ravel() for g in res[GPU][1]])
    assert np.linalg.norm(clipped, ord=norm_type) == pytest.approx(1.5, rel=1e-4)


def test_clip_grad_norm_nonfinite_without_readback():
    params = _params(_init(), GPU)
    g = _grads(0)
    g[1][7] = np.inf
    _set_grads(params, g, GPU)
    before = _stats()
    total = nn.utils.clip_grad_norm_(params, 1.0)  # error_if_nonfinite=False: no item()
    assert _stats() == before
    assert math.isinf(float(total.item()))
    _set_grads(params, g, GPU)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


# --------------------------------------------------------------------- zero_grad


def test_optimizer_zero_grad_on_device():
    params = _params(_init(), GPU)
    opt = fg.optim.SGD(params, lr=0.1)
    _set_grads(params, _grads(0), GPU)
    grads = [p.grad for p in params]
    before = _stats()
    opt.zero_grad(set_to_none=False)
    assert _stats() == before
    for p, g in zip(params, grads):
        assert p.grad.device.type == GPU
        assert (p.grad is g) or p.grad.shape == g.shape
        np.testing.assert_array_equal(_np(p.grad), np.zeros(p.shape, np.float32))
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_module_zero_grad_on_device():
    model = nn.Linear(5, 3).to(GPU)
    for p in model.parameters():
        p.grad = fg.ones(p.shape, device=GPU)
    before = _stats()
    model.zero_grad(set_to_none=False)
    assert _stats() == before
    for p in model.parameters():
        assert p.grad.device.type == GPU
        np.testing.assert_array_equal(_np(p.grad), np.zeros(p.shape, np.float32))


def test_zero_and_fill_in_place_on_device():
    t = fg.tensor(np.arange(300, dtype=np.float32)).to(GPU)
    before = _stats()
    t.zero_()
    t[10:20].fill_(2.5)
    assert _stats() == before
    want = np.zeros(300, np.float32)
    want[10:20] = 2.5
    np.testing.assert_array_equal(_np(t), want)


# ------------------------------------------------------------ a training step


def _mlp(seed):
    fg.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))


def test_training_step_host_transfers_and_parity():
    r = np.random.default_rng(3)
    xs = [r.standard_normal((16, 8)).astype(np.float32) for _ in range(3)]
    ys = [r.standard_normal((16, 4)).astype(np.float32) for _ in range(3)]
    losses = {}
    for dev in ("cpu", GPU):
        model = _mlp(7).to(dev)
        opt = fg.optim.AdamW(model.parameters(), lr=0.01)
        losses[dev] = []
        for x, y in zip(xs, ys):
            xb, yb = fg.tensor(x).to(dev), fg.tensor(y).to(dev)  # the batch upload
            before = _stats() if dev == GPU else None
            opt.zero_grad()
            loss = ((model(xb) - yb) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if dev == GPU:
                assert _stats() == before, "host transfers inside a training step"
            losses[dev].append(float(loss.item()))  # the one scalar readback
            if dev == GPU:
                after = _stats()
                assert after["readbacks"] == before["readbacks"] + 1
                assert after["uploads"] == before["uploads"]
        final = [_np(p) for p in model.parameters()]
        losses[dev].append(final)
    for a, b in zip(losses[GPU][:-1], losses["cpu"][:-1]):
        assert a == pytest.approx(b, rel=1e-5)
    for a, b in zip(losses[GPU][-1], losses["cpu"][-1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
