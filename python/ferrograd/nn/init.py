"""Weight initialization, as ``torch.nn.init``.

Every ``*_`` function fills its tensor in place under ``no_grad`` and returns it. Random
draws come from ferrograd's generator (``fg.rand``/``fg.randn`` in the tensor's dtype),
so ``fg.manual_seed`` makes them reproducible. Fan rules follow PyTorch: for a weight of
shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``.
"""

import math
import warnings

import numpy as np

from .. import _core
from ..autograd import no_grad

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
]

_LINEAR_FNS = (
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
)


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + a^2)) for leaky_relu (a = ``param``, default 0.01),
    3/4 for selu."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    dims = tensor.ndim
    if dims < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check_float(tensor, fn):
    if tensor.dtype.name not in ("float32", "float64"):
        raise TypeError(f"{fn} needs a floating-point tensor, got {tensor.dtype!r}")


def _write(tensor, values):
    with no_grad():
        tensor[...] = values
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fills with U(a, b)."""
    _check_float(tensor, "uniform_")
    r = _core.rand(tensor.shape, dtype=tensor.dtype)
    return _write(tensor, r * (b - a) + a)


def normal_(tensor, mean=0.0, std=1.0):
    """Fills with N(mean, std^2)."""
    _check_float(tensor, "normal_")
    r = _core.randn(tensor.shape, dtype=tensor.dtype)
    return _write(tensor, r * std + mean)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fills with N(mean, std^2) truncated to [a, b] (absolute bounds, as in PyTorch),
    by redrawing the values that fall outside."""
    _check_float(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    n = tensor.size
    out = np.empty(n, dtype=np.float64)
    todo = np.arange(n)
    for _ in range(1000):
        if todo.size == 0:
            break
        draw = np.asarray(_core.randn((todo.size,), dtype=_core.float64)) * std + mean
        ok = (draw >= a) & (draw <= b)
        out[todo[ok]] = draw[ok]
        todo = todo[~ok]
    if todo.size:  # [a, b] far in a tail: what is left is clamped.
        out[todo] = np.clip(mean, a, b)
    return _write(tensor, _core.from_numpy(out.reshape(tensor.shape).astype(np.dtype(tensor.dtype.name))))


def constant_(tensor, val):
    """Fills with ``val``."""
    with no_grad():
        tensor[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain=1.0):
    """Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan), gain from
    ``calculate_gain(nonlinearity, a)``. (``a=sqrt(5)`` gives Linear's default,
    bound = 1/sqrt(fan_in).)"""
    if tensor.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op")
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He normal: N(0, std^2), std = gain / sqrt(fan)."""
    if tensor.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op")
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix (trailing dims flattened): the Q of the QR
    decomposition of a standard normal matrix, with the sign of R's diagonal folded in
    so the result is uniformly distributed; scaled by ``gain``. For a (rows, cols)
    result, ``W @ W.T = gain^2 I`` when rows <= cols, ``W.T @ W = gain^2 I`` otherwise."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    _check_float(tensor, "orthogonal_")
    if tensor.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = np.asarray(_core.randn((rows, cols), dtype=_core.float64))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    if rows < cols:
        q = q.T
    q = (gain * q).reshape(tensor.shape).astype(np.dtype(tensor.dtype.name))
    return _write(tensor, _core.from_numpy(np.ascontiguousarray(q)))
