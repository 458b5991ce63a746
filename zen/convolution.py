"""Convolutions, as torch.nn.functional names them, built from the sliding-window
primitives in ``zen.ops``; each is also at zen's top level.

A convolution is im2col and one matmul: the input's windows (a view) laid out as rows, times
the kernels as columns, one batched matmul over the groups when there are several. A
transposed convolution is its adjoint: one matmul gives each input pixel's contribution to a
window of the output, and ``fold_windows`` adds the windows up (col2im). 1-D convolutions are
the 2-D ones on inputs of one row, (N, C, 1, L). Gradients, of any order, follow from the
primitives'.

``padding`` is PyTorch's (an int, one int per spatial axis, 'valid' or 'same'), and also,
as zen's extension, a (before, after) pair in place of any axis's int, for padding on one
side only: ``((top, bottom), (left, right))`` in 2-D, ``((left, right),)`` in 1-D (a plain
``(left, right)`` would be two axes' ints, which conv1d refuses as PyTorch does).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal, TypeAlias

from zen import arguments, ops
from zen.errors import ArgumentError, ShapeMismatchError
from zen.functional import _pair, _windows
from zen.ops import matrix_transpose, permute_dims, reshape
from zen.tensor import Tensor, TensorLike, as_tensor

# An int for every spatial axis, or one int per axis.
Size: TypeAlias = int | Sequence[int]
# PyTorch's padding, or (before, after) pairs in place of any axis's int (zen's extension).
Padding: TypeAlias = Literal["valid", "same"] | int | Sequence[int | Sequence[int]]


def conv2d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None,
           stride: Size = 1, padding: Padding = 0, dilation: Size = 1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation of an (N, C, H, W) (or unbatched (C, H, W)) input with
    (O, C / groups, KH, KW) weights, as ``torch.nn.functional.conv2d``."""
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None,
           stride: Size = 1, padding: Padding = 0, dilation: Size = 1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation of an (N, C, L) (or unbatched (C, L)) input with
    (O, C / groups, K) weights, as ``torch.nn.functional.conv1d``."""
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None,
                     stride: Size = 1, padding: Padding = 0, output_padding: Size = 0,
                     groups: int = 1, dilation: Size = 1) -> Tensor:
    """The adjoint of conv2d (its gradient in the input, sometimes called deconvolution): an
    (N, C, H, W) input, (C, O / groups, KH, KW) weights, as
    ``torch.nn.functional.conv_transpose2d``; ``padding`` crops the output on both sides,
    ``output_padding`` adds rows and columns at its end (bottom, right)."""
    return _transposed("conv_transpose2d", 2, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def conv_transpose1d(input: TensorLike, weight: TensorLike, bias: TensorLike | None = None,
                     stride: Size = 1, padding: Padding = 0, output_padding: Size = 0,
                     groups: int = 1, dilation: Size = 1) -> Tensor:
    """The adjoint of conv1d: an (N, C, L) input, (C, O / groups, K) weights, as
    ``torch.nn.functional.conv_transpose1d``."""
    return _transposed("conv_transpose1d", 1, input, weight, bias, stride, padding,
                       output_padding, groups, dilation)


def _convolution(name, rank, x, weight, bias, stride, padding, dilation, groups):
    x, weight, bias, unbatched = _checked(name, rank, x, weight, bias, groups, transposed=False)
    stride = _sizes(name, "stride", stride, rank, minimum=1)
    dilation = _sizes(name, "dilation", dilation, rank, minimum=1)
    widths = _padding(name, padding, rank, weight.shape[2:], stride, dilation)
    x, weight = _as_2d(x, rank), _as_2d(weight, rank)
    stride, dilation = _lifted(stride, 1, rank), _lifted(dilation, 1, rank)
    widths = _lifted(widths, (0, 0), rank)
    if groups == 1:
        x = _channels_last(x, widths)
    elif any(before or after for before, after in widths):
        x = ops.pad_p(x, widths=((0, 0), (0, 0)) + widths)
    windows = _windows(name, x, tuple(weight.shape[2:]), stride, dilation,
                       channels_last=groups == 1)
    out = _correlated(windows, weight, bias, groups)
    return _restored(out, rank, unbatched)


def _channels_last(x, widths):
    """The (N, C, H, W) ``x`` padded, as a view of an (N, H, W, C) copy: its windows' rows of
    patches, ordered (KH, KW, C), then lie in runs of KW * C along memory, so laying them out
    for the matmul is a fast copy (0.03 ms against 0.24 ms for the CNN step's second layer),
    and so is the gradient's fold."""
    padded = ops.pad_p(permute_dims(x, (0, 2, 3, 1)), widths=((0, 0),) + widths + ((0, 0),))
    return permute_dims(padded, (0, 3, 1, 2))


def _correlated(windows, weight, bias, groups):
    """(N, C, OH, OW, KH, KW) windows times (O, C / groups, KH, KW) kernels, plus the bias:
    (N, O, OH, OW)."""
    batch, channels, rows, columns = windows.shape[:4]
    out_channels, size = weight.shape[0], math.prod(weight.shape[1:])   # size: C/groups*KH*KW
    if groups == 1:     # patches and kernels ordered (KH, KW, C): see _channels_last
        patches = reshape(permute_dims(windows, (0, 2, 3, 4, 5, 1)),
                          (batch * rows * columns, size))
        kernels = matrix_transpose(reshape(permute_dims(weight, (0, 2, 3, 1)),
                                           (out_channels, size)))
        out = patches @ kernels if bias is None else ops.linear(patches, kernels, bias)
        return permute_dims(reshape(out, (batch, rows, columns, out_channels)), (0, 3, 1, 2))
    grouped = reshape(windows, (batch, groups, channels // groups) + tuple(windows.shape[2:]))
    patches = reshape(permute_dims(grouped, (1, 0, 3, 4, 2, 5, 6)),
                      (groups, batch * rows * columns, size))
    out = patches @ matrix_transpose(reshape(weight, (groups, out_channels // groups, size)))
    out = permute_dims(reshape(out, (groups, batch, rows, columns, out_channels // groups)),
                       (1, 0, 4, 2, 3))
    return _biased(reshape(out, (batch, out_channels, rows, columns)), bias)


def _transposed(name, rank, x, weight, bias, stride, padding, output_padding, groups,
                dilation):
    x, weight, bias, unbatched = _checked(name, rank, x, weight, bias, groups, transposed=True)
    stride = _sizes(name, "stride", stride, rank, minimum=1)
    dilation = _sizes(name, "dilation", dilation, rank, minimum=1)
    extra = _sizes(name, "output_padding", output_padding, rank, minimum=0)
    if isinstance(padding, str):
        raise ArgumentError(f"{name}: padding must be an int or one per spatial axis (as in "
                            f"PyTorch; strings are for convolutions), got {padding!r}")
    widths = _padding(name, padding, rank, weight.shape[2:], stride, dilation)
    _check_output_padding(name, extra, stride, dilation)
    x, weight = _as_2d(x, rank), _as_2d(weight, rank)
    stride, dilation = _lifted(stride, 1, rank), _lifted(dilation, 1, rank)
    widths, extra = _lifted(widths, (0, 0), rank), _lifted(extra, 0, rank)
    full = tuple((n - 1) * s + d * (k - 1) + 1 + e for n, s, d, k, e in
                 zip(x.shape[2:], stride, dilation, weight.shape[2:], extra, strict=True))
    out_size = tuple(f - before - after for f, (before, after) in zip(full, widths, strict=True))
    if min(out_size) <= 0:
        raise ShapeMismatchError(f"{name}: padding {padding!r} leaves no output for input "
                                 f"{x.shape} and kernel {tuple(weight.shape[2:])} (the output "
                                 f"would be {out_size[2 - rank:]})")
    windows = _scattered(x, weight, groups)
    out = ops.fold_windows_p(windows, shape=tuple(windows.shape[:2]) + full, stride=stride,
                             dilation=dilation)
    (top, bottom), (left, right) = widths
    out = out[:, :, top:full[0] - bottom, left:full[1] - right]
    return _restored(_biased(out, bias), rank, unbatched)


def _scattered(x, weight, groups):
    """Each pixel of the (N, C, H, W) input times its (C, O / groups, KH, KW) kernels: the
    (N, O, H, W, KH, KW) windows that fold adds up into the output."""
    batch, channels, rows, columns = x.shape
    kernel, per_group = tuple(weight.shape[2:]), weight.shape[1]
    pixels = reshape(permute_dims(x, (0, 2, 3, 1)), (batch * rows * columns, channels))
    if groups == 1:
        out = pixels @ reshape(weight, (channels, math.prod(weight.shape[1:])))
        out = reshape(out, (batch, rows, columns, per_group) + kernel)
        return permute_dims(out, (0, 3, 1, 2, 4, 5))
    pixels = permute_dims(reshape(pixels, (batch * rows * columns, groups, channels // groups)),
                          (1, 0, 2))
    out = pixels @ reshape(weight, (groups, channels // groups, math.prod(weight.shape[1:])))
    out = permute_dims(reshape(out, (groups, batch, rows, columns, per_group) + kernel),
                       (1, 0, 4, 2, 3, 5, 6))
    return reshape(out, (batch, groups * per_group, rows, columns) + kernel)


def _biased(out, bias):
    return out if bias is None else out + reshape(bias, (1, -1, 1, 1))


def _checked(name, rank, x, weight, bias, groups, transposed):
    """The input (batched), weight and bias as Tensors whose shapes fit each other, and
    whether the input came unbatched."""
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    groups = arguments.integer(name, "groups", groups, minimum=1)
    unbatched = x.ndim == rank + 1
    if unbatched:
        x = reshape(x, (1,) + tuple(x.shape))
    layout = ("(C, O / groups" if transposed else "(O, C / groups") + ", K...)"
    if x.ndim != rank + 2 or weight.ndim != rank + 2:
        raise ShapeMismatchError(f"{name}: needs an input of {rank + 2} (or {rank + 1}, "
                                 f"unbatched) dimensions and a weight {layout} of {rank + 2}, "
                                 f"got input {x.shape} and weight {weight.shape}")
    in_channels, out_channels = (weight.shape[0], weight.shape[1] * groups) if transposed \
        else (weight.shape[1] * groups, weight.shape[0])
    if x.shape[1] != in_channels or in_channels % groups or out_channels % groups:
        raise ShapeMismatchError(f"{name}: input {x.shape} and weight {weight.shape} "
                                 f"{layout} do not fit with groups={groups}: the input's "
                                 f"channels and the output's must both divide by groups")
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeMismatchError(f"{name}: bias must have shape ({out_channels},), one per "
                                 f"output channel, got {bias.shape}")
    return x, weight, bias, unbatched


def _sizes(name, setting, value, rank, minimum):
    """A stride, dilation or output_padding: one int per spatial axis."""
    return _pair(f"{name}: {setting}", value, minimum=minimum, count=rank)


def _padding(name, padding, rank, kernel, stride, dilation):
    """PyTorch's padding, or zen's (before, after) pairs, as one (before, after) pair per
    spatial axis."""
    spans = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    if padding == "valid":
        return ((0, 0),) * rank
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ArgumentError(f"{name}: padding='same' needs stride 1 (as in PyTorch), got "
                                f"stride={stride}")
        return tuple((span // 2, span - span // 2) for span in spans)   # extra at the end
    entries = padding if isinstance(padding, (tuple, list)) else (padding,) * rank
    if len(entries) != rank or not all(_is_width(entry) for entry in entries):
        raise ArgumentError(f"{name}: padding must be 'valid', 'same', a non-negative int or "
                            f"{rank} of them (one per spatial axis), each may be a (before, "
                            f"after) pair, got {padding!r}")
    return tuple(tuple(entry) if isinstance(entry, (tuple, list)) else (entry, entry)
                 for entry in entries)


def _is_width(entry):
    """A non-negative int, or a (before, after) pair of them."""
    values = entry if isinstance(entry, (tuple, list)) and len(entry) == 2 else (entry,)
    return all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
               for v in values)


def _check_output_padding(name, extra, stride, dilation):
    for e, s, d in zip(extra, stride, dilation, strict=True):
        if e >= s and e >= d:
            raise ArgumentError(f"{name}: output_padding must be smaller than the stride or "
                                f"the dilation (as in PyTorch), got output_padding={extra}, "
                                f"stride={stride}, dilation={dilation}")


def _as_2d(x, rank):
    """An (N, C, L) tensor as (N, C, 1, L); a 2-D one as it is."""
    return x if rank == 2 else reshape(x, tuple(x.shape[:2]) + (1,) + tuple(x.shape[2:]))


def _lifted(sizes, neutral, rank):
    """One setting per spatial axis, given for the 2-D ops (``neutral`` for the row axis of
    a 1-D op)."""
    return tuple(sizes) if rank == 2 else (neutral,) + tuple(sizes)


def _restored(out, rank, unbatched):
    """The 2-D result back in the op's rank, without the batch axis if the input had none."""
    if rank == 1:
        out = reshape(out, tuple(out.shape[:2]) + tuple(out.shape[3:]))
    return reshape(out, tuple(out.shape[1:])) if unbatched else out


# im2col and col2im as torch.nn.functional's unfold and fold: the
# convolutions' own windows, laid out as PyTorch lays them out, (N, C * KH * KW, L).

def unfold(input: TensorLike, kernel_size: Size, dilation: Size = 1, padding: Size = 0,
           stride: Size = 1) -> Tensor:
    """Every KH x KW window of an (N, C, H, W) (or unbatched (C, H, W)) input as a column:
    (N, C * KH * KW, L), L windows in row-major order, as ``torch.nn.functional.unfold``."""
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ShapeMismatchError(f"unfold: input must be (N, C, H, W) or (C, H, W), got shape "
                                 f"{x.shape}")
    batched = reshape(x, (1,) + tuple(x.shape)) if x.ndim == 3 else x
    kernel, dilation, padding, stride = _window_settings("unfold", kernel_size, dilation,
                                                         padding, stride)
    padded = ops.pad_p(batched, widths=((0, 0), (0, 0)) + tuple((p, p) for p in padding)) \
        if any(padding) else batched
    windows = _windows("unfold", padded, kernel, stride, dilation)
    batch, channels, rows, columns = windows.shape[:4]
    columns_out = reshape(permute_dims(windows, (0, 1, 4, 5, 2, 3)),
                          (batch, channels * math.prod(kernel), rows * columns))
    return reshape(columns_out, tuple(columns_out.shape[1:])) if x.ndim == 3 else columns_out


def fold(input: TensorLike, output_size: Size, kernel_size: Size, dilation: Size = 1,
         padding: Size = 0, stride: Size = 1) -> Tensor:
    """The adjoint of ``unfold``: (N, C * KH * KW, L) (or unbatched (C * KH * KW, L))
    columns added back into an (N, C, H, W) output of ``output_size`` (H, W), overlapping
    windows summed, as ``torch.nn.functional.fold``."""
    x = as_tensor(input)
    size = _pair("fold: output_size", output_size, minimum=1)
    kernel, dilation, padding, stride = _window_settings("fold", kernel_size, dilation,
                                                         padding, stride)
    padded = tuple(n + 2 * p for n, p in zip(size, padding, strict=True))
    counts = tuple((n - d * (k - 1) - 1) // s + 1 for n, k, d, s in
                   zip(padded, kernel, dilation, stride, strict=True))
    block = math.prod(kernel)
    if x.ndim not in (2, 3) or x.shape[-2] % block or x.shape[-1] != math.prod(counts) or \
            min(counts) < 1:
        raise ShapeMismatchError(
            f"fold: input must be (N, C * {block}, L) or (C * {block}, L) with L = "
            f"{max(0, math.prod(counts))} windows of kernel {kernel} in output {size} "
            f"(padding {padding}, stride {stride}, dilation {dilation}), got shape {x.shape}")
    batched = reshape(x, (1,) + tuple(x.shape)) if x.ndim == 2 else x
    channels = x.shape[-2] // block
    windows = permute_dims(reshape(batched, (batched.shape[0], channels) + kernel + counts),
                           (0, 1, 4, 5, 2, 3))
    out = ops.fold_windows_p(windows, shape=(batched.shape[0], channels) + padded,
                             stride=stride, dilation=dilation)
    out = out[:, :, padding[0]:padded[0] - padding[0], padding[1]:padded[1] - padding[1]]
    return reshape(out, tuple(out.shape[1:])) if x.ndim == 2 else out


def _window_settings(name, kernel_size, dilation, padding, stride):
    """unfold's and fold's settings, each a pair (rows, columns)."""
    return (_pair(f"{name}: kernel_size", kernel_size, minimum=1),
            _pair(f"{name}: dilation", dilation, minimum=1),
            _pair(f"{name}: padding", padding, minimum=0),
            _pair(f"{name}: stride", stride, minimum=1))
