"""Regressions for indexing results that the fuzz sweep found silently wrong (issue 10,
"Fuzzing as a standing test"): a one-element index tensor taken as an int, an empty
list index, where the dims of a boolean mask combined with an int or an index array
land, and an out-of-range int beside an empty advanced index. NumPy is the reference."""

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close, no_panic, raises_cleanly

X = np.arange(24.0).reshape(2, 3, 4)
MASK4 = np.array([True, True, False, True])
MASK3 = np.array([True, False, True])
MASK34 = np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 1]], bool)


def _fg_key(key):
    """The same key with each NumPy array (not 0-d bool) replaced by a ferrograd tensor."""
    conv = lambda e: fg.tensor(e) if isinstance(e, np.ndarray) else e  # noqa: E731
    return tuple(conv(e) for e in key) if isinstance(key, tuple) else conv(key)


def _check_get_and_set(key):
    """x[key] and x[key] = v must match NumPy's shape and values."""
    expected = X[key]
    got = no_panic(fg.tensor(X).__getitem__, _fg_key(key))
    assert got.shape == expected.shape
    assert_close(got, expected)
    a, t = X.copy(), fg.tensor(X)
    v = 100.0 + np.arange(expected.size, dtype=np.float64).reshape(expected.shape)
    a[key] = v
    t[_fg_key(key)] = fg.tensor(v)
    assert_close(t, a)


# ---------------------------------------------------------------------------
# A one-element index tensor is an index array, not an int: __getitem__'s fast path
# took it through __index__, so t[fg.tensor([0])] had shape () instead of (1,).
# ---------------------------------------------------------------------------


def test_one_element_index_tensor_keeps_its_dim():
    t = fg.tensor([3, 4, 5])
    r = t[fg.tensor([0])]
    assert r.shape == (1,)
    assert r.tolist() == [3]
    assert t[fg.tensor([-1])].tolist() == [5]
    assert fg.tensor(X)[fg.tensor([1])].shape == (1, 3, 4)


def test_zero_d_index_tensor_is_an_int_like_numpy():
    # NumPy: a[np.array(0)] is a[0].
    t = fg.tensor([3, 4, 5])
    assert t[fg.tensor(2)].shape == ()
    assert t[fg.tensor(2)].item() == 5
    assert fg.tensor(X)[fg.tensor(1)].shape == X[np.array(1)].shape


def test_setitem_with_one_element_index_tensor():
    t = fg.tensor([3, 4, 5])
    t[fg.tensor([1])] = fg.tensor([9])
    assert t.tolist() == [3, 9, 5]
    # A value shaped for x[[i]] (1, 3, 4) is accepted; NumPy and the getitem shape agree.
    a, t = X.copy(), fg.tensor(X)
    a[np.array([1])] = np.ones((1, 3, 4))
    t[fg.tensor([1])] = fg.ones((1, 3, 4), dtype=fg.float64)
    assert_close(t, a)


def test_gradient_through_one_element_index_tensor():
    x = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x[fg.tensor([2])]
    assert y.shape == (1,)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


# ---------------------------------------------------------------------------
# An empty list is an empty integer index (np.asarray([]) is float, but NumPy reads an
# empty sequence in an index as intp): x[[]] has shape (0, ...). It raised IndexError.
# ---------------------------------------------------------------------------

EMPTY_KEYS = [[], [[]], ((),), ([], 0), ([], slice(None), 3), (slice(None), []), ([], []), (Ellipsis, []), ([[], []], [0])]


@pytest.mark.parametrize("key", EMPTY_KEYS, ids=repr)
def test_empty_list_index_matches_numpy(key):
    _check_get_and_set(key)


def test_empty_list_index_result_dtype_and_gradient():
    assert fg.tensor([1, 2, 3])[[]].dtype == fg.int64
    x = fg.tensor(X, requires_grad=True)
    y = x[[]]
    assert y.shape == (0, 3, 4)
    y.sum().backward()
    assert_close(x.grad, np.zeros_like(X))


def test_empty_float_array_index_is_still_refused():
    # NumPy refuses an empty float *array* (only a sequence becomes an integer index).
    e = raises_cleanly(fg.tensor(X).__getitem__, np.array([]), exc=(IndexError,))
    assert "integer or boolean" in str(e)


# ---------------------------------------------------------------------------
# Where the advanced dims land: NumPy reads adjacency off the key as written, so an
# ellipsis (even one standing for no dim) or None between two advanced indices moves
# the broadcast dims to the front; an int counts as advanced beside an array or mask.
# x[:, 0, ..., mask] gave (2, 3); NumPy gives (3, 2).
# ---------------------------------------------------------------------------

PLACEMENT_KEYS = [
    (slice(None), 0, Ellipsis, MASK4),
    (slice(None), 0, Ellipsis, [0, 1, 0, 1, 0]),
    (slice(None), [0, 2, 1, 0, 2], Ellipsis, 0),
    (slice(None), [0, 2, 1, 0, 2], Ellipsis, [0, 1, 2, 3, 0]),
    (slice(None), np.array(1), Ellipsis, [0, 1, 2, 3, 0]),
    (slice(None), MASK3, Ellipsis, np.array([True, False, False, True])),
    (Ellipsis, 0, [1, 2, 0]),
    (slice(None), 0, [1, 2, 0], Ellipsis),
    (slice(None), 0, None, [0, 1, 3]),
    (0, None, [0, 2, 1, 2]),
    ([0, 1], None, [0, 1]),
    (0, slice(None), MASK4),
    (slice(None), MASK3, 1),
    (1, MASK34),
    (np.array([True, False]), slice(None), MASK4),
    (np.array([True, False]), MASK3),
    (np.array([True, False]), MASK3, [0, 3]),
    ([[0], [1]], slice(None), [0, 1, 2, 3]),
    (slice(None), [[0], [1], [2]], [0, 1, 3]),
    (slice(None), True, [0, 2]),
    (slice(None), True, slice(None), [0, 2]),
]


@pytest.mark.parametrize("key", PLACEMENT_KEYS, ids=repr)
def test_advanced_dims_land_where_numpy_puts_them(key):
    _check_get_and_set(key)


def test_issue_example_mask_after_int_and_ellipsis():
    x = fg.zeros((2, 3, 4))
    assert x[:, 0, ..., fg.tensor(MASK4)].shape == (3, 2)
    assert x[:, 0, ..., MASK4].shape == (3, 2)


def test_gradient_through_separated_advanced_indices():
    # The backward scatters with the same placement as the forward.
    key = (slice(None), 0, Ellipsis, MASK4)
    w = np.arange(6.0).reshape(3, 2)
    x = fg.tensor(X, requires_grad=True)
    (x[key] * fg.tensor(w)).sum().backward()
    expected = np.zeros_like(X)
    expected[key] += w
    assert_close(x.grad, expected)


# ---------------------------------------------------------------------------
# An int beside an advanced index is checked even when the broadcast index is empty:
# x[[], 7] returned an empty tensor; NumPy raises IndexError (for get and set).
# ---------------------------------------------------------------------------

OUT_OF_RANGE_KEYS = [
    ([], 7),
    ([], -4),
    ([], slice(None), 4),
    (Ellipsis, [], 9),
    (slice(None), np.zeros((0, 2), np.int64), 4),
    (np.array([False, False]), 3),
    (slice(None), [0, 1], -5),
]


@pytest.mark.parametrize("key", OUT_OF_RANGE_KEYS, ids=repr)
def test_out_of_range_int_beside_advanced_index_raises(key):
    with pytest.raises(IndexError):
        X[key]
    e = raises_cleanly(fg.tensor(X).__getitem__, _fg_key(key), exc=(IndexError,))
    assert "out of bounds" in str(e)
    t = fg.tensor(X)
    e = raises_cleanly(t.__setitem__, _fg_key(key), 1.0, exc=(IndexError,))
    assert "out of bounds" in str(e)
    assert_close(t, X)


def test_empty_advanced_index_arrays_are_not_checked_like_numpy():
    # NumPy checks the ints of a key, not the values of an index array whose broadcast
    # is empty: x[[], [7]] is an empty result there, and here.
    _check_get_and_set(([], [7]))


# ---------------------------------------------------------------------------
# The gradient of std where std = 0 was NaN (sqrt's infinite derivative times var's
# zero gradient); PyTorch masks it to 0. Found by the sweep's backward family.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [fg.float32, fg.float64], ids=str)
def test_std_gradient_is_zero_where_std_is_zero(dtype):
    x = fg.tensor([1.0], dtype=dtype, requires_grad=True)
    s = fg.std(x)
    assert s.item() == 0.0
    s.backward()
    assert x.grad.tolist() == [0.0]
    # A constant row beside a varying one: only the constant row's gradient is masked.
    a = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    x = fg.tensor(a, dtype=dtype, requires_grad=True)
    s = x.std(axis=1, correction=1)
    assert_close(s, a.std(axis=1, ddof=1).astype(np.float32 if dtype == fg.float32 else np.float64))
    s.sum().backward()
    n = a.shape[1]
    with np.errstate(invalid="ignore"):  # row 0 is 0 / 0 here; PyTorch's answer is 0
        expected = (a - a.mean(axis=1, keepdims=True)) / ((n - 1) * a.std(axis=1, ddof=1, keepdims=True))
    expected[0] = 0.0
    g = x.grad.numpy()
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


def test_std_of_broadcast_view_has_zero_gradient():
    # The sweep's case: std over a broadcast (constant) view.
    x = fg.tensor([3.0], requires_grad=True)
    fg.std(fg.broadcast_to(x, (4,))).backward()
    assert x.grad.tolist() == [0.0]


def test_std_without_grad_keeps_its_values():
    a = np.array([[0.0, 0.0], [1.0, -1.0], [np.nan, 1.0], [np.inf, 1.0]])
    with np.errstate(invalid="ignore"):
        expected = a.std(axis=1)
    assert_close(fg.tensor(a).std(axis=1), expected)
    x = fg.tensor(a, requires_grad=True)
    assert_close(x.std(axis=1), expected)
