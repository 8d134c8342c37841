"""Regressions for issue 10, items 12-14: bool scalars in indices, values that wrapped or
vanished silently, and exception types that broke the documented contract (huge ints as
indices, bounds, axes and operands; devices; seeds). NumPy is the reference where it
defines the answer."""

import math

import numpy as np
import pytest

import ferrograd as fg
from conftest import assert_close, no_panic, raises_cleanly

X35 = np.arange(15.0).reshape(3, 5)

# ---------------------------------------------------------------------------
# Item 12: a Python bool in an index is an advanced index on a new axis of length 1
# (True) or 0 (False), as in NumPy.
# ---------------------------------------------------------------------------

BOOL_KEYS = [
    False,
    True,
    (slice(None), False),
    (slice(None), True),
    (True, False),
    (True, True, True),
    (None, True),
    (Ellipsis, True),
    (Ellipsis, False),
    (0, True),
    (True, 0),
    (False, 1),
    (True, [0, 2]),
    (False, [0, 2]),  # NumPy: shapes (0,) and (2,) do not broadcast
    (True, False, [0, 1]),  # nor (1,), (0,) and (2,)
    (False, [[0], [2]]),
    (True, [[0], [2]]),
    (False, np.array(1)),
    (True, slice(None), [0, 1]),
    ([0, 1], True, [1, 2]),
    (True, slice(1, 3)),
    (slice(None), True, slice(None, None, -1)),
]


@pytest.mark.parametrize("key", BOOL_KEYS, ids=repr)
def test_bool_scalar_index_matches_numpy(key):
    try:
        expected = X35[key]
    except IndexError:
        e = raises_cleanly(fg.tensor(X35).__getitem__, key, exc=(IndexError,))
        assert "broadcast" in str(e)
        return
    got = no_panic(fg.tensor(X35).__getitem__, key)
    assert_close(got, expected)


def test_issue_examples_bool_index_shapes():
    x = fg.zeros((3, 5))
    assert x[False].shape == (0, 3, 5)
    assert x[:, False].shape == (3, 0, 5)
    assert_close(fg.arange(6.0)[True, [0, -1]], np.arange(6.0, dtype=np.float32)[True, [0, -1]])
    assert fg.arange(6.0)[True, [0, -1]].shape == (2,)


def test_bool_scalar_index_of_0d_tensor():
    c = np.array(5.0)
    assert_close(fg.tensor(c)[True], c[True])
    assert_close(fg.tensor(c)[False], c[False])


def test_bool_scalar_index_as_tensor_and_numpy_bool():
    # A 0-d bool tensor and np.bool_ are the same index as the Python bool.
    t = fg.tensor(X35)
    assert_close(t[fg.tensor(False)], X35[False])
    assert_close(t[np.bool_(True), [0, 2]], X35[np.bool_(True), [0, 2]])


def test_bool_scalar_index_is_a_copy_like_numpy():
    # NumPy's x[True] is advanced indexing: a copy, not a view.
    t = fg.tensor(X35)
    y = t[True]
    y[0, 0, 0] = -1.0
    assert t[0, 0].item() == 0.0


def test_setitem_false_is_a_no_op():
    a, t = X35.copy(), fg.tensor(X35)
    a[False] = 1
    t[False] = 1
    assert_close(t, a)
    a[:, False] = 7
    t[:, False] = 7
    assert_close(t, a)


def test_setitem_true_writes_everything():
    v = np.arange(5.0) * 10
    a, t = X35.copy(), fg.tensor(X35)
    a[True] = v
    t[True] = fg.tensor(v)
    assert_close(t, a)


@pytest.mark.parametrize("key", [(True, 1), (True, [0, 2]), (1, False), (True, slice(None), [0, 4])], ids=repr)
def test_setitem_with_bool_scalar_matches_numpy(key):
    a, t = X35.copy(), fg.tensor(X35)
    a[key] = -3.0
    t[key] = -3.0
    assert_close(t, a)


def test_bool_scalar_index_backward():
    x = fg.tensor(np.arange(3.0), requires_grad=True)
    x[True, [0, 2, 2]].sum().backward()
    assert_close(x.grad, np.array([1.0, 0.0, 2.0]))
    y = fg.tensor(np.arange(3.0), requires_grad=True)
    y[False].sum().backward()
    assert_close(y.grad, np.zeros(3))


# ---------------------------------------------------------------------------
# Item 13: values that wrapped or vanished.
# ---------------------------------------------------------------------------


def test_uint64_beyond_int64_is_kept_not_wrapped():
    # A NumPy uint64 array stays uint64, so values past int64 keep their value.
    t = fg.tensor(np.array([2**64 - 1, 2**63], np.uint64))
    assert t.dtype == fg.uint64 and t.tolist() == [2**64 - 1, 2**63]
    # Asked for int64, such a value is refused rather than wrapped to a negative.
    e = raises_cleanly(fg.tensor, [2**64 - 1], exc=(OverflowError,))
    assert "18446744073709551615" in str(e)
    # A Python int that NumPy would store as uint64 is refused too (PyTorch's ints are
    # int64; it used to become negative).
    raises_cleanly(fg.tensor, [2**63], exc=(OverflowError,))


def test_uint_arrays_that_fit_convert_exactly():
    for dt, v in [(np.uint8, 255), (np.uint16, 65535), (np.uint32, 2**32 - 1), (np.uint64, 2**63 - 1)]:
        t = fg.tensor(np.array([v, 0], dt))
        assert t.dtype == getattr(fg, np.dtype(dt).name)  # unsigned stays unsigned
        assert t.tolist() == [v, 0]
        assert fg.tensor(np.array([v, 0], dt), dtype=fg.int64).tolist() == [v, 0]
    assert fg.tensor(np.zeros((0,), np.uint64)).shape == (0,)


def test_uint64_beyond_int64_converts_to_float_on_request():
    t = fg.tensor(np.array([2**64 - 1], np.uint64), dtype=fg.float64)
    assert t.tolist() == [float(2**64 - 1)]


@pytest.mark.parametrize(
    "value, exc",
    [(math.nan, ValueError), (math.inf, OverflowError), (-math.inf, OverflowError), (1e30, OverflowError)],
)
def test_int64_fill_refuses_non_representable_floats(value, exc):
    with pytest.raises(exc):
        np.zeros(3, np.int64)[0] = value  # NumPy raises the same
    t = fg.zeros((3,), dtype=fg.int64)
    raises_cleanly(t.fill_, value, exc=(exc,))
    raises_cleanly(t.__setitem__, 0, value, exc=(exc,))
    raises_cleanly(t.__setitem__, [0, 2], value, exc=(exc,))
    raises_cleanly(fg.full, (2,), value, dtype=fg.int64, exc=(exc,))
    assert t.tolist() == [0, 0, 0]


def test_issue_examples_nan_fill_and_inf_setitem():
    t = fg.zeros((2,), dtype=fg.int64)
    e = raises_cleanly(t.fill_, float("nan"), exc=(ValueError,))
    assert "NaN" in str(e)
    e = raises_cleanly(t.__setitem__, 0, float("inf"), exc=(OverflowError,))
    assert "infinity" in str(e)
    assert t.tolist() == [0, 0]


def test_int64_fill_with_in_range_float_still_truncates():
    t = fg.zeros((2,), dtype=fg.int64)
    t[0] = 2.7
    t[1] = -1.5
    assert t.tolist() == [2, -1]


def test_float_tensor_accepts_nan_and_huge_ints():
    t = fg.zeros((2,))
    t.fill_(math.nan)
    assert np.isnan(t.numpy()).all()
    t[0] = 2**70
    assert t[0].item() == np.float32(2**70)


def test_int64_setitem_of_int_beyond_int64_overflows():
    t = fg.zeros((2,), dtype=fg.int64)
    raises_cleanly(t.__setitem__, 0, 2**63, exc=(OverflowError,))
    raises_cleanly(t.fill_, -(2**64), exc=(OverflowError,))
    assert t.tolist() == [0, 0]


@pytest.mark.parametrize(
    "sizes",
    [(-1, 3), (-1, -1, 3), (2, -2), (-2,), (3, 3, -5)],
    ids=repr,
)
def test_expand_rejects_bad_sizes(sizes):
    # PyTorch: -1 only keeps an existing dim; other negatives are errors.
    e = raises_cleanly(fg.ones((3,)).expand, *sizes, exc=(ValueError,))
    assert "expand" in str(e)


def test_expand_issue_example_and_valid_uses():
    raises_cleanly(fg.ones((3,)).expand, -1, 3, exc=(ValueError,))
    assert fg.ones((3,)).expand(2, -1).shape == (2, 3)
    assert fg.ones((3, 1)).expand(-1, 4).shape == (3, 4)
    assert fg.ones((3, 1)).expand((2, 3, 4)).shape == (2, 3, 4)
    assert fg.ones((3,)).expand(0, 3).shape == (0, 3)
    raises_cleanly(fg.ones((3, 4)).expand, 4, exc=(ValueError,))


# ---------------------------------------------------------------------------
# Item 14: exception types.
# ---------------------------------------------------------------------------

BIG_SLICES = [
    slice(2**100, None),
    slice(-(2**100), None),
    slice(None, 2**100),
    slice(None, -(2**100)),
    slice(None, None, 2**100),
    slice(None, None, -(2**100)),
    slice(2**100, None, -1),
    slice(2**63, -(2**63) - 1, -1),
    slice(2**62, None, 2**62),
    slice(np.int64(1), np.uint64(2**64 - 1)),
]


@pytest.mark.parametrize("s", BIG_SLICES, ids=repr)
def test_huge_slice_bounds_clamp_like_numpy(s):
    assert_close(no_panic(fg.tensor(X35).__getitem__, s), X35[s])
    assert_close(no_panic(fg.tensor(X35).__getitem__, (slice(None), s)), X35[:, s])


def test_huge_slice_bounds_in_setitem():
    a, t = X35.copy(), fg.tensor(X35)
    a[2**100:] = 9
    t[2**100:] = 9
    a[:, -(2**100):2**100:2**70] = -1
    t[:, -(2**100):2**100:2**70] = -1
    assert_close(t, a)


@pytest.mark.parametrize("i", [2**63, 2**100, -(2**63) - 1, -(2**100)])
def test_huge_int_index_is_index_error(i):
    t = fg.tensor(X35)
    e = raises_cleanly(t.__getitem__, i, exc=(IndexError,))
    assert str(i) in str(e)
    raises_cleanly(t.__getitem__, (0, i), exc=(IndexError,))
    raises_cleanly(t.__getitem__, (i, [0]), exc=(IndexError,))
    raises_cleanly(t.__setitem__, i, 1.0, exc=(IndexError,))


@pytest.mark.parametrize("s", [slice(1.5, None), slice(None, 2.0), slice(None, None, 1.0), slice("a", None)], ids=repr)
def test_non_integer_slice_bound_is_type_error(s):
    with pytest.raises(TypeError):
        X35[s]
    e = raises_cleanly(fg.tensor(X35).__getitem__, s, exc=(TypeError,))
    assert "slice indices" in str(e)


def test_slice_bound_with_index_method_still_works():
    t = fg.tensor(X35)
    assert_close(t[fg.tensor(1) : np.int64(3)], X35[1:3])


@pytest.mark.parametrize("fn", ["zeros_like", "ones_like", "empty_like"])
@pytest.mark.parametrize("arg", [[1, 2], np.zeros(2), 3.0, None])
def test_like_of_non_tensor_is_type_error(fn, arg):
    e = raises_cleanly(getattr(fg, fn), arg, exc=(TypeError,))
    assert "Tensor" in str(e)


def test_full_like_of_non_tensor_is_type_error():
    raises_cleanly(fg.full_like, [1, 2], 3.0, exc=(TypeError,))
    assert fg.full_like(fg.zeros((2,)), 3.0).tolist() == [3.0, 3.0]


@pytest.mark.parametrize("name", ["foo", "cuda", "cuda:0", "mps", "tpu"])
def test_unknown_device_is_runtime_error_naming_device(name):
    for call in (
        lambda: fg.zeros((2,), device=name),
        lambda: fg.tensor([1.0], device=name),
        lambda: fg.device(name),
        lambda: fg.ones((2,)).to(name),
        lambda: fg.ones((2,)).to(name, fg.float64),
        lambda: fg.ones((2,)).to(device=name),
    ):
        e = raises_cleanly(call, exc=(RuntimeError,))
        assert "device" in str(e) and "dtype" not in str(e), str(e)


def test_to_still_parses_dtypes_and_devices():
    x = fg.ones((2,))
    assert x.to("float64").dtype == fg.float64
    assert x.to(fg.int64).dtype == fg.int64
    assert x.to("cpu").dtype == fg.float32
    assert x.to("cpu", "float64").dtype == fg.float64
    assert x.to(np.float64).dtype == fg.float64
    assert x.to("int32").dtype == fg.int32
    # A NumPy dtype ferrograd lacks is a dtype error, not a device one.
    e = raises_cleanly(x.to, "float128", exc=(TypeError,))
    assert "dtype" in str(e)


@pytest.mark.parametrize("shape", [(2**64,), (2, 2**64), (2**100,)], ids=repr)
def test_huge_shape_is_value_error_naming_the_size(shape):
    for make in (fg.ones, fg.zeros, fg.empty, fg.rand):
        e = raises_cleanly(make, shape, exc=(ValueError,))
        assert str(max(shape)) in str(e) and "got int" not in str(e)
    e = raises_cleanly(fg.ones((4,)).reshape, 2**64, exc=(ValueError,))
    assert str(2**64) in str(e)


def test_huge_negative_shape_is_value_error():
    e = raises_cleanly(fg.ones, (-(2**64),), exc=(ValueError,))
    assert "negative" in str(e)


@pytest.mark.parametrize("axis", [2**63, 2**100, -(2**63) - 1, (0, 2**64)], ids=repr)
def test_huge_axis_is_axis_error(axis):
    x = fg.zeros((3, 5))
    e = raises_cleanly(fg.sum, x, axis=axis, exc=(fg.AxisError,))
    assert isinstance(e, ValueError) and isinstance(e, IndexError)
    raises_cleanly(x.mean, axis, exc=(fg.AxisError,))
    raises_cleanly(x.squeeze, axis, exc=(fg.AxisError,))


BIG_INTS = [2**63, 2**70, -(2**63) - 1, -(2**100), 2**64]
CMP_OPS = ["<", "<=", ">", ">=", "==", "!="]


@pytest.mark.parametrize("v", BIG_INTS)
@pytest.mark.parametrize("op", CMP_OPS)
@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.float64])
def test_compare_with_int_beyond_int64_matches_numpy(v, op, dtype):
    a = np.array([[-(2**62), 0], [2**62, 5]]).astype(dtype)
    t = fg.tensor(a)
    expected = eval(f"a {op} v")
    got = eval(f"t {op} v")
    assert isinstance(got, fg.Tensor)
    assert_close(got, expected)
    # The reflected form (v < t is t > v) agrees as well.
    assert_close(eval(f"v {op} t"), eval(f"v {op} a"))


def test_issue_examples_big_int_comparisons():
    x = fg.arange(3)
    assert (x < 2**63).tolist() == [True, True, True]
    r = x == 2**70
    assert isinstance(r, fg.Tensor) and r.tolist() == [False, False, False]
    assert (x != 2**70).tolist() == [True, True, True]


@pytest.mark.parametrize("v", [2**63, -(2**100)])
def test_arithmetic_with_int_beyond_int64(v):
    # NumPy: the int becomes a float for float arrays; int arrays overflow.
    f = np.array([1.0, 2.0], np.float32)
    assert_close(fg.tensor(f) + v, f + v)
    assert_close(fg.tensor(f) * v, f * v)
    i = np.array([1, 2])
    with pytest.raises(OverflowError):
        i + v
    raises_cleanly(lambda: fg.tensor(i) + v, exc=(OverflowError,))
    raises_cleanly(lambda: v - fg.tensor(i), exc=(OverflowError,))
    raises_cleanly(lambda: fg.tensor([True]) < v, exc=(OverflowError,))


@pytest.mark.parametrize("seed", [-1, -(2**63), 2**63, 2**64 - 1, 0])
def test_manual_seed_round_trips_initial_seed(seed):
    old = fg.initial_seed()
    try:
        fg.manual_seed(seed)
        s = fg.initial_seed()
        assert s == seed % 2**64  # PyTorch's initial_seed is the seed modulo 2**64
        a = fg.rand((4,)).tolist()
        fg.manual_seed(s)
        assert fg.initial_seed() == s
        assert fg.rand((4,)).tolist() == a  # the same stream as the original seed
    finally:
        fg.manual_seed(old)


def test_manual_seed_out_of_range_and_wrong_type():
    old = fg.initial_seed()
    try:
        raises_cleanly(fg.manual_seed, 2**64, exc=(ValueError,))
        raises_cleanly(fg.manual_seed, -(2**63) - 1, exc=(ValueError,))
        raises_cleanly(fg.manual_seed, "1", exc=(TypeError,))
        fg.manual_seed(np.int64(7))
        assert fg.initial_seed() == 7
    finally:
        fg.manual_seed(old)


def _wgpu_or_skip():
    if not fg._core.wgpu_is_available():
        pytest.skip("no wgpu adapter (run scripts/ensure_vulkan.sh)")


@pytest.mark.parametrize("key", [0, [0, 1], slice(0, 2), (slice(None), [1, 3])], ids=repr)
def test_gpu_value_into_cpu_tensor_through_index(key):
    _wgpu_or_skip()
    t = fg.zeros((3, 4))
    shape = (3, 2) if isinstance(key, tuple) else (4,)
    e = raises_cleanly(t.__setitem__, key, fg.ones(shape).to("wgpu"), exc=(RuntimeError,))
    assert "wgpu" in str(e) and "cpu" in str(e)
    assert t.numpy().sum() == 0.0


def test_gpu_scalar_into_cpu_tensor_through_index_copies():
    _wgpu_or_skip()
    a, t = np.zeros((3, 4), np.float32), fg.zeros((3, 4))
    for key in (0, [0, 2], (slice(None), [1, 3]), (1, 2)):
        a[key] = 5.0
        t[key] = fg.tensor(5.0).to("wgpu")
    t[fg.tensor(a) == 0] = fg.tensor(2.0).to("wgpu")
    a[a == 0] = 2.0
    assert_close(t, a)
