"""Parallel wrappers of modules (``fg.nn.parallel.DistributedDataParallel``)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
