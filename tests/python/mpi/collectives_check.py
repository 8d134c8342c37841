"""Run by test_distributed.py under `mpiexec -n 2`: fg.distributed's collectives on
contiguous tensors (MPI works on the tensor's own memory) and strided views (staged),
every ReduceOp, broadcast from each root, all_gather, argument errors, and GPU
tensors (staged through host memory) when a wgpu adapter exists. Prints OK on
rank 0; a failure raises and the abort hook ends the job non-zero."""

import numpy as np

import ferrograd as fg
import ferrograd.distributed as dist

dist.init()
dist.init()  # idempotent
dist.install_abort_hook()
rank, world = dist.rank(), dist.world_size()
assert world == 2 and dist.is_initialized()

base = np.arange(6.0).reshape(2, 3)
vals = [base + 10 * r for r in range(world)]
expect = {
    dist.ReduceOp.SUM: sum(vals),
    dist.ReduceOp.AVG: sum(vals) / world,
    dist.ReduceOp.PRODUCT: np.prod(vals, axis=0),
    dist.ReduceOp.MIN: np.min(vals, axis=0),
    dist.ReduceOp.MAX: np.max(vals, axis=0),
}
for op, want in expect.items():
    t = fg.tensor(vals[rank])
    memory = np.asarray(t)
    dist.all_reduce(t, op)
    np.testing.assert_allclose(t.numpy(), want)
    # In place, in the tensor's own memory: a NumPy view taken before sees the result.
    np.testing.assert_allclose(memory, want)
    strided = fg.tensor(vals[rank].T.copy()).T  # a transposed, non-contiguous view
    assert not strided.is_contiguous()
    dist.all_reduce(strided, op)
    np.testing.assert_allclose(strided.numpy(), want)

ints = fg.tensor(np.array([1, 2, 3]) * (rank + 1))
dist.all_reduce(ints)
assert ints.tolist() == [3, 6, 9]

for src in range(world):
    b = fg.tensor(np.full(4, float(rank)))
    dist.broadcast(b, src=src)
    assert b.tolist() == [float(src)] * 4

parts = [fg.zeros((2,)) for _ in range(world)]
dist.all_gather(parts, fg.tensor([float(rank), 1.0 + rank]))
assert [p.tolist() for p in parts] == [[0.0, 1.0], [1.0, 2.0]]

for call, exc, text in (
    (lambda: dist.all_reduce([1.0]), TypeError, "must be a fg.Tensor"),
    (lambda: dist.all_reduce(fg.ones(2), "sum"), TypeError, "ReduceOp"),
    (lambda: dist.all_reduce(fg.ones(2, dtype=fg.int64), dist.ReduceOp.AVG), TypeError, "floating"),
    (lambda: dist.broadcast(fg.ones(2), src=2), ValueError, "src must be a rank"),
    (lambda: dist.all_gather([fg.ones(2)], fg.ones(2)), ValueError, "world_size"),
    (lambda: dist.all_gather([fg.ones(3), fg.ones(3)], fg.ones(2)), ValueError, "shape"),
):
    try:
        call()
    except exc as e:
        assert text in str(e), e
    else:
        raise AssertionError(f"no {exc.__name__} for {text}")
# GPU tensors go through one staging copy each way (when a wgpu adapter exists).
gpu = fg._core.wgpu_is_available()
if gpu:
    g = fg.tensor(vals[rank].astype(np.float32)).to("wgpu")
    dist.all_reduce(g, dist.ReduceOp.AVG)
    assert g.device.type == "wgpu"
    np.testing.assert_allclose(g.to("cpu").numpy(), sum(vals) / world, rtol=1e-6)
    gb = fg.tensor(np.full(3, float(rank), dtype=np.float32)).to("wgpu")
    dist.broadcast(gb, src=1)
    assert gb.to("cpu").tolist() == [1.0] * 3

dist.barrier()
if rank == 0:
    print("OK collectives" + (" (wgpu too)" if gpu else " (no wgpu adapter: CPU only)"))
