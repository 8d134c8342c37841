"""Losses: F.cross_entropy (fused kernel) against a NumPy float64 reference for every
option, its gradients (finite differences, fused vs composite), error cases; and the
composite losses nll_loss, mse_loss, l1_loss, binary_cross_entropy_with_logits."""

import itertools

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F


def ref_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's formulas, float64, on (N, C) logits."""
    x = np.asarray(x, np.float64)
    n, c = x.shape
    lse = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
    logp = x - lse[:, None]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    if np.issubdtype(np.asarray(t).dtype, np.floating):
        tp = (1 - eps) * np.asarray(t, np.float64) + eps / c
        loss = -(w * tp * logp).sum(1)
        denom = n
    else:
        t = np.asarray(t)
        keep = t != ignore_index
        safe = np.where(keep, t, 0)
        nll = -logp[np.arange(n), safe] * w[safe]
        smooth = -(logp * w).sum(1)
        loss = np.where(keep, (1 - eps) * nll + eps / c * smooth, 0.0)
        denom = (w[safe] * keep).sum()
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / denom


def _data(n=6, c=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * 2
    y = rng.integers(0, c, n)
    w = rng.uniform(0.5, 2.0, c)
    probs = rng.dirichlet(np.ones(c), n)
    return x, y, w, probs


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_indices_matches_reference(reduction, use_weight, ignore, eps, dtype):
    x, y, w, _ = _data()
    if ignore:
        y[[1, 4]] = -100
    got = F.cross_entropy(fg.tensor(x.astype(dtype)), fg.tensor(y),
                          weight=fg.tensor(w.astype(dtype)) if use_weight else None,
                          reduction=reduction, label_smoothing=eps)
    want = ref_cross_entropy(x.astype(dtype), y, w.astype(dtype) if use_weight else None,
                             reduction=reduction, eps=eps)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)
    assert got.dtype == (fg.float32 if dtype == np.float32 else fg.float64)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_probabilities_matches_reference(reduction, use_weight, eps):
    x, _, w, p = _data()
    got = F.cross_entropy(fg.tensor(x), fg.tensor(p), weight=fg.tensor(w) if use_weight else None,
                          reduction=reduction, label_smoothing=eps)
    want = ref_cross_entropy(x, p, w if use_weight else None, reduction=reduction, eps=eps)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_custom_ignore_index():
    x, y, _, _ = _data()
    y[2] = 3
    got = F.cross_entropy(fg.tensor(x), fg.tensor(y), ignore_index=3)
    np.testing.assert_allclose(got.item(), ref_cross_entropy(x, y, ignore_index=3), rtol=1e-12)


def test_all_ignored_mean_is_nan():
    x, y, _, _ = _data()
    y[:] = -100
    assert np.isnan(F.cross_entropy(fg.tensor(x), fg.tensor(y)).item())


def test_label_smoothing_worked_example():
    # Seeds (lecture 6): 10 classes, eps = 0.1 -> the true class gets 0.91, others 0.01.
    c, eps = 10, 0.1
    smoothed = (1 - eps) * np.eye(c)[3] + eps / c
    np.testing.assert_allclose(smoothed[3], 0.91)
    np.testing.assert_allclose(np.delete(smoothed, 3), 0.01)
    x = np.random.default_rng(1).standard_normal((1, c))
    lab = F.cross_entropy(fg.tensor(x), fg.tensor([3]), label_smoothing=eps).item()
    soft = F.cross_entropy(fg.tensor(x), fg.tensor(smoothed[None])).item()
    np.testing.assert_allclose(lab, soft, rtol=1e-12)
    # And the gradient is softmax - smoothed target.
    xt = fg.tensor(x, requires_grad=True)
    F.cross_entropy(xt, fg.tensor([3]), label_smoothing=eps).backward()
    sm = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(xt.grad.numpy(), sm - smoothed, rtol=1e-10, atol=1e-12)


def test_unbatched_and_nd_inputs():
    x, y, w, _ = _data(n=4, c=3)
    one = F.cross_entropy(fg.tensor(x[0]), fg.tensor(np.int64(y[0])), reduction="none")
    assert one.shape == ()
    np.testing.assert_allclose(one.item(), ref_cross_entropy(x[:1], y[:1], reduction="sum"), rtol=1e-12)
    # (N, C, d) with d = 2: class axis 1.
    rng = np.random.default_rng(3)
    x3 = rng.standard_normal((2, 3, 4))
    y3 = rng.integers(0, 3, (2, 4))
    got = F.cross_entropy(fg.tensor(x3), fg.tensor(y3), reduction="none", label_smoothing=0.1)
    assert got.shape == (2, 4)
    rows = x3.transpose(0, 2, 1).reshape(-1, 3)
    np.testing.assert_allclose(got.numpy().ravel(),
                               ref_cross_entropy(rows, y3.ravel(), reduction="none", eps=0.1),
                               rtol=1e-12)
    xt = fg.tensor(x3, requires_grad=True)
    F.cross_entropy(xt, fg.tensor(y3)).backward()
    assert xt.grad.shape == (2, 3, 4)


def test_module_matches_function():
    x, y, w, _ = _data()
    m = nn.CrossEntropyLoss(weight=fg.tensor(w), ignore_index=1, reduction="sum", label_smoothing=0.05)
    want = ref_cross_entropy(x, y, w, ignore_index=1, reduction="sum", eps=0.05)
    np.testing.assert_allclose(m(fg.tensor(x), fg.tensor(y)).item(), want, rtol=1e-12)


def _composite_grad(x, y, **kw):
    """d loss/dx from the backward's composite (create_graph) path."""
    xt = fg.tensor(x, requires_grad=True)
    (g,) = fg.autograd.grad(F.cross_entropy(xt, y, **kw), xt, create_graph=True)
    return g.detach().numpy()


def _fused_grad(x, y, **kw):
    xt = fg.tensor(x, requires_grad=True)
    F.cross_entropy(xt, y, **kw).backward()
    return xt.grad.numpy()


OPTIONS = [dict(reduction=r, label_smoothing=e, ignore_index=i, weight=w)
           for r, e, i, w in itertools.product(["none", "sum", "mean"], [0.0, 0.3], [-100, 2],
                                               [False, True])]


@pytest.mark.parametrize("opts", OPTIONS)
def test_fused_backward_matches_composite_and_finite_differences(opts):
    x, y, w, _ = _data()
    kw = dict(opts, weight=fg.tensor(w) if opts["weight"] else None)
    yt = fg.tensor(y)
    fused = _fused_grad(x, yt, **kw) if kw["reduction"] != "none" else None
    if fused is not None:
        np.testing.assert_allclose(fused, _composite_grad(x, yt, **kw), rtol=1e-12, atol=1e-14)
    f = lambda t: F.cross_entropy(t, yt, **kw)  # noqa: E731
    assert fg.autograd.gradcheck(f, (fg.tensor(x, requires_grad=True),))
    assert fg.autograd.gradgradcheck(f, (fg.tensor(x, requires_grad=True),))


def test_fused_backward_with_grad_output_none_reduction():
    x, y, w, _ = _data()
    gout = np.random.default_rng(5).standard_normal(len(y))
    xt = fg.tensor(x, requires_grad=True)
    F.cross_entropy(xt, fg.tensor(y), weight=fg.tensor(w), reduction="none",
                    label_smoothing=0.1).backward(fg.tensor(gout))
    xc = fg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xc, fg.tensor(y), weight=fg.tensor(w), reduction="none", label_smoothing=0.1)
    (g,) = fg.autograd.grad(loss, xc, fg.tensor(gout), create_graph=True)
    np.testing.assert_allclose(xt.grad.numpy(), g.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_probability_targets_gradcheck_input_and_target(eps):
    x, _, w, p = _data(n=3, c=4)
    f = lambda a, b: F.cross_entropy(a, b, weight=fg.tensor(w), label_smoothing=eps)  # noqa: E731
    args = (fg.tensor(x, requires_grad=True), fg.tensor(p, requires_grad=True))
    assert fg.autograd.gradcheck(f, args)
    assert fg.autograd.gradgradcheck(f, args)


def test_large_logits_are_stable():
    x = np.array([[1000.0, 0.0, -1000.0]])
    got = F.cross_entropy(fg.tensor(x), fg.tensor([1])).item()
    np.testing.assert_allclose(got, 1000.0)


def test_thread_count_independent():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5000, 37)).astype(np.float32)
    y = rng.integers(0, 37, 5000)
    old = fg.get_num_threads()
    try:
        out = []
        for n in (1, 3):
            fg.set_num_threads(n)
            xt = fg.tensor(x, requires_grad=True)
            loss = F.cross_entropy(xt, fg.tensor(y), label_smoothing=0.1)
            loss.backward()
            out.append((loss.numpy(), xt.grad.numpy()))
    finally:
        fg.set_num_threads(old)
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


def test_cross_entropy_errors():
    x = fg.tensor(np.zeros((2, 10)))
    with pytest.raises(IndexError, match=r"^Target 12 is out of bounds\.$"):
        F.cross_entropy(x, fg.tensor([0, 12]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.cross_entropy(x, fg.tensor([-1, 0]))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
            F.cross_entropy(x, fg.tensor([0, 1]), label_smoothing=bad)
        with pytest.raises(ValueError, match="label_smoothing"):
            nn.CrossEntropyLoss(label_smoothing=bad)
    with pytest.raises(ValueError, match="Expected target size"):
        F.cross_entropy(x, fg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, fg.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="probabilities"):
        F.cross_entropy(x, fg.tensor(np.full((2, 9), 0.1)))
    with pytest.raises(ValueError, match="weight tensor should be defined"):
        F.cross_entropy(x, fg.tensor([0, 1]), weight=fg.tensor(np.ones(3)))
    with pytest.raises(TypeError):
        F.cross_entropy(x, fg.tensor([True, False]))
    with pytest.raises(ValueError):
        F.cross_entropy(fg.tensor(1.0), fg.tensor(0))


# ---- composite losses ----------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("use_weight", [False, True])
def test_nll_loss_matches_cross_entropy_on_log_softmax(reduction, use_weight):
    x, y, w, _ = _data()
    y[0] = -100
    wt = fg.tensor(w) if use_weight else None
    logp = fg.tensor(x).log_softmax(dim=1)
    got = F.nll_loss(logp, fg.tensor(y), weight=wt, reduction=reduction)
    want = ref_cross_entropy(x, y, w if use_weight else None, reduction=reduction)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    m = nn.NLLLoss(weight=wt, reduction=reduction)
    np.testing.assert_allclose(m(logp, fg.tensor(y)).numpy(), want, rtol=1e-12, atol=1e-14)


def test_nll_loss_grad_and_errors():
    x, y, w, _ = _data()
    f = lambda t: F.nll_loss(t, fg.tensor(y), weight=fg.tensor(w))  # noqa: E731
    assert fg.autograd.gradcheck(f, (fg.tensor(x, requires_grad=True),))
    with pytest.raises(IndexError, match="Target 9 is out of bounds"):
        F.nll_loss(fg.tensor(x), fg.tensor([9] * 6))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.nll_loss(fg.tensor(x), fg.tensor(y), reduction="x")


def test_mse_and_l1():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for red, fn in (("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)):
        np.testing.assert_allclose(F.mse_loss(fg.tensor(a), fg.tensor(b), reduction=red).numpy(),
                                   fn((a - b) ** 2), rtol=1e-12)
        np.testing.assert_allclose(nn.L1Loss(reduction=red)(fg.tensor(a), fg.tensor(b)).numpy(),
                                   fn(np.abs(a - b)), rtol=1e-12)
    np.testing.assert_allclose(nn.MSELoss()(fg.tensor(a), fg.tensor(b)).item(), np.mean((a - b) ** 2))
    assert fg.autograd.gradcheck(lambda t: F.mse_loss(t, fg.tensor(b)), (fg.tensor(a, requires_grad=True),))
    with pytest.raises(ValueError):
        F.l1_loss(fg.tensor(a), fg.tensor(b), reduction="bad")


def ref_bce(x, t, w=None, pw=None):
    sig = 1 / (1 + np.exp(-x))
    pw = 1.0 if pw is None else pw
    loss = -(pw * t * np.log(sig) + (1 - t) * np.log(1 - sig))
    return loss if w is None else loss * w


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bce_with_logits(reduction):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3)) * 3
    t = rng.uniform(0, 1, (5, 3))
    w = rng.uniform(0.5, 1.5, (5, 3))
    pw = rng.uniform(0.5, 3, 3)
    red = {"none": lambda v: v, "sum": np.sum, "mean": np.mean}[reduction]
    got = F.binary_cross_entropy_with_logits(fg.tensor(x), fg.tensor(t), weight=fg.tensor(w),
                                             reduction=reduction, pos_weight=fg.tensor(pw))
    np.testing.assert_allclose(got.numpy(), red(ref_bce(x, t, w, pw)), rtol=1e-10)
    m = nn.BCEWithLogitsLoss(reduction=reduction)
    np.testing.assert_allclose(m(fg.tensor(x), fg.tensor(t)).numpy(), red(ref_bce(x, t)), rtol=1e-10)
    f = lambda a: F.binary_cross_entropy_with_logits(a, fg.tensor(t), pos_weight=fg.tensor(pw))  # noqa: E731
    assert fg.autograd.gradcheck(f, (fg.tensor(x, requires_grad=True),))


def test_bce_with_logits_stable_and_errors():
    x = fg.tensor(np.array([1000.0, -1000.0]))
    t = fg.tensor(np.array([0.0, 1.0]))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t, reduction="none").numpy(),
                               [1000.0, 1000.0])
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(fg.tensor(np.zeros(3)), fg.tensor(np.zeros(2)))
