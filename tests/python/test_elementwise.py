"""Elementwise operators and functions, broadcasting, type promotion."""

import operator

import numpy as np
import pytest

import ferrograd as fg
from conftest import (
    LAYOUTS,
    assert_close,
    atol_for,
    fg_like_layout,
    make_pair,
    np_erf,
    np_gelu,
    np_sigmoid,
    raises_cleanly,
    rtol_for,
)

# name -> (numpy reference on float64 input, (low, high) input range, transcendental?)
UNARY = {
    "abs": (np.abs, (-3, 3), False),
    "exp": (np.exp, (-5, 5), True),
    "log": (np.log, (0.01, 10), True),
    "log1p": (np.log1p, (-0.9, 5), True),
    "expm1": (np.expm1, (-3, 3), True),
    "sqrt": (np.sqrt, (0, 10), True),
    "sin": (np.sin, (-6, 6), True),
    "cos": (np.cos, (-6, 6), True),
    "tanh": (np.tanh, (-4, 4), True),
    "sigmoid": (np_sigmoid, (-8, 8), True),
    "relu": (lambda x: np.maximum(x, 0.0), (-3, 3), False),
    "gelu": (np_gelu, (-5, 5), True),
    "erf": (np_erf, (-3, 3), True),
    "sign": (np.sign, (-3, 3), False),
    "floor": (np.floor, (-5, 5), False),
    "ceil": (np.ceil, (-5, 5), False),
    "round": (np.round, (-5, 5), False),
}

# Functions that PyTorch also offers as tensor methods.
METHODS = ["abs", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "erf", "sign", "floor", "ceil", "round"]


def _unary_ref(name, x):
    ref, _, trans = UNARY[name]
    with np.errstate(all="ignore"):
        if trans:
            return ref(x.astype(np.float64)).astype(x.dtype)
        return ref(x)


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_unary_functions(name, layout, float_dtype, rng):
    _, (lo, hi), trans = UNARY[name]
    x, t = make_pair(rng, layout, float_dtype, lo, hi)
    out = getattr(fg, name)(t)
    expected = _unary_ref(name, x)
    if trans:
        assert_close(out, expected, rtol=rtol_for(float_dtype, True), atol=atol_for(float_dtype))
    else:
        assert_close(out, expected, rtol=0.0)


@pytest.mark.parametrize("name", METHODS)
def test_unary_methods(name, float_dtype, rng):
    _, (lo, hi), trans = UNARY[name]
    x, t = make_pair(rng, "contiguous", float_dtype, lo, hi)
    out = getattr(t, name)()
    assert_close(out, _unary_ref(name, x), rtol=rtol_for(float_dtype, True), atol=atol_for(float_dtype, trans))


def test_unary_does_not_modify_input(rng):
    x, t = make_pair(rng, "contiguous", np.float32)
    fg.exp(t)
    t.abs()
    -t
    assert_close(t, x)


def test_round_half_to_even(float_dtype):
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.49999997, -0.51, 7.0], dtype=float_dtype)
    out = fg.round(fg.tensor(x))
    expected = np.array([0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 4.0, 0.0, -1.0, 7.0], dtype=float_dtype)
    assert_close(out, expected, rtol=0)
    assert_close(out, np.round(x), rtol=0)


def test_gelu_is_exact_erf_form(float_dtype):
    # The tanh approximation differs by ~1e-4 absolute at these points: -0.0455 vs -0.0454
    # at x=-2, -0.00405 vs -0.00364 at x=-3.
    x = np.array([-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0], dtype=float_dtype)
    out = fg.gelu(fg.tensor(x))
    assert_close(out, np_gelu(x).astype(float_dtype), rtol=1e-5 if float_dtype == np.float32 else 1e-12, atol=1e-7)
    hand = [-0.0040496935, -0.0455002639, -0.1586552539, -0.1542687694, 0.0, 0.3457312306, 0.8413447461, 1.9544997361, 2.9959503065]
    np.testing.assert_allclose(out.numpy().astype(np.float64), hand, rtol=1e-5, atol=1e-8)


def test_erf_hand_values():
    out = fg.erf(fg.tensor([0.0, 0.5, 1.0, -2.0, 10.0], dtype=fg.float64))
    np.testing.assert_allclose(out.numpy(), [0.0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 1.0], rtol=1e-12, atol=1e-15)


def test_expm1_log1p_precise_near_zero(float_dtype):
    x = np.array([1e-10, -1e-10, 1e-7, 3e-9], dtype=float_dtype)
    t = fg.tensor(x)
    np.testing.assert_allclose(fg.expm1(t).numpy().astype(np.float64), np.expm1(x.astype(np.float64)), rtol=1e-5)
    np.testing.assert_allclose(fg.log1p(t).numpy().astype(np.float64), np.log1p(x.astype(np.float64)), rtol=1e-5)


def test_sigmoid_saturates_without_nan(float_dtype):
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=float_dtype)
    s = fg.sigmoid(fg.tensor(x)).numpy()
    assert np.all(np.isfinite(s))
    assert np.all((s >= 0) & (s <= 1))
    assert s[2] == 0.5
    assert s[3] == 1.0 and s[4] == 1.0
    assert s[0] < 1e-30 and s[1] < 1e-30


def test_tanh_saturates(float_dtype):
    s = fg.tanh(fg.tensor(np.array([-50.0, 50.0, 1000.0], dtype=float_dtype))).numpy()
    np.testing.assert_array_equal(s, np.array([-1.0, 1.0, 1.0], dtype=float_dtype))


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    t = fg.tensor(x)
    with np.errstate(all="ignore"):
        assert_close(fg.exp(t), np.exp(x))
        assert_close(fg.abs(t), np.abs(x))
        assert_close(fg.sqrt(fg.tensor(np.array([0.0, np.inf, np.nan], np.float32))), np.array([0.0, np.inf, np.nan], np.float32))
        assert_close(fg.log(fg.tensor(np.array([0.0, 1.0, np.inf], np.float32))), np.array([-np.inf, 0.0, np.inf], np.float32))
        assert np.isnan(fg.log(fg.tensor([-1.0])).item())
        assert np.isnan(fg.sqrt(fg.tensor([-1.0])).item())


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "erf", "log1p", "expm1", "gelu"])
def test_float_functions_promote_int_to_float32(name):
    data = np.array([1, 2, 3, 4], dtype=np.int64)
    out = getattr(fg, name)(fg.tensor(data))
    assert out.dtype == np.float32
    assert_close(out, _unary_ref(name, data.astype(np.float32)), rtol=1e-4, atol=1e-6)


def test_abs_int_and_neg():
    x = np.array([-3, 0, 5, -7], dtype=np.int64)
    t = fg.tensor(x)
    assert_close(fg.abs(t), np.abs(x))
    assert_close(-t, -x)
    assert_close(t.abs(), np.abs(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_unary_minus(dtype, rng):
    x = rng.integers(-10, 10, size=(3, 4)).astype(dtype)
    t = fg.tensor(x)
    assert_close(-t, -x)
    assert_close(-(t.T), -(x.T))


def test_unary_minus_bool_raises():
    raises_cleanly(operator.neg, fg.tensor([True, False]), exc=(TypeError,))


# ---------------------------------------------------------------------------
# binary arithmetic
# ---------------------------------------------------------------------------

BINOPS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
}

SHAPE_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 1, 4), (3, 1)),
    ((1,), (2, 3)),
    ((0, 3), (1, 3)),
    ((5, 0), (0,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((), ()),
]


def _operands(rng, name, sa, sb, dtype):
    if name == "pow":
        a = rng.uniform(0.5, 2.0, size=sa)
        b = rng.uniform(-2.0, 2.0, size=sb)
    elif name == "truediv":
        a = rng.uniform(-4.0, 4.0, size=sa)
        b = rng.uniform(0.5, 3.0, size=sb) * rng.choice([-1.0, 1.0], size=sb)
    elif name in ("floordiv", "mod"):
        # Power-of-two divisors make a / b exact, so floor(a / b) cannot depend on how
        # an implementation rounds the quotient (floor(a / b) versus NumPy's fmod route).
        a = rng.uniform(-4.0, 4.0, size=sa)
        b = rng.choice([-2.0, -1.0, -0.5, -0.25, 0.5, 1.0, 2.0, 4.0], size=sb)
    else:
        a = rng.uniform(-4.0, 4.0, size=sa)
        b = rng.uniform(-4.0, 4.0, size=sb)
    return np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)


def _binary_ref(name, a, b):
    op = BINOPS[name]
    if name == "pow":
        return op(a.astype(np.float64), b.astype(np.float64)).astype(np.result_type(a, b))
    # + - * / are correctly rounded and // % follow the same floor rules; compute them
    # in the operands' own dtype.
    return op(a, b)


def _binary_tol(name, a, b, dtype):
    if name == "pow":
        return dict(rtol=rtol_for(dtype, True), atol=atol_for(dtype))
    if name == "mod":
        # a - floor(a / b) * b loses up to an ulp of |a|.
        return dict(rtol=rtol_for(dtype), atol=4 * np.finfo(dtype).eps * 4.0)
    return dict(rtol=rtol_for(dtype), atol=0.0)


@pytest.mark.parametrize("name", list(BINOPS))
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS, ids=[f"{a}-{b}" for a, b in SHAPE_PAIRS])
def test_binary_broadcasting(name, sa, sb, float_dtype, rng):
    a, b = _operands(rng, name, sa, sb, float_dtype)
    out = BINOPS[name](fg.tensor(a), fg.tensor(b))
    assert_close(out, _binary_ref(name, a, b), **_binary_tol(name, a, b, float_dtype))


@pytest.mark.parametrize("name", list(BINOPS))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_binary_layouts(name, layout, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype, 0.5, 2.0)
    _, b = _operands(rng, name, (), x.shape, float_dtype)
    # both operands are views: b is stored transposed (last two axes swapped)
    tb = fg_like_layout(b, "swapped")
    out = BINOPS[name](t, tb)
    assert_close(out, _binary_ref(name, x, b), **_binary_tol(name, x, b, float_dtype))
    out2 = BINOPS[name](t, t)
    assert_close(out2, _binary_ref(name, x, x), **_binary_tol(name, x, x, float_dtype))


def test_binary_strided_and_broadcast_view(rng):
    a = rng.standard_normal((8, 6)).astype(np.float32)
    b = rng.standard_normal((6,)).astype(np.float32)
    ta = fg.tensor(a)[::2, ::-1]
    tb = fg.broadcast_to(fg.tensor(b), (4, 6))
    assert_close(ta + tb, a[::2, ::-1] + b)
    assert_close(ta * tb.T.T, a[::2, ::-1] * b)


INT_OPS = ["add", "sub", "mul", "floordiv", "mod"]


@pytest.mark.parametrize("name", INT_OPS)
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS[:6], ids=[f"{a}-{b}" for a, b in SHAPE_PAIRS[:6]])
def test_int_binary(name, sa, sb, rng):
    a = np.asarray(rng.integers(-20, 21, size=sa))
    b = np.asarray(rng.integers(1, 8, size=sb) * rng.choice([-1, 1], size=sb))
    out = BINOPS[name](fg.tensor(a), fg.tensor(b))
    assert out.dtype == np.int64
    assert_close(out, BINOPS[name](a, b))


def test_int_pow(rng):
    a = rng.integers(-5, 6, size=(3, 4))
    b = rng.integers(0, 4, size=(3, 4))
    out = fg.tensor(a) ** fg.tensor(b)
    assert_close(out, a**b)
    assert_close(fg.tensor(a) ** 2, a**2)


def test_int_truediv_gives_float32(rng):
    a = rng.integers(-20, 21, size=(3, 4))
    b = rng.integers(1, 8, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    out = fg.tensor(a) / fg.tensor(b)
    assert out.dtype == np.float32
    assert_close(out, (a / b).astype(np.float32), rtol=1e-6)
    out = fg.tensor(a) / 4
    assert out.dtype == np.float32
    assert_close(out, (a / 4).astype(np.float32), rtol=1e-6)
    out = 1 / fg.tensor(b)
    assert out.dtype == np.float32
    assert_close(out, (1 / b).astype(np.float32), rtol=1e-6)


def test_floor_semantics_negative_ints():
    a = fg.tensor([-7, 7, -7, 7, 0, -1])
    b = fg.tensor([2, -2, -2, 2, 3, 5])
    assert (a // b).tolist() == [-4, -4, 3, 3, 0, -1]
    assert (a % b).tolist() == [1, -1, -1, 1, 0, 4]
    assert (a // 3).tolist() == [-3, 2, -3, 2, 0, -1]
    assert (a % 3).tolist() == [2, 1, 2, 1, 0, 2]
    assert (-7 // fg.tensor([2, -2])).tolist() == [-4, 3]
    assert (-7 % fg.tensor([2, -2])).tolist() == [1, -1]


def test_floor_semantics_negative_floats(float_dtype):
    a = fg.tensor(np.array([-7.5, 7.5, -7.5, 7.5, -0.5], dtype=float_dtype))
    b = fg.tensor(np.array([2.0, -2.0, -2.0, 2.0, 4.0], dtype=float_dtype))
    assert (a // b).tolist() == [-4.0, -4.0, 3.0, 3.0, -1.0]
    assert (a % b).tolist() == [0.5, -0.5, -1.5, 1.5, 3.5]
    assert (a % 2.0).tolist() == [0.5, 1.5, 0.5, 1.5, 1.5]
    assert (a // 2.0).tolist() == [-4.0, 3.0, -4.0, 3.0, -1.0]


@pytest.mark.parametrize("name", list(BINOPS))
@pytest.mark.parametrize("scalar", [2.0, 3, 0.5, -1.5])
def test_scalar_on_either_side(name, scalar, float_dtype, rng):
    x = rng.uniform(0.5, 2.0, size=(3, 4)).astype(float_dtype)
    if name in ("floordiv", "mod"):
        x = x * rng.choice([-1.0, 1.0], size=x.shape).astype(float_dtype)
    t = fg.tensor(x)
    op = BINOPS[name]
    if name == "pow" and scalar < 0:
        scalar = -scalar
    # NumPy >= 2 also treats Python scalars as weak, so these references keep float_dtype.
    with np.errstate(all="ignore"):
        right = op(x.astype(np.float64), scalar) if name == "pow" else op(x, scalar)
        left = op(scalar, x.astype(np.float64)) if name == "pow" else op(scalar, x)
    tol = _binary_tol(name, x, x, float_dtype)
    assert_close(op(t, scalar), np.asarray(right).astype(float_dtype), **tol)
    assert_close(op(scalar, t), np.asarray(left).astype(float_dtype), **tol)


def test_reflected_scalar_hand_values():
    t = fg.tensor([1.0, 2.0, 4.0])
    assert (2.0 - t).tolist() == [1.0, 0.0, -2.0]
    assert (1 / t).tolist() == [1.0, 0.5, 0.25]
    np.testing.assert_allclose((2**t).numpy(), [2.0, 4.0, 16.0], rtol=1e-6)
    np.testing.assert_allclose((t**2).numpy(), [1.0, 4.0, 16.0], rtol=1e-6)
    assert (10 // t).tolist() == [10.0, 5.0, 2.0]
    assert (5 % t).tolist() == [0.0, 1.0, 1.0]


def test_pow_special():
    t = fg.tensor([0.0, 1.0, 4.0, 9.0])
    assert_close(t**0.5, np.array([0.0, 1.0, 2.0, 3.0], np.float32))
    assert_close(t**0, np.ones(4, np.float32))
    assert_close(fg.tensor([-2.0, 3.0]) ** 2, np.array([4.0, 9.0], np.float32))
    assert_close(fg.tensor([-2.0]) ** 3, np.array([-8.0], np.float32))


def test_binary_does_not_modify_inputs(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4,)).astype(np.float32)
    ta, tb = fg.tensor(a), fg.tensor(b)
    _ = ta + tb
    _ = ta * tb
    _ = ta / tb
    assert_close(ta, a)
    assert_close(tb, b)


def test_mixing_with_numpy_array(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    t = fg.tensor(a)
    for op in (operator.add, operator.sub, operator.mul, operator.truediv):
        out = op(t, b)
        assert type(out) is type(t)
        assert_close(out, op(a, b))
    out = t + b[0]
    assert type(out) is type(t)
    assert_close(out, a + b[0])
    out = t > b
    assert type(out) is type(t)
    assert_close(out, a > b)


def test_shape_mismatch_message():
    a = fg.zeros((2, 3))
    b = fg.zeros((4,))
    e = raises_cleanly(operator.add, a, b, exc=(ValueError,))
    msg = str(e)
    assert "(2, 3)" in msg and "(4,)" in msg
    for op in (operator.sub, operator.mul, operator.truediv, operator.lt, operator.eq):
        raises_cleanly(op, a, b, exc=(ValueError,))
    raises_cleanly(fg.maximum, a, b, exc=(ValueError,))
    raises_cleanly(fg.where, fg.zeros((3,), dtype=fg.bool), a, b, exc=(ValueError,))


# ---------------------------------------------------------------------------
# type promotion
# ---------------------------------------------------------------------------

TENSOR_PROMOTION = [
    (np.float32, np.float64, np.float64),
    (np.float64, np.float32, np.float64),
    (np.int64, np.float32, np.float32),
    (np.float32, np.int64, np.float32),
    (np.int64, np.float64, np.float64),
    (np.bool_, np.int64, np.int64),
    (np.bool_, np.float32, np.float32),
    (np.int64, np.bool_, np.int64),
    (np.float64, np.bool_, np.float64),
]


# Subtraction with a bool operand is excluded: NumPy allows it, PyTorch refuses it.
PROMOTION_CASES = [
    (da, db, dr, name)
    for (da, db, dr) in TENSOR_PROMOTION
    for name in ("add", "sub", "mul")
    if not (name == "sub" and np.bool_ in (da, db))
]


@pytest.mark.parametrize("da,db,dr,name", PROMOTION_CASES)
def test_tensor_tensor_promotion(da, db, dr, name):
    a = np.array([[1, 0, 3], [2, 1, 0]]).astype(da)
    b = np.array([2, 1, 1]).astype(db)
    out = BINOPS[name](fg.tensor(a), fg.tensor(b))
    assert out.dtype == dr
    assert_close(out, BINOPS[name](a.astype(np.float64), b.astype(np.float64)).astype(dr))


@pytest.mark.parametrize(
    "dtype,scalar,expected",
    [
        (np.float32, 2.0, np.float32),
        (np.float32, 2, np.float32),
        (np.float64, 1, np.float64),
        (np.float64, 2.5, np.float64),
        (np.int64, 1, np.int64),
        (np.int64, 2.5, np.float32),
        (np.bool_, 1, np.int64),
        (np.bool_, 1.5, np.float32),
        (np.int64, True, np.int64),
        (np.float32, True, np.float32),
    ],
)
def test_weak_scalar_promotion(dtype, scalar, expected):
    x = np.array([1, 0, 2]).astype(dtype)
    t = fg.tensor(x)
    ref = x.astype(np.float64) * float(scalar)
    for out in (t * scalar, scalar * t):
        assert out.dtype == expected
        assert_close(out, ref.astype(expected))
    ref = x.astype(np.float64) + float(scalar)
    for out in (t + scalar, scalar + t):
        assert out.dtype == expected
        assert_close(out, ref.astype(expected))


def test_truediv_promotion():
    assert (fg.tensor([1, 2]) / fg.tensor([2, 4])).dtype == np.float32
    assert (fg.tensor([1, 2]) / fg.tensor([2.0, 4.0], dtype=fg.float64)).dtype == np.float64
    assert (fg.tensor([1.0], dtype=fg.float64) / 2).dtype == np.float64
    assert (fg.tensor([True, False]) / 2).dtype == np.float32
    assert (fg.tensor([1, 2]) // 2.5).dtype == np.float32
    assert (fg.tensor([1, 2]) ** 2.0).dtype == np.float32


# ---------------------------------------------------------------------------
# comparisons and logical functions
# ---------------------------------------------------------------------------

CMPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


@pytest.mark.parametrize("name", list(CMPS))
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS, ids=[f"{a}-{b}" for a, b in SHAPE_PAIRS])
def test_comparisons(name, sa, sb, rng):
    a = np.asarray(rng.integers(-2, 3, size=sa)).astype(np.float32)
    b = np.asarray(rng.integers(-2, 3, size=sb)).astype(np.float64)
    out = CMPS[name](fg.tensor(a), fg.tensor(b))
    assert out.dtype == np.bool_
    assert_close(out, CMPS[name](a, b))


@pytest.mark.parametrize("name", list(CMPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_comparisons_with_scalars(name, dtype, rng):
    x = rng.integers(-3, 4, size=(4, 5)).astype(dtype)
    t = fg.tensor(x)
    op = CMPS[name]
    for s in (1, 0.5, -2):
        assert_close(op(t, s), op(x, s))
        assert_close(op(s, t), op(s, x))


def test_comparisons_with_nan():
    x = np.array([np.nan, 1.0, np.inf], np.float32)
    t = fg.tensor(x)
    with np.errstate(all="ignore"):
        assert_close(t == t, x == x)
        assert_close(t != t, x != x)
        assert_close(t < 2.0, x < 2.0)
        assert_close(t >= 1.0, x >= 1.0)


def test_comparison_on_views(rng):
    a = rng.standard_normal((6, 4)).astype(np.float32)
    t = fg.tensor(a)
    assert_close(t.T > 0, a.T > 0)
    assert_close(t[::2] <= t[1::2], a[::2] <= a[1::2])


LOGICAL = {
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
}


@pytest.mark.parametrize("name", list(LOGICAL))
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS[:8], ids=[f"{a}-{b}" for a, b in SHAPE_PAIRS[:8]])
def test_logical_binary(name, sa, sb, rng):
    a = np.asarray(rng.random(sa) > 0.5)
    b = np.asarray(rng.random(sb) > 0.5)
    out = getattr(fg, name)(fg.tensor(a), fg.tensor(b))
    assert out.dtype == np.bool_
    assert_close(out, LOGICAL[name](a, b))


def test_logical_not(rng):
    a = rng.random((3, 4)) > 0.5
    out = fg.logical_not(fg.tensor(a))
    assert_close(out, np.logical_not(a))
    assert_close(fg.logical_not(fg.tensor(a).T), np.logical_not(a.T))


def test_logical_truth_table():
    a = fg.tensor([True, True, False, False])
    b = fg.tensor([True, False, True, False])
    assert fg.logical_and(a, b).tolist() == [True, False, False, False]
    assert fg.logical_or(a, b).tolist() == [True, True, True, False]
    assert fg.logical_xor(a, b).tolist() == [False, True, True, False]
    assert fg.logical_not(a).tolist() == [False, False, True, True]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_isnan_isinf_isfinite(dtype):
    x = np.array([[0.0, np.nan, np.inf], [-np.inf, -1.5, 1e30]], dtype=dtype)
    t = fg.tensor(x)
    assert_close(fg.isnan(t), np.isnan(x))
    assert_close(fg.isinf(t), np.isinf(x))
    assert_close(fg.isfinite(t), np.isfinite(x))
    assert_close(fg.isnan(t.T), np.isnan(x.T))


def test_isnan_family_on_ints():
    t = fg.tensor([1, -2, 3])
    assert_close(fg.isnan(t), np.zeros(3, bool))
    assert_close(fg.isinf(t), np.zeros(3, bool))
    assert_close(fg.isfinite(t), np.ones(3, bool))


# ---------------------------------------------------------------------------
# maximum / minimum / clip / where
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS, ids=[f"{a}-{b}" for a, b in SHAPE_PAIRS])
def test_maximum_minimum(name, sa, sb, float_dtype, rng):
    a = np.asarray(rng.standard_normal(sa)).astype(float_dtype)
    b = np.asarray(rng.standard_normal(sb)).astype(float_dtype)
    out = getattr(fg, name)(fg.tensor(a), fg.tensor(b))
    assert_close(out, getattr(np, name)(a, b), rtol=0)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_nan_propagates(name):
    a = np.array([np.nan, 1.0, 2.0, np.nan], np.float32)
    b = np.array([0.0, np.nan, 1.0, np.nan], np.float32)
    out = getattr(fg, name)(fg.tensor(a), fg.tensor(b))
    assert_close(out, getattr(np, name)(a, b))
    assert np.isnan(out.numpy()[:2]).all()
    assert np.isnan(out.numpy()[3])


def test_maximum_minimum_int_and_mixed():
    a = np.array([1, 5, -3])
    b = np.array([2, 4, -4])
    assert_close(fg.maximum(fg.tensor(a), fg.tensor(b)), np.maximum(a, b))
    assert_close(fg.minimum(fg.tensor(a), fg.tensor(b)), np.minimum(a, b))
    out = fg.maximum(fg.tensor(a), fg.tensor(b.astype(np.float32)))
    assert out.dtype == np.float32
    assert_close(out, np.maximum(a, b).astype(np.float32))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_clip(layout, float_dtype, rng):
    x, t = make_pair(rng, layout, float_dtype)
    assert_close(fg.clip(t, -1.0, 1.0), np.clip(x, -1.0, 1.0), rtol=0)
    assert_close(fg.clip(t, min=0.5), np.maximum(x, float_dtype(0.5)), rtol=0)
    assert_close(fg.clip(t, max=0.0), np.minimum(x, float_dtype(0.0)), rtol=0)
    assert_close(fg.clip(t, min=-0.5, max=0.5), np.clip(x, -0.5, 0.5), rtol=0)
    assert_close(t.clip(-1.0, 1.0), np.clip(x, -1.0, 1.0), rtol=0)
    assert_close(fg.clip(t), x, rtol=0)


def test_clip_int():
    x = np.arange(-5, 6)
    out = fg.clip(fg.tensor(x), -2, 3)
    assert out.dtype == np.int64
    assert_close(out, np.clip(x, -2, 3))


WHERE_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4)), ((4,), (3, 4), ()), ((2, 1, 4), (3, 1), (4,)), ((0, 4), (4,), (1, 4))]


@pytest.mark.parametrize("sc,sa,sb", WHERE_SHAPES)
def test_where(sc, sa, sb, float_dtype, rng):
    c = np.asarray(rng.random(sc) > 0.5)
    a = np.asarray(rng.standard_normal(sa)).astype(float_dtype)
    b = np.asarray(rng.standard_normal(sb)).astype(float_dtype)
    out = fg.where(fg.tensor(c), fg.tensor(a), fg.tensor(b))
    assert_close(out, np.where(c, a, b), rtol=0)


def test_where_with_scalar_and_views(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    t = fg.tensor(x)
    out = fg.where(t > 0, t, 0.0)
    assert out.dtype == np.float32
    assert_close(out, np.where(x > 0, x, np.float32(0.0)))
    out = fg.where(t.T > 0, t.T, t[::-1].T)
    assert_close(out, np.where(x.T > 0, x.T, x[::-1].T))


def test_where_promotes():
    c = fg.tensor([True, False])
    out = fg.where(c, fg.tensor([1, 2]), fg.tensor([0.5, 1.5]))
    assert out.dtype == np.float32
    assert out.tolist() == [1.0, 1.5]
