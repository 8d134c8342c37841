"""Run by test_distributed.py under `mpiexec -n 2`: rank 1 raises while rank 0 waits in
an all-reduce that can never complete. With the abort hook the job must end non-zero,
quickly, with rank 1's message; without it, it would hang."""

import ferrograd as fg
import ferrograd.distributed as dist

dist.init()
dist.install_abort_hook()
if dist.rank() == 1:
    raise ValueError("rank 1 failed on purpose")
dist.all_reduce(fg.ones((4,)))  # never matched by rank 1
print("unreachable: rank 0 finished")
