"""The accuracy metrics (Keras's `accuracy_metrics`, whose name this module
keeps so that `zen.train.metrics.accuracy` stays Zen's function): Keras's
per-sample functions `binary_accuracy`, `categorical_accuracy`,
`sparse_categorical_accuracy`, `top_k_categorical_accuracy` and
`sparse_top_k_categorical_accuracy` (filed in `FUNCTIONS`), and the classes
that average them over everything seen: `Accuracy`, `BinaryAccuracy`,
`CategoricalAccuracy`, `SparseCategoricalAccuracy`, `TopKCategoricalAccuracy`,
`SparseTopKCategoricalAccuracy`. Zen's `accuracy`, which reads the target
format from the shapes, is in zen.train.metrics.functions.
"""
import numpy as np

from ...validation import check_bool, check_float, check_int
from .arrays import _mismatch, _numbers, _same_rank
from .functions import FUNCTIONS
from .reduction import _KerasWrapper


def _equal_values(y_true, y_pred):
    """Keras's `accuracy`: whether each prediction equals its target."""
    y_true, y_pred = _same_rank(_numbers(y_true, "y_true"), _numbers(y_pred, "y_pred"))
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5) -> np.ndarray:
    """Keras's per-sample binary accuracy: whether (y_pred > threshold)
    equals y_true, averaged over the last axis by the metric.

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities, of the targets' shape (or with an axis of 1 more or less).
        threshold: above it a prediction is 1 (default 0.5).
    """
    y_true, y_pred = _same_rank(_numbers(y_true, "y_true"), _numbers(y_pred, "y_pred"))
    return (y_true == (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Keras's per-sample categorical accuracy: argmax(y_true) == argmax(y_pred).

    Args:
        y_true: one-hot targets (..., classes).
        y_pred: scores of the same shape.
    """
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Keras's per-sample sparse categorical accuracy: argmax(y_pred) == y_true.

    Args:
        y_true: integer labels (...,) or (..., 1).
        y_pred: scores (..., classes).
    """
    labels, y_pred = _labels_for(y_true, y_pred)
    return (y_pred.argmax(axis=-1) == labels).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5) -> np.ndarray:
    """Keras's per-sample top-k accuracy: whether the target class
    (argmax(y_true)) scores at least the k-th largest score (ties count in).

    Args:
        y_true: one-hot targets (..., classes).
        y_pred: scores of the same shape.
        k: how many of the best scores count (default 5).
    """
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    return _in_top_k(y_true.argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False) -> np.ndarray:
    """Keras's per-sample sparse top-k accuracy: whether the label's score is
    at least the k-th largest score (ties count in).

    Args:
        y_true: integer labels (...,) or (..., 1).
        y_pred: scores (..., classes); with `from_sorted_ids`, class ids,
            best first (..., at least k).
        k: how many of the best scores count (default 5).
        from_sorted_ids: whether y_pred holds sorted class ids (default False).
    """
    labels, y_pred = _labels_for(y_true, y_pred)
    if from_sorted_ids:
        return (y_pred[..., :k] == labels[..., None]).any(axis=-1).astype(np.float64)
    return _in_top_k(labels, y_pred, k)


def _labels_for(y_true, y_pred):
    """Integer labels of shape y_pred.shape[:-1] (a trailing axis of 1 dropped)."""
    labels, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise _mismatch(labels, y_pred, "expected integer labels of shape y_pred.shape[:-1]")
    return labels, y_pred


def _in_top_k(targets, predictions, k):
    """Whether predictions[..., target] >= the k-th largest of predictions[...]."""
    k = check_int(k, "k", 1)
    classes = predictions.shape[-1]
    flat = predictions.reshape(-1, classes)
    targets = targets.reshape(-1)
    bad = (targets < 0) | (targets >= classes) | (targets != np.round(targets))
    if bad.any():
        raise ValueError(f"Received the label {targets[bad][0].item()!r}, which is not a class "
                         f"index in [0, {classes})")
    kth = np.partition(flat, classes - min(k, classes), axis=-1)[:, classes - min(k, classes)]
    target_scores = np.take_along_axis(flat, targets.astype(np.intp)[:, None], axis=-1)[:, 0]
    return (target_scores >= kth).astype(np.float64).reshape(predictions.shape[:-1])


for _fn in (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
            top_k_categorical_accuracy, sparse_top_k_categorical_accuracy):
    FUNCTIONS.add(_fn)


class Accuracy(_KerasWrapper):
    """How often predictions equal the targets exactly (Keras's `Accuracy`;
    for class scores use the string "accuracy" or the classes below).

    Args:
        name: the metric's name (default "accuracy").
        dtype: Keras's dtype (default None: "float32").

    Example:
        Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])   # 0.75
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(_equal_values, name=name, dtype=dtype)


class BinaryAccuracy(_KerasWrapper):
    """How often (y_pred > threshold) equals the 0/1 target (Keras's `BinaryAccuracy`).

    Args:
        name: the metric's name (default "binary_accuracy").
        dtype: Keras's dtype (default None: "float32").
        threshold: above it a prediction is 1 (default 0.5).

    Example:
        BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])   # 0.75
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    _config = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = check_float(threshold, "threshold")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=self.threshold)


class CategoricalAccuracy(_KerasWrapper):
    """How often argmax(y_pred) is argmax(y_true), for one-hot targets
    (Keras's `CategoricalAccuracy`).

    Args:
        name: the metric's name (default "categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_KerasWrapper):
    """How often argmax(y_pred) is the integer label (Keras's `SparseCategoricalAccuracy`).

    Args:
        name: the metric's name (default "sparse_categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_KerasWrapper):
    """How often the target class is among the k best scores, for one-hot
    targets (Keras's `TopKCategoricalAccuracy`).

    Args:
        k: how many of the best scores count (default 5).
        name: the metric's name (default "top_k_categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    _config = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = check_int(k, "k", 1)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=self.k)


class SparseTopKCategoricalAccuracy(_KerasWrapper):
    """How often the integer label is among the k best scores (Keras's
    `SparseTopKCategoricalAccuracy`).

    Args:
        k: how many of the best scores count (default 5).
        name: the metric's name (default "sparse_top_k_categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
        from_sorted_ids: whether y_pred holds class ids, best first (default False).
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    _config = ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        self.k = check_int(k, "k", 1)
        self.from_sorted_ids = check_bool(from_sorted_ids, "from_sorted_ids")
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=self.k,
                         from_sorted_ids=self.from_sorted_ids)

    def get_config(self) -> dict:
        config = super().get_config()
        return {**config, "from_sorted_ids": True} if self.from_sorted_ids else config
