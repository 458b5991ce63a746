"""Reductions and scans beyond the op table's own: prod, std, var_mean, any/all, the
cumulative ops, sort and topk, with PyTorch's names and argument order and zen's ``axis=``.

Each is an exact composite of primitives, so gradients of every order follow from theirs.
Products and running log-sum-exps are associative scans of ``multiply`` and a stable
log-add-exp (log2(n) recorded steps), never divisions: a zero in a slice gives exactly
PyTorch's gradient (the product of the others), at every order. Indices (sort, topk, cummax)
come from non-differentiable primitives and select values through ``zen.selection.gather``,
whose gradient adds into the selected positions.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

from zen import functional, ops, selection, tensor
from zen.errors import ArgumentError, AxisError, ShapeMismatchError
from zen.ops import normalise_axes, reduction_axes, reshape
from zen.tensor import Axes, Tensor, TensorLike, as_tensor


class ValuesIndices(NamedTuple):
    """What sort, topk, cummax and cummin return, as PyTorch's named tuples: the values
    (differentiable) and their int64 indices along the axis (not differentiable)."""
    values: Tensor
    indices: Tensor


class MinMax(NamedTuple):
    """What aminmax returns, as PyTorch's named tuple: the smallest and largest values."""
    min: Tensor
    max: Tensor


def aminmax(x: TensorLike, *, axis: int | None = None, keepdims: bool = False) -> MinMax:
    """The smallest and largest values of ``x`` along ``axis`` (over every element if None),
    as ``torch.aminmax``; each gradient goes as ``amin``'s and ``amax``'s."""
    x = as_tensor(x)
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, numbers.Integral)):
        raise AxisError(f"aminmax: axis must be None or one int, got {axis!r}")
    normalise_axes("aminmax", axis, x.ndim)
    return MinMax(amin(x, axis, keepdims), amax(x, axis, keepdims))


def _part(x, axis, start, stop):
    return x[(slice(None),) * axis + (slice(start, stop), Ellipsis)]


def _scan(x, axis, combine):
    """The inclusive scan of ``x`` along ``axis`` under the associative ``combine``
    (Hillis-Steele: log2(n) recorded steps)."""
    length, shift = x.shape[axis], 1
    while shift < length:
        combined = combine(_part(x, axis, 0, length - shift), _part(x, axis, shift, None))
        x = ops.concat([_part(x, axis, 0, shift), combined], axis=axis)
        shift *= 2
    return x


def _fold(x, axis, combine):
    """``x`` reduced along ``axis`` to length 1 under ``combine``, pairwise (log2(n) steps)."""
    while x.shape[axis] > 1:
        length = x.shape[axis]
        half = length // 2
        paired = combine(_part(x, axis, 0, half), _part(x, axis, half, 2 * half))
        x = paired if length % 2 == 0 else \
            ops.concat([paired, _part(x, axis, 2 * half, None)], axis=axis)
    return x


def _converted(x, dtype, integers_widen=False):
    """``x`` as a Tensor of ``dtype`` if given; else, with ``integers_widen``, integers and
    bools as int64 (PyTorch's prod and cumprod)."""
    x = as_tensor(x)
    if dtype is not None:
        return ops.astype(x, dtype)
    if integers_widen and not x.backend.is_floating(x.dtype):
        return ops.astype(x, "int64")
    return x


def _along_one_axis(op_name, x, axis, function):
    """``function(x, axis)`` for one normalised ``axis``; a 0-d ``x`` (axis 0 or -1) is
    worked on as shape (1,), and each result shaped back to ()."""
    if x.ndim == 0:
        normalise_axes(op_name, axis, 0)
        result = function(reshape(x, 1), 0)
        if isinstance(result, tuple):
            return type(result)(*(reshape(part, ()) for part in result))
        return reshape(result, ())
    return function(x, ops.one_axis(op_name, axis, x.ndim))


def _scanned(op_name, combine):
    def scan(x: TensorLike, axis: int, dtype: str | Any | None = None) -> Tensor:
        x = _converted(x, dtype, integers_widen=combine is ops.multiply)
        return _along_one_axis(op_name, x, axis, lambda x, axis: _scan(x, axis, combine))

    scan.__name__ = op_name
    return scan


cumprod = _scanned("cumprod", ops.multiply)
cumprod.__doc__ = ("Running product along ``axis``; exact gradients with zeros (no "
                   "division); integers become int64, as in PyTorch.")


def cumsum(x: TensorLike, axis: int, dtype: str | Any | None = None) -> Tensor:
    """Running sum along ``axis``; integers and bools become int64, as in PyTorch."""
    x = _converted(x, dtype)
    return _along_one_axis("cumsum", x, axis, lambda x, axis: ops.cumsum_p(x, axis=axis))


def logcumsumexp(x: TensorLike, axis: int) -> Tensor:
    """log(cumsum(exp(x))) along ``axis``, stable for any magnitude (a scan of log-add-exp,
    not a shift by one maximum)."""
    x = ops.astype(x, "float32") if not _floating(x) else as_tensor(x)
    return _along_one_axis("logcumsumexp", x, axis,
                           lambda x, axis: _scan(x, axis, ops.logaddexp))


def _floating(x):
    x = as_tensor(x)
    return x.backend.is_floating(x.dtype)


def prod(x: TensorLike, axis: Axes = None, keepdims: bool = False,
         dtype: str | Any | None = None) -> Tensor:
    """Product over ``axis`` (None, an int or a tuple of ints), 1 for an empty slice; with
    one zero in a slice the zero's gradient is the product of the others, with two or more
    every gradient is 0 (pairwise products: no division). Integers become int64."""
    x = _converted(x, dtype, integers_widen=True)
    axes = reduction_axes("prod", axis, x.ndim)
    axes = tuple(range(x.ndim)) if axes is None else axes
    kept = [a for a in range(x.ndim) if a not in axes]
    lined_up = ops.permute_dims(x, kept + list(axes))
    lined_up = reshape(lined_up, tuple(x.shape[a] for a in kept) +
                       (math.prod(x.shape[a] for a in axes),))
    if lined_up.shape[-1] == 0:     # the empty product, still connected to x
        product = ops.sum(lined_up, axis=-1, keepdims=True) + 1
    else:
        product = _fold(lined_up, len(kept), ops.multiply)
    shape = tuple(1 if a in axes else n for a, n in enumerate(x.shape)) if keepdims else \
        tuple(x.shape[a] for a in kept)
    return reshape(product, shape)


def std(x: TensorLike, axis: Axes = None, keepdims: bool = False,
        correction: float | None = None, *, unbiased: bool | None = None) -> Tensor:
    """Standard deviation over ``axis``: the square root of ``var`` (same correction)."""
    return ops.sqrt(functional.var(x, axis, keepdims, correction, unbiased=unbiased))


def var_mean(x: TensorLike, axis: Axes = None, keepdims: bool = False,
             correction: float | None = None, *, unbiased: bool | None = None
             ) -> tuple[Tensor, Tensor]:
    """(var, mean) over ``axis``, as PyTorch's ``var_mean``."""
    return (functional.var(x, axis, keepdims, correction, unbiased=unbiased),
            ops.mean(x, axis, keepdims))


def std_mean(x: TensorLike, axis: Axes = None, keepdims: bool = False,
             correction: float | None = None, *, unbiased: bool | None = None
             ) -> tuple[Tensor, Tensor]:
    """(std, mean) over ``axis``, as PyTorch's ``std_mean``."""
    return std(x, axis, keepdims, correction, unbiased=unbiased), ops.mean(x, axis, keepdims)


def _extremum(reduce, elementwise):
    """``zen.max`` or ``zen.min``: the reduction ``reduce`` (values only: PyTorch's
    ``max(x, dim)`` also gives indices, zen's ``argmax`` gives those), or, given a Tensor in
    place of ``axis``, PyTorch's binary form ``max(x, other)``, that is ``elementwise``."""
    name = reduce.__name__

    def extremum(x: TensorLike, axis: Axes | Tensor = None, keepdims: bool = False) -> Tensor:
        if not isinstance(axis, Tensor):
            return reduce(x, axis, keepdims)
        if keepdims is not False:
            raise ArgumentError(f"{name}: {name}(x, other) with a Tensor other is the "
                                f"elementwise {elementwise.__name__}, which has no keepdims; "
                                f"got keepdims={keepdims!r}")
        return elementwise(x, axis)

    extremum.__name__ = name
    extremum.__doc__ = reduce.__doc__
    return extremum


max = _extremum(ops.max, ops.maximum)
min = _extremum(ops.min, ops.minimum)
# PyTorch's amax and amin: zen's max and min already are reductions to values alone.
amax, amin = ops.max, ops.min

any = ops.reduction(ops.any_p)
any.__doc__ = "Whether any element over ``axis`` is nonzero: a bool tensor, not differentiable."
all = ops.reduction(ops.all_p)
all.__doc__ = "Whether every element over ``axis`` is nonzero: a bool tensor, not differentiable."


def _running_best(op_name, largest):
    def running(x: TensorLike, axis: int) -> ValuesIndices:
        def along(x, axis):
            indices = ops.running_best_index_p(x, axis=axis, largest=largest)
            return ValuesIndices(selection.gather(x, axis, indices), indices)
        return _along_one_axis(op_name, as_tensor(x), axis, along)

    running.__name__ = op_name
    return running


cummax = _running_best("cummax", largest=True)
cummax.__doc__ = ("The running maximum along ``axis`` and where it is (the latest of ties, "
                  "as in PyTorch); the gradient goes to that element; NaN is not handled.")
cummin = _running_best("cummin", largest=False)
cummin.__doc__ = "The running minimum along ``axis`` and where it is; see ``cummax``."


def argsort(x: TensorLike, axis: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The int64 indices that sort ``x`` along ``axis`` (always stable: ties keep their
    order); not differentiable."""
    return sort(x, axis, descending, stable).indices


def sort(x: TensorLike, axis: int = -1, descending: bool = False,
         stable: bool = False) -> ValuesIndices:
    """``x`` sorted along ``axis`` and the indices it came from (always stable, whatever
    ``stable`` says); the gradient goes back to each value's position."""
    def along(x, axis):
        indices = ops.argsort_p(x, axis=axis, descending=bool(descending))
        return ValuesIndices(selection.gather(x, axis, indices), indices)
    return _along_one_axis("sort", as_tensor(x), axis, along)


def topk(x: TensorLike, k: int, axis: int = -1, largest: bool = True,
         sorted: bool = True) -> ValuesIndices:
    """The ``k`` largest (or smallest) elements along ``axis`` and their indices, largest
    first (smallest first with ``largest=False``); ties go to the earlier element. The
    result is sorted whatever ``sorted`` says."""
    x = as_tensor(x)
    length = 1 if x.ndim == 0 else x.shape[ops.one_axis("topk", axis, x.ndim)]
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= length:
        raise ArgumentError(f"topk: k must be an int from 0 to {length} (the length of axis "
                            f"{axis} of a tensor of shape {x.shape}), got {k!r}")

    def along(x, axis):
        indices = _part(ops.argsort_p(x, axis=axis, descending=bool(largest)), axis, 0, k)
        return ValuesIndices(selection.gather(x, axis, indices), indices)
    return _along_one_axis("topk", x, axis, along)


def count_nonzero(x: TensorLike, axis: Axes = None) -> Tensor:
    """How many elements over ``axis`` (None, an int or a tuple of ints) are not zero:
    int64, not differentiable."""
    x = as_tensor(x)
    return ops.sum(ops.not_equal(x, 0), axis)


def median(x: TensorLike, axis: int | None = None, keepdims: bool = False
           ) -> Tensor | ValuesIndices:
    """PyTorch's ``median``: the lower median (of an even count, the smaller middle value),
    NaN where a slice holds NaN. Without ``axis``, of every element, its gradient shared
    evenly among the elements equal to it (an empty tensor's is NaN); along one ``axis``,
    ``(values, indices)`` with the gradient going to the element at each index."""
    x = as_tensor(x)
    if axis is None:
        if x.numel() == 0:
            return ops.add(ops.sum(x), math.nan)
        return ops.median_p(x)

    def along(x, axis):
        if x.shape[axis] == 0:
            raise ShapeMismatchError(f"median: axis {axis} of shape {x.shape} is empty, so it "
                                     f"has no median")
        indices = ops.median_index_p(x, axis=axis)
        values = selection.gather(x, axis, indices)
        if keepdims:
            return ValuesIndices(values, indices)
        return ValuesIndices(functional.squeeze(values, axis), functional.squeeze(indices, axis))
    return _along_one_axis("median", x, axis, along)


tensor.functions.provide(
    max=max, min=min, amax=amax, amin=amin, prod=prod, std=std, cumsum=cumsum,
    cumprod=cumprod, logcumsumexp=logcumsumexp, any=any, all=all, cummax=cummax,
    cummin=cummin, sort=sort, argsort=argsort, topk=topk, count_nonzero=count_nonzero,
    median=median, aminmax=aminmax)
