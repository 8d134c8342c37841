"""Optimizers: trajectories under fixed gradients against PyTorch's update rules
written out by hand in NumPy float64; param groups; state_dict resume; errors."""

import copy

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn, optim

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.8, 0.1]), np.array([1.2, 0.0, -0.7]),
         np.array([0.2, -0.4, 0.9])]
P0 = np.array([1.0, -2.0, 0.5])


def run_fg(make_opt, grads=GRADS, p0=P0):
    p = fg.tensor(p0.copy(), requires_grad=True)
    opt = make_opt([p])
    out = []
    for g in grads:
        p.grad = fg.tensor(g)
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf, out = P0.copy(), None, []
    for g in GRADS:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    p, m, v, vmax, out = P0.copy(), 0 * P0, 0 * P0, 0 * P0, []
    for t, g in enumerate(GRADS, 1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = m + (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        if amsgrad:
            vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / np.sqrt(bc2) + eps
        p = p - lr / bc1 * m / denom
        out.append(p)
    return out


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.3),
             dict(lr=0.1, momentum=0.8, nesterov=True), dict(lr=0.1, weight_decay=0.05),
             dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)]


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_trajectory(kw):
    for got, want in zip(run_fg(lambda ps: optim.SGD(ps, **kw)), ref_sgd(**kw)):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


def test_seed_l2_worked_example():
    # Seeds (lecture 6): w = 2.0, dL/dw = 1.5, lr 0.1, lambda 0.01 -> 1.848 (1.85 without L2).
    for wd, want in ((0.0, 1.85), (0.01, 1.848)):
        w = fg.tensor([2.0], dtype=fg.float64, requires_grad=True)
        w.grad = fg.tensor([1.5], dtype=fg.float64)
        optim.SGD([w], lr=0.1, weight_decay=wd).step()
        np.testing.assert_allclose(w.item(), want, rtol=1e-15)


ADAM_CASES = [dict(lr=0.1), dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
              dict(lr=0.1, weight_decay=0.1), dict(lr=0.1, amsgrad=True),
              dict(lr=0.05, weight_decay=0.1, amsgrad=True)]


def _ref_kw(kw):
    r = dict(kw)
    if "betas" in r:
        r["b1"], r["b2"] = r.pop("betas")
    return r


@pytest.mark.parametrize("kw", ADAM_CASES)
def test_adam_trajectory(kw):
    for got, want in zip(run_fg(lambda ps: optim.Adam(ps, **kw)), ref_adam(**_ref_kw(kw))):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.5),
                                dict(lr=0.1, weight_decay=0.1, amsgrad=True)])
def test_adamw_trajectory(kw):
    want = ref_adam(decoupled=True, **dict({"weight_decay": 1e-2}, **_ref_kw(kw)))
    for got, w in zip(run_fg(lambda ps: optim.AdamW(ps, **kw)), want):
        np.testing.assert_allclose(got, w, rtol=1e-13, atol=1e-15)


def test_adamw_default_weight_decay_and_adam_differs():
    assert optim.AdamW([fg.zeros(1, requires_grad=True)]).defaults["weight_decay"] == 1e-2
    a = run_fg(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5))
    b = run_fg(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5))
    assert not np.allclose(a[-1], b[-1])


def test_float32_params_and_state_dtype():
    p = fg.tensor(P0.astype(np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = fg.tensor(GRADS[0].astype(np.float32))
    opt.step()
    assert p.dtype == fg.float32 and opt.state[p]["exp_avg"].dtype == fg.float32
    np.testing.assert_allclose(p.detach().numpy(), ref_adam(0.1)[0], rtol=1e-6)
    assert opt.state[p]["step"].item() == 1


def test_params_without_grad_are_skipped_and_zero_grad():
    a = fg.tensor([1.0, 2.0], requires_grad=True)
    b = fg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    a.grad = fg.tensor([1.0, 1.0])
    opt.step()
    np.testing.assert_allclose(b.detach().numpy(), [3.0])
    assert b not in opt.state
    opt.zero_grad()
    assert a.grad is None
    a.grad = fg.tensor([1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])


def test_step_runs_under_no_grad_and_bumps_version():
    # A graph that saved the parameter must notice the in-place update.
    p = fg.tensor([1.0, 2.0], requires_grad=True)
    y = (p * p).sum()
    p.grad = fg.tensor([1.0, 1.0])
    optim.SGD([p], lr=0.1).step()
    assert p.requires_grad and p.is_leaf
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_param_groups_with_per_group_options():
    a = fg.tensor([1.0], dtype=fg.float64, requires_grad=True)
    b = fg.tensor([1.0], dtype=fg.float64, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["nesterov"] is False
    for _ in range(2):
        a.grad = fg.tensor([1.0], dtype=fg.float64)
        b.grad = fg.tensor([1.0], dtype=fg.float64)
        opt.step()
    np.testing.assert_allclose(a.item(), 1.0 - 0.2)
    np.testing.assert_allclose(b.item(), 1.0 - 0.5 * 1.0 - 0.5 * 1.9)
    c = fg.tensor([0.0], requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[2]["dampening"] == 0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def _train(opt_factory, steps, model=None, opt=None):
    fg.manual_seed(0)
    if model is None:
        model = nn.Linear(4, 3)
    if opt is None:
        opt = opt_factory(model.parameters())
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((8, 4)).astype(np.float32) for _ in range(6)]
    ys = [rng.integers(0, 3, 8) for _ in range(6)]
    for i in steps:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(fg.tensor(xs[i])), fg.tensor(ys[i]))
        loss.backward()
        opt.step()
    return model, opt


@pytest.mark.parametrize("factory", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01),
])
def test_state_dict_resume_is_bit_for_bit(factory):
    full, _ = _train(factory, range(6))
    model, opt = _train(factory, range(3))
    sd = copy.deepcopy(opt.state_dict())
    msd = copy.deepcopy(model.state_dict())
    assert set(sd) == {"state", "param_groups"} and sd["param_groups"][0]["params"] == [0, 1]
    fg.manual_seed(1)
    model2 = nn.Linear(4, 3)
    model2.load_state_dict(msd)
    opt2 = factory(model2.parameters())
    opt2.load_state_dict(sd)
    model2, _ = _train(factory, range(3, 6), model=model2, opt=opt2)
    for (_, a), (_, b) in zip(full.state_dict().items(), model2.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_load_state_dict_mismatch():
    a = fg.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    other = optim.SGD([fg.zeros(2, requires_grad=True), fg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(other.state_dict())


def test_errors():
    p = [fg.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD(p, lr=-0.1)
    with pytest.raises(ValueError, match="Invalid momentum"):
        optim.SGD(p, lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="Invalid weight_decay"):
        optim.SGD(p, lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon"):
        optim.AdamW(p, eps=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError):
        optim.SGD(fg.zeros(2, requires_grad=True), lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p[0]}}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p[0] * 2], lr=0.1)
    with pytest.raises(ValueError, match="required optimization parameter"):
        from ferrograd.optim.optimizer import Optimizer, required
        Optimizer(p, {"lr": required})
    # The kernels check their buffers (never a panic).
    with pytest.raises(ValueError):
        fg._core._sgd_step(p[0], fg.zeros(3), None, 0.1, 0.0, 0.0, 0.0, False, True)
    with pytest.raises(ValueError):
        fg._core._sgd_step(p[0], fg.zeros(2), None, 0.1, 0.9, 0.0, 0.0, False, True)
    with pytest.raises(TypeError):
        fg._core._adam_step(p[0], fg.zeros(2), fg.zeros(2, dtype=fg.float64), fg.zeros(2), None,
                            1, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False)
