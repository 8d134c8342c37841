"""fg.matmul and the @ operator, with NumPy's rules."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close, raises_cleanly

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((17, 33), (33, 9)),
    ((64, 96), (96, 80)),
    ((3, 130, 70), (70, 65)),
    ((1, 257), (257, 1)),
    ((257,), (257, 129)),
]


def _ref(a, b, dtype):
    return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(dtype)


@pytest.mark.parametrize("sa,sb", SHAPES, ids=[f"{a}@{b}" for a, b in SHAPES])
def test_matmul_shapes(sa, sb, float_dtype, rng):
    a = rng.standard_normal(sa).astype(float_dtype)
    b = rng.standard_normal(sb).astype(float_dtype)
    ta, tb = fg.tensor(a), fg.tensor(b)
    expected = _ref(a, b, float_dtype)
    out = fg.matmul(ta, tb)
    assert_close(out, expected, **TOL[float_dtype])
    out = ta @ tb
    assert_close(out, expected, **TOL[float_dtype])


def test_vector_vector_is_0d():
    out = fg.tensor([1.0, 2.0, 3.0]) @ fg.tensor([4.0, 5.0, 6.0])
    assert out.shape == ()
    assert out.item() == 32.0


def test_batched_broadcast_shape():
    a = fg.ones((2, 1, 3, 4))
    b = fg.ones((5, 4, 2))
    out = a @ b
    assert out.shape == (2, 5, 3, 2)
    assert_close(out, np.full((2, 5, 3, 2), 4.0, np.float32))


def test_small_hand_checked():
    a = fg.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = fg.tensor([[5.0, 6.0], [7.0, 8.0]])
    assert (a @ b).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert (a @ fg.tensor([1.0, -1.0])).tolist() == [-1.0, -1.0]
    assert (fg.tensor([1.0, -1.0]) @ a).tolist() == [-2.0, -2.0]


LAYOUTS = ["contig", "aT", "bT", "both_T", "a_strided", "b_strided", "neg_step", "batch_perm", "broadcast_b"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_matmul_layouts(layout, float_dtype, rng):
    m, k, n = 13, 21, 11
    tol = TOL[float_dtype]
    if layout == "contig":
        a = rng.standard_normal((m, k)).astype(float_dtype)
        b = rng.standard_normal((k, n)).astype(float_dtype)
        ta, tb = fg.tensor(a), fg.tensor(b)
    elif layout == "aT":
        base = rng.standard_normal((k, m)).astype(float_dtype)
        b = rng.standard_normal((k, n)).astype(float_dtype)
        a, ta, tb = base.T, fg.tensor(base).T, fg.tensor(b)
    elif layout == "bT":
        a = rng.standard_normal((m, k)).astype(float_dtype)
        base = rng.standard_normal((n, k)).astype(float_dtype)
        b, ta, tb = base.T, fg.tensor(a), fg.tensor(base).T
    elif layout == "both_T":
        abase = rng.standard_normal((k, m)).astype(float_dtype)
        bbase = rng.standard_normal((n, k)).astype(float_dtype)
        a, b, ta, tb = abase.T, bbase.T, fg.tensor(abase).T, fg.tensor(bbase).T
    elif layout == "a_strided":
        base = rng.standard_normal((2 * m, 3 * k)).astype(float_dtype)
        b = rng.standard_normal((k, n)).astype(float_dtype)
        a, ta, tb = base[::2, 1::3], fg.tensor(base)[::2, 1::3], fg.tensor(b)
    elif layout == "b_strided":
        a = rng.standard_normal((m, k)).astype(float_dtype)
        base = rng.standard_normal((k, 2 * n)).astype(float_dtype)
        b, ta, tb = base[:, ::2], fg.tensor(a), fg.tensor(base)[:, ::2]
    elif layout == "neg_step":
        abase = rng.standard_normal((m, k)).astype(float_dtype)
        bbase = rng.standard_normal((k, n)).astype(float_dtype)
        a, b = abase[::-1], bbase[:, ::-1]
        ta, tb = fg.tensor(abase)[::-1], fg.tensor(bbase)[:, ::-1]
    elif layout == "batch_perm":
        base = rng.standard_normal((m, 3, k)).astype(float_dtype)  # -> (3, m, k)
        a, ta = np.transpose(base, (1, 0, 2)), fg.permute_dims(fg.tensor(base), (1, 0, 2))
        bb = rng.standard_normal((3, n, k)).astype(float_dtype)
        b, tb = np.swapaxes(bb, -1, -2), fg.tensor(bb).mT
    elif layout == "broadcast_b":
        a = rng.standard_normal((4, m, k)).astype(float_dtype)
        bbase = rng.standard_normal((k, n)).astype(float_dtype)
        b = np.broadcast_to(bbase, (4, k, n))
        ta, tb = fg.tensor(a), fg.broadcast_to(fg.tensor(bbase), (4, k, n))
    else:
        raise AssertionError(layout)
    assert_close(ta @ tb, _ref(a, b, float_dtype), **tol)
    assert_close(fg.matmul(ta, tb), _ref(a, b, float_dtype), **tol)


def test_matmul_transposed_larger(rng):
    a = rng.standard_normal((200, 150)).astype(np.float32)
    b = rng.standard_normal((120, 200)).astype(np.float32)
    ta, tb = fg.tensor(a), fg.tensor(b)
    assert_close(ta.T @ tb.T, _ref(a.T, b.T, np.float32), rtol=1e-4, atol=2e-4)


def test_matmul_does_not_modify_inputs(rng):
    a = rng.standard_normal((5, 6))
    b = rng.standard_normal((6, 7))
    ta, tb = fg.tensor(a), fg.tensor(b)
    _ = ta @ tb
    assert_close(ta, a)
    assert_close(tb, b)


@pytest.mark.parametrize(
    "sa,sb,expected",
    [((3, 0), (0, 4), (3, 4)), ((0, 4), (4, 5), (0, 5)), ((3, 4), (4, 0), (3, 0)), ((2, 0, 3), (3, 4), (2, 0, 4)), ((0,), (0,), ()), ((0, 2, 3), (3, 1), (0, 2, 1))],
)
def test_zero_size(sa, sb, expected, float_dtype):
    out = fg.matmul(fg.zeros(sa, dtype=float_dtype), fg.ones(sb, dtype=float_dtype))
    assert out.shape == expected
    assert_close(out, np.zeros(expected, float_dtype))


def test_k_zero_gives_zeros_repeatedly():
    for _ in range(3):
        out = fg.matmul(fg.ones((8, 0)), fg.ones((0, 8)))
        assert_close(out, np.zeros((8, 8), np.float32))


@pytest.mark.parametrize("sa,sb", [((3, 4), (5, 6)), ((4,), (5,)), ((2, 3), (2, 3)), ((3, 4), (5,)), ((5,), (3, 4))])
def test_inner_dim_mismatch(sa, sb):
    e = raises_cleanly(fg.matmul, fg.zeros(sa), fg.zeros(sb), exc=(ValueError,))
    msg = str(e)
    assert str(sa) in msg and str(sb) in msg, msg
    raises_cleanly(lambda: fg.zeros(sa) @ fg.zeros(sb), exc=(ValueError,))


def test_batch_mismatch():
    raises_cleanly(fg.matmul, fg.zeros((2, 3, 4)), fg.zeros((3, 4, 5)), exc=(ValueError,))


def test_0d_operands_raise():
    raises_cleanly(fg.matmul, fg.tensor(2.0), fg.ones((2, 2)), exc=(ValueError,))
    raises_cleanly(fg.matmul, fg.ones((2,)), fg.tensor(2.0), exc=(ValueError,))
    raises_cleanly(lambda: fg.tensor(1.0) @ fg.tensor(1.0), exc=(ValueError,))


@pytest.mark.parametrize("m,k,n", [(70, 300, 90), (300, 200, 40), (128, 784, 256), (64, 1024, 1024), (33, 2000, 17)])
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
def test_mid_sized_products_split_into_blocks(m, k, n, ta, tb):
    # Mid-sized products are split into blocks of output rows or columns (whichever side
    # is longer), each a separate gemm call; every layout of the operands must land in
    # the right block, and the result must not depend on the thread count.
    rng = np.random.default_rng(m + n)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    fa, fb = fg.tensor(a), fg.tensor(b)
    fa, fb = (fa.T if ta else fa), (fb.T if tb else fb)
    a, b = (a.T if ta else a), (b.T if tb else b)
    want = a.astype(np.float64) @ b.astype(np.float64)
    got = (fa @ fb).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3 * np.sqrt(k))
    before = fg.get_num_threads()
    try:
        fg.set_num_threads(1)
        one = (fa @ fb).numpy()
    finally:
        fg.set_num_threads(before)
    assert one.tobytes() == got.tobytes()
