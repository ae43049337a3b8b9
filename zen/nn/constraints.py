"""Weight constraints (Keras's `keras.constraints`): projections applied to
a weight after every optimizer step.

A constraint is a callable `array -> array` on the weight's values (no
gradient flows through it). Layers take them as `kernel_constraint=`,
`bias_constraint=` (and `recurrent_constraint=`, `embeddings_constraint=`),
and `Layer.add_weight(constraint=...)` sets the weight's `constraint`,
which `Optimizer.step` applies after updating it, as Keras does.

Example:
    Dense(64, kernel_constraint=MaxNorm(3))
    Dense(64, kernel_constraint="non_neg")
"""
import numpy as np

from ..registry import Registry
from ..validation import check_float

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize",
           "deserialize", "CONSTRAINTS"]

EPSILON = 1e-7
"""Keras's `backend.epsilon()`, added to the norms it divides by."""


class Constraint:
    """Base class: `__call__(w)` returns the constrained values of array `w`
    (the identity here); `get_config()` the constructor's arguments.

    Example:
        class Clip(Constraint):
            def __call__(self, w):
                return np.clip(w, -1, 1)
    """

    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        """The constructor's arguments, to rebuild the constraint."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        """A new constraint from `get_config()`'s dict."""
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def _axis(axis):
    """An int, or a tuple of ints for several axes (a list, as JSON gives it back)."""
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales each slice along `axis` whose L2 norm exceeds `max_value`
    down to that norm.

    Args:
        max_value: the largest norm allowed (default 2).
        axis: the axis (or axes) the norms are taken over (default 0: each
            output unit's incoming weights of a Dense kernel).
    """

    def __init__(self, max_value: float = 2, axis=0):
        self.max_value = check_float(max_value, "max_value", 0)
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (np.clip(norms, 0, self.max_value) / (EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's norm into [min_value, max_value], at `rate` (1:
    all the way, as Keras).

    Args:
        min_value: the smallest norm (default 0.0).
        max_value: the largest norm (default 1.0).
        rate: the fraction of the way to go each step (default 1.0).
        axis: the axis (or axes) the norms are taken over (default 0).
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis=0):
        self.min_value = check_float(min_value, "min_value", 0)
        self.max_value = check_float(max_value, "max_value", self.min_value)
        self.rate = check_float(rate, "rate", 0, 1)
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Negative values become zero."""

    def __call__(self, w):
        return np.maximum(w, 0)


class UnitNorm(Constraint):
    """Each slice along `axis` is divided by its L2 norm.

    Args:
        axis: the axis (or axes) the norms are taken over (default 0).
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


CONSTRAINTS = Registry("constraint")
"""Constraint classes by class name and Keras's snake_case names."""
for _cls, _name in ((MaxNorm, "max_norm"), (MinMaxNorm, "min_max_norm"), (NonNeg, "non_neg"),
                    (UnitNorm, "unit_norm")):
    CONSTRAINTS.add(_cls, _cls.__name__, _name)


def get(identifier):
    """A constraint from None (none), a name ("max_norm": `MaxNorm()`), a
    class, a `serialize` dict, or a callable (kept as it is)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return CONSTRAINTS.lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret constraint identifier, expected None, a name, a "
                    f"Constraint or a callable. Received: {identifier!r}")


def serialize(constraint):
    """`{"class_name", "config"}` for one of Zen's constraints (None stays None)."""
    return None if constraint is None else CONSTRAINTS.serialize(constraint)


def deserialize(spec: dict):
    """The constraint a `serialize` dict describes."""
    return CONSTRAINTS.deserialize(spec)
