"""Failure handling: a rank that raises takes the whole job down.

In an MPI job a rank that dies with an exception leaves the others blocked in their
next collective, waiting for a partner that will never come. The cure is
``MPI_Abort``: it prints nothing itself but kills every rank, and mpiexec exits
non-zero. ``ferrograd train --distributed`` runs under :func:`abort_on_exception`;
user scripts do the same with::

    fg.distributed.init()
    fg.distributed.install_abort_hook()     # or: with fg.distributed.abort_on_exception():
"""

import contextlib
import sys
import traceback

from . import state

__all__ = ["abort_on_exception", "install_abort_hook"]


def _abort(exc_type, exc, tb):
    """Prints the rank's traceback (flushed: abort skips normal exit) and aborts the job."""
    rank = state.rank() if state.is_initialized() else "?"
    sys.stdout.flush()
    sys.stderr.write(f"[rank {rank}] aborting the MPI job after an exception:\n")
    traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
    sys.stderr.flush()
    state.comm().Abort(1)


def install_abort_hook():
    """Makes an uncaught exception on this rank abort the whole MPI job (sys.excepthook)."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if state.is_initialized() and not issubclass(exc_type, KeyboardInterrupt):
            _abort(exc_type, exc, tb)
        previous(exc_type, exc, tb)

    sys.excepthook = hook


@contextlib.contextmanager
def abort_on_exception():
    """Context manager: an exception escaping the block aborts the whole MPI job (after
    printing this rank's traceback). SystemExit(0) passes through unchanged."""
    try:
        yield
    except SystemExit as e:
        if e.code not in (None, 0) and state.is_initialized() and state.world_size() > 1:
            sys.stderr.write(f"[rank {state.rank()}] exiting with status {e.code}; aborting the job\n")
            sys.stderr.flush()
            state.comm().Abort(e.code if isinstance(e.code, int) else 1)
        raise
    except BaseException:
        if not state.is_initialized():
            raise
        _abort(*sys.exc_info())
