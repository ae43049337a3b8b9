"""Losses, called as Keras calls them: `loss(y_true, y_pred, sample_weight=None)`
-> scalar Tensor.

Each loss is a class (configured in `__init__`, e.g. `Huber(delta=2.0)`)
and also reachable by its Keras name through `get("mse")`. A loss computes
one value per sample (per timestep for sequences) in `call(y_true, y_pred)`,
as Keras's do, and reduces them as Keras does: the mean, or with sample
weights sum(weight * value) / number of values. Targets are constants: numpy
arrays of any numeric dtype, cast to the prediction's dtype (a float32 model
stays float32). The cross-entropies are numerically stable for any logit
size: logits go through log-softmax / softplus, and probabilities are
clipped to [EPSILON, 1 - EPSILON] as Keras does.
"""
import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..backend import xp
from ..registry import Registry
from ..validation import check_bool, check_float

EPSILON = 1e-7  # Keras's backend epsilon
"""How far from 0 and 1 probabilities are clipped before their log is taken."""


class Loss:
    """Base class: a subclass sets `name` and defines `call(y_true, y_pred)`,
    returning the loss of each sample (a Tensor of shape (batch,), or
    (batch, time) for sequences), from a target array already checked and
    cast and a prediction Tensor; the base class reduces them.

    Example:
        class SquaredLog(Loss):
            def call(self, y_true, y_pred):
                return ad.reduce_mean((ad.log(1 + y_pred) - np.log1p(y_true)) ** 2, axis=-1)
    """

    name = None

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred, trainable=False)
        if y_pred.size == 0:
            raise ValueError(f"{type(self).__name__}: received an empty prediction of "
                             f"shape {y_pred.shape}")
        return self.reduce(self._target(y_pred, y_true), y_pred, sample_weight)

    def reduce(self, y_true, y_pred, sample_weight) -> Tensor:
        """The reduced loss: `weighted_mean` of `call`'s values (a loss with a
        fused form, e.g. sparse cross-entropy on logits, overrides this)."""
        return weighted_mean(self.call(y_true, y_pred), sample_weight)

    def _target(self, pred, target):
        return matched_target(target, pred, type(self).__name__)

    def call(self, y_true, y_pred) -> Tensor:
        """The loss of each sample (a subclass defines it): y_true is an array of
        y_pred's dtype, y_pred a Tensor."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred) "
                                  f"(subclass hook)")

    def get_config(self) -> dict:
        """The constructor arguments (JSON-serialisable)."""
        return {}

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
    """A loss of each element of equally shaped targets and predictions,
    averaged over the last axis (Keras's per-sample value)."""

    def _target(self, pred, target):
        target = super()._target(pred, target)
        if target.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}: the prediction has shape {pred.shape} "
                             f"and the target has shape {target.shape}; expected equal shapes")
        return target

    def call(self, y_true, y_pred):
        return per_sample(self.elementwise(y_true, y_pred))


def per_sample(values: Tensor) -> Tensor:
    """The mean over the last axis (features), as Keras reduces elementwise
    losses; a 1-D batch (one value per sample) is kept as it is."""
    return ad.reduce_mean(values, axis=-1) if values.ndim > 1 else values


def weighted_mean(values: Tensor, sample_weight=None) -> Tensor:
    """Keras's reduction "sum_over_batch_size": mean(values), or with
    `sample_weight` (one per sample, or per value) sum(weight * values)
    divided by the number of weighted values."""
    if not isinstance(values, Tensor):
        values = Tensor(values, trainable=False)
    if sample_weight is None:
        return ad.reduce_mean(values)
    weighted = values * aligned_weights(sample_weight, values.shape, values.dtype)
    return ad.reduce_sum(weighted) / weighted.size


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


class MSE(_ElementwiseLoss):
    """Mean squared error, mean((y_pred - y_true) ** 2).

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

    Example:
        MAE()(np.array([0.0, 0.0]), Tensor([1.0, -2.0]))  # 1.5
    """

    name = "mae"

    def elementwise(self, y_true, y_pred):
        """|y_pred - y_true| for each element."""
        return ad.abs(y_pred - y_true)


class Huber(_ElementwiseLoss):
    """Huber loss: 0.5 * e**2 where |e| <= delta, delta * (|e| - 0.5 * delta)
    beyond, e = pred - target; quadratic near zero, linear (robust to
    outliers) far from it; e = y_pred - y_true.

    Args:
        delta: where the loss turns linear (default 1.0), positive.

    Example:
        Huber(delta=1.0)(np.zeros(2), Tensor([0.5, 3.0]))   # (0.125 + 2.5) / 2
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
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
        return {"delta": self.delta}


class _CrossEntropy(Loss):
    def __init__(self, from_logits: bool = False):
        self.from_logits = check_bool(from_logits, "from_logits")

    def get_config(self):
        return {"from_logits": self.from_logits}


class BinaryCrossentropy(_CrossEntropy, _ElementwiseLoss):
    """-[y log p + (1 - y) log(1 - p)], averaged over the last axis.

    Args:
        from_logits: whether `pred` holds logits (any real number) rather
            than probabilities (default False). Logits take the stable form
            softplus(x) - x * y; probabilities are clipped to [1e-7, 1 - 1e-7].

    Example:
        BinaryCrossentropy(from_logits=True)(np.array([[1.0]]), Tensor([[0.0]]))  # log 2
    """

    name = "binary_crossentropy"

    def elementwise(self, y_true, y_pred):
        """The binary cross-entropy of each element."""
        if self.from_logits:
            return _softplus(y_pred) - y_pred * y_true
        p = ad.clip(y_pred, EPSILON, 1 - EPSILON)
        return -(y_true * ad.log(p) + (1 - y_true) * ad.log(1 - p))


def _softplus(x):
    """log(1 + e^x) as logsumexp(0, x): no overflow for any x, and the exact
    gradient sigmoid(x) everywhere (also at 0, where |x| has a kink)."""
    zeros = Tensor(xp.zeros(x.shape, x.dtype), trainable=False)
    return ad.logsumexp(ad.stack([zeros, x], axis=-1), axis=-1)


class CategoricalCrossentropy(_CrossEntropy, _ElementwiseLoss):
    """-sum(y * log p) over the class axis (the last), averaged over samples;
    targets are one-hot (or any distribution over the classes).

    Args:
        from_logits: whether `pred` holds logits rather than probabilities
            (default False). Logits go through log_softmax; probabilities are
            rescaled to sum to 1 and clipped to [1e-7, 1 - 1e-7] (Keras).

    Shapes: pred and target (..., classes).

    Example:
        CategoricalCrossentropy()(np.array([[1, 0]]), Tensor([[0.5, 0.5]]))  # log 2
    """

    name = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        log_p = _log_probabilities(y_pred, self.from_logits)
        return -ad.reduce_sum(y_true * log_p, axis=-1)


def _log_probabilities(pred, from_logits):
    if from_logits:
        return ad.log_softmax(pred, axis=-1)
    p = pred / ad.reduce_sum(pred, axis=-1, keepdims=True)
    return ad.log(ad.clip(p, EPSILON, 1 - EPSILON))


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Categorical cross-entropy with integer class labels: -log p[label],
    averaged over samples. No one-hot matrix is made: the log-probability of
    each true class is picked by integer-array indexing.

    Args:
        from_logits: whether `pred` holds logits rather than probabilities
            (default False); as in CategoricalCrossentropy.

    Shapes: pred (..., classes); target (...) or (..., 1), integers in
    [0, classes), of any numeric dtype.

    Example:
        SparseCategoricalCrossentropy(from_logits=True)(np.array([1]), Tensor([[0.0, 0.0]]))
    """

    name = "sparse_categorical_crossentropy"

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
        the weighted mean, with a closed-form gradient)."""
        if not self.from_logits:
            return super().reduce(y_true, y_pred, sample_weight)
        logits = y_pred if y_pred.ndim == 2 else ad.reshape(y_pred, (-1, y_pred.shape[-1]))
        weights = None
        if sample_weight is not None:
            weights = np.broadcast_to(aligned_weights(sample_weight, y_true.shape, np.float64),
                                      y_true.shape).reshape(-1) / y_true.size
        return ad.sparse_softmax_cross_entropy(logits, y_true.reshape(-1), weights)


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


# ----- by name ------------------------------------------------------------------
LOSSES = Registry("loss")  # Keras's names and class names -> Loss classes
"""Loss classes by Keras's names and by class name, for `get`, `serialize` and `deserialize`."""
for _cls in (MSE, MAE, Huber, BinaryCrossentropy, CategoricalCrossentropy,
             SparseCategoricalCrossentropy):
    LOSSES.add(_cls, _cls.name, _cls.__name__)
LOSSES.add(MSE, "mean_squared_error", "MeanSquaredError")
LOSSES.add(MAE, "mean_absolute_error", "MeanAbsoluteError")


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


def serialize(loss: Loss) -> dict:
    """{"class_name": ..., "config": ...}, which `get` turns back into the loss."""
    return LOSSES.serialize(loss)
