"""``fg.__array_namespace_info__()``: what this build supports, per device.

Default dtypes are PyTorch's (float32, int64, complex64), which is what ``fg.asarray``
makes of Python scalars; the standard recommends float64 but leaves the choice to the
library, and the conformance suite reads the defaults back from ``asarray``.
"""

from .. import _core
from . import _dtypes

# Devices whose dtype support is probed once (creating a tiny tensor per dtype).
_SUPPORTED = {}


def _devices():
    out = [_core.device("cpu")]
    if _core.wgpu_is_available():
        out.append(_core.device("wgpu"))
    return out


def _device(device):
    if device is None:
        return _core.device("cpu")
    try:
        dev = device if isinstance(device, _core.device) else _core.device(device)
    except (TypeError, ValueError, RuntimeError) as e:  # the core says RuntimeError
        raise ValueError(f"unknown device {device!r}: {e}") from None
    if dev not in _devices():
        raise ValueError(f"device {dev!r} is not available; available: {_devices()}")
    return dev


def supported_names(device):
    """The dtype names that tensors on ``device`` can hold. The CPU holds every dtype;
    other devices are asked once (the GPU holds no float64, for instance)."""
    dev = _device(device)
    if dev.type == "cpu":
        return _dtypes.available_names()
    if dev.type not in _SUPPORTED:
        names = []
        for name in _dtypes.available_names():
            try:
                _core.zeros((1,), dtype=_dtypes.dtype_of_name(name), device=dev)
                names.append(name)
            except (TypeError, ValueError, RuntimeError):
                pass
        _SUPPORTED[dev.type] = names
    return _SUPPORTED[dev.type]


class Info:
    """The namespace inspection utilities (``info = fg.__array_namespace_info__()``)."""

    __module__ = "ferrograd"

    def capabilities(self):
        # CPU tensors take any number of dimensions, hence None. (A wgpu kernel takes
        # at most 8 dimensions once contiguous ones are merged: a per-device limit this
        # library-wide key cannot express; docs/array_api.md notes it.)
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": None}

    def default_device(self):
        return _core.device("cpu")

    def devices(self):
        return _devices()

    def default_dtypes(self, *, device=None):
        _device(device)
        out = {
            "real floating": _core._tensor(0.0, None, False, None, False).dtype,
            "integral": _core._tensor(0, None, False, None, False).dtype,
            "indexing": _core.int64,
        }
        complex_default = _dtypes.dtype_of_name("complex64")
        if complex_default is not None:
            out["complex floating"] = complex_default
        return out

    def dtypes(self, *, device=None, kind=None):
        names = [n for n in supported_names(device) if n in _dtypes.STANDARD_NAMES]
        if kind is not None:
            names = [n for n in names if _dtypes.isdtype(_dtypes.dtype_of_name(n), kind)]
        return {n: _dtypes.dtype_of_name(n) for n in names}


_INFO = Info()


def __array_namespace_info__():
    """The Array API inspection namespace: capabilities(), default_device(), devices(),
    default_dtypes(device=), dtypes(device=, kind=)."""
    return _INFO
