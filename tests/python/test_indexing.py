"""__getitem__ / __setitem__, take, take_along_axis, one_hot."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import ERRORS, assert_close, raises_cleanly


def _as_index(idx, kind):
    """Turn the numpy arrays inside an index expression into lists or fg tensors."""
    if isinstance(idx, tuple):
        return tuple(_as_index(i, kind) for i in idx)
    if isinstance(idx, np.ndarray):
        return idx.tolist() if kind == "list" else fg.tensor(idx)
    return idx


A = np.array  # short alias for index arrays

BASIC_2D = [
    0,
    3,
    -1,
    -4,
    (1, 2),
    (-1, -5),
    (2, -1),
    slice(1, 3),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(3, 0, -2),
    slice(-3, None),
    slice(10, 20),
    slice(2, 2),
    (slice(None), slice(1, None, 3)),
    (slice(None, None, -1), slice(None, None, -2)),
    (slice(1, None), 2),
    (1, slice(1, 4)),
    (slice(None), slice(5, None)),
    (-2, slice(None, None, -1)),
    Ellipsis,
    (Ellipsis, 1),
    (1, Ellipsis),
    (Ellipsis, slice(None, None, 2)),
    None,
    (None, 1),
    (slice(None), None),
    (Ellipsis, None),
    (None, slice(1, 3), None, 2),
    (),
]

ADVANCED_2D = [
    A([0, 2]),
    A([-1, 0, 0]),
    A([[0, 1], [2, 3]]),
    (A([0, 2]), A([1, 3])),
    (A([[0], [2]]), A([1, 3, 4])),
    (slice(None), A([0, 2])),
    (A([0, 2]), slice(1, 3)),
    (A([3, 0]), slice(None, None, -1)),
    (1, A([0, 2, 4])),
    (A([1, 2]), -1),
    (Ellipsis, A([4, 0])),
    (A([1]), A([[0, 1], [2, 3]])),
    (slice(None, None, 2), A([-1])),
]

ADVANCED_3D = [
    (A([0, 2]), slice(None), A([1, 3])),  # separated by a slice: advanced dims go first
    (slice(None), A([0, 1]), A([1, 3])),  # adjacent: replaced in place
    (1, slice(None), A([0, 4])),  # an int counts as an advanced index here -> (2, 4)
    (A([0, 2]), Ellipsis, A([1, 3])),
    (Ellipsis, A([0, 2])),
    (None, A([0, 1])),
    (A([[0], [1]]), A([0, 3]), slice(None, 2)),
    (slice(None), slice(None), A([[1, 2], [3, 4]])),
    (A([2, 0]), 1),
    (slice(1, None), A([0, 0, 3]), 2),
]


@pytest.fixture
def x2(rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    return a, fg.tensor(a)


@pytest.fixture
def x3(rng):
    a = rng.standard_normal((3, 4, 5))
    return a, fg.tensor(a)


@pytest.mark.parametrize("idx", BASIC_2D, ids=repr)
def test_getitem_basic(idx, x2):
    a, t = x2
    assert_close(t[idx], a[idx])


@pytest.mark.parametrize("idx", BASIC_2D, ids=repr)
def test_getitem_basic_on_views(idx, rng):
    # a (4, 5) non-contiguous window, so the same indices apply as on x2
    base = rng.standard_normal((5, 8))
    a = base.T[1:6, ::-1][:4]
    t = fg.tensor(base).T[1:6, ::-1][:4]
    assert_close(t[idx], a[idx])


@pytest.mark.parametrize("kind", ["list", "tensor"])
@pytest.mark.parametrize("idx", ADVANCED_2D, ids=repr)
def test_getitem_advanced_2d(idx, kind, x2):
    a, t = x2
    assert_close(t[_as_index(idx, kind)], a[idx])


@pytest.mark.parametrize("idx", ADVANCED_3D, ids=repr)
def test_getitem_advanced_3d(idx, x3):
    a, t = x3
    assert_close(t[_as_index(idx, "tensor")], a[idx])
    assert_close(t[_as_index(idx, "list")], a[idx])


def test_advanced_index_result_shapes(x3):
    _, t = x3
    assert t[[0, 2], :, [1, 3]].shape == (2, 4)
    assert t[:, [0, 1], [1, 3]].shape == (3, 2)
    assert t[1, :, [0, 4]].shape == (2, 4)
    assert t[[[0], [1]], [0, 3]].shape == (2, 2, 5)


def test_getitem_int_tensor_index_on_views(rng):
    a = rng.standard_normal((6, 4))
    t = fg.tensor(a)
    idx = fg.tensor([3, 0, 1])
    assert_close(t.T[:, idx], a.T[:, [3, 0, 1]])
    assert_close(t[::2][fg.tensor([2, 0])], a[::2][[2, 0]])


def test_getitem_boolean_mask_full(x2, x3):
    a, t = x2
    assert_close(t[t > 0], a[a > 0])
    assert_close(t[fg.tensor(a > 0.5)], a[a > 0.5])
    b, u = x3
    assert_close(u[u < 0], b[b < 0])
    assert_close(t[t > 100], a[a > 100])  # nothing selected
    assert_close(t.T[t.T > 0], a.T[a.T > 0])


def test_getitem_boolean_mask_first_axis(x2, x3):
    a, t = x2
    m = np.array([True, False, True, True])
    assert_close(t[fg.tensor(m)], a[m])
    assert_close(t[fg.tensor(m), 1:3], a[m, 1:3])
    assert_close(t[fg.tensor(m), -1], a[m, -1])
    mc = np.array([False, True, True, False, True])
    assert_close(t[:, fg.tensor(mc)], a[:, mc])
    b, u = x3
    m3 = np.array([True, False, True])
    assert_close(u[fg.tensor(m3)], b[m3])
    assert_close(u[fg.tensor(m3), ::2, 0], b[m3, ::2, 0])


def test_getitem_0d_results(x2):
    a, t = x2
    v = t[2, 3]
    assert v.shape == ()
    assert v.item() == a[2, 3]
    assert float(t[-1, -1]) == float(a[-1, -1])


def test_getitem_int_and_bool_dtypes():
    t = fg.tensor([[1, 2, 3], [4, 5, 6]])
    assert t[1, 2].item() == 6
    assert t[:, 1].tolist() == [2, 5]
    assert t[[1, 0], [0, 2]].tolist() == [4, 3]
    b = fg.tensor([True, False, True])
    assert b[::-1].tolist() == [True, False, True]
    assert b[1:].tolist() == [False, True]


@pytest.mark.parametrize(
    "idx",
    [4, -5, (0, 5), (0, -6), (slice(None), 7), [0, 4], [-5], (0, 0, 0)],
    ids=repr,
)
def test_getitem_out_of_range(idx, x2):
    _, t = x2
    raises_cleanly(t.__getitem__, idx, exc=(IndexError,))


def test_getitem_out_of_range_tensor_index(x2):
    _, t = x2
    raises_cleanly(t.__getitem__, fg.tensor([0, 9]), exc=(IndexError,))
    raises_cleanly(t.__getitem__, (fg.tensor([0, 1]), fg.tensor([0, 5])), exc=(IndexError,))


def test_getitem_bad_index_types(x2):
    _, t = x2
    raises_cleanly(t.__getitem__, 1.5, exc=ERRORS)
    raises_cleanly(t.__getitem__, "a", exc=ERRORS)
    raises_cleanly(t.__getitem__, (Ellipsis, Ellipsis), exc=ERRORS)
    raises_cleanly(t.__getitem__, fg.tensor([True, False]), exc=ERRORS)
    raises_cleanly(t.__getitem__, fg.tensor([0.0, 1.0]), exc=ERRORS)
    raises_cleanly(t.__getitem__, slice(None, None, 0), exc=ERRORS)


def test_0d_indexing():
    s = fg.tensor(5.0)
    assert s[()].item() == 5.0
    assert s[...].item() == 5.0
    assert s[None].shape == (1,)
    raises_cleanly(s.__getitem__, 0, exc=(IndexError,))


# ---------------------------------------------------------------------------
# views
# ---------------------------------------------------------------------------


def test_basic_index_is_view_base_writes_visible():
    t = fg.zeros((4, 5))
    row = t[1]
    cols = t[:, 1::2]
    rev = t[::-1]
    sub = t[1:3, 2:]
    e = t[..., None]
    t[1, 2] = 9.0
    t[0, 1] = 7.0
    assert row[2].item() == 9.0
    assert cols[0, 0].item() == 7.0
    assert rev[2, 2].item() == 9.0
    assert sub[0, 0].item() == 9.0
    assert e[1, 2, 0].item() == 9.0


def test_writes_into_view_reach_base():
    t = fg.zeros((3, 4))
    v = t[1]
    v[2] = 5.0
    assert t[1, 2].item() == 5.0
    w = t[:, ::2]
    w[...] = 1.0
    expected = np.zeros((3, 4), np.float32)
    expected[1, 2] = 5.0
    expected[:, ::2] = 1.0
    assert_close(t, expected)
    u = t.T
    u[3, 0] = -2.0
    assert t[0, 3].item() == -2.0


def test_advanced_index_is_copy():
    t = fg.zeros((3, 3))
    c = t[[0, 1]]
    t[0, 0] = 4.0
    assert c[0, 0].item() == 0.0


# ---------------------------------------------------------------------------
# setitem
# ---------------------------------------------------------------------------

SET_CASES = [
    (1, 5.0),
    (-1, -2.5),
    ((1, 2), 3.0),
    (slice(1, 3), 7.0),
    ((slice(None), 0), "col"),
    ((slice(None), slice(1, None, 2)), 1.5),
    ((slice(None, None, -1), 2), "col"),
    (0, "row"),
    (slice(None), "row"),
    (Ellipsis, "row"),
    (Ellipsis, "full"),
    ((slice(1, 3), slice(None, None, 2)), "block"),
    ([0, 2], 0.25),
    ([0, 2], "row"),
    ((A([0, 3]), A([1, 4])), 8.0),
    ((slice(None), A([4, 0])), "colpair"),
    ("mask", 0.0),
    ("mask", "maskvals"),
    ("rowmask", "row"),
]


def _set_value(kind, a, idx, rng):
    shape = a[idx].shape
    if kind == "col":
        return rng.standard_normal((4,)).astype(np.float32)
    if kind == "row":
        return rng.standard_normal((5,)).astype(np.float32)
    if kind == "full":
        return rng.standard_normal((4, 5)).astype(np.float32)
    if kind in ("block", "colpair", "maskvals"):
        return rng.standard_normal(shape).astype(np.float32)
    return kind


@pytest.mark.parametrize("vform", ["tensor", "ndarray"])
@pytest.mark.parametrize("idx,kind", SET_CASES, ids=[repr(c) for c in SET_CASES])
def test_setitem(idx, kind, vform, rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    t = fg.tensor(a)
    if isinstance(idx, str):
        if idx == "mask":
            np_idx, fg_idx = a > 0, t > 0
        else:
            m = np.array([True, False, False, True])
            np_idx, fg_idx = m, fg.tensor(m)
    else:
        np_idx, fg_idx = idx, _as_index(idx, "list")
    value = _set_value(kind, a, np_idx, rng)
    if isinstance(value, np.ndarray) and vform == "tensor":
        fg_value = fg.tensor(value)
    else:
        fg_value = value
    a[np_idx] = value
    t[fg_idx] = fg_value
    assert_close(t, a)


def test_setitem_with_tensor_index_and_broadcast(rng):
    a = rng.standard_normal((4, 5))
    t = fg.tensor(a)
    t[fg.tensor([1, 3])] = fg.tensor([[1.0], [2.0]])
    a[[1, 3]] = np.array([[1.0], [2.0]])
    assert_close(t, a)
    t[..., 1:3] = fg.tensor([[-1.0, -2.0]])
    a[..., 1:3] = np.array([[-1.0, -2.0]])
    assert_close(t, a)


def test_setitem_from_view():
    a = np.arange(20.0).reshape(4, 5)
    t = fg.tensor(a)
    t[0] = t[3]
    a[0] = a[3]
    assert_close(t, a)
    t[:, 0] = t.T[1, :]
    a[:, 0] = a.T[1, :]
    assert_close(t, a)


def test_setitem_casts_value_dtype():
    t = fg.zeros((3,), dtype=fg.float32)
    t[0] = np.array(1.5, dtype=np.float64)
    t[1:] = fg.tensor([2, 3])
    assert t.dtype == np.float32
    assert t.tolist() == [1.5, 2.0, 3.0]
    i = fg.zeros((3,), dtype=fg.int64)
    i[1] = 7
    i[fg.tensor([True, False, True])] = 4
    assert i.dtype == np.int64
    assert i.tolist() == [4, 7, 4]
    b = fg.zeros((2,), dtype=fg.bool)
    b[1] = True
    assert b.tolist() == [False, True]


def test_setitem_errors():
    t = fg.zeros((4, 5))
    raises_cleanly(t.__setitem__, 4, 1.0, exc=(IndexError,))
    raises_cleanly(t.__setitem__, (0, slice(None)), fg.ones((4,)), exc=(ValueError,))
    raises_cleanly(t.__setitem__, Ellipsis, fg.ones((3, 5)), exc=(ValueError,))
    # nothing was written by the failed assignments
    assert_close(t, np.zeros((4, 5), np.float32))
    raises_cleanly(t.__setitem__, [0, 9], 1.0, exc=(IndexError,))
    raises_cleanly(t.__setitem__, (slice(None), 5), 1.0, exc=(IndexError,))


# ---------------------------------------------------------------------------
# take / take_along_axis / one_hot
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("idx", [[0, 2, 2], [[1, 0], [3, 1]], [1]], ids=repr)
def test_take(axis, idx, float_dtype, rng):
    a = rng.standard_normal((4, 5)).astype(float_dtype)
    t = fg.tensor(a)
    out = fg.take(t, fg.tensor(idx), axis=axis)
    assert_close(out, np.take(a, idx, axis=axis))
    out = fg.take(t.T, fg.tensor(idx), axis=axis)
    assert_close(out, np.take(a.T, idx, axis=axis))


def test_take_default_axis_flattens():
    t = fg.tensor([[1, 2], [3, 4]])
    assert fg.take(t, fg.tensor([3, 0])).tolist() == [4, 1]


def test_take_out_of_range():
    t = fg.zeros((2, 3))
    raises_cleanly(fg.take, t, fg.tensor([6]), exc=ERRORS)
    raises_cleanly(fg.take, t, fg.tensor([3]), axis=1, exc=ERRORS)
    raises_cleanly(fg.take, t, fg.tensor([0]), axis=2, exc=ERRORS)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_take_along_axis(axis, float_dtype, rng):
    a = rng.standard_normal((4, 5)).astype(float_dtype)
    t = fg.tensor(a)
    idx = np.argsort(a, axis=axis)
    out = fg.take_along_axis(t, fg.tensor(idx), axis)
    assert_close(out, np.take_along_axis(a, idx, axis))
    np.testing.assert_array_equal(out.numpy(), np.sort(a, axis=axis))
    # fewer indices than the axis length, and from a view
    idx2 = idx[:2] if axis == 0 else idx[:, :2]
    assert_close(fg.take_along_axis(t, fg.tensor(idx2), axis), np.take_along_axis(a, idx2, axis))
    assert_close(fg.take_along_axis(t.T, fg.tensor(np.argsort(a.T, axis=axis)), axis), np.sort(a.T, axis=axis))


def test_take_along_axis_with_argmax():
    a = np.array([[1.0, 9.0, 3.0], [7.0, 2.0, 4.0]])
    t = fg.tensor(a)
    idx = fg.argmax(t, axis=1, keepdims=True)
    assert_close(fg.take_along_axis(t, idx, 1), np.array([[9.0], [7.0]]))
    idx3 = np.array([[1, 0, 1]])
    assert_close(fg.take_along_axis(t, fg.tensor(idx3), 0), np.array([[7.0, 9.0, 4.0]]))


def test_take_along_axis_errors():
    t = fg.zeros((2, 3))
    raises_cleanly(fg.take_along_axis, t, fg.tensor([0, 1]), 1, exc=ERRORS)
    raises_cleanly(fg.take_along_axis, t, fg.tensor([[0, 3]]), 1, exc=ERRORS)


def test_one_hot():
    idx = np.array([0, 2, 1, 2])
    out = fg.one_hot(fg.tensor(idx), 3)
    assert out.dtype == np.int64
    assert_close(out, np.eye(3, dtype=np.int64)[idx])
    idx2 = np.array([[1, 0, 3], [2, 2, 0]])
    out = fg.one_hot(fg.tensor(idx2), 4)
    assert out.shape == (2, 3, 4)
    assert_close(out, np.eye(4, dtype=np.int64)[idx2])
    out = fg.one_hot(fg.tensor(idx2).T, 5)
    assert_close(out, np.eye(5, dtype=np.int64)[idx2.T])
    out = fg.one_hot(fg.tensor(2), 4)
    assert out.tolist() == [0, 0, 1, 0]


def test_one_hot_out_of_range():
    with pytest.raises((ValueError, IndexError)):
        fg.one_hot(fg.tensor([0, 3]), 3)
    raises_cleanly(fg.one_hot, fg.tensor([5]), 2, exc=(ValueError, IndexError))
