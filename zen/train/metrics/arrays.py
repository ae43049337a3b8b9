"""The arrays metrics take and give, as every module of zen.train.metrics
reads and returns them: inputs checked to be numbers (`_numbers`, `_array`
for a non-empty batch), a shape mismatch's message (`_mismatch`), targets
and predictions aligned as Keras aligns them (`_same_rank`), and results
divided safely (`_divide_no_nan`) and returned as Keras's scalar or array
(`_output`).
"""
import numpy as np

EPSILON = 1e-7  # Keras's backend epsilon (AUC's outer thresholds, F-scores)


def _array(value, name):
    """`value` (array, Tensor, list) as a non-empty ndarray of numbers."""
    array = _numbers(value, name)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"Received an invalid value for `{name}`, expected a non-empty "
                         f"batch. Received: {name}.shape={array.shape}")
    return array


def _numbers(value, name):
    """`value` (array, Tensor, list, number) as an ndarray of numbers."""
    array = np.asarray(getattr(value, "value", value))
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Received an invalid value for `{name}`, expected numbers. "
                        f"Received: {name} of dtype {array.dtype}")
    return array


def _mismatch(y_true, y_pred, expected):
    return ValueError(f"Metric shapes do not match: y_true.shape={y_true.shape}, "
                      f"y_pred.shape={y_pred.shape} ({expected})")


def _divide_no_nan(a, b):
    """a / b, and 0 where b is 0 (Keras's divide_no_nan)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim == b.ndim == 0:  # one number each: a metric's mean (no arrays to make)
        return np.float64(0.0) if b == 0 else a / b
    safe = np.where(b == 0, 1.0, b)
    return np.where(b == 0, 0.0, a / safe)


def _output(value):
    """A result as Keras's scalar (a float) or array."""
    value = np.asarray(value, np.float64)
    return float(value) if value.ndim == 0 else value


def _same_rank(x1, x2, expand_rank_1=True):
    """Keras's squeeze_or_expand_to_same_rank: when the ranks differ by one
    and the longer ends in an axis of 1, drop it (or give a 1-D partner an
    axis of 1 instead, with `expand_rank_1`)."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, x2[..., None]
        return x1[..., 0], x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return x1[..., None], x2
        return x1, x2[..., 0]
    return x1, x2
