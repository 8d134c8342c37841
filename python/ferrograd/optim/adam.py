"""Adam (L2 weight decay) and AdamW (decoupled weight decay), with AMSGrad."""

from .. import _core
from .optimizer import Optimizer, _use_grad


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False):
        if maximize:
            raise NotImplementedError(f"{type(self).__name__}(maximize=True) is not supported")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _check_group(self, g):
        if not 0.0 <= g["lr"]:
            raise ValueError(f"Invalid learning rate: {g['lr']}")
        if not 0.0 <= g["eps"]:
            raise ValueError(f"Invalid epsilon value: {g['eps']}")
        b1, b2 = g["betas"]
        if not 0.0 <= b1 < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {b1}")
        if not 0.0 <= b2 < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {b2}")
        if not 0.0 <= g["weight_decay"]:
            raise ValueError(f"Invalid weight_decay value: {g['weight_decay']}")

    @_use_grad
    def step(self, closure=None):
        loss = self._closure(closure)
        for g in self.param_groups:
            b1, b2 = g["betas"]
            amsgrad = bool(g["amsgrad"])
            ps, grads, ms, vs, xs, steps = [], [], [], [], [], []
            for p in g["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state.setdefault(p, {})
                if not state:
                    # "step" is a float32 CPU tensor, as in PyTorch (not capturable): the
                    # bias corrections are host scalars, so reading it costs no GPU sync.
                    # The moments live beside the parameter, on its device.
                    state["step"] = _core.zeros((), dtype=_core.float32)
                    dev = p.device
                    state["exp_avg"] = _core.zeros(p.shape, dtype=p.dtype, device=dev)
                    state["exp_avg_sq"] = _core.zeros(p.shape, dtype=p.dtype, device=dev)
                    if amsgrad:
                        state["max_exp_avg_sq"] = _core.zeros(p.shape, dtype=p.dtype,
                                                              device=dev)
                state["step"] += 1
                ps.append(p)
                grads.append(grad)
                ms.append(state["exp_avg"])
                vs.append(state["exp_avg_sq"])
                xs.append(state.get("max_exp_avg_sq") if amsgrad else None)
                steps.append(int(state["step"].item()))
            # One call per group: on wgpu it updates several tensors per dispatch.
            if ps:
                _core._adam_step_many(ps, grads, ms, vs, xs, steps, float(g["lr"]), float(b1),
                                      float(b2), float(g["eps"]), float(g["weight_decay"]),
                                      amsgrad, self._decoupled)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the
    Adam update (default weight_decay 1e-2)."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
