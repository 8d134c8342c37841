"""Parameter utilities: flattening, norms for explicit penalties, gradient clipping and
weight-decay parameter groups."""

import math

from .. import _core
from ..autograd import no_grad

Tensor = _core.Tensor

__all__ = [
    "parameters_to_vector",
    "vector_to_parameters",
    "l1_norm",
    "squared_l2_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "decay_groups",
]


def _param_list(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, flattened and concatenated in order
    (differentiable)."""
    params = _param_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector needs at least one parameter")
    return _core.concat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copies consecutive slices of the 1-D ``vec`` into ``parameters`` (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected fg.Tensor, but got: {type(vec).__name__}")
    params = _param_list(parameters)
    total = sum(p.size for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(
            f"vec has shape {tuple(vec.shape)} but the parameters hold {total} elements"
        )
    offset = 0
    with no_grad():
        for p in params:
            n = p.size
            p[...] = vec[offset:offset + n].reshape(p.shape)
            offset += n


def _zero_like_first(params):
    dtype = params[0].dtype if params else _core.float32
    return _core.zeros((), dtype=dtype)


def l1_norm(parameters):
    """``sum(|p|)`` over all the parameters, differentiable: add ``lam * l1_norm(...)``
    to a loss for an explicit L1 penalty."""
    params = _param_list(parameters)
    total = _zero_like_first(params)
    for p in params:
        total = total + p.abs().sum()
    return total


def squared_l2_norm(parameters):
    """``sum(p^2)`` over all the parameters, differentiable: ``0.5 * lam *
    squared_l2_norm(...)`` is classic L2 regularization (for Adam prefer AdamW's
    decoupled ``weight_decay``)."""
    params = _param_list(parameters)
    total = _zero_like_first(params)
    for p in params:
        total = total + (p * p).sum()
    return total


def _norm(x, norm_type):
    if norm_type == math.inf:
        return x.abs().max()
    if norm_type == -math.inf:
        return x.abs().min()
    if norm_type == 2.0:
        return (x * x).sum() ** 0.5
    if norm_type == 1.0:
        return x.abs().sum()
    return (x.abs() ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescales the gradients so that their total norm (the ``norm_type`` norm of all of
    them concatenated) is at most ``max_norm``. Returns the total norm before clipping,
    as a 0-d tensor.

    As PyTorch: every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``;
    a non-finite total raises RuntimeError only with ``error_if_nonfinite=True``.
    Parameters without a gradient are skipped.
    """
    params = _param_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _core.zeros(())
    with no_grad():
        norms = [_norm(g.detach(), norm_type) for g in grads]
        dtype = norms[0].dtype
        total = _norm(_core.stack([n.to(dtype) for n in norms]), norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        clip_coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for p in params:
            if p.grad is not None:
                p.grad = p.grad.detach() * clip_coef.to(p.grad.dtype)
    return total


def clip_grad_value_(parameters, clip_value):
    """Clamps every gradient element to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _param_list(parameters):
            if p.grad is not None:
                p.grad = p.grad.detach().clamp(-clip_value, clip_value)


def decay_groups(module, weight_decay):
    """Optimizer parameter groups that apply weight decay only where it belongs::

        opt = fg.optim.AdamW(fg.nn.utils.decay_groups(model, 0.01), lr=1e-3)

    Returns ``[{"params": decay, "weight_decay": weight_decay},
    {"params": no_decay, "weight_decay": 0.0}]``. ``no_decay`` holds every bias, every
    parameter of a normalization layer (LayerNorm, RMSNorm, GroupNorm, BatchNorm, even a
    2-D LayerNorm weight) and every other parameter with ``ndim <= 1`` (scales, gains).
    Passing ``model.parameters()`` with ``weight_decay`` instead decays those too, which
    pulls normalization gains toward 0: the footgun PyTorch users keep reporting.
    Shared parameters appear once (in ``no_decay`` if any of their uses says so), in
    ``named_parameters()`` order.
    """
    from .normalization import _Normalization

    order = []
    no_decay_ids = set()
    seen = set()
    for _, mod in module.named_modules():
        for name, p in mod._parameters.items():
            if p is None:
                continue
            if id(p) not in seen:
                seen.add(id(p))
                order.append(p)
            if isinstance(mod, _Normalization) or name == "bias" or p.ndim <= 1:
                no_decay_ids.add(id(p))
    decay = [p for p in order if id(p) not in no_decay_ids]
    no_decay = [p for p in order if id(p) in no_decay_ids]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
