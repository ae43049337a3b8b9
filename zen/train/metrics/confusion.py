"""The confusion matrix at thresholds, and the metrics read from it
(Keras's `confusion_metrics`): `TruePositives`, `FalsePositives`,
`TrueNegatives`, `FalseNegatives`, `Precision` and `Recall`. `_confusion`
counts a batch's weighted true and false positives above each threshold
(in one pass over the predictions for evenly spaced thresholds); AUC counts
its curve's points with it too.
"""
import numpy as np

from ...validation import check_int, invalid, is_number
from .arrays import EPSILON, _divide_no_nan, _numbers, _output, _same_rank
from .metric import Metric

NEG_INF = -1e10  # Keras's stand-in for minus infinity (scores outside the top k)


def _thresholds(thresholds, default):
    """Keras's parse_init_thresholds: a list of thresholds in [0, 1] (the
    default alone for None)."""
    if thresholds is None:
        return [default]
    listed = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    if not listed or not all(is_number(t, finite=True) and 0 <= t <= 1 for t in listed):
        raise invalid("thresholds", "a number in [0, 1] or a non-empty list of them",
                      thresholds)
    return [float(t) for t in listed]


def _evenly_spaced(thresholds) -> bool:
    """Whether the thresholds are i / (n - 1), i = 0 .. n-1, for n >= 3
    (Keras then counts by buckets, in one pass over the predictions)."""
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n) / (n - 1), atol=EPSILON)


def _confusion(y_true, y_pred, thresholds, evenly, sample_weight=None, top_k=None,
               class_id=None, multi_label=False, label_weights=None):
    """Keras's update_confusion_matrix_variables for one batch: (true
    positives, false positives, positives, negatives), the weighted counts of
    predictions above each threshold (arrays (T,), or (T, labels) with
    `multi_label`) and the weighted totals. A target that is not 0 is a
    positive; without `multi_label` every value of the batch counts alike."""
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred").astype(np.float64)
    y_pred, y_true = _same_rank(y_pred, y_true)
    if sample_weight is not None:
        weights = _numbers(sample_weight, "sample_weight").astype(np.float64)[..., None]
        _, weights = _same_rank(y_true, weights, expand_rank_1=False)
    else:
        weights = np.ones(())
    if top_k is not None:
        y_pred = _top_k_only(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or not class_id < y_pred.shape[-1]:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes) holding class {class_id}, found "
                             f"shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    try:
        positive = np.broadcast_to(y_true != 0, y_pred.shape)
        weights = np.broadcast_to(weights, y_pred.shape)
    except ValueError:
        raise ValueError(f"Metric shapes do not match: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}, sample_weight.shape="
                         f"{np.shape(sample_weight)}") from None
    if label_weights is not None and not multi_label:
        weights = weights * label_weights
    if not multi_label:
        positive, y_pred, weights = positive.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    elif y_pred.ndim != 2:
        raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                         f"{y_pred.ndim}. Full shape received for `y_pred`: {y_pred.shape}")
    true_weights, false_weights = np.where(positive, weights, 0.0), np.where(positive, 0.0, weights)
    counts = _bucket_counts if evenly else _threshold_counts
    tp = counts(true_weights, y_pred, thresholds)
    fp = counts(false_weights, y_pred, thresholds)
    return tp, fp, true_weights.sum(axis=0), false_weights.sum(axis=0)


def _threshold_counts(weights, y_pred, thresholds):
    """The sum of `weights` over the predictions above each threshold:
    (T, ...) from (N, ...) by comparing every prediction with every threshold."""
    limits = np.asarray(thresholds, np.float64).reshape((-1,) + (1,) * y_pred.ndim)
    return np.where(y_pred[None] > limits, weights[None], 0.0).sum(axis=1)


def _bucket_counts(weights, y_pred, thresholds):
    """As `_threshold_counts` for evenly spaced thresholds, in one pass: each
    prediction falls in the bucket of the last threshold below it (Keras's
    ceil(p * (T - 1)) - 1, the first bucket for 0 when the thresholds start
    below 0), and the counts above each threshold are the buckets' sums from
    the top."""
    n = len(thresholds)
    buckets = np.ceil(np.clip(y_pred, 0.0, 1.0) * (n - 1)).astype(np.int64) - 1
    if thresholds[0] < 0 or thresholds[-1] > 1:
        buckets = np.maximum(buckets, 0)
    labels = y_pred.shape[1] if y_pred.ndim == 2 else 1
    index = buckets * labels + (np.arange(labels) if y_pred.ndim == 2 else 0)
    kept = buckets >= 0  # a 0 is above no threshold of [0, ..., 1]
    sums = np.bincount(index[kept], weights=weights[kept], minlength=n * labels)
    sums = sums.reshape(n, labels) if y_pred.ndim == 2 else sums
    return np.cumsum(sums[::-1], axis=0)[::-1]


def _top_k_only(scores, k):
    """Keras's _filter_top_k: the k best scores of each row kept, the others
    set to NEG_INF (below any threshold)."""
    k = check_int(k, "top_k", 1)
    best = np.argsort(-scores, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(scores.shape, bool)
    np.put_along_axis(keep, best, True, axis=-1)
    return np.where(keep, scores, NEG_INF)


class _ConfusionCount(Metric):
    """The weighted count of one cell of the confusion matrix at each threshold."""

    _cell = "tp"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, 0.5)
        self._evenly = _evenly_spaced(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts (a prediction above a threshold is positive,
        a target that is not 0 is a positive).

        Args:
            y_true: the targets.
            y_pred: the predicted probabilities.
            sample_weight: a weight per sample, or None.
        """
        tp, fp, positives, negatives = _confusion(y_true, y_pred, self.thresholds, self._evenly,
                                                  sample_weight)
        cell = {"tp": tp, "fp": fp, "tn": negatives - fp, "fn": positives - tp}[self._cell]
        self.accumulator += cell

    def result(self):
        return _output(self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted number of true positives (Keras's `TruePositives`): one
    number, or one per threshold when given a list.

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "true_positives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """


class FalsePositives(_ConfusionCount):
    """The weighted number of false positives (Keras's `FalsePositives`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "false_positives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """

    _cell = "fp"


class TrueNegatives(_ConfusionCount):
    """The weighted number of true negatives (Keras's `TrueNegatives`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "true_negatives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """

    _cell = "tn"


class FalseNegatives(_ConfusionCount):
    """The weighted number of false negatives (Keras's `FalseNegatives`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "false_negatives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """

    _cell = "fn"


class _PrecisionRecall(Metric):
    """Precision and Recall: true positives over predicted (or actual) positives."""

    _direction = "up"  # better when higher (Keras's, for monitors)

    _other = "false_positives"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = None if top_k is None else check_int(top_k, "top_k", 1)
        self.class_id = None if class_id is None else check_int(class_id, "class_id", 0)
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = _evenly_spaced(self.thresholds)
        self.true_positives = self.add_variable((len(self.thresholds),), name="true_positives")
        setattr(self, self._other, self.add_variable((len(self.thresholds),), name=self._other))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's true positives and false positives (Precision) or
        false negatives (Recall).

        Args:
            y_true: the targets (not 0: positive).
            y_pred: the predicted probabilities.
            sample_weight: a weight per sample, or None.
        """
        tp, fp, positives, _ = _confusion(y_true, y_pred, self.thresholds, self._evenly,
                                          sample_weight, self.top_k, self.class_id)
        self.true_positives += tp
        other = getattr(self, self._other)
        other += fp if self._other == "false_positives" else positives - tp

    def result(self):
        value = _divide_no_nan(self.true_positives,
                               self.true_positives + getattr(self, self._other))
        return _output(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Precision, TP / (TP + FP), over everything seen (Keras's `Precision`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5,
            or with `top_k` any of the top k), or a list of them in [0, 1]
            (then the result has one value per threshold).
        top_k: count only the k best scores of each sample as positive
            (default None: all).
        class_id: the class (column of y_pred) to measure (default None: every value).
        name: the metric's name (default "precision", made unique).
        dtype: Keras's dtype (default None: "float32").

    Example:
        Precision()([0, 1, 1, 1], [1, 0, 1, 1])   # 2/3
    """


class Recall(_PrecisionRecall):
    """Recall, TP / (TP + FN), over everything seen (Keras's `Recall`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5,
            or with `top_k` any of the top k), or a list of them in [0, 1].
        top_k: count only the k best scores of each sample as positive
            (default None: all).
        class_id: the class (column of y_pred) to measure (default None: every value).
        name: the metric's name (default "recall", made unique).
        dtype: Keras's dtype (default None: "float32").

    Example:
        Recall()([0, 1, 1, 1], [1, 0, 1, 1])   # 2/3
    """

    _other = "false_negatives"
