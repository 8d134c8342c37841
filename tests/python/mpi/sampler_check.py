"""Run by test_distributed.py under `mpiexec -n 2`: DistributedSampler's shards, taken
from each rank and gathered, are disjoint, cover the dataset, have equal lengths, and
change with set_epoch; a DataLoader over the sampler yields exactly the shard. Prints OK
on rank 0; a failure raises and the abort hook ends the job non-zero."""

import numpy as np

import ferrograd as fg
import ferrograd.distributed as dist
from ferrograd.data import DataLoader, DistributedSampler, TensorDataset

dist.init()
dist.install_abort_hook()
rank, world = dist.rank(), dist.world_size()


def gathered(sampler):
    mine = fg.tensor(sampler.indices())
    parts = [fg.zeros(tuple(mine.shape), dtype=fg.int64) for _ in range(world)]
    dist.all_gather(parts, mine)
    return [p.numpy() for p in parts]


n = 37  # not a multiple of the world size
dataset = TensorDataset(fg.arange(n), fg.arange(n) * 2)
sampler = DistributedSampler(dataset, shuffle=True, seed=5)
assert (sampler.rank, sampler.num_replicas) == (rank, world)
epochs = []
for epoch in range(3):
    sampler.set_epoch(epoch)
    shards = gathered(sampler)
    assert all(len(s) == len(sampler) == -(-n // world) for s in shards)
    flat = np.concatenate(shards)
    assert set(flat.tolist()) == set(range(n)), "shards do not cover the dataset"
    # Only the padding (total_size - n indices) is shared between shards.
    overlap = set(shards[0].tolist()).intersection(*[set(s.tolist()) for s in shards[1:]])
    assert len(overlap) <= len(sampler) * world - n, f"shards overlap beyond the padding: {overlap}"
    epochs.append(flat)
    seen = []
    for xb, yb in DataLoader(dataset, batch_size=4, sampler=sampler):
        np.testing.assert_array_equal(yb.numpy(), xb.numpy() * 2)
        seen += xb.tolist()
    assert seen == sampler.indices().tolist()
assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])

dropping = DistributedSampler(dataset, shuffle=True, seed=5, drop_last=True)
shards = gathered(dropping)
flat = np.concatenate(shards)
assert len(flat) == len(set(flat.tolist())) == (n // world) * world, "drop_last shards overlap"
even = DistributedSampler(TensorDataset(fg.arange(38)), shuffle=True, seed=1)
shards = gathered(even)
assert set(shards[0].tolist()).isdisjoint(shards[1].tolist()), "shards overlap"
assert sorted(np.concatenate(shards).tolist()) == list(range(38))
if rank == 0:
    print("OK sampler")
