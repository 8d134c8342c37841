"""``nn.SyncBatchNorm``: batch normalization whose statistics span every MPI rank's batch.

BatchNorm normalizes with the mean and variance of the whole batch; under data
parallelism each rank holds only a slice of it, so plain BatchNorm would normalize each
slice with its own statistics (a different function of the data than one process on
the whole batch, and noisier for small per-rank batches). SyncBatchNorm makes the
statistics global:

* forward: each rank computes, per channel, its element count ``n_r``, mean ``m_r``
  and sum of squared deviations ``M2_r`` (two-pass, so no cancellation); one
  all-gather brings every rank's triple, and the merge is exact (Chan et al.):
  ``N = sum n_r``, ``mean = sum n_r m_r / N``, ``M2 = sum (M2_r + n_r (m_r - mean)^2)``,
  ``var = M2 / N``. The running statistics get ``mean`` and the unbiased
  ``M2 / (N - 1)``, the same numbers on every rank.
* backward: with ``xhat = (x - mean) / sqrt(var + eps)`` and the global sums
  ``S1 = sum dy`` and ``S2 = sum dy * xhat`` (one all-reduce of both),
  ``dx = weight / sqrt(var + eps) * (dy - S1 / N - xhat * S2 / N)``. The weight and
  bias gradients are the rank's local sums of ``dy * xhat`` and ``dy``: DDP's gradient
  average then combines them like every other parameter's.

Outside training, or when fg.distributed is not initialized or has one rank, it is
plain batch normalization (as PyTorch).
"""

import numpy as np

from .. import _core
from ..autograd_function import Function
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _channel_shape(x):
    """Shape that broadcasts a per-channel (C,) vector against an (N, C, *) input."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _reduce_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _global_stats(x):
    """(mean, biased var, total count) per channel over every rank's ``x`` (float64 NumPy)."""
    from .. import distributed as dist

    axes = _reduce_axes(x)
    local = np.asarray(x.to("cpu") if x.device.type != "cpu" else x, dtype=np.float64)
    n = local.size // x.shape[1]
    if n:
        mean = local.mean(axis=axes)
        m2 = ((local - mean.reshape(_channel_shape(x))) ** 2).sum(axis=axes)
    else:  # an empty slice adds nothing to the merge
        mean = m2 = np.zeros(x.shape[1])
    send = np.stack([np.full(x.shape[1], float(n)), mean, m2])
    recv = np.empty((dist.world_size(),) + send.shape)
    dist.state.comm().Allgather(send, recv)
    counts, means, m2s = recv[:, 0], recv[:, 1], recv[:, 2]
    total = counts[:, 0].sum()
    if total == 0:
        raise ValueError("SyncBatchNorm got an empty batch on every rank")
    g_mean = (counts * means).sum(axis=0) / total
    g_m2 = (m2s + counts * (means - g_mean) ** 2).sum(axis=0)
    return g_mean, g_m2 / total, total


class _SyncBatchNormFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, module):
        mean, var, total = _global_stats(x)
        like = dict(dtype=x.dtype, device=x.device)
        cshape = _channel_shape(x)
        mean_t = _tensor(mean, **like).reshape(cshape)
        invstd = _tensor(1.0 / np.sqrt(var + module.eps), **like).reshape(cshape)
        xhat = (x - mean_t) * invstd
        y = xhat
        if weight is not None:
            y = y * weight.reshape(cshape)
        if bias is not None:
            y = y + bias.reshape(cshape)
        module._update_running_stats(mean, var, total, like)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.total = total
        return y

    @staticmethod
    def backward(ctx, dy):
        from .. import distributed as dist

        xhat, invstd, weight = ctx.saved_tensors
        axes = _reduce_axes(dy)
        sum_dy = dy.sum(axis=axes)
        sum_dy_xhat = (dy * xhat).sum(axis=axes)
        grad_w = sum_dy_xhat if ctx.needs_input_grad[1] else None
        grad_b = sum_dy if ctx.needs_input_grad[2] else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            # One all-reduce carries both sums (a fresh contiguous tensor: reduced in place).
            both = _core.stack([sum_dy, sum_dy_xhat])
            dist.all_reduce(both)
            cshape = _channel_shape(dy)
            mean_dy = (both[0] / ctx.total).reshape(cshape)
            mean_dy_xhat = (both[1] / ctx.total).reshape(cshape)
            scale = invstd if weight is None else invstd * weight.reshape(cshape)
            grad_x = scale * (dy - mean_dy - xhat * mean_dy_xhat)
        return grad_x, grad_w, grad_b, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over (N, C, *) inputs with statistics over all ranks (see the
    module doc); the same arguments and buffers as BatchNorm1d/BatchNorm2d.
    ``process_group`` is accepted for PyTorch compatibility and must be None (the whole
    MPI world)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, dtype=None, device=None):
        if process_group is not None:
            raise ValueError("SyncBatchNorm: only process_group=None (all ranks) is supported")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, device)

    def _check_input_dim(self, input):
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"SyncBatchNorm expected {self.num_features} channels (dim 1), got input of shape "
                f"{tuple(input.shape)}"
            )

    def _update_running_stats(self, mean, var, total, like):
        """Momentum update with the global statistics (identical on every rank)."""
        if not self.track_running_stats:
            return
        self.num_batches_tracked += 1
        if self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked.item())
        else:
            factor = self.momentum
        unbiased = var * total / max(total - 1, 1)
        with _no_grad():
            rm, rv = self.running_mean, self.running_var
            rm[...] = rm * (1 - factor) + _tensor(mean, **like).to(rm.dtype) * factor
            rv[...] = rv * (1 - factor) + _tensor(unbiased, **like).to(rv.dtype) * factor

    def forward(self, input):
        from .. import distributed as dist

        self._check_input_dim(input)
        synced = self.training and dist.is_initialized() and dist.world_size() > 1
        if not synced:
            return super().forward(input)
        return _SyncBatchNormFunction.apply(input, self.weight, self.bias, self)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Returns ``module`` with every BatchNorm1d/BatchNorm2d replaced by a SyncBatchNorm
        that takes over its parameters (the same Parameter objects), buffers and mode.
        A BatchNorm passed directly is returned converted; other modules are changed in
        place and returned."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out._buffers[name] = module._buffers[name]
            out.training = module.training
        for name, child in list(module._modules.items()):
            if child is not None:
                out._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return out


def _tensor(data, dtype, device):
    """A new tensor copying ``data`` (fg.tensor, which lives in the package root)."""
    return _core._tensor(data, dtype, True, device, False)


def _no_grad():
    from ..autograd import no_grad

    return no_grad()
