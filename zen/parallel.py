"""Both cores for the array passes BLAS does not thread: one small pool of
threads that splits a large pass into contiguous chunks.

numpy releases the GIL inside its loops over large arrays, and zen.kernels'
compiled loops release it too, so chunks of one pass run at the same time on
different cores. What is split: the elementwise ops (`apply`: add,
subtract, multiply, ReLU, gradients summed into one), every zen.kernels pass
(by rows, by images, or by whole blocks of rows for the column sums), the
optimizers' updates of large parameters, the attention op's per-head
products and GELU's numpy path. A chunk computes what the whole pass would
for its elements, in the same order, so a result is bitwise the same
whatever the number of threads. Small passes stay on the calling thread
(`MIN_CHUNK`), and a pass started from inside a chunk, or while another
thread's pass holds the pool, runs whole (no nested splitting, no deadlock).

The matrix products stay with BLAS, which threads them itself. Before the
pool first splits a pass, zen.blas tells OpenBLAS's threads to sleep as
soon as each product is done: spinning between products, as they do by
default, they left the pool no free core. With both in place a ResNet
training step takes about 0.8x its time on one thread (bench/README.md).

The size comes from `zen.set_num_threads(n)`, else the environment
variable ZEN_NUM_THREADS, else the cores this process may run on.
`zen.distributed` sets one thread per process.

Example:
    def halve(start, stop):
        big[start:stop] *= 0.5
    for_each_chunk(halve, len(big))      # two chunks at once on two cores
"""
import os
import threading

import numpy as np

from . import blas
from .validation import check_int

__all__ = ["set_num_threads", "get_num_threads", "default_num_threads", "for_each_chunk",
           "for_each_row_chunk", "for_each_slice", "for_each_block", "apply", "chunk_bounds",
           "MIN_CHUNK", "BLOCK"]

MIN_CHUNK = 1 << 17
"""The fewest elements worth a thread of their own: below twice this, a pass
runs on the calling thread (a chunk's hand-over costs tens of microseconds)."""

BLOCK = 1 << 16
"""Elements per block of `for_each_block`: a float32 block and a few
temporaries of its size stay in a core's L2 cache."""

_LOCK = threading.Lock()
_STATE = {"threads": None, "pool": None}
_INSIDE = threading.local()  # .active: this thread is running a chunk


def _threads_from_environment() -> int:
    value = os.environ.get("ZEN_NUM_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"ZEN_NUM_THREADS must be a positive integer. Received: "
                             f"ZEN_NUM_THREADS={value!r}")
        return int(value)
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return len(cores) if cores else (os.cpu_count() or 1)


def get_num_threads() -> int:
    """How many threads a large pass is split over (1: no splitting)."""
    if _STATE["threads"] is None:
        _STATE["threads"] = _threads_from_environment()
    return _STATE["threads"]


def set_num_threads(n: int) -> None:
    """Split large passes over `n` threads (1 turns splitting off).

    Args:
        n: a positive integer, e.g. the number of cores.

    Example:
        zen.set_num_threads(1)     # everything on the calling thread
    """
    n = check_int(n, "n", 1)
    _STATE["chosen"] = True
    _resize(n)


def default_num_threads(n: int) -> None:
    """Use `n` threads unless the user chose (`set_num_threads` or
    ZEN_NUM_THREADS): e.g. one per process under MPI.

    Args:
        n: a positive integer.
    """
    if not _STATE.get("chosen") and not os.environ.get("ZEN_NUM_THREADS", "").strip():
        _resize(check_int(n, "n", 1))


def _resize(n):
    with _LOCK:
        old = _STATE["pool"]
        _STATE["threads"], _STATE["pool"] = n, None
    if old is not None:
        for worker in old:
            worker.stop()


class _Worker:
    """One thread of the pool, handed a chunk at a time through two locks
    (18 us a hand-over and back, where a ThreadPoolExecutor's future takes 50)."""

    def __init__(self, name):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._task, self._error = None, None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def start(self, fn, start, stop):
        self._task = (fn, start, stop)
        self._go.release()

    def wait(self):
        """Block until the chunk is done; its exception, or None."""
        self._done.acquire()
        error, self._error = self._error, None
        return error

    def stop(self):
        self._task = None
        self._go.release()
        self._thread.join()

    def _loop(self):
        while True:
            self._go.acquire()
            if self._task is None:
                return
            try:
                _run_chunk(*self._task)
            except BaseException as error:  # handed to the caller by wait()
                self._error = error
            self._task = None
            self._done.release()


_BUSY = threading.Lock()  # held while a pass uses the workers


def _pool() -> list:
    with _LOCK:
        if _STATE["pool"] is None:
            blas.quiet_threads()  # or OpenBLAS's spinning threads take the cores
            _STATE["pool"] = [_Worker(f"zen-parallel-{i}") for i in range(get_num_threads() - 1)]
        return _STATE["pool"]


def _forget_pool_in_child():
    """A forked child has none of the parent's threads: it starts its own pool."""
    _STATE["pool"] = None
    global _BUSY
    _BUSY = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def chunk_bounds(length: int, parts: int) -> list:
    """[(start, stop), ...]: `parts` contiguous chunks of range(length), their
    sizes differing by at most one.

    Args:
        length: the number of elements.
        parts: the number of chunks (at most `length`).
    """
    step, extra = divmod(length, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + step + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def for_each_chunk(fn, length: int, min_chunk: int = None) -> None:
    """Call `fn(start, stop)` on chunks covering range(length), at the same
    time on up to `get_num_threads()` threads (the calling thread takes the
    first chunk); one call `fn(0, length)` when the pass is small, when one
    thread is set, or from inside a chunk. The first exception a chunk
    raises reaches the caller, after every chunk has finished.

    Args:
        fn: the work on elements [start, stop); chunks must not overlap in
            what they write.
        length: the number of elements.
        min_chunk: the fewest elements per thread (default `MIN_CHUNK`).
    """
    parts = min(get_num_threads(), length // max(MIN_CHUNK if min_chunk is None else min_chunk, 1))
    if parts <= 1 or getattr(_INSIDE, "active", False) or not _BUSY.acquire(blocking=False):
        fn(0, length)  # small, one thread, nested, or the pool busy with another thread's pass
        return
    try:
        first, *rest = chunk_bounds(length, parts)
        workers = _pool()[:len(rest)]
        for worker, (start, stop) in zip(workers, rest):
            worker.start(fn, start, stop)
        try:
            _run_chunk(fn, *first)
        finally:
            errors = [worker.wait() for worker in workers]  # waits for every chunk
    finally:
        _BUSY.release()
    failed = next((e for e in errors if e is not None), None)
    if failed is not None:
        raise failed


def for_each_row_chunk(fn, rows: int, row_size: int) -> None:
    """`for_each_chunk` over the rows of an array whose rows hold `row_size`
    elements each: a chunk holds at least `MIN_CHUNK` elements.

    Args:
        fn: the work on rows [start, stop).
        rows: the number of rows.
        row_size: elements per row.
    """
    for_each_chunk(fn, rows, -(-MIN_CHUNK // max(row_size, 1)))


def for_each_slice(fn, array) -> None:
    """`for_each_row_chunk` over `array`'s first axis: fn(start, stop) works
    on array[start:stop] (and on the same slices of arrays shaped like it).

    Args:
        fn: the work on the slice [start, stop) of the first axis.
        array: an array with at least one axis.
    """
    for_each_row_chunk(fn, len(array), array.size // max(len(array), 1))


def apply(ufunc, *operands, out=None):
    """ufunc(*operands) as numpy computes it (the same bits), split along the
    result's first axis over the threads when the result is large: an
    operand spanning that axis is sliced with it, one broadcast along it
    (fewer axes, or a length of 1) goes whole to every chunk.

    Args:
        ufunc: a numpy ufunc whose result has numpy's result_type of its
            operands (add, subtract, multiply, divide, maximum, ...).
        *operands: arrays and scalars, broadcasting together.
        out: an optional array of the result's shape to write into.

    Returns:
        the result (`out` when given).
    """
    for x in operands:  # the common case first, in few steps: a small pass
        if type(x) is np.ndarray and x.size >= 2 * MIN_CHUNK:
            break
    else:
        return ufunc(*operands, out=out)
    if get_num_threads() == 1 or getattr(_INSIDE, "active", False):
        return ufunc(*operands, out=out)
    shape = np.broadcast_shapes(*(np.shape(x) for x in operands))
    size = int(np.prod(shape))
    if shape[0] < 2:
        return ufunc(*operands, out=out)
    if out is None:
        out = np.empty(shape, np.result_type(*operands))
    along = [isinstance(x, np.ndarray) and x.ndim == len(shape) and x.shape[0] == shape[0]
             for x in operands]

    def part(start, stop):
        ufunc(*(x[start:stop] if cut else x for x, cut in zip(operands, along)),
              out=out[start:stop])
    for_each_row_chunk(part, shape[0], size // shape[0])
    return out


def for_each_block(fn, length: int, block: int = BLOCK) -> None:
    """Call `fn(start, stop)` on consecutive blocks of `block` elements
    covering range(length), the blocks shared out in contiguous runs over
    the threads as `for_each_chunk` shares elements. For a pass made of many
    numpy calls: each call then works on a block that stays in the cache,
    where over the whole array every call would go to memory.

    Args:
        fn: the work on elements [start, stop); blocks must not overlap in
            what they write.
        length: the number of elements.
        block: elements per block (default `BLOCK`).
    """
    block = check_int(block, "block", 1)

    def run(start, stop):
        for first in range(start, stop, block):
            fn(first, min(first + block, stop))
    for_each_chunk(run, length)


def _run_chunk(fn, start, stop):
    _INSIDE.active = True
    try:
        fn(start, stop)
    finally:
        _INSIDE.active = False
