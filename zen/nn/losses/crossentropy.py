"""The cross-entropies between a target and a predicted distribution:
BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
(integer labels; on logits one fused op with the softmax) and KLDivergence
(the cross-entropy less the target's entropy), each with its per-sample
function. Label smoothing, and the clipping of probabilities to
[EPSILON, 1 - EPSILON], as Keras does them; focal.py builds on these.
"""
import math

import numpy as np

from ... import autodiff as ad
from ...autodiff import Tensor
from ...backend import xp
from ...validation import check_bool, check_float, check_int
from .base import EPSILON, Loss, _ElementwiseLoss, _numeric_array, aligned_weights
from .numerics import _softplus


class _SmoothedCrossEntropy(_ElementwiseLoss):
    """The arguments of the cross-entropies with label smoothing: from_logits,
    label_smoothing and axis (the focal ones add alpha and gamma)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size"):
        super().__init__(reduction)
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)
        self.axis = check_int(axis, "axis")

    def get_config(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis, **super().get_config()}


class BinaryCrossentropy(_SmoothedCrossEntropy):
    """-[y log p + (1 - y) log(1 - p)], averaged over `axis`.

    Args:
        from_logits: whether `pred` holds logits (any real number) rather
            than probabilities (default False). Logits take the stable form
            softplus(x) - x * y; probabilities are clipped to [1e-7, 1 - 1e-7].
        label_smoothing: in [0, 1] (default 0): the targets become
            y * (1 - label_smoothing) + 0.5 * label_smoothing.
        axis: the axis averaged over (default -1).
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        BinaryCrossentropy(from_logits=True)(np.array([[1.0]]), Tensor([[0.0]]))  # log 2
    """

    name = "binary_crossentropy"

    def elementwise(self, y_true, y_pred):
        """The binary cross-entropy of each element."""
        y_true = _smoothed_binary(y_true, self.label_smoothing)
        if self.from_logits:
            return _softplus(y_pred) - y_pred * y_true
        return _binary_crossentropy(y_true, y_pred)


def _binary_crossentropy(y_true, p):
    """The cross-entropy of probabilities p, clipped to [EPSILON, 1 - EPSILON]."""
    p = ad.clip(p, EPSILON, 1 - EPSILON)
    return -(y_true * ad.log(p) + (1 - y_true) * ad.log(1 - p))


def _smoothed_binary(y_true, label_smoothing):
    """Keras's binary label smoothing: the targets squeezed towards 0.5."""
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing


class CategoricalCrossentropy(_SmoothedCrossEntropy):
    """-sum(y * log p) over the class axis (`axis`), averaged over samples;
    targets are one-hot (or any distribution over the classes).

    Args:
        from_logits: whether `pred` holds logits rather than probabilities
            (default False). Logits go through log_softmax; probabilities are
            rescaled to sum to 1 and clipped to [1e-7, 1 - 1e-7] (Keras).
        label_smoothing: in [0, 1] (default 0): the targets become
            y * (1 - label_smoothing) + label_smoothing / classes.
        axis: the class axis (default -1).
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Shapes: pred and target (..., classes).

    Example:
        CategoricalCrossentropy()(np.array([[1, 0]]), Tensor([[0.5, 0.5]]))  # log 2
    """

    name = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        y_true = _smoothed_categorical(y_true, self.label_smoothing)
        log_p = _log_probabilities(y_pred, self.from_logits, self.axis)
        return -ad.reduce_sum(y_true * log_p, axis=self.axis)


def _smoothed_categorical(y_true, label_smoothing):
    """Keras's categorical label smoothing: the targets mixed with the uniform
    distribution. As in Keras, the number of classes is the size of the last
    axis, whatever the class axis."""
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]


def _log_probabilities(pred, from_logits, axis=-1):
    if from_logits:
        return ad.log_softmax(pred, axis=axis)
    return ad.log(_clipped_probabilities(pred, axis))


def _clipped_probabilities(p, axis):
    """p rescaled to sum to 1 over `axis`, clipped to [EPSILON, 1 - EPSILON]."""
    return ad.clip(p / ad.reduce_sum(p, axis=axis, keepdims=True), EPSILON, 1 - EPSILON)


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels: -log p[label],
    averaged over samples. No one-hot matrix is made: the log-probability of
    each true class is picked by integer-array indexing.

    Args:
        from_logits: whether `pred` holds logits rather than probabilities
            (default False); as in CategoricalCrossentropy.
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size"), by
            keyword (Keras's `ignore_class`, which Zen lacks, comes before it).

    Shapes: pred (..., classes); target (...) or (..., 1), integers in
    [0, classes), of any numeric dtype.

    Example:
        SparseCategoricalCrossentropy(from_logits=True)(np.array([1]), Tensor([[0.0, 0.0]]))
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, *, reduction: str = "sum_over_batch_size"):
        super().__init__(reduction)
        self.from_logits = check_bool(from_logits, "from_logits")

    def get_config(self):
        return {"from_logits": self.from_logits, **super().get_config()}

    def _target(self, pred, target):
        labels = _numeric_array(target, type(self).__name__)
        expected = pred.shape[:-1]
        if labels.shape == expected + (1,) and pred.ndim > 0:
            labels = labels[..., 0]
        if pred.ndim < 1 or labels.shape != expected:
            raise ValueError(f"{type(self).__name__}: the prediction has shape {pred.shape} "
                             f"and the target has shape {labels.shape}; expected a target "
                             f"of shape {expected} or {expected + (1,)} (one integer label "
                             f"per sample)")
        return _checked_labels(labels, pred.shape[-1], type(self).__name__)

    def call(self, y_true, y_pred):
        log_p = ad.reshape(_log_probabilities(y_pred, self.from_logits), (-1, y_pred.shape[-1]))
        picked = log_p[xp.arange(y_true.size), y_true.reshape(-1)]
        return -ad.reshape(picked, y_true.shape)

    def reduce(self, y_true, y_pred, sample_weight):
        """On logits, one fused op (softmax, the picked log-probabilities and
        the weighted sum, with a closed-form gradient)."""
        if not self.from_logits or self.reduction in ("none", None):
            return super().reduce(y_true, y_pred, sample_weight)
        logits = y_pred if y_pred.ndim == 2 else ad.reshape(y_pred, (-1, y_pred.shape[-1]))
        weights = _fused_weights(sample_weight, y_true.shape, self.reduction)
        return ad.sparse_softmax_cross_entropy(logits, y_true.reshape(-1), weights)


def _fused_weights(sample_weight, shape, reduction):
    """The weights (one per label, flat) that turn the fused op's weighted
    sum into `reduction`; None for the op's own mean."""
    if sample_weight is None:
        return np.ones(math.prod(shape)) if reduction == "sum" else None
    weights = np.broadcast_to(aligned_weights(sample_weight, shape, np.float64), shape)
    weights = weights.reshape(-1)
    divisor = 1 if reduction == "sum" else \
        weights.sum() if reduction == "mean_with_sample_weight" else weights.size
    return weights / divisor if divisor else np.zeros(weights.size)


def _checked_labels(labels, classes, owner):
    """Integer labels in [0, classes), as an intp array."""
    if labels.dtype.kind == "f":
        fractional = labels[labels != xp.round(labels)]
        if fractional.size:
            raise ValueError(f"{owner}: expected integer class labels, received "
                             f"{fractional.flat[0].item()!r}")
    elif labels.dtype.kind == "b":
        raise TypeError(f"{owner}: expected integer class labels, received booleans")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)].flat[0].item()
        raise ValueError(f"{owner}: label {bad!r} is out of range for {classes} classes "
                         f"(expected labels in [0, {classes}))")
    return labels.astype(xp.intp)


class KLDivergence(_ElementwiseLoss):
    """Kullback-Leibler divergence, sum(y * log(y / p)) over the last axis,
    with y and p clipped to [1e-7, 1] (Keras's "kld").

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        KLDivergence()(np.array([[0.5, 0.5]]), Tensor([[0.25, 0.75]]))
    """

    name = "kl_divergence"

    def call(self, y_true, y_pred):
        y_true = np.clip(y_true, EPSILON, 1)
        return ad.reduce_sum(y_true * ad.log(y_true / ad.clip(y_pred, EPSILON, 1)), axis=-1)


# ----- the functions: per-sample values, as Keras's are ------------------------------
def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """The BinaryCrossentropy of each sample.

    Args:
        y_true: the targets, 0 or 1 (or probabilities).
        y_pred: the predicted probabilities or logits, of the targets' shape.
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
        axis: the axis averaged over (default -1).
    """
    return BinaryCrossentropy(from_logits, label_smoothing, axis,
                              reduction="none")(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """The CategoricalCrossentropy of each sample.

    Args:
        y_true: one-hot targets (or distributions).
        y_pred: the predicted probabilities or logits, of the targets' shape.
        from_logits: whether `y_pred` holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
        axis: the class axis (default -1).
    """
    return CategoricalCrossentropy(from_logits, label_smoothing, axis,
                                   reduction="none")(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False) -> Tensor:
    """The SparseCategoricalCrossentropy of each sample.

    Args:
        y_true: integer class labels, of shape y_pred.shape[:-1] (or with a trailing 1).
        y_pred: the predicted probabilities or logits, (..., classes).
        from_logits: whether `y_pred` holds logits (default False).
    """
    return SparseCategoricalCrossentropy(from_logits, reduction="none")(y_true, y_pred)


def kl_divergence(y_true, y_pred) -> Tensor:
    """The KLDivergence of each sample.

    Args:
        y_true: the target distributions.
        y_pred: the predicted distributions, of the targets' shape.
    """
    return KLDivergence(reduction="none")(y_true, y_pred)
