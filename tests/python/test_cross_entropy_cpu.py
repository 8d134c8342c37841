"""The vectorised CPU kernel of F.cross_entropy: loss and input gradient against a
float64 NumPy reference for every option (class-index and probability targets, label
smoothing, class weights, ignore_index, each reduction) on class counts that leave a
remainder at every lane width (1, 7, 33, 1000), gradcheck in float64, non-finite rows,
and bitwise independence from the thread count."""

import itertools

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.nn import functional as F

CLASSES = [1, 7, 33, 1000]
TARGETS = ["index", "index_ignore", "prob"]


def ref_rows(x, t, weight=None, ignore_index=-100, eps=0.0):
    """float64 per-row losses, gradients and gradient magnitudes. With T the weighted,
    smoothed target matrix, the loss of row n is sum_k T[n, k] (lse_n - x[n, k]) and its
    gradient softmax_n * sum_k T[n, k] - T[n]; the magnitude is the sum of the two terms'
    sizes (what float32 rounding errors scale with)."""
    x = np.asarray(x, np.float64)
    n, c = x.shape
    mx = x.max(1, keepdims=True)
    lse = np.log(np.exp(x - mx).sum(1, keepdims=True)) + mx
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.floating):
        tm = w * ((1 - eps) * t.astype(np.float64) + eps / c)
    else:
        tm = np.zeros((n, c))
        for r, y in enumerate(t):
            if y != ignore_index:
                tm[r] = eps / c * w
                tm[r, y] += (1 - eps) * w[y]
    with np.errstate(invalid="ignore"):
        loss = (tm * (lse - x)).sum(1)
    pa = np.exp(x - lse) * tm.sum(1, keepdims=True)
    return loss, pa - tm, np.abs(pa) + np.abs(tm)


def ref(x, t, weight, ignore_index, eps, reduction, gout):
    """(loss, d loss / dx with cotangent gout, its magnitude) as F.cross_entropy on (N, C)
    rows."""
    loss, grad, mag = ref_rows(x, t, weight, ignore_index, eps)
    if reduction == "none":
        return loss, grad * gout[:, None], mag * np.abs(gout[:, None])
    if reduction == "sum":
        return loss.sum(), grad, mag
    t = np.asarray(t)
    if np.issubdtype(t.dtype, np.floating):
        denom = len(t)
    else:
        w = np.ones(x.shape[1]) if weight is None else weight
        keep = t != ignore_index
        denom = (w[np.where(keep, t, 0)] * keep).sum()
    return loss.sum() / denom, grad / denom, mag / denom


def data(n, c, kind, seed):
    rng = np.random.default_rng(seed)
    # Spread logits with an offset, so that x - max matters; some rows far apart.
    x = rng.standard_normal((n, c)) * 3 + rng.uniform(-50, 50, (n, 1))
    w = rng.uniform(0.5, 2.0, c)
    if kind == "prob":
        t = rng.dirichlet(np.ones(c), n)
    else:
        t = rng.integers(0, c, n)
        if kind == "index_ignore":
            t[::3] = -100
    return x, t, w


def tolerances(dtype, scale):
    if dtype == np.float64:
        return dict(rtol=1e-12, atol=1e-13 * scale)
    return dict(rtol=2e-5, atol=2e-6 * scale)


@pytest.mark.parametrize("c", CLASSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_cross_entropy_kernel_matches_float64(c, dtype, kind, eps, use_weight, reduction):
    n = 11
    x, t, w = data(n, c, kind, seed=c)
    x = x.astype(dtype)
    weight = w.astype(dtype) if use_weight else None
    t_in = t.astype(dtype) if kind == "prob" else t
    gout = np.random.default_rng(1).standard_normal(n)
    xt = fg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, fg.tensor(t_in), weight=None if weight is None else fg.tensor(weight),
                           reduction=reduction, label_smoothing=eps)
    assert loss.dtype == (fg.float32 if dtype == np.float32 else fg.float64)
    loss.backward(fg.tensor(gout.astype(dtype)) if reduction == "none" else None)
    want_loss, want_grad, mag = ref(x, t_in, weight, -100, eps, reduction, gout.astype(dtype))
    got_loss, got_grad = loss.numpy(), xt.grad.numpy()
    assert got_grad.dtype == dtype
    np.testing.assert_allclose(got_loss, want_loss, **tolerances(dtype, np.abs(want_loss).max()))
    np.testing.assert_allclose(got_grad, want_grad, **tolerances(dtype, mag.max()))
    if kind == "index_ignore":
        assert not got_grad[::3].any()  # ignored rows: exactly zero


GRADCHECK = list(itertools.product([1, 7, 33], TARGETS, [0.0, 0.2], [False, True]))


@pytest.mark.parametrize("c,kind,eps,use_weight", GRADCHECK)
def test_cross_entropy_kernel_gradcheck(c, kind, eps, use_weight):
    x, t, w = data(3, c, kind, seed=7)
    kw = dict(weight=fg.tensor(w) if use_weight else None, label_smoothing=eps)
    args = [fg.tensor(x, requires_grad=True)]
    if kind == "prob":
        args.append(fg.tensor(t, requires_grad=True))
        f = lambda a, b: F.cross_entropy(a, b, **kw)  # noqa: E731
    else:
        f = lambda a: F.cross_entropy(a, fg.tensor(t), **kw)  # noqa: E731
    assert fg.autograd.gradcheck(f, tuple(args))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_kernel_non_finite_rows(dtype, eps):
    # As PyTorch: +inf, NaN or all -inf in a row make that row's loss and gradient NaN; a
    # -inf logit next to finite ones is a masked class (probability exactly 0).
    c = 33
    x = np.random.default_rng(3).standard_normal((5, c)).astype(dtype)
    x[0, 30] = np.inf
    x[1, 2] = np.nan
    x[2] = -np.inf
    x[3, [0, 31, 32]] = -np.inf
    y = np.array([1, 1, 1, 5, 5])
    xt = fg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, fg.tensor(y), reduction="none", label_smoothing=eps)
    loss.sum().backward()
    got, g = loss.numpy(), xt.grad.numpy()
    assert np.isnan(got[:3]).all() and np.isnan(g[:3]).all()
    fin = np.delete(x[3], [0, 31, 32]).astype(np.float64)
    lse = np.log(np.exp(fin - fin.max()).sum()) + fin.max()
    if eps == 0:
        np.testing.assert_allclose(got[3], lse - x[3, 5], rtol=1e-5)
        assert (g[3, [0, 31, 32]] == 0).all()
    else:
        assert got[3] == np.inf  # the smoothing term takes log p = -inf of masked classes
        np.testing.assert_allclose(g[3, [0, 31, 32]], -eps / c, rtol=1e-5)
    assert np.isfinite(got[4]) and np.isfinite(g[4]).all()


def test_cross_entropy_kernel_thread_count_independent():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((300, 1000)).astype(np.float32)
    p = rng.dirichlet(np.ones(1000), 300).astype(np.float32)
    w = rng.uniform(0.5, 2, 1000).astype(np.float32)
    old = fg.get_num_threads()
    try:
        out = []
        for n in (1, 2, 5):
            fg.set_num_threads(n)
            xt = fg.tensor(x, requires_grad=True)
            loss = F.cross_entropy(xt, fg.tensor(p), weight=fg.tensor(w), label_smoothing=0.1)
            loss.backward()
            out.append(loss.numpy().tobytes() + xt.grad.numpy().tobytes())
    finally:
        fg.set_num_threads(old)
    assert out[0] == out[1] == out[2]
