"""Argument checks: one rule for each kind of value, used by every package, so
that the same mistake fails the same way everywhere.

The rules:

- a **bool** is `True` or `False`, Python's or numpy's (`np.True_`); it comes
  back as a Python bool. Nothing else is a bool: not 0 or 1, not "yes".
- an **integer** is a Python int or a numpy integer; it comes back as a
  Python int. A bool is not an integer (`units=True` is a mistake, not 1),
  and neither is a float, even a whole one (`epochs=3.0` is refused: Zen
  never rounds a count for you).
- a **number** is an int, a float or a numpy integer or float, never a bool;
  `check_float` also asks that it be finite, and gives a Python float.
- a **choice** is one of a fixed set of values, of the same kind (so `True`
  is not the choice 1, nor 1.0 the choice 1).

Each failure is a ValueError in Keras's words, naming the argument, what
was expected and what came:

    Received an invalid value for `units`, expected a positive integer.
    Received: units=0

The `is_*` predicates apply the same rules inside checks that say more
(a pair of sizes, a list of epochs, a field of a file), and `invalid`
builds the error for them.
"""
import math
import numbers

import numpy as np

__all__ = ["invalid", "is_bool", "is_int", "is_number", "check_bool", "check_int",
           "check_positive_int", "check_float", "check_one_of"]


def invalid(name, expected, value, *, owner=None) -> ValueError:
    """The ValueError for argument `name` of `owner` (e.g. "layer 'dense'"):
    `expected` says what it must be, `value` is what came (its repr cut to
    about 200 characters, so that a value read from a hostile file cannot
    flood the message)."""
    of = f" of {owner}" if owner else ""
    received = repr(value)
    if len(received) > 200:
        received = received[:197] + "..."
    return ValueError(f"Received an invalid value for `{name}`{of}, expected {expected}. "
                      f"Received: {name}={received}")


# ----- the kinds ----------------------------------------------------------------------
def is_bool(value) -> bool:
    """Whether `value` is True or False (a Python or numpy bool)."""
    return isinstance(value, (bool, np.bool_))


def is_int(value) -> bool:
    """Whether `value` is a Python int or a numpy integer, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value, *, finite=False) -> bool:
    """Whether `value` is a real number (int, float or numpy's), and not a
    bool; with `finite`, neither infinite nor NaN."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and (not finite or -math.inf < value < math.inf)  # (math.isfinite overflows on 10**400)


# ----- the checks -----------------------------------------------------------------------
def check_bool(value, name, *, owner=None) -> bool:
    """`value` as a Python bool; a ValueError unless it is a Python or numpy bool."""
    if not is_bool(value):
        raise invalid(name, "True or False", value, owner=owner)
    return bool(value)


def check_int(value, name, low=None, high=None, *, owner=None) -> int:
    """`value` as a Python int, which must lie in [low, high] (None: no bound).
    Bools and floats (3.0 too) are refused."""
    if not is_int(value) or (low is not None and value < low) \
            or (high is not None and value > high):
        expected = ("an integer" if low is None and high is None
                    else f"an integer >= {low}" if high is None
                    else f"an integer <= {high}" if low is None
                    else f"an integer in [{low}, {high}]")
        raise invalid(name, expected, value, owner=owner)
    return int(value)


def check_positive_int(value, name, *, owner=None) -> int:
    """`value` as a Python int > 0 (a size or a count: units, filters, batch_size)."""
    if not is_int(value) or value < 1:
        raise invalid(name, "a positive integer", value, owner=owner)
    return int(value)


def check_float(value, name, low=None, high=None, *, low_open=False, high_open=False,
                owner=None) -> float:
    """`value` as a Python float: a finite number (ints are welcome) in the
    interval from `low` to `high` (None: no bound), each end closed unless
    opened with `low_open` / `high_open`."""
    try:
        number = float(value) if is_number(value, finite=True) else None
    except OverflowError:  # an int too large for a float
        number = None
    if number is None or (low is not None and (number <= low if low_open else number < low)) \
            or (high is not None and (number >= high if high_open else number > high)):
        raise invalid(name, _interval(low, high, low_open, high_open), value, owner=owner)
    return number


def _interval(low, high, low_open, high_open) -> str:
    """How check_float says what it expected: "a positive number", "a number in [0, 1)"."""
    if low is None and high is None:
        return "a finite number"
    if high is None:
        if low == 0:
            return "a positive number" if low_open else "a non-negative number"
        return f"a number {'>' if low_open else '>='} {low}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {high}"
    return f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def _kind(value):
    return bool if is_bool(value) else int if is_int(value) else \
        float if is_number(value) else type(value)


def check_one_of(value, name, choices, *, owner=None):
    """The member of `choices` that `value` equals, of the same kind (a bool
    never stands for 0 or 1, nor 1.0 for 1); else a ValueError listing them."""
    for choice in choices:
        if _kind(value) is _kind(choice) and value == choice:
            return choice
    raise invalid(name, f"one of {tuple(choices)}", value, owner=owner)
