"""Helpers shared by the Array API modules: argument normalization and the NumPy
round trip used where an integer result is computed on the host."""

import operator

import numpy as np

from .. import _core

Tensor = _core.Tensor


def as_tensor(x, name="x"):
    """``x`` as a tensor: tensors pass through, array-likes are converted."""
    if isinstance(x, Tensor):
        return x
    try:
        return _core._tensor(x, None, False, None, False)
    except TypeError as e:
        raise TypeError(f"{name} must be an array, got {type(x).__name__}: {e}") from None


def normalize_axis(axis, ndim, what="axis"):
    """An int axis in [-ndim, ndim) as a non-negative int, or fg.AxisError (a
    ValueError and an IndexError, as NumPy's)."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(axis).__name__}") from None
    if not -ndim <= a < ndim:
        raise _core.AxisError(f"{what} {a} is out of bounds for array of dimension {ndim}")
    return a % ndim if ndim else a


def normalize_axes(axes, ndim, what="axis"):
    """An int or a tuple of ints, normalized; repeated axes are a ValueError."""
    seq = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    out = tuple(normalize_axis(a, ndim, what) for a in seq)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated {what} in {axes!r}")
    return out


def along(axis, index):
    """An indexing key selecting ``index`` (an int or slice) along ``axis``."""
    return (slice(None),) * axis + (index,)


def host_numpy(x):
    """A NumPy copy of ``x``'s values on the host, for index computations (sorting,
    unique, searchsorted). bfloat16, which NumPy lacks, is widened to float32 (exact
    and order-preserving)."""
    t = x.detach()
    if t.device.type != "cpu":
        t = t.to("cpu")
    if t.dtype.name == "bfloat16":
        t = t.astype(_core.float32)
    return np.asarray(t)


def index_tensor(values, like):
    """An int64 tensor of ``values`` on the device of ``like``."""
    arr = np.array(values, dtype=np.int64, order="C")  # (ascontiguousarray would make 0-d 1-d)
    return _core._tensor(arr, _core.int64, True, like.device, False)
