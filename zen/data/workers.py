"""Making batches ahead of the training loop: one background thread, or
worker processes.

- `prefetched` runs `make_batch` in a daemon thread that stays up to
  `depth` batches ahead. numpy releases the GIL while it copies, so an
  `ArrayDataset`'s fancy index overlaps with the training step.
- `worker_batches` hands whole batches (their indices) to worker processes,
  round robin: batch i goes to worker i % num_workers, and each worker
  makes its batches in order, so they come back in order without
  reordering. A worker's failure comes back as an exception with
  its traceback; a worker that dies is noticed (its process sentinel) rather
  than waited for.

Both are generators: closing one (the loop breaks, the iterator is garbage
collected, an error is raised) stops its thread or its workers.
"""
import copy
import multiprocessing
import pickle
import queue
import random
import signal
import threading
import traceback
from multiprocessing import connection
from typing import NamedTuple

import numpy as np

from .. import rng
from .dataset import get_batch

__all__ = ["WorkerInfo", "get_worker_info", "gather", "prefetched", "worker_batches",
           "worker_seed_base"]

_JOIN_SECONDS = 1.0        # how long a worker may take to finish after it is told to stop
_worker_info = None        # set in each worker process


class WorkerInfo(NamedTuple):
    """What a DataLoader worker process knows about itself (PyTorch's
    `get_worker_info()`).

    Attributes:
        id: this worker, in [0, num_workers).
        num_workers: the loader's number of workers.
        seed: what this worker's `random`, `numpy.random` and `zen.rng` were
            seeded with at the start of the epoch (a base seed plus `id`).
        dataset: this worker's copy of the dataset.
    """
    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """This worker's `WorkerInfo` inside a DataLoader worker process; None in
    the main process.

    Example:
        def __getitem__(self, i):
            info = zen.data.get_worker_info()   # e.g. to split a file between workers
    """
    return _worker_info


def gather(dataset, collate_fn, indices: np.ndarray):
    """The batch of `dataset` at `indices`.

    Args:
        dataset: any dataset (`__len__` and `__getitem__`).
        collate_fn: None for `get_batch` (one fancy index for an
            ArrayDataset), else a callable given the samples read one
            `__getitem__` at a time.
        indices: 1-D integer array of sample positions.
    """
    if collate_fn is None:
        return get_batch(dataset, indices)
    return collate_fn([dataset[int(i)] for i in indices])


# ----- one background thread ------------------------------------------------------------
def prefetched(make_batch, batches: list, depth: int):
    """Yield `make_batch(indices)` for each of `batches`, in order, made by a
    daemon thread up to `depth` batches ahead. An exception in `make_batch`
    is raised here, at its batch, with its traceback.

    Args:
        make_batch: `make_batch(indices)` -> a batch.
        batches: the epoch's index arrays.
        depth: how many batches the thread may make ahead (>= 1).

    Two unbounded queues keep it cheap (their `get` and `put` are C calls):
    `ready` carries the batches, and `slots` holds one token per batch the
    thread may make, given back as each batch is taken.
    """
    ready, slots, stop = queue.SimpleQueue(), queue.SimpleQueue(), threading.Event()
    for _ in range(depth):
        slots.put(True)
    thread = threading.Thread(target=_produce, args=(make_batch, batches, ready, slots, stop),
                              name="zen-data-prefetch", daemon=True)
    thread.start()
    try:
        for _ in batches:
            made, item = ready.get()
            if not made:
                raise item
            slots.put(True)
            yield item
    finally:
        stop.set()
        slots.put(False)   # wakes the thread if it waits for a slot
        if thread is not threading.current_thread():   # (the GC may close us from there)
            thread.join()  # it finishes the batch in hand at most


def _produce(make_batch, batches, ready, slots, stop):
    """The thread's loop; it never holds a reference to the consuming generator,
    so dropping that generator is what stops the thread."""
    for indices in batches:
        if not slots.get() or stop.is_set():
            return
        try:
            ready.put((True, make_batch(indices)))
        except BaseException as error:  # handed to the caller, who raises it
            ready.put((False, error))
            return


# ----- worker processes ---------------------------------------------------------------------
def worker_seed_base(generator: np.random.Generator, epoch: int) -> int:
    """The epoch's base seed for the workers (worker w gets base + w, as in
    PyTorch), a 63-bit integer.

    It comes from a jumped copy of `generator`, so the generator itself is
    not advanced and the epoch orders are the same with or without workers.

    Args:
        generator: the loader's generator, or `zen.rng`'s.
        epoch: the number of the epoch, so that epochs which draw no order
            (shuffle=False) still get new seeds.
    """
    bit_generator = generator.bit_generator
    jumped = bit_generator.jumped() if hasattr(bit_generator, "jumped") \
        else copy.deepcopy(bit_generator)
    draw = int(np.random.Generator(jumped).integers(2 ** 63))
    words = np.random.SeedSequence([draw, epoch]).generate_state(2, np.uint32)
    return (int(words[0]) << 31) | (int(words[1]) >> 1)   # 63 bits: room for + worker id


def worker_batches(dataset, collate_fn, batches: list, num_workers: int, depth: int,
                   base_seed: int, context=None):
    """Yield the batches of `batches` (index arrays), in order, made by
    `num_workers` processes that each keep up to `depth` batches in hand.

    Args:
        dataset: the dataset each worker reads (pickled under "spawn").
        collate_fn: None or the loader's collate_fn (see `gather`).
        batches: the epoch's index arrays.
        num_workers: how many processes.
        depth: batches each worker may make ahead of the caller (>= 1).
        base_seed: worker w seeds its generators with base_seed + w.
        context: a multiprocessing context (None: the default one).
    """
    pool = _Workers(dataset, collate_fn, batches, num_workers, base_seed,
                    context or multiprocessing.get_context())
    try:
        for worker_id in range(num_workers):
            pool.allow(worker_id, depth)
        for position in range(len(batches)):
            batch = pool.receive(position)
            pool.allow(position % num_workers, 1)
            yield batch
    finally:
        pool.shutdown()


class _Workers:
    """The processes of one epoch. Worker w is given its batches (positions
    w, w + num_workers, ...) when it starts; it makes one each time the main
    process allows it (a one-byte message on its `permits` pipe, so that
    pipe never fills and no send blocks) and writes it to its `results` pipe."""

    def __init__(self, dataset, collate_fn, batches, num_workers, base_seed, context):
        self.permits, self.results, self.processes = [], [], []
        try:
            for worker_id in range(num_workers):
                self._start(dataset, collate_fn, batches, worker_id, num_workers, base_seed,
                            context)
        except BaseException:   # e.g. a dataset that does not pickle under "spawn"
            self.shutdown()
            raise

    def _start(self, dataset, collate_fn, batches, worker_id, num_workers, base_seed, context):
        permits_in, permits_out = context.Pipe(duplex=False)
        results_in, results_out = context.Pipe(duplex=False)
        mine = [(position, batches[position])
                for position in range(worker_id, len(batches), num_workers)]
        info = WorkerInfo(worker_id, num_workers, base_seed + worker_id, None)
        process = context.Process(
            target=_worker_loop, name=f"zen-data-worker-{worker_id}", daemon=True,
            args=(dataset, collate_fn, mine, permits_in, results_out, info))
        try:
            process.start()
        except BaseException:
            permits_out.close()
            results_in.close()
            raise
        finally:
            permits_in.close()    # the worker's ends: its death is an EOF here
            results_out.close()
        self.permits.append(permits_out)
        self.results.append(results_in)
        self.processes.append(process)

    def allow(self, worker_id: int, count: int) -> None:
        """Let worker `worker_id` make `count` more batches."""
        for _ in range(count):
            try:
                self.permits[worker_id].send_bytes(b"+")
            except OSError:   # it has died; `receive` says so
                return

    def receive(self, position: int):
        """Batch `position`, from worker position % num_workers; raises that
        worker's exception, or a RuntimeError when it died."""
        worker_id = position % len(self.processes)
        results, process = self.results[worker_id], self.processes[worker_id]
        connection.wait([results, process.sentinel])
        try:
            made, item = results.recv() if results.poll() else (None, None)
        except (EOFError, OSError):
            made, item = None, None
        if made is None:
            process.join(_JOIN_SECONDS)
            raise RuntimeError(f"DataLoader worker {worker_id} (pid {process.pid}) exited "
                               f"unexpectedly{_exit_reason(process.exitcode)} while making "
                               f"batch {position}.")
        if not made:
            raise _rebuild_error(item, worker_id, position)
        return item

    def shutdown(self) -> None:
        """Tell each worker to stop (a stop message, and the pipes closed: a
        worker blocked on a send gets a broken pipe), give them a moment,
        then terminate the rest."""
        for permits in self.permits:
            try:
                permits.send_bytes(b"")
            except OSError:
                pass
            permits.close()
        for results in self.results:
            results.close()
        for process in self.processes:
            process.join(_JOIN_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join()


def _exit_reason(exitcode) -> str:
    if exitcode is None:
        return ""
    if exitcode < 0:
        try:
            return f" (killed by signal {signal.Signals(-exitcode).name})"
        except ValueError:
            return f" (killed by signal {-exitcode})"
    return f" with exit code {exitcode}"


def _worker_loop(dataset, collate_fn, mine, permits, results, info: WorkerInfo) -> None:
    """A worker: seed, then make each of its batches when allowed to, until
    its batches run out or it is told to stop (an empty message, or EOF)."""
    global _worker_info
    _worker_info = info._replace(dataset=dataset)
    random.seed(info.seed)
    np.random.seed(info.seed % 2 ** 32)
    rng.set_seed(info.seed)
    try:
        for _, indices in mine:
            if not permits.recv_bytes():
                return
            try:
                message = (True, gather(dataset, collate_fn, indices))
            except Exception as error:  # sent to the main process
                message = (False, _describe_error(error))
            if not _send(results, message):
                return
    except (EOFError, OSError, KeyboardInterrupt):  # the main process has gone (or Ctrl-C)
        pass


def _send(results, message) -> bool:
    """Send `message`; a batch that cannot be pickled is sent as its error.
    False when the main process has stopped listening."""
    try:
        results.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
        return False
    except Exception as error:  # e.g. a batch that does not pickle
        return _send(results, (False, _describe_error(error)))
    return True


def _describe_error(error: BaseException) -> tuple:
    """(exception class or None when it does not pickle, its name, the
    formatted traceback): what the main process needs to raise it again."""
    kind = type(error)
    try:
        pickle.dumps(kind)
    except Exception:  # a class defined in a function
        kind = None
    return kind, type(error).__qualname__, "".join(traceback.format_exception(error))


def _rebuild_error(described: tuple, worker_id: int, position: int) -> BaseException:
    """The worker's exception, of its own class when that class takes a
    message (else a RuntimeError), with the worker's traceback in it."""
    kind, name, text = described
    message = (f"Caught {name} in DataLoader worker {worker_id} while making batch "
               f"{position}.\nOriginal traceback in the worker:\n{text}")
    if kind is KeyError:   # KeyError shows its argument's repr: keep the lines readable
        message = _KeyErrorMessage(message)
    try:
        return kind(message) if kind is not None else RuntimeError(message)
    except Exception:  # a class whose constructor wants other arguments
        return RuntimeError(message)


class _KeyErrorMessage(str):
    """A str whose repr is itself (PyTorch's trick for KeyError messages)."""

    def __repr__(self):
        return self
