"""Embedding and normalisation layers; BatchNorm keeps its running statistics in buffers."""

from __future__ import annotations

from zen import arguments, normalization
from zen.errors import ShapeMismatchError
from zen.layers.base import Layer, input_size
from zen.recorder import no_grad
from zen.tensor import Tensor


class Embedding(Layer):
    """Rows of a (``input_dim``, ``output_dim``) table at integer ids of any shape (token
    ids, say): (..., output_dim). Weights from N(0, 1), as PyTorch's ``nn.Embedding``."""

    lazy = True
    takes_ids = True

    def __init__(self, input_dim: int, output_dim: int) -> None:
        input_dim = arguments.integer("Embedding", "input_dim", input_dim, minimum=1)
        output_dim = arguments.integer("Embedding", "output_dim", output_dim, minimum=1)
        super().__init__(input_dim=input_dim, output_dim=output_dim)

    def forward(self, x: Tensor) -> Tensor:
        if not self.weights:
            self.add_weight("weight", (self.input_dim, self.output_dim), x, 1.0, normal=True)
        return normalization.embedding(x, self.weights["weight"])


class LayerNorm(Layer):
    """Each example normalised over its last axis (mean 0, variance 1), then times ``weight``
    (ones) plus ``bias`` (zeros), both of the last axis's size, taken from the first call."""

    lazy = True

    def __init__(self, epsilon: float = 1e-5) -> None:
        super().__init__(epsilon=_epsilon("LayerNorm", epsilon))

    def forward(self, x: Tensor) -> Tensor:
        if not self.weights:
            _affine_weights(self, input_size("LayerNorm", x, -1, "features"), x)
        w = self.weights
        return normalization.layer_norm(x, w["weight"].shape, w["weight"], w["bias"],
                                        self.epsilon)


class RMSNorm(Layer):
    """Each example divided by its root mean square over its last axis, then times ``weight``
    (ones) of the last axis's size, taken from the first call, as ``torch.nn.RMSNorm``;
    ``epsilon`` None: the machine epsilon of the input's dtype, as PyTorch."""

    lazy = True

    def __init__(self, epsilon: float | None = None) -> None:
        super().__init__(epsilon=None if epsilon is None else _epsilon("RMSNorm", epsilon))

    def forward(self, x: Tensor) -> Tensor:
        if not self.weights:
            self.add_weight("weight", (input_size("RMSNorm", x, -1, "features"),), x, fill=1.0)
        weight = self.weights["weight"]
        return normalization.rms_norm(x, weight.shape, weight, self.epsilon)


class GroupNorm(Layer):
    """Each example's channels (axis 1) normalised in ``groups`` groups, then times a
    per-channel ``weight`` (ones) plus ``bias`` (zeros); channels from the first call."""

    lazy = True

    def __init__(self, groups: int, epsilon: float = 1e-5) -> None:
        groups = arguments.integer("GroupNorm", "groups", groups, minimum=1)
        super().__init__(groups=groups, epsilon=_epsilon("GroupNorm", epsilon))

    def forward(self, x: Tensor) -> Tensor:
        if not self.weights:
            channels = input_size("GroupNorm", x, 1, "channels") if x.ndim >= 2 else 0
            if x.ndim < 2 or channels % self.groups:
                raise ShapeMismatchError(f"GroupNorm: needs input (batch, channels, ...) with "
                                         f"channels a multiple of groups={self.groups}, got "
                                         f"{x.shape}")
            _affine_weights(self, channels, x)
        return normalization.group_norm(x, self.groups, self.weights["weight"],
                                        self.weights["bias"], self.epsilon)


class _BatchNorm(Layer):
    """Per-channel (axis 1) normalisation with the batch's statistics while training and the
    running ones (buffers ``running_mean``, ``running_var``, ``num_batches_tracked``) at
    inference, as PyTorch's; ``momentum`` is the new batch's weight in the running
    statistics (None: their plain average over every batch so far)."""

    lazy = True
    shapes = ""     # the input's layout, for errors; its length is the number of axes

    def __init__(self, momentum: float | None = 0.1, epsilon: float = 1e-5) -> None:
        name = type(self).__name__
        if momentum is not None:    # None: the plain average of every batch so far
            momentum = arguments.number(name, "momentum", momentum, low=0, high=1)
        super().__init__(momentum=momentum, epsilon=_epsilon(name, epsilon))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in map(len, self.shapes.split(" or ")):
            raise ShapeMismatchError(f"{type(self).__name__}: needs input {self.shapes}, got "
                                     f"{x.shape}")
        if not self.weights:
            channels = input_size(type(self).__name__, x, 1, "channels")
            _affine_weights(self, channels, x)
            self.add_buffer("running_mean", (channels,), x)
            self.add_buffer("running_var", (channels,), x, fill=1.0)
            self.add_buffer("num_batches_tracked", (), x, dtype="int64")
        b, tracked = self.buffers, self.buffers["num_batches_tracked"]
        momentum = self.momentum if self.momentum is not None else \
            1.0 / (int(tracked.item()) + 1)
        out = normalization.batch_norm(x, b["running_mean"], b["running_var"],
                                       self.weights["weight"], self.weights["bias"],
                                       self.training, momentum, self.epsilon)
        if self.training:
            with no_grad():
                tracked[...] = tracked + 1
        return out


class BatchNorm1D(_BatchNorm):
    __doc__ = f"""Batch normalisation of (batch, channels) or (batch, channels, length) inputs.

    {_BatchNorm.__doc__}"""
    shapes = "NC or NCL"


class BatchNorm2D(_BatchNorm):
    __doc__ = f"""Batch normalisation of (batch, channels, height, width) inputs.

    {_BatchNorm.__doc__}"""
    shapes = "NCHW"


def _epsilon(layer, epsilon):
    return arguments.number(layer, "epsilon", epsilon, low=0, low_open=True)


def _affine_weights(layer, size, like):
    """A normalisation's ``weight`` (ones) and ``bias`` (zeros), of ``size`` each."""
    layer.add_weight("weight", (size,), like, fill=1.0)
    layer.add_weight("bias", (size,), like)
