"""``nn.Module``: the base class of every layer and model, with PyTorch's semantics.

Subclass it, call ``super().__init__()`` first in ``__init__``, assign parameters,
submodules and buffers as attributes, and write ``forward``::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 16)
            self.fc2 = nn.Linear(16, 1)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

Differences from PyTorch, each deliberate:

* ``load_state_dict`` checks every key and shape before copying anything, so a failed
  load leaves the module unchanged (PyTorch may have copied part of it);
* ``to()`` replaces each Parameter with a new Parameter holding the converted data
  (PyTorch's ``overwrite_module_params_on_conversion`` behaviour); tied parameters stay
  tied. Optimizers built before ``to()`` must therefore be rebuilt, as in PyTorch.
"""

from collections import OrderedDict, namedtuple

from .. import _core
from ..autograd import no_grad
from .parameter import Parameter

Tensor = _core.Tensor

__all__ = ["Module"]

_FLOAT_DTYPES = ("float32", "float64")


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find and did not use."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * num_spaces + line for line in lines)


def _check_name(name, kind, owner):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if hasattr(owner, name) and name not in owner.__dict__[_STORES[kind]]:
        raise KeyError(f"attribute '{name}' already exists")


_STORES = {"parameter": "_parameters", "buffer": "_buffers", "module": "_modules"}


class Module:
    """Base class for all neural-network modules (see the module docstring)."""

    training: bool

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments; "
                "Module.__init__() takes none"
            )
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def _require_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )

    def register_parameter(self, name, param):
        """Adds ``param`` (a Parameter, or None for an absent one) under ``name``."""
        self._require_init("parameter")
        _check_name(name, "parameter", self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(fg.nn.Parameter or None required)"
            )
        if param is not None and not param.is_leaf:
            raise ValueError(f"cannot assign a non-leaf tensor to parameter '{name}'")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Adds a tensor that is state but not a parameter (e.g. BatchNorm's running
        mean). Persistent buffers go into ``state_dict()``; ``tensor`` may be None."""
        self._require_init("buffer")
        _check_name(name, "buffer", self)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(fg.Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Adds a child module (or None) under ``name``."""
        self._require_init("module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, "module", self)
        self._modules[name] = module

    register_module = add_module

    def _forget(self, name):
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            d[key].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._require_init("parameter")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(fg.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._require_init("module")
            self._forget(name)
            self._modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(fg.nn.Module or None expected)"
                )
            d["_modules"][name] = None
        elif d.get("_buffers") is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(fg.Tensor or None expected)"
                )
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails.
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        if "_parameters" not in d:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}' "
                "(Module.__init__() was not called: call super().__init__() first in "
                f"{type(self).__name__}.__init__)"
            )
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                del store[name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        for key in ("_parameters", "_buffers", "_modules"):
            keys += list(self.__dict__.get(key, ()))
        return sorted(set(keys))

    # ------------------------------------------------------------------ discovery
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yields ``(dotted name, module)`` for this module and every descendant,
        each module once (unless ``remove_duplicate=False``)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, store).items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yields ``(dotted name, Parameter)``; a parameter shared by several modules
        comes once, under the first name that reaches it."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The submodule at a dotted path such as ``"encoder.0"`` ("" is self)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            sub = mod._modules.get(item) if isinstance(mod, Module) else None
            if sub is None:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = sub
        return mod

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Sets training mode on this module and all descendants; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Evaluation mode (Dropout off, BatchNorm uses running stats); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Resets the gradients: to None by default, to zeros with ``set_to_none=False``."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = _core.zeros(p.grad.shape, dtype=p.grad.dtype, device=p.grad.device)

    def apply(self, fn):
        """Calls ``fn`` on every submodule (children first) and on self; returns self.
        Typical use: custom weight init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ conversion
    def _apply(self, fn, memo):
        for m in self.children():
            m._apply(fn, memo)
        for name, p in self._parameters.items():
            if p is None:
                continue
            if id(p) not in memo:
                with no_grad():
                    new = Parameter(fn(p.detach()), p.requires_grad)
                    if p.grad is not None:
                        new.grad = fn(p.grad.detach())
                memo[id(p)] = new
            self._parameters[name] = memo[id(p)]
        for name, b in self._buffers.items():
            if b is None:
                continue
            if id(b) not in memo:
                memo[id(b)] = fn(b)
            self._buffers[name] = memo[id(b)]
        return self

    def to(self, *args, dtype=None, device=None):
        """Converts parameters and buffers in place on the module and returns self.

        ``to(fg.float64)`` converts floating-point parameters and buffers only (integer
        buffers such as ``num_batches_tracked`` keep their dtype); ``to("wgpu")`` moves
        everything. Parameters are replaced by new Parameters (see module docstring).
        """
        for a in args:
            if isinstance(a, _core.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                device = a
        if dtype is not None and dtype.name not in _FLOAT_DTYPES:
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype!r}"
            )

        def convert(t):
            if device is not None:
                t = t.to(device)
            if dtype is not None and t.dtype.name in _FLOAT_DTYPES and t.dtype != dtype:
                t = t.to(dtype)
            return t

        return self._apply(convert, {})

    def float(self):
        return self.to(_core.float32)

    def double(self):
        return self.to(_core.float64)

    def cpu(self):
        return self.to("cpu")

    # ------------------------------------------------------------------ state dict
    def _local_state(self):
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield name, b

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of dotted names to detached tensors (sharing memory with the
        module): parameters then persistent buffers of each module, in registration
        order, depth first. Shared parameters appear under every name, as in PyTorch."""
        if destination is None:
            destination = OrderedDict()
        for name, t in self._local_state():
            destination[prefix + name] = t if keep_vars else t.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _state_targets(self, prefix=""):
        """(dotted name, tensor) for everything state_dict() would hold, without detaching."""
        return list(self.state_dict(prefix=prefix, keep_vars=True).items())

    def load_state_dict(self, state_dict, strict=True):
        """Copies ``state_dict``'s values into this module's parameters and buffers, in
        place, under no_grad. Values are converted to each target's dtype.

        With ``strict=True`` (the default) missing and unexpected keys raise a
        RuntimeError listing them; a shape mismatch or a non-tensor value always raises.
        Nothing is copied unless every check passes. Returns a named tuple
        ``(missing_keys, unexpected_keys)``. Values are written in place, on the
        device of each target (a CPU checkpoint loads into a wgpu model and back), so
        the module's tensors, and an optimizer built on its parameters, stay the same
        objects.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        targets = self._state_targets()
        expected = {k for k, _ in targets}
        missing = [k for k, _ in targets if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in expected]
        errors = []
        copies = []
        for key, target in targets:
            if key not in state_dict:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                errors.append(
                    f'While copying the parameter named "{key}", expected fg.Tensor '
                    f"from checkpoint but received {type(value).__name__}"
                )
                continue
            if tuple(value.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{tuple(value.shape)} from checkpoint, the shape in current model is "
                    f"{tuple(target.shape)}."
                )
                continue
            copies.append((target, value))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(
                    self._get_name(), "\n\t".join(errors)
                )
            )
        with no_grad():
            for target, value in copies:
                v = value.detach()
                if v.dtype != target.dtype:
                    v = v.to(target.dtype)
                if v.device != target.device:
                    v = v.to(target.device)
                if v._shares_storage(target):
                    v = v.clone()
                # In place on every device: an optimizer built on these parameters
                # keeps training them after a load.
                target[...] = v
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside the parentheses of this module's repr line; override it."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()
        ]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"
