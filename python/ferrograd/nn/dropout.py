"""Dropout."""

from . import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training mode zeroes each element with probability ``p`` and scales the others
    by ``1/(1-p)``; in eval mode it is the identity. ``p`` outside [0, 1]: ValueError."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        F._check_p(p)
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
