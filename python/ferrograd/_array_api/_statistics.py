"""Array API statistics: ``cumulative_sum``, ``cumulative_prod``, and ``sum``/``prod``
with the standard's ``dtype=`` argument.

The cumulative functions are an inclusive Hillis-Steele scan over core ops: log2(n)
rounds of "add the prefix shifted by 2^k", each a slice, an add (or multiply) and a
concat. That is O(n log n) work instead of a dedicated kernel's O(n), but it needs no
new kernel, is differentiable (PyTorch's cumsum/cumprod are) and runs on every device.
Integer results are exact (wrapping arithmetic does not depend on the order); floating
sums are added pairwise, as accurately as a sequential sum or better.
"""

import operator

from .. import _core
from . import _dtypes
from ._common import along, as_tensor, normalize_axis

__all__ = ["cumulative_prod", "cumulative_sum", "prod", "sum"]


def _accumulation_dtype(x, dtype):
    """The standard's result dtype of sum/prod/cumulative_*: ``dtype`` if given; else
    integers narrower than the default int64 widen (signed to int64, unsigned to
    uint64), bool counts as int64 (as NumPy and PyTorch), other dtypes are kept."""
    if dtype is not None:
        return _dtypes.dtype_of_name(_dtypes.name_of(dtype, "dtype"))
    name = x.dtype.name
    kind = _dtypes.kind_of(name)
    if kind == "bool" or (kind == "signed integer" and _dtypes.bits_of(name) < 64):
        return _core.int64
    if kind == "unsigned integer" and _dtypes.bits_of(name) < 64:
        return _dtypes.dtype_of_name("uint64") or _core.int64
    return x.dtype


def _cast(x, dtype):
    return x if x.dtype == dtype else x.astype(dtype)


def _reduction_axis(axis, dim):
    if axis is not None and dim is not None:
        raise TypeError("pass either axis or dim, not both")
    return dim if axis is None else axis


def sum(x, /, axis=None, *, dtype=None, keepdims=False, dim=None, keepdim=None):  # noqa: A001
    """Sum over ``axis`` (None: all; an int or a tuple) in ``dtype`` (see
    ``_accumulation_dtype``); the input is cast first, so a wider dtype avoids overflow."""
    x = as_tensor(x)
    kd = keepdims if keepdim is None else keepdim
    d = _accumulation_dtype(x, dtype)
    # (the core widens narrow integers to 64 bits: an asked-for dtype is kept)
    return _cast(_cast(x, d).sum(_reduction_axis(axis, dim), kd), d)


def prod(x, /, axis=None, *, dtype=None, keepdims=False, dim=None, keepdim=None):
    """Product over ``axis`` in ``dtype``, cast first as in ``sum``."""
    x = as_tensor(x)
    kd = keepdims if keepdim is None else keepdim
    d = _accumulation_dtype(x, dtype)
    return _cast(_cast(x, d).prod(_reduction_axis(axis, dim), kd), d)


def _scan(x, axis, combine):
    """Inclusive scan of ``x`` along ``axis``: out[i] = x[0] (+) ... (+) x[i]."""
    n = x.shape[axis]
    step = 1
    while step < n:
        head = x[along(axis, slice(0, step))]
        tail = combine(x[along(axis, slice(step, None))], x[along(axis, slice(0, n - step))])
        x = _core.concat([head, tail], axis=axis)
        step *= 2
    return x


def _cumulative(x, axis, dtype, include_initial, combine, identity, name):
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError(f"{name} needs an array of at least one dimension (got a 0-d array)")
    if axis is None:
        if x.ndim > 1:
            raise ValueError(f"{name}: axis is required for a {x.ndim}-d array")
        axis = 0
    axis = normalize_axis(axis, x.ndim)
    x = _cast(x, _accumulation_dtype(x, dtype))
    out = _scan(x, axis, combine)
    if include_initial:
        shape = list(x.shape)
        shape[axis] = 1
        first = _core.full(tuple(shape), identity, dtype=x.dtype, device=x.device)
        out = _core.concat([first, out], axis=axis)
    return out


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running sums along ``axis`` (optional for 1-D input); with ``include_initial``
    a leading 0. ``dtype`` as in ``sum``. Differentiable."""
    return _cumulative(x, axis, dtype, include_initial, operator.add, 0, "cumulative_sum")


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running products along ``axis``; with ``include_initial`` a leading 1.
    Differentiable (also through zeros: it is a product of the inputs, not a quotient)."""
    return _cumulative(x, axis, dtype, include_initial, operator.mul, 1, "cumulative_prod")
