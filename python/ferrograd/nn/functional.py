"""Stateless layer functions, as ``torch.nn.functional`` (``import ferrograd.nn.functional
as F``). Same names, signatures and defaults as PyTorch.

The normalizations and dropout are thin wrappers over fused Rust kernels (forward and
backward in one op each); the rest is composed from tensor ops, so autograd covers it.
"""

import warnings

from .. import _core
from ._conv_functional import (adaptive_avg_pool2d, avg_pool2d, conv2d, conv_transpose2d,
                               interpolate, max_pool2d, pad)

Tensor = _core.Tensor

__all__ = [
    "linear", "linear_relu", "relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softmax", "log_softmax",
    "dropout", "layer_norm", "rms_norm", "group_norm", "batch_norm",
    "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pad",
    "interpolate",
]


def _on_gpu(t):
    return isinstance(t, Tensor) and t.device.type != "cpu"


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).
    The transpose is a view (no copy). On the GPU it is one fused op (the bias is added
    as the GEMM stores its output); on the CPU a GEMM and an add, as always."""
    if _on_gpu(input):
        return _core._linear(input, weight, bias)
    out = input @ weight.mT
    if bias is not None:
        out = out + bias
    return out


def linear_relu(input, weight, bias=None):
    """``relu(linear(input, weight, bias))``; on the GPU the bias and the ReLU are both
    applied in the GEMM's store (one kernel forward; the backward masks with the
    output)."""
    if _on_gpu(input):
        return _core._linear(input, weight, bias, relu=True)
    return linear(input, weight, bias).relu()


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


# ---- losses -------------------------------------------------------------------------

__all__ += [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss, reduction):
    _check_reduction(reduction)
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` ((C), (N, C) or (N, C, d1, ...)) and
    ``target``: int64 class indices ((), (N) or (N, d1, ...)) or float class
    probabilities of the input's shape. One fused log-softmax + loss kernel with a fused
    backward. See PyTorch's docs for the exact formulas (weight, ignore_index,
    label_smoothing, reduction); they are the same here."""
    if size_average is not None or reduce is not None:
        raise TypeError("size_average and reduce are deprecated; use reduction=")
    if not isinstance(target, Tensor):
        target = _core._tensor(target, None, True, None, False)
    return _core.cross_entropy(input, target, weight, int(ignore_index), str(reduction),
                               float(label_smoothing))


def _class_rows(input, target):
    """(M, C) rows and (M,) targets of an (C)/(N, C)/(N, C, d...) input, and the shape of
    the per-element loss."""
    if input.ndim == 0:
        raise ValueError("input must have at least 1 dimension (classes)")
    if input.ndim == 1:
        return input.reshape((1, -1)), target.reshape((1,)), ()
    n, c = input.shape[0], input.shape[1]
    out_shape = (n,) + tuple(input.shape[2:])
    if tuple(target.shape) != out_shape:
        raise ValueError(f"Expected target size {out_shape}, got {tuple(target.shape)}")
    if input.ndim > 2:
        input = input.permute((0,) + tuple(range(2, input.ndim)) + (1,))
    return input.reshape((-1, c)), target.reshape((-1,)), out_shape


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at the class indices
    ``target``: ``-w[y] * input[n, y]``; 'mean' divides by the summed weights of the
    non-ignored targets."""
    if size_average is not None or reduce is not None:
        raise TypeError("size_average and reduce are deprecated; use reduction=")
    _check_reduction(reduction)
    if target.dtype != _core.int64:
        raise TypeError(f"nll_loss: target must be int64 class indices, got {target.dtype}")
    x, t, out_shape = _class_rows(input, target)
    c = x.shape[1]
    if weight is not None and tuple(weight.shape) != (c,):
        raise ValueError(
            f"weight tensor should be defined either for all {c} classes or no classes "
            f"but got weight tensor of shape: {tuple(weight.shape)}")
    keep = t != ignore_index
    if t.device.type == "cpu":
        tv = t.numpy()
        bad = tv[(tv != ignore_index) & ((tv < 0) | (tv >= c))]
        if bad.size:
            raise IndexError(f"Target {int(bad[0])} is out of bounds.")
        safe = _core.where(keep, t, 0)
    else:
        # No readback on a GPU: a negative target becomes c, so the gather's device-side
        # check flags every out-of-range target (IndexError at the next readback).
        safe = _core.where(keep, _core.where(t < 0, c, t), 0)
    picked = _core.take_along_axis(x, safe.reshape((-1, 1)), 1).reshape((-1,))
    w = keep.astype(x.dtype)
    if weight is not None:
        w = weight.astype(x.dtype).take(safe, 0) * w
    loss = -(picked * w)
    if reduction == "none":
        return loss.reshape(out_shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def _warn_if_broadcast(input, target):
    """PyTorch's warning when a pointwise loss's input and target differ in shape (they
    broadcast, which is rarely what was meant: (N, 1) against (N,) gives (N, N))."""
    if not (hasattr(input, "shape") and hasattr(target, "shape")):
        return  # a Python number: broadcasting it is the point
    ti, tt = tuple(input.shape), tuple(target.shape)
    if ti != tt:
        warnings.warn(
            f"Using a target size ({tt}) that is different to the input size ({ti}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error ``(input - target)^2``, reduced. Shapes that differ broadcast,
    with PyTorch's UserWarning."""
    _check_reduction(reduction)
    _warn_if_broadcast(input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error ``|input - target|``, reduced. Shapes that differ broadcast,
    with PyTorch's UserWarning."""
    _check_reduction(reduction)
    _warn_if_broadcast(input, target)
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in the stable form
    ``(1 - t) x + (1 + (pos_weight - 1) t) (log1p(exp(-|x|)) + relu(-x))``, which never
    exponentiates a large positive number."""
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({tuple(target.shape)}) must be the same as input size "
            f"({tuple(input.shape)})")
    softplus_neg = (-input.abs()).exp().log1p() + (-input).relu()  # log(1 + exp(-x))
    if pos_weight is not None:
        log_weight = (pos_weight - 1) * target + 1
        loss = (1 - target) * input + log_weight * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
