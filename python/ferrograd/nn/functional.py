"""Stateless layer functions, as ``torch.nn.functional`` (``import ferrograd.nn.functional
as F``). Same names, signatures and defaults as PyTorch.

The normalizations and dropout are thin wrappers over fused Rust kernels (forward and
backward in one op each); the rest is composed from tensor ops, so autograd covers it.
"""

import warnings

from .. import _core

Tensor = _core.Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softmax", "log_softmax",
    "dropout", "layer_norm", "rms_norm", "group_norm", "batch_norm",
]


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).
    The transpose is a view (no copy)."""
    out = input @ weight.mT
    if bias is not None:
        out = out + bias
    return out


def relu(input, inplace=False):
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` where ``x > 0``, else ``negative_slope * x`` (the gradient at 0 is
    ``negative_slope``, as in PyTorch)."""
    return _core.where(input > 0, input, input * negative_slope)


def gelu(input, approximate="none"):
    """GELU, exact (``'none'``, with erf) or the tanh approximation (``'tanh'``)."""
    return input.gelu(approximate=approximate)


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def _softmax_dim(name, ndim):
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """Softmax along ``dim``. ``dim=None`` picks PyTorch's legacy implicit dim (0 for
    0-, 1- and 3-D inputs, else 1) with a warning; always pass ``dim``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return input.softmax(dim=dim)


def log_softmax(input, dim=None, dtype=None):
    """Log-softmax along ``dim`` (see :func:`softmax` for ``dim=None``)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return input.log_softmax(dim=dim)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each element with probability ``p`` and scales the rest by ``1/(1-p)``
    when ``training``; the identity otherwise. Masks come from ferrograd's generator
    (``fg.manual_seed``)."""
    _check_p(p)
    if inplace:
        raise NotImplementedError("dropout(inplace=True) is not supported; use inplace=False")
    if not training:
        return input
    return _core.dropout(input, float(p), bool(training))


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalizes over the trailing ``normalized_shape`` dims (biased variance), then
    ``* weight + bias``."""
    return _core.layer_norm(input, _shape_tuple(normalized_shape), weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape``
    dims; ``eps=None`` means the machine epsilon of the input's dtype."""
    return _core.rms_norm(input, _shape_tuple(normalized_shape), weight, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalizes each of ``num_groups`` channel groups of an (N, C, *) input, then a
    per-channel affine. C must be divisible by ``num_groups`` (ValueError)."""
    return _core.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over (N, C, *) inputs. In training it uses the batch
    statistics and, when running stats are given, updates them in place:
    ``running = (1 - momentum) * running + momentum * batch_stat`` (the running variance
    takes the unbiased batch variance). Otherwise it uses the running stats."""
    return _core.batch_norm(
        input, running_mean, running_var, weight, bias, bool(training), float(momentum), eps
    )
