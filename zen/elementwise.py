"""Elementwise functions built from the primitives in ``zen.ops``: reciprocal square root,
powers of two, interpolation, division with a rounding mode, and closeness. Their
gradients, of any order, follow from the primitives'."""

from __future__ import annotations

import math
import numbers

from zen import arguments, ops, promotion, tensor
from zen.errors import ArgumentError
from zen.namespaces import array_namespaces
from zen.recorder import no_grad
from zen.tensor import Tensor, TensorLike, as_tensor, on_device_of

ROUNDING_MODES = (None, "trunc", "floor")


def add(x: TensorLike, y: TensorLike, alpha: float = 1) -> Tensor:
    """x + alpha * y (``torch.add``); ``x + y`` is the same with alpha 1."""
    return ops.add(x, y) if alpha == 1 else ops.add(x, ops.multiply(y, alpha))


def subtract(x: TensorLike, y: TensorLike, alpha: float = 1) -> Tensor:
    """x - alpha * y (``torch.sub``, ``torch.subtract``); ``x - y`` is the same with alpha 1."""
    return ops.subtract(x, y) if alpha == 1 else ops.subtract(x, ops.multiply(y, alpha))


def square(x: TensorLike) -> Tensor:
    """x * x."""
    return ops.multiply(x, x)


def reciprocal(x: TensorLike) -> Tensor:
    """1 / x, floating (integers become the default float, as in PyTorch)."""
    return ops.divide(1.0, x)


def rsqrt(x: TensorLike) -> Tensor:
    """1 / sqrt(x)."""
    return ops.divide(1.0, ops.sqrt(x))


def exp2(x: TensorLike) -> Tensor:
    """2 ** x."""
    return ops.power(2.0, x)


def lerp(start: TensorLike, end: TensorLike, weight: TensorLike) -> Tensor:
    """start + weight * (end - start), computed from whichever end is nearer (as PyTorch),
    so that weight 0 gives ``start`` and weight 1 gives ``end`` exactly."""
    difference = ops.subtract(end, start)
    if isinstance(weight, numbers.Real):
        return _lerp_from(start, end, difference, weight, abs(weight) < 0.5, 1 - weight)
    return _lerp_from(start, end, difference, weight, ops.less(ops.abs(weight), 0.5),
                      ops.subtract(1, weight))


def _lerp_from(start, end, difference, weight, near_start, rest):
    """lerp from ``start`` where ``near_start`` (a bool, or a bool tensor), else from
    ``end``; ``rest`` is 1 - weight."""
    if near_start is True:
        return ops.add(start, ops.multiply(weight, difference))
    from_end = ops.subtract(end, ops.multiply(difference, rest))
    if near_start is False:
        return from_end
    return ops.where(near_start, ops.add(start, ops.multiply(weight, difference)), from_end)


def div(x: TensorLike, y: TensorLike, rounding_mode: str | None = None) -> Tensor:
    """x / y, or its quotient rounded toward zero (``"trunc"``) or down (``"floor"``, as
    Python's ``//``); a rounded quotient keeps integer dtypes and has zero gradient."""
    if rounding_mode not in ROUNDING_MODES:
        raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                            f"{rounding_mode!r}")
    if rounding_mode is None:
        return ops.divide(x, y)
    if rounding_mode == "floor":
        return ops.floor_divide(x, y)
    return _truncated_quotient(x, y)


def _truncated_quotient(x, y):
    """trunc(x / y) for floats; for integers, the floor of |x| / |y| with the quotient's
    sign, exactly (x / y would round large integers through floats)."""
    anchor = x if isinstance(x, Tensor) else as_tensor(y)
    dtype = promotion.result_dtype("div", anchor.backend, [x, y])
    if anchor.backend.is_floating(dtype):
        return ops.trunc(ops.divide(x, y))
    magnitude = ops.floor_divide(ops.abs(x), ops.abs(y))
    return ops.multiply(ops.multiply(ops.sign(x), ops.sign(y)), magnitude)


def isclose(x: TensorLike, y: TensorLike, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Where |x - y| <= atol + rtol * |y| (equal infinities too; nan with nan only if
    ``equal_nan``), as torch.isclose: a bool tensor, with no gradient."""
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        arguments.number("isclose", name, tolerance, low=0)
    with no_grad():
        x, y = _on_one_device(x, y)
        close = ops.equal(x, y)
        if equal_nan:
            close = ops.logical_or(close, ops.logical_and(ops.isnan(x), ops.isnan(y)))
        error = ops.abs(ops.subtract(x, y))
        allowed = ops.add(atol, ops.abs(ops.multiply(rtol, y)))
        within = ops.logical_and(ops.isfinite(error), ops.less_equal(error, allowed))
        return ops.logical_or(close, within)


def _on_one_device(x, y):
    """``x`` and ``y`` as Tensors, a number taking the other's device and dtype."""
    if not isinstance(x, Tensor):
        x = on_device_of(y, x, y.dtype) if isinstance(y, Tensor) else as_tensor(x)
    return x, on_device_of(x, y, x.dtype)


def frac(x: TensorLike) -> Tensor:
    """x - trunc(x), with x's sign; slope 1, as PyTorch."""
    return ops.subtract(x, ops.trunc(x))


def logit(x: TensorLike, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)); with ``eps``, of x limited to [eps, 1 - eps], whose slope is 0
    outside it (as PyTorch)."""
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 <= eps <= 0.5:
            raise ArgumentError(f"logit: eps must be None or a number in [0, 0.5], got {eps!r}")
        x = ops.clip(x, eps, 1 - eps)
    return ops.log(ops.divide(x, ops.subtract(1, x)))


def nan_to_num(x: TensorLike, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """x with nan, inf and -inf replaced (by default with 0 and the dtype's largest and
    smallest finite numbers); the replaced elements get no gradient."""
    x = as_tensor(x)
    if not x.backend.is_floating(x.dtype):
        return x
    largest = float(array_namespaces[x.backend].finfo(x.dtype).max)
    # one replacement at a time, each a weak scalar beside x: the result keeps x's dtype
    x = ops.where(ops.isnan(x), nan, x)
    x = ops.where(ops.equal(x, math.inf), largest if posinf is None else posinf, x)
    return ops.where(ops.equal(x, -math.inf), -largest if neginf is None else neginf, x)


tensor.functions.provide(square=square, reciprocal=reciprocal, rsqrt=rsqrt, exp2=exp2,
                         lerp=lerp, div=div, isclose=isclose, frac=frac, logit=logit,
                         nan_to_num=nan_to_num)
