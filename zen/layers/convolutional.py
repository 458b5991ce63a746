"""Convolution layers (``zen.convolution``'s functions with Keras-style settings)."""

from __future__ import annotations

import math
from typing import Literal

from zen import arguments, convolution, functional
from zen.errors import ArgumentError, ShapeMismatchError
from zen.layers.base import Layer, Pair, he, input_size
from zen.tensor import Tensor


class Conv2D(Layer):
    """2-D convolution of NCHW inputs with ``filters`` kernels of ``kernel_size``, as
    ``zen.conv2d``; ``padding`` is "valid", "same" (stride 1; an even total goes at the end,
    as PyTorch pads) or PyTorch's numbers (see ``zen.convolution``). He-uniform weights."""

    lazy = True
    rank = 2

    def __init__(self, filters: int, kernel_size: Pair, strides: Pair = 1,
                 padding: Literal["valid", "same"] | Pair = "valid", use_bias: bool = True,
                 dilation_rate: Pair = 1, groups: int = 1) -> None:
        name = type(self).__name__
        filters = arguments.integer(name, "filters", filters, minimum=1)
        groups = arguments.integer(name, "groups", groups, minimum=1)
        if filters % groups:
            raise ArgumentError(f"{name}: filters must divide by groups, got filters={filters}, "
                                f"groups={groups}")
        use_bias = arguments.flag(name, "use_bias", use_bias)
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides,
                         padding=padding, dilation_rate=dilation_rate, groups=groups,
                         use_bias=use_bias)
        self._geometry()    # checks the settings now, not at the first call

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        _check_image(name, x, self.rank)
        kernel, stride, padding, dilation = self._geometry()
        if not self.weights:
            channels = input_size(name, x, 1, "channels")
            if channels % self.groups:
                raise ShapeMismatchError(f"{name}: the input's {channels} channels do not "
                                         f"divide by groups={self.groups}")
            fan_in = channels // self.groups * math.prod(kernel)
            self.add_weight("weight", (self.filters, channels // self.groups) + kernel, x,
                            he(fan_in))
            if self.use_bias:
                self.add_weight("bias", (self.filters,), x)
        convolve = convolution.conv2d if self.rank == 2 else convolution.conv1d
        return convolve(x, self.weights["weight"], self.weights.get("bias"), stride, padding,
                        dilation, self.groups)

    def _geometry(self):
        """The kernel size, strides, padding and dilation, checked, in zen.conv2d's terms."""
        name, rank = type(self).__name__, self.rank
        kernel = functional._pair(f"{name}: kernel_size", self.kernel_size, 1, count=rank)
        stride = functional._pair(f"{name}: strides", self.strides, 1, count=rank)
        dilation = functional._pair(f"{name}: dilation_rate", self.dilation_rate, 1, count=rank)
        convolution._padding(name, self.padding, rank, kernel, stride, dilation)
        return kernel, stride, self.padding, dilation


class Conv1D(Conv2D):
    """1-D convolution of (batch, channels, length) inputs, as ``zen.conv1d``; the settings
    are Conv2D's, each one int."""

    rank = 1


class Conv2DTranspose(Layer):
    """The transposed 2-D convolution of NCHW inputs (``zen.conv_transpose2d``) with
    ``filters`` output channels; ``padding`` "valid" crops nothing, "same" gives an output
    ``strides`` times the input's size (as Keras), numbers crop as PyTorch's padding, and
    ``output_padding`` adds rows and columns at the end. He-uniform weights."""

    lazy = True

    def __init__(self, filters: int, kernel_size: Pair, strides: Pair = 1,
                 padding: Literal["valid", "same"] | Pair = "valid", use_bias: bool = True,
                 output_padding: Pair = 0, dilation_rate: Pair = 1) -> None:
        filters = arguments.integer("Conv2DTranspose", "filters", filters, minimum=1)
        use_bias = arguments.flag("Conv2DTranspose", "use_bias", use_bias)
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides,
                         padding=padding, output_padding=output_padding,
                         dilation_rate=dilation_rate, use_bias=use_bias)
        self._geometry()

    def forward(self, x: Tensor) -> Tensor:
        _check_image("Conv2DTranspose", x, 2)
        kernel, stride, padding, extra, dilation = self._geometry()
        if not self.weights:
            channels = input_size("Conv2DTranspose", x, 1, "channels")
            self.add_weight("weight", (channels, self.filters) + kernel, x,
                            he(channels * math.prod(kernel)))
            if self.use_bias:
                self.add_weight("bias", (self.filters,), x)
        return convolution.conv_transpose2d(x, self.weights["weight"], self.weights.get("bias"),
                                            stride, padding, extra, 1, dilation)

    def _geometry(self):
        """The kernel size, strides, padding, output padding and dilation as zen's
        conv_transpose2d takes them; "same" is a crop (and, for strides past the dilated
        kernel, an output padding) that makes the output strides times the input."""
        name = "Conv2DTranspose"
        kernel = functional._pair(f"{name}: kernel_size", self.kernel_size, minimum=1)
        stride = functional._pair(f"{name}: strides", self.strides, minimum=1)
        dilation = functional._pair(f"{name}: dilation_rate", self.dilation_rate, minimum=1)
        extra = functional._pair(f"{name}: output_padding", self.output_padding)
        if self.padding not in ("valid", "same"):
            convolution._padding(name, self.padding, 2, kernel, stride, dilation)
            convolution._check_output_padding(name, extra, stride, dilation)
            return kernel, stride, self.padding, extra, dilation
        if extra != (0, 0):
            raise ArgumentError(f"{name}: output_padding goes with a numeric padding, not "
                                f"padding={self.padding!r}, got {self.output_padding!r}")
        if self.padding == "valid":
            return kernel, stride, 0, extra, dilation
        spare = [d * (k - 1) + 1 - s for k, s, d in zip(kernel, stride, dilation, strict=True)]
        crop = tuple((max(n, 0) // 2, max(n, 0) - max(n, 0) // 2) for n in spare)
        return kernel, stride, crop, tuple(max(-n, 0) for n in spare), dilation


def _check_image(layer, x, rank):
    """Refuse anything but (batch, channels) and ``rank`` spatial axes."""
    if x.ndim != rank + 2:
        axes = "length" if rank == 1 else "height, width"
        raise ShapeMismatchError(f"{layer}: needs input (batch, channels, {axes}), got "
                                 f"{x.shape}")
