"""zen.arguments.number, the one check of a real-number setting: every kind of range it
describes, and what it lets through."""

import math

import pytest

from zen import arguments
from zen.errors import ArgumentError
from zen.optim import OptimizerError


@pytest.mark.parametrize(("value", "bounds", "wanted"), [
    ("1", {}, r"a number, got '1' \(str\)"),
    (True, {}, r"a number, got True"),
    (None, {"low": 0}, r"a number >= 0, got None \(NoneType\)"),
    (-1, {"low": 0}, r"a number >= 0, got -1"),
    (0, {"low": 0, "low_open": True}, r"a number > 0, got 0"),
    (2, {"high": 1}, r"a number <= 1, got 2"),
    (1, {"high": 1, "high_open": True}, r"a number < 1, got 1"),
    (1, {"low": 0, "high": 1, "high_open": True}, r"a number in \[0, 1\), got 1"),
    (0, {"low": 0, "high": 1, "low_open": True}, r"a number in \(0, 1\], got 0"),
    (math.inf, {"finite": True}, r"a finite number, got inf"),
    (math.nan, {"low": 0}, r"a number >= 0, got nan"),
])
def test_a_number_outside_its_range_is_refused_by_name_and_range(value, bounds, wanted):
    with pytest.raises(ArgumentError, match=rf"^f: x must be {wanted}$"):
        arguments.number("f", "x", value, **bounds)


@pytest.mark.parametrize(("value", "bounds"), [
    (0, {"low": 0}), (1, {"low": 0, "high": 1}), (-5, {}), (math.inf, {"low": 0}),
    (0.5, {"low": 0, "high": 1, "low_open": True, "high_open": True})])
def test_a_number_within_its_range_comes_back_as_a_float(value, bounds):
    result = arguments.number("f", "x", value, **bounds)
    assert type(result) is float and result == value


def test_a_number_is_refused_with_the_error_class_asked_for():
    with pytest.raises(OptimizerError, match="Adam: lr must be a finite number >= 0"):
        arguments.number("Adam", "lr", -1, low=0, finite=True, error=OptimizerError)
