"""``ferrograd.fft``: the fast Fourier transform extension of the Python Array API
standard (2024.12).

    import ferrograd as fg
    x = fg.randn((8, 16))
    X = fg.fft.rfft(x)                       # complex64, shape (8, 9)
    y = fg.fft.irfft(X, n=16)                # float32, equals x to rounding
    f = fg.fft.fftshift(fg.fft.fftfreq(16))  # sample frequencies, zero in the middle

The transforms (fft, ifft, fftn, ifftn, rfft, irfft, rfftn, irfftn, hfft, ihfft) run on
the host through NumPy's pocketfft (``numpy.fft``): the input is viewed as a NumPy
array (zero-copy for a CPU tensor; a tensor on another device is copied to the host),
transformed, cast to the dtype the standard asks for and returned on the input's
device. Result dtypes follow the standard: precision is kept (complex64 in, complex64
out; float32 into rfft gives complex64; complex128 into irfft gives float64). Where the
standard says "should" about the input's dtype, NumPy's and PyTorch's leniency is kept:
fft/ifft/fftn/ifftn/irfft/irfftn/hfft also take a real input (treated as complex with
zero imaginary part); integer inputs and float16/bfloat16 are computed in single
precision (there is no complex32). bool inputs and complex inputs to the real-input
transforms (rfft, rfftn, ihfft) are a TypeError.

The transforms are not differentiable: ferrograd has no complex autograd. Rather than
silently cutting the graph (a PyTorch user would expect gradients to flow), they raise
RuntimeError when grad mode is on and the input requires grad; call them under
``fg.no_grad()`` or on ``x.detach()`` to say that no gradient is wanted.

A tensor on a device that cannot hold the result's dtype (wgpu holds no complex dtype)
is a TypeError raised before any work: only irfft/irfftn/hfft of a real float32 wgpu
tensor can return on wgpu. Move the input with ``x.to("cpu")`` first.

fftshift, ifftshift, fftfreq and rfftfreq are compositions of tensor ops (roll, arange),
so they run on any device and fftshift/ifftshift are differentiable.

Departures from NumPy, following the standard: ``s`` without ``axes`` is a ValueError
(NumPy 2 deprecates it); repeated axes are a ValueError (the standard leaves them
unspecified, PyTorch refuses them too); an entry of ``s`` equal to -1 means "the input's
size along that axis" (for irfftn's last axis: ``2*(M-1)``). See docs/array_api.md.
"""

import builtins
import operator

import numpy as np

from . import _core
from ._array_api._info import supported_names
from .autograd import is_grad_enabled

Tensor = _core.Tensor

__all__ = [
    "fft",
    "ifft",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

_NORMS = ("backward", "ortho", "forward")
_DOUBLE = ("float64", "complex128")


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------

def _tensor(name, x):
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"fft.{name}: x must be a ferrograd Tensor, got {type(x).__name__}")


def _int(name, what, v):
    # bool is an int subclass, but True as a length is surely a mistake.
    if isinstance(v, builtins.bool):
        raise TypeError(f"fft.{name}: {what} must be an integer, got bool")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"fft.{name}: {what} must be an integer, got {type(v).__name__}") from None


def _check_norm(name, norm):
    if norm not in _NORMS:
        raise ValueError(f"fft.{name}: norm must be one of 'backward', 'ortho', 'forward', got {norm!r}")


def _axis(name, axis, ndim):
    a = _int(name, "axis", axis)
    if not -ndim <= a < ndim:
        raise _core.AxisError(
            f"fft.{name}: axis {a} is out of bounds for a {ndim}-dimensional array "
            f"(valid: {-ndim} to {ndim - 1})" if ndim else
            f"fft.{name}: a 0-dimensional array has no axis to transform"
        )
    return a % ndim


def _length(name, what, n):
    n = _int(name, what, n)
    if n < 1:
        raise ValueError(f"fft.{name}: {what} must be at least 1, got {n}")
    return n


def _axes(name, axes, ndim, *, allow_int=False):
    """Normalized, unique axes (a list). ``None`` means every axis."""
    if axes is None:
        return list(range(ndim))
    if allow_int and not isinstance(axes, (tuple, list)):
        axes = (axes,)
    if not isinstance(axes, (tuple, list)):
        raise TypeError(f"fft.{name}: axes must be a sequence of integers, got {type(axes).__name__}")
    out = [_axis(name, a, ndim) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"fft.{name}: axes must not repeat an axis, got {tuple(axes)}")
    return out


# ---------------------------------------------------------------------------
# dtypes and the host round trip
# ---------------------------------------------------------------------------

def _kind(x):
    n = x.dtype.name
    if n.startswith("complex"):
        return "complex"
    if n == "bool":
        return "bool"
    return "real"  # real floating or integer


def _check_input(name, x, *, real_only):
    k = _kind(x)
    if k == "bool":
        raise TypeError(f"fft.{name}: a bool array has no Fourier transform; give a floating-point array")
    if real_only and k == "complex":
        raise TypeError(
            f"fft.{name}: the input must be real-valued floating-point, got {x.dtype.name}"
            f" (use fft.{'fft' if name == 'rfft' else 'fftn' if name == 'rfftn' else 'ifft'} for complex input)"
        )
    if x.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"fg.fft.{name} is not differentiable (ferrograd has no complex autograd) and x requires grad; "
            "call it on x.detach() or under fg.no_grad() if no gradient is needed"
        )


def _out_dtype(x, out_kind):
    """The standard's result dtype: the input's precision, with the asked-for kind.
    Single precision for everything that is not float64/complex128 (integers,
    float16, bfloat16: there is no complex32)."""
    double = x.dtype.name in _DOUBLE
    if out_kind == "complex":
        return "complex128" if double else "complex64"
    return "float64" if double else "float32"


def _host(name, x, out_name):
    """``x`` as a NumPy array in the precision of the result. Checks first that the
    input's device can hold the result, so that a wgpu tensor fails before the copy."""
    dev = x.device
    if dev.type != "cpu" and out_name not in supported_names(dev):
        raise TypeError(
            f"fft.{name}: the result would be {out_name}, which {dev.type} tensors cannot hold "
            f"({dev.type} holds {', '.join(supported_names(dev))}); move the input to the CPU with x.to('cpu') first"
        )
    a = np.asarray(x if dev.type == "cpu" else x.to("cpu"))
    # Compute in the result's precision: NumPy >= 2 transforms float32/complex64
    # natively (faster, pocketfft's error is O(eps log n)); NumPy 1.x upcasts to double
    # and the result is cast back below. float16/bfloat16/int become float32 here.
    if out_name in _DOUBLE:
        want = np.complex128 if a.dtype.kind == "c" else np.float64
    else:
        want = np.complex64 if a.dtype.kind == "c" else np.float32
    return a.astype(want, copy=False)


def _back(res, x, out_name):
    # (np.ascontiguousarray would turn a 0-d result into 1-d.)
    res = np.asarray(res, dtype=np.dtype(out_name))
    if not res.flags.c_contiguous:
        res = res.copy()
    t = _core.from_numpy(res)
    return t if x.device.type == "cpu" else t.to(x.device)


def _one_d(name, npfunc, x, n, axis, norm, *, real_only, out_kind, c2r=False):
    x = _tensor(name, x)
    _check_norm(name, norm)
    ax = _axis(name, axis, x.ndim)
    m = x.shape[ax]
    if n is not None:
        n = _length(name, "n", n)
    elif c2r:
        # The default output length 2*(M-1) is at least 1 only for M >= 2.
        if m < 2:
            raise ValueError(
                f"fft.{name}: the default n = 2*(M-1) needs at least 2 elements along axis {ax}, "
                f"got {m}; pass n explicitly"
            )
    elif m < 1:
        raise ValueError(f"fft.{name}: axis {ax} has no elements to transform; pass n >= 1 to zero-pad")
    _check_input(name, x, real_only=real_only)
    out_name = _out_dtype(x, out_kind)
    res = npfunc(_host(name, x, out_name), n=n, axis=ax, norm=norm)
    return _back(res, x, out_name)


def _n_d(name, npfunc, x, s, axes, norm, *, real_only, out_kind, c2r=False):
    x = _tensor(name, x)
    _check_norm(name, norm)
    if s is not None and axes is None:
        raise ValueError(f"fft.{name}: s was given without axes; the standard requires both (axes=... for the axes s sizes)")
    ax = _axes(name, axes, x.ndim)
    if c2r or real_only:
        if not ax:
            # The real transforms halve the last transformed axis: there must be one.
            raise ValueError(f"fft.{name}: needs at least one axis to transform (x is {x.ndim}-d, axes={axes!r})")
    if s is None:
        s = [x.shape[a] for a in ax]
        if c2r and ax:
            s[-1] = 2 * (x.shape[ax[-1]] - 1)
    else:
        if not isinstance(s, (tuple, list)):
            raise TypeError(f"fft.{name}: s must be a sequence of integers, got {type(s).__name__}")
        if len(s) != len(ax):
            raise ValueError(f"fft.{name}: s has {len(s)} entries but axes has {len(ax)}; they must match")
        s = [_int(name, "each entry of s", v) for v in s]
        for i, v in enumerate(s):
            if v == -1:  # the standard's "use the whole axis"
                m = x.shape[ax[i]]
                s[i] = 2 * (m - 1) if c2r and i == len(s) - 1 else m
    for i, v in enumerate(s):
        if v < 1:
            hint = " (the default for the last axis is 2*(M-1), which needs M >= 2)" if c2r and i == len(s) - 1 else ""
            raise ValueError(f"fft.{name}: the transform length along axis {ax[i]} must be at least 1, got {v}{hint}")
    _check_input(name, x, real_only=real_only)
    out_name = _out_dtype(x, out_kind)
    a = _host(name, x, out_name)
    if not ax:  # fftn/ifftn over no axes: the identity (an empty product of 1-D transforms);
        # copied, since ``a`` may be a zero-copy view of x and the result must not alias it.
        return _back(a.copy(), x, out_name)
    res = npfunc(a, s=s, axes=ax, norm=norm)
    return _back(res, x, out_name)


# ---------------------------------------------------------------------------
# the transforms
# ---------------------------------------------------------------------------

def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """One-dimensional discrete Fourier transform along ``axis``, zero-padded or trimmed
    to ``n`` points. Complex result of the input's precision. Not differentiable."""
    return _one_d("fft", np.fft.fft, x, n, axis, norm, real_only=False, out_kind="complex")


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """One-dimensional inverse discrete Fourier transform (``norm='backward'`` divides
    by ``n``). Complex result of the input's precision. Not differentiable."""
    return _one_d("ifft", np.fft.ifft, x, n, axis, norm, real_only=False, out_kind="complex")


def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional discrete Fourier transform over ``axes`` (all by default), each
    zero-padded or trimmed to the matching entry of ``s``. Not differentiable."""
    return _n_d("fftn", np.fft.fftn, x, s, axes, norm, real_only=False, out_kind="complex")


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional inverse discrete Fourier transform. Not differentiable."""
    return _n_d("ifftn", np.fft.ifftn, x, s, axes, norm, real_only=False, out_kind="complex")


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Discrete Fourier transform of a real input: the ``n//2 + 1`` non-negative
    frequency terms, complex of the input's precision. Not differentiable."""
    return _one_d("rfft", np.fft.rfft, x, n, axis, norm, real_only=True, out_kind="complex")


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Inverse of ``rfft``: ``n`` real output points (default ``2*(M-1)``; pass an odd
    ``n`` for an odd length), real of the input's precision. Not differentiable."""
    return _one_d("irfft", np.fft.irfft, x, n, axis, norm, real_only=False, out_kind="real", c2r=True)


def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional transform of a real input; the last axis keeps ``s[-1]//2 + 1``
    terms. Not differentiable."""
    return _n_d("rfftn", np.fft.rfftn, x, s, axes, norm, real_only=True, out_kind="complex")


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """Inverse of ``rfftn``: real output of shape ``s`` along ``axes`` (the last axis
    defaults to ``2*(M-1)``). Not differentiable."""
    return _n_d("irfftn", np.fft.irfftn, x, s, axes, norm, real_only=False, out_kind="real", c2r=True)


def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Transform of a signal with Hermitian symmetry given by its first half: ``n`` real
    output points (default ``2*(M-1)``). Not differentiable."""
    return _one_d("hfft", np.fft.hfft, x, n, axis, norm, real_only=False, out_kind="real", c2r=True)


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Inverse of ``hfft`` for a real input: ``n//2 + 1`` complex terms.
    Not differentiable."""
    return _one_d("ihfft", np.fft.ihfft, x, n, axis, norm, real_only=True, out_kind="complex")


# ---------------------------------------------------------------------------
# frequencies and shifts: tensor ops, so any device, and differentiable shifts
# ---------------------------------------------------------------------------

def _freq_dtype(name, dtype):
    if dtype is None:
        # The default real floating dtype (float32, as fg.asarray(1.0)).
        return _core._tensor(0.0, None, False, None, False).dtype
    if not isinstance(dtype, _core.dtype):
        raise TypeError(f"fft.{name}: dtype must be a ferrograd dtype, got {dtype!r}")
    if dtype.name not in ("float16", "bfloat16", "float32", "float64"):
        raise TypeError(f"fft.{name}: dtype must be a real floating-point dtype, got {dtype.name}")
    return dtype


def _check_d(name, d):
    if isinstance(d, builtins.bool) or not isinstance(d, (int, float, np.integer, np.floating)):
        raise TypeError(f"fft.{name}: d (the sample spacing) must be a real number, got {type(d).__name__}")
    if d == 0:
        raise ValueError(f"fft.{name}: d (the sample spacing) must not be zero")
    return float(d)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """The ``n`` sample frequencies of an ``n``-point transform with sample spacing
    ``d``: ``[0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d*n)``."""
    n = _length("fftfreq", "n", n)
    d = _check_d("fftfreq", d)
    dt = _freq_dtype("fftfreq", dtype)
    # Integers are exact in every float dtype up to 2**11 (float16); n is a length, so
    # build the index list in int64 and cast once, then scale by a Python float (weak,
    # keeps dt), as NumPy multiplies by 1/(n*d).
    k = _core.arange(n, dtype=_core.int64, device=device)
    k = k - (k >= (n + 1) // 2).astype(_core.int64, True) * n
    return k.astype(dt, True) * (1.0 / (n * d))


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """The ``n//2 + 1`` non-negative sample frequencies of an ``n``-point real transform:
    ``[0, 1, ..., n//2] / (d*n)``."""
    n = _length("rfftfreq", "n", n)
    d = _check_d("rfftfreq", d)
    dt = _freq_dtype("rfftfreq", dtype)
    k = _core.arange(n // 2 + 1, dtype=_core.int64, device=device)
    return k.astype(dt, True) * (1.0 / (n * d))


def _shift(name, x, axes, sign):
    from . import roll  # the Array API roll (differentiable, any device)

    x = _tensor(name, x)
    ax = _axes(name, axes, x.ndim, allow_int=True)
    if not ax:  # nothing to shift (a 0-d array, or axes=[]): a copy, as roll returns
        return roll(x, (), axis=())
    shifts = tuple(sign * (x.shape[a] // 2) for a in ax)
    return roll(x, shifts, axis=tuple(ax))


def fftshift(x, /, *, axes=None):
    """Moves the zero-frequency term to the centre of ``axes`` (all by default): a roll
    by ``size//2``. Differentiable; runs on the tensor's device."""
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, /, *, axes=None):
    """Inverse of ``fftshift``: a roll by ``-(size//2)`` (differs from fftshift for odd
    sizes). Differentiable; runs on the tensor's device."""
    return _shift("ifftshift", x, axes, -1)
