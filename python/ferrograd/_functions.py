"""The function namespace (``fg.exp(x)``, ``fg.sum(x, axis=1)``, ...), following the
Python Array API standard's names and arguments, with PyTorch's ``dim``/``keepdim``
accepted as aliases. Each function converts array-likes and calls the Tensor method."""

from . import _core

Tensor = _core.Tensor


def _t(x):
    return x if isinstance(x, Tensor) else _core._tensor(x, None, False, None, False)


def _unary(name, doc):
    def f(x, /):
        return _t(x)._unary(name)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


# Docs of the unary functions; every name the core's op table has gets a function.
_UNARY = {
    "abs": "Absolute value, elementwise (the modulus, as a real dtype, for complex).",
    "exp": "e**x, elementwise (integers promote to float32).",
    "log": "Natural logarithm, elementwise.",
    "log1p": "log(1 + x), accurate for small x.",
    "expm1": "exp(x) - 1, accurate for small x.",
    "log2": "Base-2 logarithm, elementwise.",
    "log10": "Base-10 logarithm, elementwise.",
    "sqrt": "Square root, elementwise.",
    "sin": "Sine, elementwise.",
    "cos": "Cosine, elementwise.",
    "tan": "Tangent, elementwise.",
    "asin": "Inverse sine (principal value), elementwise.",
    "acos": "Inverse cosine (principal value), elementwise.",
    "atan": "Inverse tangent (principal value), elementwise.",
    "sinh": "Hyperbolic sine, elementwise.",
    "cosh": "Hyperbolic cosine, elementwise.",
    "tanh": "Hyperbolic tangent, elementwise.",
    "asinh": "Inverse hyperbolic sine, elementwise.",
    "acosh": "Inverse hyperbolic cosine, elementwise.",
    "atanh": "Inverse hyperbolic tangent, elementwise.",
    "sigmoid": "Logistic sigmoid 1 / (1 + exp(-x)), elementwise.",
    "relu": "max(x, 0), elementwise (NaN propagates).",
    "erf": "The error function, elementwise.",
    "sign": "-1, 0 or 1 by sign (NaN stays NaN); z/|z| for complex.",
    "floor": "Largest integer <= x.",
    "ceil": "Smallest integer >= x.",
    "round": "Round half to even, like NumPy.",
    "trunc": "Round toward zero.",
    "negative": "-x.",
    "logical_not": "Elementwise NOT of truthiness.",
    "isnan": "True where x is NaN.",
    "isinf": "True where x is +-inf.",
    "isfinite": "True where x is neither NaN nor infinite.",
    "signbit": "True where the sign bit is set (also for -0.0 and -NaN).",
    "bitwise_invert": "~x: bitwise NOT of integers, logical NOT of bools.",
    "bitwise_not": "~x (PyTorch's name for bitwise_invert).",
    "conj": "Complex conjugate (a copy for real tensors).",
    "real": "Real part (a copy for real tensors).",
    "imag": "Imaginary part (zeros for real tensors).",
}

_BINARY = {
    "add": "x1 + x2 with broadcasting.",
    "subtract": "x1 - x2 with broadcasting.",
    "multiply": "x1 * x2 with broadcasting.",
    "divide": "x1 / x2 (true division).",
    "floor_divide": "x1 // x2 (rounds toward -inf).",
    "remainder": "x1 % x2 with the sign of x2, as Python.",
    "pow": "x1 ** x2.",
    "maximum": "Elementwise maximum (NaN propagates).",
    "minimum": "Elementwise minimum (NaN propagates).",
    "equal": "x1 == x2.",
    "not_equal": "x1 != x2.",
    "less": "x1 < x2.",
    "less_equal": "x1 <= x2.",
    "greater": "x1 > x2.",
    "greater_equal": "x1 >= x2.",
    "logical_and": "Elementwise AND of truthiness.",
    "logical_or": "Elementwise OR of truthiness.",
    "logical_xor": "Elementwise XOR of truthiness.",
    "atan2": "The angle of the point (x2, x1), in (-pi, pi].",
    "hypot": "sqrt(x1**2 + x2**2) without overflow or underflow.",
    "copysign": "|x1| with the sign of x2.",
    "logaddexp": "log(exp(x1) + exp(x2)) without overflow.",
    "nextafter": "The next representable value after x1 toward x2.",
    "bitwise_and": "x1 & x2 (integers or bools).",
    "bitwise_or": "x1 | x2 (integers or bools).",
    "bitwise_xor": "x1 ^ x2 (integers or bools).",
    "bitwise_left_shift": "x1 << x2 (integers).",
    "bitwise_right_shift": "x1 >> x2 (integers, arithmetic for signed).",
}

_unary_names, _binary_names = _core._op_names()
for _name in _unary_names:
    globals()[_name] = _unary(_name, _UNARY.get(_name, ""))


def _binary(name, doc):
    def f(x1, x2, /):
        if isinstance(x1, Tensor):
            return x1._binary(x2, name, False)
        if isinstance(x2, Tensor):
            return x2._binary(x1, name, True)
        return _t(x1)._binary(x2, name, False)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


for _name in _binary_names:
    globals()[_name] = _binary(_name, _BINARY.get(_name, ""))


def gelu(x, approximate="none"):
    """GELU: x * Phi(x) (``approximate='tanh'`` for the tanh form)."""
    return _t(x).gelu(approximate)


__all__ = list(_unary_names) + list(_binary_names) + [
    "gelu", "clip", "positive", "square", "reciprocal",
    "sum", "mean", "var", "std", "max", "min", "prod", "logsumexp", "all", "any",
    "argmax", "argmin", "reshape", "permute_dims", "transpose", "flatten", "expand_dims",
    "squeeze", "broadcast_to", "broadcast_arrays", "flip", "astype", "take", "softmax",
    "log_softmax", "matmul", "nonzero", "unsqueeze",
]


def positive(x, /):
    """+x: a copy of x."""
    return _t(x).clone()


def square(x, /):
    """x * x, keeping x's dtype (integers stay integers)."""
    x = _t(x)
    return x * x


def reciprocal(x, /):
    """1 / x (integers promote to float32)."""
    return 1.0 / _t(x)


def clip(x, min=None, max=None):  # noqa: A002
    """Clamp to [min, max]; either bound may be None."""
    return _t(x).clip(min, max)


def _reduction(name):
    # axis/dim and keepdims/keepdim pass through: the Tensor method resolves the
    # aliases (in one place, the Rust binding's resolve_axis)
    def f(x, /, axis=None, *, keepdims=False, dim=None, keepdim=None, **kw):
        return getattr(_t(x), name)(axis, keepdims, dim=dim, keepdim=keepdim, **kw)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"{name} over ``axis`` (an int, a tuple, or None for all), keeping reduced dims with ``keepdims``."
    return f


sum = _reduction("sum")  # noqa: A001
mean = _reduction("mean")
prod = _reduction("prod")
max = _reduction("max")  # noqa: A001
min = _reduction("min")  # noqa: A001
logsumexp = _reduction("logsumexp")
all = _reduction("all")  # noqa: A001
any = _reduction("any")  # noqa: A001
argmax = _reduction("argmax")
argmin = _reduction("argmin")


def var(x, /, axis=None, *, correction=0, keepdims=False, dim=None, keepdim=None):
    """Variance with ``correction`` (0: biased, the default; 1: unbiased)."""
    return _t(x).var(axis, keepdims, dim=dim, keepdim=keepdim, correction=correction)


def std(x, /, axis=None, *, correction=0, keepdims=False, dim=None, keepdim=None):
    """Standard deviation with ``correction`` (0: biased, the default; 1: unbiased)."""
    return _t(x).std(axis, keepdims, dim=dim, keepdim=keepdim, correction=correction)


def reshape(x, /, shape, *, copy=None):
    out = _t(x).reshape(shape)
    return out.clone() if copy else out


def permute_dims(x, /, axes):
    return _t(x).permute(*axes)


def transpose(x, /, axes=None):
    """NumPy's transpose: reverse the axes, or permute them by ``axes``."""
    x = _t(x)
    return x.permute(*axes) if axes is not None else x.permute(*reversed(range(x.ndim)))


def flatten(x, /, start_dim=0, end_dim=-1):
    return _t(x).flatten(start_dim, end_dim)


def expand_dims(x, /, axis=0):
    return _t(x).unsqueeze(axis)


unsqueeze = expand_dims


def squeeze(x, /, axis=None):
    return _t(x).squeeze(axis)


def broadcast_to(x, /, shape):
    return _t(x).broadcast_to(shape)


def broadcast_arrays(*arrays):
    import numpy as np

    ts = [_t(a) for a in arrays]
    shape = np.broadcast_shapes(*[t.shape for t in ts])
    return [t.broadcast_to(shape) for t in ts]


def flip(x, /, axis=None):
    return _t(x).flip(axis)


def astype(x, dtype, /, *, copy=True):
    return _t(x).astype(dtype, copy)


def take(x, indices, /, axis=None):
    return _t(x).take(indices, axis)


def softmax(x, axis=-1, *, dim=None):
    """softmax along ``axis``, computed stably (max subtracted first)."""
    return _t(x).softmax(axis if dim is None else dim)


def log_softmax(x, axis=-1, *, dim=None):
    """log_softmax along ``axis``, computed stably."""
    return _t(x).log_softmax(axis if dim is None else dim)


def matmul(x1, x2, /):
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting."""
    return _t(x1) @ x2


def nonzero(x, /):
    return _t(x).nonzero()
