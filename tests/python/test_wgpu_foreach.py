"""Grouped optimizer updates on wgpu (``_core._adam_step_many`` / ``_sgd_step_many``,
which the optimizers call once per param group): for several configurations, 11
parameters of mixed sizes (an empty one, 1-element ones, rows past one workgroup, a view
at a non-zero offset into a bigger buffer) are updated bitwise as the per-tensor kernels
(``_core._adam_step`` / ``_sgd_step``) update them, and like the CPU within float32
tolerance; one step costs ceil(n / G) dispatches and no host transfer; bad input raises
the per-tensor path's errors.

Skipped as a whole, with the adapter's error as the reason, where ``fg.device("wgpu")``
raises RuntimeError (no adapter, or a build without wgpu)."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _core

pytestmark = pytest.mark.usefixtures("wgpu_device")

GPU = "wgpu"
# 10 plain shapes plus the offset view below: 11 parameters, 10 of them non-empty.
SHAPES = [(3, 5), (300,), (17,), (0,), (1,), (1000,), (2, 7), (256,), (257,), (1, 1)]
VIEW = (7, 27)  # elements [7, 27) of a 40-element buffer
STEPS = 4
# Which parameters have no gradient at which step, so step counts differ per tensor.
SKIP = {0: {2}, 2: {5, 9}}

ADAM_CONFIGS = [
    dict(),
    dict(weight_decay=0.1, amsgrad=True),
    dict(betas=(0.3, 0.99), eps=1e-6),  # beta1 < 0.5: lerp's second form
    dict(decoupled=True, weight_decay=0.05, amsgrad=True),
    dict(decoupled=True, weight_decay=0.01, lr=0.05),
]
SGD_CONFIGS = [
    dict(),
    dict(momentum=0.9, weight_decay=0.01),
    dict(momentum=0.8, nesterov=True),
    dict(momentum=0.5, dampening=0.3, weight_decay=0.2),
]


def _bits(t):
    return t.detach().to("cpu").numpy().view(np.uint32)


def _make(dev, seed=0):
    r = np.random.default_rng(seed)
    ps = [fg.tensor(r.standard_normal(s).astype(np.float32)).to(dev) for s in SHAPES]
    big = fg.tensor(r.standard_normal(40).astype(np.float32)).to(dev)
    return ps + [big[VIEW[0]:VIEW[1]]]


def _grads(step, params, seed=1):
    r = np.random.default_rng(seed + 100 * step)
    gs = [fg.tensor(r.standard_normal(p.shape).astype(np.float32)) for p in params]
    return [None if i in SKIP.get(step, ()) else g for i, g in enumerate(gs)]


def _adam_args(c):
    b1, b2 = c.get("betas", (0.9, 0.999))
    return (c.get("lr", 1e-2), b1, b2, c.get("eps", 1e-8), c.get("weight_decay", 0.0),
            c.get("amsgrad", False), c.get("decoupled", False))


def _sgd_args(c):
    return (c.get("lr", 0.1), c.get("momentum", 0.0), c.get("dampening", 0.0),
            c.get("weight_decay", 0.0), c.get("nesterov", False))


def _state(p, amsgrad):
    z = lambda: _core.zeros(p.shape, dtype=p.dtype, device=p.device)  # noqa: E731
    return dict(step=0, m=z(), v=z(), x=z() if amsgrad else None, buf=None)


def _run_adam(c, dev, many):
    """STEPS Adam updates of the 11 parameters, grouped or one tensor at a time."""
    ps = _make(dev)
    lr, b1, b2, eps, wd, ams, dec = _adam_args(c)
    st = [_state(p, ams) for p in ps]
    for s in range(STEPS):
        items = []
        for p, g, q in zip(ps, _grads(s, ps), st):
            if g is not None:
                q["step"] += 1
                items.append((p, g.to(dev), q))
        if many:
            _core._adam_step_many([i[0] for i in items], [i[1] for i in items],
                                  [i[2]["m"] for i in items], [i[2]["v"] for i in items],
                                  [i[2]["x"] for i in items], [i[2]["step"] for i in items],
                                  lr, b1, b2, eps, wd, ams, dec)
        else:
            for p, g, q in items:
                _core._adam_step(p, g, q["m"], q["v"], q["x"], q["step"], lr, b1, b2, eps,
                                 wd, ams, dec)
    return ps + [q[k] for q in st for k in ("m", "v", "x") if q[k] is not None]


def _run_sgd(c, dev, many):
    ps = _make(dev)
    lr, mom, damp, wd, nest = _sgd_args(c)
    st = [_state(p, False) for p in ps]
    for s in range(STEPS):
        items = []
        for p, g, q in zip(ps, _grads(s, ps), st):
            if g is None:
                continue
            first = q["buf"] is None
            if mom != 0 and first:
                q["buf"] = _core.zeros(p.shape, dtype=p.dtype, device=p.device)
            items.append((p, g.to(dev), q["buf"], first))
        if many:
            _core._sgd_step_many([i[0] for i in items], [i[1] for i in items],
                                 [i[2] for i in items], [i[3] for i in items],
                                 lr, mom, damp, wd, nest)
        else:
            for p, g, b, first in items:
                _core._sgd_step(p, g, b, lr, mom, damp, wd, nest, first)
    return ps + [q["buf"] for q in st if q["buf"] is not None]


def _check(run, c):
    grouped = run(c, GPU, True)
    single = run(c, GPU, False)
    cpu = run(c, "cpu", False)
    assert len(grouped) == len(single) == len(cpu) >= 11
    for a, b, want in zip(grouped, single, cpu):
        np.testing.assert_array_equal(_bits(a), _bits(b))
        np.testing.assert_allclose(a.to("cpu").numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("c", ADAM_CONFIGS, ids=str)
def test_adam_many_is_bitwise_the_per_tensor_update(c):
    _check(_run_adam, c)


@pytest.mark.parametrize("c", SGD_CONFIGS, ids=str)
def test_sgd_many_is_bitwise_the_per_tensor_update(c):
    _check(_run_sgd, c)


def test_offset_view_is_updated_in_place_and_its_neighbours_kept():
    big = fg.tensor(np.arange(40, dtype=np.float32)).to(GPU)
    v = big[VIEW[0]:VIEW[1]]
    p = fg.zeros((3,)).to(GPU)
    _core._sgd_step_many([p, v], [fg.ones((3,)).to(GPU), fg.ones((20,)).to(GPU)],
                         [None, None], [True, True], 0.5, 0.0, 0.0, 0.0, False)
    want = np.arange(40, dtype=np.float32)
    want[VIEW[0]:VIEW[1]] -= 0.5
    np.testing.assert_array_equal(big.to("cpu").numpy(), want)
    np.testing.assert_array_equal(p.to("cpu").numpy(), [-0.5] * 3)


def test_views_of_one_buffer_go_to_separate_dispatches_with_the_same_result():
    # Two parameters in one buffer must not be bound twice in one dispatch.
    def run(dev, many):
        base = fg.tensor(np.linspace(-1, 1, 64, dtype=np.float32)).to(dev)
        ps = [base[0:30], base[30:64]]
        gs = [fg.full(p.shape, 0.25).to(dev) for p in ps]
        ms = [_core.zeros(p.shape, dtype=p.dtype, device=p.device) for p in ps]
        vs = [_core.zeros(p.shape, dtype=p.dtype, device=p.device) for p in ps]
        args = (1e-2, 0.9, 0.999, 1e-8, 0.0, False, False)
        if many:
            _core._adam_step_many(ps, gs, ms, vs, [None, None], [1, 1], *args)
        else:
            for p, g, m, v in zip(ps, gs, ms, vs):
                _core._adam_step(p, g, m, v, None, 1, *args)
        return base
    s0 = fg._core._wgpu_stats()["dispatches"]
    got = run(GPU, True)
    assert fg._core._wgpu_stats()["dispatches"] - s0 >= 2
    np.testing.assert_array_equal(_bits(got), _bits(run(GPU, False)))
    np.testing.assert_allclose(got.to("cpu").numpy(), run("cpu", False).numpy(), rtol=1e-5)


def _model_step_counts(make, amsgrad_or_momentum, kind):
    ps = [p.requires_grad_() for p in _make(GPU)]
    opt = make(ps)
    r = np.random.default_rng(3)
    for _ in range(2):
        for p in ps:
            p.grad = fg.tensor(r.standard_normal(p.shape).astype(np.float32)).to(GPU)
        fg.synchronize()
        s0 = fg._core._wgpu_stats()
        opt.step()
        s1 = fg._core._wgpu_stats()
    d = {k: s1[k] - s0[k] for k in s0}
    g = _core._wgpu_optim_group_size(kind, amsgrad_or_momentum)
    nonempty = sum(1 for p in ps if p.numel() > 0)
    return d, g, nonempty


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_step_dispatches_once_per_group_with_no_host_transfer(amsgrad):
    d, g, n = _model_step_counts(lambda ps: fg.optim.AdamW(ps, lr=0.01, amsgrad=amsgrad),
                                 amsgrad, "adam")
    assert 1 < g <= 8
    assert d["dispatches"] == math.ceil(n / g) < n
    assert d["uploads"] == d["readbacks"] == 0


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_step_dispatches_once_per_group_with_no_host_transfer(momentum):
    d, g, n = _model_step_counts(lambda ps: fg.optim.SGD(ps, lr=0.1, momentum=momentum),
                                 momentum != 0, "sgd")
    assert 1 < g <= 8
    assert d["dispatches"] == math.ceil(n / g) < n
    assert d["uploads"] == d["readbacks"] == 0


def _error(f):
    with pytest.raises(Exception) as e:
        f()
    return type(e.value), str(e.value)


def test_errors_are_the_per_tensor_errors_and_nothing_is_updated():
    adam = (1e-2, 0.9, 0.999, 1e-8, 0.0, True, False)
    good = fg.ones((4,)).to(GPU)
    z = lambda s=(4,): _core.zeros(s, dtype=fg.float32, device=GPU)  # noqa: E731
    m, v, x = z(), z(), z()
    cases = [
        # (per-tensor args of the bad item, as p, g, m, v, x, step)
        (fg.ones((4,)).to(GPU), fg.ones((5,)).to(GPU), z(), z(), z(), 1),  # grad shape
        (fg.ones((4,)).to(GPU), fg.ones((4,)), z(), z(), z(), 1),  # grad on the CPU
        (fg.ones((4,)).to(GPU), fg.ones((4,)).to(GPU), z((3,)), z(), z(), 1),  # state shape
        (fg.ones((4,)).to(GPU), fg.ones((4,)).to(GPU), z(), z(), None, 1),  # amsgrad, no max
        (fg.ones((4,)).to(GPU), fg.ones((4,)).to(GPU), z(), z(), z(), 0),  # step 0
    ]
    for p, g, bm, bv, bx, step in cases:
        want = _error(lambda: _core._adam_step(p, g, bm, bv, bx, step, *adam))
        got = _error(lambda: _core._adam_step_many(
            [good, p], [fg.ones((4,)).to(GPU), g], [m, bm], [v, bv], [x, bx], [1, step], *adam))
        assert got == want
        assert issubclass(got[0], (ValueError, TypeError, RuntimeError, IndexError))
    # Every item is checked before any is updated.
    np.testing.assert_array_equal(good.to("cpu").numpy(), np.ones(4, np.float32))
    sgd = (0.1, 0.9, 0.0, 0.0, False)
    want = _error(lambda: _core._sgd_step(good, fg.ones((4,)).to(GPU), None, *sgd, True))
    got = _error(lambda: _core._sgd_step_many([good], [fg.ones((4,)).to(GPU)], [None], [True],
                                              *sgd))
    assert got == want
    with pytest.raises(ValueError, match="equal lengths"):
        _core._sgd_step_many([good], [], [None], [True], *sgd)
    with pytest.raises(ValueError, match="equal lengths"):
        _core._adam_step_many([good], [fg.ones((4,)).to(GPU)], [m], [v], [x], [], *adam)


def test_mixed_devices_in_one_call():
    r = np.random.default_rng(7)
    a = [r.standard_normal(s).astype(np.float32) for s in [(5,), (300,), (3,)]]
    gs = [r.standard_normal(x.shape).astype(np.float32) for x in a]

    def run(devs):
        ps = [fg.tensor(x).to(d) for x, d in zip(a, devs)]
        bufs = [_core.zeros(p.shape, dtype=p.dtype, device=p.device) for p in ps]
        for first in (True, False):
            _core._sgd_step_many(ps, [fg.tensor(g).to(d) for g, d in zip(gs, devs)], bufs,
                                 [first] * 3, 0.1, 0.9, 0.0, 0.01, True)
        return [p.to("cpu").numpy() for p in ps]
    for got, want in zip(run([GPU, "cpu", GPU]), run(["cpu"] * 3)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
