"""`AUC`: the area under the ROC, precision-recall or PR-gain curve over
everything seen (Keras's `AUC`), from the confusion matrix counted at many
thresholds (zen.train.metrics.confusion).
"""
import numpy as np

from ...validation import check_bool, check_int, invalid, is_number
from .arrays import EPSILON, _divide_no_nan, _numbers
from .confusion import _confusion, _evenly_spaced, _thresholds
from .metric import Metric

_CURVES = {"ROC": "ROC", "roc": "ROC", "PR": "PR", "pr": "PR", "PRGAIN": "PRGAIN",
           "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "Interpolation": "interpolation",
               "majoring": "majoring", "Majoring": "majoring", "minoring": "minoring",
               "Minoring": "minoring"}


class AUC(Metric):
    """The area under the ROC or precision-recall curve, over everything seen
    (Keras's `AUC`): the confusion matrix is counted at `num_thresholds`
    thresholds and the curve through those points summed as Keras does (a
    trapezoid per step; for PR, Davis & Goadrich's interpolation of
    precision between the points).

    Args:
        num_thresholds: the number of thresholds, evenly spaced over [0, 1]
            (default 200); more is closer to the exact area.
        curve: "ROC" (default), "PR" or "PRGAIN".
        summation_method: "interpolation" (default), "majoring" or "minoring".
        name: the metric's name (default "auc", made unique: "auc_1", ...).
        dtype: Keras's dtype (default None: "float32").
        thresholds: thresholds in [0, 1] to use instead (then
            num_thresholds is their number + 2: 0 and 1 are added, just
            outside, as Keras does).
        multi_label: whether each column of y_pred is a label with its own
            curve, the result their mean (default False: every value alike).
        num_labels: the number of labels with multi_label (default None:
            from the first batch).
        label_weights: a weight per label (default None: equal): of each
            value of a label, or with multi_label of each label's area.
        from_logits: whether y_pred holds logits (default False: probabilities).

    Example:
        auc = AUC(num_thresholds=3)
        auc([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])   # 0.75
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly_spaced([0.0] + inner + [1.0])
        else:
            self.num_thresholds = check_int(num_thresholds, "num_thresholds", 2)
            inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve = _CURVES.get(curve) if isinstance(curve, str) else None
        if self.curve is None:
            raise invalid("curve", "one of 'ROC', 'PR', 'PRGAIN'", curve)
        self.summation_method = _SUMMATIONS.get(summation_method) \
            if isinstance(summation_method, str) else None
        if self.summation_method is None:
            raise invalid("summation_method", "one of 'interpolation', 'majoring', 'minoring'",
                          summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = check_bool(multi_label, "multi_label")
        self.num_labels = None if num_labels is None else check_int(num_labels, "num_labels", 1)
        self.label_weights = _label_weights(label_weights)
        self._from_logits = check_bool(from_logits, "from_logits")
        self._built = False
        if self.multi_label and self.num_labels:
            self._build(self.num_labels)
        elif not self.multi_label:
            if self.num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list:
        """The thresholds, from just below 0 to just above 1."""
        return list(self._thresholds)

    def _build(self, labels):
        shape = (self.num_thresholds,) if labels is None else (self.num_thresholds, labels)
        for cell in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, cell, self.add_variable(shape, name=cell))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's confusion matrices at every threshold.

        Args:
            y_true: the targets (not 0: positive), of y_pred's shape.
            y_pred: probabilities in [0, 1] (logits with from_logits).
            sample_weight: a weight per sample, or None.
        """
        y_pred = _numbers(y_pred, "y_pred").astype(np.float64)
        if not self._built:
            if y_pred.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {y_pred.ndim}. Full shape received for `y_pred`: "
                                 f"{y_pred.shape}")
            self._build(y_pred.shape[1])
        if self._from_logits:
            y_pred = 0.5 * (1.0 + np.tanh(0.5 * y_pred))  # the sigmoid, without overflow
        tp, fp, positives, negatives = _confusion(
            y_true, y_pred, self._thresholds, self._evenly, sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += negatives - fp
        self.false_negatives += positives - tp

    def result(self) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._by_label(self._interpolated_pr_terms())
        x, y = self._curve_points()
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def _curve_points(self):
        """(x, y) of the curve at each threshold, from the lowest threshold up."""
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            return _divide_no_nan(fp, fp + tn), recall
        if self.curve == "PR":
            return recall, _divide_no_nan(tp, tp + fp)
        scale = _divide_no_nan(tp + fn, tn + fp)  # PR gain (Flach & Kull)
        recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * _divide_no_nan(fn, tp))
        precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * _divide_no_nan(fp, tp))
        return np.maximum(recall_gain, 0.0), precision_gain

    def _interpolated_pr_terms(self):
        """Keras's interpolate_pr_auc: between two thresholds precision is
        interpolated as TP / P with TP linear in P (Davis & Goadrich 2006),
        and each step's area integrates it exactly."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        return _divide_no_nan(slope * (dtp + intercept * log_ratio),
                              np.maximum(tp[1:] + fn[1:], 0))

    def _by_label(self, terms) -> float:
        """The area: the terms summed (per label with multi_label, then the
        labels' mean, weighted by label_weights)."""
        if not self.multi_label:
            return float(terms.sum())
        areas = terms.sum(axis=0)
        if self.label_weights is None:
            return float(areas.mean())
        return float(_divide_no_nan((areas * self.label_weights).sum(),
                                    self.label_weights.sum()))

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config


def _label_weights(weights):
    if weights is None:
        return None
    array = np.asarray(weights, dtype=object)
    if array.ndim != 1 or not all(is_number(w, finite=True) and w >= 0 for w in array):
        raise invalid("label_weights", "a list of non-negative numbers, one per label", weights)
    return array.astype(np.float64)
