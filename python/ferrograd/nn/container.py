"""Containers: Sequential, ModuleList, and the Residual wrapper."""

import operator
from collections import OrderedDict

from .module import Module

__all__ = ["Sequential", "ModuleList", "Residual"]


def _index(idx, n):
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


class Sequential(Module):
    """Calls its modules in order. ``Sequential(a, b)`` names them "0", "1" (so the
    state-dict keys are "0.weight", ...); ``Sequential(OrderedDict(name=module))`` keeps
    the names. Indexing with ints (negative too) returns a module, with a slice a new
    Sequential sharing the modules."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self))]

    def __setitem__(self, idx, module):
        key = list(self._modules.keys())[_index(idx, len(self))]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules.keys())
        if isinstance(idx, slice):
            for key in keys[idx]:
                del self._modules[key]
        else:
            del self._modules[keys[_index(idx, len(self))]]
        # Renumber, as PyTorch does, so keys stay "0".."n-1".
        if all(k.isdigit() for k in self._modules):
            self.__dict__["_modules"] = OrderedDict(
                (str(i), m) for i, m in enumerate(self._modules.values())
            )

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"module should be of type Module, got {type(module).__name__}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        mods = list(self._modules.values())
        mods.insert(index, module)
        self.__dict__["_modules"] = OrderedDict()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ... (so ``parameters()``
    and ``state_dict()`` see them, unlike a plain Python list). It has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self)))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self))), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods))]
        self.__dict__["_modules"] = OrderedDict((str(i), m) for i, m in enumerate(mods))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend should be called with an iterable of modules")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Inserts ``module`` before position ``index`` (list semantics)."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self.__dict__["_modules"] = OrderedDict()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def index(self, module):
        """The position of ``module`` (by identity); ValueError if absent."""
        for i, m in enumerate(self._modules.values()):
            if m is module:
                return i
        raise ValueError(f"{type(module).__name__} is not in ModuleList")


class Residual(Module):
    """``x + fn(x)``: a residual (skip) connection around ``fn``, registered as the
    child "fn" (state-dict keys "fn.<...>"). ``fn`` must keep the input's shape."""

    def __init__(self, fn):
        super().__init__()
        if not isinstance(fn, Module):
            raise TypeError(f"Residual needs a Module, got {type(fn).__name__}")
        self.fn = fn

    def forward(self, input):
        return input + self.fn(input)
