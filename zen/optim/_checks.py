"""Argument checks shared by the optimisers and the schedules, so that every
bad hyperparameter fails the same way, Keras-style: the message names the
argument, what was expected and what came."""
import math
import numbers

import numpy as np


def invalid(name, expected, value):
    """The ValueError for argument `name`: expected `expected`, got `value`."""
    return ValueError(f"Received an invalid value for `{name}`, expected {expected}. "
                      f"Received: {name}={value!r}")


def _real(name, value, expected):
    # bool is an int subtype, but `lr=True` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(name, expected, value)
    value = float(value)
    if not math.isfinite(value):
        raise invalid(name, expected, value)
    return value


def non_negative(name, value):
    """`value` as a float, which must be finite and >= 0."""
    expected = "a non-negative number"
    value = _real(name, value, expected)
    if value < 0:
        raise invalid(name, expected, value)
    return value


def positive(name, value):
    """`value` as a float, which must be finite and > 0."""
    expected = "a positive number"
    value = _real(name, value, expected)
    if value <= 0:
        raise invalid(name, expected, value)
    return value


def fraction(name, value, high_included=False):
    """`value` as a float in [0, 1) (or [0, 1] with `high_included`)."""
    expected = "a number in [0, 1]" if high_included else "a number in [0, 1)"
    value = _real(name, value, expected)
    if value < 0 or value > 1 or (value == 1 and not high_included):
        raise invalid(name, expected, value)
    return value


def integer(name, value, low):
    """`value` as an int, which must be >= `low` (floats like 3.0 are refused)."""
    expected = f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise invalid(name, expected, value)
    return int(value)


def optional_positive(name, value):
    """None, or a positive float (for clipnorm and friends)."""
    return None if value is None else positive(name, value)


def boolean(name, value):
    """`value`, which must be a bool (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise invalid(name, "True or False", value)
    return bool(value)
