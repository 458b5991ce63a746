"""Pooling and resampling as torch.nn.functional spells them: max, average and adaptive pooling
in one and two dimensions, and ``interpolate``.

Each is an exact composite of zen's primitives: sliding windows over a padded input (fixed
windows), two gathers (adaptive max windows), two matrix products with 0/1 matrices
(adaptive averages) and gathers with constant weights (interpolation), so gradients of every
order follow from those. A 1-D op is the 2-D one on (N, C, 1, L), and an input without a batch
axis ((C, H, W), or (C, L)) is a batch of one, as in PyTorch. The positions and weights PyTorch
computes are computed here the same way, in the same precision, so results match it at the
edges (windows that overhang with ``ceil_mode``, nearest neighbours of odd scales).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

from zen import arguments, ops
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError
from zen.functional import _pair, _windows
from zen.namespaces import array_namespaces
from zen.ops import reshape
from zen.tensor import Tensor, TensorLike, as_tensor, constant

Size = int | Sequence[int]
OptionalSize = int | None | Sequence[int | None]

# interpolate's modes and the input dimensions (with batch and channels) each takes
INTERPOLATION_MODES = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4),
                       "linear": (3,), "bilinear": (4,), "trilinear": (5,)}
# the modes that pick or average input elements: no corners to align
UNALIGNED_MODES = ("nearest", "nearest-exact", "area")


def max_pool1d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The largest value of each window along L of an (N, C, L) input (see max_pool2d)."""
    return _max_pool("max_pool1d", 1, input, (kernel_size, stride, padding, dilation),
                     ceil_mode, return_indices)


def max_pool2d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0, dilation: Size = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The largest value of each ``kernel_size`` window of an NCHW input, padded with -inf.
    As in PyTorch, the gradient goes to the window's first largest element (row by row), not
    shared among ties; ``return_indices`` also gives where that element is, as an int64
    index into its input plane (row * W + column; not differentiable)."""
    return _max_pool("max_pool2d", 2, input, (kernel_size, stride, padding, dilation),
                     ceil_mode, return_indices)


def avg_pool1d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window along L of an (N, C, L) input (see avg_pool2d)."""
    return _avg_pool("avg_pool1d", 1, input, (kernel_size, stride, padding, 1), ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: TensorLike, kernel_size: Size, stride: Size | None = None,
               padding: Size = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """The mean of each ``kernel_size`` window of an NCHW input, zero-padded: each window's
    sum divided by ``divisor_override``, or by its size, counting the padding it covers
    (``count_include_pad``) or not, and never the part of a ``ceil_mode`` window past the
    padding (PyTorch's rules)."""
    return _avg_pool("avg_pool2d", 2, input, (kernel_size, stride, padding, 1), ceil_mode,
                     count_include_pad, divisor_override)


def adaptive_avg_pool1d(input: TensorLike, output_size: Size) -> Tensor:
    """The mean of each of ``output_size`` windows along L (see adaptive_avg_pool2d)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: TensorLike, output_size: OptionalSize) -> Tensor:
    """The NCHW input averaged over an ``output_size`` grid of windows, PyTorch's: window i of
    n along a length L runs from floor(i * L / n) to ceil((i + 1) * L / n); a None in
    ``output_size`` keeps that length."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_max_pool1d(input: TensorLike, output_size: Size,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The largest value of each of ``output_size`` windows along L (see
    adaptive_max_pool2d)."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: TensorLike, output_size: OptionalSize,
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The largest value of each window of adaptive_avg_pool2d's grid; the gradient and
    ``return_indices`` as max_pool2d's."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def lp_pool1d(input: TensorLike, norm_type: float, kernel_size: int,
              stride: Size | None = None, ceil_mode: bool = False) -> Tensor:
    """The ``norm_type``-norm of each window along L of an (N, C, L) input (see
    lp_pool2d)."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, (kernel_size, stride, 0, 1), ceil_mode)


def lp_pool2d(input: TensorLike, norm_type: float, kernel_size: Size,
              stride: Size | None = None, ceil_mode: bool = False) -> Tensor:
    """(sum of x^p over each window)^(1/p) of an NCHW input, p = ``norm_type``, as torch
    computes it: avg_pool2d of x^p times the kernel's area (so a ``ceil_mode`` window that
    overhangs counts its missing part at the mean), with no gradient through a zero sum;
    p = inf is the largest |x|, p = -inf the least."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, (kernel_size, stride, 0, 1), ceil_mode)


def _lp_pool(op_name, spatial, input, norm_type, settings, ceil_mode):
    p = arguments.number(op_name, "norm_type", norm_type)
    if p == 0 or math.isnan(p):
        raise ArgumentError(f"{op_name}: norm_type must be a non-zero number, got {norm_type!r}")
    if math.isinf(p):
        sign = 1 if p > 0 else -1
        largest = _max_pool(op_name, spatial, ops.multiply(ops.abs(input), sign), settings,
                            ceil_mode, False)
        return ops.multiply(largest, sign)
    means = _avg_pool(op_name, spatial, ops.power(input, p), settings, ceil_mode, True, None)
    area = math.prod(_setting(op_name, spatial, "kernel_size", settings[0], 1))
    # torch's sign(means) * relu(|means|) is means, but passes no gradient at 0, where the
    # root's slope is infinite: a select does the same without its nan (0 * inf)
    sums = ops.multiply(ops.where(ops.equal(means, 0), 0.0, means), area)
    return ops.power(sums, 1 / p)


class _Axis(NamedTuple):
    """One spatial axis of a pooling: its settings, and the output length and the padding
    after the input that follow from them."""
    kernel: int
    stride: int
    padding: int
    dilation: int
    out: int
    after: int

    def positions(self):
        """Where each window's elements are along the (unpadded) input: [window][element]."""
        return [[o * self.stride - self.padding + i * self.dilation for i in range(self.kernel)]
                for o in range(self.out)]


def _pooled_axis(op_name, length, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's output length for one axis: with ``ceil_mode`` the last window may overhang,
    but it starts inside the input or its left padding."""
    if padding > kernel // 2:
        raise ArgumentError(f"{op_name}: padding must be at most half the kernel size, got "
                            f"padding {padding} for kernel size {kernel}")
    span = dilation * (kernel - 1) + 1
    out = (length + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= length + padding:
        out -= 1
    after = max(padding, (out - 1) * stride + span - length - padding)
    return _Axis(kernel, stride, padding, dilation, out, after)


def _geometry(op_name, spatial, x, settings, ceil_mode):
    """The two _Axis (rows, columns) of a pooling of the planes ``x`` with ``settings``
    (kernel_size, stride, padding, dilation as the user gave them)."""
    kernel_size, stride, padding, dilation = settings
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size
    ceil_mode = arguments.flag(op_name, "ceil_mode", ceil_mode)
    per_axis = zip(x.shape[2:], _setting(op_name, spatial, "kernel_size", kernel_size, 1),
                   _setting(op_name, spatial, "stride", stride, 1),
                   _setting(op_name, spatial, "padding", padding, 0),
                   _setting(op_name, spatial, "dilation", dilation, 1), strict=True)
    axes = tuple(_pooled_axis(op_name, *each, ceil_mode) for each in per_axis)
    if any(axis.out < 1 for axis in axes):
        raise ShapeMismatchError(f"{op_name}: the output of input planes {x.shape[2:]} would "
                                 f"be {tuple(axis.out for axis in axes)}, too small")
    return axes


def _setting(op_name, spatial, name, value, minimum):
    """A setting (an int, or ``spatial`` of them) as a pair (rows, columns); a 1-D op's rows
    are its planes' one row: kernel 1, stride 1, padding 0, dilation 1."""
    if spatial == 2:
        return _pair(f"{op_name}: {name}", value, minimum)
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ArgumentError(f"{op_name}: {name} must be an int or a tuple of one, "
                                f"got {value!r}")
        (value,) = value
    return (minimum, _pair(f"{op_name}: {name}", value, minimum)[1])


def _planes(op_name, input, spatial):
    """``input`` as (N, C, H, W) (a batch of one if it had none, a 1-D input's planes of one
    row), and the leading axes ((N, C) or (C,)) it had. Always a view: merging N and C
    would copy an input laid out channels last, as a convolution's result is."""
    x = as_tensor(input)
    if x.ndim not in (spatial + 1, spatial + 2):
        layout = "(N, C, H, W) or (C, H, W)" if spatial == 2 else "(N, C, L) or (C, L)"
        raise ShapeMismatchError(f"{op_name}: needs an input of shape {layout}, got {x.shape}")
    lead = x.shape[:x.ndim - spatial]
    return reshape(x, (1,) * (2 - len(lead)) + lead + (1,) * (2 - spatial) +
                   x.shape[-spatial:]), lead


def _unplanes(planes, lead, spatial):
    """A result on (N, C, OH, OW) in the input's layout."""
    return reshape(planes, lead + tuple(planes.shape[4 - spatial:]))


def _max_pool(op_name, spatial, input, settings, ceil_mode, return_indices):
    x, lead = _planes(op_name, input, spatial)
    return_indices = arguments.flag(op_name, "return_indices", return_indices)
    axes = _geometry(op_name, spatial, x, settings, ceil_mode)
    padded = _padded(x, axes, _lowest(op_name, x))
    windows = _windows(op_name, padded, *zip(*((a.kernel, a.stride, a.dilation) for a in axes),
                                             strict=True))
    values = _unplanes(ops.max_pool(windows), lead, spatial)
    if not return_indices:
        return values
    rows, columns = (axis.positions() for axis in axes)
    return values, _unplanes(_indices_of_maxima(windows, rows, columns, x.shape[3]), lead,
                             spatial)


def _lowest(op_name, x):
    """The value max pooling pads with: -inf, or an integer dtype's least."""
    if x.backend.is_bool(x.dtype):
        raise DtypeError(f"{op_name}: needs a numeric tensor, got "
                         f"{x.backend.dtype_name(x.dtype)}")
    if x.backend.is_floating(x.dtype):
        return -math.inf
    return int(array_namespaces[x.backend].iinfo(x.dtype).min)


def _padded(x, axes, value):
    if all(axis.padding == axis.after == 0 for axis in axes):
        return x
    widths = ((0, 0), (0, 0)) + tuple((axis.padding, axis.after) for axis in axes)
    return ops.pad_p(x, widths=widths, value=value)


def _indices_of_maxima(windows, rows, columns, width):
    """Where each window's picked element is (``ops.pooled_positions``: the first largest,
    or the last NaN), as PyTorch gives it: row * width + column in its input plane, int64,
    not differentiable. ``rows[o][i]`` is the input row of element i of window row o;
    ``columns`` likewise."""
    backend = windows.backend
    xp, int64 = array_namespaces[backend], backend.dtype("int64")
    batch, planes, out_rows, out_columns, height, breadth = windows.shape
    flat = xp.reshape(windows.value, (batch, planes, out_rows, out_columns, height * breadth))
    position = xp.astype(ops.pooled_positions(xp, flat), int64)

    def first_of_window(count, kernel, shape):
        return xp.reshape(xp.multiply(xp.arange(count, dtype=int64, device=flat.device),
                                      kernel), shape)

    row = _lookup(backend, rows, xp.add(first_of_window(out_rows, height, (out_rows, 1)),
                                        xp.floor_divide(position, breadth)))
    column = _lookup(backend, columns, xp.add(first_of_window(out_columns, breadth,
                                                              (out_columns,)),
                                              xp.remainder(position, breadth)))
    return constant(xp.add(xp.multiply(row, width), column), backend)


def _lookup(backend, table, index):
    """``table`` (a list of lists of ints) read at the flat positions ``index`` (an array)."""
    xp = array_namespaces[backend]
    flat = backend.asarray([value for row in table for value in row], backend.dtype("int64"))
    return xp.reshape(xp.take(flat, xp.reshape(index, (-1,)), axis=0), index.shape)


def _avg_pool(op_name, spatial, input, settings, ceil_mode, count_include_pad,
              divisor_override):
    x, lead = _planes(op_name, input, spatial)
    _check_floating(op_name, x)
    count_include_pad = arguments.flag(op_name, "count_include_pad", count_include_pad)
    axes = _geometry(op_name, spatial, x, settings, ceil_mode)
    windows = _windows(op_name, _padded(x, axes, 0), tuple(a.kernel for a in axes),
                       tuple(a.stride for a in axes))
    sums = ops.sum(windows, axis=(4, 5))
    if divisor_override is not None:
        divisor = arguments.integer(op_name, "divisor_override", divisor_override)
        if divisor == 0:
            raise ArgumentError(f"{op_name}: divisor_override must not be 0")
        return _unplanes(sums / divisor, lead, spatial)
    counts = [_window_sizes(axis, length, count_include_pad)
              for axis, length in zip(axes, x.shape[2:], strict=True)]
    return _unplanes(_divided(sums, *counts), lead, spatial)


def _window_sizes(axis, length, count_include_pad):
    """How many elements each window along ``axis`` averages, as PyTorch counts them."""
    sizes = []
    for start in range(-axis.padding, axis.out * axis.stride - axis.padding, axis.stride):
        end = min(start + axis.kernel, length + axis.padding)
        sizes.append(end - start if count_include_pad else
                     min(end, length) - max(start, 0))
    return sizes


def _divided(sums, row_sizes, column_sizes):
    """(..., OH, OW) sums divided by the sizes of their windows: one number where all the
    windows have one size, an (OH, OW) array of their products otherwise."""
    if len(set(row_sizes)) <= 1 and len(set(column_sizes)) <= 1:
        return sums / (row_sizes[:1] or [1])[0] / (column_sizes[:1] or [1])[0]
    sizes = [[rows * columns for columns in column_sizes] for rows in row_sizes]
    return sums / constant(sums.backend.asarray(sizes, sums.dtype), sums.backend)


def _check_floating(op_name, x):
    if not x.backend.is_floating(x.dtype):
        raise DtypeError(f"{op_name}: needs a floating tensor, got "
                         f"{x.backend.dtype_name(x.dtype)} (as PyTorch's CPU kernels); "
                         f"convert with .astype('float32')")


def _adaptive_windows(op_name, spatial, x, output_size):
    """Per axis (rows, columns) of the planes ``x``, each window's (start, end): PyTorch's
    floor(i * L / n) to ceil((i + 1) * L / n)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * spatial
    if len(sizes) != spatial or not all(
            size is None or (isinstance(size, numbers.Integral) and not isinstance(size, bool)
                             and size >= 0) for size in sizes):
        raise ArgumentError(f"{op_name}: output_size must be a non-negative int, or a tuple "
                            f"of {spatial} of them (None keeps a length), got {output_size!r}")
    lengths = x.shape[4 - spatial:]
    sizes = (1,) * (2 - spatial) + tuple(length if size is None else int(size)
                                         for size, length in zip(sizes, lengths, strict=True))
    return [[(i * length // n, -(-(i + 1) * length // n)) for i in range(n)]
            for n, length in zip(sizes, x.shape[2:], strict=True)]


def _adaptive_avg_pool(op_name, spatial, input, output_size):
    x, lead = _planes(op_name, input, spatial)
    _check_floating(op_name, x)
    rows, columns = _adaptive_windows(op_name, spatial, x, output_size)
    sums = ops.matmul(ops.matmul(_membership(x, rows, x.shape[2]), x),
                      ops.matrix_transpose(_membership(x, columns, x.shape[3])))
    row_sizes, column_sizes = ([end - start for start, end in axis] for axis in (rows, columns))
    return _unplanes(_divided(sums, row_sizes, column_sizes), lead, spatial)


def _membership(x, windows, length):
    """A (windows, length) matrix of x's dtype: 1 where an element is in a window."""
    matrix = [[1 if start <= i < end else 0 for i in range(length)] for start, end in windows]
    return constant(x.backend.asarray(matrix, x.dtype), x.backend)


def _adaptive_max_pool(op_name, spatial, input, output_size, return_indices):
    x, lead = _planes(op_name, input, spatial)
    return_indices = arguments.flag(op_name, "return_indices", return_indices)
    rows, columns = (_padded_positions(axis)
                     for axis in _adaptive_windows(op_name, spatial, x, output_size))
    windows = _gathered_windows(x, rows, columns)
    values = _unplanes(ops.max_pool(windows), lead, spatial)
    if not return_indices:
        return values
    return values, _unplanes(_indices_of_maxima(windows, rows, columns, x.shape[3]), lead,
                             spatial)


def _padded_positions(windows):
    """Each window's positions, [window][element], the shorter ones ending in repeats of
    their last element (which change no maximum, nor which element is first largest)."""
    kernel = max((end - start for start, end in windows), default=1)
    return [[min(start + i, end - 1) for i in range(kernel)] for start, end in windows]


def _gathered_windows(x, rows, columns):
    """(N, C, OH, OW, KH, KW) windows of the NCHW ``x``: x[..., rows[o][i], columns[p][j]]."""
    backend, int64 = x.backend, x.backend.dtype("int64")
    batch, planes = x.shape[:2]
    out_rows, height, out_columns, width = len(rows), len(rows[0]), len(columns), \
        len(columns[0])
    flat_rows = backend.asarray([i for row in rows for i in row], int64)
    flat_columns = backend.asarray([j for column in columns for j in column], int64)
    picked = reshape(ops.take_checked(x, flat_rows, axis=2),
                     (batch, planes, out_rows, height, x.shape[3]))
    picked = reshape(ops.take_checked(picked, flat_columns, axis=4),
                     (batch, planes, out_rows, height, out_columns, width))
    return ops.permute_dims(picked, (0, 1, 2, 4, 3, 5))


def interpolate(input: TensorLike, size: OptionalSize = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """``input`` (N, C, ...) resampled to ``size``, or to floor(length * scale_factor), along
    its spatial axes, as PyTorch does: "nearest" (PyTorch's floor rule), "nearest-exact"
    (the nearest centre), "area" (adaptive average pooling, 3-D and 4-D), "linear" (3-D),
    "bilinear" (4-D) or "trilinear" (5-D), with or without ``align_corners``. A given
    scale_factor also sets where output pixels fall, unless ``recompute_scale_factor``."""
    x = as_tensor(input)
    align_corners = _check_interpolation(x, mode, align_corners, antialias)
    sizes, scales = _output_sizes(x, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return _adaptive_avg_pool("interpolate", x.ndim - 2, x, sizes)
    for axis, (length, out, scale) in enumerate(zip(x.shape[2:], sizes, scales, strict=True),
                                                start=2):
        if mode in UNALIGNED_MODES:
            sources = _nearest_sources(x, length, out, scale, mode == "nearest-exact")
            x = ops.take_checked(x, sources, axis=axis)
        else:
            x = _linear_resample(x, axis, length, out, scale, align_corners)
    return x


def _check_interpolation(x, mode, align_corners, antialias):
    """The checked ``align_corners`` (False where a linear mode leaves it None)."""
    if mode not in INTERPOLATION_MODES:
        raise ArgumentError(f"interpolate: mode must be one of {', '.join(INTERPOLATION_MODES)}"
                            f", got {mode!r}")
    if x.ndim not in INTERPOLATION_MODES[mode]:
        needs = " or ".join(f"{n}-D" for n in INTERPOLATION_MODES[mode])
        raise ShapeMismatchError(f"interpolate: mode {mode!r} needs a {needs} input "
                                 f"(N, C, ...), got shape {x.shape}")
    if arguments.flag("interpolate", "antialias", antialias):
        raise ArgumentError("interpolate: antialias=True is not supported")
    if mode in UNALIGNED_MODES:
        if align_corners is not None:
            raise ArgumentError(f"interpolate: align_corners is for the linear modes only, "
                                f"got align_corners={align_corners!r} with mode {mode!r}")
        return False
    if not x.backend.is_floating(x.dtype):
        raise DtypeError(f"interpolate: mode {mode!r} needs a floating tensor, got "
                         f"{x.backend.dtype_name(x.dtype)}")
    return arguments.flag("interpolate", "align_corners", bool(align_corners))


def _output_sizes(x, size, scale_factor, recompute_scale_factor):
    """The output's spatial lengths and, per axis, the scale PyTorch's kernels are given
    (None: they compute it from the lengths)."""
    spatial = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ArgumentError(f"interpolate: give one of size and scale_factor, got size={size!r}"
                            f", scale_factor={scale_factor!r}")
    if size is not None:
        if recompute_scale_factor:
            raise ArgumentError("interpolate: recompute_scale_factor is for scale_factor, "
                                "not size")
        sizes = _per_axis("size", size, spatial, numbers.Integral)
        scales = (None,) * spatial
    else:
        scales = _per_axis("scale_factor", scale_factor, spatial, numbers.Real)
        sizes = tuple(math.floor(float(length) * scale)
                      for length, scale in zip(x.shape[2:], scales, strict=True))
        if recompute_scale_factor:
            scales = (None,) * spatial
    if any(n <= 0 for n in sizes):
        raise ArgumentError(f"interpolate: the output size {sizes} of input {x.shape} must be "
                            f"positive")
    return sizes, scales


def _per_axis(name, value, spatial, kind):
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * spatial
    if len(values) != spatial or not all(isinstance(v, kind) and not isinstance(v, bool)
                                         for v in values):
        raise ArgumentError(f"interpolate: {name} must be one number or {spatial} (one per "
                            f"spatial axis), got {value!r}")
    return values


def _nearest_sources(x, length, out, scale, exact):
    """PyTorch's nearest source of each output position: floor(o * scale) in float32, scale
    being 1 / scale_factor or length / out; with ``exact``, floor((o + 0.5) * scale), the
    product in float64 rounded to float32, as its C++ computes it. Its 2-D kernel (4-D
    inputs) alone copies an output of the input's length and halves the positions of one of
    twice that length, whatever the scale_factor (not with ``exact``)."""
    backend = x.backend
    xp, int64, float32 = array_namespaces[backend], backend.dtype("int64"), backend.dtype("float32")
    positions = xp.arange(out, dtype=int64, device=x.value.device)
    if x.ndim == 4 and not exact and out in (length, 2 * length):
        return positions if out == length else xp.floor_divide(positions, 2)
    step = _scale(backend, float32, length, out, scale)
    if exact:
        float64 = backend.dtype("float64")
        centres = xp.add(xp.astype(positions, float64), 0.5)
        real = xp.astype(xp.multiply(centres, xp.astype(step, float64)), float32)
    else:
        real = xp.multiply(xp.astype(positions, float32), step)
    return xp.clip(xp.astype(xp.floor(real), int64), 0, length - 1)


def _scale(backend, dtype, length, out, scale):
    """PyTorch's ``compute_scales_value`` in ``dtype``: 1 / scale where a scale is given,
    else length / out."""
    if scale is not None and scale > 0:
        return backend.asarray(1.0 / scale, dtype)
    return array_namespaces[backend].divide(backend.asarray(float(length), dtype), float(out))


def _linear_resample(x, axis, length, out, scale, align_corners):
    """``x`` resampled along ``axis``: each output the two nearest inputs' weighted sum."""
    lower, upper, upper_weight = _linear_sources(x, length, out, scale, align_corners)
    xp, backend = array_namespaces[x.backend], x.backend
    shape = (out,) + (1,) * (x.ndim - axis - 1)
    weights = [constant(xp.reshape(w, shape), backend)
               for w in (xp.subtract(1, upper_weight), upper_weight)]
    return (ops.take_checked(x, lower, axis=axis) * weights[0]
            + ops.take_checked(x, upper, axis=axis) * weights[1])


def _linear_sources(x, length, out, scale, align_corners):
    """PyTorch's source positions of linear interpolation, in x's dtype: each output's lower
    and upper neighbours and the upper one's weight."""
    backend = x.backend
    xp, int64, dtype = array_namespaces[backend], backend.dtype("int64"), x.dtype
    positions = xp.arange(out, dtype=dtype, device=x.value.device)
    if out == length:
        real = positions
    elif align_corners:
        step = xp.divide(backend.asarray(float(length - 1), dtype), float(out - 1)) \
            if out > 1 else backend.asarray(0.0, dtype)
        real = xp.multiply(positions, step)
    else:
        step = _scale(backend, dtype, length, out, scale)
        real = xp.clip(xp.subtract(xp.multiply(xp.add(positions, 0.5), step), 0.5), 0, None)
    lower = xp.clip(xp.astype(xp.floor(real), int64), 0, length - 1)
    weight = xp.clip(xp.subtract(real, xp.astype(lower, dtype)), 0, 1)
    upper = xp.add(lower, xp.astype(xp.less(lower, length - 1), int64))
    return lower, upper, weight
