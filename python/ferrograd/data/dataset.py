"""Datasets: anything with ``__len__`` and ``__getitem__`` returning one sample.

A dataset may also define ``get_batch(indices)`` returning a whole batch at once (an
index array in, stacked arrays out). :class:`DataLoader` uses it when present, which
avoids a Python loop over the samples: :class:`TensorDataset` and ``MNIST`` do so.
"""

import numpy as np

from .. import _core

Tensor = _core.Tensor

__all__ = ["Dataset", "TensorDataset", "Subset"]


class Dataset:
    """Base class (as ``torch.utils.data.Dataset``): subclass and define ``__len__``
    and ``__getitem__(i)``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Wraps tensors (or NumPy arrays) sharing their first dimension; sample ``i`` is
    ``tuple(t[i] for t in tensors)``. ValueError if the first dimensions differ.
    Batches from a DataLoader are always fg tensors (NumPy arrays are converted)."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = {int(t.shape[0]) if t.ndim else -1 for t in tensors}
        if len(sizes) != 1 or -1 in sizes:
            shapes = [tuple(t.shape) for t in tensors]
            raise ValueError(f"TensorDataset: size mismatch between tensors, shapes {shapes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return int(self.tensors[0].shape[0])

    def get_batch(self, indices):
        """The samples at ``indices`` (an int64 array), indexed in one go per tensor."""
        idx = _index(indices)
        return tuple(t[idx] if isinstance(t, Tensor) else _to_tensor(t[np.asarray(indices)])
                     for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (as ``torch.utils.data.Subset``)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(self.indices[np.asarray(indices)])
        return _stack_samples([self[int(i)] for i in indices])


def _index(indices):
    """A fancy index usable on both fg tensors and NumPy arrays."""
    return _core.from_numpy(np.ascontiguousarray(indices, dtype=np.int64))


def _to_tensor(x):
    if isinstance(x, Tensor):
        return x
    return _core._tensor(np.asarray(x), None, True, None, False)


def _stack_samples(samples):
    """Collates a list of samples (tuples of tensors/arrays/numbers) into a batch."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_stack_samples([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, Tensor):
        return _core.stack(list(samples))
    return _to_tensor(np.stack([np.asarray(s) for s in samples]))
