"""Stochastic gradient descent with PyTorch's momentum/dampening/Nesterov rule."""

from .. import _core
from .optimizer import Optimizer, _use_grad


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        if maximize:
            raise NotImplementedError("SGD(maximize=True) is not supported")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check_group(self, g):
        if g["lr"] < 0:
            raise ValueError(f"Invalid learning rate: {g['lr']}")
        if g["momentum"] < 0:
            raise ValueError(f"Invalid momentum value: {g['momentum']}")
        if g["weight_decay"] < 0:
            raise ValueError(f"Invalid weight_decay value: {g['weight_decay']}")
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    @_use_grad
    def step(self, closure=None):
        loss = self._closure(closure)
        for g in self.param_groups:
            momentum = g["momentum"]
            ps, grads, bufs, firsts = [], [], [], []
            for p in g["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                first = buf is None
                if momentum != 0 and buf is None:
                    buf = _core.zeros(p.shape, dtype=p.dtype, device=p.device)
                state["momentum_buffer"] = buf if momentum != 0 else None
                ps.append(p)
                grads.append(grad)
                bufs.append(buf if momentum != 0 else None)
                firsts.append(first)
            # One call per group: on wgpu it updates several tensors per dispatch.
            if ps:
                _core._sgd_step_many(ps, grads, bufs, firsts, float(g["lr"]), float(momentum),
                                     float(g["dampening"]), float(g["weight_decay"]),
                                     bool(g["nesterov"]))
        return loss
