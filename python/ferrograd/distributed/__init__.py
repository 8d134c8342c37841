"""``ferrograd.distributed``: data-parallel training across processes, on MPI.

ferrograd does not do its own networking: processes started by ``mpiexec`` talk through
mpi4py (``pip install ferrograd[mpi]`` brings mpi4py and Open MPI). The API follows
``torch.distributed`` where one exists::

    import ferrograd as fg
    fg.distributed.init()                 # once per process, after mpiexec started it
    r, n = fg.distributed.rank(), fg.distributed.world_size()
    fg.distributed.all_reduce(t)          # in place, sum over ranks
    fg.distributed.broadcast(t, src=0)    # in place

Contiguous CPU tensors go to MPI without copies (MPI reads and writes their memory
through the buffer protocol); other tensors (GPU, strided views) through one staging
copy each way. :func:`abort_on_exception` makes a rank that raises abort the whole job
instead of leaving the other ranks waiting in a collective.
"""

from .collectives import (
    ReduceOp,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
)
from .launch import abort_on_exception, install_abort_hook
from .state import init, is_available, is_initialized, rank, world_size

__all__ = [
    "init",
    "is_available",
    "is_initialized",
    "rank",
    "world_size",
    "barrier",
    "ReduceOp",
    "all_reduce",
    "broadcast",
    "all_gather",
    "abort_on_exception",
    "install_abort_hook",
]
