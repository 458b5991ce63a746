"""Indexing with PyTorch's names and argument order (zen's ``axis=`` for ``dim=``): gather,
scatter, scatter_add, scatter_reduce, index_select, take_along_dim, masked_fill, masked_select,
nonzero and one_hot.

Each is an exact composite of the op table's ``take`` (whose gradient adds into the taken
positions), ``index_scatter`` (its adjoint) and ``where``: an index tensor is turned once into
flat positions in the target, checked as PyTorch checks them (an index out of range raises,
as CuPy would silently wrap). Indices, masks and one-hot codes are not differentiable.
"""

from __future__ import annotations

import math
import numbers

from zen import ops, tensor
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.ops import reshape
from zen.recorder import grad_enabled
from zen.tensor import Tensor, TensorLike, as_tensor, constant, on_device_of

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _index(op_name, x, index):
    """``index`` as an int64 array on ``x``'s device; integers only."""
    array = ops.index_array(op_name, index, x)
    if not x.backend.is_integral(array.dtype):
        raise DtypeError(f"{op_name}: index must hold integers, got dtype {array.dtype}")
    int64 = x.backend.dtype("int64")
    return array if array.dtype == int64 else array_namespaces[x.backend].astype(array, int64)


def _positions(op_name, x, axis, index, src_shape=None):
    """The flat position in ``x`` of each element of ``index`` (row-major, as 1-D), where
    element i of index names ``x[i_0, .., index[i], .., i_n]`` along ``axis``."""
    if index.ndim != x.ndim:
        raise ShapeMismatchError(f"{op_name}: index must have the tensor's {x.ndim} "
                                 f"dimension(s), got shape {tuple(index.shape)}")
    wide = [d for d in range(x.ndim) if d != axis and index.shape[d] > x.shape[d]]
    if src_shape is not None:
        wide += [d for d in range(x.ndim) if index.shape[d] > src_shape[d]]
    if wide:
        raise ShapeMismatchError(f"{op_name}: index of shape {tuple(index.shape)} is longer "
                                 f"than the tensor {x.shape}" + ("" if src_shape is None else
                                 f" or the source {tuple(src_shape)}") + f" on axis {wide[0]}")
    xp = array_namespaces[x.backend]
    index = ops.checked_indices(op_name, index, x.shape, axis, x.backend, negatives=False)
    positions, stride = xp.zeros(index.shape, dtype=index.dtype, device=index.device), 1
    for d in reversed(range(x.ndim)):
        along = tuple(-1 if i == d else 1 for i in range(x.ndim))
        positions = positions + stride * (index if d == axis else xp.reshape(
            xp.arange(index.shape[d], dtype=index.dtype, device=index.device), along))
        stride *= x.shape[d]
    return xp.reshape(positions, (-1,))


def gather(x: TensorLike, axis: int, index: TensorLike) -> Tensor:
    """PyTorch's ``gather``: ``out[i][j][k] = x[i][index[i][j][k]][k]`` for axis 1; the
    result has index's shape (no larger than x's but along ``axis``). Repeated indices add
    up in the gradient. (``take`` is NumPy's gather along one axis.)"""
    return _gathered("gather", as_tensor(x), axis, index)


def _gathered(op_name, x, axis, index):
    axis = ops.one_axis(op_name, axis, x.ndim)
    index = _index(op_name, x, index)
    positions = _positions(op_name, x, axis, index)
    return reshape(ops.take_checked(_flat(x), positions, 0), tuple(index.shape))


def take_along_dim(x: TensorLike, indices: TensorLike, axis: int | None = None) -> Tensor:
    """PyTorch's ``take_along_dim``: ``gather`` along ``axis`` after ``x`` and ``indices``
    (of as many dimensions) broadcast against each other on every other axis; with no axis,
    of the flattened ``x`` at the flattened indices. An index outside [0, n) raises, as
    gather (PyTorch's reads outside the slice along an axis)."""
    x = as_tensor(x)
    index = _index("take_along_dim", x, indices)
    xp = array_namespaces[x.backend]
    if axis is None:
        return _gathered("take_along_dim", reshape(x, -1), 0, xp.reshape(index, (-1,)))
    if index.ndim != x.ndim:
        raise ShapeMismatchError(f"take_along_dim: indices must have the tensor's {x.ndim} "
                                 f"dimension(s), got shape {tuple(index.shape)}")
    axis = ops.one_axis("take_along_dim", axis, x.ndim)
    others = ops.broadcast_shape("take_along_dim", _without(x.shape, axis),
                              _without(tuple(index.shape), axis))
    x = ops.broadcast_to(x, _with(others, axis, x.shape[axis]))
    index = xp.broadcast_to(index, _with(others, axis, index.shape[axis]))
    return _gathered("take_along_dim", x, axis, index)


def _without(shape, axis):
    """``shape`` with length 1 at ``axis``."""
    return _with(shape, axis, 1)


def _with(shape, axis, length):
    return tuple(length if i == axis else n for i, n in enumerate(shape))


def index_select(x: TensorLike, axis: int, index: TensorLike) -> Tensor:
    """The slices of ``x`` at the 1-D (or 0-d) integer ``index`` along ``axis``."""
    x = as_tensor(x)
    array = _index("index_select", x, index)
    if array.ndim > 1:
        raise ShapeMismatchError(f"index_select: index must be 1-D, got shape "
                                 f"{tuple(array.shape)}")
    return ops.take(x, array_namespaces[x.backend].reshape(array, (-1,)), axis)


def _operands(op_name, x, axis, index, src):
    """x, the normalised axis, the flat positions, and src cut to index's shape and
    flattened (a number for src fills it)."""
    x = as_tensor(x)
    axis = ops.one_axis(op_name, axis, x.ndim)
    index = _index(op_name, x, index)
    if isinstance(src, Tensor) or hasattr(src, "shape"):
        src = as_tensor(src)
        if src.dtype != x.dtype:
            raise DtypeError(f"{op_name}: src must have the tensor's dtype {x.dtype}, got "
                             f"{src.dtype}")
        positions = _positions(op_name, x, axis, index, src.shape)
        if tuple(src.shape) != tuple(index.shape):
            src = src[tuple(slice(0, n) for n in index.shape)]
    else:
        positions = _positions(op_name, x, axis, index)
        src = ops.broadcast_to(on_device_of(x, src, x.dtype), index.shape)
    return x, positions, _flat(src)


def _flat(x):
    """``x`` as 1-D (reshape's -1 cannot say how long an empty tensor is)."""
    return reshape(x, (math.prod(x.shape),))


def _spread(x_flat, values, positions):
    """Zeros shaped like ``x_flat`` with ``values`` added at ``positions``."""
    return ops.index_scatter_p(x_flat, values, constant(positions, x_flat.backend), axis=0)


def _counts(x_flat, positions):
    """How many of ``positions`` name each element of ``x_flat``: an array of its dtype."""
    xp = array_namespaces[x_flat.backend]
    counts = xp.zeros(x_flat.shape, dtype=x_flat.dtype, device=positions.device)
    xp.index_add(counts, 0, positions, xp.ones(positions.shape, dtype=x_flat.dtype,
                                               device=positions.device))
    return counts


def scatter_add(x: TensorLike, axis: int, index: TensorLike, src: TensorLike) -> Tensor:
    """A copy of ``x`` with ``src[i][j][k]`` added at ``[i][index[i][j][k]][k]`` (axis 1);
    repeated indices add up. Only src's leading index-shaped part is used, as in PyTorch."""
    return _plus_spread(*_operands("scatter_add", x, axis, index, src))


def _plus_spread(x, positions, values):
    """``x`` with ``values`` added at the flat ``positions``."""
    return x + reshape(_spread(_flat(x), values, positions), x.shape)


def index_add(x: TensorLike, axis: int, index: TensorLike, source: TensorLike, *,
              alpha: float = 1) -> Tensor:
    """A copy of ``x`` with ``alpha * source`` added at slices ``index`` (1-D) along
    ``axis``: slice i of ``source`` to slice ``index[i]`` of ``x``, repeats adding up
    (``torch.index_add``)."""
    x, source = as_tensor(x), as_tensor(source)
    axis = ops.one_axis("index_add", axis, x.ndim)
    array = _index("index_add", x, index)
    count = math.prod(array.shape)
    if array.ndim > 1 or tuple(source.shape) != _with(x.shape, axis, count):
        raise ShapeMismatchError(f"index_add: needs a 1-D index and a source of shape "
                                 f"{_with(x.shape, axis, count)}, got index of shape "
                                 f"{tuple(array.shape)} and source of shape {source.shape}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Number):
        raise ArgumentError(f"index_add: alpha must be a number, got {alpha!r}")
    xp = array_namespaces[x.backend]
    along = tuple(count if d == axis else 1 for d in range(x.ndim))
    spread = xp.broadcast_to(xp.reshape(array, along), tuple(source.shape))
    scaled = source if alpha == 1 else ops.multiply(alpha, source)
    return _plus_spread(*_operands("index_add", x, axis, spread, scaled))


def scatter(x: TensorLike, axis: int, index: TensorLike, src: TensorLike) -> Tensor:
    """A copy of ``x`` with ``src[i][j][k]`` written at ``[i][index[i][j][k]][k]`` (axis 1);
    a number for ``src`` (PyTorch's ``value=``) writes that number. Where an index repeats,
    one of its values is written (PyTorch leaves which undefined) and gets the gradient."""
    x, positions, values = _operands("scatter", x, axis, index, src)
    xp, flat = array_namespaces[x.backend], _flat(x)
    if not positions.shape[0]:
        return ops.copy(x)
    int64 = positions.dtype
    winner = xp.full(flat.shape, -1, dtype=int64, device=positions.device)
    xp.index_set(winner, (positions,), xp.arange(positions.shape[0], dtype=int64,
                                                 device=positions.device))
    chosen = ops.take_checked(values, xp.where(winner >= 0, winner, 0), 0)
    return reshape(ops.where(constant(winner >= 0, x.backend), chosen, flat), x.shape)


def scatter_reduce(x: TensorLike, axis: int, index: TensorLike, src: TensorLike,
                   reduce: str, include_self: bool = True) -> Tensor:
    """``x`` with each element that ``index`` names (see ``scatter``) replaced by the
    ``reduce`` ("sum", "prod", "mean", "amax" or "amin") of the src values sent to it, and
    of its own value if ``include_self``. As in PyTorch, amax/amin share the gradient
    evenly among tied values; "mean" needs a floating tensor (PyTorch floors integers)."""
    if reduce not in REDUCTIONS:
        raise ArgumentError(f"scatter_reduce: reduce must be one of {REDUCTIONS}, got "
                            f"{reduce!r}")
    x, positions, values = _operands("scatter_reduce", x, axis, index, src)
    if reduce == "mean" and not x.backend.is_floating(x.dtype):
        raise DtypeError(f"scatter_reduce: reduce='mean' needs a floating tensor, got "
                         f"{x.dtype}; convert with .astype('float32')")
    flat = _flat(x)
    counts = _counts(flat, positions)
    hit = constant(counts > 0, x.backend)
    if reduce in ("amax", "amin"):
        reduced = _extremum(flat, values, positions, counts, reduce == "amax", include_self)
    elif reduce == "prod":
        reduced = _segment_products(flat, values, positions)
        reduced = flat * reduced if include_self else reduced
    else:
        reduced = _spread(flat, values, positions) + (flat if include_self else 0)
        if reduce == "mean":
            reduced = reduced / constant(array_namespaces[x.backend].where(
                counts > 0, counts + (1 if include_self else 0), 1), x.backend)
    return reshape(ops.where(hit, reduced, flat), x.shape)


def _segment_scan(values, positions, combine):
    """``values`` ordered by position (stably) and scanned with ``combine`` within each run
    of one position (Hillis-Steele, log2(n) steps); returns the scan's last value of each
    run and the run's position."""
    xp = array_namespaces[values.backend]
    order = xp.argsort(positions, stable=True)
    ordered = xp.take(positions, order)
    values = ops.take_checked(values, order, 0)
    starts = xp.searchsorted(ordered, ordered, side="left")
    here = xp.arange(ordered.shape[0], dtype=ordered.dtype, device=ordered.device)
    length, shift = ordered.shape[0], 1
    while shift < length:
        same_run = constant(xp.greater_equal(here[shift:] - shift, starts[shift:]),
                            values.backend)
        later = values[shift:]
        combined = ops.where(same_run, combine(values[:length - shift], later), later)
        values = ops.concat([values[:shift], combined], axis=0)
        shift *= 2
    ends = xp.nonzero(xp.searchsorted(ordered, ordered, side="right") - 1 == here)[0]
    return ops.take_checked(values, ends, 0), xp.take(ordered, ends)


def _segment_products(flat, values, positions):
    """The product of the values sent to each position (anything where none is sent)."""
    products, where_to = _segment_scan(values, positions, ops.multiply)
    return _spread(flat, products, where_to)


def _extremum(flat, values, positions, counts, largest, include_self):
    """The max (or min) sent to each position, with its own value if ``include_self``: the
    value as a constant, plus each tied contributor's share of its gradient."""
    best = ops.maximum if largest else ops.minimum
    with grad_enabled(False):
        extremes, where_to = _segment_scan(values.detach(), positions, best)
        extreme = _spread(flat, extremes, where_to).value
    xp = array_namespaces[flat.backend]
    if include_self:
        hit = counts > 0
        extreme = xp.where(hit, (xp.maximum if largest else xp.minimum)(extreme, flat.value),
                           extreme)
    sent_ties = xp.equal(values.value, xp.take(extreme, positions))
    self_ties = xp.equal(flat.value, extreme) if include_self else \
        xp.zeros(flat.shape, dtype=flat.backend.dtype("bool"), device=positions.device)
    ties = _counts(flat, positions[sent_ties]) + xp.astype(self_ties, flat.dtype)
    sent = ops.where(constant(sent_ties, flat.backend), values - values.detach(), 0.0)
    own = ops.where(constant(self_ties, flat.backend), flat - flat.detach(), 0.0)
    share = (_spread(flat, sent, positions) + own) / constant(
        xp.where(ties > 0, ties, 1), flat.backend)
    return constant(extreme, flat.backend) + share


def masked_fill(x: TensorLike, mask: TensorLike, value: TensorLike) -> Tensor:
    """``x`` with ``value`` (a number or a 0-d Tensor, in x's dtype) where the bool
    ``mask`` (broadcast to x) is true."""
    x = as_tensor(x)
    mask = as_tensor(mask)
    if not x.backend.is_bool(mask.dtype):
        raise DtypeError(f"masked_fill: mask must be bool, got {mask.dtype}; compare first, "
                         f"e.g. x > 0")
    value = on_device_of(x, value, x.dtype)
    if value.ndim:
        raise ShapeMismatchError(f"masked_fill: value must be a number or a 0-d Tensor, got "
                                 f"shape {value.shape}")
    return ops.astype(ops.where(mask, value, x), x.dtype) if value.dtype != x.dtype else \
        ops.where(mask, value, x)


def masked_select(x: TensorLike, mask: TensorLike) -> Tensor:
    """The elements of ``x`` where the bool ``mask`` is true (the two broadcast), as 1-D.
    Its size depends on the data: eager only."""
    x, mask = as_tensor(x), as_tensor(mask)
    if not x.backend.is_bool(mask.dtype):
        raise DtypeError(f"masked_select: mask must be bool, got {mask.dtype}")
    shape = ops.broadcast_shape("masked_select", x.shape, mask.shape)
    return ops.broadcast_to(x, shape)[ops.broadcast_to(mask, shape).value]


def nonzero(x: TensorLike, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The int64 indices of ``x``'s nonzero elements: an (n, x.ndim) tensor, or with
    ``as_tuple`` one 1-D tensor per axis. Its size depends on the data: eager only."""
    x = as_tensor(x)
    xp, int64 = array_namespaces[x.backend], x.backend.dtype("int64")
    if x.ndim == 0:     # as PyTorch: shape (1, 0) or (0, 0), or one index 0 if as_tuple
        count = int(bool(x.value))
        empty = xp.zeros((count,) if as_tuple else (count, 0), dtype=int64,
                         device=x.value.device)
        return (constant(empty, x.backend),) if as_tuple else constant(empty, x.backend)
    found = [xp.astype(part, int64) for part in xp.nonzero(x.value)]
    if as_tuple:
        return tuple(constant(part, x.backend) for part in found)
    return constant(xp.stack(found, axis=1), x.backend)


def where(condition: TensorLike, x: TensorLike | None = None, y: TensorLike | None = None
          ) -> Tensor | tuple[Tensor, ...]:
    """``x`` where ``condition`` holds, else ``y`` (broadcast together); with the condition
    alone, ``nonzero(condition, as_tuple=True)``, as ``torch.where``."""
    if x is None and y is None:
        return nonzero(condition, as_tuple=True)
    if x is None or y is None:
        raise ArgumentError("where: give the condition alone, or the condition, x and y; got "
                            "only one of x and y")
    return ops.where(condition, x, y)


def one_hot(x: TensorLike, num_classes: int = -1) -> Tensor:
    """Integer class indices as int64 one-hot rows along a new last axis of length
    ``num_classes`` (-1: one more than the largest index, which depends on the data)."""
    x = as_tensor(x)
    if not x.backend.is_integral(x.dtype):
        raise DtypeError(f"one_hot: needs integer class indices, got dtype {x.dtype}")
    xp = array_namespaces[x.backend]
    size = math.prod(x.shape)
    low = int(xp.min(x.value)) if size else 0
    high = int(xp.max(x.value)) if size else -1
    if num_classes == -1:
        num_classes = high + 1
    if not isinstance(num_classes, int) or num_classes < 0 or low < 0 or high >= num_classes:
        raise ArgumentError(f"one_hot: class indices must be in [0, num_classes), got "
                            f"{low}..{high} with num_classes={num_classes!r}")
    classes = xp.arange(num_classes, dtype=x.value.dtype, device=x.value.device)
    codes = xp.equal(xp.reshape(x.value, tuple(x.shape) + (1,)), classes)
    return constant(xp.astype(codes, x.backend.dtype("int64")), x.backend)


tensor.functions.provide(
    gather=gather, index_select=index_select, scatter=scatter, scatter_add=scatter_add,
    scatter_reduce=scatter_reduce, masked_fill=masked_fill, masked_select=masked_select,
    nonzero=nonzero, take_along_dim=take_along_dim, index_add=index_add)
