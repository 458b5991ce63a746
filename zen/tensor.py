"""Tensor, an array on a device that remembers the op that made it, and conversion to it.

Tensor sits below the modules that compute with it (the recorder, the op table, the backward
pass, the composites), so its operators and maths methods, spelled out in ``TensorOperators``,
call those modules' functions through ``functions``, a table each of them fills in as it
loads.
"""

from __future__ import annotations

import math
import numbers
import types
from collections.abc import Sequence
from typing import Any, TypeAlias

import backends
from zen import devices
from zen.errors import ArgumentError, AxisError, DeviceMismatchError, DtypeError, ShapeMismatchError

# For annotations, which are never evaluated on a call (so no call pays for them): a backend's
# array (NumPy, CuPy, array_api_strict: they share no base class), and an axis argument (one
# axis, several, or None for all). TensorLike, what converts to a Tensor, follows Tensor.
Array: TypeAlias = Any
Axes: TypeAlias = int | tuple[int, ...] | None

DEFAULT_DEVICE = "cpu"
_default_dtype = "float32"
# Bessel's correction by default, as PyTorch's var and std (the array API's default is 0).
DEFAULT_CORRECTION = 1


def set_default_dtype(name: str) -> None:
    """Set the dtype that Python numbers and lists become: "float16", "float32" or
    "float64"."""
    global _default_dtype
    if name not in ("float16", "float32", "float64"):
        raise DtypeError(f"set_default_dtype: expected 'float16', 'float32' or 'float64', "
                         f"got {name!r}")
    _default_dtype = name


def get_default_dtype() -> str:
    return _default_dtype


def _provide(**implementations):
    functions.__dict__.update(implementations)


# The functions behind Tensor's operators and methods, by name. The modules that define them
# import Tensor, so Tensor cannot import them: each fills in its own here as it loads
# (``functions.provide(add=add, ...)``), and ``import zen`` loads them all. A module object,
# as CPython caches the lookup of ``functions.add(...)`` on a module, not on an object.
functions = types.ModuleType("zen.tensor.functions")
functions.provide = _provide


class ReductionAndIndexingMethods:
    """Tensor's reductions, scans and indexing methods with PyTorch's names (``x.prod()`` is
    ``zen.prod(x)``; see ``zen.reductions`` and ``zen.selection``): TensorOperators' own
    class, as one class would be too long to read."""

    __slots__ = ()

    def prod(self, axis: Axes = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
        return functions.prod(self, axis, keepdims, dtype)

    def std(self, axis: Axes = None, keepdims: bool = False, correction: float | None = None,
            *, unbiased: bool | None = None) -> Tensor:
        return functions.std(self, axis, keepdims, correction, unbiased=unbiased)

    def any(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.any(self, axis, keepdims)

    def all(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.all(self, axis, keepdims)

    def cumsum(self, axis: int, dtype: Any = None) -> Tensor:
        return functions.cumsum(self, axis, dtype)

    def cumprod(self, axis: int, dtype: Any = None) -> Tensor:
        return functions.cumprod(self, axis, dtype)

    def logcumsumexp(self, axis: int) -> Tensor:
        return functions.logcumsumexp(self, axis)

    def cummax(self, axis: int) -> Any:
        return functions.cummax(self, axis)

    def cummin(self, axis: int) -> Any:
        return functions.cummin(self, axis)

    def sort(self, axis: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return functions.sort(self, axis, descending, stable)

    def argsort(self, axis: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return functions.argsort(self, axis, descending, stable)

    def topk(self, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        return functions.topk(self, k, axis, largest, sorted)

    def gather(self, axis: int, index: TensorLike) -> Tensor:
        return functions.gather(self, axis, index)

    def index_select(self, axis: int, index: TensorLike) -> Tensor:
        return functions.index_select(self, axis, index)

    def scatter(self, axis: int, index: TensorLike, src: TensorLike) -> Tensor:
        return functions.scatter(self, axis, index, src)

    def scatter_add(self, axis: int, index: TensorLike, src: TensorLike) -> Tensor:
        return functions.scatter_add(self, axis, index, src)

    def scatter_reduce(self, axis: int, index: TensorLike, src: TensorLike, reduce: str,
                       include_self: bool = True) -> Tensor:
        return functions.scatter_reduce(self, axis, index, src, reduce, include_self)

    def masked_fill(self, mask: TensorLike, value: TensorLike) -> Tensor:
        return functions.masked_fill(self, mask, value)

    def masked_select(self, mask: TensorLike) -> Tensor:
        return functions.masked_select(self, mask)

    def nonzero(self, as_tuple: bool = False) -> Any:
        return functions.nonzero(self, as_tuple)


class ElementwiseMethods:
    """Tensor's elementwise operators and methods (``x % y`` is
    ``zen.remainder``, ``x // y`` is ``zen.floor_divide``, ``x.erf()`` is ``zen.erf(x)``), a
    base of TensorOperators."""

    __slots__ = ()

    def __mod__(self, other: TensorLike) -> Tensor:
        return functions.remainder(self, other)

    def __rmod__(self, other: TensorLike) -> Tensor:
        return functions.remainder(other, self)

    def __imod__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.remainder, self, other)

    def __floordiv__(self, other: TensorLike) -> Tensor:
        return functions.floor_divide(self, other)

    def __rfloordiv__(self, other: TensorLike) -> Tensor:
        return functions.floor_divide(other, self)

    def __ifloordiv__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.floor_divide, self, other)

    def floor(self) -> Tensor:
        return functions.floor(self)

    def ceil(self) -> Tensor:
        return functions.ceil(self)

    def trunc(self) -> Tensor:
        return functions.trunc(self)

    def rsqrt(self) -> Tensor:
        return functions.rsqrt(self)

    def log2(self) -> Tensor:
        return functions.log2(self)

    def log10(self) -> Tensor:
        return functions.log10(self)

    def exp2(self) -> Tensor:
        return functions.exp2(self)

    def expm1(self) -> Tensor:
        return functions.expm1(self)

    def log1p(self) -> Tensor:
        return functions.log1p(self)

    def erf(self) -> Tensor:
        return functions.erf(self)

    def tan(self) -> Tensor:
        return functions.tan(self)

    def asin(self) -> Tensor:
        return functions.asin(self)

    def acos(self) -> Tensor:
        return functions.acos(self)

    def atan(self) -> Tensor:
        return functions.atan(self)

    def sinh(self) -> Tensor:
        return functions.sinh(self)

    def cosh(self) -> Tensor:
        return functions.cosh(self)

    def asinh(self) -> Tensor:
        return functions.asinh(self)

    def acosh(self) -> Tensor:
        return functions.acosh(self)

    def atanh(self) -> Tensor:
        return functions.atanh(self)

    def isnan(self) -> Tensor:
        return functions.isnan(self)

    def isinf(self) -> Tensor:
        return functions.isinf(self)

    def isfinite(self) -> Tensor:
        return functions.isfinite(self)

    def round(self, decimals: int = 0) -> Tensor:
        return functions.round(self, decimals)

    def atan2(self, other: TensorLike) -> Tensor:
        return functions.atan2(self, other)

    def copysign(self, other: TensorLike) -> Tensor:
        return functions.copysign(self, other)

    def logaddexp(self, other: TensorLike) -> Tensor:
        return functions.logaddexp(self, other)

    def fmod(self, other: TensorLike) -> Tensor:
        return functions.fmod(self, other)

    def remainder(self, other: TensorLike) -> Tensor:
        return functions.remainder(self, other)

    def lerp(self, end: TensorLike, weight: TensorLike) -> Tensor:
        return functions.lerp(self, end, weight)

    def div(self, other: TensorLike, rounding_mode: str | None = None) -> Tensor:
        return functions.div(self, other, rounding_mode)

    def isclose(self, other: TensorLike, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:
        return functions.isclose(self, other, rtol, atol, equal_nan)


class TensorOperators(ReductionAndIndexingMethods, ElementwiseMethods):
    """Tensor's operators and maths methods: ``x + y`` is ``zen.add(x, y)``, ``x.sum()`` is
    ``zen.sum(x)``, ``x += y`` is an in-place add (see ``zen.functional.in_place``)."""

    __slots__ = ()

    def __add__(self, other: TensorLike) -> Tensor:
        return functions.add(self, other)

    def __radd__(self, other: TensorLike) -> Tensor:
        return functions.add(other, self)

    def __iadd__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.add, self, other)

    def __sub__(self, other: TensorLike) -> Tensor:
        return functions.subtract(self, other)

    def __rsub__(self, other: TensorLike) -> Tensor:
        return functions.subtract(other, self)

    def __isub__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.subtract, self, other)

    def __mul__(self, other: TensorLike) -> Tensor:
        return functions.multiply(self, other)

    def __rmul__(self, other: TensorLike) -> Tensor:
        return functions.multiply(other, self)

    def __imul__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.multiply, self, other)

    def __truediv__(self, other: TensorLike) -> Tensor:
        return functions.divide(self, other)

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return functions.divide(other, self)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.divide, self, other)

    def __pow__(self, other: TensorLike) -> Tensor:
        return functions.power(self, other)

    def __rpow__(self, other: TensorLike) -> Tensor:
        return functions.power(other, self)

    def __ipow__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.power, self, other)

    def __matmul__(self, other: TensorLike) -> Tensor:
        return functions.matmul(self, other)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return functions.matmul(other, self)

    def __and__(self, other: TensorLike) -> Tensor:
        return functions.bool_and(self, other)

    def __rand__(self, other: TensorLike) -> Tensor:
        return functions.bool_and(other, self)

    def __iand__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.bool_and, self, other)

    def __or__(self, other: TensorLike) -> Tensor:
        return functions.bool_or(self, other)

    def __ror__(self, other: TensorLike) -> Tensor:
        return functions.bool_or(other, self)

    def __ior__(self, other: TensorLike) -> Tensor:
        return functions.in_place(functions.bool_or, self, other)

    def __neg__(self) -> Tensor:
        return functions.negative(self)

    def __abs__(self) -> Tensor:
        return functions.abs(self)

    def __invert__(self) -> Tensor:
        return functions.bool_not(self)

    def __lt__(self, other: TensorLike) -> Tensor:
        return functions.less(self, other)

    def __le__(self, other: TensorLike) -> Tensor:
        return functions.less_equal(self, other)

    def __gt__(self, other: TensorLike) -> Tensor:
        return functions.greater(self, other)

    def __ge__(self, other: TensorLike) -> Tensor:
        return functions.greater_equal(self, other)

    def __eq__(self, other: TensorLike) -> Tensor:
        return functions.equal(self, other)

    def __ne__(self, other: TensorLike) -> Tensor:
        return functions.not_equal(self, other)

    def __getitem__(self, key: Any) -> Tensor:
        return functions.getitem(self, key)

    def __setitem__(self, key: Any, value: TensorLike) -> None:
        return functions.setitem(self, key, value)

    def exp(self) -> Tensor:
        return functions.exp(self)

    def log(self) -> Tensor:
        return functions.log(self)

    def sqrt(self) -> Tensor:
        return functions.sqrt(self)

    def sin(self) -> Tensor:
        return functions.sin(self)

    def cos(self) -> Tensor:
        return functions.cos(self)

    def tanh(self) -> Tensor:
        return functions.tanh(self)

    def sigmoid(self) -> Tensor:
        return functions.sigmoid(self)

    def relu(self) -> Tensor:
        return functions.relu(self)

    def abs(self) -> Tensor:
        return functions.abs(self)

    def clip(self, min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:
        return functions.clip(self, min, max)

    def sum(self, axis: Axes = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
        return functions.sum(self, axis, keepdims, dtype)

    def max(self, axis: Axes | Tensor = None, keepdims: bool = False) -> Tensor:
        return functions.max(self, axis, keepdims)

    def min(self, axis: Axes | Tensor = None, keepdims: bool = False) -> Tensor:
        return functions.min(self, axis, keepdims)

    def mean(self, axis: Axes = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
        return functions.mean(self, axis, keepdims, dtype)

    def logsumexp(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.logsumexp(self, axis, keepdims)

    def argmax(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.argmax(self, axis, keepdims)

    def argmin(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.argmin(self, axis, keepdims)

    def var(self, axis: Axes = None, keepdims: bool = False, correction: float | None = None,
            *, unbiased: bool | None = None) -> Tensor:
        return functions.var(self, axis, keepdims, correction, unbiased=unbiased)

    def softmax(self, axis: int = -1) -> Tensor:
        return functions.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return functions.log_softmax(self, axis)

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        return functions.reshape(self, *shape)

    def transpose(self, *axes: int | tuple[int, ...]) -> Tensor:
        return functions.transpose(self, *axes)

    def permute(self, *axes: int | tuple[int, ...]) -> Tensor:
        return functions.permute(self, *axes)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        return functions.flatten(self, start_axis, end_axis)

    def squeeze(self, axis: Axes = None) -> Tensor:
        return functions.squeeze(self, axis)

    def expand_dims(self, axis: int = 0) -> Tensor:
        return functions.expand_dims(self, axis)

    def astype(self, dtype: str | Any) -> Tensor:
        return functions.astype(self, dtype)

    def clone(self) -> Tensor:
        return functions.copy(self)

    T = property(lambda self: functions.transpose(self), doc="The axes reversed.")
    mT = property(lambda self: functions.matrix_transpose(self), doc="The last two axes swapped.")


class ShapeMethods:
    """Tensor's shape and linear-algebra methods as PyTorch spells them (``zen.shapes``,
    ``zen.contractions``): ``x.flip(0)`` is ``zen.flip(x, 0)``."""

    __slots__ = ()

    def flip(self, axis: Axes) -> Tensor:
        return functions.flip(self, axis)

    def roll(self, shifts: int | tuple[int, ...], axis: Axes = None) -> Tensor:
        return functions.roll(self, shifts, axis)

    def tile(self, reps: tuple[int, ...]) -> Tensor:
        return functions.tile(self, reps)

    def repeat(self, *sizes: int | tuple[int, ...]) -> Tensor:
        return functions.repeat(self, *sizes)

    def repeat_interleave(self, repeats: TensorLike, axis: int | None = None) -> Tensor:
        return functions.repeat_interleave(self, repeats, axis)

    def tril(self, diagonal: int = 0) -> Tensor:
        return functions.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return functions.triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        return functions.diag(self, diagonal)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        return functions.diagonal(self, offset, axis1, axis2)

    def diag_embed(self, offset: int = 0, axis1: int = -2, axis2: int = -1) -> Tensor:
        return functions.diag_embed(self, offset, axis1, axis2)

    def unflatten(self, axis: int, sizes: Sequence[int]) -> Tensor:
        return functions.unflatten(self, axis, sizes)

    def chunk(self, chunks: int, axis: int = 0) -> list[Tensor]:
        return functions.chunk(self, chunks, axis)

    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0
              ) -> list[Tensor]:
        return functions.split(self, split_size_or_sections, axis)

    def narrow(self, axis: int, start: int, length: int) -> Tensor:
        return functions.narrow(self, axis, start, length)

    def movedim(self, source: int | tuple[int, ...], destination: int | tuple[int, ...]
                ) -> Tensor:
        return functions.movedim(self, source, destination)

    def outer(self, other: TensorLike) -> Tensor:
        return functions.outer(self, other)

    def addmm(self, mat1: TensorLike, mat2: TensorLike, *, beta: float = 1,
              alpha: float = 1) -> Tensor:
        return functions.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: TensorLike, batch2: TensorLike, *, beta: float = 1,
                alpha: float = 1) -> Tensor:
        return functions.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addmv(self, mat: TensorLike, vec: TensorLike, *, beta: float = 1,
              alpha: float = 1) -> Tensor:
        return functions.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def kron(self, other: TensorLike) -> Tensor:
        return functions.kron(self, other)


class PyTorchSpellings:
    """Tensor methods with PyTorch's names for what zen already does, one line each:
    ``x.view(2, 3)`` is ``x.reshape(2, 3)``, ``x.float()`` is ``x.astype("float32")``."""

    __slots__ = ()

    def amax(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.amax(self, axis, keepdims)

    def amin(self, axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.amin(self, axis, keepdims)

    def clamp(self, min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:
        return functions.clip(self, min, max)

    def pow(self, exponent: TensorLike) -> Tensor:
        return functions.power(self, exponent)

    def neg(self) -> Tensor:
        return functions.negative(self)

    def square(self) -> Tensor:
        return functions.square(self)

    def reciprocal(self) -> Tensor:
        return functions.reciprocal(self)

    def sign(self) -> Tensor:
        return functions.sign(self)

    def matmul(self, other: TensorLike) -> Tensor:
        return functions.matmul(self, other)

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        return functions.broadcast_to(self, shape)

    def expand(self, *sizes: int | tuple[int, ...]) -> Tensor:
        return functions.expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return functions.broadcast_to(self, other.shape)

    def view(self, *shape: int | tuple[int, ...]) -> Tensor:
        return functions.reshape(self, *shape)

    def t(self) -> Tensor:
        return functions.t(self)

    def unsqueeze(self, axis: int) -> Tensor:
        return functions.expand_dims(self, axis)

    def unbind(self, axis: int = 0) -> tuple[Tensor, ...]:
        return functions.unbind(self, axis)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return functions.swapaxes(self, axis0, axis1)

    swapdims = swapaxes

    def moveaxis(self, source: int | tuple[int, ...], destination: int | tuple[int, ...]
                 ) -> Tensor:
        return functions.movedim(self, source, destination)

    def contiguous(self) -> Tensor:
        """The tensor itself: zen's values need no contiguous copy."""
        return self

    def numel(self) -> int:
        return math.prod(self.value.shape)

    def dim(self) -> int:
        return self.ndim

    def double(self) -> Tensor:
        return functions.astype(self, "float64")

    def half(self) -> Tensor:
        return functions.astype(self, "float16")

    def long(self) -> Tensor:
        return functions.astype(self, "int64")

    # Last: in a class body, these names hide the builtins float, int and bool.
    def float(self) -> Tensor:
        return functions.astype(self, "float32")

    def int(self) -> Tensor:
        return functions.astype(self, "int32")

    def bool(self) -> Tensor:
        return functions.astype(self, "bool")


class LinearAlgebraMethods:
    """Tensor's methods for the products, norms and special functions PyTorch users reach
    for (``zen.linalg``, ``zen.elementwise``, ``zen.reductions``): ``x.mm(y)`` is
    ``zen.mm(x, y)``, ``x.norm()`` is ``zen.norm(x)``."""

    __slots__ = ()

    def mm(self, other: TensorLike) -> Tensor:
        return functions.mm(self, other)

    def bmm(self, other: TensorLike) -> Tensor:
        return functions.bmm(self, other)

    def mv(self, other: TensorLike) -> Tensor:
        return functions.mv(self, other)

    def dot(self, other: TensorLike) -> Tensor:
        return functions.dot(self, other)

    def trace(self) -> Tensor:
        return functions.trace(self)

    def cross(self, other: TensorLike, axis: int | None = None) -> Tensor:
        return functions.cross(self, other, axis)

    def norm(self, p: float | str = "fro", axis: Axes = None, keepdims: bool = False) -> Tensor:
        return functions.norm(self, p, axis, keepdims)

    def hypot(self, other: TensorLike) -> Tensor:
        return functions.hypot(self, other)

    def frac(self) -> Tensor:
        return functions.frac(self)

    def logit(self, eps: float | None = None) -> Tensor:
        return functions.logit(self, eps)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None) -> Tensor:
        return functions.nan_to_num(self, nan, posinf, neginf)


class PortedMethods:
    """More of PyTorch's Tensor methods a porter reaches for, each
    calling its function: ``x.erfc()`` is ``zen.erfc(x)``, ``x.median(0)`` is
    ``zen.median(x, 0)``."""

    __slots__ = ()

    def erfc(self) -> Tensor:
        return functions.erfc(self)

    def count_nonzero(self, axis: Axes = None) -> Tensor:
        return functions.count_nonzero(self, axis)

    def median(self, axis: int | None = None, keepdims: bool = False) -> Any:
        return functions.median(self, axis, keepdims)

    def aminmax(self, *, axis: int | None = None, keepdims: bool = False) -> Any:
        return functions.aminmax(self, axis=axis, keepdims=keepdims)

    def index_add(self, axis: int, index: TensorLike, source: TensorLike, *,
                  alpha: float = 1) -> Tensor:
        return functions.index_add(self, axis, index, source, alpha=alpha)

    def take_along_dim(self, indices: TensorLike, axis: int | None = None) -> Tensor:
        return functions.take_along_dim(self, indices, axis)


class Tensor(TensorOperators, ShapeMethods, PyTorchSpellings, LinearAlgebraMethods,
             PortedMethods):
    """An array on a device, recorded for automatic differentiation when trainable.

    ``Tensor(value, trainable=True, device=None, dtype=None, *, copy=True)``: ``value`` is a
    number, a nested list, a NumPy/CuPy/array-API array or a Tensor, copied as
    ``torch.tensor`` does. ``copy=False`` shares the memory of an array already of that
    device and dtype instead, and refuses anything that would need a copy (NumPy's and the
    array API's ``copy=False``); ``copy=None`` shares where it can and copies otherwise (as
    ``torch.as_tensor``). ``zen.from_numpy`` and ``zen.from_dlpack`` share memory too.
    Numbers and lists become the default dtype (float32); arrays keep theirs and, unless
    ``device`` is given, their device. Integer and bool tensors are never trainable.
    ``requires_grad`` is an alias of ``trainable``.
    """

    __slots__ = ("value", "gradient", "trainable", "_backend", "_op", "_parents", "_params",
                 "_saved", "_version", "_stamp", "_origin")
    value: Array
    gradient: Array | None
    trainable: bool
    __hash__ = object.__hash__      # == is elementwise; dicts and sets key on identity
    __array_ufunc__ = None          # NumPy defers to Tensor's reflected operators

    def __init__(self, value: TensorLike, trainable: bool | None = None,
                 device: str | None = None, dtype: str | Any | None = None, *,
                 requires_grad: bool | None = None, copy: bool | None = True) -> None:
        if requires_grad is not None:
            trainable = requires_grad
        if (copy is False or copy is None) and device is None and dtype is None and \
                (backend := backends.sole_backend(type(value))) is not None and \
                value.dtype in backend.real_or_bool_dtypes:     # an array shared as it is
            array, shared = backend.asarray(value, None, copy=False), True
        else:
            backend, array, shared = _to_backend_array(value, device, dtype, copy)
        self.value = array
        self.gradient = None
        self.trainable = False if trainable is False else \
            _leaf_trainable("Tensor", backend, array.dtype, trainable)
        self._backend = backend
        self._op = None
        self._parents = ()
        self._params = None
        # A Tensor whose memory this one shares: one version counter for both (see
        # zen.recorder.mark_modified), so that an in-place change through either is seen.
        shared = shared and isinstance(value, Tensor)
        self._version = functions.shared_version(value) if shared else None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def dtype(self) -> Any:
        """The backend's dtype object (``numpy.dtype('float32')`` on the CPU)."""
        return self.value.dtype

    def size(self, axis: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the length of ``axis``, as PyTorch's ``size()`` (NumPy's ``size``,
        the number of elements, is ``numel()``)."""
        if axis is None:
            return self.shape
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or \
                not -self.ndim <= axis < self.ndim:
            raise AxisError(f"size: axis must be an int in [{-self.ndim}, {self.ndim}) for a "
                            f"tensor of shape {self.shape}, got {axis!r}")
        return self.shape[axis]

    @property
    def device(self) -> str:
        """The device string, e.g. 'cpu'."""
        return self._backend.name

    @property
    def backend(self) -> Any:
        return self._backend

    @property
    def requires_grad(self) -> bool:
        return self.trainable

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    def numpy(self) -> Any:
        """The value as a NumPy array on the host (a copy when the tensor is on a GPU)."""
        return self._backend.to_host(self.value)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise ShapeMismatchError(f"item: only one-element tensors convert to a Python "
                                     f"number, this one has shape {self.shape}")
        return self.numpy().item()

    def to(self, *device_or_dtype: Any, device: Any = None, dtype: Any = None) -> Tensor:
        """This tensor on ``device`` and of ``dtype``, each given positionally or by keyword,
        as PyTorch's ``to``: ``x.to("cuda")``, ``x.to(zen.float64)``, ``x.to("cpu",
        "float64")``. On another device it is a new leaf with a copy, else itself; another
        dtype then converts it as ``astype`` does (recorded)."""
        device, dtype = _device_and_dtype(self, device_or_dtype, device, dtype)
        moved = self
        if device is not None and devices.get_backend(device) is not self._backend:
            moved = Tensor(self.value, trainable=self.trainable, device=device)
        return moved if dtype is None else functions.astype(moved, dtype)

    def move_to(self, device: str) -> Tensor:
        """Move this leaf's value (and gradient) to ``device`` in place, keeping its identity,
        so that the models and optimisers that hold it follow."""
        backend = devices.get_backend(device)
        if backend is not self._backend:
            self.value = _to_backend_array(self, backend, None)[1]
            if self.gradient is not None:
                self.gradient = _to_backend_array(constant(self.gradient, self._backend),
                                                  backend, None)[1]
            self._backend = backend
        return self

    def detach(self) -> Tensor:
        """The same value (the same memory), cut from the graph and not trainable."""
        return functions.detach(self)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (backward adds to it, as in PyTorch)."""
        self.gradient = None

    def backward(self, grad: TensorLike | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.gradient`` of every trainable leaf.

        ``grad`` is required unless the tensor has one element. The graph's saved values are
        freed as the pass goes unless ``retain_graph``; ``create_graph`` records the pass so
        that gradients can be differentiated again.
        """
        functions.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    get_gradients = backward    # the original Zen's name, with every argument of backward

    def grad(self, target: Tensor, grad: TensorLike | None = None) -> Array:
        """d(self)/d(target) as a backend array; leaves' ``.gradient`` and the graph are kept."""
        (gradient,) = functions.gradients(self, [target], grad, retain_graph=True)
        return gradient.value

    def __array__(self, dtype=None, copy=None):
        if not self._backend.on_host:
            raise DeviceMismatchError(f"numpy.asarray: this tensor is on {self.device}, not in "
                                      f"host memory; copy it there with .numpy()")
        array = self._backend.to_host(self.value)
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __dlpack__(self, *args, **kwargs):
        return self._array().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._array().__dlpack_device__()

    def _array(self):
        """The value as an array (NumPy reductions give scalars, which cannot be exported)."""
        value = self.value
        return value if hasattr(value, "__dlpack__") else self._backend.asarray(value)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self):
        return bool(self.item())

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __repr__(self):
        flags = ", trainable=True" if self.trainable else ""
        return (f"Tensor({self.numpy()}, dtype={self.dtype}, "
                f"device='{self.device}'{flags})")


# A Tensor, a Python or NumPy number, a nested list or a backend array.
TensorLike: TypeAlias = Tensor | float | int | bool | Sequence[Any] | Array


def from_dlpack(array: Any, trainable: bool = False) -> Tensor:
    """A Tensor sharing memory with a DLPack-capable array (PyTorch, CuPy, NumPy, ...)."""
    kind, index = array.__dlpack_device__()
    backend = devices.backend_for_dlpack_device(kind, index)
    tensor = constant(backend.from_dlpack(array), backend)
    tensor.trainable = _leaf_trainable("from_dlpack", backend, tensor.dtype, trainable)
    return tensor


def from_numpy(array: Any, trainable: bool = False) -> Tensor:
    """A CPU Tensor sharing memory with the NumPy array ``array``, as ``torch.from_numpy``:
    a change to either shows in the other (one that NumPy makes is not seen by backward's
    in-place checks). For an array on another device, ``Tensor(array, copy=False)``."""
    cpu = devices.get_backend("cpu")
    owner = devices.backend_for_array(array)
    if owner is not cpu:
        if owner is None:
            raise ArgumentError(f"from_numpy: expected a NumPy array, got "
                                f"{type(array).__name__}; Tensor(value) converts numbers "
                                f"and lists")
        raise DeviceMismatchError(f"from_numpy: the array is on {owner.name}, not a NumPy "
                                  f"array in host memory; Tensor(array) copies it, "
                                  f"Tensor(array, copy=False) keeps it on its device")
    shared = _to_backend_array(array, cpu, None, copy=False, caller="from_numpy")[1]
    tensor = constant(shared, cpu)
    tensor.trainable = _leaf_trainable("from_numpy", cpu, shared.dtype, trainable)
    return tensor


def _leaf_trainable(caller, backend, dtype, trainable):
    """Whether a new leaf of ``dtype`` is trainable: as asked (floating ones by default when
    ``trainable`` is None), and never an integer or bool one."""
    floating = backend.is_floating(dtype)
    if trainable and not floating:
        raise DtypeError(f"{caller}: trainable=True needs a floating dtype, got {dtype}; "
                         f"use a floating dtype (dtype='float32') or trainable=False")
    return floating if trainable is None else bool(trainable)


def constant(value, backend):
    """A non-trainable tensor around a backend array, without any checks (the fast path)."""
    tensor = Tensor.__new__(Tensor)
    tensor.value = value
    tensor.gradient = None
    tensor.trainable = False
    tensor._backend = backend
    tensor._op = None
    tensor._parents = ()
    tensor._params = None
    tensor._version = None
    return tensor


def as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value, trainable=False)


def on_device_of(like: Tensor, value: TensorLike, dtype: Any = None) -> Tensor:
    """``value`` as it is if a Tensor, else a constant (never trainable) on ``like``'s device,
    in ``dtype`` if given: a number, list or array that goes beside ``like`` in an op."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, trainable=False, device=like.backend, dtype=dtype)


def _device_and_dtype(x, arguments, device, dtype):
    """``Tensor.to``'s (device, dtype): a positional argument is the dtype if it is a dtype
    name ("float64": zen.float64) or a dtype of x's backend, else the device ("cpu",
    "cuda:1", a backend); none may be given twice."""
    given = {"device": device, "dtype": dtype}
    if len(arguments) > 2:
        raise ArgumentError(f"to: takes a device and a dtype, got {len(arguments)} arguments "
                            f"{arguments!r}")
    for value in arguments:
        kind = "dtype" if _is_dtype(x, value) else "device"
        if given[kind] is not None:
            raise ArgumentError(f"to: {kind} given twice, as {given[kind]!r} and {value!r}")
        given[kind] = value
    return given["device"], given["dtype"]


def _is_dtype(x, value):
    if isinstance(value, str):
        return value in backends.DTYPE_NAMES
    return not isinstance(value, backends.Backend) and \
        x.backend.dtype_name(value) in backends.DTYPE_NAMES


def _to_backend_array(value, device, dtype, copy=True, caller="Tensor"):
    """The backend for ``device`` (or for ``value``'s own device), ``value`` on it, and
    whether that array shares ``value``'s memory: never with ``copy`` True, always with
    False (refused where it cannot), and where it can with None."""
    if copy is not True and copy is not False and copy is not None:
        raise ArgumentError(f"{caller}: copy must be True, False or None, got {copy!r}")
    if isinstance(value, Tensor):
        source, value = value._backend, value.value
    else:
        source = devices.backend_for_array(value)
    backend = devices.get_backend(device) if device is not None else (
        source or devices.get_backend(DEFAULT_DEVICE))
    if value is None:
        raise DtypeError(f"{caller}: None is not a number")
    if dtype is None and source is None and not hasattr(value, "dtype"):
        dtype = _default_dtype      # numbers and lists; other arrays keep their dtype
    if isinstance(dtype, str):
        try:
            dtype = backend.dtype(dtype)
        except AttributeError:
            raise DtypeError(f"{caller}: unknown dtype {dtype!r}; use a name such as "
                             f"'float32', 'float64', 'int64' or 'bool'") from None
    may_copy = copy is not False
    if copy is not True:
        refusal = _sharing_refusal(caller, value, source, backend, dtype)
        if refusal is not None and copy is False:
            raise refusal
        copy = refusal is not None      # None: a copy only where sharing cannot be
    if source is not None and source is not backend:
        value = source.to_host(value)
    array, copy = _as_array(caller, backend, value, dtype, copy, may_copy)
    if not backend.is_real_or_bool(array.dtype):
        raise DtypeError(f"{caller}: values of dtype {array.dtype} are not real numbers or "
                         f"bools (zen has no complex, string or object tensors); convert them "
                         f"first")
    return backend, array, not copy


def _as_array(caller, backend, value, dtype, copy, may_copy):
    """(``value`` as ``backend``'s array, whether it was copied): shared unless ``copy``;
    where NumPy cannot share it (a NumPy scalar), copied if ``may_copy`` (``copy=None``)."""
    try:
        return backend.asarray(value, dtype, copy=copy), copy
    except (TypeError, ValueError, OverflowError) as error:
        if copy:
            raise conversion_error(value, error) from error
        if not may_copy:
            raise ArgumentError(f"{caller}: this {type(value).__name__} has no array memory "
                                f"to share; Tensor(value) copies it") from error
    return _as_array(caller, backend, value, dtype, True, True)


def _sharing_refusal(caller, value, source, backend, dtype):
    """Why ``value`` cannot become a tensor of ``backend`` and ``dtype`` without a copy, as
    the error that ``copy=False`` raises; None if it can."""
    if source is None:
        return ArgumentError(f"{caller}: copy=False shares an array's memory, but a "
                             f"{type(value).__name__} has none; drop copy=False to copy it")
    if source is not backend:
        return DeviceMismatchError(f"{caller}: copy=False shares memory, but the array is on "
                                   f"{source.name}, not {backend.name}; drop copy=False to "
                                   f"copy it there")
    if dtype is not None and dtype != value.dtype:
        return DtypeError(f"{caller}: copy=False shares memory, but the array is "
                          f"{value.dtype} and dtype {dtype} was asked; drop copy=False to "
                          f"convert a copy")
    return None


def conversion_error(value, error):
    if "inhomogeneous" in str(error) or "sequence" in str(error):
        return ShapeMismatchError(f"Tensor: nested lists of unequal lengths (ragged) have no "
                                  f"array shape ({error})")
    return DtypeError(f"Tensor: cannot make numbers of {type(value).__name__} {value!r:.60} "
                      f"({error})")
