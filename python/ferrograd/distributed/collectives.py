"""Collectives on tensors: all_reduce, broadcast, all_gather, barrier (torch.distributed's
signatures; every rank must call the same collectives in the same order).

A contiguous CPU tensor is handed to MPI as a NumPy view of its own memory (the tensor's
``__array_interface__``), so MPI reads and writes the tensor in place: no copy. Any
other tensor (on a GPU, or a strided view) goes through one staging copy to a
contiguous host array and one copy back.
"""

import enum

import numpy as np

from .. import _core
from .state import comm, world_size

Tensor = _core.Tensor

__all__ = ["ReduceOp", "all_reduce", "broadcast", "all_gather", "barrier"]


class ReduceOp(enum.Enum):
    """How :func:`all_reduce` combines the ranks' values (torch.distributed.ReduceOp)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _mpi_op(op):
    from mpi4py import MPI

    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a fg.distributed.ReduceOp, got {op!r}")
    return {
        ReduceOp.SUM: MPI.SUM,
        ReduceOp.AVG: MPI.SUM,
        ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN,
        ReduceOp.MAX: MPI.MAX,
    }[op]


def _check_tensor(t, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what} must be a fg.Tensor, got {type(t).__name__}")


def _shares_memory(t):
    """Whether MPI can work on ``t``'s own memory (contiguous, in host memory)."""
    return t.device.type == "cpu" and t.is_contiguous()


def _host_view(t):
    """A contiguous host array for MPI: ``t``'s memory itself when possible, otherwise a
    staging copy (the caller copies it back with :func:`_write_back`)."""
    if _shares_memory(t):
        return np.asarray(t)
    src = t.to("cpu") if t.device.type != "cpu" else t
    return np.ascontiguousarray(np.asarray(src))


def _write_back(t, arr):
    """Copies a staging array's result into ``t`` (no-op when ``arr`` is ``t``'s memory)."""
    if _shares_memory(t):
        return
    from ..autograd import no_grad

    with no_grad():
        t[...] = _core.from_numpy(arr).to(t.device)


def all_reduce(tensor, op=ReduceOp.SUM):
    """Replaces ``tensor`` on every rank by the reduction of all ranks' tensors (in place;
    ``ReduceOp.AVG`` divides the sum by the world size). Returns None, as PyTorch."""
    _check_tensor(tensor, "all_reduce's tensor")
    from mpi4py import MPI

    mpi_op = _mpi_op(op)
    # Argument errors are raised before the collective, on every rank alike.
    if tensor.dtype == _core.bool:
        raise TypeError("all_reduce does not support bool tensors")
    if op is ReduceOp.AVG and tensor.dtype not in (_core.float32, _core.float64):
        raise TypeError("all_reduce with ReduceOp.AVG needs a floating point tensor")
    arr = _host_view(tensor)
    comm().Allreduce(MPI.IN_PLACE, arr, op=mpi_op)
    if op is ReduceOp.AVG:
        arr /= world_size()
    _write_back(tensor, arr)


def broadcast(tensor, src=0):
    """Copies rank ``src``'s ``tensor`` into ``tensor`` on every rank (in place)."""
    _check_tensor(tensor, "broadcast's tensor")
    n = world_size()
    if not isinstance(src, int) or not 0 <= src < n:
        raise ValueError(f"broadcast src must be a rank in [0, {n}), got {src!r}")
    arr = _host_view(tensor)
    comm().Bcast(arr, root=src)
    _write_back(tensor, arr)


def all_gather(tensor_list, tensor):
    """Fills ``tensor_list[r]`` with rank ``r``'s ``tensor`` on every rank (PyTorch's
    signature: ``tensor_list`` holds ``world_size()`` tensors shaped like ``tensor``)."""
    _check_tensor(tensor, "all_gather's tensor")
    n = world_size()
    if len(tensor_list) != n:
        raise ValueError(
            f"all_gather's tensor_list must hold world_size() = {n} tensors, got {len(tensor_list)}"
        )
    for i, t in enumerate(tensor_list):
        _check_tensor(t, f"all_gather's tensor_list[{i}]")
        if tuple(t.shape) != tuple(tensor.shape) or t.dtype != tensor.dtype:
            raise ValueError(
                f"all_gather's tensor_list[{i}] has shape {tuple(t.shape)} and dtype {t.dtype}, "
                f"but the tensor has shape {tuple(tensor.shape)} and dtype {tensor.dtype}"
            )
    send = _host_view(tensor)
    recv = np.empty((n,) + send.shape, dtype=send.dtype)
    comm().Allgather(send, recv)
    from ..autograd import no_grad

    with no_grad():
        for t, part in zip(tensor_list, recv):
            if _shares_memory(t):
                np.asarray(t)[...] = part
            else:
                t[...] = _core.from_numpy(np.ascontiguousarray(part)).to(t.device)


def barrier():
    """Returns once every rank has called it."""
    comm().Barrier()
