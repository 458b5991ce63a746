"""Functions built from the primitives in ``zen.ops``, including Tensor's in-place operators.

Nothing here needs a gradient formula of its own: each function is a short composition of
recorded primitives, so its gradient (of any order) follows from theirs.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from zen import arguments, indexing, ops, promotion, random, recorder, tensor
from zen.errors import ArgumentError, DtypeError, InPlaceError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.ops import normalise_axes, reshape
from zen.recorder import grad_enabled, is_grad_enabled, mark_modified
from zen.tensor import DEFAULT_CORRECTION, Axes, Tensor, TensorLike, as_tensor


def var(x: TensorLike, axis: Axes = None, keepdims: bool = False,
        correction: float | None = None, *, unbiased: bool | None = None) -> Tensor:
    """Variance over ``axis``, dividing by max(0, count - correction) as PyTorch does: past
    the count that is a division by zero (inf, or nan for no spread). ``correction`` None is
    Bessel's, 1; PyTorch's older ``unbiased=False`` means ``correction=0``."""
    correction = _correction("var", correction, unbiased)
    x = as_tensor(x)
    axes = ops.reduction_axes("var", axis, x.ndim)
    if not x.backend.is_floating(x.dtype):
        raise DtypeError(f"var: needs a floating tensor, got {x.dtype} (as in PyTorch); "
                         f"convert with .astype('float32')")
    centred = x - ops.mean(x, axes, keepdims=True)
    count = math.prod(x.shape[a] for a in (range(x.ndim) if axes is None else axes))
    return ops.sum(centred * centred, axes, keepdims) / max(0, count - correction)


def _correction(op_name, correction, unbiased):
    """The correction that ``correction`` or PyTorch's older ``unbiased`` asks for."""
    if unbiased is None:
        return DEFAULT_CORRECTION if correction is None else correction
    if correction is not None or not isinstance(unbiased, bool):
        raise ArgumentError(f"{op_name}: unbiased must be True or False, given without "
                            f"correction (unbiased=False is correction=0), got "
                            f"unbiased={unbiased!r}, correction={correction!r}")
    return int(unbiased)


def dense(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight + bias`` with zen's (in, out) weights, the one place where a matrix of
    weights meets its input (the Linear layer, ``zen.linear``, MultiHeadAttention): one
    recorded node (``ops.linear``) where the input is a batch and there is a bias."""
    if bias is not None and x.ndim >= 2:
        return ops.linear(x, weight, bias)
    out = ops.matmul(x, weight)
    return out if bias is None else ops.add(out, bias)


def linear(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """``input @ weight.T + bias`` with PyTorch's (out, in) weights, as
    torch.nn.functional.linear."""
    input, weight = as_tensor(input), as_tensor(weight)
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeMismatchError(f"linear: needs an input (..., in) and a weight (out, in), "
                                 f"got input {input.shape} and weight {weight.shape}")
    if bias is not None:
        bias = as_tensor(bias)
        if bias.ndim > 1 or bias.shape not in ((), (1,), (weight.shape[0],)):
            raise ShapeMismatchError(f"linear: bias must have shape ({weight.shape[0]},) for "
                                     f"a weight {weight.shape}, got {bias.shape}")
    return dense(input, ops.matrix_transpose(weight), bias)


def dropout(input: TensorLike, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """While ``training``, each element zeroed with probability ``p`` (drawn from zen's
    generator, ``zen.seed``) and the rest scaled by 1 / (1 - p); otherwise the input itself.
    ``p=1`` gives zeros. zen makes a new tensor: ``inplace=True`` is refused."""
    input = as_tensor(input)
    return _dropped("dropout", input, p, training, inplace, input.ndim)


def dropout1d(input: TensorLike, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout of whole channels of an (N, C, L) or (C, L) input, as torch's dropout1d."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input: TensorLike, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout of whole channels of an (N, C, H, W) input; a 3-D input is (N, C, L), as in
    torch's dropout2d (which may read it as (C, H, W) one day: dropout1d says it plainly)."""
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input: TensorLike, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout of whole channels of an (N, C, D, H, W) or (C, D, H, W) input."""
    return _channel_dropout("dropout3d", input, p, training, inplace, 3)


def _channel_dropout(function, input, p, training, inplace, spatial):
    """dropout with one draw per channel: for (N, C, ...) inputs, and unbatched (C, ...) ones
    except dropout2d's (torch reads a 3-D input there as (N, C, L))."""
    input = as_tensor(input)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeMismatchError(f"{function}: needs a {spatial + 1}-D or {spatial + 2}-D input "
                                 f"(an optional batch axis, channels, {spatial} spatial), "
                                 f"got shape {input.shape}")
    batched = spatial == 2 or input.ndim == spatial + 2
    return _dropped(function, input, p, training, inplace, 2 if batched else 1)


def _dropped(function, input, p, training, inplace, drawn_axes):
    """dropout's one implementation: ``input`` times a mask drawn for its first
    ``drawn_axes`` axes (all of them: each element; two: each channel of each sample) and
    shared along the rest."""
    p = arguments.number(function, "p", p, low=0, high=1)
    training = arguments.flag(function, "training", training)
    if arguments.flag(function, "inplace", inplace):
        raise ArgumentError(f"{function}: inplace=True is not supported (zen's {function} "
                            f"makes a new tensor); use x = zen.{function}(x, p)")
    if not training or p == 0:
        return input
    if p == 1:
        return ops.multiply(input, 0.0)
    shape = input.shape[:drawn_axes] + (1,) * (input.ndim - drawn_axes)
    keep = random.generator().uniform(0.0, 1.0, shape) >= p
    mask = Tensor(keep / (1 - p), trainable=False, device=input.backend, dtype=input.dtype)
    return ops.multiply(input, mask)


def flatten(x: TensorLike, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """``x`` with the axes from ``start_axis`` to ``end_axis`` (inclusive) merged into one."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = normalise_axes("flatten", (start_axis,), x.ndim)[0], \
        normalise_axes("flatten", (end_axis,), x.ndim)[0]
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def expand_dims(x: TensorLike, axis: int = 0) -> Tensor:
    """``x`` with a new axis of length 1 at ``axis``."""
    x = as_tensor(x)
    axis = ops.one_axis("expand_dims", axis, x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x: TensorLike, axis: Axes = None) -> Tensor:
    """``x`` without its axes of length 1: all of them, or those of ``axis`` (an axis of
    ``axis`` with another length stays, as in PyTorch)."""
    x = as_tensor(x)
    axes = normalise_axes("squeeze", axis, x.ndim)
    if axes is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    # As PyTorch 2: an axis of another length than 1 stays.
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes or n != 1))


def stack(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """The tensors, all of one shape, joined along a new ``axis``."""
    tensors = [as_tensor(t) for t in tensors]
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeMismatchError(f"stack: all tensors need one shape, got {sorted(shapes)}")
    return ops.concat([expand_dims(t, axis) for t in tensors], axis=axis)


def split(x: TensorLike, split_size_or_sections: int | Sequence[int],
          axis: int = 0) -> list[Tensor]:
    """``x`` cut along ``axis`` into pieces of ``split_size_or_sections`` (an int: the last
    piece may be smaller) or of the given sizes (summing to the axis's length), as
    ``torch.split``; each a view where the backend makes one."""
    x = as_tensor(x)
    axis = ops.one_axis("split", axis, x.ndim)
    length = x.shape[axis]
    sizes = split_size_or_sections
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool) and sizes > 0:
        bounds = [*range(0, length, int(sizes)), length] if length else [0, 0]
    elif isinstance(sizes, (tuple, list)) and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0
            for n in sizes) and sum(sizes) == length:
        bounds = [0, *itertools.accumulate(int(n) for n in sizes)]
    else:
        raise ShapeMismatchError(f"split: split_size_or_sections must be a positive int or "
                                 f"sizes summing to the length {length} of axis {axis} "
                                 f"(shape {x.shape}), got {split_size_or_sections!r}")
    before = (slice(None),) * axis
    return [x[before + (slice(start, stop), Ellipsis)]
            for start, stop in itertools.pairwise(bounds)]


def _pair(name, value, minimum=0, count=2):
    """An int or ``count`` ints (a pair: rows, columns), each at least ``minimum`` (0 or 1), as
    a tuple of ``count``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * count
    if len(values) != count or not all(isinstance(v, numbers.Integral) and
                                       not isinstance(v, bool) and v >= minimum
                                       for v in values):
        kind = "positive" if minimum == 1 else "non-negative"
        several = "a pair of them" if count == 2 else f"a tuple of {count}"
        raise ArgumentError(f"{name} must be a {kind} int or {several}, got {value!r}")
    return tuple(int(v) for v in values)


def _windows(op_name, x, window, stride, dilation=(1, 1), channels_last=False):
    """Every ``window`` of the NCHW ``x`` (see ``ops.sliding_windows_p``), or an error naming
    ``op_name`` when a (dilated) window does not fit in x's height and width."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(window, dilation, strict=True))
    if span[0] > x.shape[2] or span[1] > x.shape[3]:
        raise ShapeMismatchError(f"{op_name}: window {span} is larger than the (padded) "
                                 f"input's height and width {x.shape[2:]}")
    return ops.sliding_windows_p(x, window=tuple(window), stride=tuple(stride),
                                 dilation=tuple(dilation), channels_last=channels_last)


def in_place(function: Callable[[Tensor, TensorLike], Tensor], target: Tensor,
             other: TensorLike) -> Tensor:
    """``target op= other`` for the binary ``function``: recorded, it makes a new tensor, as
    ``target = function(target, other)`` would; otherwise (under no_grad, or with nothing
    trainable) it writes into target's array and marks target as modified, so that a
    backward pass that saved the old value refuses to run. Either way target keeps its shape
    and dtype, or the op is refused, as in PyTorch."""
    recorded = is_grad_enabled() and (target.trainable or getattr(other, "trainable", False))
    _check_shape(function.__name__, target, getattr(other, "shape", ()))
    with grad_enabled(recorded):
        result = function(target, other)
        _check_shape(function.__name__, target, result.shape)
        _check_dtype(function.__name__, target, result.dtype)
        result = promotion.cast(result, target.dtype)
    if recorded:
        return result
    _write(target, lambda array: array.__setitem__(Ellipsis, result.value))
    return target


def _check_shape(name, target, shape):
    """An in-place op's other operand, or its result, must fit the target's shape."""
    shape = tuple(shape)
    fits = len(shape) <= target.ndim and all(
        n in (1, m) for n, m in zip(reversed(shape), reversed(target.shape), strict=False))
    if not fits:
        raise ShapeMismatchError(f"{name} in place: shape {shape} does not fit the tensor's "
                                 f"shape {target.shape}, and an in-place op cannot change a "
                                 f"tensor's shape; use x = x {_SYMBOLS[name]} y for a new tensor")


def _check_dtype(name, target, dtype):
    if not promotion.can_cast(target.backend, dtype, target.dtype):
        raise DtypeError(f"{name} in place: the result's dtype {dtype} cannot be stored in the "
                         f"tensor's dtype {target.dtype}; use x = x {_SYMBOLS[name]} y to get a "
                         f"new tensor")


_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
            "logical_and": "&", "logical_or": "|", "remainder": "%", "floor_divide": "//"}


def set_item(target: Tensor, key: Any, value: TensorLike) -> None:
    """``x[key] = value`` under no_grad or on a tensor that is not trainable, where ``x[key]``
    reads (see ``zen.indexing``); x is marked as modified (see ``in_place``)."""
    if is_grad_enabled() and (target.trainable or getattr(value, "trainable", False)):
        raise InPlaceError("x[key] = value: x or value is trainable, and an assignment cannot "
                           "be recorded; do it under zen.no_grad() (e.g. to edit parameters), "
                           "or build a new tensor with zen.where or zen.concat")
    # Straight to x's dtype: through the default float, 16777217 or 0.1 would round first.
    values = Tensor(value, trainable=False, device=target.backend, dtype=target.dtype).value
    _write(target, indexing.assignment(target, key, values))


def _write(tensor, assign):
    """``assign(array)`` writes into tensor's array in place (a view or a DLPack peer sees
    it), or into a copy when the array cannot be written (a read-only view, a NumPy scalar),
    which then shares no memory, and no version counter, with the tensors it came from."""
    if recorder.tracer is not None:     # the target is read (and so written) as a stand-in
        recorder.tracer.entering((tensor,))
    try:
        assign(tensor.value)
    except (ValueError, TypeError, AttributeError):     # AttributeError: a NumPy scalar
        array = array_namespaces[tensor.backend].copy(tensor.value)
        assign(array)
        tensor.value = array
        tensor._version = None
    mark_modified(tensor)


def _bool_only(function, symbol):
    """``&``, ``|`` and ``~`` on bools only: PyTorch gives integers bitwise meanings, which
    zen does not have, so it refuses rather than answer differently."""
    def operator(*operands):
        for operand in operands:
            is_bool = isinstance(operand, bool) or (isinstance(operand, Tensor) and
                                                    operand.backend.is_bool(operand.dtype))
            if not is_bool:
                kind = operand.dtype if isinstance(operand, Tensor) else type(operand).__name__
                raise DtypeError(f"{symbol}: zen's {symbol} is logical, for bool tensors only, "
                                 f"got {kind}; compare first (x != 0) or use "
                                 f"zen.{function.__name__}")
        return function(*operands)

    operator.__name__ = function.__name__
    return operator


tensor.functions.provide(
    var=var, flatten=flatten, squeeze=squeeze, expand_dims=expand_dims, in_place=in_place,
    split=split, setitem=set_item, getitem=indexing.getitem,
    bool_and=_bool_only(ops.logical_and, "&"), bool_or=_bool_only(ops.logical_or, "|"),
    bool_not=_bool_only(ops.logical_not, "~"))
