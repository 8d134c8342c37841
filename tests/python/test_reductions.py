"""Reductions (sum, mean, var, std, max, min, argmax, argmin, prod, logsumexp, all, any)
and softmax / log_softmax."""

import math
import warnings

import numpy as np
import pytest

import ferrograd as fg
from conftest import LAYOUTS, assert_close, make_pair, raises_cleanly

AXES = [None, 0, 1, -1, (0, 1), (-1, 0)]
FLOAT_REDUCTIONS = ["sum", "mean", "var", "std", "max", "min", "prod", "logsumexp"]


def _np_logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out


def np_reduce(name, x, axis=None, keepdims=False, correction=0):
    """float64 reference, cast back to x's float dtype."""
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if name == "logsumexp":
            out = _np_logsumexp(x64, axis, keepdims)
        elif name in ("var", "std"):
            out = getattr(np, name)(x64, axis=axis, keepdims=keepdims, ddof=correction)
        else:
            out = getattr(np, name)(x64, axis=axis, keepdims=keepdims)
    return np.asarray(out).astype(x.dtype)


def _reduced_size(shape, axis):
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[a] for a in axes)


def _tolerance(name, x, dtype):
    f32 = np.dtype(dtype) == np.float32
    if name in ("max", "min"):
        return dict(rtol=0.0, atol=0.0)
    if name in ("sum", "mean"):
        # summation order is free: allow a few ulps of sum(|x|)
        scale = float(np.sum(np.abs(x.astype(np.float64)))) if x.size else 0.0
        return dict(rtol=1e-5 if f32 else 1e-12, atol=(1e-6 if f32 else 1e-14) * scale)
    if name == "prod":
        return dict(rtol=2e-5 if f32 else 1e-12, atol=0.0)
    # var, std, logsumexp
    return dict(rtol=1e-4 if f32 else 1e-12, atol=1e-6 if f32 else 1e-13)


def _gen_for(name):
    if name == "prod":
        # magnitudes near 1 so products of ~30 numbers stay well inside the range
        return lambda rng, shape: rng.uniform(0.7, 1.3, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return None


def _cases():
    for name in FLOAT_REDUCTIONS:
        for layout in LAYOUTS:
            for axis in AXES:
                if layout == "zero_size" and name in ("var", "std", "logsumexp") and axis in (None, 0, (0, 1), (-1, 0)):
                    continue  # value over an empty axis is not specified
                yield name, layout, axis


@pytest.mark.parametrize("name,layout,axis", list(_cases()))
@pytest.mark.parametrize("keepdims", [False, True])
def test_float_reductions(name, layout, axis, keepdims, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype, gen=_gen_for(name))
    empty = _reduced_size(x.shape, axis) == 0
    if empty and name in ("max", "min"):
        raises_cleanly(getattr(fg, name), t, axis=axis, keepdims=keepdims, exc=(ValueError,))
        return
    out = getattr(fg, name)(t, axis=axis, keepdims=keepdims)
    expected = np_reduce(name, x, axis, keepdims)
    assert_close(out, expected, **_tolerance(name, x, float_dtype))


@pytest.mark.parametrize("name", FLOAT_REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 1])
def test_reduction_methods(name, axis, float_dtype, rng):
    x, t = make_pair(rng, "transposed", float_dtype, gen=_gen_for(name))
    out = getattr(t, name)(axis=axis)
    assert_close(out, np_reduce(name, x, axis), **_tolerance(name, x, float_dtype))
    out = getattr(t, name)(axis=axis, keepdims=True)
    assert_close(out, np_reduce(name, x, axis, keepdims=True), **_tolerance(name, x, float_dtype))


def test_positional_axis(rng):
    x, t = make_pair(rng, "contiguous", np.float64)
    assert_close(fg.sum(t, 1), x.sum(1))
    assert_close(t.sum(0), x.sum(0))
    assert_close(t.mean(-1), x.mean(-1))
    assert_close(fg.max(t, 0), x.max(0))


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("correction", [0, 1])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided_cols"])
def test_var_std_correction(name, correction, axis, layout, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype)
    out = getattr(fg, name)(t, axis=axis, correction=correction)
    assert_close(out, np_reduce(name, x, axis, correction=correction), **_tolerance(name, x, float_dtype))
    out = getattr(t, name)(axis=axis, correction=correction)
    assert_close(out, np_reduce(name, x, axis, correction=correction), **_tolerance(name, x, float_dtype))


def test_var_default_is_population():
    t = fg.tensor([1.0, 2.0, 3.0, 4.0], dtype=fg.float64)
    assert fg.var(t).item() == pytest.approx(1.25, rel=1e-14)
    assert fg.var(t, correction=1).item() == pytest.approx(5.0 / 3.0, rel=1e-14)
    assert fg.std(t).item() == pytest.approx(math.sqrt(1.25), rel=1e-14)
    assert t.std(correction=1).item() == pytest.approx(math.sqrt(5.0 / 3.0), rel=1e-14)


def test_var_large_offset_is_accurate():
    # a naive E[x^2] - E[x]^2 loses everything here in float32
    x = (1e4 + np.array([1.0, 2.0, 3.0, 4.0] * 250)).astype(np.float32)
    out = fg.var(fg.tensor(x)).item()
    assert out == pytest.approx(1.25, rel=1e-2)


def test_dim_keepdim_aliases(rng):
    x, t = make_pair(rng, "contiguous", np.float64)
    assert_close(t.sum(dim=1, keepdim=True), x.sum(axis=1, keepdims=True))
    assert_close(t.sum(dim=0), x.sum(axis=0))
    assert_close(fg.mean(t, dim=0, keepdim=True), x.mean(axis=0, keepdims=True))
    assert_close(fg.sum(t, dim=(0, 1)), x.sum())
    assert_close(t.std(dim=1, correction=1), x.std(axis=1, ddof=1))
    assert_close(fg.var(t, dim=-1, keepdim=True), x.var(axis=-1, keepdims=True))
    assert_close(fg.logsumexp(t, dim=1), np_reduce("logsumexp", x, 1), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------
# argmax / argmin
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(name, layout, axis, keepdims, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype)
    if _reduced_size(x.shape, axis) == 0:
        raises_cleanly(getattr(fg, name), t, axis=axis, keepdims=keepdims, exc=(ValueError,))
        return
    out = getattr(fg, name)(t, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(x, axis=axis, keepdims=keepdims).astype(np.int64)
    assert out.dtype == np.int64
    assert_close(out, expected)
    out = getattr(t, name)(axis=axis)
    assert_close(out, getattr(np, name)(x, axis=axis).astype(np.int64))


def test_argmax_first_occurrence():
    t = fg.tensor([1.0, 3.0, 3.0, 2.0, 3.0])
    assert fg.argmax(t).item() == 1
    assert fg.argmin(fg.tensor([2, 0, 5, 0])).item() == 1
    m = fg.tensor([[1, 5, 5], [7, 7, 0]])
    assert fg.argmax(m, axis=1).tolist() == [1, 0]
    assert fg.argmax(m).item() == 3
    assert fg.argmin(m, axis=0).tolist() == [0, 0, 1]


def test_argmax_flattened_of_view():
    a = np.array([[0.0, 9.0, 1.0], [8.0, 2.0, 10.0]])
    t = fg.tensor(a).T
    assert fg.argmax(t).item() == np.argmax(a.T) == 5
    assert t.argmin().item() == 0


# ---------------------------------------------------------------------------
# integer and bool inputs
# ---------------------------------------------------------------------------


def test_int_reductions(rng):
    x = rng.integers(-10, 10, size=(4, 5))
    t = fg.tensor(x)
    assert_close(fg.sum(t), np.sum(x))
    assert_close(fg.sum(t, axis=0), np.sum(x, axis=0))
    assert_close(fg.max(t, axis=1), np.max(x, axis=1))
    assert_close(fg.min(t), np.min(x))
    small = rng.integers(-3, 4, size=(3, 4))
    assert_close(fg.prod(fg.tensor(small), axis=1), np.prod(small, axis=1))
    m = fg.mean(t)
    assert m.dtype == np.float32
    assert_close(m, np.float32(x.mean()), rtol=1e-6)
    m = fg.mean(t, axis=0)
    assert_close(m, x.mean(axis=0).astype(np.float32), rtol=1e-6)
    assert_close(fg.argmax(t, axis=0), np.argmax(x, axis=0))


def test_int_sum_exact_large():
    x = np.array([2**53, 1, 1, 1], dtype=np.int64)
    assert fg.sum(fg.tensor(x)).item() == 2**53 + 3


def test_sum_of_bool_counts(rng):
    b = rng.random((6, 7)) > 0.3
    t = fg.tensor(b)
    s = fg.sum(t)
    assert s.dtype == np.int64
    assert s.item() == int(b.sum())
    assert_close(fg.sum(t, axis=0), b.sum(axis=0).astype(np.int64))
    assert_close(t.sum(axis=1), b.sum(axis=1).astype(np.int64))


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_all_any(name, layout, axis, keepdims, rng):
    x, t = make_pair(rng, layout, np.float64, 0.0, 1.0)
    thr = 0.2 if name == "all" else 0.8  # make both outcomes occur
    xb, tb = x > thr, t > thr
    out = getattr(fg, name)(tb, axis=axis, keepdims=keepdims)
    assert out.dtype == np.bool_
    assert_close(out, getattr(np, name)(xb, axis=axis, keepdims=keepdims))
    assert_close(getattr(tb, name)(axis=axis), getattr(np, name)(xb, axis=axis))


def test_all_any_hand_values():
    assert fg.all(fg.tensor([True, True])).item() is True
    assert fg.all(fg.tensor([True, False])).item() is False
    assert fg.any(fg.tensor([False, False])).item() is False
    assert fg.any(fg.tensor([False, True])).item() is True
    assert fg.all(fg.zeros((0,), dtype=fg.bool)).item() is True
    assert fg.any(fg.zeros((0,), dtype=fg.bool)).item() is False
    assert fg.all(fg.tensor([1.0, 0.0])).item() is False
    assert fg.any(fg.tensor([0.0, -2.0])).item() is True
    assert fg.any(fg.tensor([0, 0])).item() is False


# ---------------------------------------------------------------------------
# zero-size, NaN, errors
# ---------------------------------------------------------------------------


def test_zero_size_values():
    e = fg.zeros((0, 3))
    assert fg.sum(e).item() == 0.0
    assert fg.prod(e).item() == 1.0
    assert math.isnan(fg.mean(e).item())
    assert_close(fg.sum(e, axis=0), np.zeros(3, np.float32))
    assert_close(fg.prod(e, axis=0), np.ones(3, np.float32))
    assert_close(fg.sum(e, axis=1), np.zeros(0, np.float32))
    assert_close(fg.max(e, axis=1), np.zeros(0, np.float32))
    ei = fg.zeros((0,), dtype=fg.int64)
    assert fg.sum(ei).item() == 0
    assert fg.prod(ei).item() == 1
    assert fg.sum(fg.zeros((0,), dtype=fg.bool)).item() == 0


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_empty_axis_raises(name):
    e = fg.zeros((0, 3))
    raises_cleanly(getattr(fg, name), e, exc=(ValueError,))
    raises_cleanly(getattr(fg, name), e, axis=0, exc=(ValueError,))
    raises_cleanly(getattr(fg, name), fg.zeros((0,)), exc=(ValueError,))


def test_nan_propagates():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]], np.float32)
    t = fg.tensor(x)
    assert math.isnan(fg.sum(t).item())
    assert math.isnan(fg.max(t).item())
    assert math.isnan(fg.min(t).item())
    assert math.isnan(fg.mean(t).item())
    assert_close(fg.sum(t, axis=1), np.sum(x, axis=1))
    assert_close(fg.max(t, axis=0), np.max(x, axis=0))
    assert_close(fg.min(t, axis=1), np.min(x, axis=1))
    assert_close(fg.max(t, axis=1), np.max(x, axis=1))
    # NaN at the end too (not only the first element seen)
    y = fg.tensor([1.0, 2.0, np.nan])
    assert math.isnan(fg.max(y).item()) and math.isnan(fg.min(y).item())
    z = fg.tensor([np.nan, 2.0, 1.0])
    assert math.isnan(fg.max(z).item()) and math.isnan(fg.min(z).item())


def test_inf_handling():
    t = fg.tensor([1.0, np.inf, -2.0])
    assert fg.max(t).item() == np.inf
    assert fg.sum(t).item() == np.inf
    assert math.isnan(fg.sum(fg.tensor([np.inf, -np.inf])).item())
    assert fg.logsumexp(fg.tensor([-np.inf, 0.0])).item() == pytest.approx(0.0, abs=1e-7)


def test_axis_error_type():
    assert issubclass(fg.AxisError, ValueError)
    assert issubclass(fg.AxisError, IndexError)


@pytest.mark.parametrize("name", FLOAT_REDUCTIONS + ["argmax", "argmin", "all", "any"])
@pytest.mark.parametrize("axis", [2, -3, 5])
def test_axis_out_of_range(name, axis):
    t = fg.ones((2, 3))
    e = raises_cleanly(getattr(fg, name), t, axis=axis, exc=(fg.AxisError,))
    assert isinstance(e, ValueError) and isinstance(e, IndexError)
    raises_cleanly(getattr(t, name), axis=axis, exc=(fg.AxisError,))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "prod"])
def test_tuple_axis_out_of_range(name):
    raises_cleanly(getattr(fg, name), fg.ones((2, 3)), axis=(0, 2), exc=(fg.AxisError,))


def test_axis_on_0d():
    s = fg.tensor(3.0)
    assert fg.sum(s).item() == 3.0
    assert fg.max(s).item() == 3.0
    raises_cleanly(fg.sum, s, axis=0, exc=(fg.AxisError,))


def test_float32_sums_do_not_drift_with_length():
    # Naive float32 accumulation stops at 2^24 (adding 1 no longer changes the sum);
    # ferrograd sums float32 in lanes per block and blocks in float64.
    n = (1 << 24) + 6  # representable in float32 (the result's dtype)
    assert fg.ones(n).sum().item() == n
    assert fg.ones(n).mean().item() == 1.0
    rng = np.random.default_rng(8)
    x = rng.random(3_000_017).astype(np.float32)
    ref = x.astype(np.float64).sum()
    assert abs(fg.tensor(x).sum().item() - ref) / ref < 1e-6
    rows = rng.standard_normal((3, 200_003)).astype(np.float32) + 1.0
    np.testing.assert_allclose(fg.tensor(rows).sum(axis=1).numpy(), rows.astype(np.float64).sum(axis=1), rtol=1e-6)


def test_large_sum():
    # a size that is not a multiple of any block size, to catch lost tails
    rng = np.random.default_rng(5)
    x = rng.random((1 << 20) + 12345).astype(np.float32)
    t = fg.tensor(x)
    ref = x.astype(np.float64).sum()
    assert abs(fg.sum(t).item() - ref) / ref < 1e-3
    assert abs(fg.mean(t).item() - ref / x.size) / (ref / x.size) < 1e-3
    assert fg.max(t).item() == x.max()
    assert fg.argmax(t).item() == int(np.argmax(x))
    m = x[: 5 * 200_000].reshape(200_000, 5)
    tm = fg.tensor(m)
    np.testing.assert_allclose(fg.sum(tm, axis=0).numpy(), m.astype(np.float64).sum(axis=0), rtol=1e-3)
    np.testing.assert_allclose(fg.sum(tm, axis=1).numpy(), m.astype(np.float64).sum(axis=1), rtol=1e-5)


# ---------------------------------------------------------------------------
# softmax / log_softmax
# ---------------------------------------------------------------------------


def np_softmax(x, axis):
    x64 = x.astype(np.float64)
    if x64.size == 0:
        return x64
    e = np.exp(x64 - np.max(x64, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    x64 = x.astype(np.float64)
    if x64.size == 0:
        return x64
    m = np.max(x64, axis=axis, keepdims=True)
    return x64 - m - np.log(np.sum(np.exp(x64 - m), axis=axis, keepdims=True))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax(layout, axis, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype, -5.0, 5.0)
    f32 = float_dtype == np.float32
    out = fg.softmax(t, axis=axis)
    assert_close(out, np_softmax(x, axis).astype(float_dtype), rtol=1e-4 if f32 else 1e-12, atol=1e-7 if f32 else 1e-15)
    out = fg.log_softmax(t, axis=axis)
    assert_close(out, np_log_softmax(x, axis).astype(float_dtype), rtol=1e-4 if f32 else 1e-12, atol=1e-5 if f32 else 1e-13)


def test_softmax_default_axis_and_dim_alias(rng):
    x, t = make_pair(rng, "contiguous", np.float64)
    assert_close(fg.softmax(t), np_softmax(x, -1))
    assert_close(fg.softmax(t, dim=0), np_softmax(x, 0))
    assert_close(fg.log_softmax(t), np_log_softmax(x, -1), atol=1e-13)
    assert_close(fg.log_softmax(t, dim=0), np_log_softmax(x, 0), atol=1e-13)
    sums = fg.sum(fg.softmax(t, axis=1), axis=1).numpy()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_stable(dtype):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1.0, -1e4]], dtype=dtype)
    t = fg.tensor(x)
    s = fg.softmax(t, axis=-1).numpy()
    ls = fg.log_softmax(t, axis=-1).numpy()
    assert np.all(np.isfinite(s))
    assert np.all(np.isfinite(ls))
    np.testing.assert_allclose(s, np_softmax(x, -1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ls, np_log_softmax(x, -1), rtol=1e-5, atol=1e-5)
    assert s[0].tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(ls[1], -math.log(3.0), rtol=1e-6)
    np.testing.assert_allclose(ls[0], [0.0, -1e4, -2e4], rtol=1e-6)
    lse = fg.logsumexp(t, axis=1).numpy()
    np.testing.assert_allclose(lse, [1e4, 1e4 + math.log(3.0), -1e4 + 1.0 + math.log(1.0 + 2.0 / math.e)], rtol=1e-6)


def test_softmax_zero_size():
    out = fg.softmax(fg.zeros((0, 4)), axis=-1)
    assert out.shape == (0, 4)
    out = fg.softmax(fg.zeros((3, 0)), axis=-1)
    assert out.shape == (3, 0)
    out = fg.log_softmax(fg.zeros((0, 4)), axis=0)
    assert out.shape == (0, 4)


def test_softmax_bad_axis():
    raises_cleanly(fg.softmax, fg.ones((2, 3)), axis=2, exc=(ValueError, IndexError))
    raises_cleanly(fg.log_softmax, fg.ones((2, 3)), axis=-3, exc=(ValueError, IndexError))
