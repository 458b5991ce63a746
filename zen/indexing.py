"""``x[key]`` and ``x[key] = value`` by PyTorch's rules, built from zen's primitives.

A key is applied in two steps, as PyTorch applies it: its basic part (ints, slices, None,
``...``) as one view, then its integer arrays and boolean masks as one gather: the indexed
axes brought together and merged into one, and ``take`` with the merged positions. So

- an integer is basic indexing: ``x[1, :, idx]`` of a (2, 5, 6) tensor has shape (5, 2)
  (NumPy gives (2, 5));
- index arrays broadcast together; adjacent ones put that shape where they stand, separated
  ones put it first;
- every backend computes the same values and, from take's VJP, the same gradients (repeated
  indices add up);
- an index out of range raises IndexOutOfRangeError, where CuPy would wrap it silently.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from zen import ops
from zen.errors import ArgumentError, AxisError, DtypeError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.tensor import Tensor, TensorLike, as_tensor

_BASIC_INDEX = (int, slice, type(None), type(Ellipsis))


def getitem(x: TensorLike, key: Any) -> Tensor:
    """``x[key]``: ints, slices (negative steps too), None, ``...``, integer arrays (repeated
    indices add up in the gradient) and boolean masks."""
    x = as_tensor(x)
    key = key if type(key) is tuple else (key,)
    if all(type(k) in _BASIC_INDEX for k in key):        # the common case, kept quick
        try:
            return ops.getitem_p(x, key=key if Ellipsis in key else key + (Ellipsis,))
        except IndexError:
            pass    # an int out of range, or slice bounds the backend refuses: see _parse
    basic, arrays = _parse("getitem", x, key)
    if not (arrays and all(part == slice(None) for part in basic)):
        x = ops.getitem_p(x, key=basic)
    return _gather(x, arrays) if arrays else x


def assignment(tensor, key, values):
    """The function that writes ``values`` (an array of ``tensor``'s dtype, on its device) at
    ``key`` into an array shaped like ``tensor``, where ``tensor[key]`` reads: the key and
    the shapes are checked now, before anything is written."""
    key = key if type(key) is tuple else (key,)
    basic, arrays = _parse("x[key] = value", tensor, key)
    dims = _basic_dims(tensor.shape, basic)
    index_shape = ops.broadcast_shape("x[key] = value", *(index.shape for _, index in arrays))
    layout = _layout(dims, arrays, index_shape)
    shape = tuple(index_shape[slot] if kind == "index" else dims[slot][0]
                  for kind, slot in layout)
    values = _fitted_values(tensor, values, shape)
    xp = array_namespaces[tensor.backend]
    if not arrays:
        return _basic_assignment(xp, basic, dims, values)
    coordinates = _coordinates(tensor, basic, dims, arrays, layout)
    return lambda array: xp.index_set(array, coordinates, values)


def _basic_assignment(xp, basic, dims, values):
    """The array API allows no None in a key to assign to: drop the new axes, from the key
    and from the values."""
    if any(part is None for part in basic):
        basic = tuple(part for part in basic if part is not None)
        values = xp.reshape(values, tuple(n for n, axis in dims if axis is not None))
    return lambda array: array.__setitem__(basic, values)


def _parse(op_name, x, key):
    """``key`` read against ``x``: a basic key with a part for every axis of ``x`` (ints in
    range and non-negative, slices with bounds inside the axis, None), and the index arrays
    as (dim of the basic result, int64 array of in-range indices), in order of dims."""
    parts = [_part(op_name, part, x) for part in key]
    named = _count_axes(op_name, parts, x)
    basic, arrays = [], []
    for part in parts:
        axis = len(basic) - basic.count(None)       # the axis of x this part starts at
        if part is Ellipsis:
            basic += [slice(None)] * (x.ndim - named)
        elif part is None:
            basic.append(None)
        elif isinstance(part, int):
            if not -x.shape[axis] <= part < x.shape[axis]:
                raise ops.out_of_range(op_name, part, x.shape, axis)
            basic.append(part % x.shape[axis])
        elif isinstance(part, slice):
            basic.append(_clamped(op_name, part, x.shape[axis]))
        else:
            dim = sum(not isinstance(done, int) for done in basic)
            indices = _index_arrays(op_name, part, x, axis)
            arrays += [(dim + i, index) for i, index in enumerate(indices)]
            basic += [slice(None)] * len(indices)
    basic += [slice(None)] * (x.ndim - len(basic) + basic.count(None))
    return tuple(basic), arrays


def _part(op_name, part, x):
    """One part of a key: an int, slice, None or ``...``, or an integer or boolean array on
    ``x``'s device; a 0-d integer array is an int, as in PyTorch."""
    if part is None or part is Ellipsis or isinstance(part, slice):
        return part
    if isinstance(part, bool):
        raise DtypeError(f"{op_name}: a bool ({part}) is not an index; use None for a new "
                         f"axis, or a boolean mask array")
    if isinstance(part, numbers.Integral):
        return int(part)
    array = ops.index_array(op_name, part, x)
    if array.ndim == 0:
        if x.backend.is_bool(array.dtype):
            raise DtypeError(f"{op_name}: a 0-d boolean mask is not an index; use None for a "
                             f"new axis")
        return int(array)
    return array


def _count_axes(op_name, parts, x):
    """How many axes of ``x`` the parts other than ``...`` index."""
    if sum(part is Ellipsis for part in parts) > 1:
        raise AxisError(f"{op_name}: an index may hold one '...', got {_describe(parts)}")
    named = sum(part.ndim if ops._is_array(part) and x.backend.is_bool(part.dtype) else 1
                for part in parts if part is not None and part is not Ellipsis)
    if named > x.ndim:
        raise AxisError(f"{op_name}: too many indices, {_describe(parts)}, for a tensor of "
                        f"shape {x.shape}")
    return named


def _describe(parts):
    return "(" + ", ".join(f"array of shape {tuple(part.shape)}" if ops._is_array(part)
                           else "..." if part is Ellipsis else repr(part)
                           for part in parts) + ")"


def _clamped(op_name, part, length):
    """``part`` with its bounds inside an axis of ``length`` and the same elements: the
    array API leaves bounds past the ends unspecified (array_api_strict refuses them)."""
    if part == slice(None):
        return part
    try:
        chosen = range(*part.indices(length))
    except (TypeError, ValueError) as error:
        raise ArgumentError(f"{op_name}: cannot index with {part} ({error})") from None
    if not chosen:
        return slice(0, 0, 1)
    # Going backwards, range() stops at -1 where a slice needs None to reach index 0.
    return slice(chosen.start, chosen.stop if chosen.stop >= 0 else None, chosen.step)


def _index_arrays(op_name, array, x, axis):
    """The int64 arrays, one per axis from ``axis`` on, that an index array names: a boolean
    mask names the positions where it is true."""
    if not x.backend.is_bool(array.dtype):
        return [ops.checked_indices(op_name, array, x.shape, axis, x.backend)]
    covered = x.shape[axis:axis + array.ndim]
    if tuple(array.shape) != covered:
        raise ShapeMismatchError(f"{op_name}: a boolean mask of shape {tuple(array.shape)} "
                                 f"does not match axes {axis} to {axis + array.ndim - 1}, of "
                                 f"shape {covered}, of a tensor of shape {x.shape}")
    return list(array_namespaces[x.backend].nonzero(array))


def _gather(x, arrays):
    """``x`` indexed along dims by (dim, array) pairs: adjacent dims merge into one and give
    way to the index shape in place; separated ones move to the front first."""
    dims = [dim for dim, _ in arrays]
    indices = [index for _, index in arrays]
    if len(indices) > 1:
        ops.broadcast_shape("getitem", *(index.shape for index in indices))
    lengths = [x.shape[dim] for dim in dims]
    merged_length = math.prod(lengths)
    if dims == list(range(dims[0], dims[0] + len(dims))):
        first = dims[0]
        if len(dims) > 1:
            x = ops.reshape(x, x.shape[:first] + (merged_length,) + x.shape[dims[-1] + 1:])
    else:
        first = 0
        rest = [dim for dim in range(x.ndim) if dim not in dims]
        x = ops.reshape(ops.permute_dims(x, dims + rest),
                        (merged_length,) + tuple(x.shape[dim] for dim in rest))
    return ops.take_checked(x, _merged_positions(indices, lengths), first)


def _merged_positions(indices, lengths):
    """Where the elements at ``indices`` (one array per axis) lie once those axes, of
    ``lengths``, are merged into one (row-major)."""
    positions, stride = indices[-1], lengths[-1]
    for index, length in zip(indices[-2::-1], lengths[-2::-1], strict=True):
        positions = positions + index * stride
        stride *= length
    return positions


def _basic_dims(shape, basic):
    """The dims of ``x[basic]`` for ``x`` of ``shape``: (length, the axis of x it runs along,
    or None for a new axis)."""
    dims = []
    axis = 0
    for part in basic:
        if part is None:
            dims.append((1, None))
            continue
        if isinstance(part, slice):
            dims.append((len(range(*part.indices(shape[axis]))), axis))
        axis += 1
    return dims


def _layout(dims, arrays, index_shape):
    """What each dim of ``x[key]`` is, in order: ("index", i) for dim i of the index shape,
    ("basic", d) for dim d of the basic result that no array indexes."""
    indexed = [dim for dim, _ in arrays]
    rest = [("basic", d) for d in range(len(dims)) if d not in indexed]
    index = [("index", i) for i in range(len(index_shape))]
    if not indexed:
        return rest
    if indexed != list(range(indexed[0], indexed[0] + len(indexed))):
        return index + rest
    return rest[:indexed[0]] + index + rest[indexed[0]:]


def _fitted_values(tensor, values, shape):
    """``values`` broadcast to ``shape``, the shape of ``tensor[key]``, leading axes of length
    1 dropped first (as PyTorch and NumPy allow)."""
    xp = array_namespaces[tensor.backend]
    while values.ndim > len(shape) and values.shape[0] == 1:
        values = xp.reshape(values, tuple(values.shape[1:]))
    if values.ndim > len(shape) or ops.broadcast_shapes([values.shape, shape]) != shape:
        raise ShapeMismatchError(f"x[key] = value: a value of shape {tuple(values.shape)} "
                                 f"cannot fill x[key] of shape {shape} (x has shape "
                                 f"{tensor.shape})")
    return xp.broadcast_to(values, shape)


def _coordinates(tensor, basic, dims, arrays, layout):
    """For each axis of ``tensor``, the index along it of every element of ``tensor[key]``:
    an int, or an int64 array that broadcasts against the shape of ``tensor[key]``."""
    backend = tensor.backend
    position = {entry: place for place, entry in enumerate(layout)}
    index_end = max(place for place, (kind, _) in enumerate(layout) if kind == "index") + 1
    indexed = dict(arrays)
    coordinates = [part for part in basic if part is not None]
    for dim, (_, axis) in enumerate(dims):
        if axis is None:
            continue
        if dim in indexed:
            index = indexed[dim]
            before = index_end - index.ndim
        else:
            index = array_namespaces[backend].arange(*coordinates[axis].indices(tensor.shape[axis]),
                                      dtype=backend.dtype("int64"),
                                      device=backend.native_device)
            before = position[("basic", dim)]
        trailing = (1,) * (len(layout) - before - index.ndim)
        coordinates[axis] = array_namespaces[backend].reshape(
            index, (1,) * before + tuple(index.shape) + trailing)
    return tuple(coordinates)
