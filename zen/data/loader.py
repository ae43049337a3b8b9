"""The DataLoader: turns a dataset into an epoch of batches.

Each `iter(loader)` is a new epoch: a fresh order (shuffled or not) that
covers every sample exactly once, cut into batches of `batch_size`.
"""

import numpy as np

from ..validation import check_positive_int
from .dataset import get_batch, make_generator


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

    An empty dataset, or `drop_last=True` with fewer samples than one batch,
    is a ValueError here at construction rather than a silent empty epoch.

    Example:
        loader = DataLoader(ArrayDataset(x, y), batch_size=64, shuffle=True, seed=0)
        for xb, yb in loader:       # one epoch
            ...
        len(loader)                 # batches per epoch
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, collate_fn=None):
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
        # Validated even without shuffle, so a bad seed fails where it is written.
        self._generator = make_generator(seed) if seed is not None else None

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        order = self._epoch_order()
        for batch in range(len(self)):
            start = batch * self.batch_size
            yield self._batch(order[start:start + self.batch_size])

    def _batch(self, indices: np.ndarray):
        if self.collate_fn is None:
            return get_batch(self.dataset, indices)
        return self.collate_fn([self.dataset[int(i)] for i in indices])

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
                f"drop_last={self.drop_last}, seed={self.seed!r}, "
                f"num_samples={len(self.dataset)})")
