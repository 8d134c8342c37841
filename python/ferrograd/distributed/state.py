"""The process group: one MPI world, set up by :func:`init` from the mpiexec environment."""

import os

_COMM = None

# Variables a launcher sets in each process it starts (Open MPI, MPICH/Hydra, PMIx,
# Slurm's PMI). Without one of them importing mpi4py.MPI would quietly make a
# one-process "singleton" world, which is never what a distributed script meant.
_LAUNCHER_VARS = (
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_RANK",
    "PMI_SIZE",
    "PMI_RANK",
    "MPI_LOCALNRANKS",
)


def is_available():
    """Whether mpi4py can be imported (ferrograd[mpi] is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def launched_by_mpiexec():
    """Whether this process was started by an MPI launcher (mpiexec/mpirun/srun)."""
    return any(v in os.environ for v in _LAUNCHER_VARS)


def init():
    """Joins the MPI job this process belongs to (idempotent). RuntimeError when mpi4py
    is missing or the process was not started by mpiexec."""
    global _COMM
    if _COMM is not None:
        return
    if not is_available():
        raise RuntimeError(
            "fg.distributed needs mpi4py, which is not installed: pip install 'ferrograd[mpi]'"
        )
    if not launched_by_mpiexec():
        raise RuntimeError(
            "fg.distributed.init(): this process was not started by an MPI launcher; run it as "
            "`mpiexec -n <ranks> python script.py` (or `mpiexec -n <ranks> ferrograd train --distributed`)"
        )
    # Open MPI's waiting ranks spin by default. When ranks share cores (a laptop, an
    # oversubscribed node, a busy machine) the spinning rank takes the core its partner
    # needs to reach the collective; yielding costs little when the core is otherwise
    # idle. On a busy 2-core machine it cut the all-reduce time 2-7x (docs/distributed.md).
    # Only a default: `mpiexec --mca mpi_yield_when_idle 0` (or the variable) overrides.
    os.environ.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    from mpi4py import MPI

    _COMM = MPI.COMM_WORLD


def is_initialized():
    return _COMM is not None


def comm():
    """The MPI communicator (RuntimeError before :func:`init`)."""
    if _COMM is None:
        raise RuntimeError(
            "fg.distributed is not initialized: call fg.distributed.init() first"
        )
    return _COMM


def rank():
    """This process's rank, 0 .. world_size() - 1."""
    return comm().Get_rank()


def world_size():
    """The number of processes in the job."""
    return comm().Get_size()
