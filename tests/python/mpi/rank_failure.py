"""Run by test_distributed.py under `mpiexec -n 2`: rank 1 raises while rank 0 waits in
an all-reduce that can never complete. With the abort handling the job must end
non-zero, quickly, with rank 1's message; without it, it would hang.

`python rank_failure.py hook` uses install_abort_hook() (sys.excepthook);
`python rank_failure.py context` the abort_on_exception() context manager."""

import sys

import ferrograd as fg
import ferrograd.distributed as dist


def work():
    if dist.rank() == 1:
        raise ValueError("rank 1 failed on purpose")
    dist.all_reduce(fg.ones((4,)))  # never matched by rank 1
    print("unreachable: rank 0 finished")


dist.init()
if sys.argv[1] == "hook":
    dist.install_abort_hook()
    work()
else:
    with dist.abort_on_exception():
        work()
