"""Neural-network building blocks with PyTorch's API: ``Module`` to subclass,
``Parameter``, layers, containers, ``functional``, ``init`` and ``utils``.

    import ferrograd as fg
    from ferrograd import nn
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
"""

from . import functional, init, utils
from .activation import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Residual, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .sync_batchnorm import SyncBatchNorm
from . import parallel

__all__ = [
    "Module", "Parameter", "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU", "GELU",
    "Tanh", "Sigmoid", "Softmax", "Sequential", "ModuleList", "Residual", "Dropout",
    "LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm1d", "BatchNorm2d", "SyncBatchNorm",
    "functional", "init", "utils", "parallel", "CrossEntropyLoss", "NLLLoss", "MSELoss",
    "L1Loss", "BCEWithLogitsLoss",
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Unflatten",
]
