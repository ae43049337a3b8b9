"""Sequences: Keras's `pad_sequences` and `timeseries_dataset_from_array`.

`BatchedSamples` is the shared shape of Zen's ready-made datasets: a
`PyDataset` of batches (so `fit`, `evaluate` and `predict` take it as `x`)
that is also a plain re-iterable, with a new sample order per pass when it
shuffles.
"""
import numpy as np

from ..validation import check_bool, check_int, check_one_of, check_positive_int, invalid
from .dataset import make_generator
from .pydataset import PyDataset

__all__ = ["pad_sequences", "timeseries_dataset_from_array", "BatchedSamples"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (and truncate) sequences to one length, as Keras.

    Args:
        sequences: a list of sequences (lists or arrays whose items share one
            shape; usually lists of integers).
        maxlen: the length of every output sequence; None: the longest one.
        dtype: the output dtype (default "int32"; `object` for strings).
        padding: "pre" or "post": pad before or after each sequence.
        truncating: "pre" or "post": cut longer sequences at their start or
            at their end.
        value: the padding value (default 0.0).

    Returns:
        An array of shape `(len(sequences), maxlen) + item_shape`.

    Example:
        pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)  # [[0, 1], [2, 3], [5, 6]]
    """
    if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
        raise invalid("sequences", "a list of sequences", sequences)
    padding = check_one_of(padding, "padding", ("pre", "post"))
    truncating = check_one_of(truncating, "truncating", ("pre", "post"))
    arrays = [_sequence_array(s, position) for position, s in enumerate(sequences)]
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    maxlen = (int(lengths.max(initial=0)) if maxlen is None
              else check_int(maxlen, "maxlen", 0))
    is_text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text_dtype:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                         f"{type(value)}\nYou should set `dtype=object` for variable length "
                         f"strings.")
    item_shape = _item_shape(arrays)
    padded = np.full((len(arrays), maxlen) + item_shape, value, dtype=dtype)
    if lengths.sum() == 0:
        return padded
    flat = np.concatenate([a for a in arrays if len(a)]).astype(dtype)
    row = np.repeat(np.arange(len(arrays)), lengths)
    position = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    first_kept = np.maximum(lengths - maxlen, 0) if truncating == "pre" else np.zeros_like(lengths)
    kept_length = np.minimum(lengths, maxlen)
    column = position - first_kept[row]
    keep = (column >= 0) & (column < kept_length[row])
    if padding == "pre":
        column = column + (maxlen - kept_length)[row]
    padded[row[keep], column[keep]] = flat[keep]
    return padded


def _sequence_array(sequence, position) -> np.ndarray:
    try:
        len(sequence)
    except TypeError:
        raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: "
                         f"{sequence!r} at position {position}") from None
    return np.asarray(sequence)


def _item_shape(arrays) -> tuple:
    filled = [a for a in arrays if len(a)]
    shape = filled[0].shape[1:] if filled else ()
    for position, array in enumerate(arrays):
        if len(array) and array.shape[1:] != shape:
            raise ValueError(f"Shape of sample {array.shape[1:]} of sequence at position "
                             f"{position} is different from expected shape {shape}")
    return shape


class BatchedSamples(PyDataset):
    """Base class: samples served in batches, reshuffled every pass.

    Subclasses set `num_samples` and implement `gather(indices)`, the batch
    of the samples at `indices`. Iterating gives one pass (then
    `on_epoch_end`, which draws the next order when shuffling); `fit` takes
    it as a `PyDataset`.

    Args:
        num_samples: the number of samples.
        batch_size: samples per batch; None serves single samples.
        shuffle: a new random sample order for every pass.
        seed: with `shuffle`, an integer gives its own generator; None
            draws from Zen's generator (reproducible after `zen.set_seed`).
    """

    def __init__(self, num_samples: int, batch_size=32, shuffle=False, seed=None):
        super().__init__()
        self.num_samples = int(num_samples)
        self.batch_size = None if batch_size is None else check_positive_int(batch_size,
                                                                              "batch_size")
        self.shuffle = check_bool(shuffle, "shuffle")
        self.seed = seed
        self._generator = make_generator(seed) if seed is not None else None
        self._order = self._draw_order()

    def gather(self, indices: np.ndarray):
        """The batch of the samples at `indices` (subclass hook)."""
        raise NotImplementedError(f"{type(self).__name__} must implement gather (subclass hook)")

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.num_samples
        return -(-self.num_samples // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for {len(self)} batches")
        if self.batch_size is None:
            return _first(self.gather(self._order[index:index + 1]))
        return self.gather(self._order[index * self.batch_size:(index + 1) * self.batch_size])

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        """Draw the next pass's sample order (when shuffling)."""
        if self.shuffle:
            self._order = self._draw_order()

    def _draw_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.num_samples)
        generator = self._generator if self._generator is not None else make_generator(None)
        return generator.permutation(self.num_samples)


def _first(batch):
    """The only sample of a batch of one (arrays, or a tuple of them)."""
    if isinstance(batch, tuple):
        return tuple(part[0] for part in batch)
    return batch[0]


class TimeseriesDataset(BatchedSamples):
    """Sliding windows over a timeseries; see `timeseries_dataset_from_array`."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size,
                 shuffle, seed):
        self.data, self.targets, self.starts = data, targets, starts
        self.offsets = np.arange(sequence_length) * sampling_rate
        super().__init__(len(starts), batch_size, shuffle, seed)

    def gather(self, indices: np.ndarray):
        """The windows (and targets) of the samples at `indices`."""
        starts = self.starts[indices]
        windows = self.data[starts[:, None] + self.offsets]
        return windows if self.targets is None else (windows, self.targets[starts])


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Batches of sliding windows over a timeseries, as Keras.

    Window `i` starts at `start_index + i * sequence_stride` and takes
    `sequence_length` steps, `sampling_rate` apart; its target is
    `targets[start_index + i * sequence_stride]`.

    Args:
        data: an array whose first axis is time.
        targets: the targets by time step (the target of a window is the one
            at its first step), or None for windows alone.
        sequence_length: the number of steps in a window.
        sequence_stride: the steps between the starts of two windows.
        sampling_rate: the steps between two items of a window.
        batch_size: windows per batch (default 128); None gives single windows.
        shuffle: a new random window order on every pass.
        seed: with `shuffle`, an integer for a reproducible sequence of orders.
        start_index: the first step used (default 0).
        end_index: the step before which windows end (default `len(data)`).

    Returns:
        A re-iterable of batches `(windows, targets)` (or `windows` when
        `targets` is None), with `len`; `fit` and `predict` take it as `x`.

    Example:
        ds = timeseries_dataset_from_array(np.arange(10), np.arange(10), 3, batch_size=4)
        windows, targets = next(iter(ds))  # [[0, 1, 2], [1, 2, 3], ...], [0, 1, 2, 3]
    """
    data = np.asarray(data)
    if data.ndim == 0:
        raise invalid("data", "an array with a time axis", data)
    sequence_length = check_positive_int(sequence_length, "sequence_length")
    _check_bounds(len(data), start_index, end_index, sampling_rate, sequence_stride)
    start = start_index or 0
    end = len(data) if end_index is None else end_index
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets))
    starts = start + np.arange(0, max(count, 0), sequence_stride)
    return TimeseriesDataset(data, targets, starts, sequence_length, sampling_rate, batch_size,
                             shuffle, seed)


def _check_bounds(length, start_index, end_index, sampling_rate, sequence_stride):
    if start_index is not None:
        check_int(start_index, "start_index")
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= length:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {length}")
    if end_index is not None:
        check_int(end_index, "end_index")
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= length:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {length}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        check_int(value, name)
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= length:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                             f"{name}={value}, for data of length {length}")
