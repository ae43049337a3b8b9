"""Datasets: what a sample is and how a batch of samples is gathered.

A dataset is `__len__` plus `__getitem__`. `ArrayDataset` wraps in-memory
arrays and hands out a whole batch with one fancy index per array;
`Subset` and `random_split` carve a dataset into parts without copying it.
"""
from typing import Sequence

import numpy as np

from .. import rng
from ..validation import check_int, check_positive_int, is_int, is_number


class Dataset:
    """Base class: a sized collection of samples.

    Subclasses implement `__len__` and `__getitem__(i)` (one sample, usually a
    tuple such as `(image, label)`). They may override `get_batch(indices)`
    to gather many samples at once; the default stacks single samples.

    Example:
        class Squares(Dataset):
            def __len__(self): return 10
            def __getitem__(self, i): return (np.float32(i), np.float32(i * i))
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (subclass hook)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__ (subclass hook)")

    def get_batch(self, indices: np.ndarray) -> tuple:
        """The samples at `indices`, stacked into a tuple of arrays."""
        return collate([self[int(i)] for i in indices])

    def __repr__(self):
        return f"{type(self).__name__}(num_samples={len(self)})"


def collate(samples: list) -> tuple:
    """Stack a list of samples into a tuple of batches that keeps their structure.

    A sample that is a tuple (or list) gives one batch per field; any other
    sample (an array, a number or a dict) gives a 1-tuple. Fields are batched
    recursively: a nested tuple or list stays a tuple, a dict stays a dict
    with the same keys, and arrays or numbers are stacked along a new first
    axis. So `((xa, xb), y)` gives `((xa_batch, xb_batch), y_batch)` and
    `({"a": xa}, y)` gives `({"a": xa_batch}, y_batch)`.

    Args:
        samples: a non-empty list of samples of the same structure.

    Example:
        collate([((1, 2), 0), ((3, 4), 1)])  # ((array([1, 3]), array([2, 4])), array([0, 1]))
    """
    if not samples:
        raise ValueError("Cannot collate an empty list of samples.")
    batch = _collate_structure(samples)
    return batch if isinstance(samples[0], (tuple, list)) else (batch,)


def _collate_structure(samples: list):
    first = samples[0]
    if isinstance(first, (tuple, list)):
        for sample in samples:
            if not isinstance(sample, (tuple, list)) or len(sample) != len(first):
                raise ValueError(f"Cannot collate samples of different structures: expected "
                                 f"sequences of {len(first)} fields like the first sample. "
                                 f"Received: {_describe(sample)}")
        return tuple(_collate_structure([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, dict):
        for sample in samples:
            if not isinstance(sample, dict) or set(sample) != set(first):
                raise ValueError(f"Cannot collate samples of different structures: expected "
                                 f"dicts with keys {sorted(map(str, first))} like the first "
                                 f"sample. Received: {_describe(sample)}")
        return {key: _collate_structure([s[key] for s in samples]) for key in first}
    return np.stack([np.asarray(s) for s in samples])


def _describe(sample) -> str:
    if isinstance(sample, dict):
        return f"a dict with keys {sorted(map(str, sample))}"
    if isinstance(sample, (tuple, list)):
        return f"a {type(sample).__name__} of {len(sample)} fields"
    return f"a {type(sample).__name__}"


def get_batch(dataset, indices: np.ndarray) -> tuple:
    """Gather `indices` from any dataset: its own `get_batch` when it has one
    (zen datasets), else one `__getitem__` per sample and `collate`."""
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices)
    return collate([dataset[int(i)] for i in indices])


class ArrayDataset(Dataset):
    """A dataset over arrays that share their first dimension.

    Args:
        *arrays: one or more arrays (or array-likes) of the same length N,
            e.g. images `(N, 28, 28)` and labels `(N,)`. They are not copied.

    `dataset[i]` is a tuple with one sample per array; `dataset[index_array]`
    is a tuple of batches, one fancy index per array.

    Example:
        ds = ArrayDataset(x, y)
        x0, y0 = ds[0]
        xb, yb = ds[np.array([3, 1, 4])]
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array. Received: no arrays")
        self.arrays = tuple(np.asarray(a) for a in arrays)
        for position, array in enumerate(self.arrays):
            if array.ndim == 0:
                raise ValueError(f"ArrayDataset arrays must have a first (sample) dimension. "
                                 f"Received a 0-d array at position {position}: {array!r}")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"All arrays passed to ArrayDataset must have the same length "
                             f"(first dimension). Received lengths: {lengths}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index) -> tuple:
        return tuple(array[index] for array in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple:
        return self[indices]

    def __repr__(self):
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"ArrayDataset(num_samples={len(self)}, shapes=[{shapes}])"


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order, without copying.

    Args:
        dataset: any dataset (`__len__` and `__getitem__`).
        indices: 1-D integer array of positions in `dataset`.

    Example:
        first_ten = Subset(ds, np.arange(10))
    """

    def __init__(self, dataset, indices):
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise ValueError(f"Received an invalid value for `indices`, expected a 1-D array of "
                             f"integers. Received: dtype={indices.dtype}, shape={indices.shape}")
        n = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            bad = indices[(indices < 0) | (indices >= n)][0]
            raise IndexError(f"Subset index {bad} is out of range for a dataset of "
                             f"{n} samples")
        self.dataset = dataset
        self.indices = indices.astype(np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def get_batch(self, indices: np.ndarray) -> tuple:
        return get_batch(self.dataset, self.indices[indices])


def make_generator(seed: int | None) -> np.random.Generator:
    """A fresh generator for `seed`, or Zen's shared one when seed is None
    (so that `zen.set_seed` makes the draw reproducible)."""
    if seed is None:
        return rng.generator()
    return np.random.default_rng(check_int(seed, "seed", 0))


def random_split(dataset, lengths: Sequence, seed: int | None = None) -> list:
    """Split `dataset` at random into non-overlapping `Subset`s.

    Args:
        dataset: any dataset.
        lengths: either integers that sum to `len(dataset)`, or fractions
            (floats) that sum to 1; fractions are floored and the samples
            left over go one each to the first parts (as PyTorch does).
        seed: None (draw from `zen.rng`, reproducible after `zen.set_seed`)
            or an integer for a split that does not depend on global state.

    Returns:
        A list of `Subset`, one per length.

    Example:
        train, val = random_split(ds, [0.8, 0.2], seed=0)
    """
    counts = _split_counts(lengths, len(dataset))
    order = make_generator(seed).permutation(len(dataset))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


def _split_counts(lengths, n: int) -> list:
    lengths = list(lengths) if isinstance(lengths, (list, tuple, np.ndarray)) else None
    if not lengths:
        raise ValueError(f"Received an invalid value for `lengths`, expected a non-empty list "
                         f"of integers or fractions. Received: lengths={lengths!r}")
    if all(map(is_int, lengths)):
        counts = [int(k) for k in lengths]
        if min(counts) < 0 or sum(counts) != n:
            raise ValueError(f"Received an invalid value for `lengths`: integer lengths must be "
                             f"non-negative and sum to the dataset's {n} samples. "
                             f"Received: lengths={counts} (sum {sum(counts)})")
        return counts
    if not all(is_number(k) and 0 <= k <= 1 for k in lengths):
        raise ValueError(f"Received an invalid value for `lengths`, expected all integers or all "
                         f"fractions in [0, 1]. Received: lengths={lengths}")
    if abs(sum(lengths) - 1) > 1e-6:
        raise ValueError(f"Received an invalid value for `lengths`: fractions must sum to 1. "
                         f"Received: lengths={lengths} (sum {sum(lengths)})")
    counts = [int(np.floor(k * n)) for k in lengths]
    for part in range(n - sum(counts)):      # hand out the rounding leftovers
        counts[part % len(counts)] += 1
    return counts


def one_hot(labels, num_classes: int) -> np.ndarray:
    """One-hot encode integer class labels.

    Args:
        labels: integer labels of any shape S (float labels must be whole
            numbers), each in [0, num_classes).
        num_classes: number of classes C, a positive integer.

    Returns:
        float32 array of shape S + (C,); `(N,)` labels give `(N, C)`.

    Example:
        one_hot([0, 2], 3)  # [[1, 0, 0], [0, 0, 1]]
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    labels = np.asarray(labels)
    whole = labels.dtype.kind == "f" and np.all(np.isfinite(labels))
    if whole and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if labels.size and labels.dtype.kind not in "iu":
        raise ValueError(f"Received an invalid value for `labels`, expected integer class "
                         f"labels. Received: dtype={labels.dtype}")
    labels = labels.astype(np.int64)
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(f"Received a label out of range for num_classes={num_classes}: "
                         f"label {bad[0]} (labels must be in [0, {num_classes - 1}])")
    return np.eye(num_classes, dtype=np.float32)[labels]
