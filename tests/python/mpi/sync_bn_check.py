"""Run by test_distributed.py under `mpiexec -n 2`: SyncBatchNorm on each rank's half of
a batch against BatchNorm on the whole batch (outputs, input/weight/bias gradients,
running statistics), for BatchNorm1d (N, C), (N, C, L) and BatchNorm2d shapes, float64.
Prints OK on rank 0; any mismatch raises (and the abort hook ends the job non-zero)."""

import numpy as np

import ferrograd as fg
import ferrograd.distributed as dist

dist.init()
dist.install_abort_hook()
rank, world = dist.rank(), dist.world_size()


def check(shape, bn_cls, affine):
    c = shape[1]
    rng = np.random.default_rng(sum(shape) * 7 + affine)  # same data on every rank
    full_x = rng.standard_normal(shape) * 3 + 1.5
    full_dy = rng.standard_normal(shape)
    per = shape[0] // world
    part = slice(rank * per, (rank + 1) * per)

    ref = bn_cls(c, affine=affine, momentum=0.3, dtype=fg.float64)
    sync = fg.nn.SyncBatchNorm.convert_sync_batchnorm(
        fg.nn.Sequential(bn_cls(c, affine=affine, momentum=0.3, dtype=fg.float64)))[0]
    assert isinstance(sync, fg.nn.SyncBatchNorm)
    if affine:
        w0, b0 = rng.standard_normal(c), rng.standard_normal(c)
        for m in (ref, sync):
            m.weight = fg.nn.Parameter(fg.tensor(w0))
            m.bias = fg.nn.Parameter(fg.tensor(b0))

    for step in range(2):  # two steps: the running statistics compound
        x_ref = fg.tensor(full_x + step, requires_grad=True)
        y_ref = ref(x_ref)
        (y_ref * fg.tensor(full_dy)).sum().backward()

        x = fg.tensor(full_x[part] + step, requires_grad=True)
        y = sync(x)
        (y * fg.tensor(full_dy[part])).sum().backward()

        tol = dict(rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(y.detach().numpy(), y_ref.detach().numpy()[part], **tol)
        np.testing.assert_allclose(x.grad.numpy(), x_ref.grad.numpy()[part], **tol)
        np.testing.assert_allclose(sync.running_mean.numpy(), ref.running_mean.numpy(), **tol)
        np.testing.assert_allclose(sync.running_var.numpy(), ref.running_var.numpy(), **tol)
        assert sync.num_batches_tracked.item() == ref.num_batches_tracked.item() == step + 1
        if affine:
            # Each rank holds its local sums; their total is the whole batch's gradient.
            for p_sync, p_ref in ((sync.weight, ref.weight), (sync.bias, ref.bias)):
                g = fg.tensor(p_sync.grad.numpy())  # a copy, reduced in place
                dist.all_reduce(g)
                np.testing.assert_allclose(g.numpy(), p_ref.grad.numpy(), **tol)
                p_sync.grad = None
                p_ref.grad = None
    # Eval mode uses the (identical) running statistics, without communication.
    sync.eval(), ref.eval()
    xe = fg.tensor(full_x[part])
    np.testing.assert_allclose(sync(xe).numpy(), ref(xe).numpy(), rtol=1e-12, atol=1e-12)


for shape, cls in (((8, 3), fg.nn.BatchNorm1d), ((6, 4, 5), fg.nn.BatchNorm1d),
                   ((4, 3, 5, 2), fg.nn.BatchNorm2d)):
    for affine in (True, False):
        check(shape, cls, affine)
if rank == 0:
    print("OK sync_bn")
