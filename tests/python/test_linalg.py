"""``fg.linalg`` (the Array API linear-algebra extension) and the top-level
``matrix_transpose`` / ``tensordot`` / ``vecdot``: every function against
``numpy.linalg`` on random float32 and float64 stacks (0-size stacks and 1x1 matrices
included), the decompositions' defining identities (Q R, U S Vh, V diag(w) V^T, L L^T),
special values, the error cases, gradients against finite differences (gradcheck and
gradgradcheck in float64), and the CPU round trip of a wgpu tensor."""

import math

import numpy as np
import pytest

import ferrograd as fg
from conftest import raises_cleanly

L = fg.linalg
ag = fg.autograd

DTYPES = [np.float32, np.float64]
STACKS = [(), (3,), (2, 2), (0,), (2, 0)]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _np(t):
    if isinstance(t, np.ndarray):
        return t
    return np.asarray(t.to("cpu") if t.device.type != "cpu" else t)


def _t(a, requires_grad=False):
    return fg.tensor(np.array(a, order="C"), requires_grad=requires_grad)


def _close(actual, expected, dtype, scale=1.0, what=""):
    tol = TOL[dtype]
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        _np(actual).astype(np.float64), expected.astype(np.float64),
        rtol=tol["rtol"] * 10, atol=tol["atol"] * max(1.0, scale) * 10, err_msg=what,
    )


def _check_dtype(t, dtype):
    assert t.dtype == (fg.float32 if dtype == np.float32 else fg.float64)


def _general(rng, shape, dtype):
    """Random well-conditioned square matrices (diagonally shifted)."""
    n = shape[-1]
    a = rng.standard_normal(shape) + 2.0 * np.sqrt(max(n, 1)) * np.eye(n)
    return a.astype(dtype)


def _spd(rng, shape, dtype):
    n = shape[-1]
    b = rng.standard_normal(shape)
    return (b @ np.swapaxes(b, -1, -2) + n * np.eye(n)).astype(dtype)


def _sym(rng, shape, dtype):
    b = rng.standard_normal(shape)
    return ((b + np.swapaxes(b, -1, -2)) / 2).astype(dtype)


# ---------------------------------------------------------------------------
# LU family: det, slogdet, inv, solve
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("n", [1, 4])
def test_lu_family_matches_numpy(dtype, stack, n):
    rng = np.random.default_rng(n + len(stack))
    a = _general(rng, stack + (n, n), dtype)
    a64 = a.astype(np.float64)
    x = _t(a)
    d = L.det(x)
    _check_dtype(d, dtype)
    assert d.shape == stack
    _close(d, np.linalg.det(a64), dtype, scale=np.abs(np.linalg.det(a64)).max(initial=1))
    sign, logabs = L.slogdet(x)
    s2, l2 = np.linalg.slogdet(a64)
    _close(sign, s2, dtype)
    _close(logabs, l2, dtype, scale=10)
    _check_dtype(sign, dtype)
    _check_dtype(logabs, dtype)
    inv = L.inv(x)
    _check_dtype(inv, dtype)
    _close(inv, np.linalg.inv(a64) if a64.size else a64, dtype)
    b = rng.standard_normal(stack + (n, 3)).astype(dtype)
    sol = L.solve(x, _t(b))
    assert sol.shape == stack + (n, 3)
    _close(sol, np.linalg.solve(a64, b.astype(np.float64)) if a64.size else b, dtype)
    v = rng.standard_normal(n).astype(dtype)
    sv = L.solve(x, _t(v))
    assert sv.shape == stack + (n,)
    if a64.size:
        _close(sv, np.linalg.solve(a64, np.broadcast_to(v, stack + (n,))[..., None])[..., 0], dtype)


def test_solve_broadcasts_batch_dims_and_promotes():
    rng = np.random.default_rng(1)
    a = _general(rng, (3, 1, 4, 4), np.float64)
    b = rng.standard_normal((2, 4, 5)).astype(np.float32)
    x = L.solve(_t(a), _t(b))
    assert x.shape == (3, 2, 4, 5) and x.dtype == fg.float64
    _close(x, np.linalg.solve(a, b.astype(np.float64)), np.float64)
    # K = 0 columns, and a 0x0 system
    assert L.solve(fg.eye(3), fg.ones((3, 0))).shape == (3, 0)
    assert L.solve(fg.ones((2, 0, 0)), fg.ones((2, 0, 1))).shape == (2, 0, 1)


def test_det_slogdet_of_singular_and_special_matrices():
    sing = _t(np.array([[1.0, 2.0], [2.0, 4.0]]))
    assert float(L.det(sing)) == 0.0
    sign, logabs = L.slogdet(sing)
    assert float(sign) == 0.0 and float(logabs) == -math.inf
    # empty matrix: det 1, slogdet (1, 0)
    assert float(L.det(fg.ones((0, 0)))) == 1.0
    s, la = L.slogdet(fg.ones((0, 0)))
    assert (float(s), float(la)) == (1.0, 0.0)
    # NaN propagates without an error
    assert math.isnan(float(L.det(_t(np.array([[np.nan, 1.0], [1.0, 1.0]])))))
    # entries near the overflow threshold: scaled elimination, exact result
    big = np.array([[1e308, 1e308], [1e308, -1e308]])
    np.testing.assert_allclose(_np(L.inv(_t(big))), np.array([[1, 1], [1, -1]]) * 5e-309, rtol=1e-12)
    s, la = L.slogdet(_t(big))
    assert float(s) == -1.0 and abs(float(la) - (math.log(2) + 616 * math.log(10))) < 1e-9


def test_integer_inputs_promote_to_float32():
    a = fg.tensor([[1, 2], [3, 4]])
    d = L.det(a)
    assert d.dtype == fg.float32 and abs(float(d) + 2.0) < 1e-6
    assert L.inv(a).dtype == fg.float32
    assert L.solve(a, fg.tensor([1, 1])).dtype == fg.float32
    assert L.svdvals(a).dtype == fg.float32
    assert L.eigvalsh(a).dtype == fg.float32


# ---------------------------------------------------------------------------
# Cholesky
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("n", [1, 5])
def test_cholesky_matches_numpy(dtype, stack, n):
    rng = np.random.default_rng(n)
    a = _spd(rng, stack + (n, n), dtype)
    lo = L.cholesky(_t(a))
    _check_dtype(lo, dtype)
    assert lo.shape == a.shape
    ref = np.linalg.cholesky(a.astype(np.float64)) if a.size else a
    _close(lo, ref, dtype, scale=np.abs(a).max(initial=1))
    lo_np = _np(lo)
    assert np.array_equal(lo_np, np.tril(lo_np))
    up = L.cholesky(_t(a), upper=True)
    up_np = _np(up)
    assert np.array_equal(up_np, np.triu(up_np))
    _close(up, np.swapaxes(ref, -1, -2), dtype, scale=np.abs(a).max(initial=1))


def test_cholesky_reads_the_lower_triangle():
    a = np.array([[4.0, 100.0], [2.0, 2.0]])
    np.testing.assert_allclose(_np(L.cholesky(_t(a))), [[2.0, 0.0], [1.0, 1.0]])


# ---------------------------------------------------------------------------
# QR
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stack", [(), (2,), (0,)])
@pytest.mark.parametrize("mn", [(1, 1), (5, 3), (3, 5), (4, 4), (3, 0), (0, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_reconstructs(dtype, stack, mn, mode):
    m, n = mn
    k = min(m, n)
    a = np.random.default_rng(m * 7 + n).standard_normal(stack + mn).astype(dtype)
    res = L.qr(_t(a), mode=mode)
    assert isinstance(res, tuple) and type(res) is not tuple
    q, r = res.Q, res.R
    assert (q, r) == tuple(res)
    c = m if mode == "complete" else k
    assert q.shape == stack + (m, c) and r.shape == stack + (c, n)
    _check_dtype(q, dtype)
    _check_dtype(r, dtype)
    qn, rn = _np(q).astype(np.float64), _np(r).astype(np.float64)
    assert np.array_equal(_np(r), np.triu(_np(r)))
    _close(qn @ rn, a, dtype)
    _close(np.swapaxes(qn, -1, -2) @ qn, np.broadcast_to(np.eye(c), stack + (c, c)), dtype)
    # R agrees with NumPy's up to the signs of its rows
    if a.size and k:
        r_ref = np.linalg.qr(a.astype(np.float64), mode=mode)[1]
        _close(np.abs(rn), np.abs(r_ref), dtype, scale=3)


def test_qr_rejects_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        L.qr(fg.eye(2), mode="r")


# ---------------------------------------------------------------------------
# eigh, eigvalsh
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("n", [1, 2, 6, 30])
def test_eigh_matches_numpy_and_reconstructs(dtype, stack, n):
    a = _sym(np.random.default_rng(n), stack + (n, n), dtype)
    res = L.eigh(_t(a))
    assert res._fields == ("eigenvalues", "eigenvectors")
    w, v = res
    assert w.shape == stack + (n,) and v.shape == stack + (n, n)
    _check_dtype(w, dtype)
    _check_dtype(v, dtype)
    a64 = a.astype(np.float64)
    scale = np.abs(a64).max(initial=1) * n
    if a.size:
        _close(w, np.linalg.eigvalsh(a64), dtype, scale=scale)
    wn, vn = _np(w).astype(np.float64), _np(v).astype(np.float64)
    assert np.all(np.diff(wn, axis=-1) >= 0)
    _close((vn * wn[..., None, :]) @ np.swapaxes(vn, -1, -2), a64, dtype, scale=scale)
    _close(np.swapaxes(vn, -1, -2) @ vn, np.broadcast_to(np.eye(n), stack + (n, n)), dtype, scale=n)
    _close(L.eigvalsh(_t(a)), wn, dtype, scale=scale)


def test_eigh_repeated_eigenvalues_and_lower_triangle():
    w, v = L.eigh(fg.eye(4, dtype=fg.float64))
    np.testing.assert_array_equal(_np(w), np.ones(4))
    vn = _np(v)
    np.testing.assert_allclose(vn.T @ vn, np.eye(4), atol=1e-15)
    a = np.array([[2.0, 99.0], [1.0, 2.0]])  # only the lower triangle counts
    np.testing.assert_allclose(_np(L.eigvalsh(_t(a))), [1.0, 3.0], rtol=1e-14)


# ---------------------------------------------------------------------------
# SVD, svdvals
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stack", [(), (3,), (0,), (2, 0)])
@pytest.mark.parametrize("mn", [(1, 1), (4, 4), (6, 3), (3, 6), (20, 15), (15, 20), (4, 0), (0, 4)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_matches_numpy_and_reconstructs(dtype, stack, mn, full):
    m, n = mn
    k = min(m, n)
    a = np.random.default_rng(m * 5 + n).standard_normal(stack + mn).astype(dtype)
    res = L.svd(_t(a), full_matrices=full)
    assert res._fields == ("U", "S", "Vh")
    u, s, vh = res
    uc, vr = (m, n) if full else (k, k)
    assert u.shape == stack + (m, uc) and s.shape == stack + (k,) and vh.shape == stack + (vr, n)
    for t in res:
        _check_dtype(t, dtype)
    un, sn, vn = (_np(t).astype(np.float64) for t in res)
    assert np.all(np.diff(sn, axis=-1) <= 0) and np.all(sn >= 0)
    if a.size:
        _close(s, np.linalg.svd(a.astype(np.float64), compute_uv=False), dtype, scale=10)
    _close((un[..., :, :k] * sn[..., None, :]) @ vn[..., :k, :], a, dtype, scale=10)
    _close(np.swapaxes(un, -1, -2) @ un, np.broadcast_to(np.eye(uc), stack + (uc, uc)), dtype, scale=10)
    _close(vn @ np.swapaxes(vn, -1, -2), np.broadcast_to(np.eye(vr), stack + (vr, vr)), dtype, scale=10)
    _close(L.svdvals(_t(a)), sn, dtype, scale=10)


@pytest.mark.parametrize("a", [
    np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]),  # rank 2
    np.ones((3, 5)),                                                  # rank 1
    np.zeros((4, 3)),                                                 # rank 0
    np.random.default_rng(0).standard_normal((30, 4)) @ np.random.default_rng(1).standard_normal((4, 25)),
], ids=["rank2", "rank1", "zeros", "rank4-30x25"])
def test_svd_of_rank_deficient_matrices_has_orthonormal_vectors(a):
    u, s, vh = (_np(t) for t in L.svd(_t(a)))
    m, n = a.shape
    k = min(m, n)
    np.testing.assert_allclose(u.T @ u, np.eye(m), atol=1e-13)
    np.testing.assert_allclose(vh @ vh.T, np.eye(n), atol=1e-13)
    np.testing.assert_allclose((u[:, :k] * s) @ vh[:k], a, atol=1e-12)
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-12)


def test_svd_keeps_small_singular_values_accurate():
    d = 10.0 ** -np.arange(0, 300, 20)
    s = _np(L.svdvals(_t(np.diag(d))))
    np.testing.assert_allclose(s, d, rtol=1e-15)
    # rows of an orthogonal matrix scaled by d (each entry exact to its own rounding):
    # the singular values are d, to high relative accuracy even at 1e-280
    q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((15, 15)))
    s2 = _np(L.svdvals(_t(d[:, None] * q)))
    np.testing.assert_allclose(s2, d, rtol=1e-13)
    s3 = _np(L.svdvals(_t(q * d[None, :])))
    np.testing.assert_allclose(s3, d, rtol=1e-13)


# ---------------------------------------------------------------------------
# norms, rank, pinv, powers
# ---------------------------------------------------------------------------

MATRIX_ORDS = ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", MATRIX_ORDS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (2, 5, 3), (0, 2, 2), (1, 1)])
def test_matrix_norm_matches_numpy(dtype, ord, keepdims, shape):
    a = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    r = L.matrix_norm(_t(a), ord=ord, keepdims=keepdims)
    ref = np.linalg.matrix_norm(a.astype(np.float64), ord=ord, keepdims=keepdims)
    assert r.shape == ref.shape
    _check_dtype(r, dtype)
    _close(r, ref, dtype, scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [2, 1, 0, -1, -2, math.inf, -math.inf, 3, 0.5, -3.5])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vector_norm_matches_numpy(dtype, ord, axis, keepdims):
    a = np.random.default_rng(4).standard_normal((3, 4, 5)).astype(dtype)
    a[0, 0, 0] = 0.0
    r = L.vector_norm(_t(a), axis=axis, keepdims=keepdims, ord=ord)
    with np.errstate(divide="ignore"):
        ref = np.linalg.vector_norm(a.astype(np.float64), axis=axis, keepdims=keepdims, ord=ord)
    assert r.shape == ref.shape
    _check_dtype(r, dtype)
    _close(r, ref, dtype, scale=10)


def test_vector_norm_of_a_scalar_and_ints():
    assert float(L.vector_norm(fg.tensor(-3.0))) == 3.0
    r = L.vector_norm(fg.tensor([3, 4]))
    assert r.dtype == fg.float32 and float(r) == 5.0


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, -1, -4])
def test_matrix_power_matches_numpy(n):
    a = _general(np.random.default_rng(5), (2, 3, 3), np.float64) / 3
    r = L.matrix_power(_t(a), n)
    assert r.shape == a.shape and r.dtype == fg.float64
    _close(r, np.linalg.matrix_power(a, n), np.float64, scale=np.abs(np.linalg.matrix_power(a, n)).max())


def test_matrix_power_integers_stay_exact():
    fib = L.matrix_power(fg.tensor([[1, 1], [1, 0]]), 30)
    assert fib.dtype == fg.int64
    np.testing.assert_array_equal(_np(fib), [[1346269, 832040], [832040, 514229]])
    e = L.matrix_power(fg.ones((2, 3, 3), dtype=fg.int64), 0)
    np.testing.assert_array_equal(_np(e), np.broadcast_to(np.eye(3, dtype=np.int64), (2, 3, 3)))
    with pytest.raises(L.LinAlgError):
        L.matrix_power(fg.ones((2, 3)), 2)


@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 6), (2, 5, 5), (0, 3, 3), (3, 0)])
def test_matrix_rank_and_pinv_match_numpy(shape):
    rng = np.random.default_rng(6)
    a = rng.standard_normal(shape)
    if a.size and shape[-1] > 2:
        a[..., -1] = a[..., 0] + a[..., 1]  # rank deficient
    r = L.matrix_rank(_t(a))
    assert r.dtype == fg.int64
    np.testing.assert_array_equal(_np(r), np.linalg.matrix_rank(a) if a.size else np.zeros(shape[:-2]))
    p = L.pinv(_t(a))
    assert p.shape == shape[:-2] + (shape[-1], shape[-2])
    if a.size:
        np.testing.assert_allclose(_np(p), np.linalg.pinv(a), atol=1e-10)
    for rtol in (0.5, 1e-3):
        np.testing.assert_array_equal(_np(L.matrix_rank(_t(a), rtol=rtol)),
                                      np.linalg.matrix_rank(a, rtol=rtol) if a.size else np.zeros(shape[:-2]))
        if a.size:
            np.testing.assert_allclose(_np(L.pinv(_t(a), rtol=rtol)), np.linalg.pinv(a, rtol=rtol), atol=1e-10)


def test_matrix_rank_with_an_array_rtol():
    a = np.stack([np.diag([1.0, 0.1, 0.01]), np.diag([1.0, 0.1, 0.01])])
    r = L.matrix_rank(_t(a), rtol=fg.tensor([0.05, 0.5], dtype=fg.float64))
    np.testing.assert_array_equal(_np(r), [2, 1])


# ---------------------------------------------------------------------------
# trace, diagonal, outer, cross, vecdot, tensordot, matrix_transpose, matmul
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [0, 1, -1, 3, -5, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_trace_and_diagonal_match_numpy(offset, dtype):
    a = (np.random.default_rng(7).standard_normal((2, 3, 4)) * 10).astype(dtype)
    d = L.diagonal(_t(a), offset=offset)
    np.testing.assert_array_equal(_np(d), np.linalg.diagonal(a, offset=offset))
    t = L.trace(_t(a), offset=offset)
    assert t.dtype == _t(a).dtype
    np.testing.assert_allclose(_np(t), np.linalg.trace(a, offset=offset), rtol=1e-6)
    t64 = L.trace(_t(a), offset=offset, dtype=fg.float64)
    assert t64.dtype == fg.float64
    assert L.diagonal(_t(a) > 0).dtype == fg.bool


def test_outer_and_cross_match_numpy():
    rng = np.random.default_rng(8)
    x, y = rng.integers(-9, 9, 4), rng.integers(-9, 9, 3)
    o = L.outer(_t(x), _t(y))
    assert o.dtype == fg.int64
    np.testing.assert_array_equal(_np(o), np.outer(x, y))
    assert L.outer(fg.ones(0), fg.ones(3)).shape == (0, 3)
    a, b = rng.integers(-9, 9, (4, 1, 3)), rng.integers(-9, 9, (5, 3))
    c = L.cross(_t(a), _t(b))
    assert c.dtype == fg.int64
    np.testing.assert_array_equal(_np(c), np.linalg.cross(a, b))
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 3, 1))
    np.testing.assert_allclose(_np(L.cross(_t(a), _t(b), axis=-2)), np.cross(a, b, axis=-2), rtol=1e-12)
    with pytest.raises(ValueError):
        L.cross(fg.ones(3), fg.ones(4))
    with pytest.raises(ValueError):
        L.outer(fg.ones((2, 2)), fg.ones(2))


@pytest.mark.parametrize("axis", [-1, -2])
def test_vecdot_matches_numpy(axis):
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))
    for mod in (fg, L):
        r = mod.vecdot(_t(a), _t(b), axis=axis)
        np.testing.assert_allclose(_np(r), np.linalg.vecdot(a, b, axis=axis), rtol=1e-12)
    ai, bi = rng.integers(-5, 5, (3, 4)), rng.integers(-5, 5, (4,))
    r = fg.vecdot(_t(ai), _t(bi))
    assert r.dtype == fg.int64
    np.testing.assert_array_equal(_np(r), ai @ bi)
    with pytest.raises(ValueError):
        fg.vecdot(fg.ones((2, 3)), fg.ones((3, 1)))


@pytest.mark.parametrize("shapes,axes", [
    (((2, 3, 4), (3, 4, 5)), 2),
    (((2, 3, 4), (4, 5)), 1),
    (((2, 3), (4,)), 0),
    (((), ()), 0),
    (((2, 3, 4), (4, 2, 3)), ([0, 1], [1, 2])),
    (((2, 3, 4), (4, 2, 3)), ((-3, -1), (1, 0))),
    (((2, 0), (0, 3)), 1),
])
def test_tensordot_matches_numpy(shapes, axes):
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    for mod in (fg, L):
        r = mod.tensordot(_t(a), _t(b), axes=axes)
        ref = np.tensordot(a, b, axes=axes)
        assert r.shape == ref.shape
        np.testing.assert_allclose(_np(r), ref, rtol=1e-12, atol=1e-12)
    ai = rng.integers(-5, 5, shapes[0])
    bi = rng.integers(-5, 5, shapes[1])
    r = fg.tensordot(_t(ai), _t(bi), axes=axes)
    assert r.dtype == fg.int64
    np.testing.assert_array_equal(_np(r), np.tensordot(ai, bi, axes=axes))


def test_tensordot_errors():
    with pytest.raises(ValueError):
        fg.tensordot(fg.ones((2, 3)), fg.ones((2, 3)), axes=1)
    with pytest.raises(ValueError):
        fg.tensordot(fg.ones((2, 3)), fg.ones((3, 2)), axes=-1)
    with pytest.raises(ValueError):
        fg.tensordot(fg.ones((2, 2)), fg.ones((2, 2)), axes=([0, 0], [0, 1]))


def test_matrix_transpose_and_matmul():
    a = np.arange(24).reshape(2, 3, 4)
    for mod in (fg, L):
        t = mod.matrix_transpose(_t(a))
        np.testing.assert_array_equal(_np(t), np.swapaxes(a, -1, -2))
    with pytest.raises(ValueError):
        fg.matrix_transpose(fg.ones(3))
    np.testing.assert_array_equal(_np(L.matmul(_t(a), _t(a).mT)), a @ np.swapaxes(a, -1, -2))


# ---------------------------------------------------------------------------
# layouts and errors
# ---------------------------------------------------------------------------

def test_strided_inputs():
    rng = np.random.default_rng(11)
    a = _general(rng, (4, 4), np.float64)
    x = _t(a).mT  # a transposed view
    _close(L.inv(x), np.linalg.inv(a.T), np.float64)
    _close(L.det(x[::2, ::2]), np.linalg.det(a.T[::2, ::2]), np.float64)
    _close(L.svdvals(x[:, 1:]), np.linalg.svd(a.T[:, 1:], compute_uv=False), np.float64)


@pytest.mark.parametrize("fn", [L.det, L.slogdet, L.inv, L.cholesky, L.eigh, L.eigvalsh])
def test_non_square_and_1d_inputs_raise_linalg_error(fn):
    with pytest.raises(L.LinAlgError, match="square"):
        fn(fg.ones((2, 3)))
    with pytest.raises(L.LinAlgError, match="2 dimensions"):
        fn(fg.ones(3))


@pytest.mark.parametrize("fn", [L.svd, L.svdvals, L.qr, L.pinv, L.matrix_rank, L.matrix_norm])
def test_rectangular_only_needs_two_dims(fn):
    with pytest.raises(L.LinAlgError, match="2 dimensions"):
        fn(fg.ones(3))


def test_singular_and_not_positive_definite_raise():
    assert issubclass(L.LinAlgError, ValueError)
    sing = fg.tensor([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(L.LinAlgError, match="singular"):
        L.inv(sing)
    with pytest.raises(L.LinAlgError, match="singular"):
        L.solve(sing, fg.ones(2))
    with pytest.raises(L.LinAlgError, match="positive-definite"):
        L.cholesky(fg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(L.LinAlgError, match="matrix 1 of the stack"):
        L.cholesky(fg.stack([fg.eye(2), -fg.eye(2)]))
    with pytest.raises(L.LinAlgError):
        L.cholesky(fg.tensor([[np.nan]]))
    with pytest.raises(TypeError):
        L.det(fg.tensor([[True]]))
    raises_cleanly(L.solve, fg.eye(3), fg.ones(2), exc=ValueError)
    raises_cleanly(L.solve, fg.ones((2, 3, 3)), fg.ones((3, 3, 1)), exc=ValueError)


def test_non_finite_inputs_do_not_hang_or_crash():
    for v in (np.nan, np.inf):
        a = _t(np.array([[v, 1.0], [1.0, 2.0]]))
        for fn in (L.det, L.inv, L.svdvals, L.eigvalsh, L.pinv, L.matrix_rank):
            fn(a)
        L.svd(a)
        L.eigh(a)
        L.qr(a)
        assert np.isnan(_np(L.svdvals(a))).all()


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------

def _g(a):
    return fg.tensor(np.array(a, dtype=np.float64, order="C"), dtype=fg.float64, requires_grad=True)


RNG = np.random.default_rng(12)
A = _general(RNG, (2, 3, 3), np.float64)
B = RNG.standard_normal((2, 3, 2))


def _spd_of(x):
    return x @ x.mT + 3.0 * fg.eye(x.shape[-1], dtype=fg.float64)


def _sym_of(x):
    return (x + x.mT) * 0.5


FIRST_AND_SECOND_ORDER = {
    "solve": (lambda a, b: L.solve(a, b), (A, B)),
    "solve_vector": (lambda a, b: L.solve(a, b), (A, B[0, :, 0])),
    "solve_broadcast": (lambda a, b: L.solve(a, b), (A[:1], B)),
    "inv": (L.inv, (A,)),
    "det": (L.det, (A,)),
    "slogdet": (lambda a: L.slogdet(a).logabsdet, (A,)),
    "cholesky": (lambda a: L.cholesky(_spd_of(a)), (A,)),
    "cholesky_upper": (lambda a: L.cholesky(_spd_of(a), upper=True), (A,)),
}


@pytest.mark.parametrize("name", list(FIRST_AND_SECOND_ORDER))
def test_gradcheck_and_gradgradcheck(name):
    f, args = FIRST_AND_SECOND_ORDER[name]
    inputs = tuple(_g(a) for a in args)
    assert ag.gradcheck(f, inputs)
    assert ag.gradgradcheck(f, inputs)


def _sign_fixed_columns(u, ref):
    """Columns of u with the sign that makes their first row match ref's (singular
    vectors are unique up to sign only)."""
    return u * (u[..., :1, :] * ref[..., :1, :]).sign()


TALL = RNG.standard_normal((2, 4, 3))
WIDE = RNG.standard_normal((2, 3, 4))

FIRST_ORDER = {
    "eigvalsh": (lambda a: L.eigvalsh(_sym_of(a)), (A,)),
    "eigh_values": (lambda a: L.eigh(_sym_of(a)).eigenvalues, (A,)),
    "eigh_vectors": (lambda a: (lambda v: v * v[..., :1, :].sign())(L.eigh(_sym_of(a)).eigenvectors), (A,)),
    "svdvals": (L.svdvals, (TALL,)),
    "svd_S": (lambda a: L.svd(a, full_matrices=False).S, (WIDE,)),
    "svd_U_tall": (lambda a: (lambda u: u * u[..., :1, :].sign())(L.svd(a, full_matrices=False).U), (TALL,)),
    "svd_U_wide": (lambda a: (lambda u: u * u[..., :1, :].sign())(L.svd(a, full_matrices=False).U), (WIDE,)),
    "svd_Vh_tall": (lambda a: (lambda r: r.Vh * r.U[..., :1, :].sign().mT)(L.svd(a, full_matrices=False)), (TALL,)),
    "svd_Vh_wide": (lambda a: (lambda r: r.Vh * r.U[..., :1, :].sign().mT)(L.svd(a, full_matrices=False)), (WIDE,)),
    "svd_square_full": (lambda a: (lambda r: r.U * r.U[..., :1, :].sign())(L.svd(a)), (A,)),
    "qr_Q_tall": (lambda a: L.qr(a).Q, (TALL,)),
    "qr_R_tall": (lambda a: L.qr(a).R, (TALL,)),
    "qr_Q_wide": (lambda a: L.qr(a).Q, (WIDE,)),
    "qr_R_wide": (lambda a: L.qr(a).R, (WIDE,)),
    "qr_R_complete": (lambda a: L.qr(a, mode="complete").R, (TALL,)),
    "pinv": (L.pinv, (TALL,)),
    "matrix_rank_free_norms": (lambda a: L.matrix_norm(a, ord="nuc") + L.matrix_norm(a, ord=2)
                               + L.matrix_norm(a, ord=-2), (WIDE,)),
    "matrix_norm_fro": (L.matrix_norm, (A,)),
    "matrix_norm_1_inf": (lambda a: L.matrix_norm(a, ord=1) + L.matrix_norm(a, ord=-math.inf), (A,)),
    "vector_norm": (lambda a: L.vector_norm(a, axis=(0, 2), ord=3.5), (A,)),
    "vector_norm_2": (lambda a: L.vector_norm(a, axis=-1, keepdims=True), (A,)),
    "matrix_power": (lambda a: L.matrix_power(a, 3), (A,)),
    "matrix_power_negative": (lambda a: L.matrix_power(a, -2), (A,)),
    "trace": (lambda a: L.trace(a, offset=1), (A,)),
    "diagonal": (lambda a: L.diagonal(a, offset=-1), (A,)),
    "cross": (lambda a, b: L.cross(a, b), (A[0], B[0, :, 0])),
    "outer": (L.outer, (A[0, 0], B[0, :, 0])),
    "vecdot": (lambda a, b: fg.vecdot(a, b, axis=-2), (A, B[..., :1])),
    "tensordot": (lambda a, b: fg.tensordot(a, b, axes=([0, 1], [0, 1])), (A, B)),
}


@pytest.mark.parametrize("name", list(FIRST_ORDER))
def test_gradcheck_first_order(name):
    f, args = FIRST_ORDER[name]
    assert ag.gradcheck(f, tuple(_g(a) for a in args))


def test_det_gradient_of_a_singular_matrix_is_the_cofactor_matrix():
    m = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = _g(m)
    L.det(x).backward()
    cof = np.array([[np.linalg.det(np.delete(np.delete(m, i, 0), j, 1)) * (-1) ** (i + j)
                     for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(_np(x.grad), cof, atol=1e-12)


def test_vector_norm_gradient_at_zero_is_zero():
    x = _g(np.zeros(3))
    L.vector_norm(x).backward()
    np.testing.assert_array_equal(_np(x.grad), np.zeros(3))
    x = _g(np.zeros((2, 2)))
    L.matrix_norm(x).backward()
    np.testing.assert_array_equal(_np(x.grad), np.zeros((2, 2)))


def test_float32_gradients_keep_their_dtype():
    x = fg.tensor(A.astype(np.float32), requires_grad=True)
    (L.det(x).sum() + L.inv(x).sum() + L.svdvals(x).sum()).backward()
    assert x.grad.dtype == fg.float32


def test_full_svd_vector_gradient_of_a_rectangular_matrix_is_refused():
    x = _g(TALL)
    u = L.svd(x, full_matrices=True).U
    with pytest.raises(RuntimeError, match="full_matrices"):
        u.sum().backward()
    q = L.qr(_g(TALL), mode="complete").Q
    with pytest.raises(RuntimeError, match="complete"):
        q.sum().backward()


def test_in_place_change_of_a_saved_output_is_detected():
    x = _g(A)
    y = L.inv(x)
    z = y.sum()
    with fg.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match="inplace"):
        z.backward()


# ---------------------------------------------------------------------------
# wgpu: computed on the CPU, results back on the device
# ---------------------------------------------------------------------------

@pytest.mark.usefixtures("wgpu_device")
def test_wgpu_tensors_round_trip_through_the_cpu():
    a = _general(np.random.default_rng(13), (2, 3, 3), np.float32)
    x = fg.tensor(a).to("wgpu")
    x.requires_grad_(True)
    outs = {
        "det": L.det(x), "inv": L.inv(x), "svdvals": L.svdvals(x), "eigvalsh": L.eigvalsh(_sym_of(x)),
        "Q": L.qr(x).Q, "solve": L.solve(x, fg.ones(3).to("wgpu")), "cholesky": L.cholesky(x @ x.mT),
        "matrix_norm": L.matrix_norm(x, ord=2), "trace": L.trace(x), "pinv": L.pinv(x),
    }
    total = None
    for name, y in outs.items():
        assert y.device.type == "wgpu", name
        assert y.dtype == fg.float32, name
        total = y.sum() if total is None else total + y.sum()
    _close(outs["det"], np.linalg.det(a.astype(np.float64)), np.float32, scale=100)
    _close(outs["inv"], np.linalg.inv(a.astype(np.float64)), np.float32)
    total.backward()
    assert x.grad.device.type == "wgpu" and x.grad.shape == x.shape
    xc = fg.tensor(a, requires_grad=True)
    tc = None
    for y in (L.det(xc), L.inv(xc), L.svdvals(xc), L.eigvalsh(_sym_of(xc)), L.qr(xc).Q,
              L.solve(xc, fg.ones(3)), L.cholesky(xc @ xc.mT), L.matrix_norm(xc, ord=2), L.trace(xc),
              L.pinv(xc)):
        tc = y.sum() if tc is None else tc + y.sum()
    tc.backward()
    _close(x.grad, _np(xc.grad), np.float32, scale=100)
