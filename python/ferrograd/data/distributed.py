"""``DistributedSampler``: each rank's share of a dataset for data-parallel training.

    sampler = DistributedSampler(dataset, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)     # a new shuffle each epoch, the same on every rank
        for xb, yb in loader: ...

Every rank draws the same permutation of the dataset (from ``seed + epoch``), so the
shards ``indices[rank::num_replicas]`` are disjoint and together cover the dataset.
When the dataset does not divide evenly, ``drop_last=False`` pads with indices from the
start of the permutation (a few samples seen twice per epoch) and ``drop_last=True``
drops the tail; either way every rank gets the same number of samples, hence the same
number of steps, which DDP's collectives require.
"""

import math

import numpy as np

__all__ = ["DistributedSampler"]


def _check_index(value, name, bound):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < bound:
        raise ValueError(f"{name} must be an integer in [0, {bound}), got {value!r}")


class DistributedSampler:
    """Yields this rank's indices of ``dataset`` for the current epoch (PyTorch's API).
    ``num_replicas`` and ``rank`` default to fg.distributed's world size and rank."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    "DistributedSampler needs num_replicas and rank, or fg.distributed.init() first"
                )
            num_replicas = dist.world_size() if num_replicas is None else num_replicas
            rank = dist.rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive integer, got {num_replicas!r}")
        _check_index(rank, "rank", num_replicas)
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas:
            self.num_samples = n // num_replicas
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """Selects the epoch whose permutation the next iteration draws (call it on every
        rank with the same value, before each epoch)."""
        self.epoch = int(epoch)

    def indices(self):
        """This rank's indices for the current epoch, as a NumPy int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by wrapping around (repeatedly if the set is tiny)
            reps = math.ceil(self.total_size / max(n, 1))
            order = np.tile(order, reps)[: self.total_size]
        else:
            order = order[: self.total_size]
        return order[self.rank: self.total_size: self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler(len(dataset)={len(self.dataset)}, num_replicas={self.num_replicas}, "
                f"rank={self.rank}, shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
