"""The Array API functions outside elementwise math and linear algebra, against NumPy:
sorting, set functions, searching, cumulative sums and products, diff, the
manipulation functions, meshgrid/tril/triu, sum/prod with dtype=, and the error each
bad argument raises. Gradients are in test_array_api_grad.py."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ferrograd as fg
from conftest import assert_close

SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6)


def _floats(dtype=np.float64, nan=True):
    """Small values with many ties (and optionally NaN, inf and signed zeros)."""
    pool = [-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.inf, -np.inf] + ([np.nan] if nan else [])
    return st.sampled_from(pool).map(dtype)


float_arrays = SHAPES.flatmap(lambda s: hnp.arrays(np.float64, s, elements=_floats()))
int_arrays = SHAPES.flatmap(lambda s: hnp.arrays(np.int64, s, elements=st.integers(-3, 3)))
any_arrays = st.one_of(float_arrays, int_arrays,
                       SHAPES.flatmap(lambda s: hnp.arrays(np.float32, s, elements=_floats(np.float32))),
                       SHAPES.flatmap(lambda s: hnp.arrays(np.bool_, s)))


def _axis(data, ndim):
    return data.draw(st.integers(-ndim, ndim - 1), label="axis")


def _reference_argsort(a, axis, descending):
    """A stable argsort written independently of NumPy's: Python's sorted() (stable in
    both directions) with NaN ordered as the largest value."""
    def one(row):
        keys = [(bool(np.isnan(v)) if row.dtype.kind == "f" else False, v) for v in row.tolist()]
        if descending:
            return sorted(range(len(row)), key=lambda i: _Key(keys[i]), reverse=True)
        return sorted(range(len(row)), key=lambda i: _Key(keys[i]))

    if a.size == 0:
        return np.zeros(a.shape, dtype=np.int64)
    return np.apply_along_axis(lambda r: np.asarray(one(r), dtype=np.int64), axis, a)


class _Key:
    """Orders (is_nan, value) with NaNs largest and equal to each other."""

    def __init__(self, k):
        self.nan, self.v = k

    def __lt__(self, other):
        if self.nan or other.nan:
            return not self.nan and other.nan
        return self.v < other.v


class TestSorting:
    @given(any_arrays, st.booleans(), st.data())
    def test_argsort_is_stable_in_both_directions(self, a, descending, data):
        axis = _axis(data, a.ndim)
        got = fg.argsort(fg.asarray(a), axis=axis, descending=descending)
        assert got.dtype == fg.int64
        np.testing.assert_array_equal(got.numpy(), _reference_argsort(a, axis, descending))

    @given(any_arrays, st.booleans(), st.data())
    def test_sort_matches_numpy(self, a, descending, data):
        axis = _axis(data, a.ndim)
        expected = np.sort(a, axis=axis, kind="stable")
        if descending:
            expected = np.flip(expected, axis=axis)
        got = fg.sort(fg.asarray(a), axis=axis, descending=descending, stable=False)
        assert_close(got, expected)

    def test_nan_placement_and_defaults(self):
        x = fg.tensor([2.0, np.nan, -1.0, np.nan, 2.0])
        np.testing.assert_array_equal(fg.argsort(x).numpy(), [2, 0, 4, 1, 3])
        np.testing.assert_array_equal(fg.argsort(x, descending=True).numpy(), [1, 3, 0, 4, 2])
        # The default axis is the last one.
        m = np.array([[3, 1, 2], [0, 5, 4]])
        assert_close(fg.sort(fg.asarray(m)), np.sort(m))

    def test_zero_d_and_errors(self):
        assert fg.sort(fg.tensor(3.0)).item() == 3.0
        assert fg.argsort(fg.tensor(3.0)).item() == 0
        with pytest.raises(IndexError, match="axis 2 is out of bounds"):
            fg.sort(fg.zeros((2, 2)), axis=2)
        with pytest.raises(TypeError, match="axis must be an int"):
            fg.argsort(fg.zeros(3), axis=(0,))


class TestSets:
    @given(any_arrays)
    def test_unique_all_matches_numpy(self, a):
        r = fg.unique_all(fg.asarray(a))
        values, index, inverse, counts = np.unique(a, return_index=True, return_inverse=True,
                                                   return_counts=True, equal_nan=False)
        assert_close(r.values, values)
        for got, want in ((r.indices, index), (r.inverse_indices, inverse.reshape(a.shape)), (r.counts, counts)):
            assert got.dtype == fg.int64
            np.testing.assert_array_equal(got.numpy(), want)
        assert r.inverse_indices.shape == a.shape

    def test_each_nan_is_distinct_and_signed_zeros_are_one(self):
        x = fg.tensor([np.nan, 0.0, np.nan, -0.0, 1.0])
        r = fg.unique_counts(x)
        np.testing.assert_array_equal(r.values.numpy(), [0.0, 1.0, np.nan, np.nan])
        np.testing.assert_array_equal(r.counts.numpy(), [2, 1, 1, 1])
        inv = fg.unique_inverse(x)
        rebuilt = inv.values.numpy()[inv.inverse_indices.numpy()]
        np.testing.assert_array_equal(rebuilt, x.numpy())
        assert fg.unique_values(x).shape == (4,)

    def test_named_fields_and_zero_d(self):
        r = fg.unique_all(fg.tensor(True))
        assert r._fields == ("values", "indices", "inverse_indices", "counts")
        assert r.inverse_indices.shape == () and r.values.tolist() == [True]
        assert fg.unique_counts(fg.zeros((0,)))._fields == ("values", "counts")
        assert fg.unique_inverse(fg.zeros((2, 0)))._fields == ("values", "inverse_indices")
        assert fg.unique_values(fg.zeros((2, 0))).shape == (0,)


class TestSearching:
    @given(st.lists(st.integers(-5, 5), min_size=0, max_size=12),
           hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2), elements=st.integers(-7, 7)),
           st.sampled_from(["left", "right"]), st.booleans())
    def test_searchsorted_matches_numpy(self, values, v, side, use_sorter):
        x1 = np.asarray(values, dtype=np.float64)
        if use_sorter:
            sorter = np.argsort(x1, kind="stable")
            got = fg.searchsorted(fg.asarray(x1), fg.asarray(v), side=side, sorter=fg.asarray(sorter))
            want = np.searchsorted(x1, v, side=side, sorter=sorter)
        else:
            x1 = np.sort(x1)
            got = fg.searchsorted(fg.asarray(x1), fg.asarray(v), side=side)
            want = np.searchsorted(x1, v, side=side)
        assert got.dtype == fg.int64 and got.shape == v.shape
        np.testing.assert_array_equal(got.numpy(), want)

    def test_searchsorted_nan_and_scalar(self):
        x1 = fg.sort(fg.tensor([np.nan, 1.0, 2.0]))
        assert fg.searchsorted(x1, fg.tensor([np.nan])).tolist() == [2]
        assert fg.searchsorted(x1, 1.5).shape == () and int(fg.searchsorted(x1, 1.5)) == 1

    def test_searchsorted_errors(self):
        with pytest.raises(ValueError, match="x1 must be 1-D"):
            fg.searchsorted(fg.zeros((2, 2)), fg.zeros(1))
        with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
            fg.searchsorted(fg.zeros(2), fg.zeros(1), side="middle")
        with pytest.raises(TypeError, match="sorter must have an integer dtype"):
            fg.searchsorted(fg.zeros(2), fg.zeros(1), sorter=fg.zeros(2))
        with pytest.raises(ValueError, match="sorter shape"):
            fg.searchsorted(fg.zeros(2), fg.zeros(1), sorter=fg.arange(3))

    @given(any_arrays, st.booleans(), st.data())
    def test_count_nonzero_matches_numpy(self, a, keepdims, data):
        axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1)
                         | st.lists(st.integers(0, a.ndim - 1), unique=True).map(tuple), label="axis")
        got = fg.count_nonzero(fg.asarray(a), axis=axis, keepdims=keepdims)
        want = np.count_nonzero(a, axis=axis, keepdims=keepdims)
        assert got.dtype == fg.int64
        np.testing.assert_array_equal(got.numpy(), np.asarray(want))

    def test_nonzero_rejects_zero_d(self):
        with pytest.raises(ValueError, match="0-d"):
            fg.nonzero(fg.tensor(1.0))
        rows, cols = fg.nonzero(fg.tensor([[0, 2], [3, 0]]))
        assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]


def _np_accumulation_dtype(a):
    return np.int64 if a.dtype.kind in "bi" else a.dtype


class TestCumulative:
    @given(st.one_of(int_arrays, SHAPES.flatmap(lambda s: hnp.arrays(np.float64, s, elements=st.floats(-4, 4))),
                     SHAPES.flatmap(lambda s: hnp.arrays(np.bool_, s))),
           st.booleans(), st.data())
    def test_cumulative_sum_matches_numpy(self, a, include_initial, data):
        axis = _axis(data, a.ndim)
        got = fg.cumulative_sum(fg.asarray(a), axis=axis, include_initial=include_initial)
        want = np.cumulative_sum(a, axis=axis, include_initial=include_initial, dtype=_np_accumulation_dtype(a))
        assert_close(got, want, rtol=1e-12, atol=1e-12)

    @given(st.one_of(int_arrays, SHAPES.flatmap(lambda s: hnp.arrays(np.float64, s, elements=_floats()))),
           st.booleans(), st.data())
    def test_cumulative_prod_matches_numpy(self, a, include_initial, data):
        axis = _axis(data, a.ndim)
        got = fg.cumulative_prod(fg.asarray(a), axis=axis, include_initial=include_initial)
        with np.errstate(invalid="ignore", over="ignore"):  # 0 * inf in the reference
            want = np.cumulative_prod(a, axis=axis, include_initial=include_initial)
        assert_close(got, want)

    def test_dtype_argument_casts_first(self):
        x = fg.tensor([2.0**24, 1.0, 1.0])  # float32 loses the +1s at 2^24
        got = fg.cumulative_sum(x, dtype=fg.float64)
        assert got.dtype == fg.float64 and got.tolist() == [2.0**24, 2.0**24 + 1, 2.0**24 + 2]
        assert fg.cumulative_prod(fg.tensor([True, True]), dtype=fg.float32).dtype == fg.float32

    def test_long_float32_sum_is_accurate(self):
        a = np.random.default_rng(0).uniform(0, 1, 10_000).astype(np.float32)
        got = fg.cumulative_sum(fg.asarray(a)).numpy().astype(np.float64)
        np.testing.assert_allclose(got, np.cumsum(a.astype(np.float64)), rtol=2e-6)

    def test_special_values_and_integer_wraparound(self):
        x = fg.tensor([1.0, np.inf, -np.inf, 2.0])
        np.testing.assert_array_equal(fg.cumulative_sum(x).numpy(), [1.0, np.inf, np.nan, np.nan])
        big = np.array([2**62, 2**62, 2**62], dtype=np.int64)
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(fg.cumulative_sum(fg.asarray(big)).numpy(), np.cumsum(big))

    def test_errors(self):
        with pytest.raises(ValueError, match="axis is required for a 2-d array"):
            fg.cumulative_sum(fg.zeros((2, 2)))
        with pytest.raises(ValueError, match="at least one dimension"):
            fg.cumulative_prod(fg.tensor(1.0))
        with pytest.raises(IndexError, match="out of bounds"):
            fg.cumulative_sum(fg.zeros(3), axis=1)


class TestReductionsDtype:
    @pytest.mark.parametrize("fn", ["sum", "prod"])
    def test_dtype_argument(self, fn):
        a = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
        for dtype, np_dtype in ((fg.float64, np.float64), (fg.float32, np.float32), (None, np.int64)):
            got = getattr(fg, fn)(fg.asarray(a), axis=1, dtype=dtype, keepdims=True)
            assert_close(got, getattr(np, fn)(a, axis=1, dtype=np_dtype, keepdims=True))
        # The input is cast before summing: float32 would lose these ones.
        x = fg.tensor([2.0**24, 1.0, 1.0])
        if fn == "sum":
            assert fg.sum(x, dtype=fg.float64).item() == 2.0**24 + 2

    def test_bool_counts_and_axis_tuple(self):
        a = np.array([[True, False], [True, True]])
        assert_close(fg.sum(fg.asarray(a), axis=(0, 1)), np.sum(a, dtype=np.int64))
        assert_close(fg.prod(fg.asarray(a), axis=0), np.prod(a, axis=0, dtype=np.int64))
        assert fg.sum(fg.zeros((0, 3)), axis=0).tolist() == [0.0, 0.0, 0.0]
        # PyTorch's names still work.
        assert fg.sum(fg.ones((2, 3)), dim=1, keepdim=True).shape == (2, 1)


class TestDiff:
    @given(st.one_of(int_arrays, float_arrays, SHAPES.flatmap(lambda s: hnp.arrays(np.bool_, s))),
           st.integers(0, 4), st.booleans(), st.booleans(), st.data())
    def test_matches_numpy(self, a, n, pre, app, data):
        axis = _axis(data, a.ndim)
        kw = {}
        if pre:
            shape = list(a.shape)
            shape[axis] = 2
            kw["prepend"] = np.ones(shape, dtype=a.dtype)
        if app:
            kw["append"] = np.zeros_like(a)
        got = fg.diff(fg.asarray(a), axis=axis, n=n, **{k: fg.asarray(v) for k, v in kw.items()})
        # Joined first even for n=0, as the standard says (np.diff returns `a` for n=0).
        none = np.take(a, np.array([], dtype=np.int64), axis=axis)
        joined = np.concatenate([kw.get("prepend", none), a, kw.get("append", none)], axis=axis)
        with np.errstate(invalid="ignore"):
            want = np.diff(joined, axis=axis, n=n)
        assert_close(got, want)

    def test_scalar_edges_and_errors(self):
        got = fg.diff(fg.tensor([1, 4, 9]), prepend=0, append=10)
        assert got.tolist() == np.diff([1, 4, 9], prepend=0, append=10).tolist()
        with pytest.raises(ValueError, match="non-negative"):
            fg.diff(fg.zeros(3), n=-1)
        with pytest.raises(ValueError, match="0-d"):
            fg.diff(fg.tensor(1.0))


class TestManipulation:
    @given(any_arrays, st.data())
    def test_moveaxis(self, a, data):
        n = data.draw(st.integers(0, a.ndim), label="n")
        src = data.draw(st.permutations(range(a.ndim)).map(lambda p: tuple(p[:n])), label="src")
        dst = data.draw(st.permutations(range(-a.ndim, 0)).map(lambda p: tuple(p[:n])), label="dst")
        assert_close(fg.moveaxis(fg.asarray(a), src, dst), np.moveaxis(a, src, dst))
        if n == 1:
            assert_close(fg.moveaxis(fg.asarray(a), src[0], dst[0]), np.moveaxis(a, src[0], dst[0]))

    @given(any_arrays, st.data())
    def test_roll(self, a, data):
        axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1)
                         | st.lists(st.integers(0, a.ndim - 1), min_size=1, max_size=3).map(tuple), label="axis")
        if isinstance(axis, tuple) and data.draw(st.booleans(), label="tuple shift"):
            shift = tuple(data.draw(st.integers(-9, 9)) for _ in axis)
        else:
            shift = data.draw(st.integers(-9, 9), label="shift")
        assert_close(fg.roll(fg.asarray(a), shift, axis=axis), np.roll(a, shift, axis=axis))

    @given(any_arrays, st.data())
    def test_repeat(self, a, data):
        axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1), label="axis")
        n = a.size if axis is None else a.shape[axis]
        kind = data.draw(st.sampled_from(["int", "one", "each"]), label="kind")
        if kind == "int":
            reps = data.draw(st.integers(0, 3))
            got = fg.repeat(fg.asarray(a), reps, axis=axis)
        elif kind == "one":
            reps = np.array([data.draw(st.integers(0, 3))])
            got = fg.repeat(fg.asarray(a), fg.asarray(reps), axis=axis)
        else:
            reps = np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
            got = fg.repeat(fg.asarray(a), fg.asarray(reps), axis=axis)
        assert_close(got, np.repeat(a, reps, axis=axis))

    @given(any_arrays, st.lists(st.integers(0, 3), max_size=4))
    def test_tile(self, a, reps):
        assert_close(fg.tile(fg.asarray(a), tuple(reps)), np.tile(a, tuple(reps)))

    @given(any_arrays, st.data())
    def test_unstack(self, a, data):
        axis = _axis(data, a.ndim)
        got = fg.unstack(fg.asarray(a), axis=axis)
        want = np.unstack(a, axis=axis)
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w)

    @given(any_arrays, st.data())
    def test_expand_dims_tuple(self, a, data):
        k = data.draw(st.integers(1, 3), label="k")
        out_ndim = a.ndim + k
        axes = data.draw(st.lists(st.integers(-out_ndim, out_ndim - 1), min_size=k, max_size=k,
                                  unique_by=lambda v: v % out_ndim).map(tuple), label="axes")
        assert_close(fg.expand_dims(fg.asarray(a), axis=axes), np.expand_dims(a, axes))

    def test_numpy_style_arguments(self):
        a = np.arange(6).reshape(2, 3)
        assert_close(fg.repeat(fg.asarray(a), [1, 0, 2], axis=1), np.repeat(a, [1, 0, 2], axis=1))
        assert_close(fg.tile(fg.asarray(a), 2), np.tile(a, 2))

    def test_reshape_copy(self):
        x = fg.arange(6).reshape(2, 3)
        view = fg.reshape(x, (3, 2), copy=False)
        assert view._shares_storage(x)
        assert not fg.reshape(x, (6,), copy=True)._shares_storage(x)
        with pytest.raises(ValueError, match="without a copy"):
            fg.reshape(x.mT, (6,), copy=False)
        assert fg.reshape(x.mT, (6,)).tolist() == [0, 3, 1, 4, 2, 5]

    def test_manipulation_errors(self):
        x = fg.zeros((2, 3))
        with pytest.raises(IndexError, match="out of bounds"):
            fg.expand_dims(x, axis=3)
        with pytest.raises(IndexError, match="out of bounds"):
            fg.expand_dims(x, axis=(0, 4))
        with pytest.raises(ValueError, match="repeated axis"):
            fg.expand_dims(x, axis=(0, -4))
        with pytest.raises(ValueError, match="differ in length"):
            fg.moveaxis(x, (0, 1), (0,))
        with pytest.raises(ValueError, match="repeated source"):
            fg.moveaxis(x, (0, 0), (0, 1))
        with pytest.raises(ValueError, match="differ in length"):
            fg.roll(x, (1, 2), axis=(0,))
        with pytest.raises(ValueError, match="needs a tuple axis"):
            fg.roll(x, (1, 2))
        with pytest.raises(ValueError, match="non-negative"):
            fg.repeat(x, -1)
        with pytest.raises(ValueError, match="3 repeats for an axis of size 2"):
            fg.repeat(x, fg.tensor([1, 2, 3]), axis=0)
        with pytest.raises(TypeError, match="integer dtype"):
            fg.repeat(x, fg.tensor([1.0, 2.0]), axis=0)
        with pytest.raises(ValueError, match="non-negative"):
            fg.tile(x, (-1,))
        with pytest.raises(ValueError, match="at least one dimension"):
            fg.unstack(fg.tensor(1.0))
        with pytest.raises(ValueError, match="size not equal to one"):
            fg.squeeze(x, axis=0)


class TestCreation:
    @given(st.lists(st.integers(0, 4), min_size=0, max_size=4), st.sampled_from(["xy", "ij"]))
    def test_meshgrid(self, sizes, indexing):
        arrays = [np.arange(n, dtype=np.float64) * (i + 1) for i, n in enumerate(sizes)]
        got = fg.meshgrid(*[fg.asarray(a) for a in arrays], indexing=indexing)
        want = np.meshgrid(*arrays, indexing=indexing)
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w)

    @given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=5), elements=_floats()),
           st.integers(-6, 6))
    def test_tril_triu(self, a, k):
        x = fg.asarray(a)
        assert_close(fg.tril(x, k=k), np.tril(a, k=k))
        assert_close(fg.triu(x, k=k), np.triu(a, k=k))

    def test_tril_keeps_dtype(self):
        for dt, np_dt in ((fg.bool, np.bool_), (fg.int64, np.int64)):
            a = np.ones((3, 4), dtype=np_dt)
            assert_close(fg.tril(fg.asarray(a)), np.tril(a))

    def test_errors(self):
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            fg.tril(fg.zeros(3))
        with pytest.raises(ValueError, match="must be 1-D"):
            fg.meshgrid(fg.zeros(2), fg.zeros((2, 2)))
        with pytest.raises(ValueError, match="indexing must be"):
            fg.meshgrid(fg.zeros(2), indexing="yx")


class TestArrayObject:
    def test_to_device_and_complex(self):
        x = fg.tensor([1.5, 2.0])
        y = x.to_device(fg.device("cpu"))
        assert y.device == fg.device("cpu") and y.tolist() == x.tolist()
        assert complex(fg.tensor(2.5)) == 2.5 + 0j and fg.tensor(2.5).__complex__() == 2.5 + 0j
        with pytest.raises(ValueError, match="stream"):
            x.to_device("cpu", stream=1)

    def test_astype_device_and_copy(self):
        x = fg.tensor([1.5, 2.5])
        assert fg.astype(x, fg.int64, device="cpu").tolist() == [1, 2]
        assert fg.astype(x, fg.float32, copy=False) is x
        assert not fg.astype(x, fg.float32)._shares_storage(x)

    def test_from_dlpack(self):
        a = np.arange(4.0)
        shared = fg.from_dlpack(a)
        copied = fg.from_dlpack(a, copy=True)
        a[0] = 7.0
        assert shared.tolist()[0] == 7.0 and copied.tolist()[0] == 0.0
        assert fg.from_dlpack(a, device="cpu").device == fg.device("cpu")

    def test_dlpack_device_argument(self):
        x = fg.arange(3.0)
        assert np.from_dlpack(x).tolist() == [0.0, 1.0, 2.0]
        assert fg.from_dlpack(fg.from_dlpack(x)).tolist() == [0.0, 1.0, 2.0]
        assert type(x.__dlpack__(dl_device=(1, 0))).__name__ == "PyCapsule"
        with pytest.raises(BufferError, match="DLPack device"):
            x.__dlpack__(dl_device=(2, 0))
