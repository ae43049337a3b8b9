"""Zen's metric functions, and the registry of the functions a metric may wrap.

`accuracy`, `mae` and `mse` are Zen's own (`metric(y_true, y_pred) ->
float`, the batch mean): the string "accuracy" ("acc") reads the target
format from the shapes, as Zen always did, and "mae"/"mse" name them. Each
has its per-sample form (`accuracy_values`, `mae_values`, `mse_values`),
which `compile` averages in a MeanMetricWrapper. `FUNCTIONS` files the
per-sample functions a MeanMetricWrapper's config may name (these, and
Keras's accuracy functions, filed by zen.train.metrics.accuracy_metrics);
`_loss_values` reads one of zen.nn.losses' functions as arrays, with no graph.
"""
import numpy as np

from ...autodiff import no_grad
from ...nn import losses
from ...registry import Registry
from .arrays import _array, _mismatch, _numbers


def accuracy(y_true, y_pred) -> float:
    """The fraction of samples classified correctly.

    The target format is read from the shapes, so one name serves the
    three cases Keras's "accuracy" covers:
    - sparse: y_true (batch,) or (batch, 1) integer labels, y_pred
      (batch, classes) scores -> argmax(y_pred) == y_true;
    - one-hot: y_true and y_pred both (batch, classes), classes > 1 ->
      argmax(y_pred) == argmax(y_true);
    - binary: y_pred (batch,) or (batch, 1), one sigmoid probability per
      sample -> (y_pred > 0.5) == y_true, for 0/1 targets of the same size.

    Args:
        y_true: the targets.
        y_pred: the predicted scores or probabilities.

    Example:
        accuracy(np.array([0, 2]), np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]]))  # 0.5
    """
    hits = accuracy_values(y_true, y_pred)
    return np.count_nonzero(hits) / hits.size if hits.size else float("nan")  # np.mean's value, cheaper


def accuracy_values(y_true, y_pred) -> np.ndarray:
    """Whether each sample (each timestep of a sequence) is classified
    correctly, as a bool array; see `accuracy`."""
    y_true, y_pred = _array(y_true, "y_true"), _array(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise _mismatch(y_true, y_pred, "different numbers of samples")
    n = len(y_pred)
    if y_pred.ndim == 1 or y_pred.shape[1:] == (1,):  # binary: one probability per sample
        if y_true.size != n:
            raise _mismatch(y_true, y_pred, "a single output column needs one 0/1 target "
                                            "per sample")
        hits = (y_pred.reshape(n) > 0.5) == (y_true.reshape(n) > 0.5)
    elif y_true.shape == y_pred.shape:  # one-hot targets
        hits = y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)
    elif y_true.shape in (y_pred.shape[:-1], y_pred.shape[:-1] + (1,)):  # sparse labels
        hits = y_pred.argmax(axis=-1) == y_true.reshape(y_pred.shape[:-1])
    else:
        raise _mismatch(y_true, y_pred, "expected sparse labels of shape y_pred.shape[:-1], "
                                        "one-hot targets of y_pred's shape, or binary targets")
    return hits


def _aligned(y_true, y_pred):
    """Both as arrays of one shape: (batch,) targets against (batch, 1)
    predictions are the same thing (Keras squeezes the same way)."""
    y_true, y_pred = _array(y_true, "y_true"), _array(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        if y_true.size != y_pred.size or len(y_true) != len(y_pred):
            raise _mismatch(y_true, y_pred, "expected the same shape")
        y_true = y_true.reshape(y_pred.shape)
    return y_true, y_pred


def mae(y_true, y_pred) -> float:
    """Mean absolute error, mean(|y_true - y_pred|) over every element.

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.

    Example:
        mae(np.array([1.0, 2.0]), np.array([1.5, 1.0]))    # 0.75
    """
    return float(np.mean(mae_values(y_true, y_pred)))


def mae_values(y_true, y_pred) -> np.ndarray:
    """Each sample's mean absolute error (over the last axis)."""
    return _per_sample_error(np.abs, y_true, y_pred)


def mse(y_true, y_pred) -> float:
    """Mean squared error, mean((y_true - y_pred)**2) over every element.

    Args:
        y_true: the targets.
        y_pred: the predictions, of the targets' shape.

    Example:
        mse(np.array([1.0, 2.0]), np.array([1.5, 1.0]))    # 0.625
    """
    return float(np.mean(mse_values(y_true, y_pred)))


def mse_values(y_true, y_pred) -> np.ndarray:
    """Each sample's mean squared error (over the last axis)."""
    return _per_sample_error(np.square, y_true, y_pred)


def _per_sample_error(measure, y_true, y_pred):
    """`measure` of each element's error, averaged over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    values = measure(y_true - y_pred)
    return values.mean(axis=-1) if values.ndim > 1 else values


def _loss_values(loss_fn):
    """A per-sample function of zen.nn.losses, read as an array (no graph)."""
    def values(y_true, y_pred, **kwargs):
        with no_grad():
            return loss_fn(y_true, _numbers(y_pred, "y_pred"), **kwargs).value
    values.__name__, values.loss_fn = loss_fn.__name__, loss_fn
    return values


FUNCTIONS = Registry("metric function")
"""The per-sample functions a MeanMetricWrapper's config may name (Keras's
accuracy functions join them in zen.train.metrics.accuracy_metrics)."""
for _fn in (accuracy, mae, mse, accuracy_values, mae_values, mse_values):
    FUNCTIONS.add(_fn)


def _is_loss(fn) -> bool:
    """Whether `fn` is one of zen.nn.losses' (a Loss, a loss function, or one
    read as arrays), or Zen's mae or mse."""
    found = losses.FUNCTIONS.get(getattr(fn, "__name__", None))
    return isinstance(fn, losses.Loss) or fn in (mae_values, mse_values) or \
        (found is not None and found in (fn, getattr(fn, "loss_fn", None)))


def _function_name(fn):
    """The name of one of Zen's functions (metric or loss), or None."""
    name = getattr(fn, "__name__", None)
    if FUNCTIONS.get(name) is fn or losses.FUNCTIONS.get(name) is fn:
        return name
    loss_fn = getattr(fn, "loss_fn", None)  # a zen.nn.losses function read as arrays
    return name if loss_fn is not None and losses.FUNCTIONS.get(name) is loss_fn else None


def _function_named(name):
    """The function `_function_name` named."""
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    return _loss_values(losses.FUNCTIONS.lookup(name))
