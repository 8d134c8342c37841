"""Tensor methods written in Python: formatting, list conversion, iteration and the
PyTorch-style method aliases. Hot paths (arithmetic, indexing) stay in Rust."""

import numpy as np

from . import _core
from . import _functions as F

Tensor = _core.Tensor

_DEFAULT_DTYPES = ("float32", "int64", "bool", "complex64")


def _host(self):
    """The tensor as a NumPy array on the host (a view for CPU tensors). bfloat16, which
    NumPy lacks, comes as ml_dtypes.bfloat16 when that package is installed (a view),
    else as float32 values (a copy); its raw bits are ``t.view(fg.uint16)``."""
    t = self.to("cpu") if self.device.type != "cpu" else self
    if t.dtype == _core.bfloat16:
        try:
            import ml_dtypes
        except ImportError:
            return np.asarray(t.astype(_core.float32))
        return np.asarray(t.view(_core.uint16)).view(ml_dtypes.bfloat16)
    return np.asarray(t)


def _repr(self):
    body = _host(self)
    if self.dtype == _core.bfloat16:
        body = body.astype(np.float32)
    text = np.array2string(body, separator=", ", prefix="tensor(")
    extras = []
    if self.dtype.name not in _DEFAULT_DTYPES or self.size == 0:
        extras.append(f"dtype={self.dtype!r}")
    if self.device.type != "cpu":
        extras.append(f"device='{self.device.type}'")
    if self.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + text + "".join(", " + e for e in extras) + ")"


def _numpy(self):
    """A NumPy array sharing this tensor's memory (CPU tensors only)."""
    return np.asarray(self)


def _tolist(self):
    body = _host(self)
    if self.dtype == _core.bfloat16:
        body = body.astype(np.float32)
    return body.tolist()


def _iter(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    for i in range(self.shape[0]):
        yield self[i]


def _array(self, dtype=None, copy=None):
    a = _host(self)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    return a.copy() if copy else a


def _size_or_call(self):
    return self.numel()


def _fill_(self, value):
    self._fill_scalar(value)
    return self


def _zero_(self):
    return _fill_(self, 0)


def _deepcopy(self, memo):
    """``copy.deepcopy``: a new leaf with copied data (and grad), as PyTorch; only
    leaves can be deep-copied (a non-leaf would lose its graph)."""
    if id(self) in memo:
        return memo[id(self)]
    if not self.is_leaf:
        raise RuntimeError(
            "Only Tensors created explicitly by the user (graph leaves) support the "
            "deepcopy protocol at the moment; use .detach().clone()"
        )
    new = type(self)(self.detach().clone(), self.requires_grad)
    if self.grad is not None:
        new.grad = self.grad.detach().clone()
    memo[id(self)] = new
    return new


_METHODS = {
    "__deepcopy__": _deepcopy,
    "__repr__": _repr,
    "__str__": _repr,
    "numpy": _numpy,
    "tolist": _tolist,
    "__iter__": _iter,
    "__array__": _array,
    "fill_": _fill_,
    "zero_": _zero_,
    "add": F.add,
    "sub": F.subtract,
    "subtract": F.subtract,
    "mul": F.multiply,
    "multiply": F.multiply,
    "div": F.divide,
    "divide": F.divide,
    "pow": F.pow,
    "maximum": F.maximum,
    "minimum": F.minimum,
    "logical_and": F.logical_and,
    "logical_or": F.logical_or,
    "logical_xor": F.logical_xor,
    "square": lambda self: self * self,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
