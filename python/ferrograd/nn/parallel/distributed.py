"""``DistributedDataParallel``: one model replica per MPI rank, gradients averaged.

How it works. At wrap time every rank checks it holds the same parameter and buffer
shapes as rank 0 (a mismatch raises ValueError on every rank, not a hang) and copies
rank 0's parameters and buffers. The trainable parameters are grouped into buckets of
at most ``bucket_cap_mb`` (one dtype per bucket), in reverse registration order: the
order backward produces their gradients in a feed-forward network.

ferrograd's engine writes ``.grad`` only when a backward pass ends, so there is no
per-parameter gradient hook to listen on. Instead, during a forward pass each
parameter is replaced by an identity ``autograd.Function`` of it; all uses of the
parameter go through that one graph node, so when the engine runs the node its
incoming gradient is the parameter's complete gradient for this pass. The node copies
it into the parameter's slot of its bucket and returns, as the gradient that will land
in ``.grad``, a view of that slot. When the last slot of a bucket is filled the bucket
is all-reduced and averaged in place (MPI works on the bucket's memory), still inside
the backward pass, while the engine carries on with earlier layers; when the pass ends
the engine stores the views, already holding the averages, in ``.grad``. As with
PyTorch's ``gradient_as_bucket_view=True`` each ``.grad`` then shares memory with the
bucket, and the next synchronized backward overwrites it.

``no_sync()`` skips all this: gradients accumulate locally, and the first synchronized
backward afterwards folds the accumulated local gradient into the bucket before the
all-reduce, so the average covers every accumulated micro-batch.

Every trainable parameter must receive a gradient in each synchronized backward
(PyTorch's default, ``find_unused_parameters=False``). One that did not is reported
with a RuntimeError naming it at the next forward, as PyTorch does.
"""

from contextlib import contextmanager

import numpy as np

from ... import _core
from ...autograd_function import Function
from ..module import Module

Tensor = _core.Tensor

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """A flat gradient buffer shared by a group of parameters of one dtype."""

    def __init__(self, params, dtype):
        self.params = params
        sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        # Contiguous CPU memory: MPI reduces it in place, without a copy.
        self.flat = _core.zeros((int(self.offsets[-1]),), dtype=dtype)
        self.ready = set()  # slots whose gradient arrived in this pass

    def slot(self, i):
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.flat[a:b].reshape(tuple(self.params[i].shape))


class _GradReady(Function):
    """Identity on a parameter; its backward receives the parameter's whole gradient."""

    @staticmethod
    def forward(ctx, param, ddp, index):
        ctx.ddp, ctx.index = ddp, index
        return param.detach()

    @staticmethod
    def backward(ctx, grad):
        return ctx.ddp._grad_ready(ctx.index, grad), None, None


def _describe(module):
    """(name, shape, dtype) of every parameter and buffer, to compare across ranks."""
    out = [("param " + n, tuple(p.shape), str(p.dtype)) for n, p in module.named_parameters()]
    out += [("buffer " + n, tuple(b.shape), str(b.dtype)) for n, b in module.named_buffers()
            if b is not None]
    return out


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training over the MPI ranks (see the module
    doc). ``fg.distributed.init()`` must have been called. CPU parameters only.

    ``broadcast_buffers`` (default True): rank 0's buffers (e.g. BatchNorm running
    statistics) are copied to every rank at each forward in training mode, as PyTorch.
    """

    def __init__(self, module, bucket_cap_mb=4.0, broadcast_buffers=True):
        super().__init__()
        from ... import distributed as dist

        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a fg.nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        dist.state.comm()  # RuntimeError now when fg.distributed.init() was not called
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._dist = dist
        for name, p in module.named_parameters():
            if p.device.type != "cpu":
                raise NotImplementedError(
                    f"DistributedDataParallel supports CPU parameters only; {name} is on {p.device}"
                )
        self._check_same_model()
        with _no_grad():
            for t in list(module.parameters()) + [b for b in module.buffers() if b is not None]:
                dist.broadcast(t, src=0)
        self._build_buckets(bucket_cap_mb * 1024 * 1024)

    # ------------------------------------------------------------------ setup
    def _check_same_model(self):
        everyone = self._dist.state.comm().allgather(_describe(self.module))
        first = everyone[0]
        for r, theirs in enumerate(everyone[1:], start=1):
            for a, b in zip(first, theirs):
                if a != b:
                    raise ValueError(
                        f"DistributedDataParallel: the ranks hold different models: rank 0 has "
                        f"{a[0]} with shape {a[1]} and dtype {a[2]}, rank {r} has {b[0]} with "
                        f"shape {b[1]} and dtype {b[2]}"
                    )
            if len(first) != len(theirs):
                raise ValueError(
                    f"DistributedDataParallel: the ranks hold different models: rank 0 has "
                    f"{len(first)} parameters and buffers, rank {r} has {len(theirs)}"
                )

    def _build_buckets(self, cap_bytes):
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        self._params = trainable
        self._buckets = []
        order = list(reversed(range(len(trainable))))
        where = {}  # parameter index -> (bucket, slot)
        group, size, dtype = [], 0, None
        for i in order:
            p = trainable[i]
            nbytes = p.numel() * p.element_size()
            if group and (p.dtype != dtype or size + nbytes > cap_bytes):
                self._close_bucket(group, dtype, where)
                group, size = [], 0
            group.append(i)
            size += nbytes
            dtype = p.dtype
        if group:
            self._close_bucket(group, dtype, where)
        self._where = [where[i] for i in range(len(trainable))]
        self._synced_pass = False

    def _close_bucket(self, indices, dtype, where):
        b = _Bucket([self._params[i] for i in indices], dtype)
        for slot, i in enumerate(indices):
            where[i] = (b, slot)
        self._buckets.append(b)

    # ------------------------------------------------------------------ backward side
    def _grad_ready(self, index, grad):
        """Called by the engine with parameter ``index``'s gradient for this pass."""
        bucket, slot = self._where[index]
        param = self._params[index]
        if slot in bucket.ready:
            raise RuntimeError(
                "DistributedDataParallel: a parameter received a second gradient in one backward "
                "pass; run backward after each forward (accumulate over several forwards with "
                "no_sync() for all but the last)"
            )
        view = bucket.slot(slot)
        local = grad
        if param.grad is not None:
            # Gradients accumulated under no_sync(): fold them in before the average and
            # clear .grad, so the engine stores the averaged view rather than adding.
            local = param.grad + grad
            param.grad = None
        # ferrograd's copy kernel, not NumPy: weight gradients of a matmul are often
        # transposed views, and a strided gather is what that kernel is built for.
        with _no_grad():
            view[...] = local
        bucket.ready.add(slot)
        if len(bucket.ready) == len(bucket.params):
            from ... import distributed as dist

            dist.all_reduce(bucket.flat, dist.ReduceOp.AVG)
        return view

    def _check_previous_pass(self):
        """RuntimeError when the last synchronized backward reduced some buckets but not
        all: a parameter received no gradient (a forward without backward is fine)."""
        if not self._synced_pass:
            return
        started = any(len(b.ready) for b in self._buckets)
        missing = [p for b in self._buckets for s, p in enumerate(b.params) if s not in b.ready]
        if started and missing:
            names = [n for n, p in self.module.named_parameters() if any(p is q for q in missing)]
            raise RuntimeError(
                "DistributedDataParallel: the previous backward produced no gradient for "
                f"{', '.join(names)}; every trainable parameter must take part in the loss "
                "(unused parameters are not supported: set requires_grad=False on them)"
            )

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        from ...autograd import is_grad_enabled

        self._check_previous_pass()
        if self.training and self.broadcast_buffers and self._dist.world_size() > 1:
            with _no_grad():
                for b in self.module.buffers():
                    if b is not None:
                        self._dist.broadcast(b, src=0)
        sync = self.require_backward_grad_sync and is_grad_enabled()
        self._synced_pass = sync
        if not sync:
            return self.module(*args, **kwargs)
        for b in self._buckets:
            b.ready = set()
        return self._forward_with_ready_nodes(args, kwargs)

    def _forward_with_ready_nodes(self, args, kwargs):
        """Runs the module with each trainable parameter swapped for its _GradReady node."""
        index = {id(p): i for i, p in enumerate(self._params)}
        proxies = {}
        swapped = []
        for m in self.module.modules():
            for name, p in m._parameters.items():
                if p is None or id(p) not in index:
                    continue
                if id(p) not in proxies:
                    proxies[id(p)] = _GradReady.apply(p, self, index[id(p)])
                swapped.append((m, name, p))
                m._parameters[name] = proxies[id(p)]
        try:
            return self.module(*args, **kwargs)
        finally:
            for m, name, p in swapped:
                m._parameters[name] = p

    @contextmanager
    def no_sync(self):
        """Within the block, backward passes accumulate gradients locally, without
        communication; the first synchronized backward after it averages the total."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _no_grad():
    from ...autograd import no_grad

    return no_grad()
