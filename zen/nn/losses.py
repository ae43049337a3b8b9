"""Losses: callables `loss(pred, target) -> scalar Tensor`, the mean over samples.

Each loss is a class (configured in `__init__`, e.g. `Huber(delta=2.0)`)
and also reachable by its Keras name through `get("mse")`. Targets are
constants: numpy arrays of any numeric dtype, cast to the prediction's dtype
(a float32 model stays float32). The cross-entropies are numerically stable
for any logit size: logits go through log-softmax / softplus, and
probabilities are clipped to [EPSILON, 1 - EPSILON] as Keras does.
"""
import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..backend import xp

EPSILON = 1e-7  # Keras's backend epsilon


class Loss:
    """Base class: a subclass sets `name` and defines `compute(pred, target)`
    on a prediction Tensor and a target array already checked and cast."""

    name = None

    def __call__(self, pred, target) -> Tensor:
        pred = pred if isinstance(pred, Tensor) else Tensor(pred, trainable=False)
        if pred.size == 0:
            raise ValueError(f"{type(self).__name__}: received an empty prediction of "
                             f"shape {pred.shape}")
        return self.compute(pred, self._target(pred, target))

    def _target(self, pred, target):
        """The target as an array of pred's dtype and shape."""
        target = _numeric_array(target, type(self).__name__)
        # (N,) targets for (N, 1) predictions and the reverse, as Keras allows
        if target.shape + (1,) == pred.shape:
            target = target[..., None]
        elif target.shape == pred.shape + (1,):
            target = target[..., 0]
        if target.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}: the prediction has shape {pred.shape} "
                             f"and the target has shape {target.shape}; expected equal shapes")
        return target.astype(pred.dtype, copy=False)

    def compute(self, pred: Tensor, target) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define compute (subclass hook)")

    def get_config(self) -> dict:
        """The constructor arguments (JSON-serialisable)."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MSE(Loss):
    """Mean squared error, mean((pred - target) ** 2).

    Example:
        MSE()(Tensor([1.0, 2.0]), np.array([0.0, 0.0]))   # 2.5
    """

    name = "mse"

    def compute(self, pred, target):
        error = pred - target
        return ad.reduce_mean(error * error)


class MAE(Loss):
    """Mean absolute error, mean(|pred - target|).

    Example:
        MAE()(Tensor([1.0, -2.0]), np.array([0.0, 0.0]))  # 1.5
    """

    name = "mae"

    def compute(self, pred, target):
        return ad.reduce_mean(ad.abs(pred - target))


class Huber(Loss):
    """Huber loss: 0.5 * e**2 where |e| <= delta, delta * (|e| - 0.5 * delta)
    beyond, e = pred - target; quadratic near zero, linear (robust to
    outliers) far from it.

    Args:
        delta: where the loss turns linear (default 1.0), positive.

    Example:
        Huber(delta=1.0)(Tensor([0.5, 3.0]), np.zeros(2))   # (0.125 + 2.5) / 2
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.number)) \
                or not delta > 0:
            raise ValueError(f"Received an invalid value for `delta`, expected a positive "
                             f"number. Received: delta={delta!r}")
        self.delta = float(delta)

    def compute(self, pred, target):
        error = ad.abs(pred - target)
        # min(|e|, delta) carries the quadratic part and the rest the linear
        # part: one smooth expression, no branch
        quadratic = ad.minimum(error, self.delta)
        linear = error - quadratic
        return ad.reduce_mean(0.5 * quadratic * quadratic + self.delta * linear)

    def get_config(self):
        return {"delta": self.delta}


class _CrossEntropy(Loss):
    def __init__(self, from_logits: bool = False):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise ValueError(f"Received an invalid value for `from_logits`, expected True "
                             f"or False. Received: from_logits={from_logits!r}")
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {"from_logits": self.from_logits}


class BinaryCrossentropy(_CrossEntropy):
    """-[y log p + (1 - y) log(1 - p)], averaged over every element.

    Args:
        from_logits: whether `pred` holds logits (any real number) rather
            than probabilities (default False). Logits take the stable form
            softplus(x) - x * y; probabilities are clipped to [1e-7, 1 - 1e-7].

    Example:
        BinaryCrossentropy(from_logits=True)(Tensor([[0.0]]), np.array([[1.0]]))  # log 2
    """

    name = "binary_crossentropy"

    def compute(self, pred, target):
        if self.from_logits:
            return ad.reduce_mean(_softplus(pred) - pred * target)
        p = ad.clip(pred, EPSILON, 1 - EPSILON)
        return -ad.reduce_mean(target * ad.log(p) + (1 - target) * ad.log(1 - p))


def _softplus(x):
    """log(1 + e^x) as logsumexp(0, x): no overflow for any x, and the exact
    gradient sigmoid(x) everywhere (also at 0, where |x| has a kink)."""
    zeros = Tensor(xp.zeros(x.shape, x.dtype), trainable=False)
    return ad.logsumexp(ad.stack([zeros, x], axis=-1), axis=-1)


class CategoricalCrossentropy(_CrossEntropy):
    """-sum(y * log p) over the class axis (the last), averaged over samples;
    targets are one-hot (or any distribution over the classes).

    Args:
        from_logits: whether `pred` holds logits rather than probabilities
            (default False). Logits go through log_softmax; probabilities are
            rescaled to sum to 1 and clipped to [1e-7, 1 - 1e-7] (Keras).

    Shapes: pred and target (..., classes).

    Example:
        CategoricalCrossentropy()(Tensor([[0.5, 0.5]]), np.array([[1, 0]]))  # log 2
    """

    name = "categorical_crossentropy"

    def compute(self, pred, target):
        log_p = _log_probabilities(pred, self.from_logits)
        return -ad.reduce_mean(ad.reduce_sum(target * log_p, axis=-1))


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
        SparseCategoricalCrossentropy(from_logits=True)(Tensor([[0.0, 0.0]]), np.array([1]))
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

    def compute(self, pred, labels):
        classes = pred.shape[-1]
        if self.from_logits:
            logits = pred if pred.ndim == 2 else ad.reshape(pred, (-1, classes))
            return ad.sparse_softmax_cross_entropy(logits, labels.reshape(-1))
        else:
            p = pred / ad.reduce_sum(pred, axis=-1, keepdims=True)
            p = ad.reshape(p, (-1, classes))[xp.arange(labels.size), labels.reshape(-1)]
            picked = ad.log(ad.clip(p, EPSILON, 1 - EPSILON))
        return -ad.reduce_mean(picked)


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
_CLASSES = (MSE, MAE, Huber, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy)
_BY_NAME = {cls.name: cls for cls in _CLASSES}
_BY_NAME.update({"mean_squared_error": MSE, "mean_absolute_error": MAE,
                 "MeanSquaredError": MSE, "MeanAbsoluteError": MAE})
_BY_NAME.update({cls.__name__: cls for cls in _CLASSES})


def get(identifier):
    """A loss from its name ("mse", "categorical_crossentropy", ...), its class,
    an instance, a `serialize` dict, or any callable `(pred, target) -> Tensor`
    (returned as is).

    Example:
        loss = get("sparse_categorical_crossentropy")
        loss = get({"class_name": "Huber", "config": {"delta": 2.0}})
    """
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown loss {identifier!r}; expected one of "
                             f"{sorted(_BY_NAME)}, a Loss or a callable")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Unknown loss {identifier!r}; expected a name such as 'mse', a "
                     f"Loss class or instance, or a callable (pred, target) -> Tensor")


def serialize(loss: Loss) -> dict:
    """{"class_name": ..., "config": ...}, which `get` turns back into the loss."""
    if not isinstance(loss, Loss):
        raise ValueError(f"Only Zen losses can be serialized; received {loss!r}")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def _from_dict(spec):
    name, config = spec.get("class_name"), spec.get("config", {})
    cls = _BY_NAME.get(name)
    if cls is None or name != cls.__name__ or not isinstance(config, dict):
        raise ValueError(f"Cannot rebuild a loss from {spec!r}: expected "
                         f"{{'class_name': one of {[c.__name__ for c in _CLASSES]}, "
                         f"'config': dict}}")
    return cls.from_config(config)
