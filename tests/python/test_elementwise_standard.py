"""The Array API's elementwise functions added with the full standard: the inverse
trigonometric and hyperbolic functions, log2/log10, trunc, signbit, the bitwise family,
atan2, hypot, copysign, logaddexp, nextafter, real/imag/conj, positive, square and
reciprocal, and the functional comparison names. Values against NumPy (float32 and
float64, special values included), gradients against finite differences (float64),
and wgpu against the CPU."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.autograd import gradcheck

UNARY = {
    # name: (NumPy function, domain sampler)
    "tan": (np.tan, lambda r, n: r.uniform(-1.4, 1.4, n)),
    "asin": (np.arcsin, lambda r, n: r.uniform(-0.99, 0.99, n)),
    "acos": (np.arccos, lambda r, n: r.uniform(-0.99, 0.99, n)),
    "atan": (np.arctan, lambda r, n: r.standard_normal(n) * 5),
    "sinh": (np.sinh, lambda r, n: r.standard_normal(n) * 3),
    "cosh": (np.cosh, lambda r, n: r.standard_normal(n) * 3),
    "asinh": (np.arcsinh, lambda r, n: r.standard_normal(n) * 5),
    "acosh": (np.arccosh, lambda r, n: 1.01 + np.abs(r.standard_normal(n)) * 5),
    "atanh": (np.arctanh, lambda r, n: r.uniform(-0.99, 0.99, n)),
    "log2": (np.log2, lambda r, n: np.abs(r.standard_normal(n)) * 10 + 1e-3),
    "log10": (np.log10, lambda r, n: np.abs(r.standard_normal(n)) * 10 + 1e-3),
    "trunc": (np.trunc, lambda r, n: r.standard_normal(n) * 10),
}
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, -2.0, 0.5, 1e-30, 1e30])

BINARY = {
    "atan2": np.arctan2,
    "hypot": np.hypot,
    "copysign": np.copysign,
    "logaddexp": np.logaddexp,
    "nextafter": np.nextafter,
}


def _np(t):
    return np.asarray(t.to("cpu"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_numpy(name, dtype):
    f, sample = UNARY[name]
    x = sample(np.random.default_rng(0), 200).astype(dtype)
    got = getattr(fg, name)(fg.asarray(x))
    assert got.dtype == x.dtype
    # float32 is computed in float64 and rounded once; NumPy's own float32 loops are a
    # few ulps off, hence the float32 tolerance
    rtol = 1e-5 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(_np(got), f(x), rtol=rtol, atol=1e-7 if dtype == "float32" else 0)
    with np.errstate(all="ignore"):
        want = f(SPECIAL.astype(dtype))
    got = _np(getattr(fg, name)(fg.asarray(SPECIAL.astype(dtype))))
    np.testing.assert_allclose(got, want, rtol=rtol, equal_nan=True)
    keep = ~np.isnan(want)  # signed zeros must match (a NaN's sign means nothing)
    np.testing.assert_array_equal(np.signbit(got[keep]), np.signbit(want[keep]))


def test_integer_inputs_promote_to_float32():
    assert fg.acos(fg.asarray([0, 1])).dtype == fg.float32
    assert fg.trunc(fg.asarray([3], dtype=fg.int16)).dtype == fg.int16  # rounding keeps ints


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_numpy(name, dtype):
    r = np.random.default_rng(1)
    a = (r.standard_normal(100) * 3).astype(dtype)
    b = (r.standard_normal(100) * 3).astype(dtype)
    a[:len(SPECIAL)] = SPECIAL
    b[:len(SPECIAL)] = SPECIAL[::-1]
    got = getattr(fg, name)(fg.asarray(a), fg.asarray(b))
    with np.errstate(all="ignore"):
        want = BINARY[name](a, b)
    assert got.dtype == want.dtype
    rtol = 1e-5 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(_np(got), want, rtol=rtol, equal_nan=True)
    keep = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(_np(got)[keep]), np.signbit(want[keep]))


def test_signbit_reads_the_bit():
    x = np.array([0.0, -0.0, -np.nan, np.nan, -1.0, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(_np(fg.signbit(fg.asarray(x))), np.signbit(x))
    assert fg.signbit(fg.asarray([-3, 0, 2])).tolist() == [True, False, False]


def test_functional_comparisons_and_bitwise_names():
    a, b = fg.asarray([1, 5, 3]), fg.asarray([2, 5, 1])
    assert fg.equal(a, b).tolist() == [False, True, False]
    assert fg.not_equal(a, b).tolist() == [True, False, True]
    assert fg.less(a, b).tolist() == [True, False, False]
    assert fg.less_equal(a, b).tolist() == [True, True, False]
    assert fg.greater(a, b).tolist() == [False, False, True]
    assert fg.greater_equal(a, 3).tolist() == [False, True, True]
    assert fg.bitwise_and(a, b).tolist() == [0, 5, 1]
    assert fg.bitwise_or(a, b).tolist() == [3, 5, 3]
    assert fg.bitwise_xor(a, b).tolist() == [3, 0, 2]
    assert fg.bitwise_left_shift(a, 2).tolist() == [4, 20, 12]
    assert fg.bitwise_right_shift(fg.asarray([-8, 8]), 1).tolist() == [-4, 4]
    assert fg.bitwise_left_shift(fg.asarray([1]), 64).tolist() == [0]
    assert fg.bitwise_invert(fg.asarray([0, -1])).tolist() == [-1, 0]
    assert fg.bitwise_invert(fg.asarray([True, False])).tolist() == [False, True]
    assert (fg.asarray([True]) & fg.asarray([False])).tolist() == [False]
    assert fg.positive(a).tolist() == [1, 5, 3] and fg.square(a).dtype == fg.int64
    assert fg.reciprocal(fg.asarray([4.0])).tolist() == [0.25]


@pytest.mark.parametrize("call", [
    lambda: fg.bitwise_and(fg.asarray([1.0]), fg.asarray([2.0])),
    lambda: fg.asarray([1.5]) << 1,
    lambda: ~fg.asarray([1.5]),
    lambda: fg.atan2(fg.asarray([1j]), fg.asarray([1j])),
    lambda: fg.nextafter(fg.asarray([1.0], dtype=fg.float16), fg.asarray([2.0], dtype=fg.float16)),
])
def test_unsupported_dtypes_are_type_errors(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("name", ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
                                  "atanh", "log2", "log10"])
def test_unary_gradients(name):
    f, sample = UNARY[name]
    x = fg.tensor(sample(np.random.default_rng(2), 6).astype(np.float64), requires_grad=True)
    assert gradcheck(lambda t: getattr(fg, name)(t), (x,))


@pytest.mark.parametrize("name", ["atan2", "hypot", "copysign", "logaddexp"])
def test_binary_gradients(name):
    r = np.random.default_rng(3)
    a = fg.tensor(r.standard_normal(6) + 0.1, requires_grad=True)
    b = fg.tensor(r.standard_normal(6) + 0.1, requires_grad=True)
    assert gradcheck(lambda x, y: getattr(fg, name)(x, y), (a, b))


def test_real_of_a_real_tensor_is_differentiable():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    (fg.real(x) * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    assert fg.imag(x).tolist() == [0.0, 0.0]


# tan on the GPU is sin/cos, whose builtins are only as accurate as Vulkan requires
# (lavapipe's: about 1e-4 relative near the poles): checked to that bound; the inverse
# functions are ferrograd's own (not the builtins) and checked to a few ulps.
_LOOSE_ON_GPU = {"tan": 3e-4}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_on_wgpu_matches_cpu(name, wgpu_device):
    f, sample = UNARY[name]
    # (GPU sin/cos, and so tan, are meaningless for huge arguments: Vulkan bounds them
    # on [-pi, pi] only)
    special = SPECIAL[np.abs(SPECIAL) < 1e4] if name == "tan" else SPECIAL
    x = np.concatenate([sample(np.random.default_rng(4), 64), special]).astype(np.float32)
    cpu = _np(getattr(fg, name)(fg.asarray(x)))
    gpu = _np(getattr(fg, name)(fg.asarray(x).to("wgpu")))
    np.testing.assert_allclose(gpu, cpu, rtol=_LOOSE_ON_GPU.get(name, 5e-6), atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_on_wgpu_matches_cpu(name, wgpu_device):
    r = np.random.default_rng(5)
    a = np.concatenate([r.standard_normal(64) * 3, SPECIAL]).astype(np.float32)
    b = np.concatenate([r.standard_normal(64) * 3, SPECIAL[::-1]]).astype(np.float32)
    cpu = _np(getattr(fg, name)(fg.asarray(a), fg.asarray(b)))
    gpu = _np(getattr(fg, name)(fg.asarray(a).to("wgpu"), fg.asarray(b).to("wgpu")))
    np.testing.assert_allclose(gpu, cpu, rtol=5e-6, atol=1e-6, equal_nan=True)


def test_bitwise_and_signbit_on_wgpu(wgpu_device):
    a, b = fg.asarray([12, -7, 5]), fg.asarray([10, 3, 1])
    for f in (fg.bitwise_and, fg.bitwise_or, fg.bitwise_xor, fg.bitwise_right_shift, fg.bitwise_left_shift):
        assert f(a.to("wgpu"), b.to("wgpu")).tolist() == f(a, b).tolist(), f.__name__
    assert (~a.to("wgpu")).tolist() == (~a).tolist()
    x = fg.asarray([0.0, -0.0, -1.0, 2.0])
    assert fg.signbit(x.to("wgpu")).tolist() == [False, True, True, False]


def test_left_shift_overflow_on_wgpu_is_an_error_not_a_wrap(wgpu_device):
    # int64 lives in 32-bit words on wgpu: a result past int32 must not pass silently
    with pytest.raises(Exception, match="(?i)overflow|does not fit|int32"):
        (fg.asarray([1]).to("wgpu") << fg.asarray([40]).to("wgpu")).tolist()
