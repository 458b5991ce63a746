"""Checks of user settings shared by the layers, ``Model`` and the training loop: each returns
the setting in its one accepted form or raises ArgumentError naming the function, the setting
and the value it got."""

import math
import numbers

from zen.errors import ArgumentError


def integer(who, name, value, minimum=None):
    """``value`` as a Python int (of at least ``minimum``, 0 or 1), or ArgumentError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
            minimum is not None and value < minimum):
        kind = {None: "an int", 0: "a non-negative int", 1: "a positive int"}[minimum]
        raise ArgumentError(f"{who}: {name} must be {kind}, got {described(value)}")
    return int(value)


def number(who, name, value, low=None, high=None, low_open=False, high_open=False,
           finite=False, error=ArgumentError):
    """``value`` as a float: a real number (not a bool), finite if ``finite``, within
    [``low``, ``high``] (either end open with ``low_open``/``high_open``, either absent when
    None); or ``error`` (an ArgumentError) naming the setting, the range and the value."""
    fits = not isinstance(value, bool) and isinstance(value, numbers.Real) and (
        not finite or math.isfinite(value)) and (
        low is None or (value > low if low_open else value >= low)) and (
        high is None or (value < high if high_open else value <= high))
    if not fits:
        # '0.1' (str) is not a number: say so where the quotes alone might pass unseen
        kind = "" if isinstance(value, numbers.Real) else f" ({type(value).__name__})"
        raise error(f"{who}: {name} must be "
                    f"{_number_kind(low, high, low_open, high_open, finite)}, got "
                    f"{described(value)}{kind}")
    return float(value)


def _number_kind(low, high, low_open, high_open, finite):
    """'a number', 'a finite number > 0', 'a number in [0, 1)', ..."""
    kind = "a finite number" if finite else "a number"
    if low is not None and high is not None:
        return f"{kind} in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high}"
    return kind


def flag(who, name, value):
    """``value`` as a bool: True, False, 1 or 0 (as Keras's ``verbose=0``), or ArgumentError."""
    if isinstance(value, bool) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ArgumentError(f"{who}: {name} must be True or False, got {described(value)}")


def loss_function(who, loss_fn):
    """``loss_fn`` if it can be called, or ArgumentError."""
    if not callable(loss_fn):
        raise ArgumentError(f"{who}: loss_fn must be a function of (prediction, target) such "
                            f"as zen.loss.MSE, got {described(loss_fn)}")
    return loss_fn


def described(value):
    """``value`` for an error message: short, whatever it is."""
    if isinstance(value, type):
        return f"the class {value.__name__}"
    text = repr(value)
    if len(text) <= 60:
        return text
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"an object of type {type(value).__name__}"
