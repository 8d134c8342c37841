"""Tensor methods and namespace functions the Array API asks of the array object and
that are written in Python: ``to_device``, ``__complex__``, a version-checking
``__array_namespace__``, a ``__dlpack__`` that honours ``dl_device``, and
``astype(..., device=)``."""

from .. import _core

Tensor = _core.Tensor

# The standard's versions this namespace implements (the newest is the default).
SUPPORTED_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")

__all__ = ["astype"]


def _to_device(self, device, /, *, stream=None):
    """A copy of this array on ``device`` (``self`` when it is already there)."""
    if stream is not None:
        raise ValueError("to_device(stream=...): ferrograd has no user-visible streams; pass stream=None")
    return self.to(device)


def _complex(self, /):
    """``complex(x)`` of a one-element array."""
    return complex(self.item())


def _array_namespace(self, /, *, api_version=None):
    """The ``ferrograd`` module, which implements the Array API (``api_version``: one
    of SUPPORTED_VERSIONS, or None for the newest)."""
    if api_version is not None and api_version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"unsupported array API version {api_version!r}; ferrograd implements {', '.join(SUPPORTED_VERSIONS)}"
        )
    import ferrograd

    return ferrograd


_core_dlpack = Tensor.__dlpack__


def _dlpack(self, /, *, stream=None, max_version=None, dl_device=None, copy=None):
    """DLPack export (CPU memory). ``dl_device`` other than the tensor's own device
    is a BufferError, as the standard asks, rather than being ignored."""
    if dl_device is not None and tuple(dl_device) != tuple(self.__dlpack_device__()):
        raise BufferError(f"__dlpack__: cannot export to DLPack device {tuple(dl_device)}; "
                          f"the tensor is on {tuple(self.__dlpack_device__())}")
    return _core_dlpack(self, stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` cast to ``dtype`` (always a new array with ``copy=True``; ``x`` itself when
    ``copy=False`` and nothing changes), on ``device`` if given."""
    if not isinstance(x, Tensor):
        x = _core._tensor(x, None, False, None, False)
    if not copy and x.dtype == dtype and (device is None or x.device == device):
        return x  # the standard asks for the input itself, not a new view of it
    out = x.astype(dtype, copy)
    if device is not None:
        moved = out.to(device)
        # Moving already copies: a second copy for copy=True would be wasted.
        return moved
    return out


Tensor.to_device = _to_device
Tensor.__complex__ = _complex
Tensor.__dlpack__ = _dlpack
Tensor.__array_namespace__ = _array_namespace
