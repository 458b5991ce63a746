"""Shape ops as PyTorch spells them (flip, roll, tile, repeat_interleave, tril, triu, diagonal,
diag, meshgrid, chunk, narrow, movedim, pad), each an exact composite of zen's primitives:
slices (views where the backend can), concat, reshape, broadcast_to and where. Their
gradients, of every order, follow from those primitives' own.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence

from zen import functional, ops, tensor
from zen.errors import ArgumentError, AxisError, IndexOutOfRangeError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.ops import normalise_axes, reshape
from zen.tensor import Axes, Tensor, TensorLike, as_tensor, constant

PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _along(axis, part):
    """The key that applies ``part`` (a slice) to ``axis`` and keeps every other axis."""
    return (slice(None),) * axis + (part, Ellipsis)


def _ints(op_name, name, value):
    """An int or a sequence of ints as a tuple of ints."""
    values = (value,) if isinstance(value, numbers.Integral) else \
        tuple(value) if isinstance(value, (tuple, list)) else None
    if values is None or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                 for v in values):
        raise ArgumentError(f"{op_name}: {name} must be an int or a tuple of ints, "
                            f"got {value!r}")
    return tuple(int(v) for v in values)


def flip(x: TensorLike, axis: Axes) -> Tensor:
    """``x`` with the order of its elements reversed along ``axis`` (an int or a tuple), as
    ``torch.flip(x, dims)``; a view where the backend makes one."""
    x = as_tensor(x)
    axes = normalise_axes("flip", axis, x.ndim) or ()
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


def roll(x: TensorLike, shifts: int | Sequence[int], axis: Axes = None) -> Tensor:
    """``x`` shifted by ``shifts`` along ``axis``, elements that leave one end coming back at
    the other; with ``axis=None`` the flattened tensor is rolled, and reshaped back."""
    x = as_tensor(x)
    shifts = _ints("roll", "shifts", shifts)
    if axis is None:
        if len(shifts) != 1:
            raise ArgumentError(f"roll: without an axis, shifts must be one int, got {shifts}")
        return reshape(roll(reshape(x, -1), shifts, 0), x.shape)
    axes = tuple(ops.one_axis("roll", a, x.ndim) for a in _ints("roll", "axis", axis))
    if len(axes) != len(shifts):
        raise ArgumentError(f"roll: {len(shifts)} shift(s) for {len(axes)} axis(es)")
    for shift, a in zip(shifts, axes, strict=True):
        cut = x.shape[a] - shift % x.shape[a] if x.shape[a] else 0
        if cut not in (0, x.shape[a]):
            x = ops.concat([x[_along(a, slice(cut, None))], x[_along(a, slice(None, cut))]], a)
    return x


def tile(x: TensorLike, reps: Sequence[int]) -> Tensor:
    """``x`` repeated ``reps[i]`` times along axis i, as ``torch.tile``: fewer reps than
    axes count for the last axes, more add leading axes."""
    x = as_tensor(x)
    reps = _ints("tile", "reps", reps)
    if any(r < 0 for r in reps):
        raise ArgumentError(f"tile: reps must be non-negative, got {reps}")
    ndim = max(len(reps), x.ndim)
    reps, shape = (1,) * (ndim - len(reps)) + reps, (1,) * (ndim - x.ndim) + x.shape
    interleaved = tuple(itertools.chain.from_iterable(zip(reps, shape, strict=True)))
    spread = reshape(x, tuple(itertools.chain.from_iterable((1, n) for n in shape)))
    merged = tuple(r * n for r, n in zip(reps, shape, strict=True))
    return reshape(ops.broadcast_to(spread, interleaved), merged)


def repeat(x: TensorLike, *sizes: int | Sequence[int]) -> Tensor:
    """``x.repeat(*sizes)`` as in PyTorch, which is ``tile``, but with at least as many
    sizes as ``x`` has axes."""
    x = as_tensor(x)
    sizes = ops.shape_argument(sizes, "repeat")
    if len(sizes) < x.ndim:
        raise ArgumentError(f"repeat: {len(sizes)} size(s) for a tensor with {x.ndim} axes; "
                            f"give at least one per axis (or use tile)")
    return tile(x, sizes)


def repeat_interleave(x: TensorLike, repeats: int | TensorLike, axis: int | None = None
                      ) -> Tensor:
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (over the flattened
    tensor when None), next to itself. ``repeats`` is an int, or one count per element
    along the axis (a Tensor or a list): then the result's size depends on the data, so
    this runs eagerly, reading the counts."""
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, -1), 0
    axis = ops.one_axis("repeat_interleave", axis, max(x.ndim, 1))
    if x.ndim == 0:
        x = reshape(x, 1)
    if isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        if repeats < 0:
            raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got "
                                f"{repeats}")
        spread = ops.broadcast_to(reshape(x, x.shape[:axis + 1] + (1,) + x.shape[axis + 1:]),
                                  x.shape[:axis + 1] + (int(repeats),) + x.shape[axis + 1:])
        return reshape(spread, x.shape[:axis] + (-1,) + x.shape[axis + 1:])
    return ops.take_checked(x, _repeated_positions(x, repeats, axis), axis)


def _repeated_positions(x, repeats, axis):
    """The positions 0, 0, 1, 2, 2, 2, ... that repeat element i of ``axis`` ``repeats[i]``
    times: an int64 array on ``x``'s device."""
    counts = ops.index_array("repeat_interleave", repeats, x)
    xp, length = array_namespaces[x.backend], x.shape[axis]
    if counts.ndim > 1 or counts.shape[0] not in (1, length) or \
            not x.backend.is_integral(counts.dtype):
        raise ShapeMismatchError(f"repeat_interleave: repeats must be an int or 1-D integers, "
                                 f"one per element of axis {axis} (length {length}), got "
                                 f"shape {tuple(counts.shape)} and dtype {counts.dtype}")
    counts = xp.astype(xp.broadcast_to(counts, (length,)), x.backend.dtype("int64"))
    if length and int(xp.min(counts)) < 0:
        raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got "
                            f"{int(xp.min(counts))}")
    # i appears counts[i] times: position p belongs to the first i whose running total
    # passes p (cupy.repeat takes no array of counts, so no xp.repeat)
    ends = xp.cumulative_sum(counts)
    total = int(ends[-1]) if length else 0
    wanted = xp.arange(total, dtype=counts.dtype, device=counts.device)
    return xp.searchsorted(ends, wanted, side="right")


def _band(op_name, x, keep):
    """``x`` where ``keep(column - row)`` holds on its last two axes, else zero."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ShapeMismatchError(f"{op_name}: needs a tensor of two or more axes, got shape "
                                 f"{x.shape}")
    xp, device = array_namespaces[x.backend], x.value.device
    rows, columns = x.shape[-2:]
    offsets = xp.subtract(xp.reshape(xp.arange(columns, device=device), (1, columns)),
                          xp.reshape(xp.arange(rows, device=device), (rows, 1)))
    zero = False if x.backend.is_bool(x.dtype) else 0
    return ops.where(constant(keep(xp, offsets), x.backend), x, zero)


def tril(x: TensorLike, diagonal: int = 0) -> Tensor:
    """The lower triangle of (each matrix in) ``x``: elements on and below ``diagonal``
    (0 the main one, > 0 above it, < 0 below), zeros elsewhere."""
    return _band("tril", x, lambda xp, offsets: xp.less_equal(offsets, int(diagonal)))


def triu(x: TensorLike, diagonal: int = 0) -> Tensor:
    """The upper triangle of (each matrix in) ``x``: elements on and above ``diagonal``,
    zeros elsewhere."""
    return _band("triu", x, lambda xp, offsets: xp.greater_equal(offsets, int(diagonal)))


def diagonal(x: TensorLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``offset`` of the matrices on ``axis1`` and ``axis2``, as a new last axis
    (``torch.diagonal``); a view where the backend makes one."""
    x = as_tensor(x)
    first, second = ops.one_axis("diagonal", axis1, x.ndim), ops.one_axis("diagonal", axis2, x.ndim)
    if first == second:
        raise AxisError(f"diagonal: axis1 and axis2 are both axis {first}")
    others = tuple(a for a in range(x.ndim) if a not in (first, second))
    if others + (first, second) != tuple(range(x.ndim)):
        x = ops.permute_dims(x, others + (first, second))
    rows, columns = x.shape[-2:]
    count = max(0, min(rows, columns - offset) if offset >= 0 else min(rows + offset, columns))
    start = offset if offset >= 0 else -offset * columns
    flat = reshape(x, x.shape[:-2] + (rows * columns,))
    return flat[..., start:start + (count - 1) * (columns + 1) + 1:columns + 1] if count else \
        flat[..., 0:0]


def diag(x: TensorLike, diagonal: int = 0) -> Tensor:
    """``torch.diag``: a 1-D ``x`` as the ``diagonal`` of a square matrix of zeros; a 2-D
    ``x``'s diagonal number ``diagonal``."""
    x = as_tensor(x)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    if x.ndim != 1:
        raise ShapeMismatchError(f"diag: needs a 1-D or 2-D tensor, got shape {x.shape}")
    return _diagonal_matrices(x, diagonal)


def _diagonal_matrices(x, offset):
    """The last axis of ``x``, of length n, as diagonal ``offset`` of square matrices of
    zeros (n + |offset| a side), on two new last axes."""
    length, shift, lead = x.shape[-1], abs(int(offset)), x.shape[:-1]
    # Each element followed by `length` zeros, read back in rows of length + 1: a diagonal.
    widths = ((0, 0),) * len(lead) + ((0, 0), (0, length))
    spaced = ops.pad_p(reshape(x, lead + (length, 1)), widths=widths)
    flat = reshape(spaced, lead + (-1,))[..., :length * length]
    square = reshape(flat, lead + (length, length))
    corner = ((0, shift), (shift, 0)) if offset >= 0 else ((shift, 0), (0, shift))
    return ops.pad_p(square, widths=((0, 0),) * len(lead) + corner) if shift else square


def diag_embed(x: TensorLike, offset: int = 0, axis1: int = -2, axis2: int = -1) -> Tensor:
    """``torch.diag_embed``: the last axis of ``x`` as diagonal ``offset`` of matrices of
    zeros on the result's axes ``axis1`` and ``axis2`` (the result has one axis more)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ShapeMismatchError("diag_embed: needs a tensor of one or more axes, got a 0-d "
                                 "tensor")
    first, second = (ops.one_axis("diag_embed", a, x.ndim + 1) for a in (axis1, axis2))
    if first == second:
        raise AxisError(f"diag_embed: axis1 and axis2 are both axis {first}")
    return movedim(_diagonal_matrices(x, _ints("diag_embed", "offset", offset)[0]),
                   (-2, -1), (first, second))


def meshgrid(*tensors: TensorLike | Sequence[TensorLike], indexing: str = "ij"
             ) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D (or 0-d) tensors, as ``torch.meshgrid``: with
    ``indexing='ij'`` grid i varies along axis i; with ``'xy'`` the first two axes swap."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    tensors = [as_tensor(t) for t in tensors]
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ShapeMismatchError(f"meshgrid: needs 1-D or 0-d tensors, got shapes "
                                 f"{[t.shape for t in tensors]}")
    sizes = [math.prod(t.shape) for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(order) > 1:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[i] for i in order)
    return tuple(ops.broadcast_to(reshape(t, tuple(-1 if order[a] == i else 1
                                                   for a in range(len(order)))), shape)
                 for i, t in enumerate(tensors))


def chunk(x: TensorLike, chunks: int, axis: int = 0) -> list[Tensor]:
    """``x`` cut along ``axis`` into pieces of ceil(length / chunks), as ``torch.chunk``: the
    last may be smaller, and there may be fewer than ``chunks``."""
    x = as_tensor(x)
    if not isinstance(chunks, numbers.Integral) or isinstance(chunks, bool) or chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be a positive int, got {chunks!r}")
    size = -(-x.shape[ops.one_axis("chunk", axis, x.ndim)] // chunks)
    return functional.split(x, size or [0] * chunks, axis)


def narrow(x: TensorLike, axis: int, start: int, length: int) -> Tensor:
    """Elements ``start`` to ``start + length`` of ``axis`` (``start`` < 0 counts from the
    end), as ``torch.narrow``: a view where the backend makes one."""
    x = as_tensor(x)
    axis = ops.one_axis("narrow", axis, x.ndim)
    size = x.shape[axis]
    begin = start + size if start < 0 else start
    if not 0 <= begin <= size or length < 0 or begin + length > size:
        raise IndexOutOfRangeError(f"narrow: start {start} and length {length} do not fit "
                                   f"axis {axis} of length {size} (tensor of shape {x.shape})")
    return x[_along(axis, slice(begin, begin + length))]


def movedim(x: TensorLike, source: int | Sequence[int], destination: int | Sequence[int]
            ) -> Tensor:
    """``x`` with axes ``source`` moved to positions ``destination``, the others keeping
    their order (``torch.movedim``)."""
    x = as_tensor(x)
    sources, destinations = _ints("movedim", "source", source), \
        _ints("movedim", "destination", destination)
    if len(sources) != len(destinations):
        raise ArgumentError(f"movedim: {len(sources)} source axes for {len(destinations)} "
                            f"destinations")
    sources = tuple(ops.one_axis("movedim", a, x.ndim) for a in sources)
    destinations = tuple(ops.one_axis("movedim", a, x.ndim) for a in destinations)
    if len(set(sources)) < len(sources) or len(set(destinations)) < len(destinations):
        raise AxisError(f"movedim: repeated axes in source {source} or destination "
                        f"{destination}")
    rest = iter(a for a in range(x.ndim) if a not in sources)
    placed = dict(zip(destinations, sources, strict=True))
    return ops.permute_dims(x, tuple(placed[i] if i in placed else next(rest)
                                     for i in range(x.ndim)))


def pad(x: TensorLike, pad: int | Sequence[int], mode: str = "constant",
        value: float | None = None, axes: Axes = None) -> Tensor:
    """``x`` padded. ``pad`` is PyTorch's flat tuple, (before, after) pairs from the last axis
    backwards: ``(1, 2)`` pads the last axis, ``(1, 2, 0, 3)`` the last two; or an int, the
    same width on both sides of each of ``axes`` (default: all). Negative widths crop.
    ``mode``: ``'constant'`` (``value``, default 0), ``'reflect'`` (mirrored without the
    edge), ``'replicate'`` (the edge repeated) or ``'circular'`` (wrapped around), on any
    axes."""
    x = as_tensor(x)
    widths = _pad_widths(x, pad, axes)
    if mode not in PAD_MODES:
        raise ArgumentError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    if value is not None and mode != "constant":
        raise ArgumentError(f"pad: mode {mode!r} takes no value, got value={value!r}")
    if any(width < 0 for pair in widths for width in pair):
        x = x[tuple(slice(max(0, -before), n - max(0, -after))
                    for n, (before, after) in zip(x.shape, widths, strict=True))]
    widths = tuple((max(0, before), max(0, after)) for before, after in widths)
    if mode == "constant":
        kind = float if x.backend.is_floating(x.dtype) else int
        return ops.pad_p(x, widths=widths, value=kind(value or 0))
    for axis, (before, after) in enumerate(widths):
        if before or after:
            x = _PADDERS[mode](x, axis, before, after)
    return x


def _pad_widths(x, pad, axes):
    """(before, after) for every axis of ``x`` from ``pad``'s flat tuple or its int."""
    widths = _symmetric_widths(x, pad, axes) if isinstance(pad, numbers.Integral) and \
        not isinstance(pad, bool) else _flat_widths(x, pad, axes)
    for axis, (n, (before, after)) in enumerate(zip(x.shape, widths, strict=True)):
        if n + before + after < 0:
            raise ShapeMismatchError(f"pad: widths {(before, after)} crop axis {axis} of "
                                     f"length {n} below nothing (tensor of shape {x.shape})")
    return widths


def _symmetric_widths(x, pad, axes):
    chosen = range(x.ndim) if axes is None else normalise_axes("pad", axes, x.ndim)
    return tuple((int(pad),) * 2 if i in chosen else (0, 0) for i in range(x.ndim))


def _flat_widths(x, pad, axes):
    flat = _ints("pad", "pad", pad) if isinstance(pad, (tuple, list)) else None
    if flat is None or len(flat) % 2 or len(flat) > 2 * x.ndim or axes is not None:
        raise ArgumentError(f"pad: pad must be an int, or a flat tuple of (before, after) "
                            f"pairs from the last axis backwards (at most {x.ndim} pairs for "
                            f"shape {x.shape}, and no axes=), got {pad!r}")
    pairs = [flat[i:i + 2] for i in range(0, len(flat), 2)]
    return ((0, 0),) * (x.ndim - len(pairs)) + tuple(reversed(pairs))


def _checked_width(mode, x, axis, width, most):
    if width > most:
        raise ShapeMismatchError(f"pad: mode {mode!r} pads axis {axis} of length "
                                 f"{x.shape[axis]} by at most {most}, got {width} (tensor "
                                 f"of shape {x.shape})")


def _reflect(x, axis, before, after):
    length = x.shape[axis]
    _checked_width("reflect", x, axis, max(before, after), length - 1)
    parts = [flip(x[_along(axis, slice(1, before + 1))], axis), x,
             flip(x[_along(axis, slice(length - after - 1, length - 1))], axis)]
    return ops.concat(parts, axis)


def _replicate(x, axis, before, after):
    _checked_width("replicate", x, axis, 1 if before or after else 0, x.shape[axis])

    def edge(part, width):
        return ops.broadcast_to(x[_along(axis, part)],
                                x.shape[:axis] + (width,) + x.shape[axis + 1:])

    return ops.concat([edge(slice(0, 1), before), x, edge(slice(-1, None), after)], axis)


def _circular(x, axis, before, after):
    length = x.shape[axis]
    _checked_width("circular", x, axis, max(before, after), length)
    parts = [x[_along(axis, slice(length - before, length))], x,
             x[_along(axis, slice(0, after))]]
    return ops.concat(parts, axis)


_PADDERS = {"reflect": _reflect, "replicate": _replicate, "circular": _circular}


# PyTorch's other shape functions, each a few lines over one of zen's.

def permute(x: TensorLike, *axes: int | Sequence[int]) -> Tensor:
    """``x`` with its axes reordered: result axis i is input axis ``axes[i]``; the axes as
    one tuple (``torch.permute(x, dims)``) or one by one (``x.permute(2, 0, 1)``)."""
    return ops.permute_dims(x, ops.shape_argument(axes, "permute"))


def t(x: TensorLike) -> Tensor:
    """A matrix transposed; a tensor of 0 or 1 axes as it is (``torch.t``)."""
    x = as_tensor(x)
    if x.ndim > 2:
        raise AxisError(f"t: needs a tensor of at most 2 axes, got shape {x.shape}; use "
                        f"transpose(x, axis0, axis1) or x.mT")
    return ops.transpose(x)


def unbind(x: TensorLike, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``axis``, each without that axis (``torch.unbind``)."""
    x = as_tensor(x)
    axis = ops.one_axis("unbind", axis, x.ndim)
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def expand(x: TensorLike, *sizes: int | Sequence[int]) -> Tensor:
    """``x`` broadcast to ``sizes``, where -1 keeps an axis's length (``x.expand``)."""
    x = as_tensor(x)
    sizes = ops.shape_argument(sizes, "expand")
    new = len(sizes) - x.ndim
    if new < 0 or -1 in sizes[:new]:
        raise ShapeMismatchError(f"expand: sizes {sizes} need one per axis of shape "
                                 f"{x.shape}, new axes first, and a new axis has no length "
                                 f"to keep (-1)")
    shape = tuple(x.shape[i - new] if n == -1 else n for i, n in enumerate(sizes))
    return ops.broadcast_to(x, shape)


def fliplr(x: TensorLike) -> Tensor:
    """``x`` reversed along axis 1, its columns (``torch.fliplr``; 2 axes or more)."""
    return flip(_at_least("fliplr", x, 2), 1)


def flipud(x: TensorLike) -> Tensor:
    """``x`` reversed along axis 0, its rows (``torch.flipud``; 1 axis or more)."""
    return flip(_at_least("flipud", x, 1), 0)


def _at_least(op_name, x, ndim):
    x = as_tensor(x)
    if x.ndim < ndim:
        raise AxisError(f"{op_name}: needs a tensor of at least {ndim} axes, got shape "
                        f"{x.shape}")
    return x




# Sub-pixel rearrangements, as torch.nn.functional's.

def pixel_shuffle(input: TensorLike, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r) for r = ``upscale_factor``: each group of
    r^2 channels becomes an r x r block of pixels, as ``torch.nn.functional.pixel_shuffle``."""
    x = as_tensor(input)
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ShapeMismatchError(f"pixel_shuffle: input must be (*, C * {r * r}, H, W), got "
                                 f"shape {x.shape}")
    *batch, channels, height, width = x.shape
    split = reshape(x, (*batch, channels // (r * r), r, r, height, width))
    n = len(batch)
    order = tuple(range(n + 1)) + tuple(n + a for a in (3, 1, 4, 2))
    return reshape(ops.permute_dims(split, order),
                   (*batch, channels // (r * r), height * r, width * r))


def pixel_unshuffle(input: TensorLike, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W), the inverse of ``pixel_shuffle``."""
    x = as_tensor(input)
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ShapeMismatchError(f"pixel_unshuffle: input must be (*, C, H * {r}, W * {r}), "
                                 f"got shape {x.shape}")
    *batch, channels, height, width = x.shape
    split = reshape(x, (*batch, channels, height // r, r, width // r, r))
    n = len(batch)
    order = tuple(range(n + 1)) + tuple(n + a for a in (2, 4, 1, 3))
    return reshape(ops.permute_dims(split, order),
                   (*batch, channels * r * r, height // r, width // r))


def _factor(op_name, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ArgumentError(f"{op_name}: {name} must be a positive int, got {value!r}")
    return int(value)


def unflatten(x: TensorLike, axis: int, sizes: Sequence[int]) -> Tensor:
    """``x`` with ``axis`` split into axes of ``sizes`` (one of them may be -1), as
    ``torch.unflatten``."""
    x = as_tensor(x)
    axis, sizes = ops.one_axis("unflatten", axis, x.ndim), _ints("unflatten", "sizes", sizes)
    known = math.prod(n for n in sizes if n != -1)
    length, free = x.shape[axis], sizes.count(-1)
    if not sizes or free > 1 or any(n < -1 for n in sizes) or \
            (length != known if not free else known == 0 or length % known):
        raise ShapeMismatchError(f"unflatten: sizes {sizes} do not split axis {axis} of "
                                 f"length {length} (tensor of shape {x.shape})")
    return reshape(x, x.shape[:axis] + sizes + x.shape[axis + 1:])


def _atleast_nd(x, ndim):
    """``x`` with 1-axes added, as ``torch.atleast_1d`` (ndim 1), ``atleast_2d`` (in front)
    and ``atleast_3d`` (a 1-D (n,) as (1, n, 1), a 2-D one with a last axis)."""
    x = as_tensor(x)
    if x.ndim >= ndim:
        return x
    if ndim == 3 and x.ndim:
        return reshape(x, (1,) * (x.ndim == 1) + x.shape + (1,))
    return reshape(x, (1,) * (ndim - x.ndim) + x.shape)


def _stacked(op_name, tensors, ndim, axis_of):
    tensors = [_atleast_nd(t, ndim) for t in tensors]
    if not tensors:
        raise ArgumentError(f"{op_name}: needs at least one tensor, got none")
    return ops.concat(tensors, axis_of(tensors))


def hstack(tensors: Sequence[TensorLike]) -> Tensor:
    """The tensors joined along their second axis (their first, if all are 1-D or 0-d),
    as ``torch.hstack``."""
    return _stacked("hstack", tensors, 1, lambda ts: 0 if all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors: Sequence[TensorLike]) -> Tensor:
    """The tensors joined along their first axis, 1-D ones as rows (``torch.vstack``)."""
    return _stacked("vstack", tensors, 2, lambda ts: 0)


def dstack(tensors: Sequence[TensorLike]) -> Tensor:
    """The tensors joined along a third axis, as ``torch.dstack``."""
    return _stacked("dstack", tensors, 3, lambda ts: 2)


tensor.functions.provide(
    permute=permute, t=t, unbind=unbind, expand=expand,
    flip=flip, roll=roll, tile=tile, repeat=repeat, repeat_interleave=repeat_interleave,
    tril=tril, triu=triu, diagonal=diagonal, diag=diag, chunk=chunk, narrow=narrow,
    movedim=movedim, unflatten=unflatten, diag_embed=diag_embed)
