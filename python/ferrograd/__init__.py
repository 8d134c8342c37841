"""ferrograd: tensors with NumPy semantics and PyTorch's conventions, on a Rust core.

    import ferrograd as fg
    x = fg.randn((3, 4))
    y = (x @ x.T).softmax(axis=-1)

The heavy lifting (kernels, broadcasting, indexing) is in the compiled ``_core``
module; this package adds the NumPy/Array-API function namespace and conveniences.
"""

from . import _core
from ._core import AxisError, InternalError, Tensor, device, dtype
from ._core import bool, float32, float64, int64  # noqa: A004 (NumPy does the same)
from ._core import int8, int16, int32, uint8, uint16, uint32, uint64  # noqa: F401
from ._core import float16, bfloat16, complex64, complex128  # noqa: F401
from ._core import (
    arange,
    concat,
    empty,
    eye,
    from_dlpack,
    from_numpy,
    full,
    cached_bytes,
    empty_cache,
    get_cpu_capability,
    get_num_threads,
    initial_seed,
    linspace,
    manual_seed,
    one_hot,
    ones,
    rand,
    randint,
    randn,
    set_num_threads,
    split,
    stack,
    synchronize,
    take_along_axis,
    zeros,
)
from ._functions import *  # noqa: F401,F403
from ._functions import __all__ as _function_names
from . import _tensor_methods  # noqa: F401  (adds Python-side Tensor methods)
# The rest of the Array API (and conforming versions of sum, prod, reshape, ...),
# imported after _functions so that its names win.
from ._array_api import *  # noqa: F401,F403
from ._array_api import __all__ as _array_api_names
from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import nn
from . import optim
from .serialization import load, save
from . import data, train
from . import distributed
from . import lab
from . import models
from . import linalg
from .linalg import matrix_transpose, tensordot, vecdot
from . import fft

__version__ = "0.1.0"
__array_api_version__ = "2024.12"

_where = getattr(_core, "where")
where = _where


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None, requires_grad=False, m=None):
    """The identity-like matrix with ones on diagonal ``k`` (``numpy.eye``; ``m`` is
    PyTorch's name for ``n_cols``); a ``k`` beyond the matrix gives zeros, whatever its
    size."""
    if m is not None:
        if n_cols is not None:
            raise TypeError("eye() got both n_cols and m")
        n_cols = m
    cols = n_rows if n_cols is None else n_cols
    # (bool here is fg.bool, the dtype: a Python bool k is an int subclass either way)
    if type(k) is int and type(n_rows) is int and type(cols) is int:
        k = -n_rows - 1 if k < -n_rows - 1 else cols + 1 if k > cols + 1 else k
    return _core.eye(n_rows, n_cols, k=k, dtype=dtype, device=device, requires_grad=requires_grad)


def _dtype_from_name(name):
    d = getattr(_core, name, None)
    if not isinstance(d, dtype):
        raise TypeError(f"unknown dtype name {name!r}")
    return d


def tensor(data, dtype=None, *, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a list, scalar, NumPy array or tensor).

    Python floats become float32 and ints int64, as in PyTorch; a NumPy array keeps
    its dtype (float64 stays float64).
    """
    return _core._tensor(data, dtype, True, device, requires_grad)


def asarray(obj, dtype=None, *, device=None, copy=None):
    """Like ``numpy.asarray``: shares memory with a NumPy array or tensor when the dtype
    allows (``copy=None``), always copies with ``copy=True``."""
    if copy is False and isinstance(obj, Tensor) and dtype is not None and obj.dtype != dtype:
        raise ValueError("asarray(copy=False) would need a copy to change the dtype")
    return _core._tensor(obj, dtype, copy is True, device, False)


def _like_of(make, name, takes_value=False):
    """The ``*_like`` twin of a constructor: the template's shape, and its dtype and
    device unless given. As PyTorch's, the template must be a tensor (a list has no
    dtype or device)."""

    def check(x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(x).__name__}")

    def build(x, value, dtype, device, requires_grad):
        check(x)
        args = (x.shape, value) if takes_value else (x.shape,)
        return make(*args, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)

    if takes_value:
        def like(x, fill_value, *, dtype=None, device=None, requires_grad=False):
            return build(x, fill_value, dtype, device, requires_grad)
    else:
        def like(x, *, dtype=None, device=None, requires_grad=False):
            return build(x, None, dtype, device, requires_grad)
    like.__name__ = like.__qualname__ = name
    like.__doc__ = f"Like ``{make.__name__}`` with the shape, dtype and device of ``x`` (``torch.{name}``)."
    return like


zeros_like = _like_of(zeros, "zeros_like")
ones_like = _like_of(ones, "ones_like")
empty_like = _like_of(empty, "empty_like")
full_like = _like_of(full, "full_like", takes_value=True)


def is_tensor(x):
    return isinstance(x, Tensor)


__all__ = [
    "Tensor", "AxisError", "InternalError", "device", "dtype", "bool", "float32", "float64", "int64",
    "int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64", "float16", "bfloat16",
    "complex64", "complex128",
    "tensor", "asarray", "from_numpy", "from_dlpack", "zeros", "ones", "full", "empty",
    "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace", "eye",
    "rand", "randn", "randint", "manual_seed", "initial_seed", "set_num_threads",
    "get_num_threads", "get_cpu_capability", "empty_cache", "cached_bytes", "synchronize", "concat", "stack", "split", "where", "one_hot", "take_along_axis",
    "is_tensor", "autograd", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "nn", "optim", "save", "load", "data", "train", "distributed", "models", "lab",
    "linalg", "matrix_transpose", "tensordot", "vecdot", "fft",
] + list(_function_names) + [n for n in _array_api_names if n not in _function_names]
