"""What happens when something goes wrong on one process of a job.

A collective operation (an allreduce, a broadcast) waits for every process.
If one process raises and leaves, the others would wait for it forever, so:

- an exception on any process, inside `fit` or uncaught anywhere after
  `zen.distributed.init()`, prints that process's traceback (headed by its
  rank) and aborts the whole job (`MPI_Abort`): every process ends and
  `mpiexec` exits with a non-zero status;
- a process that dies (SIGKILL, out of memory) is noticed by `mpiexec`
  (MPICH's hydra), which ends the others within a second or so;
- what can be checked before training (the same model, the same data on
  every process) is checked collectively, so every process raises the same
  `SetupError` and the job ends normally with status 1, each process
  having printed the message.

In a job of one process nothing is aborted: exceptions propagate as usual.
"""
import os
import sys
import time
import traceback
from contextlib import contextmanager

__all__ = ["SetupError", "abort_on_error", "install_excepthook", "check_same"]


class SetupError(ValueError):
    """Raised alike on every process, before training, when the job cannot
    train as set up: the processes were given different models or data, or
    the data cannot be sharded as asked. Nobody is left waiting, so nothing
    is aborted: every process prints it and exits."""


def abort(comm, error: BaseException) -> None:
    """Print `error` with its traceback, headed by this process's rank, and
    end every process of the job with exit status 1."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    sys.stderr.write(f"[zen.distributed] rank {comm.Get_rank()} of {comm.Get_size()} "
                     f"failed; aborting the job:\n{''.join(lines)}")
    sys.stderr.flush()
    sys.stdout.flush()
    time.sleep(0.5)  # let the launcher pass the traceback on before it kills everyone
    comm.Abort(1)
    os._exit(1)  # MPI_Abort may return before the launcher's signal arrives


@contextmanager
def abort_on_error(comm):
    """Abort the job on any exception inside the block, except a
    `SetupError`, which every process raises alike (and in a job of one
    process, where nobody waits).

    Example:
        with abort_on_error(MPI.COMM_WORLD):
            train()              # a failure on one process ends them all
    """
    try:
        yield
    except SetupError:
        raise
    except BaseException as error:
        if comm.Get_size() == 1:
            raise
        abort(comm, error)


def print_in_turn(comm, text: str) -> None:
    """Every process writes `text` to stderr, in rank order, each in one
    write and before any process goes on: the messages never interleave, and
    none is lost when the launcher ends the job as the first process exits."""
    for rank in range(comm.Get_size()):
        if rank == comm.Get_rank():
            sys.stderr.write(text)
            sys.stderr.flush()
        comm.Barrier()


def install_excepthook(comm) -> None:
    """Make an uncaught exception on this process abort the job (a
    `SetupError` ends only this process, which every process does)."""
    previous = sys.excepthook

    def hook(kind, error, trace):
        if comm.Get_size() == 1:
            previous(kind, error, trace)
        elif isinstance(error, SetupError):  # raised alike everywhere
            print_in_turn(comm, "".join(traceback.format_exception(kind, error, trace)))
        else:
            abort(comm, error.with_traceback(trace))

    sys.excepthook = hook


def check_same(comm, facts: dict, what: str) -> None:
    """Raise SetupError on every process unless every process has the same
    `facts` (a dict of small picklable values) as rank 0; the message lists
    the facts that differ, per rank (the first six)."""
    everyone = comm.allgather(facts)
    reference = everyone[0]
    differences = sorted(f"{key}: rank 0 has {reference.get(key)}, rank {r} has {other.get(key)}"
                         for r, other in enumerate(everyone[1:], start=1)
                         for key in reference.keys() | other.keys()
                         if other.get(key) != reference.get(key))
    if differences:
        shown = "; ".join(differences[:6])
        more = f"; and {len(differences) - 6} more" if len(differences) > 6 else ""
        raise SetupError(f"DataParallel needs the same {what} on every process; they differ: "
                         f"{shown}{more}. Give every process the same model and the whole "
                         f"dataset (DataParallel shards it).")
