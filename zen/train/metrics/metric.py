"""`Metric`: the base class of Keras's stateful metrics.

A metric is a small state machine (Keras's `keras.metrics.Metric`):
`update_state(y_true, y_pred, sample_weight=None)` adds a batch to its
state, `result()` reads the value of everything seen since the last
`reset_state()`. The state is numpy arrays made by `add_variable`, counts
and sums in float64, each with its aggregation (`AGGREGATIONS`), so that
processes that trained on different shards add their states to get the
job's (`zen.train.strategy`: `reduce_metrics`). Metrics never build a graph.
"""
import numpy as np

from ...nn import initializers
from ...nn.layer import check_name, snake_case, unique_name
from ...validation import check_one_of, invalid

AGGREGATIONS = ("sum", "mean", "only_first_replica", "none")
"""How a variable joins the job's state (Keras's `aggregation`): summed over
the processes, averaged, rank 0's alone, or left per process."""


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
