"""The fused normalization kernels (`_core.layer_norm`, `rms_norm`, `group_norm`,
`batch_norm`): forward against NumPy float64 references, backward against the same
math written as an unfused ferrograd composite, gradcheck / gradgradcheck in float64,
the worked examples of the course notes, running statistics, and error cases."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import _core as C
from conftest import raises_cleanly

ag = fg.autograd


# ---------------------------------------------------------------------------
# NumPy float64 references
# ---------------------------------------------------------------------------

def ref_norm(x, axes, w=None, b=None, eps=1e-5, center=True, wshape=None):
    x = np.asarray(x, dtype=np.float64)
    m = x.mean(axis=axes, keepdims=True) if center else 0.0
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    y = (x - m) / np.sqrt(v + eps)
    if w is not None:
        y = y * np.asarray(w, np.float64).reshape(wshape or w.shape)
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape(wshape or b.shape)
    return y


def ref_layer_norm(x, k, w=None, b=None, eps=1e-5):
    return ref_norm(x, tuple(range(x.ndim - k, x.ndim)), w, b, eps)


def ref_rms_norm(x, k, w=None, eps=None):
    eps = np.finfo(x.dtype).eps if eps is None else eps
    return ref_norm(x, tuple(range(x.ndim - k, x.ndim)), w, None, eps, center=False)


def ref_group_norm(x, g, w=None, b=None, eps=1e-5):
    n, c = x.shape[:2]
    y = ref_norm(x.reshape(n, g, -1), (2,), eps=eps).reshape(x.shape)
    ws = (1, c) + (1,) * (x.ndim - 2)
    if w is not None:
        y = y * w.reshape(ws)
    if b is not None:
        y = y + b.reshape(ws)
    return y


def ref_batch_norm(x, w=None, b=None, eps=1e-5):
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    return ref_norm(x, axes, w, b, eps, wshape=(1, c) + (1,) * (x.ndim - 2))


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)


def t(a, requires_grad=False):
    return fg.tensor(np.ascontiguousarray(a), requires_grad=requires_grad)


def opt(a, dtype):
    return None if a is None else t(a.astype(dtype))


def layouts(rng, shape, dtype):
    """(numpy array, ferrograd view) pairs: contiguous, transposed, sliced."""
    base = rng.standard_normal(shape) * 2 + 0.5
    yield base.astype(dtype), t(base.astype(dtype))
    tr = np.ascontiguousarray(np.swapaxes(base, 0, -1)).astype(dtype)
    yield np.swapaxes(tr, 0, -1), fg.tensor(tr).transpose(0, tr.ndim - 1)
    big = np.concatenate([base, base * 3], axis=0).astype(dtype)
    yield big[::2], fg.tensor(big)[::2]


# ---------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k", [((4, 8), 1), ((3, 5, 6), 1), ((3, 5, 6), 2), ((2, 3, 4, 5), 3), ((7, 1000), 1)])
@pytest.mark.parametrize("affine", ["none", "w", "wb", "b"])
def test_layer_norm_forward(rng, dtype, shape, k, affine):
    ns = shape[-k:]
    w = rng.standard_normal(ns) if affine in ("w", "wb") else None
    b = rng.standard_normal(ns) if affine in ("b", "wb") else None
    for xn, xf in layouts(rng, shape, dtype):
        y = C.layer_norm(xf, ns, opt(w, dtype), opt(b, dtype), 1e-5)
        assert y.dtype == xf.dtype and tuple(y.shape) == shape
        np.testing.assert_allclose(y.numpy(), ref_layer_norm(xn, k, w, b), **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k", [((4, 8), 1), ((3, 5, 6), 2), ((2, 3, 4, 5), 1)])
@pytest.mark.parametrize("eps", [None, 1e-6, 0.0])
def test_rms_norm_forward(rng, dtype, shape, k, eps):
    ns = shape[-k:]
    w = rng.standard_normal(ns)
    for xn, xf in layouts(rng, shape, dtype):
        for ww in (None, w):
            y = C.rms_norm(xf, ns, opt(ww, dtype), eps)
            np.testing.assert_allclose(y.numpy(), ref_rms_norm(xn, k, ww, eps), **tol(dtype))


def test_rms_norm_default_eps_is_machine_epsilon():
    # mean(x^2) = 0: y = x / sqrt(eps) = 0 either way; use a tiny x to see eps.
    x = np.full((1, 4), 1e-4, np.float32)
    y = C.rms_norm(t(x), 4).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1e-8 + np.finfo(np.float32).eps), rtol=1e-5)
    x64 = np.full((1, 4), 1e-9)
    y64 = C.rms_norm(t(x64), (4,)).numpy()
    np.testing.assert_allclose(y64, x64 / np.sqrt(1e-18 + np.finfo(np.float64).eps), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,g", [((2, 6), 3), ((3, 6, 5), 2), ((2, 4, 3, 5), 4), ((2, 4, 3, 5), 1), ((1, 8, 7), 8)])
def test_group_norm_forward(rng, dtype, shape, g):
    c = shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    for xn, xf in layouts(rng, shape, dtype):
        for ww, bb in ((None, None), (w, None), (w, b)):
            y = C.group_norm(xf, g, opt(ww, dtype), opt(bb, dtype), 1e-5)
            np.testing.assert_allclose(y.numpy(), ref_group_norm(xn, g, ww, bb), **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 7), (3, 4, 5, 6), (300, 40)])
def test_batch_norm_forward_training(rng, dtype, shape):
    c = shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    for xn, xf in layouts(rng, shape, dtype):
        for ww, bb in ((None, None), (w, b)):
            y = C.batch_norm(xf, None, None, opt(ww, dtype), opt(bb, dtype), True, 0.1, 1e-5)
            np.testing.assert_allclose(y.numpy(), ref_batch_norm(xn, ww, bb), **tol(dtype))


def test_batch_norm_large_mean_is_accurate(rng):
    # shifted sums: a large common offset must not cancel the variance away (float32)
    x = (1000.0 + rng.standard_normal((512, 3))).astype(np.float32)
    y = C.batch_norm(t(x), None, None, training=True).numpy()
    np.testing.assert_allclose(y, ref_batch_norm(x.astype(np.float64)), atol=2e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eps_zero_allowed(rng, dtype):
    x = rng.standard_normal((3, 4)).astype(dtype)
    np.testing.assert_allclose(C.layer_norm(t(x), 4, eps=0.0).numpy(), ref_layer_norm(x, 1, eps=0.0), **tol(dtype))
    np.testing.assert_allclose(C.batch_norm(t(x), None, None, training=True, eps=0.0).numpy(),
                               ref_batch_norm(x, eps=0.0), **tol(dtype))


def test_zero_size():
    x = t(np.zeros((0, 4), np.float32))
    assert tuple(C.layer_norm(x, 4).shape) == (0, 4)
    assert tuple(C.rms_norm(x, [4]).shape) == (0, 4)
    assert tuple(C.group_norm(t(np.zeros((0, 4, 3), np.float32)), 2).shape) == (0, 4, 3)
    rm, rv = t(np.zeros(4, np.float32)), t(np.ones(4, np.float32))
    y = C.batch_norm(x, rm, rv, training=True)
    assert tuple(y.shape) == (0, 4)
    np.testing.assert_array_equal(rm.numpy(), 0.0)  # no update from an empty batch
    xg = fg.tensor(np.zeros((0, 4)), requires_grad=True)
    C.layer_norm(xg, 4).sum().backward()
    assert tuple(xg.grad.shape) == (0, 4)


# ---------------------------------------------------------------------------
# worked examples (course notes)
# ---------------------------------------------------------------------------

X_LN = np.array([[4, 4, 8, 8], [0, 2, 2, 8], [1, 1, 1, 5]], np.float32)
X_BN = np.array([[2, 2, 1, 1], [2, 5, 4, 1], [5, 5, 10, 10]], np.float32)
GAMMA = np.array([1, 2, 3, 4], np.float32)
BETA = np.array([0, -1, 1, 0], np.float32)


def test_seed_layer_norm_example():
    y = C.layer_norm(t(X_LN), (4,), t(GAMMA), t(BETA), eps=0.0).numpy()
    notes = [[-1, -3, 4, 4], [-1, -1.66, 0.01, 6.68], [-0.58, -2.16, -0.74, 6.92]]
    np.testing.assert_allclose(y, notes, atol=0.02)  # the notes round to 2 decimals
    np.testing.assert_allclose(y[0], [-1, -3, 4, 4], atol=1e-6)  # mean 6, var 4: exact
    np.testing.assert_allclose(y[1], [-1, -5 / 3, 0, 20 / 3], atol=1e-5)


def test_seed_batch_norm_example():
    y = C.batch_norm(t(X_BN), None, None, t(GAMMA), t(BETA), training=True, eps=0.0).numpy()
    notes = [[-0.71, -3.82, -2.21, -2.84], [-0.71, 0.42, 0.19, -2.84], [1.41, 0.42, 5.02, 5.64]]
    np.testing.assert_allclose(y, notes, atol=0.02)
    np.testing.assert_allclose(y, ref_batch_norm(X_BN, GAMMA, BETA, eps=0.0), rtol=1e-5, atol=1e-6)


def test_seed_batch_norm_one_neuron_example():
    # x = [1, 3, 5, 7]: mean 4, var 5; gamma 2, beta 0.5, eps 1e-5
    x = t(np.array([[1], [3], [5], [7]], np.float32))
    rm, rv = t(np.zeros(1, np.float32)), t(np.ones(1, np.float32))
    y = C.batch_norm(x, rm, rv, t(np.array([2.0], np.float32)), t(np.array([0.5], np.float32)),
                     training=True, momentum=0.1, eps=1e-5).numpy().ravel()
    np.testing.assert_allclose(y, [-2.18, -0.40, 1.40, 3.18], atol=0.01)
    np.testing.assert_allclose(y, 2 * (np.array([1, 3, 5, 7]) - 4) / np.sqrt(5 + 1e-5) + 0.5, rtol=1e-6)
    # running stats: (1 - m) r + m stat, with the unbiased variance 20 / 3
    np.testing.assert_allclose(rm.numpy(), [0.4], rtol=1e-6)
    np.testing.assert_allclose(rv.numpy(), [0.9 + 0.1 * 20 / 3], rtol=1e-6)


# ---------------------------------------------------------------------------
# running statistics and eval mode
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_running_stats(rng, shape):
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[1]
    axes = (0,) + tuple(range(2, len(shape)))
    r0m, r0v = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    rm, rv = t(r0m.copy()), t(r0v.copy())
    C.batch_norm(t(x), rm, rv, None, None, True, 0.3, 1e-5)
    np.testing.assert_allclose(rm.numpy(), 0.7 * r0m + 0.3 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.7 * r0v + 0.3 * x.var(axis=axes, ddof=1), rtol=1e-12)
    # eval mode normalises with the running statistics and leaves them alone
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    before = rm.numpy().copy()
    y = C.batch_norm(t(x), rm, rv, t(w), t(b), False, 0.3, 1e-5).numpy()
    ws = (1, c) + (1,) * (len(shape) - 2)
    expect = (x - rm.numpy().reshape(ws)) / np.sqrt(rv.numpy().reshape(ws) + 1e-5) * w.reshape(ws) + b.reshape(ws)
    np.testing.assert_allclose(y, expect, rtol=1e-12)
    np.testing.assert_array_equal(rm.numpy(), before)


def test_batch_norm_running_stats_strided_float32(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    buf = t(np.zeros(6, np.float32))
    rm = buf[::2]
    rv = t(np.ones(3, np.float32))
    C.batch_norm(t(x), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(buf.numpy()[::2], 0.5 * x.astype(np.float64).mean(0), rtol=1e-5)
    np.testing.assert_array_equal(buf.numpy()[1::2], 0.0)


# ---------------------------------------------------------------------------
# backward: fused kernel vs an unfused ferrograd composite; gradcheck; gradgradcheck
# ---------------------------------------------------------------------------

def fg_composite(x, axes, w=None, b=None, eps=1e-5, center=True):
    m = x.mean(axis=axes, keepdims=True) if center else 0.0
    xc = x - m
    y = xc / ((xc * xc).mean(axis=axes, keepdims=True) + eps).sqrt()
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def composite_cases(rng):
    """(name, fused fn, composite fn, x shape, weight shape, weight view)"""
    def gn_comp(x, w, b):
        n, c = x.shape[:2]
        y = fg_composite(x.reshape((n, 2, -1)), (2,)).reshape(x.shape)
        return y * w.reshape((1, c, 1)) + b.reshape((1, c, 1))
    return [
        ("layer_norm", lambda x, w, b: C.layer_norm(x, (3, 4), w, b, 1e-5),
         lambda x, w, b: fg_composite(x, (1, 2), w, b), (5, 3, 4), (3, 4)),
        ("rms_norm", lambda x, w, b: C.rms_norm(x, 4, w, 1e-6) + b,
         lambda x, w, b: fg_composite(x, (2,), w, None, 1e-6, center=False) + b, (5, 3, 4), (4,)),
        ("group_norm", lambda x, w, b: C.group_norm(x, 2, w, b, 1e-5), gn_comp, (3, 4, 5), (4,)),
        ("batch_norm", lambda x, w, b: C.batch_norm(x, None, None, w, b, True, 0.1, 1e-5),
         lambda x, w, b: fg_composite(x, (0, 2), w.reshape((1, 4, 1)), b.reshape((1, 4, 1))), (3, 4, 5), (4,)),
        ("batch_norm_2d", lambda x, w, b: C.batch_norm(x, None, None, w, b, True, 0.1, 1e-5),
         lambda x, w, b: fg_composite(x, (0,), w, b), (6, 4), (4,)),
    ]


@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_backward_matches_composite(rng, case, dtype):
    name, fused, comp, xs, ws = composite_cases(rng)[case]
    x = (rng.standard_normal(xs) * 2 + 1).astype(dtype)
    w, b = rng.standard_normal(ws).astype(dtype), rng.standard_normal(ws).astype(dtype)
    v = rng.standard_normal(xs).astype(dtype)
    got, want = [], []
    for fn, out in ((fused, got), (comp, want)):
        ins = [t(x, True), t(w, True), t(b, True)]
        y = fn(*ins)
        out.extend(g.numpy() for g in ag.grad([y], ins, [t(v)]))
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, **(dict(rtol=2e-3, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)))


@pytest.mark.parametrize("case", range(5))
def test_backward_accumulates_into_leaves_strided(rng, case):
    name, fused, comp, xs, ws = composite_cases(rng)[case]
    base = rng.standard_normal(tuple(reversed(xs)))
    xf = fg.tensor(base, requires_grad=True)
    w, b = t(rng.standard_normal(ws), True), t(rng.standard_normal(ws), True)
    perm = tuple(reversed(range(len(xs))))
    (fused(fg.permute_dims(xf, perm), w, b) * 1.5).sum().backward()
    x2 = fg.tensor(np.ascontiguousarray(base.transpose(perm)), requires_grad=True)
    w2, b2 = t(w.numpy(), True), t(b.numpy(), True)
    (comp(x2, w2, b2) * 1.5).sum().backward()
    np.testing.assert_allclose(xf.grad.numpy(), x2.grad.numpy().transpose(perm), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), b2.grad.numpy(), rtol=1e-9, atol=1e-10)


GRADCHECK_CASES = [
    ("layer_norm", lambda x, w, b: C.layer_norm(x, (4,), w, b, 1e-5), (3, 4), (4,)),
    ("layer_norm_3d", lambda x, w, b: C.layer_norm(x, (2, 3), w, b, 1e-3), (2, 2, 3), (2, 3)),
    ("rms_norm", lambda x, w, b: C.rms_norm(x, (4,), w, 1e-5) * b, (3, 4), (4,)),
    ("group_norm", lambda x, w, b: C.group_norm(x, 2, w, b, 1e-5), (2, 4, 3), (4,)),
    ("batch_norm", lambda x, w, b: C.batch_norm(x, None, None, w, b, True, 0.1, 1e-5), (3, 2, 2), (2,)),
    ("batch_norm_2d", lambda x, w, b: C.batch_norm(x, None, None, w, b, True, 0.1, 1e-5), (4, 3), (3,)),
    ("batch_norm_eval", lambda x, w, b: C.batch_norm(
        x, fg.tensor(np.array([0.1, -0.2])), fg.tensor(np.array([1.5, 0.7])), w, b, False, 0.1, 1e-5), (3, 2, 2), (2,)),
]


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=lambda c: c[0])
def test_gradcheck(rng, case):
    _, fn, xs, ws = case
    ins = (t(rng.standard_normal(xs) * 1.5, True), t(rng.uniform(0.5, 1.5, ws), True), t(rng.standard_normal(ws), True))
    assert ag.gradcheck(fn, ins)


@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=lambda c: c[0])
def test_gradgradcheck(rng, case):
    _, fn, xs, ws = case
    ins = (t(rng.standard_normal(xs) * 1.5, True), t(rng.uniform(0.5, 1.5, ws), True), t(rng.standard_normal(ws), True))
    assert ag.gradgradcheck(fn, ins)


def test_gradcheck_without_affine(rng):
    x = t(rng.standard_normal((3, 5)), True)
    assert ag.gradcheck(lambda x: C.layer_norm(x, 5), (x,))
    assert ag.gradcheck(lambda x: C.rms_norm(x, 5, None, 1e-4), (x,))
    assert ag.gradcheck(lambda x: C.batch_norm(x, None, None, training=True), (x,))
    assert ag.gradcheck(lambda x: C.group_norm(x.reshape((1, 3, 5)), 3), (x,))


def test_node_does_not_keep_output_alive():
    import gc
    import weakref
    x = fg.tensor(np.ones((2, 3)) + np.arange(3), requires_grad=True)
    y = C.layer_norm(x, 3)
    r = weakref.ref(y)
    del y
    gc.collect()
    assert r() is None


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

def test_errors_shapes():
    x = t(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"normalized_shape=\(4,\).*input of size \(3, 5\)"):
        C.layer_norm(x, 4)
    with pytest.raises(ValueError, match="normalized_shape"):
        C.rms_norm(x, (3, 5, 1))
    with pytest.raises(ValueError, match=r"weight should have shape \(5,\) but has shape \(4,\)"):
        C.layer_norm(x, 5, t(np.ones(4, np.float32)))
    with pytest.raises(ValueError, match="bias should have shape"):
        C.layer_norm(x, 5, None, t(np.ones((1, 5), np.float32)))
    with pytest.raises(ValueError, match=r"channels in input \(6\) to be divisible by num_groups \(4\)"):
        C.group_norm(t(np.zeros((2, 6, 3), np.float32)), 4)
    with pytest.raises(ValueError, match="num_groups"):
        C.group_norm(t(np.zeros((2, 6, 3), np.float32)), 0)
    with pytest.raises(ValueError, match=r"running_mean should have shape \(5,\)"):
        C.batch_norm(x, t(np.zeros(3, np.float32)), t(np.ones(5, np.float32)), training=True)
    with pytest.raises(ValueError, match="weight should have shape"):
        C.batch_norm(x, None, None, t(np.ones(3, np.float32)), training=True)


def test_batch_norm_single_value_per_channel():
    with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when training.*drop_last=True"):
        C.batch_norm(t(np.ones((1, 4), np.float32)), None, None, training=True)
    with pytest.raises(ValueError, match="^Expected more than 1 value per channel when training"):
        C.batch_norm(t(np.ones((1, 4, 1, 1), np.float32)), None, None, training=True)
    # eval mode is fine with a single sample
    y = C.batch_norm(t(np.ones((1, 4), np.float32)), t(np.zeros(4, np.float32)), t(np.ones(4, np.float32)))
    np.testing.assert_allclose(y.numpy(), 1 / np.sqrt(1 + 1e-5), rtol=1e-6)


def test_batch_norm_eval_needs_running_stats():
    with pytest.raises(ValueError, match="running_mean and running_var must be given when training=False"):
        C.batch_norm(t(np.ones((3, 4), np.float32)), None, None, training=False)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_type_errors(dtype):
    x = fg.tensor(np.ones((2, 4), dtype))
    for call in (lambda: C.layer_norm(x, 4), lambda: C.rms_norm(x, 4), lambda: C.group_norm(x, 2),
                 lambda: C.batch_norm(x, None, None, training=True)):
        with pytest.raises(TypeError, match="floating-point"):
            call()
    with pytest.raises(TypeError, match="dtype float64 but the input has dtype float32"):
        C.layer_norm(t(np.ones((2, 4), np.float32)), 4, t(np.ones(4)))


def test_bad_inputs_never_panic():
    x = t(np.ones((2, 4), np.float32))
    raises_cleanly(C.layer_norm, x, ())
    raises_cleanly(C.layer_norm, x, -1)
    raises_cleanly(C.group_norm, t(np.ones(4, np.float32)), 2)
    raises_cleanly(C.batch_norm, t(np.ones(4, np.float32)), None, None, None, None, True)
    raises_cleanly(C.layer_norm, x, 4, None, None, -1.0)


def test_fused_ops_refuse_operands_on_two_devices():
    # Every fused op runs on wgpu now; an operand left on the CPU beside a GPU input gets
    # PyTorch's RuntimeError naming both devices, never a kernel reading the wrong memory.
    if not C.wgpu_is_available():
        pytest.fail("no wgpu adapter: cannot check the device errors (run `make vulkan`)")
    xg = t(np.ones((2, 4), np.float32)).to("wgpu")
    w = t(np.ones(4, np.float32))
    labels = fg.tensor(np.array([0, 1]))
    p = fg.nn.Parameter(fg.tensor(np.ones(4, np.float32)).to("wgpu"))
    p.grad = fg.tensor(np.ones(4, np.float32))
    calls = {
        "layer_norm": lambda: C.layer_norm(xg, 4, w),
        "rms_norm": lambda: C.rms_norm(xg, 4, w),
        "group_norm": lambda: C.group_norm(xg, 2, w),
        "batch_norm": lambda: C.batch_norm(xg, None, None, w, None, True),
        "cross_entropy": lambda: fg.nn.functional.cross_entropy(xg, labels),
        "optimizer": lambda: fg.optim.SGD([p], lr=0.1).step(),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match=r"(?s)(cpu.*wgpu|wgpu.*cpu)"):
            call()


@pytest.mark.parametrize("first", [0.0, 30.0, 1e4, -1e6])
def test_layer_norm_row_statistics_are_accurate_in_float32(rng, first):
    # One pass of sums shifted by each row's first element; rows whose first element
    # is an outlier (first = 1e4 or -1e6 against N(0, 1) neighbours) take the exact
    # two-pass route. Both must match float64 within float32 accuracy, also with a
    # large common offset that a plain sum of squares would cancel away.
    x = rng.standard_normal((64, 1000))
    x[:, 0] = first
    for offset in (0.0, 1000.0):
        x32 = (x + offset).astype(np.float32)
        y = C.layer_norm(t(x32), 1000).numpy()
        ref = ref_layer_norm(x32.astype(np.float64), 1)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=2e-4)
        mean, rstd = x32.astype(np.float64).mean(1), 1 / x32.astype(np.float64).std(1)
        assert np.all(np.isfinite(y))
        np.testing.assert_allclose(y[:, 1:].mean(1) * 999 / 1000 + y[:, 0] / 1000, 0, atol=1e-4)
        assert mean.shape == rstd.shape  # the reference itself is well-formed


def test_layer_norm_empty_rows():
    y = C.layer_norm(t(np.zeros((3, 0), np.float32)), (0,))
    assert tuple(y.shape) == (3, 0)
