"""``DataLoader``: batches of a dataset, optionally reshuffled every epoch.

    loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True, seed=0)
    for xb, yb in loader:      # one epoch; iterate again for the next
        ...

Each ``for`` loop over the loader is one epoch. With ``shuffle=True`` every epoch draws
a new permutation from the loader's own NumPy Generator, seeded by ``seed`` (or, when
``seed`` is None, by a number drawn from ferrograd's generator, so ``fg.manual_seed``
makes it reproducible). The same seed gives the same sequence of epochs.
"""

import math
import warnings

import numpy as np

from .. import _core
from .dataset import _stack_samples

__all__ = ["DataLoader", "check_batchnorm", "seed_from_fg"]


def seed_from_fg():
    """A 62-bit integer drawn from ferrograd's random generator (``fg.manual_seed``)."""
    return int(_core.randint(0, 2**62, (1,)).item())


class DataLoader:
    """Iterates over ``dataset`` in batches of ``batch_size`` stacked tensors.

    ``shuffle``: a new random order every epoch. ``drop_last``: drop the last batch if it
    is smaller than ``batch_size``. ``seed``: seeds the shuffling (see the module doc).

    ``sampler``: an iterable of dataset indices that fixes the order instead (e.g.
    ``DistributedSampler``); it excludes ``shuffle``, as in PyTorch.

    Datasets that define ``get_batch(indices)`` (TensorDataset, MNIST) are indexed once
    per batch with an index array; others are read sample by sample and stacked.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 sampler=None):
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.seed = seed_from_fg() if seed is None else int(seed)
        self.generator = np.random.default_rng(self.seed)

    def _num_samples(self):
        return len(self.dataset) if self.sampler is None else len(self.sampler)

    def __len__(self):
        n = self._num_samples()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def last_batch_size(self):
        """Size of the last batch of an epoch (0 for an empty loader)."""
        n = self._num_samples()
        if n == 0 or (self.drop_last and n < self.batch_size):
            return 0
        rest = n % self.batch_size
        return self.batch_size if rest == 0 or self.drop_last else rest

    def __iter__(self):
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        n = len(order)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                break
            yield self._fetch(idx)

    def _fetch(self, idx):
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(idx)
        return _stack_samples([self.dataset[int(i)] for i in idx])

    def __repr__(self):
        return (f"DataLoader(len(dataset)={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")


def _has_batchnorm(model):
    from ..nn.normalization import _BatchNorm
    return any(isinstance(m, _BatchNorm) for m in model.modules())


def check_batchnorm(model, loader):
    """Checks that ``loader`` can train a ``model`` containing BatchNorm layers.

    Batch statistics need at least 2 samples per batch. ``fit`` calls this before
    training (the loader itself does not know the model, so this is where the check
    lives). ValueError if every batch has one sample (``batch_size=1``); a UserWarning if
    only the last batch of an epoch has one sample (pass ``drop_last=True`` or pick
    another batch size). Nothing happens for models without BatchNorm.
    """
    if not _has_batchnorm(model):
        return
    if loader.batch_size == 1:
        raise ValueError(
            "BatchNorm needs more than 1 sample per batch in training, but batch_size=1; "
            "use a larger batch size, or a LayerNorm/GroupNorm/RMSNorm instead"
        )
    if loader.last_batch_size == 1:
        warnings.warn(
            f"the last batch of each epoch holds a single sample ({len(loader.dataset)} "
            f"samples, batch_size={loader.batch_size}) and the model has BatchNorm layers, "
            "whose batch statistics need at least 2 samples; pass drop_last=True to the "
            "DataLoader or change the batch size",
            UserWarning,
            stacklevel=2,
        )
