"""Normalization layers: LayerNorm, RMSNorm, GroupNorm, BatchNorm1d, BatchNorm2d.

The math runs in fused Rust kernels (see ``functional``); these modules hold the
affine parameters and, for BatchNorm, the running statistics, with PyTorch's defaults.
"""

from .. import _core
from . import functional as F
from .module import Module
from .parameter import Parameter

__all__ = ["LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d"]


class _Normalization(Module):
    """Base class: ``nn.utils.decay_groups`` never decays the parameters of a
    normalization layer, whatever their shape."""

    def _init_affine(self, shape, weight, bias, dtype, device):
        """Registers ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None where
        not wanted; ``bias=None`` means the layer has no bias at all (RMSNorm)."""
        for name, wanted, fill in (("weight", weight, _core.ones), ("bias", bias, _core.zeros)):
            if wanted:
                setattr(self, name, Parameter(fill(shape, dtype=dtype, device=device)))
            elif wanted is not None:
                self.register_parameter(name, None)


def _shape(normalized_shape):
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(_Normalization):
    """Normalizes over the trailing ``normalized_shape`` dims; ``weight`` (ones) and
    ``bias`` (zeros) of that shape when ``elementwise_affine`` (``bias=False`` drops the
    bias)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None, device=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._init_affine(self.normalized_shape, elementwise_affine,
                          elementwise_affine and bias, dtype, device)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class RMSNorm(_Normalization):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape``
    dims. ``eps=None`` (default) uses the input dtype's machine epsilon, as PyTorch."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None,
                 device=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self._init_affine(self.normalized_shape, elementwise_affine, None, dtype, device)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(_Normalization):
    """Normalizes each of ``num_groups`` groups of channels of an (N, C, *) input, then
    a per-channel affine (``weight`` ones, ``bias`` zeros, shape (C,)). ValueError at
    construction when ``num_channels % num_groups != 0``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None,
                 device=None):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(
                f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self._init_affine((num_channels,), affine, affine, dtype, device)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _BatchNorm(_Normalization):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, device=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._init_affine((num_features,), affine, affine, dtype, device)
        if track_running_stats:
            self.register_buffer("running_mean", _core.zeros((num_features,), dtype=dtype, device=device))
            self.register_buffer("running_var", _core.ones((num_features,), dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", _core.zeros((), dtype=_core.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def _check_input_dim(self, input):
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        # Batch statistics in training, and in eval too when no running stats exist.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over N (and L).

    Buffers ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
    (int64 0), updated in training mode with ``momentum`` (``None``: cumulative average,
    factor ``1/num_batches_tracked``); ``eval()`` normalizes with them.
    ``track_running_stats=False``: no buffers, batch statistics in both modes.
    """

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs over N, H and W (see BatchNorm1d)."""

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")
