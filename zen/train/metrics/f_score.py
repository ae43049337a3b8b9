"""The F-scores (Keras's `f_score_metrics`): `FBetaScore` and `F1Score`, per
class (or pooled, or averaged) from the true positives, false positives and
false negatives counted over everything seen.
"""
import numpy as np

from ...validation import check_float, check_one_of
from .arrays import EPSILON, _numbers, _output
from .metric import Metric


class FBetaScore(Metric):
    """The F-beta score, (1 + beta^2) * precision * recall / (beta^2 *
    precision + recall), per class over everything seen (Keras's `FBetaScore`).

    Args:
        average: None (default: one score per class), "micro" (the counts of
            every class pooled), "macro" (the mean of the classes' scores) or
            "weighted" (their mean weighted by each class's positives).
        beta: the weight of recall, > 0 (default 1.0).
        threshold: above it a prediction is positive (default None: the
            highest score of each sample, when not 0).
        name: the metric's name (default "fbeta_score").
        dtype: Keras's dtype (default None: "float32").

    Shapes: y_true and y_pred (batch, classes), one-hot or multi-label.
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.average = check_one_of(average, "average", (None, "micro", "macro", "weighted"))
        self.beta = check_float(beta, "beta", 0, low_open=True)
        self.threshold = None if threshold is None else \
            check_float(threshold, "threshold", 0, 1, low_open=True)
        self.axis = None if self.average == "micro" else 0
        self._built = False

    def _build(self, classes):
        shape = () if self.average == "micro" else (classes,)
        for cell in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, cell, self.add_variable(shape, name=cell))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts per class.

        Args:
            y_true: 0/1 targets (batch, classes).
            y_pred: scores (batch, classes).
            sample_weight: a weight per sample, or None.
        """
        y_true = _numbers(y_true, "y_true").astype(np.float64)
        y_pred = _numbers(y_pred, "y_pred").astype(np.float64)
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape "
                             f"(batch_size, output_dim). Received input shapes: "
                             f"y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}.")
        if not self._built:
            self._build(y_pred.shape[-1])
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = 1.0 if sample_weight is None else \
            _numbers(sample_weight, "sample_weight").astype(np.float64).reshape(-1, 1)
        self.true_positives += np.sum(predicted * y_true * weights, axis=self.axis)
        self.false_positives += np.sum(predicted * (1 - y_true) * weights, axis=self.axis)
        self.false_negatives += np.sum((1 - predicted) * y_true * weights, axis=self.axis)
        self.intermediate_weights += np.sum(y_true * weights, axis=self.axis)

    def result(self):
        precision = self.true_positives / (self.true_positives + self.false_positives + EPSILON)
        recall = self.true_positives / (self.true_positives + self.false_negatives + EPSILON)
        beta2 = self.beta ** 2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            shares = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return float((score * shares).sum())
        if self.average is not None:
            return float(np.mean(score))
        return _output(score)

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score, 2 * precision * recall / (precision + recall), per class
    over everything seen (Keras's `F1Score`: FBetaScore with beta 1).

    Args:
        average: None (default: one score per class), "micro", "macro" or
            "weighted" (see FBetaScore).
        threshold: above it a prediction is positive (default None: the
            highest score of each sample).
        name: the metric's name (default "f1_score").
        dtype: Keras's dtype (default None: "float32").

    Example:
        F1Score(average="micro", threshold=0.5)([[1, 0], [0, 1]], [[0.8, 0.3], [0.6, 0.4]])
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
