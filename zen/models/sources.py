"""What `fit`, `evaluate` and `predict` accept as data, turned into batches.

- arrays (one, a list in input order, or a dict by input name) with `y`
  and `sample_weight` alike: checked once (`zen.models.arrays`) and cut into
  batches of `batch_size` (32 when None), shuffled each epoch if asked;
- a `zen.data.Dataset`: batches of `batch_size` of its samples, shuffled
  each epoch if asked;
- sources that make their own batches, `(x, y)` or `(x, y, sample_weight)`
  (or `x` alone for `predict`): a `zen.data.DataLoader`, a
  `zen.data.PyDataset` (its batch order shuffled each epoch if asked), and
  a Python generator or iterator (drawn once; see `zen.train.epochs`).
  With these, `y`, `sample_weight`, `batch_size` and `validation_split` are
  ValueErrors, as in Keras: the source carries them.

`class_weight` ({class index: weight}) becomes each sample's weight, read
from its integer label (or the argmax of a one-hot target).
"""
import numpy as np

from .. import rng, tree
from ..data import ArrayDataset, DataLoader, Dataset, PyDataset
from ..validation import invalid, is_int

__all__ = ["kind_of", "source_batches", "check_source_arguments", "class_weights_for",
           "ModelData", "PyDatasetBatches", "WithClassWeights"]


def kind_of(x) -> str:
    """"arrays", "dataset", "loader", "pydataset" or "generator"."""
    if isinstance(x, DataLoader):
        return "loader"
    if isinstance(x, PyDataset):
        return "pydataset"
    if isinstance(x, Dataset):
        return "dataset"
    if hasattr(x, "__next__") and hasattr(x, "__iter__"):
        return "generator"
    return "arrays"


_NAMES = {"loader": "zen.data.DataLoader", "pydataset": "zen.data.PyDataset",
          "generator": "generator", "dataset": "zen.data.Dataset"}


def check_source_arguments(kind, y=None, sample_weight=None, batch_size=None,
                           validation_split=0.0):
    """Keras's refusals for a source that carries its own targets and batches."""
    if kind == "arrays":
        return
    name = _NAMES[kind]
    for argument, value, carried in (("y", y, "the targets"),
                                     ("sample_weight", sample_weight, "the sample weights")):
        if value is not None:
            raise ValueError(f"When providing `x` as a {name}, `{argument}` should not be "
                             f"passed. Instead, {carried} should be included as part of "
                             f"the {name}.")
    if batch_size is not None and kind != "dataset":
        raise ValueError(f"When providing `x` as a {name}, `batch_size` should not be "
                         f"passed: the {name} makes its own batches. Received: "
                         f"batch_size={batch_size!r}")
    if validation_split:
        raise ValueError(f"`validation_split` is only supported for arrays, not for a "
                         f"{name}: pass `validation_data` instead. Received: "
                         f"validation_split={validation_split!r}")


def source_batches(x, kind, batch_size=None, shuffle=False, class_weight=None):
    """The batches of a non-array source, ready for the Trainer."""
    if kind == "dataset":
        batches = DataLoader(x, 32 if batch_size is None else batch_size, shuffle=shuffle)
    elif kind == "pydataset":
        batches = PyDatasetBatches(x, shuffle)
    else:
        batches = x
    return batches if class_weight is None else WithClassWeights(batches, class_weight)


class PyDatasetBatches:
    """A PyDataset's batches, one pass per `iter`, in index order or shuffled
    (Zen's generator); `on_epoch_end` is called after each pass."""

    def __init__(self, dataset: PyDataset, shuffle: bool = False):
        self.dataset, self.shuffle = dataset, shuffle

    def __len__(self):
        return len(self.dataset)

    def __iter__(self):
        order = rng.generator().permutation(len(self)) if self.shuffle else range(len(self))
        for index in order:
            yield self.dataset[int(index)]
        self.dataset.on_epoch_end()


class WithClassWeights:
    """A source's `(x, y)` batches with sample weights from `class_weight`
    (a batch's own weights, if any, are multiplied by them)."""

    def __init__(self, batches, class_weight: dict):
        self.batches, self.class_weight = batches, class_weight
        self.one_shot = iter(batches) is batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        if self.one_shot:  # a generator stays one-shot
            return self
        return (self._weighted(batch) for batch in self.batches)

    def __next__(self):
        return self._weighted(next(self.batches))

    def _weighted(self, batch):
        x, y, *given = batch
        weights = class_weights_for(y, self.class_weight)
        if given and given[0] is not None:
            weights = weights * np.asarray(given[0])
        return x, y, weights


def class_weights_for(y, class_weight: dict) -> np.ndarray:
    """Each sample's weight from `class_weight` {class: weight}: by its integer
    label, or the argmax of its one-hot row (Keras's rule); a class left out
    weighs 1. One output only."""
    if not isinstance(class_weight, dict) or not class_weight or not all(
            is_int(k) and k >= 0 for k in class_weight):
        raise invalid("class_weight", "a dict {class index >= 0: weight}", class_weight)
    if tree.is_nested(y) and len(tree.flatten(y)) > 1:
        raise ValueError("`class_weight` is only supported for models with a single output")
    y = np.asarray(tree.flatten(y)[0])
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y))
    labels = np.round(labels).astype(np.int64) if labels.dtype.kind == "f" \
        else labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"`class_weight` needs class labels >= 0; the targets hold "
                         f"{int(labels.min())}")
    table = np.ones(int(labels.max(initial=0)) + 1)
    for label, weight in class_weight.items():
        if label < len(table):
            table[label] = float(weight)
    return table[labels]


class ModelData(ArrayDataset):
    """Input, target and sample-weight arrays, each a list in the model's
    order; a batch is `(x,)`, `(x, y)` or `(x, y, sample_weight)`, each the
    array itself for one input or output, else a list, or a dict where
    `keys` (x's keys, y's keys) says so."""

    def __init__(self, xs: list, ys: list = None, weights: list = None, keys=(None, None)):
        super().__init__(*xs, *(ys or []), *(weights or []))
        self.counts = (len(xs), len(ys or []), len(weights or []))
        self.keys = keys

    def get_batch(self, indices) -> tuple:
        arrays = super().get_batch(indices)
        n_x, n_y, n_w = self.counts
        x_keys, y_keys = self.keys
        batch = (tree.pack(arrays[:n_x], x_keys),)
        if n_y:
            batch += (tree.pack(arrays[n_x:n_x + n_y], y_keys),)
        if n_w:
            batch += (tree.pack(arrays[n_x + n_y:], y_keys if n_w > 1 else None),)
        return batch
