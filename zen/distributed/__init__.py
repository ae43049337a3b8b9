"""zen.distributed: data-parallel training over MPI (optional: mpi4py and
MPICH, `pip install "zen[mpi]"`).

Run the same script on N processes, `mpiexec -n N python train.py`, and pass
`distribute=DataParallel()` to `fit`: each process trains on its shard of
every global batch and the gradients are averaged before every step (see
`parallel.py`, and docs/distributed.md for running it on a cluster).
Importing it joins the job (`init()`): from then on an uncaught exception
on any process ends every process, whether or not the script calls `init()`.

Example:
    import zen
    import zen.distributed as dist

    zen.set_seed(0)
    model = build_model()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(x, y, epochs=5, batch_size=64, distribute=dist.DataParallel())
    if dist.is_main():
        print(model.evaluate(x_test, y_test))
"""
try:
    from mpi4py import MPI  # noqa: F401  (this starts MPI)
except (ImportError, RuntimeError) as error:  # no mpi4py, or no MPI library for it
    raise ImportError(f'zen.distributed needs mpi4py and an MPI library: pip install '
                      f'"zen[mpi]" (mpi4py and MPICH). ({type(error).__name__}: {error})') \
        from error

from .comm import allreduce_mean, barrier, broadcast_weights, init, is_main, rank, size
from .faults import SetupError
from .parallel import DataParallel

init()  # from the import on, an exception on any process ends the whole job

__all__ = ["init", "rank", "size", "is_main", "barrier", "broadcast_weights",
           "allreduce_mean", "DataParallel", "SetupError"]
