"""Run by test_distributed.py under `mpiexec -n 2`: DistributedDataParallel against one
process on the concatenated batch (float64), every rank computing that reference itself.

1. An MLP, 5 SGD steps, batch B per rank vs 2B in one process, small buckets (several
   all-reduces per step): identical parameters at tight tolerance.
2. The same with gradient accumulation: two micro-batches per step, the first under
   no_sync(), vs the reference on the 4B concatenation.
3. An MLP with BatchNorm1d converted to SyncBatchNorm under DDP vs plain BatchNorm on
   the whole batch: parameters and running statistics after 5 steps.
4. Errors: mismatched model shapes are refused at wrap time (ValueError on every rank);
   two forwards before one backward, and an unused parameter (at the next forward), are
   RuntimeErrors.
Prints OK on rank 0; a failure raises and the abort hook ends the job non-zero."""

import numpy as np

import ferrograd as fg
import ferrograd.distributed as dist
from ferrograd.nn.parallel import DistributedDataParallel as DDP

dist.init()
dist.install_abort_hook()
rank, world = dist.rank(), dist.world_size()
TOL = dict(rtol=1e-11, atol=1e-12)
B = 6


def mlp(seed, norm=False):
    fg.manual_seed(seed + rank)  # deliberately different per rank: DDP must broadcast
    layers = [fg.nn.Linear(5, 16, dtype=fg.float64)]
    if norm:
        layers.append(fg.nn.BatchNorm1d(16, dtype=fg.float64))
    layers += [fg.nn.Tanh(), fg.nn.Linear(16, 12, dtype=fg.float64), fg.nn.Tanh(),
               fg.nn.Linear(12, 3, dtype=fg.float64)]
    return fg.nn.Sequential(*layers)


def copy_of(model, norm=False):
    ref = mlp(99, norm)
    ref.load_state_dict({k: fg.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return ref


def data(step, n):
    rng = np.random.default_rng(100 + step)  # same on every rank
    return rng.standard_normal((n, 5)), rng.integers(0, 3, n)


def loss_of(model, x, y):
    return fg.nn.functional.cross_entropy(model(fg.tensor(x)), fg.tensor(y))


def assert_same(model, ref):
    for (n, p), (_, q) in zip(model.state_dict().items(), ref.state_dict().items()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), err_msg=n, **TOL)


def plain_steps(micro):
    """Case 1 (micro=1) and case 2 (micro=2, the first micro-batch under no_sync)."""
    model = DDP(mlp(1), bucket_cap_mb=0.0005)  # ~500 bytes: several buckets
    assert len(model._buckets) > 2
    ref = copy_of(model.module)
    opt = fg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    ref_opt = fg.optim.SGD(ref.parameters(), lr=0.5, momentum=0.9)
    for step in range(5):
        x, y = data(step, B * world * micro)
        opt.zero_grad()
        for k in range(micro):
            chunk = slice((k * world + rank) * B, (k * world + rank + 1) * B)
            if k < micro - 1:
                with model.no_sync():  # forward and backward inside, as in PyTorch
                    (loss_of(model, x[chunk], y[chunk]) / micro).backward()
            else:
                (loss_of(model, x[chunk], y[chunk]) / micro).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_of(ref, x, y).backward()
        ref_opt.step()
        assert_same(model.module, ref)


def sync_bn_steps():
    model = DDP(fg.nn.SyncBatchNorm.convert_sync_batchnorm(mlp(2, norm=True)))
    ref = copy_of(model.module, norm=True)
    opt = fg.optim.SGD(model.parameters(), lr=0.3)
    ref_opt = fg.optim.SGD(ref.parameters(), lr=0.3)
    for step in range(5):
        x, y = data(step, B * world)
        mine = slice(rank * B, (rank + 1) * B)
        opt.zero_grad()
        loss_of(model, x[mine], y[mine]).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_of(ref, x, y).backward()
        ref_opt.step()
        assert_same(model.module, ref)


def errors():
    wrong = fg.nn.Linear(4, 3 if rank == 0 else 2)
    try:
        DDP(wrong)
    except ValueError as e:
        assert "different models" in str(e) and "weight" in str(e), e
    else:
        raise AssertionError("mismatched shapes were not detected")

    class TwoHeads(fg.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = fg.nn.Linear(3, 2)
            self.b = fg.nn.Linear(3, 2)

        def forward(self, x):
            return self.a(x)

    model = DDP(fg.nn.Linear(3, 2))
    twice = model(fg.ones((2, 3))) + model(fg.ones((2, 3)))  # two forwards, one backward
    try:
        twice.sum().backward()
    except RuntimeError as e:
        assert "second gradient in one backward" in str(e), e
    else:
        raise AssertionError("two forwards before one backward were not refused")

    model = DDP(TwoHeads())
    model(fg.ones((2, 3))).sum().backward()
    try:
        model(fg.ones((2, 3)))
    except RuntimeError as e:
        assert "b.weight" in str(e) and "unused parameters" in str(e), e
    else:
        raise AssertionError("an unused parameter was not reported")


plain_steps(1)
plain_steps(2)
sync_bn_steps()
errors()
if rank == 0:
    print("OK ddp")
