"""Optimizers and learning-rate schedules with PyTorch's API (``fg.optim.SGD``,
``fg.optim.Adam``, ``fg.optim.AdamW``, ``fg.optim.lr_scheduler``). Each parameter's
update is one fused Rust kernel (``_core._sgd_step`` / ``_core._adam_step``)."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
