"""zen.validation: one rule per kind of argument, the same in every package."""
import numpy as np
import pytest

from zen.validation import (check_bool, check_float, check_int, check_one_of,
                            check_positive_int, invalid)

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize("check, value, expected", [
    (lambda v: check_bool(v, "flag"), True, True),
    (lambda v: check_bool(v, "flag"), np.False_, False),
    (lambda v: check_int(v, "n"), np.int64(-3), -3),
    (lambda v: check_int(v, "n", 0, 5), 5, 5),
    (lambda v: check_positive_int(v, "n"), np.uint8(7), 7),
    (lambda v: check_float(v, "x"), 2, 2.0),
    (lambda v: check_float(v, "x", 0, 1, high_open=True), np.float32(0.5), 0.5),
    (lambda v: check_one_of(v, "mode", ("min", "max")), "max", "max"),
    (lambda v: check_one_of(v, "verbose", (0, 1, 2)), np.int64(2), 2),
])
def test_accepted_values_come_back_as_python_values(check, value, expected):
    result = check(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("check, value, message", [
    (lambda v: check_bool(v, "flag"), 1, "`flag`, expected True or False. Received: flag=1"),
    (lambda v: check_bool(v, "flag"), "yes", "Received: flag='yes'"),
    (lambda v: check_int(v, "n"), True, "`n`, expected an integer. Received: n=True"),
    (lambda v: check_int(v, "n"), np.True_, "expected an integer"),
    (lambda v: check_int(v, "n"), 3.0, "expected an integer. Received: n=3.0"),
    (lambda v: check_int(v, "n", 1), 0, "expected an integer >= 1. Received: n=0"),
    (lambda v: check_int(v, "n", None, 2), 3, "expected an integer <= 2"),
    (lambda v: check_int(v, "n", 0, 2), -1, r"expected an integer in \[0, 2\]"),
    (lambda v: check_positive_int(v, "units"), 0, "`units`, expected a positive integer"),
    (lambda v: check_positive_int(v, "units"), 2.0, "Received: units=2.0"),
    (lambda v: check_float(v, "x"), True, "`x`, expected a finite number. Received: x=True"),
    (lambda v: check_float(v, "x"), INF, "expected a finite number"),
    (lambda v: check_float(v, "x"), NAN, "expected a finite number"),
    (lambda v: check_float(v, "x"), "1", "Received: x='1'"),
    (lambda v: check_float(v, "x", 0), -0.5, "expected a non-negative number"),
    (lambda v: check_float(v, "x", 0, low_open=True), 0, "expected a positive number. "
                                                         "Received: x=0"),
    (lambda v: check_float(v, "x", 0, 1, high_open=True), 1, r"expected a number in \[0, 1\)"),
    (lambda v: check_float(v, "x", 0, 1, low_open=True), 0, r"expected a number in \(0, 1\]"),
    (lambda v: check_one_of(v, "verbose", (0, 1, 2)), True, r"one of \(0, 1, 2\)"),
    (lambda v: check_one_of(v, "verbose", (0, 1, 2)), 1.0, "Received: verbose=1.0"),
    (lambda v: check_one_of(v, "mode", ("min", "max")), np.array(["min"]), "`mode`"),
])
def test_refused_values_name_the_argument_what_was_expected_and_what_came(check, value,
                                                                          message):
    with pytest.raises(ValueError, match=f"^Received an invalid value for .*{message}"):
        check(value)


def test_the_owner_is_named_and_a_long_value_is_cut():
    with pytest.raises(ValueError, match=r"^Received an invalid value for `trainable` of "
                                         r"layer 'dense', expected True or False"):
        check_bool("no", "trainable", owner="layer 'dense'")
    message = str(invalid("key", "a short string", "k" * 10_000))
    assert len(message) < 300 and message.endswith("...")
