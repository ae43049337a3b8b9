"""The DataLoader: turns a dataset into an epoch of batches.

Each `iter(loader)` is a new epoch: a fresh order (shuffled or not) that
covers every sample exactly once, cut into batches of `batch_size`. The
order is drawn in the caller's thread when the epoch's first batch is
asked for; the batches are then made in that thread, in a background
thread ahead of the caller (`prefetch`), or by worker processes
(`num_workers`, see `zen.data.workers`) - the same batches in each case.
"""
import multiprocessing

import numpy as np

from .. import rng
from ..validation import check_int, check_one_of, check_positive_int
from .dataset import ArrayDataset, make_generator
from .workers import gather, prefetched, worker_batches, worker_seed_base


class DataLoader:
    """Iterate over a dataset in batches; each batch keeps the samples' structure.

    Args:
        dataset: any dataset (`__len__` and `__getitem__`); an `ArrayDataset`
            gathers each batch with one fancy index per array.
        batch_size: samples per batch, a positive integer (default 32).
        shuffle: draw a new random order every epoch (default False).
        drop_last: drop the last batch when it is smaller than `batch_size`.
        seed: with `shuffle`, an integer gives the loader its own generator,
            so the sequence of epoch orders repeats for the same seed; None
            draws from Zen's generator (reproducible after `zen.set_seed`).
        collate_fn: None (default) batches the samples with
            `zen.data.collate`, which keeps their structure: samples
            `((xa, xb), y)` give batches `((xa_batch, xb_batch), y_batch)`,
            dicts stay dicts. A callable `collate_fn(list_of_samples)`
            builds each batch instead (as in PyTorch); the samples are then
            read one `__getitem__` at a time.
        prefetch: how many batches a background thread makes ahead of the
            loop (default 2; 0 makes each batch when it is asked for). numpy
            releases the GIL while it gathers, so the next batches are made
            while the model trains on this one. With workers, each worker
            holds up to `max(prefetch, 1)` batches (PyTorch's
            `prefetch_factor`).
        num_workers: worker processes that make whole batches, for datasets
            whose `__getitem__` does Python work such as decoding files
            (default 0: none). Worker w of each epoch seeds `random`,
            `numpy.random` and `zen.rng` with a base seed plus w (see
            `get_worker_info`). The base seed follows the loader's `seed`
            (else `zen.rng`, so `zen.set_seed`) but is read from a jumped
            copy of that generator, which is not advanced: the batch order
            is the one without workers. An `ArrayDataset` needs no workers
            (one fancy index per batch): it always takes the in-process path.
            Under the "spawn" or "forkserver" start methods the dataset and
            `collate_fn` must pickle.
        multiprocessing_context: how the workers start: None (the platform's
            default start method; "fork" on Linux up to Python 3.13), "fork",
            "spawn", "forkserver", or a `multiprocessing` context.

    The batches, and their order, are the same whatever `prefetch` and
    `num_workers` are. A batch that fails to be made raises, at that batch,
    the original exception (from a worker: of the same class when possible,
    with the worker's traceback in its message); a worker that dies is a
    RuntimeError, never a hang. Leaving a loop early, or dropping the
    iterator, stops the thread or the workers. A dataset that draws from
    `zen.rng` in `__getitem__` shares it with the training step once a
    thread makes the batches: give it a generator of its own, or use
    `prefetch=0` for draws that repeat exactly.

    An empty dataset, or `drop_last=True` with fewer samples than one batch,
    is a ValueError here at construction rather than a silent empty epoch.

    Example:
        loader = DataLoader(ArrayDataset(x, y), batch_size=64, shuffle=True, seed=0)
        for xb, yb in loader:       # one epoch
            ...
        len(loader)                 # batches per epoch
        images = DataLoader(PngFolder(path), batch_size=32, num_workers=4)
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, collate_fn=None,
                 prefetch: int = 2, num_workers: int = 0, multiprocessing_context=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"Received an invalid value for `dataset`, expected an object with "
                            f"__len__ and __getitem__. Received: {type(dataset).__name__}")
        batch_size = check_positive_int(batch_size, "batch_size")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"Received an invalid value for `collate_fn`, expected None or a "
                            f"callable. Received: {collate_fn!r}")
        num_samples = len(dataset)
        if num_samples == 0:
            raise ValueError("Received an empty dataset (0 samples): a DataLoader needs at "
                             "least one sample.")
        if drop_last and num_samples < batch_size:
            raise ValueError(f"drop_last=True with batch_size={batch_size} leaves no batch: the "
                             f"dataset has only {num_samples} samples.")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.collate_fn = collate_fn
        self.prefetch = check_int(prefetch, "prefetch", 0)
        self.num_workers = check_int(num_workers, "num_workers", 0)
        self.multiprocessing_context = _check_context(multiprocessing_context)
        self._epochs = 0          # epochs started: part of the workers' seeds
        # Validated even without shuffle, so a bad seed fails where it is written.
        self._generator = make_generator(seed) if seed is not None else None

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        order = self._epoch_order()
        self._epochs += 1
        batches = [order[start:start + self.batch_size]
                   for start in range(0, len(self) * self.batch_size, self.batch_size)]
        if self.num_workers and not isinstance(self.dataset, ArrayDataset):
            yield from self._from_workers(batches)
        elif self.prefetch:
            yield from prefetched(self._batch, batches, self.prefetch)
        else:
            for indices in batches:
                yield self._batch(indices)

    def _batch(self, indices: np.ndarray):
        return gather(self.dataset, self.collate_fn, indices)

    def _from_workers(self, batches: list):
        generator = self._generator if self._generator is not None else rng.generator()
        context = self.multiprocessing_context
        if context is None or isinstance(context, str):
            context = multiprocessing.get_context(context)
        return worker_batches(self.dataset, self.collate_fn, batches, self.num_workers,
                              max(self.prefetch, 1), worker_seed_base(generator, self._epochs),
                              context)

    def _epoch_order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        # Zen's generator is looked up each epoch: zen.set_seed replaces it.
        generator = self._generator if self._generator is not None else make_generator(None)
        return generator.permutation(n)

    def state_dict(self) -> dict:
        """The loader's own generator state (for exact resume); empty when it
        has none (seed=None draws from zen.rng, saved by zen.rng.get_state)."""
        return {} if self._generator is None else {"generator": self._generator.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by `state_dict`."""
        if "generator" in state:
            if self._generator is None:
                raise ValueError("This DataLoader has no generator of its own (seed=None); "
                                 "received a state with one.")
            self._generator.bit_generator.state = state["generator"]

    def __repr__(self):
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed!r}, prefetch={self.prefetch}, "
                f"num_workers={self.num_workers}, num_samples={len(self.dataset)})")


def _check_context(context):
    """None, a start method's name, or a multiprocessing context."""
    if context is None or hasattr(context, "Process"):
        return context
    return check_one_of(context, "multiprocessing_context",
                        tuple(multiprocessing.get_all_start_methods()))
