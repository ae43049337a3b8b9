"""The regression metrics (Keras's `regression_metrics`): `MeanSquaredError`,
`MeanAbsoluteError`, `MeanAbsolutePercentageError`,
`MeanSquaredLogarithmicError` and `LogCoshError` (zen.nn.losses' per-sample
functions averaged over everything seen), `CosineSimilarity`,
`RootMeanSquaredError` (the root of the epoch's mean) and `R2Score`.
"""
import warnings

import numpy as np

from ...nn import losses
from ...validation import check_int, check_one_of
from .arrays import EPSILON, _numbers, _output, _same_rank
from .metric import Metric
from .reduction import Mean, _KerasWrapper, _LossMetric


class MeanSquaredError(_LossMetric):
    """The mean of (y_true - y_pred)^2 over everything seen (Keras's `MeanSquaredError`).

    Args:
        name: the metric's name (default "mean_squared_error").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.mean_squared_error), "mean_squared_error"


class MeanAbsoluteError(_LossMetric):
    """The mean of |y_true - y_pred| over everything seen (Keras's `MeanAbsoluteError`).

    Args:
        name: the metric's name (default "mean_absolute_error").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.mean_absolute_error), "mean_absolute_error"


class MeanAbsolutePercentageError(_LossMetric):
    """The mean of 100 |y_true - y_pred| / |y_true| (Keras's `MeanAbsolutePercentageError`).

    Args:
        name: the metric's name (default "mean_absolute_percentage_error").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.mean_absolute_percentage_error), "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_LossMetric):
    """The mean of (log(1 + y_true) - log(1 + y_pred))^2 (Keras's
    `MeanSquaredLogarithmicError`).

    Args:
        name: the metric's name (default "mean_squared_logarithmic_error").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.mean_squared_logarithmic_error), "mean_squared_logarithmic_error"


class LogCoshError(_LossMetric):
    """The mean of log(cosh(y_pred - y_true)) (Keras's `LogCoshError`).

    Args:
        name: the metric's name (default "logcosh").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.log_cosh), "logcosh"


def _cosine_similarity(y_true, y_pred, axis=-1):
    """Keras's per-sample cosine similarity of the L2-normalised vectors."""
    y_true, y_pred = _same_rank(_numbers(y_true, "y_true").astype(np.float64),
                                _numbers(y_pred, "y_pred").astype(np.float64))

    def normalized(x):
        norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
        return x / np.maximum(norm, EPSILON)
    return np.sum(normalized(y_true) * normalized(y_pred), axis=axis)


class CosineSimilarity(_KerasWrapper):
    """The mean cosine similarity of targets and predictions, in [-1, 1]
    (Keras's `CosineSimilarity`; the loss of the same name is its negative).

    Args:
        name: the metric's name (default "cosine_similarity").
        dtype: Keras's dtype (default None: "float32").
        axis: the axis of the vectors (default -1).
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        self.axis = check_int(axis, "axis")
        super().__init__(_cosine_similarity, name=name, dtype=dtype, axis=self.axis)


class RootMeanSquaredError(Mean):
    """sqrt(mean((y_true - y_pred)^2)) over everything seen (Keras's
    `RootMeanSquaredError`: the root of the epoch's mean, not a mean of roots).

    Args:
        name: the metric's name (default "root_mean_squared_error").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's squared errors.

        Args:
            y_true: the targets.
            y_pred: the predictions (an axis of 1 more or less is aligned).
            sample_weight: a weight per sample, or None.
        """
        y_true, y_pred = _same_rank(_numbers(y_true, "y_true").astype(np.float64),
                                    _numbers(y_pred, "y_pred").astype(np.float64))
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """The coefficient of determination, 1 - SS_res / SS_tot per output
    column, over everything seen (Keras's `R2Score`).

    Args:
        class_aggregation: "uniform_average" (default: the columns' mean),
            "variance_weighted_average" or None (one score per column).
        num_regressors: for the adjusted R2, the number of regressors
            (default 0: plain R2).
        name: the metric's name (default "r2_score").
        dtype: Keras's dtype (default None: "float32").

    Shapes: y_true and y_pred (batch, outputs).
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = check_one_of(
            class_aggregation, "class_aggregation",
            (None, "uniform_average", "variance_weighted_average"))
        self.num_regressors = check_int(num_regressors, "num_regressors", 0)
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, outputs):
        for cell in ("squared_sum", "sum", "total_mse", "count"):
            setattr(self, cell, self.add_variable((outputs,), name=cell))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's sums per output column.

        Args:
            y_true: the targets (batch, outputs).
            y_pred: the predictions, of the targets' shape.
            sample_weight: a weight per sample, or None.
        """
        y_true, y_pred = _same_rank(_numbers(y_true, "y_true").astype(np.float64),
                                    _numbers(y_pred, "y_pred").astype(np.float64))
        if y_true.ndim != 2 or y_pred.shape != y_true.shape:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={y_pred.shape} and "
                             f"y_true.shape={y_true.shape}.")
        if not self._built:
            self._build(y_true.shape[1])
        weights = np.ones(()) if sample_weight is None else \
            _numbers(sample_weight, "sample_weight").astype(np.float64)
        weights = np.broadcast_to(weights[:, None] if weights.ndim == 1 else weights,
                                  y_true.shape)
        self.sum += np.sum(y_true * weights, axis=0)
        self.squared_sum += np.sum(y_true * y_true * weights, axis=0)
        self.total_mse += np.sum((y_true - y_pred) ** 2 * weights, axis=0)
        self.count += np.sum(weights, axis=0)
        self.num_samples += y_true.size

    def result(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = float(self.num_samples), self.num_regressors
        if p and p > n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                          "Falling back to standard R2 score.", stacklevel=2)
        elif p and p == n - 1:
            warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 "
                          "score.", stacklevel=2)
        elif p:
            score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return _output(score)

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
