"""Array API manipulation functions: moveaxis, repeat, roll, tile, unstack, and
standard-conforming expand_dims (a tuple of axes too), reshape (``copy=``) and squeeze.

All are compositions of views, slicing, concat and take, so they carry autograd and
run on every device the core ops run on.
"""

import builtins
import operator

import numpy as np

from .. import _core
from ._common import along, as_tensor, index_tensor, normalize_axes, normalize_axis

__all__ = ["expand_dims", "moveaxis", "repeat", "reshape", "roll", "squeeze", "tile", "unstack"]


def expand_dims(x, /, axis=0):
    """Insert size-one axes at ``axis`` (an int or a tuple of ints), counted in the
    result's dimensions as NumPy does. An axis out of range is an IndexError."""
    x = as_tensor(x)
    if isinstance(axis, (tuple, list)):
        out_ndim = x.ndim + len(axis)
        axes = sorted(normalize_axes(axis, out_ndim))
    else:
        axes = [normalize_axis(axis, x.ndim + 1)]
    for a in axes:
        x = x.unsqueeze(a)
    return x


def reshape(x, /, shape, *, copy=None):
    """Reshape; ``copy=True`` always copies, ``copy=False`` raises ValueError when the
    reshape cannot be a view."""
    x = as_tensor(x)
    out = x.reshape(tuple(shape) if isinstance(shape, (tuple, list)) else (shape,))
    if copy:
        return out.clone()
    if copy is False and out.size and not out._shares_storage(x):
        raise ValueError(f"reshape(copy=False): shape {tuple(x.shape)} with strides "
                         f"{tuple(x.stride())} cannot be viewed as {tuple(out.shape)} without a copy")
    return out


def squeeze(x, /, axis=None):
    """Remove size-one axes: those in ``axis`` (an int or tuple; a ValueError names an
    axis whose size is not one), or all of them when ``axis`` is None."""
    return as_tensor(x).squeeze(axis)


def moveaxis(x, source, destination, /):
    """Move axes ``source`` to positions ``destination`` (ints or equal-length tuples),
    the others keeping their order."""
    x = as_tensor(x)
    src = normalize_axes(source, x.ndim, "source")
    dst = normalize_axes(destination, x.ndim, "destination")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} differ in length")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.permute(*order)


def roll(x, /, shift, *, axis=None):
    """Shift elements cyclically by ``shift`` along ``axis`` (None: the flattened
    array, reshaped back). ``shift`` and ``axis`` may be equal-length tuples, or an int
    shift with a tuple of axes."""
    x = as_tensor(x)
    if axis is None:
        if isinstance(shift, (tuple, list)):
            raise ValueError("roll: a tuple shift needs a tuple axis of the same length")
        return roll(x.reshape(-1), shift, axis=0).reshape(x.shape)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,) * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} differ in length")
    for s, a in zip(shifts, axes):
        a = normalize_axis(a, x.ndim)
        n = x.shape[a]
        s = operator.index(s) % n if n else 0
        if s:
            x = _core.concat([x[along(a, slice(n - s, None))], x[along(a, slice(0, n - s))]], axis=a)
    return x


def repeat(x, repeats, /, *, axis=None):
    """Repeat each element ``repeats`` times (an int, or an integer array of one count
    per element, or one count) along ``axis`` (None: the flattened array)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    else:
        axis = normalize_axis(axis, x.ndim)
    n = x.shape[axis]
    if isinstance(repeats, (list, tuple, np.ndarray)):  # NumPy's array-likes of counts
        repeats = as_tensor(repeats, "repeats")
    if isinstance(repeats, _core.Tensor):
        if repeats.dtype.is_floating_point or repeats.dtype.name == "bool":
            raise TypeError(f"repeat: repeats must have an integer dtype, got {repeats.dtype.name}")
        if repeats.ndim > 1:
            raise ValueError(f"repeat: repeats must be 0-d or 1-d, got shape {tuple(repeats.shape)}")
        counts = np.asarray(repeats.to("cpu") if repeats.device.type != "cpu" else repeats).reshape(-1)
        if counts.size == 1:
            repeats = int(counts[0])
        elif counts.size != n:
            raise ValueError(f"repeat: {counts.size} repeats for an axis of size {n}")
        else:
            if (counts < 0).any():
                raise ValueError("repeat: repeats must be non-negative")
            return x.take(index_tensor(np.repeat(np.arange(n), counts), x), axis)
    r = operator.index(repeats)
    if r < 0:
        raise ValueError(f"repeat: repeats must be non-negative, got {r}")
    # A broadcast along a new axis after `axis`, merged into it: a view plus one copy.
    shape = list(x.shape)
    wide = shape[: axis + 1] + [r] + shape[axis + 1:]
    out = x.unsqueeze(axis + 1).broadcast_to(tuple(wide))
    shape[axis] = n * r
    return out.reshape(tuple(shape))


def tile(x, repetitions, /):
    """Tile ``x`` ``repetitions[i]`` times along each axis; the shorter of x.shape and
    repetitions is padded with leading ones."""
    x = as_tensor(x)
    if not isinstance(repetitions, (tuple, list)):  # an int, as NumPy allows
        repetitions = (repetitions,)
    reps = tuple(operator.index(r) for r in repetitions)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be non-negative, got {reps}")
    ndim = builtins.max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + tuple(x.shape)
    # Interleave a broadcast axis before each axis: (r0, s0, r1, s1, ...), then merge.
    inter = x.reshape(tuple(v for s in shape for v in (1, s)))
    wide = inter.broadcast_to(tuple(v for r, s in zip(reps, shape) for v in (r, s)))
    return wide.reshape(tuple(r * s for r, s in zip(reps, shape)))


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple of views."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("unstack needs an array of at least one dimension")
    axis = normalize_axis(axis, x.ndim)
    return tuple(x[along(axis, i)] for i in range(x.shape[axis]))
