"""Shape manipulation: reshape, permute, transpose, flatten, expand_dims, squeeze,
broadcast_to, concat, stack, flip, split, astype, contiguous."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import ERRORS, LAYOUTS, assert_close, make_pair, raises_cleanly

# ---------------------------------------------------------------------------
# reshape
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reshape_layouts(layout, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype)
    n = x.size
    assert_close(fg.reshape(t, (n,)), x.reshape(n))
    assert_close(t.reshape(-1), x.reshape(-1))
    assert_close(t.reshape((1, n)), x.reshape(1, n))
    assert_close(t.reshape(n, 1), x.reshape(n, 1))
    if n:
        assert_close(t.reshape(2, -1), x.reshape(2, -1))
        assert_close(t.reshape((-1, 3)), x.reshape(-1, 3))
        assert_close(fg.reshape(t, (3, -1, 2)), x.reshape(3, -1, 2))
    else:
        assert_close(t.reshape(0, 4, 5), x.reshape(0, 4, 5))


def test_reshape_0d_and_back():
    t = fg.tensor([5.0])
    s = t.reshape(())
    assert s.shape == () and s.item() == 5.0
    assert s.reshape(1, 1).shape == (1, 1)
    assert fg.tensor(3.0).reshape(-1).shape == (1,)


@pytest.mark.parametrize("shape", [(5,), (4, 4), (-1, 5), (2, -1, -1), (7, -1), (0, -1)])
def test_reshape_bad_size(shape):
    t = fg.arange(12)
    raises_cleanly(t.reshape, shape, exc=(ValueError,))
    raises_cleanly(fg.reshape, t, shape, exc=(ValueError,))


def test_reshape_is_view_of_contiguous():
    base = fg.zeros((2, 6))
    v = base.reshape(3, 4)
    base[0, 5] = 7.0
    base[1, 0] = -1.0
    assert v[1, 1].item() == 7.0
    assert v[1, 2].item() == -1.0
    w = fg.reshape(base, (12,))
    base[1, 5] = 3.0
    assert w[11].item() == 3.0


def test_reshape_of_view_gives_right_values(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    t = fg.tensor(a)
    assert_close(t.T.reshape(3, 8), a.T.reshape(3, 8))
    assert_close(t[:, ::2].reshape(-1), a[:, ::2].reshape(-1))
    assert_close(t[::-1].reshape(6, 4), a[::-1].reshape(6, 4))


# ---------------------------------------------------------------------------
# permute / transpose / flatten
# ---------------------------------------------------------------------------

PERMS = [(0, 1, 2), (2, 0, 1), (1, 0, 2), (2, 1, 0), (0, 2, 1), (-1, 0, 1)]


@pytest.mark.parametrize("axes", PERMS)
def test_permute(axes, rng):
    a = rng.standard_normal((2, 3, 4))
    t = fg.tensor(a)
    assert_close(fg.permute_dims(t, axes), np.transpose(a, axes))
    assert_close(t.permute(*axes), np.transpose(a, axes))
    # permute of a permuted view
    assert_close(t.permute(2, 0, 1).permute(*axes), np.transpose(np.transpose(a, (2, 0, 1)), axes))


@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (0, 0, 1), (0, 1, 3), (0, 1, 1), (3, 0, 1)])
def test_permute_bad_axes(axes):
    t = fg.zeros((2, 3, 4))
    raises_cleanly(fg.permute_dims, t, axes, exc=ERRORS)


@pytest.mark.parametrize("d0,d1", [(0, 1), (1, 0), (0, 2), (1, 2), (-1, 0), (1, 1)])
def test_transpose_swaps_two_axes(d0, d1, rng):
    a = rng.standard_normal((2, 3, 4))
    t = fg.tensor(a)
    assert_close(t.transpose(d0, d1), np.swapaxes(a, d0, d1))


def test_transpose_2d_and_T():
    a = np.arange(6.0).reshape(2, 3)
    t = fg.tensor(a)
    assert_close(t.transpose(0, 1), a.T)
    assert_close(t.T.T, a)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_flatten(layout, rng):
    x, t = make_pair(rng, layout, np.float32)
    assert_close(fg.flatten(t), x.reshape(-1))
    assert_close(t.flatten(), x.flatten())


def test_flatten_0d():
    assert fg.flatten(fg.tensor(2.0)).shape == (1,)


def test_view_ops_share_base():
    base = fg.zeros((3, 4))
    p = base.permute(1, 0)
    t = base.T
    base[2, 1] = 5.0
    assert p[1, 2].item() == 5.0
    assert t[1, 2].item() == 5.0


# ---------------------------------------------------------------------------
# expand_dims / squeeze / broadcast_to
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_expand_dims(axis, rng):
    a = rng.standard_normal((3, 4))
    t = fg.tensor(a)
    assert_close(fg.expand_dims(t, axis), np.expand_dims(a, axis))
    assert_close(fg.expand_dims(t.T, axis), np.expand_dims(a.T, axis))


@pytest.mark.parametrize("axis", [3, -4])
def test_expand_dims_bad_axis(axis):
    raises_cleanly(fg.expand_dims, fg.zeros((3, 4)), axis, exc=ERRORS)


@pytest.mark.parametrize("axis", [None, 0, 2, -2, (0, 2), (2, 0)])
def test_squeeze(axis, rng):
    a = rng.standard_normal((1, 3, 1, 4))
    t = fg.tensor(a)
    out = fg.squeeze(t) if axis is None else fg.squeeze(t, axis=axis)
    assert_close(out, np.squeeze(a, axis=axis))


def test_squeeze_keyword_and_shapes():
    a = np.zeros((1, 2, 1))
    t = fg.tensor(a)
    assert fg.squeeze(t, axis=None).shape == (2,)
    assert fg.squeeze(fg.zeros((1, 1))).shape == ()
    assert fg.squeeze(fg.zeros((2, 3))).shape == (2, 3)


@pytest.mark.parametrize("axis", [1, (0, 1), 5])
def test_squeeze_bad_axis(axis):
    raises_cleanly(fg.squeeze, fg.zeros((1, 3, 1)), axis=axis, exc=ERRORS)


@pytest.mark.parametrize(
    "src,dst",
    [((3,), (2, 3)), ((3, 1), (3, 4)), ((1,), (2, 2, 2)), ((), (3,)), ((2, 1, 4), (5, 2, 3, 4)), ((1, 3), (0, 3)), ((3,), (3,))],
)
def test_broadcast_to(src, dst, rng):
    a = np.asarray(rng.standard_normal(src))
    t = fg.tensor(a)
    assert_close(fg.broadcast_to(t, dst), np.broadcast_to(a, dst))


def test_broadcast_to_view_sees_base_writes():
    base = fg.zeros((3,))
    b = fg.broadcast_to(base, (2, 3))
    base[1] = 4.0
    assert b[0, 1].item() == 4.0 and b[1, 1].item() == 4.0


@pytest.mark.parametrize("src,dst", [((3,), (4,)), ((2, 3), (3,)), ((3, 2), (3, 3)), ((2,), (2, 3))])
def test_broadcast_to_bad(src, dst):
    raises_cleanly(fg.broadcast_to, fg.zeros(src), dst, exc=(ValueError,))


# ---------------------------------------------------------------------------
# concat / stack
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1, -2, None])
def test_concat(axis, float_dtype, rng):
    a = rng.standard_normal((3, 4)).astype(float_dtype)
    if axis in (0, -2, None):
        b = rng.standard_normal((2, 4)).astype(float_dtype)
    else:
        b = rng.standard_normal((3, 5)).astype(float_dtype)
    c = np.asarray(b[:0] if axis in (0, -2) else b[:, :0] if axis in (1, -1) else b)
    out = fg.concat([fg.tensor(a), fg.tensor(b), fg.tensor(c)], axis=axis)
    assert_close(out, np.concatenate([a, b, c], axis=axis))


def test_concat_default_axis_and_tuple_and_views(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    ta, tb = fg.tensor(a), fg.tensor(b)
    assert_close(fg.concat((ta, tb.T)), np.concatenate([a, b.T]))
    assert_close(fg.concat([ta[::2], tb.T[1:]], axis=0), np.concatenate([a[::2], b.T[1:]]))
    assert_close(fg.concat([ta]), a)
    c = rng.standard_normal((2, 3, 4))
    tc = fg.tensor(c)
    assert_close(fg.concat([tc, tc.permute(0, 1, 2)[:, :, ::-1]], axis=2), np.concatenate([c, c[:, :, ::-1]], axis=2))


def test_concat_int_and_bool():
    out = fg.concat([fg.tensor([1, 2]), fg.tensor([3])])
    assert out.dtype == np.int64 and out.tolist() == [1, 2, 3]
    out = fg.concat([fg.tensor([True]), fg.tensor([False, True])])
    assert out.dtype == np.bool_ and out.tolist() == [True, False, True]


def test_concat_bad():
    raises_cleanly(fg.concat, [fg.zeros((2, 3)), fg.zeros((2, 4))], axis=0, exc=ERRORS)
    raises_cleanly(fg.concat, [fg.zeros((2, 3)), fg.zeros((3,))], axis=0, exc=ERRORS)
    raises_cleanly(fg.concat, [fg.zeros((2, 3)), fg.zeros((2, 3))], axis=2, exc=ERRORS)
    raises_cleanly(fg.concat, [], exc=ERRORS)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_stack(axis, float_dtype, rng):
    arrs = [rng.standard_normal((3, 4)).astype(float_dtype) for _ in range(3)]
    ts = [fg.tensor(a) for a in arrs]
    ts[1] = fg.tensor(np.ascontiguousarray(arrs[1].T)).T  # a non-contiguous member
    assert_close(fg.stack(ts, axis=axis), np.stack(arrs, axis=axis))


def test_stack_default_and_0d():
    assert_close(fg.stack([fg.tensor(1.0), fg.tensor(2.0)]), np.array([1.0, 2.0], np.float32))
    assert_close(fg.stack((fg.zeros((2,)), fg.ones((2,)))), np.stack([np.zeros(2, np.float32), np.ones(2, np.float32)]))


def test_stack_bad():
    raises_cleanly(fg.stack, [fg.zeros((2, 3)), fg.zeros((3, 2))], exc=ERRORS)
    raises_cleanly(fg.stack, [fg.zeros((2, 3)), fg.zeros((2, 3))], axis=3, exc=ERRORS)
    raises_cleanly(fg.stack, [], exc=ERRORS)


# ---------------------------------------------------------------------------
# flip / split
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1), (1,)])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_flip(axis, layout, rng):
    x, t = make_pair(rng, layout, np.float32)
    assert_close(fg.flip(t, axis=axis), np.flip(x, axis=axis))


def test_flip_default_axis():
    t = fg.tensor([[1, 2], [3, 4]])
    assert fg.flip(t).tolist() == [[4, 3], [2, 1]]


@pytest.mark.parametrize(
    "shape,ios,axis",
    [
        ((6, 4), 3, 0),
        ((6, 4), 1, 0),
        ((6, 4), 2, 1),
        ((6, 4), 4, -1),
        ((6, 4), [1, 4], 0),
        ((6, 4), [2, 10], 0),
        ((6, 4), [0, 3, 3], 1),
        ((6, 4), [], 0),
        ((2, 3, 6), 3, 2),
        ((0, 4), 2, 0),
    ],
)
def test_split(shape, ios, axis, rng):
    a = rng.standard_normal(shape)
    t = fg.tensor(a)
    parts = fg.split(t, ios, axis=axis)
    expected = np.split(a, ios, axis=axis)
    assert isinstance(parts, list)
    assert len(parts) == len(expected)
    for p, e in zip(parts, expected):
        assert_close(p, e)


def test_split_default_axis_and_view(rng):
    a = rng.standard_normal((4, 6))
    parts = fg.split(fg.tensor(a).T, 2)
    for p, e in zip(parts, np.split(a.T, 2)):
        assert_close(p, e)


@pytest.mark.parametrize("sections", [4, 5])
def test_split_not_dividing(sections):
    raises_cleanly(fg.split, fg.zeros((6, 2)), sections, exc=(ValueError,))
    raises_cleanly(fg.split, fg.zeros((2, 6)), sections, axis=1, exc=(ValueError,))


def test_split_zero_sections():
    raises_cleanly(fg.split, fg.zeros((6, 2)), 0, exc=ERRORS + (ZeroDivisionError,))


# ---------------------------------------------------------------------------
# astype / contiguous
# ---------------------------------------------------------------------------

CASTS = [
    (np.float32, np.float64),
    (np.float64, np.float32),
    (np.float32, np.int64),
    (np.float64, np.int64),
    (np.int64, np.float32),
    (np.int64, np.float64),
    (np.int64, np.bool_),
    (np.bool_, np.float32),
    (np.bool_, np.int64),
    (np.float32, np.bool_),
    (np.float32, np.float32),
]


@pytest.mark.parametrize("src,dst", CASTS)
def test_astype(src, dst):
    base = np.array([[0.0, 1.7, -1.7], [2.5, -0.0, 3.0]])
    x = base.astype(src)
    t = fg.tensor(x)
    assert_close(t.astype(dst), x.astype(dst))
    assert_close(fg.astype(t, dst), x.astype(dst))
    assert_close(t.T.astype(dst), x.T.astype(dst))


def test_astype_forms_and_copy():
    t = fg.tensor([1.5, 2.5])
    assert t.astype("float64").dtype == np.float64
    assert t.astype(fg.int64).tolist() == [1, 2]
    assert fg.astype(t, np.float64).dtype == np.float64
    u = t.astype(fg.float64)
    u[0] = 9.0
    assert t[0].item() == 1.5
    raises_cleanly(t.astype, np.str_, exc=(TypeError,))


def test_contiguous():
    a = np.arange(12.0).reshape(3, 4)
    t = fg.tensor(a)
    assert t.is_contiguous()
    assert not t.T.is_contiguous()
    assert not t[:, ::2].is_contiguous()
    c = t.T.contiguous()
    assert c.is_contiguous()
    assert_close(c, a.T)
    p = fg.tensor(np.arange(24.0).reshape(2, 3, 4)).permute(2, 0, 1)
    assert not p.is_contiguous()
    pc = p.contiguous()
    assert pc.is_contiguous()
    assert_close(pc, np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1))
    assert t.contiguous().is_contiguous()
    assert_close(t.contiguous(), a)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float64, np.int8])
@pytest.mark.parametrize("shape", [(8, 8), (16, 24), (33, 47), (64, 40), (100, 3), (2, 37, 45), (3, 64, 64), (17, 8)])
def test_transposed_copies_are_exact(shape, dtype):
    # float32 goes through 8x8 register transposes, whole blocks first and the ragged
    # edges staged; NaN payloads and every bit must survive. (Integer arrays become
    # int64 tensors.)
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = (rng.standard_normal(shape) * 100).astype(dtype)
    if dtype == np.float32:
        x.reshape(-1)[::7] = np.float32(np.nan)
    y = fg.tensor(x).mT.contiguous().numpy()
    expect = np.swapaxes(x, -1, -2)
    assert y.tobytes() == np.ascontiguousarray(expect).astype(y.dtype).tobytes()
