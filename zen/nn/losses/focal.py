"""The focal cross-entropies (Lin et al., 2018): BinaryFocalCrossentropy
and CategoricalFocalCrossentropy, the cross-entropies of crossentropy.py
times a factor that makes easy, confident examples weigh less; each with
its per-sample function.
"""
import numpy as np

from ... import autodiff as ad
from ...autodiff import Tensor
from ...validation import check_bool, check_float, invalid, is_number
from .crossentropy import (_binary_crossentropy, _clipped_probabilities, _smoothed_binary,
                           _smoothed_categorical, _SmoothedCrossEntropy)
from .numerics import _Sigmoid


class BinaryFocalCrossentropy(_SmoothedCrossEntropy):
    """Focal binary cross-entropy (Lin et al., 2018), averaged over `axis`:
    the cross-entropy of each element times (1 - p_t) ** gamma, p_t = p for
    targets 1 and 1 - p for targets 0, so that easy examples weigh less; with
    class balancing also times alpha for targets 1 and 1 - alpha for 0.

    As in Keras, logits go through a sigmoid and the probabilities are
    clipped to [1e-7, 1 - 1e-7] for the cross-entropy (the focal factor uses
    them unclipped).

    Args:
        apply_class_balancing: whether to weigh the classes by alpha (default False).
        alpha: the weight of class 1, in [0, 1] (default 0.25); class 0 has 1 - alpha.
        gamma: the focusing parameter, >= 0 (default 2.0); 0 is the plain cross-entropy.
        from_logits: whether `pred` holds logits rather than probabilities (default False).
        label_smoothing: in [0, 1] (default 0), as in BinaryCrossentropy.
        axis: the axis averaged over (default -1).
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        BinaryFocalCrossentropy(gamma=2.0)(np.array([[0, 1]]), Tensor([[0.6, 0.4]]))
    """

    name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str = "sum_over_batch_size"):
        super().__init__(from_logits, label_smoothing, axis, reduction)
        self.apply_class_balancing = check_bool(apply_class_balancing, "apply_class_balancing")
        self.alpha = check_float(alpha, "alpha", 0, 1)
        self.gamma = check_float(gamma, "gamma", 0)

    def elementwise(self, y_true, y_pred):
        """The focal cross-entropy of each element."""
        y_true = _smoothed_binary(y_true, self.label_smoothing)
        p = _Sigmoid.apply(y_pred) if self.from_logits else y_pred
        focal = _binary_crossentropy(y_true, p)
        if self.gamma:  # (1 - p_t) ** 0 is 1, and its gradient 0 * x ** -1 would be NaN at 0
            p_t = y_true * p + (1 - y_true) * (1 - p)
            focal = (1.0 - p_t) ** self.gamma * focal
        if self.apply_class_balancing:
            focal = (y_true * self.alpha + (1 - y_true) * (1 - self.alpha)) * focal
        return focal

    def get_config(self):
        return {"apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma, **super().get_config()}


class CategoricalFocalCrossentropy(_SmoothedCrossEntropy):
    """Focal categorical cross-entropy (Lin et al., 2018): -sum(alpha *
    (1 - p) ** gamma * y * log p) over the class axis, so that confident,
    correct predictions weigh less.

    As in Keras, logits go through a softmax; the probabilities are rescaled
    to sum to 1 and clipped to [1e-7, 1 - 1e-7].

    Args:
        alpha: the weight of every class, >= 0 (default 0.25), or a list of
            one weight per class (last axis).
        gamma: the focusing parameter, >= 0 (default 2.0); 0 is alpha times
            the plain cross-entropy.
        from_logits: whether `pred` holds logits rather than probabilities (default False).
        label_smoothing: in [0, 1] (default 0), as in CategoricalCrossentropy.
        axis: the class axis (default -1).
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        CategoricalFocalCrossentropy()(np.array([[0, 1, 0]]), Tensor([[0.05, 0.9, 0.05]]))
    """

    name = "categorical_focal_crossentropy"

    def __init__(self, alpha: "float | list" = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size"):
        super().__init__(from_logits, label_smoothing, axis, reduction)
        self.alpha = _class_weights(alpha)
        self.gamma = check_float(gamma, "gamma", 0)

    def call(self, y_true, y_pred):
        y_true = _smoothed_categorical(y_true, self.label_smoothing)
        p = ad.softmax(y_pred, axis=self.axis) if self.from_logits else y_pred
        p = _clipped_probabilities(p, self.axis)
        alpha = self.alpha if isinstance(self.alpha, float) else np.asarray(self.alpha, p.dtype)
        factor = alpha if not self.gamma else (1.0 - p) ** self.gamma * alpha
        return ad.reduce_sum(factor * (-y_true * ad.log(p)), axis=self.axis)

    def get_config(self):
        return {"alpha": self.alpha, "gamma": self.gamma, **super().get_config()}


def _class_weights(alpha):
    """alpha as a non-negative float, or a list of them (one per class)."""
    if isinstance(alpha, (list, tuple)):
        if not alpha or not all(is_number(a, finite=True) and a >= 0 for a in alpha):
            raise invalid("alpha", "a non-negative number or a non-empty list of them", alpha)
        return [float(a) for a in alpha]
    return check_float(alpha, "alpha", 0)


# ----- the functions: per-sample values, as Keras's are ------------------------------
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Tensor:
    """The BinaryFocalCrossentropy of each sample.

    Args:
        y_true: the targets, 0 or 1.
        y_pred: the predicted probabilities or logits, of the targets' shape.
        apply_class_balancing: whether to weigh the classes by alpha (default False).
        alpha: the weight of class 1, in [0, 1] (default 0.25).
        gamma: the focusing parameter, >= 0 (default 2.0).
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
        axis: the axis averaged over (default -1).
    """
    return BinaryFocalCrossentropy(apply_class_balancing, alpha, gamma, from_logits,
                                   label_smoothing, axis, reduction="none")(y_true, y_pred)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> Tensor:
    """The CategoricalFocalCrossentropy of each sample.

    Args:
        y_true: one-hot targets (or distributions).
        y_pred: the predicted probabilities or logits, of the targets' shape.
        alpha: the weight of every class, or a list of one per class (default 0.25).
        gamma: the focusing parameter, >= 0 (default 2.0).
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
        axis: the class axis (default -1).
    """
    return CategoricalFocalCrossentropy(alpha, gamma, from_logits, label_smoothing, axis,
                                        reduction="none")(y_true, y_pred)
