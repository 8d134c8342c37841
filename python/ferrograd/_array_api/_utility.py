"""Array API utility functions: ``diff`` (all/any come from the core reductions)."""

import operator

from .. import _core
from ._common import along, as_tensor, normalize_axis

__all__ = ["diff"]


def _edge(v, x, axis, what):
    """``prepend``/``append`` as a tensor; a scalar becomes one slice along ``axis``
    (NumPy's convenience)."""
    if not isinstance(v, _core.Tensor) and not hasattr(v, "__len__"):
        shape = list(x.shape)
        shape[axis] = 1
        return _core.full(tuple(shape), v, dtype=x.dtype, device=x.device)
    return as_tensor(v, what)


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The n-th forward difference along ``axis``: out[i] = x[i+1] - x[i], applied n
    times, after joining ``prepend`` and ``append`` to ``x`` along ``axis``. For bool
    input the difference is "not equal" (as NumPy). Differentiable."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("diff needs an array of at least one dimension (got a 0-d array)")
    axis = normalize_axis(axis, x.ndim)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    parts = [x]
    if prepend is not None:
        parts.insert(0, _edge(prepend, x, axis, "prepend"))
    if append is not None:
        parts.append(_edge(append, x, axis, "append"))
    if len(parts) > 1:
        x = _core.concat(parts, axis=axis)
    for _ in range(n):
        if x.shape[axis] == 0:  # further differences of nothing are nothing
            break
        hi, lo = x[along(axis, slice(1, None))], x[along(axis, slice(0, -1))]
        x = hi.logical_xor(lo) if x.dtype.name == "bool" else hi - lo
    return x
