"""Array API set functions: ``unique_all``, ``unique_counts``, ``unique_inverse`` and
``unique_values``, returning the standard's named tuples.

Values are sorted ascending. As the standard asks, every NaN is its own unique value
(count one; after the other values), while -0.0 and +0.0 are one value. The grouping
runs in NumPy on the host (integer results); ``values`` is gathered from ``x`` on its
device and detached: as in PyTorch, unique is not differentiable (a perturbation
splits a group of equal values).
"""

from collections import namedtuple

import numpy as np

from ._common import as_tensor, host_numpy, index_tensor

__all__ = ["unique_all", "unique_counts", "unique_inverse", "unique_values"]

UniqueAllResult = namedtuple("UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = namedtuple("UniqueInverseResult", ["values", "inverse_indices"])


def _groups(x):
    """(first indices, inverse indices, counts) of the flattened ``x`` as NumPy
    arrays, NaNs each their own group after the sorted others."""
    flat = host_numpy(x).reshape(-1)
    nan = np.isnan(flat) if flat.dtype.kind in "fc" else np.zeros(flat.shape, dtype=bool)
    keep = np.flatnonzero(~nan)
    nan_at = np.flatnonzero(nan)
    # np.unique sorts stably when asked for indices, so `first` is each value's first
    # occurrence; -0.0 == +0.0 puts signed zeros in one group.
    _, first, inverse, counts = np.unique(flat[keep], return_index=True, return_inverse=True, return_counts=True)
    first = np.concatenate([keep[first], nan_at])
    inv = np.empty(flat.shape, dtype=np.int64)
    inv[keep] = inverse.reshape(-1)
    inv[nan_at] = len(counts) + np.arange(len(nan_at))
    counts = np.concatenate([counts, np.ones(len(nan_at), dtype=np.int64)])
    return first.astype(np.int64), inv, counts.astype(np.int64)


def unique_all(x, /):
    """(values, indices of first occurrences, inverse_indices with ``x``'s shape,
    counts) of the unique elements of the flattened ``x``."""
    x = as_tensor(x)
    first, inverse, counts = _groups(x)
    indices = index_tensor(first, x)
    values = x.detach().reshape(-1).take(indices, 0)
    return UniqueAllResult(values, indices, index_tensor(inverse.reshape(tuple(x.shape)), x), index_tensor(counts, x))


def unique_counts(x, /):
    """(values, counts) of the unique elements of the flattened ``x``."""
    r = unique_all(x)
    return UniqueCountsResult(r.values, r.counts)


def unique_inverse(x, /):
    """(values, inverse_indices) with ``values[inverse_indices] == x``."""
    r = unique_all(x)
    return UniqueInverseResult(r.values, r.inverse_indices)


def unique_values(x, /):
    """The sorted unique elements of the flattened ``x`` (each NaN kept)."""
    return unique_all(x).values
