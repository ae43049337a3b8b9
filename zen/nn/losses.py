"""Losses, called as Keras calls them: `loss(y_true, y_pred, sample_weight=None)`
-> scalar Tensor (Keras 3's classes, functions, names, arguments and numbers).

Each loss is a class (configured in `__init__`, e.g. `Huber(delta=2.0)`),
a function of Keras's name returning the per-sample values (e.g.
`poisson(y_true, y_pred)`), and reachable by its Keras names through
`get("mse")`. A loss computes one value per sample (per timestep for
sequences) in `call(y_true, y_pred)`, as Keras's do, and reduces them as
Keras does (`reduction`): by default the mean, or with sample weights
sum(weight * value) / number of values. Targets are constants: numpy
arrays of any numeric dtype, cast to the prediction's dtype (a float32 model
stays float32). The cross-entropies are numerically stable for any logit
size: logits go through log-softmax / softplus, and probabilities are
clipped to [EPSILON, 1 - EPSILON] as Keras does.
"""
import math

import numpy as np

from .. import autodiff as ad
from ..autodiff import Function, Tensor
from ..backend import xp
from ..registry import Registry
from ..validation import check_bool, check_float, check_int, check_one_of, invalid, is_number

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


# ----- regression ----------------------------------------------------------------
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


# ----- probabilistic ----------------------------------------------------------------
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


class _Softplus(Function):
    """log(1 + e^x), elementwise, as numpy's logaddexp(0, x) (no overflow);
    the gradient is sigmoid(x) everywhere (also at 0, where |x| has a kink)."""

    def forward(self, x):
        self.x = x
        return xp.logaddexp(xp.zeros((), x.dtype), x)

    def backward(self, g):
        return g * _sigmoid_of(self.x)


def _softplus(x) -> Tensor:
    """log(1 + e^x), elementwise, stable for any x; differentiable."""
    return _Softplus.apply(x)


class _Sigmoid(Function):
    """1 / (1 + e^-x), elementwise, to float rounding in both tails, as
    PyTorch's (ad.sigmoid's 0.5 * (tanh(x / 2) + 1) cancels for x << 0: in
    float32 it is off by 2e-4 relative at x = -10, and focal cross-entropy
    takes the log of it)."""

    def forward(self, x):
        self.out = _sigmoid_of(x)
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


def _sigmoid_of(x):
    """sigmoid of an array: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below
    (no overflow, and no cancellation in 1 - ... for negative x)."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


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
        classes = y_pred.shape[-1]
        if self.from_logits:
            log_p = ad.reshape(ad.log_softmax(y_pred, axis=-1), (-1, classes))
        else:
            p = y_pred / ad.reduce_sum(y_pred, axis=-1, keepdims=True)
            log_p = ad.log(ad.clip(ad.reshape(p, (-1, classes)), EPSILON, 1 - EPSILON))
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


def _numeric_array(target, owner):
    array = target.value if isinstance(target, Tensor) else xp.asarray(target)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: expected a numeric target, received an array of "
                        f"dtype {array.dtype}")
    return array


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


# ----- hinge ----------------------------------------------------------------------
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


def poisson(y_true, y_pred) -> Tensor:
    """The Poisson loss of each sample.

    Args:
        y_true: the targets (counts).
        y_pred: the predicted rates, of the targets' shape.
    """
    return Poisson(reduction="none")(y_true, y_pred)


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


# ----- by name ------------------------------------------------------------------
LOSSES = Registry("loss")  # Keras's names and class names -> Loss classes
"""Loss classes by Keras's names and by class name, for `get`, `serialize` and `deserialize`."""
for _cls in (MSE, MAE, Huber, BinaryCrossentropy, CategoricalCrossentropy,
             SparseCategoricalCrossentropy, BinaryFocalCrossentropy,
             CategoricalFocalCrossentropy, KLDivergence, Poisson, CosineSimilarity, LogCosh,
             Hinge, SquaredHinge, CategoricalHinge, MeanAbsolutePercentageError,
             MeanSquaredLogarithmicError):
    LOSSES.add(_cls, _cls.name, _cls.__name__)
LOSSES.add(MSE, "mean_squared_error", "MeanSquaredError")
LOSSES.add(MAE, "mean_absolute_error", "MeanAbsoluteError")
LOSSES.add(BinaryCrossentropy, "bce", "BCE")
LOSSES.add(KLDivergence, "kld", "KLD")
LOSSES.add(MeanAbsolutePercentageError, "mape", "MAPE")
LOSSES.add(MeanSquaredLogarithmicError, "msle", "MSLE")

FUNCTIONS = Registry("loss function")
"""The loss functions by their names (Keras's), for `serialize`."""
for _fn in (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
            mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity,
            binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
            categorical_focal_crossentropy, sparse_categorical_crossentropy, kl_divergence,
            poisson, hinge, squared_hinge, categorical_hinge):
    FUNCTIONS.add(_fn)


def get(identifier):
    """A loss from its name ("mse", "categorical_crossentropy", ...), its class,
    an instance, a `serialize` dict, or any callable `(y_true, y_pred) -> Tensor`
    (returned as is).

    Example:
        loss = get("sparse_categorical_crossentropy")
        loss = get({"class_name": "Huber", "config": {"delta": 2.0}})
    """
    if isinstance(identifier, str):
        return LOSSES.lookup(identifier)()
    if isinstance(identifier, dict):
        return LOSSES.deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Unknown loss {identifier!r}; expected a name such as 'mse', a "
                     f"Loss class or instance, or a callable (y_true, y_pred) -> Tensor")


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
    values = loss(y_true, y_pred)
    if not isinstance(values, Tensor):
        raise TypeError(f"The loss function {getattr(loss, '__name__', loss)!r} must return "
                        f"a Tensor computed from y_pred (per-sample values or their mean). "
                        f"Received: {type(values).__name__}")
    return weighted_mean(values, sample_weight)


def serialize(loss):
    """{"class_name": ..., "config": ...} for a Loss, or the name of one of
    Zen's loss functions (e.g. "poisson"); `get` turns either back into the
    loss (a function's name gives the loss class of that name).

    Args:
        loss: a Zen Loss, or one of the loss functions of this module.
    """
    name = getattr(loss, "__name__", None)
    if not isinstance(loss, Loss) and FUNCTIONS.get(name) is loss:
        return name
    return LOSSES.serialize(loss)
