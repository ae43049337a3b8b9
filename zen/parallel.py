"""Both cores for the array passes BLAS does not thread: one small pool of
threads that splits a large elementwise pass into contiguous chunks.

numpy releases the GIL inside its loops over large arrays, so chunks of one
pass run at the same time on different cores. Only elementwise work is
split, so a result is bitwise the same whatever the number of threads.
Small passes stay on the calling thread (`MIN_CHUNK`), and a pass started
from inside a chunk runs whole (no nested splitting, no deadlock).

Used by the optimizers' updates of large parameters (`Optimizer.elementwise`):
Adam on a 1M-weight matrix takes 0.6x the time on two threads; by the
attention op's per-head products (split along the batch); and by GELU's
numpy path, whose thirty-odd passes run block by block (`for_each_block`),
0.5x the time on a (2048, 512) activation with two threads. Splitting the
convolution's im2col/col2im and pooling passes measured no gain beside
OpenBLAS's own two threads (which keep spinning on the second core after
each GEMM), so those stay whole; see bench/README.md.

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
from concurrent.futures import ThreadPoolExecutor

from .validation import check_int

__all__ = ["set_num_threads", "get_num_threads", "default_num_threads", "for_each_chunk",
           "for_each_block", "chunk_bounds", "MIN_CHUNK", "BLOCK"]

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
        old.shutdown(wait=True)


def _pool() -> ThreadPoolExecutor:
    with _LOCK:
        if _STATE["pool"] is None:
            _STATE["pool"] = ThreadPoolExecutor(max_workers=get_num_threads() - 1,
                                                thread_name_prefix="zen-parallel")
        return _STATE["pool"]


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


def for_each_chunk(fn, length: int, min_chunk: int = MIN_CHUNK) -> None:
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
    parts = min(get_num_threads(), length // max(min_chunk, 1))
    if parts <= 1 or getattr(_INSIDE, "active", False):
        fn(0, length)
        return
    first, *rest = chunk_bounds(length, parts)
    futures = [_pool().submit(_run_chunk, fn, start, stop) for start, stop in rest]
    try:
        _run_chunk(fn, *first)
    finally:
        errors = [f.exception() for f in futures]  # waits for every chunk
    failed = next((e for e in errors if e is not None), None)
    if failed is not None:
        raise failed


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
