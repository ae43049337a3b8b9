"""Metrics: functions `metric(y_true, y_pred) -> float`, the batch mean.

The argument order is Keras's (targets first), as the losses'. Metrics
work on plain arrays (a Tensor is read through its value) and never build
a graph. Each built-in metric also has a per-sample form (`values_of`),
which the Trainer sums over an epoch: the epoch's value is the mean over
its samples, or with sample weights (`weighted_metrics`) the weighted mean
sum(weight * value) / sum(weight), as Keras computes it.
"""
import numpy as np

from ..registry import Registry

__all__ = ["accuracy", "mae", "mse", "get", "name_of", "values_of"]


def _array(value, name):
    """`value` (array, Tensor, list) as an ndarray of numbers."""
    array = np.asarray(getattr(value, "value", value))
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Received an invalid value for `{name}`, expected numbers. "
                        f"Received: {name} of dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"Received an invalid value for `{name}`, expected a non-empty "
                         f"batch. Received: {name}.shape={array.shape}")
    return array


def _mismatch(y_true, y_pred, expected):
    return ValueError(f"Metric shapes do not match: y_true.shape={y_true.shape}, "
                      f"y_pred.shape={y_pred.shape} ({expected})")


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

    Example:
        mae(np.array([1.0, 2.0]), np.array([1.5, 1.0]))    # 0.75
    """
    return float(np.mean(mae_values(y_true, y_pred)))


def mae_values(y_true, y_pred) -> np.ndarray:
    """Each sample's mean absolute error (over the last axis)."""
    return _per_sample_error(np.abs, y_true, y_pred)


def mse(y_true, y_pred) -> float:
    """Mean squared error, mean((y_true - y_pred)**2) over every element.

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


# Keras's short and long spellings; a model logs a metric under the name it
# was compiled with ("acc" stays "acc").
METRICS = Registry("metric")  # Keras's short and long names -> metric functions
METRICS.add(accuracy, "accuracy", "acc")
METRICS.add(mae, "mae", "mean_absolute_error")
METRICS.add(mse, "mse", "mean_squared_error")


def get(identifier):
    """A metric function from its name ("accuracy"/"acc", "mae", "mse") or
    a callable `metric(y_true, y_pred) -> float`, returned as it is.

    Example:
        get("acc") is accuracy                              # True
    """
    if isinstance(identifier, str):
        return METRICS.lookup(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Received an invalid value for `metrics`, expected a metric name or "
                    f"a callable metric(y_true, y_pred). Received: {identifier!r}")


_VALUES = {accuracy: accuracy_values, mae: mae_values, mse: mse_values}


def values_of(metric):
    """The per-sample form of a metric function: the built-ins' own; a
    user's function as it is (it may return per-sample values, as Keras's
    do, or the batch mean)."""
    return _VALUES.get(metric, metric)


def name_of(identifier) -> str:
    """The log key of a metric: its name as given, or the function's name."""
    if isinstance(identifier, str):
        return identifier
    return getattr(identifier, "__name__", type(identifier).__name__)
