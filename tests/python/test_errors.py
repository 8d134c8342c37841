"""Bad input: every error is a proper Python exception, never a Rust panic
(pyo3_runtime.PanicException derives from BaseException, so it would escape
pytest.raises(Exception) and is caught explicitly by raises_cleanly / no_panic)."""

import math
import operator

import numpy as np
import pytest

import ferrograd as fg
from conftest import ERRORS, assert_close, no_panic, raises_cleanly


def _m():
    return fg.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4))


BAD_CALLS = {
    # shapes
    "add_mismatch": (lambda: _m() + fg.zeros((3,)), (ValueError,)),
    "mul_mismatch_3d": (lambda: fg.zeros((2, 3, 4)) * fg.zeros((3, 3, 4)), (ValueError,)),
    "where_mismatch": (lambda: fg.where(fg.zeros((2,), dtype=fg.bool), _m(), 0.0), (ValueError,)),
    "maximum_mismatch": (lambda: fg.maximum(_m(), fg.zeros((5,))), (ValueError,)),
    "matmul_mismatch": (lambda: _m() @ _m(), (ValueError,)),
    "matmul_0d": (lambda: fg.matmul(fg.tensor(1.0), _m()), (ValueError,)),
    "reshape_bad": (lambda: _m().reshape(5, 3), (ValueError,)),
    "reshape_two_unknown": (lambda: _m().reshape(-1, -1), (ValueError,)),
    "reshape_negative": (lambda: _m().reshape(-3, -4), ERRORS),
    "broadcast_to_bad": (lambda: fg.broadcast_to(_m(), (4, 4)), (ValueError,)),
    "broadcast_to_fewer_dims": (lambda: fg.broadcast_to(_m(), (4,)), (ValueError,)),
    "concat_bad": (lambda: fg.concat([_m(), fg.zeros((3, 5))], axis=0), ERRORS),
    "concat_ndim": (lambda: fg.concat([_m(), fg.zeros((12,))]), ERRORS),
    "stack_bad": (lambda: fg.stack([_m(), fg.zeros((4, 3))]), ERRORS),
    "split_uneven": (lambda: fg.split(_m(), 2), (ValueError,)),
    "squeeze_non_one": (lambda: fg.squeeze(_m(), axis=0), ERRORS),
    "permute_len": (lambda: fg.permute_dims(_m(), (0,)), ERRORS),
    "permute_dup": (lambda: fg.permute_dims(_m(), (1, 1)), ERRORS),
    "transpose_bad_axis": (lambda: _m().transpose(0, 2), ERRORS),
    "take_along_ndim": (lambda: fg.take_along_axis(_m(), fg.tensor([0]), 0), ERRORS),
    # axes
    "sum_axis": (lambda: fg.sum(_m(), axis=2), (fg.AxisError,)),
    "mean_axis": (lambda: fg.mean(_m(), axis=-3), (fg.AxisError,)),
    "max_axis": (lambda: fg.max(_m(), axis=7), (fg.AxisError,)),
    "argmax_axis": (lambda: fg.argmax(_m(), axis=2), (fg.AxisError,)),
    "var_axis": (lambda: fg.var(_m(), axis=(0, 5)), (fg.AxisError,)),
    "sum_dup_axis": (lambda: fg.sum(_m(), axis=(0, 0)), ERRORS),
    "flip_axis": (lambda: fg.flip(_m(), axis=2), ERRORS),
    "expand_dims_axis": (lambda: fg.expand_dims(_m(), 5), ERRORS),
    "concat_axis": (lambda: fg.concat([_m(), _m()], axis=3), ERRORS),
    "softmax_axis": (lambda: fg.softmax(_m(), axis=2), (ValueError, IndexError)),
    "split_axis": (lambda: fg.split(_m(), 2, axis=4), ERRORS),
    "take_axis": (lambda: fg.take(_m(), fg.tensor([0]), axis=2), ERRORS),
    # indices
    "getitem_int": (lambda: _m()[3], (IndexError,)),
    "getitem_neg": (lambda: _m()[-4], (IndexError,)),
    "getitem_second_axis": (lambda: _m()[0, 4], (IndexError,)),
    "getitem_too_many": (lambda: _m()[0, 0, 0], (IndexError,)),
    "getitem_fancy": (lambda: _m()[[0, 3]], (IndexError,)),
    "getitem_fancy_neg": (lambda: _m()[:, [-5]], (IndexError,)),
    "getitem_bad_mask": (lambda: _m()[fg.tensor([True, False])], ERRORS),
    "getitem_float": (lambda: _m()[1.0], ERRORS),
    "getitem_str": (lambda: _m()["x"], ERRORS),
    "getitem_float_tensor": (lambda: _m()[fg.tensor([0.0])], ERRORS),
    "getitem_broadcast_fail": (lambda: _m()[[0, 1], [0, 1, 2]], ERRORS),
    "take_out_of_range": (lambda: fg.take(_m(), fg.tensor([12])), ERRORS),
    "take_along_out_of_range": (lambda: fg.take_along_axis(_m(), fg.tensor([[4]]), 1), ERRORS),
    "one_hot_out_of_range": (lambda: fg.one_hot(fg.tensor([3]), 3), (ValueError, IndexError)),
    # dtypes
    "neg_bool": (lambda: -fg.tensor([True]), (TypeError,)),
    "string_array": (lambda: fg.tensor(np.array(["a", "b"])), (TypeError,)),
    "int128_dtype": (lambda: fg.tensor([1], dtype="int128"), (TypeError,)),
    "bad_dtype_string": (lambda: fg.zeros(2, dtype="floaty"), ERRORS),
    "astype_string": (lambda: _m().astype(np.str_), (TypeError,)),
    "add_string": (lambda: _m() + "a", (TypeError,)),
    "tensor_of_strings": (lambda: fg.tensor(["a", "b"]), ERRORS),
    "tensor_of_none": (lambda: fg.tensor(None), ERRORS),
    "tensor_of_object": (lambda: fg.tensor([object()]), ERRORS),
    "ragged": (lambda: fg.tensor([[1.0], [2.0, 3.0]]), (ValueError,)),
    # creation
    "zeros_negative": (lambda: fg.zeros((2, -1)), ERRORS),
    "full_negative": (lambda: fg.full((-3,), 1.0), ERRORS),
    "arange_zero_step": (lambda: fg.arange(0, 10, 0), ERRORS + (ZeroDivisionError,)),
    "linspace_negative": (lambda: fg.linspace(0, 1, -2), ERRORS),
    "randint_empty_range": (lambda: fg.randint(5, 5, (3,)), ERRORS),
    "randint_inverted_range": (lambda: fg.randint(5, 2, (3,)), ERRORS),
    "eye_negative": (lambda: fg.eye(-2), ERRORS),
    "rand_negative": (lambda: fg.rand((-1,)), ERRORS),
    # scalar conversion
    "item_many": (lambda: _m().item(), ERRORS),
    "float_many": (lambda: float(_m()), ERRORS),
    "int_many": (lambda: int(fg.ones(2)), ERRORS),
    "bool_many": (lambda: bool(fg.ones(2)), (ValueError,)),
    "len_0d": (lambda: len(fg.tensor(1.0)), (TypeError,)),
    "iter_0d": (lambda: list(fg.tensor(1.0)), (TypeError,)),
    "empty_max": (lambda: fg.max(fg.zeros((0,))), (ValueError,)),
    "empty_argmin": (lambda: fg.argmin(fg.zeros((3, 0)), axis=1), (ValueError,)),
    # setitem
    "setitem_shape": (lambda: _m().__setitem__(0, fg.ones((3,))), (ValueError,)),
    "setitem_index": (lambda: _m().__setitem__((0, 9), 1.0), (IndexError,)),
    "setitem_mask_shape": (lambda: _m().__setitem__(fg.tensor([True, False]), 1.0), ERRORS),
    "setitem_string": (lambda: _m().__setitem__(0, "abc"), ERRORS),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_input_raises_cleanly(name):
    fn, exc = BAD_CALLS[name]
    raises_cleanly(fn, exc=exc)


def test_error_leaves_state_usable():
    t = _m()
    for _ in range(3):
        raises_cleanly(lambda: t + fg.zeros((5,)), exc=(ValueError,))
    assert_close(t + 1.0, np.arange(12.0, dtype=np.float32).reshape(3, 4) + 1.0)


def test_helper_recognises_panics():
    # a sanity check of the helper itself: a BaseException named PanicException fails the test
    PanicException = type("PanicException", (BaseException,), {})

    def boom():
        raise PanicException("x")

    with pytest.raises(pytest.fail.Exception):
        raises_cleanly(boom)
    with pytest.raises(pytest.fail.Exception):
        no_panic(boom)


# ---------------------------------------------------------------------------
# zero-size tensors: no panic and the right shapes
# ---------------------------------------------------------------------------

ZERO_SHAPES = [(0,), (0, 3), (3, 0), (2, 0, 4)]


@pytest.mark.parametrize("shape", ZERO_SHAPES)
def test_zero_size_ops(shape):
    z = no_panic(fg.zeros, shape)
    ref = np.zeros(shape, np.float32)
    for fn in (fg.exp, fg.log1p, fg.tanh, fg.sigmoid, fg.relu, fg.gelu, fg.abs, fg.round, fg.isnan):
        out = no_panic(fn, z)
        assert out.shape == shape
    assert no_panic(lambda: z + z).shape == shape
    assert no_panic(lambda: z * 2.0).shape == shape
    assert no_panic(lambda: z > 0).shape == shape
    assert no_panic(lambda: fg.where(z > 0, z, 1.0)).shape == shape
    assert no_panic(lambda: z + fg.ones(shape[-1:])).shape == shape
    assert no_panic(fg.sum, z).item() == 0.0
    assert no_panic(fg.prod, z).item() == 1.0
    assert math.isnan(no_panic(fg.mean, z).item())
    assert no_panic(fg.all, z).item() is True
    assert no_panic(fg.any, z).item() is False
    assert no_panic(lambda: fg.flatten(z)).shape == (0,)
    assert no_panic(lambda: z.reshape(-1)).shape == (0,)
    assert no_panic(lambda: fg.flip(z)).shape == shape
    assert no_panic(lambda: fg.concat([z, z], axis=0)).shape == (2 * shape[0],) + shape[1:]
    assert no_panic(lambda: fg.stack([z, z])).shape == (2,) + shape
    assert no_panic(lambda: z.contiguous()).shape == shape
    assert no_panic(lambda: z.numpy()).shape == shape
    assert no_panic(lambda: z.tolist()) == ref.tolist()
    assert no_panic(lambda: fg.softmax(z, axis=-1)).shape == shape
    assert no_panic(lambda: z[...]).shape == shape
    assert no_panic(lambda: z[z > 0]).shape == (0,)
    assert no_panic(lambda: fg.astype(z, fg.int64)).dtype == np.int64
    assert no_panic(lambda: repr(z)) is not None
    for ax in range(len(shape)):
        expected = np.sum(ref, axis=ax)
        assert_close(no_panic(fg.sum, z, axis=ax), expected)
        if ref.shape[ax] == 0:
            raises_cleanly(fg.max, z, axis=ax, exc=(ValueError,))
            raises_cleanly(fg.argmax, z, axis=ax, exc=(ValueError,))
        else:
            assert no_panic(fg.max, z, axis=ax).shape == expected.shape


def test_zero_size_transposes_and_indexing():
    z = fg.zeros((0, 3))
    assert z.T.shape == (3, 0)
    assert z.T.contiguous().shape == (3, 0)
    assert z[:, 1].shape == (0,)
    assert z[fg.tensor([], dtype=fg.int64)].shape == (0, 3)
    raises_cleanly(z.__getitem__, 0, exc=(IndexError,))
    y = fg.zeros((3, 0))
    assert y[1].shape == (0,)
    assert (y @ fg.zeros((0, 2))).shape == (3, 2)


# ---------------------------------------------------------------------------
# NaN and inf
# ---------------------------------------------------------------------------


def test_nan_inf_propagation():
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], dtype=np.float32)
    t = fg.tensor(x)
    assert_close(fg.isnan(t), np.isnan(x))
    assert_close(fg.isinf(t), np.isinf(x))
    assert_close(fg.isfinite(t), np.isfinite(x))
    assert_close(fg.maximum(t, 0.5 * fg.ones(5)), np.maximum(x, np.float32(0.5)))
    assert_close(fg.minimum(t, 0.5 * fg.ones(5)), np.minimum(x, np.float32(0.5)))
    assert math.isnan(fg.sum(t).item())
    assert math.isnan(fg.max(t).item())
    assert math.isnan(fg.min(t).item())
    with np.errstate(all="ignore"):
        assert_close(t * 0.0, x * np.float32(0.0))
        assert_close(t + t, x + x)
        assert_close(t - t, x - x)
    s = fg.softmax(fg.tensor([0.0, np.nan]), axis=-1).numpy()
    assert np.isnan(s).all()


def test_division_by_zero_float():
    t = fg.tensor([1.0, -1.0, 0.0])
    out = (t / 0.0).numpy()
    assert out[0] == np.inf and out[1] == -np.inf and math.isnan(out[2])
    z = fg.tensor([0.0, 0.0, 0.0])
    out = (t / z).numpy()
    assert out[0] == np.inf and out[1] == -np.inf and math.isnan(out[2])


def test_int_division_by_zero_gives_numpys_zeros():
    # NumPy's integer result (0, with a warning there); Python raises, PyTorch raises
    # for floor division. Asserting the values means a panic or garbage fails the test.
    a, b = np.array([1, 2, -7]), np.array([0, 1, 0])
    with np.errstate(divide="ignore"):
        for op in (operator.floordiv, operator.mod):
            got = no_panic(op, fg.tensor(a), fg.tensor(b))
            assert got.numpy().tolist() == op(a, b).tolist()
