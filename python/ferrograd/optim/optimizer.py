"""The ``Optimizer`` base class: param groups with per-group options, per-parameter
state, ``zero_grad`` and ``state_dict`` / ``load_state_dict`` in PyTorch's layout:
``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``."""

import copy
import functools
from itertools import chain

from .. import _core
from ..autograd import enable_grad, no_grad

Tensor = _core.Tensor


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class _ParamState(dict):
    """Per-parameter state keyed by the parameter's identity (tensors compare
    elementwise, so they cannot be dict keys by value)."""

    def _k(self, p):
        return id(p)

    def __getitem__(self, p):
        return dict.__getitem__(self, self._k(p))[1]

    def __setitem__(self, p, v):
        dict.__setitem__(self, self._k(p), (p, v))

    def __contains__(self, p):
        return dict.__contains__(self, self._k(p))

    def __delitem__(self, p):
        dict.__delitem__(self, self._k(p))

    def get(self, p, default=None):
        return self[p] if p in self else default

    def setdefault(self, p, default):
        if p not in self:
            self[p] = default
        return self[p]

    def items(self):
        return [pv for pv in dict.values(self)]

    def keys(self):
        return [p for p, _ in dict.values(self)]

    def values(self):
        return [v for _, v in dict.values(self)]

    def __iter__(self):
        return iter(self.keys())


def _cast_state(name, val, p):
    """A loaded state value placed like PyTorch does: float tensors follow the parameter's
    dtype and device (so a GPU checkpoint loads into a CPU optimizer and back); "step"
    stays where it is (a CPU scalar)."""
    if not isinstance(val, Tensor) or name == "step":
        return val
    if val.dtype != p.dtype and val.dtype in (_core.float32, _core.float64):
        # Cast where the value is: a float64 CPU tensor becomes float32 before a move to
        # a GPU that holds no float64.
        if "cpu" in (val.device.type, p.device.type):
            val = val.to("cpu").astype(p.dtype)
        else:
            val = val.astype(p.dtype)
    if val.device != p.device:
        val = val.to(p.device)
    return val


def _use_grad(step):
    """Runs ``step`` under no_grad (the closure, if any, re-enables grad)."""

    @functools.wraps(step)
    def wrapper(self, closure=None):
        with no_grad():
            return step(self, closure)

    return wrapper


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = _ParamState()
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors "
                "or dicts, but got " + type(params).__name__)
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(p).__name__)
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Subclasses validate a group's options (ValueError)."""

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    with no_grad():
                        p.grad.zero_()

    @staticmethod
    def _closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def state_dict(self):
        index = {}
        groups = []
        for g in self.param_groups:
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in g["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(v) for p, v in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        state_dict = copy.deepcopy(state_dict)
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        params = {old: p for old, p in zip(chain.from_iterable(s["params"] for s in saved),
                                           chain.from_iterable(g["params"] for g in self.param_groups))}
        self.state = _ParamState()
        for k, v in state_dict["state"].items():
            p = params[int(k)]
            self.state[p] = {name: _cast_state(name, val, p) for name, val in v.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved):
            s["params"] = g["params"]
            new_groups.append(s)
        self.param_groups = new_groups

    def step(self, closure=None):
        raise NotImplementedError
