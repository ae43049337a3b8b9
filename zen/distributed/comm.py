"""The processes of an MPI job and the few collective operations Zen needs.

Every process of `mpiexec -n N python train.py` runs the same script; MPI
numbers them 0 .. N-1 (the rank). Importing this module starts MPI (that is
mpi4py's way: `from mpi4py import MPI` initialises it, and it is finalised
at exit); `init()` then makes the job behave as one program: an uncaught
exception on any process ends every process (see `faults`). Only rank 0
prints and writes for the job: in `fit`, the callbacks marked
`main_process_only` run there alone; elsewhere, guard with `is_main()`.
With several processes, each splits its array passes over one thread
(`zen.parallel`), unless ZEN_NUM_THREADS says otherwise.

A script run without `mpiexec` is a job of one process (rank 0 of 1), so
the same code runs on a laptop unchanged.
"""
import numpy as np
from mpi4py import MPI

from .. import parallel
from . import faults

__all__ = ["init", "rank", "size", "is_main", "barrier", "broadcast_weights",
           "allreduce_mean"]

_initialised = False


def init() -> None:
    """Join the job: abort every process when one of them raises (instead
    of leaving the others waiting forever). Idempotent; importing
    `zen.distributed` calls it, and so does `DataParallel`.

    Example:
        import zen.distributed as dist
        dist.init()
        print(f"process {dist.rank()} of {dist.size()}")
    """
    global _initialised
    if _initialised:
        return
    faults.install_excepthook(world())
    if size() > 1:
        parallel.default_num_threads(1)  # the ranks share the cores: one thread each
    _initialised = True


def world():
    """The communicator of every process of the job (MPI.COMM_WORLD)."""
    return MPI.COMM_WORLD


def rank() -> int:
    """This process's number, 0 .. size() - 1."""
    return world().Get_rank()


def size() -> int:
    """The number of processes in the job."""
    return world().Get_size()


def is_main() -> bool:
    """Whether this is rank 0, the process that prints and writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every process has reached this call."""
    world().Barrier()


def allreduce_mean(array) -> np.ndarray:
    """The element-wise mean of `array` over all processes (a new array of
    its dtype; every process gets the same result).

    Example:
        mean_loss = allreduce_mean(np.array([loss]))[0]
    """
    array = np.ascontiguousarray(array)
    if array.dtype.kind not in "fc":
        array = array.astype(np.float64)
    total = np.empty_like(array)
    world().Allreduce(array, total, op=MPI.SUM)
    total /= size()
    return total


def broadcast_weights(model, root: int = 0) -> None:
    """Copy the weights of `model` (trainable or not) on rank `root` into the
    same model on every other process, in place (Tensor ids, hence optimizer
    state, are kept). One broadcast per dtype, not one per weight.

    Example:
        model = build_model(); model.build((None, 784))
        broadcast_weights(model)   # every process starts from rank 0's weights
    """
    tensors = [t for _, t in model.named_tensors()]
    for dtype in sorted({t.dtype.str for t in tensors}):
        group = [t for t in tensors if t.dtype.str == dtype]
        flat = np.concatenate([t.value.ravel() for t in group])
        world().Bcast(flat, root=root)
        offset = 0
        for t in group:
            t.value[...] = flat[offset:offset + t.size].reshape(t.shape)
            offset += t.size


# ----- for zen.distributed's own use -------------------------------------------------
def broadcast_object(value, comm=None, root: int = 0):
    """A small Python object (a dict of arrays, a state) from `root` to all."""
    return (comm or world()).bcast(value, root=root)


def gather_objects(value, comm=None) -> list:
    """Every process's small Python object, in rank order, on every process."""
    return (comm or world()).allgather(value)


def sum_in_place(array, comm=None) -> np.ndarray:
    """`array` replaced by its element-wise sum over the processes."""
    (comm or world()).Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
    return array


def max_in_place(array, comm=None) -> np.ndarray:
    """`array` replaced by its element-wise maximum over the processes."""
    (comm or world()).Allreduce(MPI.IN_PLACE, array, op=MPI.MAX)
    return array
