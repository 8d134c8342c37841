"""Array API creation functions built from core ops: ``meshgrid``, ``tril``, ``triu``.
All are differentiable and stay on their input's device."""

import operator

from .. import _core
from ._common import as_tensor

__all__ = ["from_dlpack", "meshgrid", "tril", "triu"]


def from_dlpack(x, /, *, device=None, copy=None):
    """A tensor of the data of ``x`` (an object with ``__dlpack__``), sharing its CPU
    memory unless ``copy=True``; ``device`` moves it (a copy, refused with
    ``copy=False`` as the standard asks)."""
    t = _core.from_dlpack(x)
    if device is not None:
        dev = device if isinstance(device, _core.device) else _core.device(device)
        if dev != t.device:
            if copy is False:
                raise ValueError(f"from_dlpack(copy=False): moving to {dev} needs a copy")
            return t.to(dev)
    return t.clone() if copy else t


def meshgrid(*arrays, indexing="xy"):
    """Coordinate grids from 1-D arrays: with ``indexing='ij'`` output i varies along
    axis i; with 'xy' (Cartesian, the default) the first two axes are swapped. The
    results are broadcast views."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    ts = [as_tensor(a, f"meshgrid argument {i}") for i, a in enumerate(arrays)]
    for i, t in enumerate(ts):
        if t.ndim != 1:
            raise ValueError(f"meshgrid: argument {i} must be 1-D, got shape {tuple(t.shape)}")
    sizes = [t.shape[0] for t in ts]
    # The axis each input runs along in the output.
    axes = list(range(len(ts)))
    if indexing == "xy" and len(ts) > 1:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for t, ax in zip(ts, axes):
        shape = [1] * len(ts)
        shape[ax] = t.shape[0]
        out.append(t.reshape(tuple(shape)).broadcast_to(tuple(sizes)))
    return out


def _triangle(x, k, lower, name):
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name} needs an array of at least 2 dimensions, got shape {tuple(x.shape)}")
    k = operator.index(k)
    m, n = x.shape[-2], x.shape[-1]
    rows = _core.arange(m, device=x.device).reshape(m, 1)
    cols = _core.arange(n, device=x.device).reshape(1, n)
    # Element (i, j) is on or below diagonal k when j - i <= k. `where` (not a product
    # with the mask) keeps NaN and inf out of the zeroed half.
    keep = (cols - rows <= k) if lower else (cols - rows >= k)
    return _core.where(keep, x, _core.zeros((), dtype=x.dtype, device=x.device))


def tril(x, /, *, k=0):
    """The lower triangle of the last two axes (elements with j - i <= k), zeros above."""
    return _triangle(x, k, True, "tril")


def triu(x, /, *, k=0):
    """The upper triangle of the last two axes (elements with j - i >= k), zeros below."""
    return _triangle(x, k, False, "triu")
