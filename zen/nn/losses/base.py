"""The base of every loss: `Loss` (Keras's call, `loss(y_true, y_pred,
sample_weight=None)`, then its reduction), Keras's reductions
(`REDUCTIONS`, `reduce_weighted_values`, `weighted_mean`,
`aligned_weights`), the target checks the losses share (`matched_target`,
and the base class of the elementwise losses with `per_sample`), and
`compute`, which reduces a Loss or a plain function `fn(y_true, y_pred)`
over a batch.
"""
import numpy as np

from ... import autodiff as ad
from ...autodiff import Tensor
from ...backend import xp
from ...validation import check_one_of, invalid
from .. import masking
from ..masking import get_mask

EPSILON = 1e-7  # Keras's backend epsilon
"""How far from 0 and 1 probabilities are clipped before their log is taken."""

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
"""Keras's reductions: "sum_over_batch_size" and "mean" divide the weighted sum
by the number of values, "mean_with_sample_weight" by the sum of the weights,
"sum" keeps the sum, "none" and None return the weighted values."""


class Loss:
    """Base class: a subclass sets `name` and defines `call(y_true, y_pred)`,
    returning the loss of each sample (a Tensor of shape (batch,), or
    (batch, time) for sequences), from a target array already checked and
    cast and a prediction Tensor; the base class reduces them.

    Args:
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        class SquaredLog(Loss):
            def call(self, y_true, y_pred):
                return ad.reduce_mean((ad.log(1 + y_pred) - np.log1p(y_true)) ** 2, axis=-1)
    """

    name = None
    reduction = "sum_over_batch_size"  # also for subclasses whose __init__ skips Loss's

    def __init__(self, reduction: str = "sum_over_batch_size"):
        self.reduction = check_one_of(reduction, "reduction", REDUCTIONS)

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred, trainable=False)
        if y_pred.size == 0:
            raise ValueError(f"{type(self).__name__}: received an empty prediction of "
                             f"shape {y_pred.shape}")
        sample_weight = apply_mask(sample_weight, get_mask(y_pred), self.reduction)
        return self.reduce(self._target(y_pred, y_true), y_pred, sample_weight)

    def reduce(self, y_true, y_pred, sample_weight) -> Tensor:
        """The reduced loss: `call`'s values through `reduce_weighted_values`
        (a loss with a fused form, e.g. sparse cross-entropy on logits,
        overrides this)."""
        return reduce_weighted_values(self.call(y_true, y_pred), sample_weight, self.reduction)

    def _target(self, pred, target):
        return matched_target(target, pred, type(self).__name__)

    def call(self, y_true, y_pred) -> Tensor:
        """The loss of each sample (a subclass defines it): y_true is an array of
        y_pred's dtype, y_pred a Tensor."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred) "
                                  f"(subclass hook)")

    def get_config(self) -> dict:
        """The constructor arguments (JSON-serialisable); `reduction` only when
        it is not the default."""
        return {} if self.reduction == Loss.reduction else {"reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        """A new loss from `get_config()`'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def matched_target(target, pred, owner):
    """The target as an array of pred's dtype, of pred's rank where the two
    differ by a trailing axis of 1 (Keras's squeeze-or-expand: (N,) targets
    for (N, 1) predictions and the reverse)."""
    target = _numeric_array(target, owner)
    if target.shape + (1,) == pred.shape:
        target = target[..., None]
    elif target.shape == pred.shape + (1,):
        target = target[..., 0]
    return target.astype(pred.dtype, copy=False)


def _numeric_array(target, owner):
    array = target.value if isinstance(target, Tensor) else xp.asarray(target)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: expected a numeric target, received an array of "
                        f"dtype {array.dtype}")
    return array


class _ElementwiseLoss(Loss):
    """A loss of equally shaped targets and predictions; by default one value
    per element (`elementwise`), averaged over `axis` (Keras's per-sample value)."""

    axis = -1

    def _target(self, pred, target):
        target = super()._target(pred, target)
        if target.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}: the prediction has shape {pred.shape} "
                             f"and the target has shape {target.shape}; expected equal shapes")
        if not -max(pred.ndim, 1) <= self.axis < max(pred.ndim, 1):
            raise invalid("axis", f"an axis of the prediction's shape {pred.shape}", self.axis,
                          owner=type(self).__name__)
        return target

    def call(self, y_true, y_pred):
        return per_sample(self.elementwise(y_true, y_pred), self.axis)


def per_sample(values: Tensor, axis: int = -1) -> Tensor:
    """The mean over `axis` (the features), as Keras reduces elementwise
    losses; a 1-D batch (one value per sample) is kept as it is.

    Args:
        values: the loss of each element.
        axis: the axis averaged over (default -1).
    """
    return ad.reduce_mean(values, axis=axis) if values.ndim > 1 else values


def weighted_mean(values: Tensor, sample_weight=None) -> Tensor:
    """Keras's reduction "sum_over_batch_size": mean(values), or with
    `sample_weight` (one per sample, or per value) sum(weight * values)
    divided by the number of weighted values."""
    return reduce_weighted_values(values, sample_weight)


def reduce_weighted_values(values: Tensor, sample_weight=None,
                           reduction: str = "sum_over_batch_size") -> Tensor:
    """Keras's `reduce_weighted_values`: the values times `sample_weight` (see
    `aligned_weights`), then summed ("sum"), divided by the number of values
    ("sum_over_batch_size", "mean") or by the sum of the weights
    ("mean_with_sample_weight", 0 when they sum to 0), or kept ("none", None).

    Args:
        values: the per-sample losses (a Tensor).
        sample_weight: one weight per sample or per value, or None.
        reduction: one of `REDUCTIONS` (default "sum_over_batch_size").

    Example:
        reduce_weighted_values(Tensor([1.0, 3.0]), [1.0, 0.0], "mean_with_sample_weight")  # 1
    """
    if not isinstance(values, Tensor):
        values = Tensor(values, trainable=False)
    mean = reduction in ("sum_over_batch_size", "mean")
    if sample_weight is None:
        if mean or reduction == "mean_with_sample_weight":
            return ad.reduce_mean(values)
        return values if reduction in ("none", None) else ad.reduce_sum(values)
    weights = aligned_weights(sample_weight, values.shape, values.dtype)
    weighted = values * weights
    if reduction in ("none", None):
        return weighted
    total = ad.reduce_sum(weighted)
    if reduction == "sum":
        return total
    divisor = weighted.size if mean else float(np.broadcast_to(weights, weighted.shape).sum())
    return total / divisor if divisor else total * 0.0


def apply_mask(sample_weight, mask, reduction: str = "sum_over_batch_size"):
    """`sample_weight` with the prediction's `mask` folded in (Keras's
    `apply_mask`): masked-out values weigh 0. For the mean reductions the
    kept ones weigh total / kept, so the mean over every value is the mean
    over the kept ones (a padded batch gives its real steps' loss).

    Args:
        sample_weight: the weights given (per sample or per value), or None.
        mask: booleans (batch, time) for a sequence output, or None.
        reduction: the reduction the weights are for (see `REDUCTIONS`).

    Example:
        apply_mask(None, [[True, True, False]])        # [[1.5, 1.5, 0.0]]
    """
    if mask is None:
        return sample_weight
    mask = masking.as_mask(mask)
    if reduction in ("sum_over_batch_size", "mean"):
        kept = int(mask.sum())
        weights = np.where(mask, mask.size / kept if kept else 0.0, 0.0)
    else:
        weights = mask.astype(np.float64)
    if sample_weight is None:
        return weights
    given = np.asarray(getattr(sample_weight, "value", sample_weight), dtype=np.float64)
    if given.ndim == weights.ndim + 1 and given.shape[-1] == 1:
        given = given[..., 0]
    given = given.reshape(given.shape + (1,) * (weights.ndim - given.ndim))
    return given * weights


def aligned_weights(sample_weight, shape, dtype):
    """`sample_weight` as an array that broadcasts against values of `shape`
    (Keras's rules): a trailing axis of 1 beyond `shape` is dropped and
    missing trailing axes are added, so (batch,) and (batch, 1) weights
    weigh each sample of (batch, time) values. A scalar value (a loss
    function that returned its mean) takes the weights' shape."""
    weights = np.asarray(getattr(sample_weight, "value", sample_weight))
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"Received an invalid value for `sample_weight`, expected numbers. "
                        f"Received an array of dtype {weights.dtype}")
    shape = tuple(shape)
    if weights.ndim == len(shape) + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    if shape and weights.ndim <= len(shape):
        weights = weights.reshape(weights.shape + (1,) * (len(shape) - weights.ndim))
    try:
        fits = not shape or np.broadcast_shapes(weights.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"`sample_weight` of shape {np.shape(sample_weight)} does not match "
                         f"the losses of shape {shape} (one weight per sample, or per value)")
    return weights.astype(dtype, copy=False)


def compute(loss, y_true, y_pred, sample_weight=None) -> Tensor:
    """`loss` (a Loss, or a user's function `fn(y_true, y_pred)` returning a
    Tensor of per-sample values or their mean, as Keras takes) reduced over
    the batch with `sample_weight` (see `weighted_mean`).

    Example:
        compute(lambda t, p: ad.reduce_mean(ad.abs(p - t), axis=-1), y, pred, weights)
    """
    if isinstance(loss, Loss):
        return loss(y_true, y_pred, sample_weight)
    if isinstance(y_pred, Tensor):
        y_true = matched_target(y_true, y_pred, getattr(loss, "__name__", "loss"))
    sample_weight = apply_mask(sample_weight, get_mask(y_pred))
    values = loss(y_true, y_pred)
    if not isinstance(values, Tensor):
        raise TypeError(f"The loss function {getattr(loss, '__name__', loss)!r} must return "
                        f"a Tensor computed from y_pred (per-sample values or their mean). "
                        f"Received: {type(values).__name__}")
    return weighted_mean(values, sample_weight)
