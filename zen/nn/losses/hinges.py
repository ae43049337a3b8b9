"""Hinge losses, maximum-margin losses for labels -1 and 1 (or one-hot):
Hinge, SquaredHinge and CategoricalHinge, each with its per-sample function.
"""
import numpy as np

from ... import autodiff as ad
from ...autodiff import Tensor
from .base import _ElementwiseLoss


class Hinge(_ElementwiseLoss):
    """Hinge loss, mean(max(1 - y_true * y_pred, 0)) over the last axis, for
    labels -1 and 1; labels that are all 0 or 1 become -1 and 1 (Keras).

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        Hinge()(np.array([[1, 0]]), Tensor([[0.5, 0.5]]))   # (0.5 + 1.5) / 2
    """

    name = "hinge"

    def elementwise(self, y_true, y_pred):
        """max(1 - y_true * y_pred, 0) for each element."""
        return ad.relu(1.0 - _hinge_labels(y_true) * y_pred)


class SquaredHinge(Hinge):
    """Squared hinge loss, mean(max(1 - y_true * y_pred, 0) ** 2) over the
    last axis; labels as in Hinge.

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        SquaredHinge()(np.array([[1, 0]]), Tensor([[0.5, 0.5]]))   # (0.25 + 2.25) / 2
    """

    name = "squared_hinge"

    def elementwise(self, y_true, y_pred):
        """max(1 - y_true * y_pred, 0) ** 2 for each element."""
        hinge_ = super().elementwise(y_true, y_pred)
        return hinge_ * hinge_


def _hinge_labels(y_true):
    """Keras's conversion: targets that are all 0 or 1 become -1 and 1; any
    other targets are kept."""
    if np.all((y_true == 0) | (y_true == 1)):
        return 2.0 * y_true - 1.0
    return y_true


class CategoricalHinge(_ElementwiseLoss):
    """Categorical hinge loss, max(neg - pos + 1, 0) with pos = sum(y_true *
    y_pred) and neg = max((1 - y_true) * y_pred) over the last axis (one-hot
    targets).

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        CategoricalHinge()(np.array([[0, 1]]), Tensor([[0.3, 0.7]]))   # 0.6
    """

    name = "categorical_hinge"

    def call(self, y_true, y_pred):
        positive = ad.reduce_sum(y_true * y_pred, axis=-1)
        negative = ad.reduce_max((1.0 - y_true) * y_pred, axis=-1)
        return ad.relu(negative - positive + 1.0)


# ----- the functions: per-sample values, as Keras's are ------------------------------
def hinge(y_true, y_pred) -> Tensor:
    """The Hinge loss of each sample.

    Args:
        y_true: labels -1 and 1 (or 0 and 1).
        y_pred: the predictions, of the targets' shape.
    """
    return Hinge(reduction="none")(y_true, y_pred)


def squared_hinge(y_true, y_pred) -> Tensor:
    """The SquaredHinge loss of each sample.

    Args:
        y_true: labels -1 and 1 (or 0 and 1).
        y_pred: the predictions, of the targets' shape.
    """
    return SquaredHinge(reduction="none")(y_true, y_pred)


def categorical_hinge(y_true, y_pred) -> Tensor:
    """The CategoricalHinge loss of each sample.

    Args:
        y_true: one-hot targets.
        y_pred: the predictions, of the targets' shape.
    """
    return CategoricalHinge(reduction="none")(y_true, y_pred)
