"""``nn.Parameter``: a tensor that a :class:`~ferrograd.nn.Module` registers as one of
its parameters when assigned as an attribute."""

from .. import _core

Tensor = _core.Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and that modules discover.

    As in PyTorch:

    * ``Parameter(t)`` shares ``t``'s memory (no copy); it is a new leaf, detached from
      any graph ``t`` belongs to;
    * it is a :class:`ferrograd.Tensor` (every tensor method works), and operations on
      it return plain tensors;
    * ``Parameter()`` with no data is an empty float32 tensor.

    Integer and bool data need ``requires_grad=False``.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _core.empty((0,))
        return super().__new__(cls, data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__
