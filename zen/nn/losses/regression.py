"""Regression losses: MSE, MAE, MeanAbsolutePercentageError,
MeanSquaredLogarithmicError, Huber, LogCosh and CosineSimilarity (Keras's
regression losses), and Poisson (a regression of counts, which Keras files
with the probabilistic losses); each with its per-sample function
(`mean_squared_error`, `huber`, ...).
"""
import numpy as np

from ... import autodiff as ad
from ...autodiff import Tensor
from ...validation import check_float, check_int
from .base import EPSILON, _ElementwiseLoss, per_sample
from .numerics import _softplus


class MSE(_ElementwiseLoss):
    """Mean squared error, mean((y_pred - y_true) ** 2).

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        MSE()(np.array([0.0, 0.0]), Tensor([1.0, 2.0]))   # 2.5
    """

    name = "mse"

    def elementwise(self, y_true, y_pred):
        """(y_pred - y_true) ** 2 for each element."""
        error = y_pred - y_true
        return error * error


class MAE(_ElementwiseLoss):
    """Mean absolute error, mean(|y_pred - y_true|).

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        MAE()(np.array([0.0, 0.0]), Tensor([1.0, -2.0]))  # 1.5
    """

    name = "mae"

    def elementwise(self, y_true, y_pred):
        """|y_pred - y_true| for each element."""
        return ad.abs(y_pred - y_true)


class MeanAbsolutePercentageError(_ElementwiseLoss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) (Keras's "mape").

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        MeanAbsolutePercentageError()(np.array([100.0, 200.0]), Tensor([90.0, 210.0]))  # 7.5
    """

    name = "mean_absolute_percentage_error"

    def call(self, y_true, y_pred):
        scale = np.maximum(np.abs(y_true), EPSILON)
        return 100 * per_sample(ad.abs(y_pred - y_true) / scale)


class MeanSquaredLogarithmicError(_ElementwiseLoss):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1)) ** 2)
    (Keras's "msle").

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        MeanSquaredLogarithmicError()(np.array([[0.0, 1.0]]), Tensor([[1.0, 1.0]]))
    """

    name = "mean_squared_logarithmic_error"

    def elementwise(self, y_true, y_pred):
        """The squared difference of the logarithms, for each element."""
        error = ad.log(ad.maximum(y_pred, EPSILON) + 1) - np.log(np.maximum(y_true, EPSILON) + 1)
        return error * error


class Huber(_ElementwiseLoss):
    """Huber loss: 0.5 * e**2 where |e| <= delta, delta * (|e| - 0.5 * delta)
    beyond, e = y_pred - y_true; quadratic near zero, linear (robust to
    outliers) far from it.

    Args:
        delta: where the loss turns linear (default 1.0), positive.
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        Huber(delta=1.0)(np.zeros(2), Tensor([0.5, 3.0]))   # (0.125 + 2.5) / 2
    """

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.delta = check_float(delta, "delta", 0, low_open=True)

    def elementwise(self, y_true, y_pred):
        """The Huber loss of each element."""
        error = ad.abs(y_pred - y_true)
        # min(|e|, delta) carries the quadratic part and the rest the linear
        # part: one smooth expression, no branch
        quadratic = ad.minimum(error, self.delta)
        linear = error - quadratic
        return 0.5 * quadratic * quadratic + self.delta * linear

    def get_config(self):
        return {"delta": self.delta, **super().get_config()}


class LogCosh(_ElementwiseLoss):
    """mean(log(cosh(y_pred - y_true))), computed as Keras does, as
    x + softplus(-2x) - log 2 (no overflow): like MSE / 2 near zero and like
    MAE far from it.

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        LogCosh()(np.zeros((1, 2)), Tensor([[1.0, 0.0]]))   # log(cosh(1)) / 2
    """

    name = "log_cosh"

    def elementwise(self, y_true, y_pred):
        """log(cosh(y_pred - y_true)) for each element."""
        error = y_pred - y_true
        return error + _softplus(error * -2.0) - np.log(2.0)


class CosineSimilarity(_ElementwiseLoss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over `axis`: -1 for
    parallel vectors, 0 for orthogonal ones or a zero vector (Keras returns
    the negative similarity, so that minimising it aligns the vectors).

    Args:
        axis: the axis of the vectors (default -1).
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        CosineSimilarity()(np.array([[0.0, 1.0]]), Tensor([[0.0, 3.0]]))   # -1
    """

    name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.axis = check_int(axis, "axis")

    def call(self, y_true, y_pred):
        return -ad.reduce_sum(_l2_normalized(y_true, self.axis)
                              * _l2_normalized(y_pred, self.axis), axis=self.axis)

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}


def _l2_normalized(x, axis):
    """x / |x| over `axis`, as Keras's x * min(1 / |x|, 1 / EPSILON) (a zero
    vector stays zero), here x * max(|x|^2, EPSILON^2) ** -0.5, which is the
    same number with a finite gradient at zero; x an array or a Tensor."""
    if isinstance(x, Tensor):
        return x * ad.maximum(ad.reduce_sum(x * x, axis=axis, keepdims=True), EPSILON ** 2) ** -0.5
    return x * np.maximum((x * x).sum(axis=axis, keepdims=True), EPSILON ** 2) ** -0.5


class Poisson(_ElementwiseLoss):
    """Poisson loss, mean(y_pred - y_true * log(y_pred + 1e-7)) over the last
    axis; y_pred is a rate (positive).

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        Poisson()(np.array([[1.0, 0.0]]), Tensor([[1.0, 0.5]]))
    """

    name = "poisson"

    def elementwise(self, y_true, y_pred):
        """The Poisson loss of each element."""
        return y_pred - y_true * ad.log(y_pred + EPSILON)


# ----- the functions: per-sample values, as Keras's are ------------------------------
def mean_squared_error(y_true, y_pred) -> Tensor:
    """MSE of each sample, mean((y_pred - y_true) ** 2, axis=-1).

    Args:
        y_true: the targets.
        y_pred: the predictions, a Tensor or an array of the targets' shape.
    """
    return MSE(reduction="none")(y_true, y_pred)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """MAE of each sample, mean(|y_pred - y_true|, axis=-1).

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.
    """
    return MAE(reduction="none")(y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """The MeanAbsolutePercentageError of each sample.

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.
    """
    return MeanAbsolutePercentageError(reduction="none")(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """The MeanSquaredLogarithmicError of each sample.

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.
    """
    return MeanSquaredLogarithmicError(reduction="none")(y_true, y_pred)


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """The Huber loss of each sample.

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.
        delta: where the loss turns linear (default 1.0).
    """
    return Huber(delta, reduction="none")(y_true, y_pred)


def log_cosh(y_true, y_pred) -> Tensor:
    """The LogCosh loss of each sample.

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.
    """
    return LogCosh(reduction="none")(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis: int = -1) -> Tensor:
    """The negative cosine similarity of each sample (see CosineSimilarity).

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.
        axis: the axis of the vectors (default -1).
    """
    return CosineSimilarity(axis, reduction="none")(y_true, y_pred)


def poisson(y_true, y_pred) -> Tensor:
    """The Poisson loss of each sample.

    Args:
        y_true: the targets (counts).
        y_pred: the predicted rates, of the targets' shape.
    """
    return Poisson(reduction="none")(y_true, y_pred)
