"""Array API sorting: ``sort`` and ``argsort``, always stable, with NumPy's NaN
placement (NaNs sort as the largest values: last ascending, first descending).

The permutation is found by NumPy's stable sort on the host (it is integer data with no
gradient); ``sort``'s values are then gathered on the tensor's device with
``take_along_axis``, so they carry autograd as PyTorch's ``sort`` values do.
"""

import numpy as np

from .. import _core
from ._common import as_tensor, host_numpy, index_tensor, normalize_axis

__all__ = ["argsort", "sort"]


def _stable_argsort(a, axis, descending):
    """Indices sorting ``a`` along ``axis``; ties keep their input order in both
    directions (a descending sort is the ascending sort of the reversed array, read
    backwards, which keeps ties in order where negating would reverse them)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = np.flip(a, axis=axis)
    return (n - 1) - np.flip(np.argsort(rev, axis=axis, kind="stable"), axis=axis)


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """Indices (int64) that sort ``x`` along ``axis``. The sort is always stable
    (``stable=False`` is accepted and gives the same answer)."""
    x = as_tensor(x)
    if x.ndim == 0:
        normalize_axis(axis, 1)
        return index_tensor(np.zeros((), dtype=np.int64), x)
    axis = normalize_axis(axis, x.ndim)
    return index_tensor(_stable_argsort(host_numpy(x), axis, bool(descending)), x)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """A sorted copy of ``x`` along ``axis`` (stable, NaNs last ascending); the values
    are differentiable."""
    x = as_tensor(x)
    if x.ndim == 0:
        normalize_axis(axis, 1)
        return x.clone()
    axis = normalize_axis(axis, x.ndim)
    idx = argsort(x, axis=axis, descending=descending, stable=stable)
    return _core.take_along_axis(x, idx, axis=axis)
