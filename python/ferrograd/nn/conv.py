"""Conv2d and ConvTranspose2d, with PyTorch's parameter names, shapes and default
initialization (so a PyTorch state_dict of the same model loads)."""

import math

from .. import _core
from . import functional as F
from . import init
from ._conv_functional import _pair
from .module import Module
from .parameter import Parameter

__all__ = ["Conv2d", "ConvTranspose2d"]


class _ConvNd(Module):
    """Holds ``weight`` and ``bias``; ``weight_shape`` is (O, C/groups, KH, KW) for
    Conv2d and (C_in, C_out/groups, KH, KW) for ConvTranspose2d."""

    def _setup(self, what, in_channels, out_channels, kernel_size, stride, padding, dilation,
               groups, bias, weight_shape_of, dtype, device):
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{what}: {name} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{what}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", what, allow_zero=False)
        self.stride = _pair(stride, "stride", what, allow_zero=False)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", what)
        self.dilation = _pair(dilation, "dilation", what, allow_zero=False)
        self.groups = groups
        # Initialized on the CPU, then moved, as Linear.
        self.weight = Parameter(_core.empty(weight_shape_of(self.kernel_size), dtype=dtype))
        if bias:
            self.bias = Parameter(_core.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, i.e.
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) (or unbatched (C, H, W)) inputs; ``padding``
    may be an int, a pair, "same" or "valid". ``padding_mode`` "zeros" (default),
    "reflect", "replicate" or "circular" pads with ``F.pad`` first."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__()
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"Conv2d: padding_mode must be zeros, reflect, replicate or "
                             f"circular, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self._setup("Conv2d", in_channels, out_channels, kernel_size, stride, padding,
                    dilation, groups, bias,
                    lambda k: (out_channels, in_channels // groups) + k, dtype, device)

    def forward(self, input):
        if self.padding_mode == "zeros" or self.padding in ((0, 0), "valid"):
            return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        if isinstance(self.padding, str):
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            ph = (totals[0] // 2, totals[0] - totals[0] // 2)
            pw = (totals[1] // 2, totals[1] - totals[1] // 2)
        else:
            ph, pw = (self.padding[0],) * 2, (self.padding[1],) * 2
        x = F.pad(input, (pw[0], pw[1], ph[0], ph[1]), mode=self.padding_mode)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose of Conv2d (see ``F.conv_transpose2d``); ``output_size`` in forward
    picks the output_padding that gives that size, as PyTorch."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError("ConvTranspose2d: only padding_mode='zeros' is supported")
        if isinstance(padding, str):
            raise ValueError("ConvTranspose2d: padding must be an int or a pair")
        self.padding_mode = padding_mode
        self.output_padding = _pair(output_padding, "output_padding", "ConvTranspose2d")
        self._setup("ConvTranspose2d", in_channels, out_channels, kernel_size, stride,
                    padding, dilation, groups, bias,
                    lambda k: (in_channels, out_channels // groups) + k, dtype, device)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)

    def _output_padding(self, input, output_size):
        want = tuple(output_size)[-2:]
        extra = []
        for d, size in enumerate(want):
            base = ((input.shape[-2 + d] - 1) * self.stride[d] - 2 * self.padding[d]
                    + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            if not 0 <= size - base < max(self.stride[d], self.dilation[d]):
                raise ValueError(f"ConvTranspose2d: requested output size {want} is not "
                                 f"reachable from input {tuple(input.shape)}")
            extra.append(size - base)
        return tuple(extra)
