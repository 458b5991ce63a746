"""Pooling and resampling layers (``zen.pooling``'s functions with Keras-style settings)."""

from __future__ import annotations

from typing import Literal

from zen import functional, pooling
from zen.errors import ArgumentError
from zen.layers.base import Layer, Pair
from zen.tensor import Tensor


class _Pooling2D(Layer):
    """A pooling function of ``zen.pooling`` (``pool``) over NCHW inputs, with Keras's
    settings: ``pool_size``, ``strides`` (default: the pool size) and ``padding``."""

    pool = staticmethod(pooling.max_pool2d)

    def __init__(self, pool_size: Pair = 2, strides: Pair | None = None,
                 padding: Pair = 0) -> None:
        _check_pooling(type(self).__name__, pool_size, strides, padding)
        super().__init__(pool_size=pool_size, strides=strides, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(x, self.pool_size, self.strides, self.padding)


class MaxPool2D(_Pooling2D):
    """The maximum of each ``pool_size`` window of NCHW inputs, padded with -inf by
    ``padding`` (at most half the window, as in PyTorch) on each side."""


class AvgPool2D(_Pooling2D):
    """The mean of each ``pool_size`` window of NCHW inputs, zero-padded by ``padding`` (at
    most half the window) on each side, the padding counted (PyTorch's AvgPool2d)."""

    pool = staticmethod(pooling.avg_pool2d)


def _check_pooling(layer, pool_size, strides, padding):
    window = functional._pair(f"{layer}: pool_size", pool_size, minimum=1)
    if strides is not None:
        functional._pair(f"{layer}: strides", strides, minimum=1)
    pad = functional._pair(f"{layer}: padding", padding)
    if pad[0] > window[0] // 2 or pad[1] > window[1] // 2:
        raise ArgumentError(f"{layer}: padding must be at most half of pool_size, got "
                            f"padding={padding!r} with pool_size={pool_size!r}")


class UpSampling2D(Layer):
    """NCHW inputs ``size`` times as high and wide (an int, or (rows, columns)): each pixel
    repeated (``interpolation="nearest"``) or interpolated ("bilinear", as PyTorch's
    Upsample with align_corners=False)."""

    def __init__(self, size: Pair = 2,
                 interpolation: Literal["nearest", "bilinear"] = "nearest") -> None:
        functional._pair("UpSampling2D: size", size, minimum=1)
        if interpolation not in ("nearest", "bilinear"):
            raise ArgumentError(f"UpSampling2D: interpolation must be 'nearest' or "
                                f"'bilinear', got {interpolation!r}")
        super().__init__(size=size, interpolation=interpolation)

    def forward(self, x: Tensor) -> Tensor:
        factors = functional._pair("UpSampling2D: size", self.size, minimum=1)
        return pooling.interpolate(x, scale_factor=tuple(map(float, factors)),
                                   mode=self.interpolation,
                                   align_corners=False if self.interpolation == "bilinear"
                                   else None)
