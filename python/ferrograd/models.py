"""The MLP classifier the command line trains, built from a few choices.

    model = build_mlp(784, 10, depth=2, width=256, norm="layer", norm_position="post",
                      dropout=0.1)

Each of the ``depth`` hidden layers is, with ``norm_position="post"`` (the classic
placement, normalization right after the linear map)::

    Linear -> Norm -> ReLU -> Dropout

and with ``norm_position="pre"`` (normalize what enters each linear map)::

    Norm -> Linear -> ReLU -> Dropout

followed by a final ``Linear(width, num_classes)`` giving the logits. Images are
flattened first (``nn.Flatten``).
"""

from . import nn
from .autograd import no_grad

__all__ = ["build_mlp", "make_norm", "NORMS", "INITS"]

NORMS = ("none", "layer", "batch", "rms", "group")
INITS = ("kaiming", "xavier", "normal")


def make_norm(kind, features):
    """A normalization layer over ``features`` features, or None for ``"none"``.
    GroupNorm uses the largest of 8, 4, 2 groups that divides ``features``."""
    if kind == "none":
        return None
    if kind == "layer":
        return nn.LayerNorm(features)
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "rms":
        return nn.RMSNorm(features)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if features % g == 0)
        return nn.GroupNorm(groups, features)
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def _init_linear(layer, init, scale):
    with no_grad():
        if init == "kaiming":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        elif init == "xavier":
            nn.init.xavier_normal_(layer.weight)
        elif init == "normal":
            nn.init.normal_(layer.weight, 0.0, 0.01)
        else:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        if scale != 1.0:
            layer.weight *= scale
        nn.init.zeros_(layer.bias)


def build_mlp(in_features, num_classes, depth=2, width=256, norm="layer",
              norm_position="post", dropout=0.0, init="kaiming", init_scale=1.0):
    """The MLP described in the module docstring, as an ``nn.Sequential``."""
    if norm_position not in ("pre", "post"):
        raise ValueError(f"norm_position must be 'pre' or 'post', got {norm_position!r}")
    layers = [nn.Flatten()]
    features = in_features
    for _ in range(depth):
        linear = nn.Linear(features, width)
        _init_linear(linear, init, init_scale)
        block = [linear]
        if norm_position == "post":
            block = [linear] + [m for m in [make_norm(norm, width)] if m is not None]
        else:
            block = [m for m in [make_norm(norm, features)] if m is not None] + [linear]
        layers += block + [nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        features = width
    head = nn.Linear(features, num_classes)
    _init_linear(head, "xavier" if init == "kaiming" else init, init_scale)
    layers.append(head)
    return nn.Sequential(*layers)
