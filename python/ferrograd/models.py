"""The classifiers the command line trains: an MLP, a LeNet-style CNN and a small
ResNet, each built from a few choices.

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

__all__ = ["build_mlp", "make_norm", "NORMS", "INITS", "MODELS", "CONV_NORMS", "make_norm2d",
           "build_cnn", "build_resnet", "BasicBlock", "ResNet"]

MODELS = ("mlp", "cnn", "resnet")

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


# ---------------------------------------------------------------------------
# Convolutional networks for 28x28 images
# ---------------------------------------------------------------------------

CONV_NORMS = ("batch", "group", "none")


def make_norm2d(kind, channels):
    """BatchNorm2d (statistics per channel over N, H, W), GroupNorm (the largest of 8,
    4, 2 groups that divides ``channels``: statistics per sample, so any batch size
    works) or nothing (None)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(next(g for g in (8, 4, 2, 1) if channels % g == 0), channels)
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r} for a convolutional network; choose one of "
                     f"{', '.join(CONV_NORMS)}")


def _conv_norm_relu(in_channels, out_channels, kernel, norm, stride=1, padding=0):
    """conv -> norm -> ReLU, the conv without a bias when a norm follows (its shift
    would be removed by the normalization anyway)."""
    layer = make_norm2d(norm, out_channels)
    layers = [nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding,
                        bias=layer is None)]
    return layers + ([layer] if layer is not None else []) + [nn.ReLU()]


def build_cnn(num_classes=10, norm="batch", in_channels=1, dropout=0.0):
    """LeNet-5's shape for 28x28 inputs, with ReLU and max pooling (and a norm after
    each convolution)::

        conv5x5(6, pad 2) -> [norm] -> ReLU -> maxpool 2   # 6 x 14 x 14
        conv5x5(16)       -> [norm] -> ReLU -> maxpool 2   # 16 x 5 x 5
        Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, classes)
    """
    layers = _conv_norm_relu(in_channels, 6, 5, norm, padding=2) + [nn.MaxPool2d(2)]
    layers += _conv_norm_relu(6, 16, 5, norm) + [nn.MaxPool2d(2), nn.Flatten()]
    layers += [nn.Linear(16 * 5 * 5, 120), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """The residual block of ResNet-18/34 (He et al., 2016)::

        out = ReLU(norm2(conv3x3(ReLU(norm1(conv3x3(x, stride))))) + shortcut(x))

    The shortcut is the identity, or a 1x1 convolution (with a norm) when the stride or
    the channel count changes. Attribute names follow torchvision's (conv1, bn1, conv2,
    bn2, downsample), so the state_dicts of the same architecture line up."""

    def __init__(self, in_channels, out_channels, stride=1, norm="batch"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=norm == "none")
        self.bn1 = make_norm2d(norm, out_channels) or nn.Identity()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=norm == "none")
        self.bn2 = make_norm2d(norm, out_channels) or nn.Identity()
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            proj = [nn.Conv2d(in_channels, out_channels, 1, stride, bias=norm == "none")]
            layer = make_norm2d(norm, out_channels)
            self.downsample = nn.Sequential(*(proj + ([layer] if layer is not None else [])))

    def forward(self, x):
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return (out + shortcut).relu()


class ResNet(nn.Module):
    """A small ResNet for 28x28 images: a 3x3 stem, then three stages of
    ``blocks`` BasicBlocks at widths w, 2w, 4w (the last two halving the resolution:
    28 -> 14 -> 7), global average pooling and a linear classifier."""

    def __init__(self, num_classes=10, norm="batch", width=16, blocks=(1, 1, 1),
                 in_channels=1, zero_init_residual=False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=norm == "none")
        self.bn1 = make_norm2d(norm, width) or nn.Identity()
        stages, channels = [], width
        for i, count in enumerate(blocks):
            out = width * 2 ** i
            stage = [BasicBlock(channels, out, 1 if i == 0 else 2, norm)]
            stage += [BasicBlock(out, out, 1, norm) for _ in range(count - 1)]
            stages.append(nn.Sequential(*stage))
            channels = out
        self.layers = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual):
        """He initialization for the convolutions (fan_out, as torchvision). With
        ``zero_init_residual`` the last norm of each block starts at zero, so every block
        starts as the identity (Goyal et al., 2017): it helps deep stacks; on this
        shallow one it slows the first few hundred steps, hence off by default (as in
        torchvision)."""
        with no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, BasicBlock) and getattr(m.bn2, "weight", None) is not None:
                        nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        x = self.bn1(self.conv1(x)).relu()
        for stage in self.layers:
            x = stage(x)
        return self.fc(self.pool(x).flatten(1))


def build_resnet(num_classes=10, norm="batch", width=16, blocks=(1, 1, 1), in_channels=1,
                 zero_init_residual=False):
    """The ResNet above (see ``ResNet``)."""
    return ResNet(num_classes, norm, width, blocks, in_channels, zero_init_residual)
