"""Array API searching: ``count_nonzero``, ``searchsorted`` and a ``nonzero`` that
refuses 0-d input as the standard (and NumPy 2) do."""

import builtins

import numpy as np

from .. import _core
from ._common import as_tensor, host_numpy, index_tensor

__all__ = ["count_nonzero", "nonzero", "searchsorted"]


def count_nonzero(x, /, *, axis=None, keepdims=False):
    """The number (int64) of non-zero (True, NaN, nonzero) elements over ``axis``
    (None: all, an int, or a tuple)."""
    x = as_tensor(x)
    nz = x if x.dtype.name == "bool" else x.astype(_core.bool)
    return nz.astype(_core.int64).sum(axis, keepdims)


def nonzero(x, /):
    """The indices of the non-zero elements, one int64 array per dimension, in
    row-major order."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("nonzero() of a 0-d array is not defined; use nonzero(expand_dims(x, axis=0))")
    return x.nonzero()


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Indices (int64, the shape of ``x2``) at which inserting ``x2``'s values keeps
    the 1-D ``x1`` sorted (``sorter``: indices that sort ``x1``). NaNs order as in
    ``sort``: after everything else."""
    x1 = as_tensor(x1, "x1")
    if x1.ndim != 1:
        raise ValueError(f"searchsorted: x1 must be 1-D, got shape {tuple(x1.shape)}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    values = x2 if isinstance(x2, (builtins.bool, int, float)) else host_numpy(as_tensor(x2, "x2"))
    order = None
    if sorter is not None:
        sorter = as_tensor(sorter, "sorter")
        if sorter.dtype.is_floating_point or sorter.dtype.name == "bool":
            raise TypeError(f"searchsorted: sorter must have an integer dtype, got {sorter.dtype.name}")
        if tuple(sorter.shape) != tuple(x1.shape):
            raise ValueError(f"searchsorted: sorter shape {tuple(sorter.shape)} differs from x1's {tuple(x1.shape)}")
        order = host_numpy(sorter)
    out = np.searchsorted(host_numpy(x1), values, side=side, sorter=order)
    return index_tensor(out, x1)
