"""Metrics: Keras's stateful `Metric` classes, and the metric functions.

A metric is a small state machine (Keras's `keras.metrics.Metric`):
`update_state(y_true, y_pred, sample_weight=None)` adds a batch to its
state, `result()` reads the value of everything seen since the last
`reset_state()`. An epoch's precision, AUC or mean is then computed on all
its samples at once, never as a mean of per-batch values, and processes
that trained on different shards add their states to get the job's
(`zen.train.strategy`: `reduce_metrics`). The state is numpy arrays made by
`add_variable`, counts and sums in float64; metrics never build a graph.

- reduction: `Mean`, `Sum`, `MeanMetricWrapper(fn)` (the mean of a
  per-sample function: Keras's `fn(y_true, y_pred) -> values`);
- accuracy: `Accuracy`, `BinaryAccuracy`, `CategoricalAccuracy`,
  `SparseCategoricalAccuracy`, `TopKCategoricalAccuracy`,
  `SparseTopKCategoricalAccuracy`;
- confusion matrix: `TruePositives`, `FalsePositives`, `TrueNegatives`,
  `FalseNegatives`, `Precision`, `Recall`, `AUC`, `FBetaScore`, `F1Score`;
- regression: `MeanSquaredError`, `MeanAbsoluteError`,
  `MeanAbsolutePercentageError`, `MeanSquaredLogarithmicError`,
  `RootMeanSquaredError`, `CosineSimilarity`, `LogCoshError`, `R2Score`;
- losses as metrics: `BinaryCrossentropy`, `CategoricalCrossentropy`,
  `SparseCategoricalCrossentropy`, `KLDivergence`, `Poisson`, `Hinge`,
  `SquaredHinge`, `CategoricalHinge` (zen.nn.losses' per-sample functions).

Every class has Keras's name, arguments, defaults and string names
(`get("auc")`, `get("AUC")`). The functions `accuracy`, `mae` and `mse`
(`metric(y_true, y_pred) -> float`, the batch mean) are Zen's own: the
string "accuracy" ("acc") reads the target format from the shapes, as Zen
always did, and "mae"/"mse" name them.

Example:
    auc = AUC()
    auc.update_state([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.3])
    auc.update_state([1, 0], [0.9, 0.6])
    auc.result()                          # the AUC of the six samples
    model.compile("adam", "binary_crossentropy", metrics=[AUC(), Precision(), "accuracy"])
"""
import json
import warnings

import numpy as np

from ..autodiff import no_grad
from ..nn import initializers, losses
from ..nn.layer import check_name, snake_case, unique_name
from ..registry import Registry
from ..validation import check_bool, check_float, check_int, check_one_of, invalid, is_number

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
    "Recall", "AUC", "FBetaScore", "F1Score",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "CosineSimilarity",
    "LogCoshError", "R2Score",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "accuracy", "mae", "mse", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "get", "serialize", "deserialize", "name_of", "values_of"]

EPSILON = 1e-7  # Keras's backend epsilon (AUC's outer thresholds, F-scores)
NEG_INF = -1e10  # Keras's stand-in for minus infinity (scores outside the top k)
AGGREGATIONS = ("sum", "mean", "only_first_replica", "none")
"""How a variable joins the job's state (Keras's `aggregation`): summed over
the processes, averaged, rank 0's alone, or left per process."""


# ----- Zen's metric functions: the batch mean as a float -------------------------------------
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


# ----- the stateful metric ---------------------------------------------------------------------
class Metric:
    """Base class of the stateful metrics (Keras's `keras.metrics.Metric`).

    A subclass creates its state in `__init__` with `add_variable`, adds a
    batch to it in `update_state(y_true, y_pred, sample_weight=None)` (in
    place, `self.total += ...`, or by assigning the attribute again, which
    writes into the same array) and reads it in `result()`. Metrics assigned
    as attributes are part of the state too.

    Args:
        dtype: Keras's dtype of the metric (default None: "float32"), kept in
            its config; Zen keeps the state in float64 and returns float64.
        name: the metric's name, its History key (default: the snake_case
            of the class, made unique as Keras makes it: "metric", "metric_1").

    Example:
        class BinaryTruePositives(Metric):
            def __init__(self, name="binary_true_positives", **kwargs):
                super().__init__(name=name, **kwargs)
                self.true_positives = self.add_variable((), name="true_positives")

            def update_state(self, y_true, y_pred, sample_weight=None):
                hits = (np.ravel(y_true) == 1) & (np.ravel(y_pred) > 0.5)
                weights = 1.0 if sample_weight is None else np.ravel(sample_weight)
                self.true_positives += np.sum(hits * weights)

            def result(self):
                return float(self.true_positives)
    """

    _direction = None  # "up" or "down": whether higher values are better (Keras's)

    def __init__(self, dtype=None, name=None):
        state = self.__dict__  # set directly: __setattr__ reads them
        state["_variables"], state["_aggregations"] = [], []
        state["_slots"], state["_metrics"] = {}, []
        self.name = unique_name(snake_case(type(self).__name__)) if name is None \
            else check_name(name, type(self).__name__)
        self.dtype = _dtype_name(dtype)

    # ----- the state ----------------------------------------------------------------------
    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum",
                     name=None) -> np.ndarray:
        """A new state array of the metric (zeroed by `reset_state`).

        Args:
            shape: its shape (`()` for a number).
            initializer: its first value: an initializer's name, instance or
                function `(shape, dtype) -> array` (default "zeros").
            dtype: its dtype (default None: float64, so that sums and counts
                stay exact over an epoch).
            aggregation: how processes that share a job combine it (one of
                `AGGREGATIONS`, default "sum").
            name: its name (for messages).

        Example:
            self.total = self.add_variable((), name="total")
        """
        self._check_super_called()
        shape = _shape(shape)
        dtype = np.dtype(np.float64 if dtype is None else dtype)
        if dtype.kind not in "fiu":
            raise invalid("dtype", "a numeric dtype", dtype.name, owner=f"metric {self.name!r}")
        aggregation = check_one_of(aggregation, "aggregation", AGGREGATIONS)
        value = np.array(initializers.get(initializer)(shape, dtype), dtype=dtype)
        if value.shape != shape:
            raise ValueError(f"The initializer of variable {name!r} of metric {self.name!r} "
                             f"gave shape {value.shape}, expected {shape}")
        self._variables.append(value)
        self._aggregations.append(aggregation)
        return value

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None) -> np.ndarray:
        """Keras's other name for `add_variable` (initializer None: zeros).

        Args:
            shape: its shape (default `()`).
            initializer: its first value (default None: zeros).
            dtype: its dtype (default None: float64).
            name: its name.
        """
        return self.add_variable(shape, initializer or "zeros", dtype, name=name)

    @property
    def variables(self) -> list:
        """The state arrays: this metric's, then those of the metrics it holds."""
        self._check_super_called()
        found = list(self._variables)
        for metric in self._metrics:
            found += metric.variables
        return found

    @property
    def aggregations(self) -> list:
        """How each of `variables` joins a job's state (see `AGGREGATIONS`)."""
        found = list(self._aggregations)
        for metric in self._metrics:
            found += metric.aggregations
        return found

    def __setattr__(self, name, value):
        state = self.__dict__
        slots = state.get("_slots")
        if slots is None:  # before Metric.__init__
            object.__setattr__(self, name, value)
        elif name in slots:  # a variable assigned again: its new value, in the same array
            _assign(state["_variables"][slots[name]], value, name, self)
        else:
            index = next((i for i, v in enumerate(state["_variables"]) if v is value), None)
            if index is not None:
                slots[name] = index
            elif isinstance(value, Metric) and all(value is not m for m in state["_metrics"]):
                state["_metrics"].append(value)
            object.__setattr__(self, name, value)

    def _check_super_called(self):
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"You forgot to call `super().__init__()` in the `__init__()` "
                               f"method of {type(self).__name__}. Go add it!")

    # ----- what a subclass defines --------------------------------------------------------
    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch to the state (a subclass defines it).

        Args:
            y_true: the batch's targets.
            y_pred: the batch's predictions.
            sample_weight: a weight per sample (or per value), or None.
        """
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self):
        """The metric's value for everything seen since the last reset: a
        float, or an array for metrics with one value per class or threshold."""
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def reset_state(self) -> None:
        """Forget everything seen: every variable back to zero (the Trainer
        calls it at the start of each epoch and of each evaluation)."""
        for variable in self.variables:
            variable[...] = 0

    def __call__(self, *args, **kwargs):
        """`update_state(*args, **kwargs)`, then `result()` (as Keras)."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    # ----- configs ------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments (JSON): the name and dtype here."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        """A new metric from `get_config()`'s dict.

        Args:
            config: what `get_config` returned.
        """
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except Exception:  # a user's get_config that cannot run here must not hide the object
            args = f"name={self.name!r}"
        return f"{type(self).__name__}({args})"


def _assign(target, value, name, metric):
    """`value` written into the variable `target` (broadcast to its shape)."""
    value = np.asarray(getattr(value, "value", value))
    if value is target:
        return
    try:
        np.copyto(target, value, casting="unsafe")
    except ValueError:
        raise ValueError(f"Cannot assign a value of shape {value.shape} to the variable "
                         f"{name!r} of shape {target.shape} of metric {metric.name!r}") from None


def _shape(shape) -> tuple:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
        raise invalid("shape", "a tuple of non-negative integers", shape)
    return tuple(int(d) for d in shape)


def _dtype_name(dtype) -> str:
    if dtype is None:
        return "float32"
    try:
        found = np.dtype(dtype)
    except TypeError:
        found = None
    if found is None or found.kind != "f":
        raise invalid("dtype", "a float dtype such as 'float32'", dtype)
    return found.name


def _divide_no_nan(a, b):
    """a / b, and 0 where b is 0 (Keras's divide_no_nan)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
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


# ----- reduction metrics -------------------------------------------------------------------
def _samplewise(values, sample_weight, reduce):
    """Keras's reduce_to_samplewise_values: (one value per sample, reduced by
    `reduce` over the other axes and multiplied by its weight; the weight of
    each sample, or None)."""
    values = _numbers(values, "values").astype(np.float64)
    weights = None
    if sample_weight is not None:
        weights = _numbers(sample_weight, "sample_weight").astype(np.float64)
        values, weights = _same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
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


# ----- accuracy ----------------------------------------------------------------------------
def _equal_values(y_true, y_pred):
    """Keras's `accuracy`: whether each prediction equals its target."""
    y_true, y_pred = _same_rank(_numbers(y_true, "y_true"), _numbers(y_pred, "y_pred"))
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5) -> np.ndarray:
    """Keras's per-sample binary accuracy: whether (y_pred > threshold)
    equals y_true, averaged over the last axis by the metric.

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities, of the targets' shape (or with an axis of 1 more or less).
        threshold: above it a prediction is 1 (default 0.5).
    """
    y_true, y_pred = _same_rank(_numbers(y_true, "y_true"), _numbers(y_pred, "y_pred"))
    return (y_true == (y_pred > threshold)).astype(np.float64)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Keras's per-sample categorical accuracy: argmax(y_true) == argmax(y_pred).

    Args:
        y_true: one-hot targets (..., classes).
        y_pred: scores of the same shape.
    """
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Keras's per-sample sparse categorical accuracy: argmax(y_pred) == y_true.

    Args:
        y_true: integer labels (...,) or (..., 1).
        y_pred: scores (..., classes).
    """
    labels, y_pred = _labels_for(y_true, y_pred)
    return (y_pred.argmax(axis=-1) == labels).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5) -> np.ndarray:
    """Keras's per-sample top-k accuracy: whether the target class
    (argmax(y_true)) scores at least the k-th largest score (ties count in).

    Args:
        y_true: one-hot targets (..., classes).
        y_pred: scores of the same shape.
        k: how many of the best scores count (default 5).
    """
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    return _in_top_k(y_true.argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False) -> np.ndarray:
    """Keras's per-sample sparse top-k accuracy: whether the label's score is
    at least the k-th largest score (ties count in).

    Args:
        y_true: integer labels (...,) or (..., 1).
        y_pred: scores (..., classes); with `from_sorted_ids`, class ids,
            best first (..., at least k).
        k: how many of the best scores count (default 5).
        from_sorted_ids: whether y_pred holds sorted class ids (default False).
    """
    labels, y_pred = _labels_for(y_true, y_pred)
    if from_sorted_ids:
        return (y_pred[..., :k] == labels[..., None]).any(axis=-1).astype(np.float64)
    return _in_top_k(labels, y_pred, k)


def _labels_for(y_true, y_pred):
    """Integer labels of shape y_pred.shape[:-1] (a trailing axis of 1 dropped)."""
    labels, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise _mismatch(labels, y_pred, "expected integer labels of shape y_pred.shape[:-1]")
    return labels, y_pred


def _in_top_k(targets, predictions, k):
    """Whether predictions[..., target] >= the k-th largest of predictions[...]."""
    k = check_int(k, "k", 1)
    classes = predictions.shape[-1]
    flat = predictions.reshape(-1, classes)
    targets = targets.reshape(-1)
    bad = (targets < 0) | (targets >= classes) | (targets != np.round(targets))
    if bad.any():
        raise ValueError(f"Received the label {targets[bad][0].item()!r}, which is not a class "
                         f"index in [0, {classes})")
    kth = np.partition(flat, classes - min(k, classes), axis=-1)[:, classes - min(k, classes)]
    target_scores = np.take_along_axis(flat, targets.astype(np.intp)[:, None], axis=-1)[:, 0]
    return (target_scores >= kth).astype(np.float64).reshape(predictions.shape[:-1])


class Accuracy(_KerasWrapper):
    """How often predictions equal the targets exactly (Keras's `Accuracy`;
    for class scores use the string "accuracy" or the classes below).

    Args:
        name: the metric's name (default "accuracy").
        dtype: Keras's dtype (default None: "float32").

    Example:
        Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])   # 0.75
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(_equal_values, name=name, dtype=dtype)


class BinaryAccuracy(_KerasWrapper):
    """How often (y_pred > threshold) equals the 0/1 target (Keras's `BinaryAccuracy`).

    Args:
        name: the metric's name (default "binary_accuracy").
        dtype: Keras's dtype (default None: "float32").
        threshold: above it a prediction is 1 (default 0.5).

    Example:
        BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])   # 0.75
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    _config = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = check_float(threshold, "threshold")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=self.threshold)


class CategoricalAccuracy(_KerasWrapper):
    """How often argmax(y_pred) is argmax(y_true), for one-hot targets
    (Keras's `CategoricalAccuracy`).

    Args:
        name: the metric's name (default "categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_KerasWrapper):
    """How often argmax(y_pred) is the integer label (Keras's `SparseCategoricalAccuracy`).

    Args:
        name: the metric's name (default "sparse_categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_KerasWrapper):
    """How often the target class is among the k best scores, for one-hot
    targets (Keras's `TopKCategoricalAccuracy`).

    Args:
        k: how many of the best scores count (default 5).
        name: the metric's name (default "top_k_categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    _config = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = check_int(k, "k", 1)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=self.k)


class SparseTopKCategoricalAccuracy(_KerasWrapper):
    """How often the integer label is among the k best scores (Keras's
    `SparseTopKCategoricalAccuracy`).

    Args:
        k: how many of the best scores count (default 5).
        name: the metric's name (default "sparse_top_k_categorical_accuracy").
        dtype: Keras's dtype (default None: "float32").
        from_sorted_ids: whether y_pred holds class ids, best first (default False).
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    _config = ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        self.k = check_int(k, "k", 1)
        self.from_sorted_ids = check_bool(from_sorted_ids, "from_sorted_ids")
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=self.k,
                         from_sorted_ids=self.from_sorted_ids)

    def get_config(self) -> dict:
        config = super().get_config()
        return {**config, "from_sorted_ids": True} if self.from_sorted_ids else config


# ----- the confusion matrix at thresholds ------------------------------------------------------
def _thresholds(thresholds, default):
    """Keras's parse_init_thresholds: a list of thresholds in [0, 1] (the
    default alone for None)."""
    if thresholds is None:
        return [default]
    listed = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) \
        else [thresholds]
    if not listed or not all(is_number(t, finite=True) and 0 <= t <= 1 for t in listed):
        raise invalid("thresholds", "a number in [0, 1] or a non-empty list of them",
                      thresholds)
    return [float(t) for t in listed]


def _evenly_spaced(thresholds) -> bool:
    """Whether the thresholds are i / (n - 1), i = 0 .. n-1, for n >= 3
    (Keras then counts by buckets, in one pass over the predictions)."""
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n) / (n - 1), atol=EPSILON)


def _confusion(y_true, y_pred, thresholds, evenly, sample_weight=None, top_k=None,
               class_id=None, multi_label=False, label_weights=None):
    """Keras's update_confusion_matrix_variables for one batch: (true
    positives, false positives, positives, negatives), the weighted counts of
    predictions above each threshold (arrays (T,), or (T, labels) with
    `multi_label`) and the weighted totals. A target that is not 0 is a
    positive; without `multi_label` every value of the batch counts alike."""
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred").astype(np.float64)
    y_pred, y_true = _same_rank(y_pred, y_true)
    if sample_weight is not None:
        weights = _numbers(sample_weight, "sample_weight").astype(np.float64)[..., None]
        _, weights = _same_rank(y_true, weights, expand_rank_1=False)
    else:
        weights = np.ones(())
    if top_k is not None:
        y_pred = _top_k_only(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or not class_id < y_pred.shape[-1]:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes) holding class {class_id}, found "
                             f"shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    try:
        positive = np.broadcast_to(y_true != 0, y_pred.shape)
        weights = np.broadcast_to(weights, y_pred.shape)
    except ValueError:
        raise ValueError(f"Metric shapes do not match: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}, sample_weight.shape="
                         f"{np.shape(sample_weight)}") from None
    if label_weights is not None and not multi_label:
        weights = weights * label_weights
    if not multi_label:
        positive, y_pred, weights = positive.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    elif y_pred.ndim != 2:
        raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                         f"{y_pred.ndim}. Full shape received for `y_pred`: {y_pred.shape}")
    true_weights, false_weights = np.where(positive, weights, 0.0), np.where(positive, 0.0, weights)
    counts = _bucket_counts if evenly else _threshold_counts
    tp = counts(true_weights, y_pred, thresholds)
    fp = counts(false_weights, y_pred, thresholds)
    return tp, fp, true_weights.sum(axis=0), false_weights.sum(axis=0)


def _threshold_counts(weights, y_pred, thresholds):
    """The sum of `weights` over the predictions above each threshold:
    (T, ...) from (N, ...) by comparing every prediction with every threshold."""
    limits = np.asarray(thresholds, np.float64).reshape((-1,) + (1,) * y_pred.ndim)
    return np.where(y_pred[None] > limits, weights[None], 0.0).sum(axis=1)


def _bucket_counts(weights, y_pred, thresholds):
    """As `_threshold_counts` for evenly spaced thresholds, in one pass: each
    prediction falls in the bucket of the last threshold below it (Keras's
    ceil(p * (T - 1)) - 1, the first bucket for 0 when the thresholds start
    below 0), and the counts above each threshold are the buckets' sums from
    the top."""
    n = len(thresholds)
    buckets = np.ceil(np.clip(y_pred, 0.0, 1.0) * (n - 1)).astype(np.int64) - 1
    if thresholds[0] < 0 or thresholds[-1] > 1:
        buckets = np.maximum(buckets, 0)
    labels = y_pred.shape[1] if y_pred.ndim == 2 else 1
    index = buckets * labels + (np.arange(labels) if y_pred.ndim == 2 else 0)
    kept = buckets >= 0  # a 0 is above no threshold of [0, ..., 1]
    sums = np.bincount(index[kept], weights=weights[kept], minlength=n * labels)
    sums = sums.reshape(n, labels) if y_pred.ndim == 2 else sums
    return np.cumsum(sums[::-1], axis=0)[::-1]


def _top_k_only(scores, k):
    """Keras's _filter_top_k: the k best scores of each row kept, the others
    set to NEG_INF (below any threshold)."""
    k = check_int(k, "top_k", 1)
    best = np.argsort(-scores, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(scores.shape, bool)
    np.put_along_axis(keep, best, True, axis=-1)
    return np.where(keep, scores, NEG_INF)


class _ConfusionCount(Metric):
    """The weighted count of one cell of the confusion matrix at each threshold."""

    _cell = "tp"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, 0.5)
        self._evenly = _evenly_spaced(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts (a prediction above a threshold is positive,
        a target that is not 0 is a positive).

        Args:
            y_true: the targets.
            y_pred: the predicted probabilities.
            sample_weight: a weight per sample, or None.
        """
        tp, fp, positives, negatives = _confusion(y_true, y_pred, self.thresholds, self._evenly,
                                                  sample_weight)
        cell = {"tp": tp, "fp": fp, "tn": negatives - fp, "fn": positives - tp}[self._cell]
        self.accumulator += cell

    def result(self):
        return _output(self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted number of true positives (Keras's `TruePositives`): one
    number, or one per threshold when given a list.

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "true_positives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """


class FalsePositives(_ConfusionCount):
    """The weighted number of false positives (Keras's `FalsePositives`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "false_positives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """

    _cell = "fp"


class TrueNegatives(_ConfusionCount):
    """The weighted number of true negatives (Keras's `TrueNegatives`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "true_negatives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """

    _cell = "tn"


class FalseNegatives(_ConfusionCount):
    """The weighted number of false negatives (Keras's `FalseNegatives`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5),
            or a list of them in [0, 1].
        name: the metric's name (default "false_negatives", made unique).
        dtype: Keras's dtype (default None: "float32").
    """

    _cell = "fn"


class _PrecisionRecall(Metric):
    """Precision and Recall: true positives over predicted (or actual) positives."""

    _direction = "up"  # better when higher (Keras's, for monitors)

    _other = "false_positives"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = None if top_k is None else check_int(top_k, "top_k", 1)
        self.class_id = None if class_id is None else check_int(class_id, "class_id", 0)
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = _evenly_spaced(self.thresholds)
        self.true_positives = self.add_variable((len(self.thresholds),), name="true_positives")
        setattr(self, self._other, self.add_variable((len(self.thresholds),), name=self._other))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's true positives and false positives (Precision) or
        false negatives (Recall).

        Args:
            y_true: the targets (not 0: positive).
            y_pred: the predicted probabilities.
            sample_weight: a weight per sample, or None.
        """
        tp, fp, positives, _ = _confusion(y_true, y_pred, self.thresholds, self._evenly,
                                          sample_weight, self.top_k, self.class_id)
        self.true_positives += tp
        other = getattr(self, self._other)
        other += fp if self._other == "false_positives" else positives - tp

    def result(self):
        value = _divide_no_nan(self.true_positives,
                               self.true_positives + getattr(self, self._other))
        return _output(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Precision, TP / (TP + FP), over everything seen (Keras's `Precision`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5,
            or with `top_k` any of the top k), or a list of them in [0, 1]
            (then the result has one value per threshold).
        top_k: count only the k best scores of each sample as positive
            (default None: all).
        class_id: the class (column of y_pred) to measure (default None: every value).
        name: the metric's name (default "precision", made unique).
        dtype: Keras's dtype (default None: "float32").

    Example:
        Precision()([0, 1, 1, 1], [1, 0, 1, 1])   # 2/3
    """


class Recall(_PrecisionRecall):
    """Recall, TP / (TP + FN), over everything seen (Keras's `Recall`).

    Args:
        thresholds: a prediction above it is positive (default None: 0.5,
            or with `top_k` any of the top k), or a list of them in [0, 1].
        top_k: count only the k best scores of each sample as positive
            (default None: all).
        class_id: the class (column of y_pred) to measure (default None: every value).
        name: the metric's name (default "recall", made unique).
        dtype: Keras's dtype (default None: "float32").

    Example:
        Recall()([0, 1, 1, 1], [1, 0, 1, 1])   # 2/3
    """

    _other = "false_negatives"


_CURVES = {"ROC": "ROC", "roc": "ROC", "PR": "PR", "pr": "PR", "PRGAIN": "PRGAIN",
           "prgain": "PRGAIN"}
_SUMMATIONS = {"interpolation": "interpolation", "Interpolation": "interpolation",
               "majoring": "majoring", "Majoring": "majoring", "minoring": "minoring",
               "Minoring": "minoring"}


class AUC(Metric):
    """The area under the ROC or precision-recall curve, over everything seen
    (Keras's `AUC`): the confusion matrix is counted at `num_thresholds`
    thresholds and the curve through those points summed as Keras does (a
    trapezoid per step; for PR, Davis & Goadrich's interpolation of
    precision between the points).

    Args:
        num_thresholds: the number of thresholds, evenly spaced over [0, 1]
            (default 200); more is closer to the exact area.
        curve: "ROC" (default), "PR" or "PRGAIN".
        summation_method: "interpolation" (default), "majoring" or "minoring".
        name: the metric's name (default "auc", made unique: "auc_1", ...).
        dtype: Keras's dtype (default None: "float32").
        thresholds: thresholds in [0, 1] to use instead (then
            num_thresholds is their number + 2: 0 and 1 are added, just
            outside, as Keras does).
        multi_label: whether each column of y_pred is a label with its own
            curve, the result their mean (default False: every value alike).
        num_labels: the number of labels with multi_label (default None:
            from the first batch).
        label_weights: a weight per label (default None: equal): of each
            value of a label, or with multi_label of each label's area.
        from_logits: whether y_pred holds logits (default False: probabilities).

    Example:
        auc = AUC(num_thresholds=3)
        auc([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])   # 0.75
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly_spaced([0.0] + inner + [1.0])
        else:
            self.num_thresholds = check_int(num_thresholds, "num_thresholds", 2)
            inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve = _CURVES.get(curve) if isinstance(curve, str) else None
        if self.curve is None:
            raise invalid("curve", "one of 'ROC', 'PR', 'PRGAIN'", curve)
        self.summation_method = _SUMMATIONS.get(summation_method) \
            if isinstance(summation_method, str) else None
        if self.summation_method is None:
            raise invalid("summation_method", "one of 'interpolation', 'majoring', 'minoring'",
                          summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = check_bool(multi_label, "multi_label")
        self.num_labels = None if num_labels is None else check_int(num_labels, "num_labels", 1)
        self.label_weights = _label_weights(label_weights)
        self._from_logits = check_bool(from_logits, "from_logits")
        self._built = False
        if self.multi_label and self.num_labels:
            self._build(self.num_labels)
        elif not self.multi_label:
            if self.num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list:
        """The thresholds, from just below 0 to just above 1."""
        return list(self._thresholds)

    def _build(self, labels):
        shape = (self.num_thresholds,) if labels is None else (self.num_thresholds, labels)
        for cell in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, cell, self.add_variable(shape, name=cell))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's confusion matrices at every threshold.

        Args:
            y_true: the targets (not 0: positive), of y_pred's shape.
            y_pred: probabilities in [0, 1] (logits with from_logits).
            sample_weight: a weight per sample, or None.
        """
        y_pred = _numbers(y_pred, "y_pred").astype(np.float64)
        if not self._built:
            if y_pred.ndim != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {y_pred.ndim}. Full shape received for `y_pred`: "
                                 f"{y_pred.shape}")
            self._build(y_pred.shape[1])
        if self._from_logits:
            y_pred = 0.5 * (1.0 + np.tanh(0.5 * y_pred))  # the sigmoid, without overflow
        tp, fp, positives, negatives = _confusion(
            y_true, y_pred, self._thresholds, self._evenly, sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += negatives - fp
        self.false_negatives += positives - tp

    def result(self) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._by_label(self._interpolated_pr_terms())
        x, y = self._curve_points()
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def _curve_points(self):
        """(x, y) of the curve at each threshold, from the lowest threshold up."""
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            return _divide_no_nan(fp, fp + tn), recall
        if self.curve == "PR":
            return recall, _divide_no_nan(tp, tp + fp)
        scale = _divide_no_nan(tp + fn, tn + fp)  # PR gain (Flach & Kull)
        recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * _divide_no_nan(fn, tp))
        precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * _divide_no_nan(fp, tp))
        return np.maximum(recall_gain, 0.0), precision_gain

    def _interpolated_pr_terms(self):
        """Keras's interpolate_pr_auc: between two thresholds precision is
        interpolated as TP / P with TP linear in P (Davis & Goadrich 2006),
        and each step's area integrates it exactly."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        return _divide_no_nan(slope * (dtp + intercept * log_ratio),
                              np.maximum(tp[1:] + fn[1:], 0))

    def _by_label(self, terms) -> float:
        """The area: the terms summed (per label with multi_label, then the
        labels' mean, weighted by label_weights)."""
        if not self.multi_label:
            return float(terms.sum())
        areas = terms.sum(axis=0)
        if self.label_weights is None:
            return float(areas.mean())
        return float(_divide_no_nan((areas * self.label_weights).sum(),
                                    self.label_weights.sum()))

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config


def _label_weights(weights):
    if weights is None:
        return None
    array = np.asarray(weights, dtype=object)
    if array.ndim != 1 or not all(is_number(w, finite=True) and w >= 0 for w in array):
        raise invalid("label_weights", "a list of non-negative numbers, one per label", weights)
    return array.astype(np.float64)


# ----- F-scores ------------------------------------------------------------------------------
class FBetaScore(Metric):
    """The F-beta score, (1 + beta^2) * precision * recall / (beta^2 *
    precision + recall), per class over everything seen (Keras's `FBetaScore`).

    Args:
        average: None (default: one score per class), "micro" (the counts of
            every class pooled), "macro" (the mean of the classes' scores) or
            "weighted" (their mean weighted by each class's positives).
        beta: the weight of recall, > 0 (default 1.0).
        threshold: above it a prediction is positive (default None: the
            highest score of each sample, when not 0).
        name: the metric's name (default "fbeta_score").
        dtype: Keras's dtype (default None: "float32").

    Shapes: y_true and y_pred (batch, classes), one-hot or multi-label.
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.average = check_one_of(average, "average", (None, "micro", "macro", "weighted"))
        self.beta = check_float(beta, "beta", 0, low_open=True)
        self.threshold = None if threshold is None else \
            check_float(threshold, "threshold", 0, 1, low_open=True)
        self.axis = None if self.average == "micro" else 0
        self._built = False

    def _build(self, classes):
        shape = () if self.average == "micro" else (classes,)
        for cell in ("true_positives", "false_positives", "false_negatives",
                     "intermediate_weights"):
            setattr(self, cell, self.add_variable(shape, name=cell))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's counts per class.

        Args:
            y_true: 0/1 targets (batch, classes).
            y_pred: scores (batch, classes).
            sample_weight: a weight per sample, or None.
        """
        y_true = _numbers(y_true, "y_true").astype(np.float64)
        y_pred = _numbers(y_pred, "y_pred").astype(np.float64)
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape "
                             f"(batch_size, output_dim). Received input shapes: "
                             f"y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}.")
        if not self._built:
            self._build(y_pred.shape[-1])
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = 1.0 if sample_weight is None else \
            _numbers(sample_weight, "sample_weight").astype(np.float64).reshape(-1, 1)
        self.true_positives += np.sum(predicted * y_true * weights, axis=self.axis)
        self.false_positives += np.sum(predicted * (1 - y_true) * weights, axis=self.axis)
        self.false_negatives += np.sum((1 - predicted) * y_true * weights, axis=self.axis)
        self.intermediate_weights += np.sum(y_true * weights, axis=self.axis)

    def result(self):
        precision = self.true_positives / (self.true_positives + self.false_positives + EPSILON)
        recall = self.true_positives / (self.true_positives + self.false_negatives + EPSILON)
        beta2 = self.beta ** 2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            shares = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return float((score * shares).sum())
        if self.average is not None:
            return float(np.mean(score))
        return _output(score)

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score, 2 * precision * recall / (precision + recall), per class
    over everything seen (Keras's `F1Score`: FBetaScore with beta 1).

    Args:
        average: None (default: one score per class), "micro", "macro" or
            "weighted" (see FBetaScore).
        threshold: above it a prediction is positive (default None: the
            highest score of each sample).
        name: the metric's name (default "f1_score").
        dtype: Keras's dtype (default None: "float32").

    Example:
        F1Score(average="micro", threshold=0.5)([[1, 0], [0, 1]], [[0.8, 0.3], [0.6, 0.4]])
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


# ----- regression ------------------------------------------------------------------------------
def _loss_values(loss_fn):
    """A per-sample function of zen.nn.losses, read as an array (no graph)."""
    def values(y_true, y_pred, **kwargs):
        with no_grad():
            return loss_fn(y_true, _numbers(y_pred, "y_pred"), **kwargs).value
    values.__name__, values.loss_fn = loss_fn.__name__, loss_fn
    return values


class MeanSquaredError(_KerasWrapper):
    """The mean of (y_true - y_pred)^2 over everything seen (Keras's `MeanSquaredError`).

    Args:
        name: the metric's name (default "mean_squared_error").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(_loss_values(losses.mean_squared_error), name=name, dtype=dtype)


class MeanAbsoluteError(_KerasWrapper):
    """The mean of |y_true - y_pred| over everything seen (Keras's `MeanAbsoluteError`).

    Args:
        name: the metric's name (default "mean_absolute_error").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(_loss_values(losses.mean_absolute_error), name=name, dtype=dtype)


class MeanAbsolutePercentageError(_KerasWrapper):
    """The mean of 100 |y_true - y_pred| / |y_true| (Keras's `MeanAbsolutePercentageError`).

    Args:
        name: the metric's name (default "mean_absolute_percentage_error").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(_loss_values(losses.mean_absolute_percentage_error), name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(_KerasWrapper):
    """The mean of (log(1 + y_true) - log(1 + y_pred))^2 (Keras's
    `MeanSquaredLogarithmicError`).

    Args:
        name: the metric's name (default "mean_squared_logarithmic_error").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(_loss_values(losses.mean_squared_logarithmic_error), name=name,
                         dtype=dtype)


class LogCoshError(_KerasWrapper):
    """The mean of log(cosh(y_pred - y_true)) (Keras's `LogCoshError`).

    Args:
        name: the metric's name (default "logcosh").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(_loss_values(losses.log_cosh), name=name, dtype=dtype)


def _cosine_similarity(y_true, y_pred, axis=-1):
    """Keras's per-sample cosine similarity of the L2-normalised vectors."""
    y_true, y_pred = _same_rank(_numbers(y_true, "y_true").astype(np.float64),
                                _numbers(y_pred, "y_pred").astype(np.float64))

    def normalized(x):
        norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
        return x / np.maximum(norm, EPSILON)
    return np.sum(normalized(y_true) * normalized(y_pred), axis=axis)


class CosineSimilarity(_KerasWrapper):
    """The mean cosine similarity of targets and predictions, in [-1, 1]
    (Keras's `CosineSimilarity`; the loss of the same name is its negative).

    Args:
        name: the metric's name (default "cosine_similarity").
        dtype: Keras's dtype (default None: "float32").
        axis: the axis of the vectors (default -1).
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        self.axis = check_int(axis, "axis")
        super().__init__(_cosine_similarity, name=name, dtype=dtype, axis=self.axis)


class RootMeanSquaredError(Mean):
    """sqrt(mean((y_true - y_pred)^2)) over everything seen (Keras's
    `RootMeanSquaredError`: the root of the epoch's mean, not a mean of roots).

    Args:
        name: the metric's name (default "root_mean_squared_error").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's squared errors.

        Args:
            y_true: the targets.
            y_pred: the predictions (an axis of 1 more or less is aligned).
            sample_weight: a weight per sample, or None.
        """
        y_true, y_pred = _same_rank(_numbers(y_true, "y_true").astype(np.float64),
                                    _numbers(y_pred, "y_pred").astype(np.float64))
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """The coefficient of determination, 1 - SS_res / SS_tot per output
    column, over everything seen (Keras's `R2Score`).

    Args:
        class_aggregation: "uniform_average" (default: the columns' mean),
            "variance_weighted_average" or None (one score per column).
        num_regressors: for the adjusted R2, the number of regressors
            (default 0: plain R2).
        name: the metric's name (default "r2_score").
        dtype: Keras's dtype (default None: "float32").

    Shapes: y_true and y_pred (batch, outputs).
    """

    _direction = "up"  # better when higher (Keras's, for monitors)

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = check_one_of(
            class_aggregation, "class_aggregation",
            (None, "uniform_average", "variance_weighted_average"))
        self.num_regressors = check_int(num_regressors, "num_regressors", 0)
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, outputs):
        for cell in ("squared_sum", "sum", "total_mse", "count"):
            setattr(self, cell, self.add_variable((outputs,), name=cell))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's sums per output column.

        Args:
            y_true: the targets (batch, outputs).
            y_pred: the predictions, of the targets' shape.
            sample_weight: a weight per sample, or None.
        """
        y_true, y_pred = _same_rank(_numbers(y_true, "y_true").astype(np.float64),
                                    _numbers(y_pred, "y_pred").astype(np.float64))
        if y_true.ndim != 2 or y_pred.shape != y_true.shape:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={y_pred.shape} and "
                             f"y_true.shape={y_true.shape}.")
        if not self._built:
            self._build(y_true.shape[1])
        weights = np.ones(()) if sample_weight is None else \
            _numbers(sample_weight, "sample_weight").astype(np.float64)
        weights = np.broadcast_to(weights[:, None] if weights.ndim == 1 else weights,
                                  y_true.shape)
        self.sum += np.sum(y_true * weights, axis=0)
        self.squared_sum += np.sum(y_true * y_true * weights, axis=0)
        self.total_mse += np.sum((y_true - y_pred) ** 2 * weights, axis=0)
        self.count += np.sum(weights, axis=0)
        self.num_samples += y_true.size

    def result(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = float(self.num_samples), self.num_regressors
        if p and p > n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                          "Falling back to standard R2 score.", stacklevel=2)
        elif p and p == n - 1:
            warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 "
                          "score.", stacklevel=2)
        elif p:
            score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return _output(score)

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ----- losses as metrics -----------------------------------------------------------------------
class BinaryCrossentropy(_KerasWrapper):
    """The mean binary cross-entropy over everything seen (Keras's metric
    `BinaryCrossentropy`; zen.nn.losses.binary_crossentropy per sample).

    Args:
        name: the metric's name (default "binary_crossentropy").
        dtype: Keras's dtype (default None: "float32").
        from_logits: whether y_pred holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    _config = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)
        super().__init__(_loss_values(losses.binary_crossentropy), name=name, dtype=dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing)


class CategoricalCrossentropy(_KerasWrapper):
    """The mean categorical cross-entropy (one-hot targets) over everything
    seen (Keras's metric `CategoricalCrossentropy`).

    Args:
        name: the metric's name (default "categorical_crossentropy").
        dtype: Keras's dtype (default None: "float32").
        from_logits: whether y_pred holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
        axis: the class axis (default -1).
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    _config = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)
        self.axis = check_int(axis, "axis")
        super().__init__(_loss_values(losses.categorical_crossentropy), name=name, dtype=dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                         axis=self.axis)


class SparseCategoricalCrossentropy(Mean):
    """The mean cross-entropy of integer labels over everything seen (Keras's
    metric `SparseCategoricalCrossentropy`).

    Args:
        name: the metric's name (default "sparse_categorical_crossentropy").
        dtype: Keras's dtype (default None: "float32").
        from_logits: whether y_pred holds logits (default False).
        ignore_class: a label whose samples are left out (default None).
        axis: the class axis of y_pred (default -1).
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = check_bool(from_logits, "from_logits")
        self.ignore_class = None if ignore_class is None else check_int(ignore_class,
                                                                         "ignore_class")
        self.axis = check_int(axis, "axis")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's cross-entropies (ignored labels weigh 0).

        Args:
            y_true: integer labels, y_pred's shape without the class axis (or with it as 1).
            y_pred: probabilities or logits.
            sample_weight: a weight per sample, or None.
        """
        y_pred = np.moveaxis(_numbers(y_pred, "y_pred"), self.axis, -1)
        labels = _numbers(y_true, "y_true")
        if self.ignore_class is not None:
            kept = labels != self.ignore_class
            labels = np.where(kept, labels, 0)
            mask = kept[..., 0] if kept.ndim == y_pred.ndim else kept
            sample_weight = mask if sample_weight is None else \
                mask * losses.aligned_weights(sample_weight, mask.shape, np.float64)
        with no_grad():
            values = losses.sparse_categorical_crossentropy(labels, y_pred, self.from_logits)
        super().update_state(values.value, sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class KLDivergence(_KerasWrapper):
    """The mean Kullback-Leibler divergence, sum(y_true * log(y_true / y_pred)),
    over everything seen (Keras's metric `KLDivergence`).

    Args:
        name: the metric's name (default "kl_divergence").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(_loss_values(losses.kl_divergence), name=name, dtype=dtype)


class Poisson(_KerasWrapper):
    """The mean Poisson loss, y_pred - y_true * log(y_pred), over everything
    seen (Keras's metric `Poisson`).

    Args:
        name: the metric's name (default "poisson").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="poisson", dtype=None):
        super().__init__(_loss_values(losses.poisson), name=name, dtype=dtype)


class Hinge(_KerasWrapper):
    """The mean hinge loss, max(1 - y_true * y_pred, 0), over everything
    seen (Keras's metric `Hinge`).

    Args:
        name: the metric's name (default "hinge").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="hinge", dtype=None):
        super().__init__(_loss_values(losses.hinge), name=name, dtype=dtype)


class SquaredHinge(_KerasWrapper):
    """The mean squared hinge loss, max(1 - y_true * y_pred, 0)^2, over
    everything seen (Keras's metric `SquaredHinge`).

    Args:
        name: the metric's name (default "squared_hinge").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(_loss_values(losses.squared_hinge), name=name, dtype=dtype)


class CategoricalHinge(_KerasWrapper):
    """The mean categorical hinge loss over everything seen (Keras's metric
    `CategoricalHinge`).

    Args:
        name: the metric's name (default "categorical_hinge").
        dtype: Keras's dtype (default None: "float32").
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(_loss_values(losses.categorical_hinge), name=name, dtype=dtype)


# ----- names -----------------------------------------------------------------------------------
CLASSES = (Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
           SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
           TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
           FBetaScore, F1Score, MeanSquaredError, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError,
           CosineSimilarity, LogCoshError, R2Score, BinaryCrossentropy,
           CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
           SquaredHinge, CategoricalHinge)

# Zen's functions keep their names ("accuracy" reads the target format from
# the shapes; a model logs a metric under the name it was compiled with, so
# "acc" stays "acc"); every class is filed under its name and Keras's
# snake_case of it, with Keras's short aliases.
METRICS = Registry("metric")
"""Metric names -> Zen's functions and the classes, for `get`, `serialize`, `deserialize`."""
METRICS.add(accuracy, "accuracy", "acc")
METRICS.add(mae, "mae", "mean_absolute_error")
METRICS.add(mse, "mse", "mean_squared_error")
for _cls in CLASSES:
    METRICS.add(_cls, _cls.__name__)
    METRICS.setdefault(snake_case(_cls.__name__), _cls)
for _alias, _cls in (("bce", BinaryCrossentropy), ("BCE", BinaryCrossentropy),
                     ("MSE", MeanSquaredError), ("MAE", MeanAbsoluteError),
                     ("mape", MeanAbsolutePercentageError), ("MAPE", MeanAbsolutePercentageError),
                     ("msle", MeanSquaredLogarithmicError), ("MSLE", MeanSquaredLogarithmicError)):
    METRICS.add(_cls, _alias)

FUNCTIONS = Registry("metric function")
"""The per-sample functions a MeanMetricWrapper's config may name."""
for _fn in (accuracy, mae, mse, accuracy_values, mae_values, mse_values, binary_accuracy,
            categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
            sparse_top_k_categorical_accuracy):
    FUNCTIONS.add(_fn)

_VALUES = {accuracy: accuracy_values, mae: mae_values, mse: mse_values}


def get(identifier):
    """A metric from what `compile(metrics=...)` takes: one of Zen's
    functions by name ("accuracy"/"acc", "mae", "mse"), a new instance of a
    class by Keras's names ("auc", "AUC", "f1_score", ...) or from a class or
    a `serialize` dict; a Metric or any callable `metric(y_true, y_pred)` as
    it is; None for None.

    Args:
        identifier: a name, a class, a config dict, a Metric or a callable.

    Example:
        get("acc") is accuracy                              # True
        get("auc")                                          # AUC(name='auc', ...)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        found = METRICS.lookup(identifier)
        return found() if isinstance(found, type) else found
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Received an invalid value for `metrics`, expected a metric name, a "
                    f"Metric or a callable metric(y_true, y_pred). Received: {identifier!r}")


def compiled_metric(identifier) -> Metric:
    """The Metric that `compile` makes of `identifier` (Keras's compile):
    a Metric as it is; a name gives a new one named by that name (Zen's
    functions wrapped in a MeanMetricWrapper, "accuracy" reading the target
    format from the shapes); a class a new one; a function a MeanMetricWrapper
    named by the function.

    Args:
        identifier: what `get` takes.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        found = METRICS.lookup(identifier)
        return found(name=identifier) if isinstance(found, type) else \
            MeanMetricWrapper(values_of(found), name=identifier)
    found = get(identifier)
    if isinstance(found, Metric):
        return found
    return MeanMetricWrapper(values_of(found), name=name_of(found))


def serialize(metric):
    """How a file names a metric: a name stays a name, one of Zen's functions
    gives its name, an instance of Zen's classes `{"class_name", "config"}`;
    anything else (a user's function or Metric class, a wrapper of one) is a
    ValueError, as nothing in a file could rebuild it.

    Args:
        metric: what `compile(metrics=...)` was given.

    Example:
        serialize(AUC(curve="PR"))   # {'class_name': 'AUC', 'config': {'name': 'auc', ...}}
    """
    if isinstance(metric, str):
        METRICS.lookup(metric)
        return metric
    if isinstance(metric, Metric):
        spec = METRICS.serialize(metric)
        try:
            json.dumps(spec, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError(f"the config of metric {metric.name!r} holds something a file "
                             f"cannot: {spec['config']!r}"[:300]) from None
        return spec
    name = name_of(metric)
    if METRICS.get(name) is not metric:
        raise ValueError(f"custom metric {name!r}")
    return name


def deserialize(spec):
    """The metric that `serialize` described: a name or a config dict.

    Args:
        spec: a name or `{"class_name": ..., "config": {...}}`.
    """
    if isinstance(spec, dict):
        return METRICS.deserialize(spec)
    return get(spec)


def values_of(metric):
    """The per-sample form of a metric function: the built-ins' own; a
    user's function as it is (it may return per-sample values, as Keras's
    do, or the batch mean).

    Args:
        metric: a metric function.
    """
    return _VALUES.get(metric, metric)


def name_of(identifier) -> str:
    """The log key of a metric: its name as given, a Metric's `name`, or the
    function's name.

    Args:
        identifier: a name, a Metric or a function.
    """
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, Metric):
        return identifier.name
    if isinstance(identifier, type):
        return snake_case(identifier.__name__)
    return getattr(identifier, "__name__", type(identifier).__name__)


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
