"""The reduction metrics (Keras's `reduction_metrics`): `Sum` and `Mean` of
the values given, and `MeanMetricWrapper(fn)`, the mean of a per-sample
function `fn(y_true, y_pred) -> values` over everything seen. Most of
Keras's metric classes are such a wrapper of a fixed function
(`_KerasWrapper`): the accuracies, the regression errors and the losses as
metrics.
"""
import numpy as np

from ...autodiff import no_grad
from ...validation import invalid
from .arrays import _divide_no_nan, _numbers, _same_rank
from .functions import _function_name, _function_named, _is_loss, _loss_values
from .metric import Metric


def _samplewise(values, sample_weight, reduce):
    """Keras's reduce_to_samplewise_values: (one value per sample, reduced by
    `reduce` over the other axes and multiplied by its weight; the weight of
    each sample, or None)."""
    values = _numbers(values, "values").astype(np.float64, copy=False)
    weights = None
    if sample_weight is not None:
        weights = _numbers(sample_weight, "sample_weight").astype(np.float64, copy=False)
        values, weights = _same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
            if weights.shape != values.shape:
                weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(f"`sample_weight` of shape {np.shape(sample_weight)} does not "
                             f"match the values of shape {values.shape}") from None
        values = values * weights
        if weights.ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, weights.ndim)))
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, weights


def _is_real(value) -> bool:
    """Whether `value` is one real number (not an array, not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class Sum(Metric):
    """The (weighted) sum of the values given (Keras's `Sum`).

    Args:
        name: the metric's name (default "sum").
        dtype: Keras's dtype (default None: "float32").

    Example:
        m = Sum(); m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]); m.result()  # 4.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        """Add `values` (times `sample_weight`) to the total.

        Args:
            values: numbers (any shape).
            sample_weight: weights broadcast against them, or None.
        """
        values, _ = _samplewise(values, sample_weight, np.sum)
        self.total += values.sum()

    def result(self) -> float:
        return float(self.total)


class Mean(Metric):
    """The (weighted) mean of the values given, sum(weight * value) /
    sum(weight) (Keras's `Mean`); values of more than one axis are first
    averaged per sample.

    Args:
        name: the metric's name (default "mean").
        dtype: Keras's dtype (default None: "float32").

    Example:
        m = Mean(); m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]); m.result()  # 2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        """Add `values` (one per sample, or a number) with their weights.

        Args:
            values: numbers (a number counts once, a batch once per sample).
            sample_weight: the weight of each sample (or value), or None.
        """
        # Two short paths for what fit gives every batch (in place, no new arrays):
        if _is_real(values) and (sample_weight is None or _is_real(sample_weight)):
            weight = 1.0 if sample_weight is None else float(sample_weight)  # one number:
            np.add(self.total, float(values) * weight, out=self.total)  # a loss tracker's
            np.add(self.count, weight, out=self.count)
            return
        if sample_weight is None and getattr(values, "dtype", None) == bool and values.ndim == 1:
            np.add(self.total, np.count_nonzero(values), out=self.total)  # hits (accuracy)
            np.add(self.count, len(values), out=self.count)
            return
        values, weights = _samplewise(values, sample_weight, np.mean)
        self.total += values.sum()
        self.count += weights.sum() if weights is not None else \
            (values.shape[0] if values.ndim else 1)

    def result(self) -> float:
        return float(_divide_no_nan(self.total, self.count))


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function over everything seen (Keras's
    `MeanMetricWrapper`): `fn(y_true, y_pred, **kwargs)` gives one value per
    sample (or per timestep); a function that returns the batch's mean
    counts it once for each sample of the batch.

    Args:
        fn: the function, e.g. `zen.nn.losses.poisson` or your own (it gets
            the arrays as given; a Tensor it returns is read, no graph kept).
        name: the metric's name (default None: "mean_metric_wrapper", made unique).
        dtype: Keras's dtype (default None: "float32").
        **kwargs: more keyword arguments for `fn`.

    Example:
        m = MeanMetricWrapper(lambda t, p: np.abs(t - p), name="abs_error")
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise invalid("fn", "a function fn(y_true, y_pred)", fn)
        super().__init__(name=name, dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs
        if _is_loss(fn):  # a loss is better lower (Keras's direction, for monitors)
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's values of `fn`, weighted by `sample_weight`.

        Args:
            y_true: the targets.
            y_pred: the predictions.
            sample_weight: a weight per sample (or per value), or None.
        """
        with no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        values = _numbers(values, f"the values of {self.name!r}")
        if values.ndim == 0:  # a batch mean: counted once for each sample (Zen's rule)
            values = np.full(len(_numbers(y_pred, "y_pred")), values, np.float64)
        super().update_state(values, sample_weight)

    def get_config(self) -> dict:
        """name, dtype, `fn` (one of Zen's functions by name, else the
        function itself, which no file can hold) and the keyword arguments."""
        fn_name = _function_name(self._fn)
        return {**super().get_config(), "fn": fn_name or self._fn, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> "MeanMetricWrapper":
        """A new wrapper from `get_config()`'s dict (`fn` by name or as a function).

        Args:
            config: what `get_config` returned.
        """
        config = dict(config)
        if isinstance(config.get("fn"), str):
            config["fn"] = _function_named(config["fn"])
        return cls(**config)


class _KerasWrapper(MeanMetricWrapper):
    """A MeanMetricWrapper of a fixed function whose config is its own
    arguments (`_config` names them), as Keras's wrapper classes."""

    _config = ()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype,
                **{key: getattr(self, key) for key in self._config}}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class _LossMetric(_KerasWrapper):
    """The mean of a zen.nn.losses per-sample function over everything seen,
    better when lower: a subclass sets `loss` (the function) and
    `default_name` (Keras's name of the metric)."""

    _direction = "down"  # better when lower (Keras's, for monitors)
    loss = default_name = None

    def __init__(self, name=None, dtype=None):
        super().__init__(_loss_values(type(self).loss), name=name or self.default_name,
                         dtype=dtype)
