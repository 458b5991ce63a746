"""Layers and the Keras-like ``Model`` of the original Zen, on any device.

A layer creates its parameters on its first call, from the input's size and device, with
zen's seeded generator (``zen.seed``), so one seed gives the same model on every device; a
model given its input shape (``Model(layers, input_shape=...)`` or ``model.build``) creates
them at once, with the same draws. A call that fails leaves every layer as it was.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeAlias

from zen import (
    activations,
    arguments,
    attention,
    convolution,
    data,
    devices,
    functional,
    normalization,
    ops,
    pooling,
    random,
    training,
)
from zen import checkpoint as _checkpoint
from zen import loss as losses
from zen.distributed import Communicator
from zen.errors import ArgumentError, DataError, NotBuiltError, ShapeMismatchError
from zen.errors import CheckpointError as CheckpointError  # users import it from zen.nn
from zen.optim import Optimizer
from zen.recorder import no_grad
from zen.tensor import Tensor, TensorLike, constant, get_default_dtype

# One example's shape, without the batch axis: (64,) or [1, 28, 28].
InputShape: TypeAlias = tuple[int, ...] | list[int]
# A kernel's, a stride's or a padding's size: one int for both axes, or (rows, columns).
Pair: TypeAlias = int | tuple[int, int]


class Layer:
    """A building block: ``layer(x)`` runs ``forward``. Its settings, the constructor's
    arguments given to ``Layer.__init__``, are attributes of the same names (``units``,
    ``rate``), each held once; ``config`` reads them, so a saved model can be rebuilt.

    ``weights`` are what optimisers train; ``buffers`` are state that is saved and loaded with
    them but never trained (a normalisation layer's running statistics, say). A layer whose
    weights depend on its input's size sets ``lazy = True`` and creates them (``add_weight``)
    in its first call; until then it is not ``built``. A first call that fails takes its
    weights back, so the next call builds from its own input."""

    training: bool = False
    lazy: bool = False
    takes_ids: bool = False     # integer inputs (Embedding): a model builds with integer zeros

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.weights = {}       # name -> trainable Tensor, in creation order
        self.buffers = {}       # name -> non-trainable Tensor, in creation order

    @property
    def config(self) -> dict[str, Any]:
        """The layer's settings, ``{name: value}``, read from its attributes."""
        return {name: getattr(self, name) for name in self._settings}

    @config.setter
    def config(self, settings: dict[str, Any]) -> None:
        taken = sorted(name for name in settings
                       if name in _LAYER_SLOTS or hasattr(Layer, name))
        if taken:
            raise ArgumentError(f"{type(self).__name__}: the setting(s) {', '.join(taken)} "
                                f"would hide Layer's own attributes; name them otherwise")
        self._settings = tuple(settings)
        self.__dict__.update(settings)

    @property
    def built(self) -> bool:
        return not self.lazy or bool(self.weights)

    def __call__(self, x: Tensor, *inputs: Any, **options: Any) -> Tensor:
        """``forward(x, ...)``; a Model gives each layer one input, and a layer whose forward
        takes more (MultiHeadAttention's key and value) gets them in code by hand."""
        if self.built:
            return self.forward(x, *inputs, **options)
        with _undone_on_failure([self]):
            return self.forward(x, *inputs, **options)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def parameters(self) -> list[Tensor]:
        return list(self.weights.values())

    def train(self, mode: bool = True) -> Layer:
        """Training mode (Dropout drops, BatchNorm uses and updates batch statistics), or
        inference mode with ``mode=False``; returns the layer, as PyTorch's."""
        self.training = arguments.flag(f"{type(self).__name__}.train", "mode", mode)
        return self

    def eval(self) -> Layer:
        """Inference mode: ``train(False)``."""
        return self.train(False)

    def add_weight(self, name: str, shape: tuple[int, ...], like: Tensor,
                   scale: float = 0.0, normal: bool = False, fill: float = 0.0) -> Tensor:
        """A new trainable parameter on ``like``'s device, from zen's generator: uniform on
        [-scale, scale], or normal with standard deviation ``scale`` (``normal=True``), or
        all ``fill`` when ``scale`` is 0."""
        backend = like.backend
        dtype = backend.dtype(get_default_dtype())
        if scale:
            draw = random.generator().normal(0.0, scale, shape) if normal else \
                random.generator().uniform(-scale, scale, shape)
            values = backend.asarray(draw, dtype)
        else:
            values = backend.xp.full(shape, fill, dtype=dtype, device=backend.native_device)
        weight = self.weights[name] = Tensor(values, device=backend)
        return weight

    def add_buffer(self, name: str, shape: tuple[int, ...], like: Tensor,
                   fill: float = 0.0, dtype: str | None = None) -> Tensor:
        """A new non-trainable tensor of ``fill`` on ``like``'s device, in ``dtype`` (default:
        the default float dtype), saved with the weights but never given to an optimiser."""
        backend = like.backend
        values = backend.xp.full(shape, fill, dtype=backend.dtype(dtype or get_default_dtype()),
                                 device=backend.native_device)
        buffer = self.buffers[name] = Tensor(values, trainable=False, device=backend)
        return buffer

    def __repr__(self):
        settings = ", ".join(f"{key}={value!r}" for key, value in self.config.items())
        return f"{type(self).__name__}({settings})"


_LAYER_SLOTS = ("weights", "buffers", "_settings")


@contextlib.contextmanager
def _undone_on_failure(layers):
    """Around a call that builds ``layers``: should it fail, the weights and buffers it
    created are dropped and zen's generator is set back, so that the next call builds from
    its own input and a seed gives the model it would have given."""
    slots = [(dict(layer.weights), dict(layer.buffers)) for layer in layers]
    generator_state = random.generator().get_state()
    try:
        yield
    except BaseException:
        for layer, (weights, buffers) in zip(layers, slots, strict=True):
            layer.weights, layer.buffers = weights, buffers
        random.generator().set_state(generator_state)
        raise


def _glorot(fan_in, fan_out):
    return math.sqrt(6.0 / (fan_in + fan_out))


def _he(fan_in):
    return math.sqrt(6.0 / fan_in)


class Linear(Layer):
    """``x @ weight + bias`` with ``units`` outputs; the input size is taken from the first
    call. Glorot-uniform weights (He for ``init="he"``), zero bias."""

    lazy = True

    def __init__(self, units: int, use_bias: bool = True,
                 init: Literal["glorot", "he"] = "glorot") -> None:
        units = arguments.integer("Linear", "units", units, minimum=1)
        use_bias = arguments.flag("Linear", "use_bias", use_bias)
        if init not in ("glorot", "he"):
            raise ArgumentError(f"Linear: init must be 'glorot' or 'he', got {init!r}")
        super().__init__(units=units, use_bias=use_bias, init=init)

    def forward(self, x: Tensor) -> Tensor:
        if not self.weights:
            fan_in = _input_size("Linear", x, -1, "features")
            scale = _he(fan_in) if self.init == "he" else _glorot(fan_in, self.units)
            self.add_weight("weight", (fan_in, self.units), x, scale)
            if self.use_bias:
                self.add_weight("bias", (self.units,), x)
        weight = self.weights["weight"]
        if x.shape[-1] != weight.shape[0]:
            raise ShapeMismatchError(f"Linear: input has {x.shape[-1]} features (shape "
                                     f"{x.shape}) but this layer was built for "
                                     f"{weight.shape[0]}")
        return attention.dense(x, weight, self.weights.get("bias"))


class RNN(Layer):
    """A tanh recurrent layer over (batch, time, features) inputs, with ``hidden_dim``
    state units and a linear read-out of ``units``: the last step's, or every step's with
    ``return_sequences``. One matmul per time step for the whole batch."""

    lazy = True

    def __init__(self, units: int, hidden_dim: int, return_sequences: bool = False) -> None:
        units = arguments.integer("RNN", "units", units, minimum=1)
        hidden_dim = arguments.integer("RNN", "hidden_dim", hidden_dim, minimum=1)
        return_sequences = arguments.flag("RNN", "return_sequences", return_sequences)
        super().__init__(units=units, hidden_dim=hidden_dim, return_sequences=return_sequences)

    def forward(self, x: Tensor) -> Tensor:
        hidden_dim = self.hidden_dim
        _check_sequence("RNN", x, self.weights.get("input_weight"))
        if not self.weights:
            features = _input_size("RNN", x, -1, "features")
            self.add_weight("input_weight", (features, hidden_dim), x,
                            _glorot(features, hidden_dim))
            self.add_weight("hidden_weight", (hidden_dim, hidden_dim), x,
                            _glorot(hidden_dim, hidden_dim))
            self.add_weight("hidden_bias", (hidden_dim,), x)
            self.add_weight("output_weight", (hidden_dim, self.units), x,
                            _glorot(hidden_dim, self.units))
            self.add_weight("output_bias", (self.units,), x)
        w = self.weights
        hidden = ops.tanh(x[:, 0] @ w["input_weight"] + w["hidden_bias"])
        states = [hidden]
        for step in range(1, x.shape[1]):
            hidden = ops.rnn_step(x[:, step], hidden, w["input_weight"], w["hidden_weight"],
                                  w["hidden_bias"])
            states.append(hidden)
        out = functional.stack(states, axis=1) if self.return_sequences else hidden
        return out @ w["output_weight"] + w["output_bias"]


class LSTM(Layer):
    """A long short-term memory layer with ``units`` hidden units over (batch, time,
    features) inputs: the last hidden state, or every step's with ``return_sequences``.
    The four gates share one matmul per step; the forget gate's bias starts at 1."""

    lazy = True

    def __init__(self, units: int, return_sequences: bool = False) -> None:
        units = arguments.integer("LSTM", "units", units, minimum=1)
        return_sequences = arguments.flag("LSTM", "return_sequences", return_sequences)
        super().__init__(units=units, return_sequences=return_sequences)

    def forward(self, x: Tensor) -> Tensor:
        units = self.units
        _check_sequence("LSTM", x, self.weights.get("input_weight"))
        if not self.weights:
            features = _input_size("LSTM", x, -1, "features")
            self.add_weight("input_weight", (features, 4 * units), x,
                            _glorot(features, 4 * units))
            self.add_weight("hidden_weight", (units, 4 * units), x, _glorot(units, 4 * units))
            bias = self.add_weight("bias", (4 * units,), x)
            bias.value[units:2 * units] = 1.0
        w = self.weights
        inputs = x @ w["input_weight"] + w["bias"]
        hidden = cell = None
        states = []
        for step in range(x.shape[1]):
            gates = inputs[:, step] if hidden is None else \
                inputs[:, step] + hidden @ w["hidden_weight"]
            forget = ops.sigmoid(gates[:, units:2 * units])
            update = ops.sigmoid(gates[:, :units]) * ops.tanh(gates[:, 2 * units:3 * units])
            cell = update if cell is None else forget * cell + update
            hidden = ops.sigmoid(gates[:, 3 * units:]) * ops.tanh(cell)
            states.append(hidden)
        return functional.stack(states, axis=1) if self.return_sequences else hidden


def _input_size(layer, x, axis, what):
    """The size of ``x`` along ``axis`` that a layer builds its weights for; not zero."""
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ShapeMismatchError(f"{layer}: input of shape {x.shape} has no {what}")
    return x.shape[axis]


def _check_sequence(layer, x, input_weight):
    """Refuse anything but (batch, time, features) with at least one time step, and, once
    the layer is built (``input_weight``), another number of features."""
    built = input_weight is not None
    features = input_weight.shape[0] if built else "features"
    if x.ndim != 3 or (built and x.shape[-1] != features):
        raise ShapeMismatchError(f"{layer}: needs input (batch, time, {features}), got "
                                 f"{x.shape}")
    if x.shape[1] == 0:
        raise ShapeMismatchError(f"{layer}: needs at least one time step, got input of "
                                 f"shape {x.shape}")


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
            channels = _input_size(name, x, 1, "channels")
            if channels % self.groups:
                raise ShapeMismatchError(f"{name}: the input's {channels} channels do not "
                                         f"divide by groups={self.groups}")
            fan_in = channels // self.groups * math.prod(kernel)
            self.add_weight("weight", (self.filters, channels // self.groups) + kernel, x,
                            _he(fan_in))
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
            channels = _input_size("Conv2DTranspose", x, 1, "channels")
            self.add_weight("weight", (channels, self.filters) + kernel, x,
                            _he(channels * math.prod(kernel)))
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


class MaxPool2D(Layer):
    """The maximum of each ``pool_size`` window of NCHW inputs, padded with -inf by
    ``padding`` (at most half the window, as in PyTorch) on each side."""

    def __init__(self, pool_size: Pair = 2, strides: Pair | None = None,
                 padding: Pair = 0) -> None:
        _check_pooling(type(self).__name__, pool_size, strides, padding)
        super().__init__(pool_size=pool_size, strides=strides, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        return pooling.max_pool2d(x, self.pool_size, self.strides, self.padding)


class AvgPool2D(Layer):
    """The mean of each ``pool_size`` window of NCHW inputs, zero-padded by ``padding`` (at
    most half the window) on each side, the padding counted (PyTorch's AvgPool2d)."""

    def __init__(self, pool_size: Pair = 2, strides: Pair | None = None,
                 padding: Pair = 0) -> None:
        _check_pooling(type(self).__name__, pool_size, strides, padding)
        super().__init__(pool_size=pool_size, strides=strides, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        return pooling.avg_pool2d(x, self.pool_size, self.strides, self.padding)


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


class Flatten(Layer):
    """(batch, ...) -> (batch, features)."""

    def forward(self, x: Tensor) -> Tensor:
        return functional.flatten(x, 1)


class Dropout(Layer):
    """While training, zero each input with probability ``rate`` and scale the rest by
    1 / (1 - rate); at inference, pass the input through."""

    def __init__(self, rate: float) -> None:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ArgumentError(f"Dropout: rate must be in [0, 1), got {rate}")
        super().__init__(rate=rate)

    def forward(self, x: Tensor) -> Tensor:
        return attention.dropout(x, self.rate, self.training)


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
            _affine_weights(self, _input_size("LayerNorm", x, -1, "features"), x)
        w = self.weights
        return normalization.layer_norm(x, w["weight"].shape, w["weight"], w["bias"],
                                        self.epsilon)


class GroupNorm(Layer):
    """Each example's channels (axis 1) normalised in ``groups`` groups, then times a
    per-channel ``weight`` (ones) plus ``bias`` (zeros); channels from the first call."""

    lazy = True

    def __init__(self, groups: int, epsilon: float = 1e-5) -> None:
        groups = arguments.integer("GroupNorm", "groups", groups, minimum=1)
        super().__init__(groups=groups, epsilon=_epsilon("GroupNorm", epsilon))

    def forward(self, x: Tensor) -> Tensor:
        if not self.weights:
            channels = _input_size("GroupNorm", x, 1, "channels") if x.ndim >= 2 else 0
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
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(
                momentum, numbers.Real) or not 0 <= momentum <= 1):
            raise ArgumentError(f"{name}: momentum must be a number in [0, 1] or None, got "
                                f"{arguments.described(momentum)}")
        super().__init__(momentum=momentum, epsilon=_epsilon(name, epsilon))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in map(len, self.shapes.split(" or ")):
            raise ShapeMismatchError(f"{type(self).__name__}: needs input {self.shapes}, got "
                                     f"{x.shape}")
        if not self.weights:
            channels = _input_size(type(self).__name__, x, 1, "channels")
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
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ArgumentError(f"{layer}: epsilon must be a positive number, got "
                            f"{arguments.described(epsilon)}")
    return float(epsilon)


def _affine_weights(layer, size, like):
    """A normalisation's ``weight`` (ones) and ``bias`` (zeros), of ``size`` each."""
    layer.add_weight("weight", (size,), like, fill=1.0)
    layer.add_weight("bias", (size,), like)


def _activation(name, function, doc, **defaults):
    """A layer class ``name`` that applies ``function``, with the settings ``defaults`` names
    (PyTorch's, in its order: positional or keyword), each checked at construction."""
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
        + [inspect.Parameter(setting, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                             annotation=type(default)) for setting, default in defaults.items()],
        return_annotation=None)

    def __init__(self, *args: Any, **settings: Any) -> None:
        try:
            bound = signature.bind(self, *args, **settings)
        except TypeError as error:
            raise ArgumentError(f"{name}: {error}") from None
        bound.apply_defaults()
        Layer.__init__(self, **_activation_settings(name, function, bound.arguments))

    def forward(self, x: Tensor) -> Tensor:
        return function(x, **self.config)

    __init__.__signature__ = signature
    return type(name, (Layer,), {"__init__": __init__, "forward": forward, "__doc__": doc})


def _activation_settings(name, function, arguments_bound):
    """The settings (all but self) as ``function`` takes them, or ArgumentError naming the
    layer: an axis must be an int (the input's rank is not known yet); the rest are checked by
    ``function`` itself, on a probe, so that a layer refuses exactly what its function does."""
    settings = {key: value for key, value in arguments_bound.items() if key != "self"}
    if "axis" in settings:
        return {"axis": arguments.integer(name, "axis", settings["axis"])}
    try:
        function(Tensor([0.0]), **settings)
    except ArgumentError as error:
        raise ArgumentError(f"{name}: {error}") from None
    return settings


Sigmoid = _activation("Sigmoid", ops.sigmoid, "1 / (1 + exp(-x)), elementwise.")
Tanh = _activation("Tanh", ops.tanh, "tanh(x), elementwise.")
ReLU = _activation("ReLU", ops.relu, "max(x, 0), elementwise.")
Softmax = _activation("Softmax", ops.softmax, "exp(x) / sum(exp(x)) along ``axis``.", axis=-1)
# The activations of zen.activations as layers, with torch.nn's class and argument names.
LeakyReLU = _activation("LeakyReLU", activations.leaky_relu,
                        "x where x > 0, else negative_slope * x.", negative_slope=0.01)
ELU = _activation("ELU", activations.elu, "x where x > 0, else alpha * (e^x - 1).", alpha=1.0)
SELU = _activation("SELU", activations.selu, "Scaled ELU with the self-normalising constants.")
CELU = _activation("CELU", activations.celu, "x where x > 0, else alpha * (e^(x / alpha) - 1).",
                   alpha=1.0)
GELU = _activation("GELU", activations.gelu, "x * Phi(x); approximate='tanh' for the tanh form.",
                   approximate="none")
SiLU = _activation("SiLU", activations.silu, "x * sigmoid(x).")
Mish = _activation("Mish", activations.mish, "x * tanh(softplus(x)).")
Softplus = _activation("Softplus", activations.softplus,
                       "log(1 + e^(beta x)) / beta; x where beta x > threshold.",
                       beta=1.0, threshold=20.0)
Softsign = _activation("Softsign", activations.softsign, "x / (1 + |x|).")
LogSigmoid = _activation("LogSigmoid", activations.logsigmoid, "log(sigmoid(x)).")
Hardtanh = _activation("Hardtanh", activations.hardtanh, "x limited to [min_val, max_val].",
                       min_val=-1.0, max_val=1.0)
ReLU6 = _activation("ReLU6", activations.relu6, "min(max(x, 0), 6).")
Hardsigmoid = _activation("Hardsigmoid", activations.hardsigmoid, "relu6(x + 3) / 6.")
Hardswish = _activation("Hardswish", activations.hardswish, "x * relu6(x + 3) / 6.")
Softmin = _activation("Softmin", activations.softmin, "softmax(-x) along ``axis``.", axis=-1)
LogSoftmax = _activation("LogSoftmax", ops.log_softmax, "log(softmax(x)) along ``axis``.",
                         axis=-1)


class MultiHeadAttention(Layer):
    """Attention with ``num_heads`` heads over batch-first (N, L, E) inputs, E from the first
    call. ``layer(x)`` attends x to itself (as in a Model); ``layer(query, key, value,
    attn_mask=..., key_mask=...)`` attends to another sequence, key and value (N, S, E) (value
    defaults to key). ``causal=True`` lets position i see positions 0..i only; ``attn_mask``
    is scaled_dot_product_attention's (bool, True: attend; or floats added to the scores),
    broadcast to (N, num_heads, L, S); ``key_mask`` (N, S) is True for the keys to attend to
    (padding is False: the opposite of PyTorch's key_padding_mask). ``dropout`` drops
    attention weights while training.

    Weights in zen's (in, out) layout: ``in_weight`` (E, 3E) projects query, key and value
    in that order, ``out_weight`` (E, E); torch.nn.MultiheadAttention's in_proj_weight and
    out_proj.weight are their transposes. Glorot-uniform weights, zero biases, as PyTorch."""

    lazy = True

    def __init__(self, num_heads: int, causal: bool = False, dropout: float = 0.0,
                 use_bias: bool = True) -> None:
        who = "MultiHeadAttention"
        num_heads = arguments.integer(who, "num_heads", num_heads, minimum=1)
        causal = arguments.flag(who, "causal", causal)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or \
                not 0 <= dropout < 1:
            raise ArgumentError(f"{who}: dropout must be in [0, 1), got "
                                f"{arguments.described(dropout)}")
        use_bias = arguments.flag(who, "use_bias", use_bias)
        super().__init__(num_heads=num_heads, causal=causal, dropout=dropout, use_bias=use_bias)

    def forward(self, query: Tensor, key: TensorLike | None = None,
                value: TensorLike | None = None, attn_mask: TensorLike | None = None,
                key_mask: TensorLike | None = None) -> Tensor:
        key = query if key is None else attention.on_device_of(query, key)
        value = key if value is None else attention.on_device_of(query, value)
        if not self.weights:
            self._build(query)
        self._check_shapes(query, key, value)
        heads = [self._heads(self._projected(x, part))
                 for part, x in enumerate((query, key, value))]
        mask = self._mask(query, key, attn_mask, key_mask)
        out = attention.scaled_dot_product_attention(
            *heads, mask, dropout_p=self.dropout if self.training else 0.0)
        batch, length, embed = query.shape
        out = ops.reshape(ops.permute_dims(out, (0, 2, 1, 3)), (batch, length, embed))
        return attention.dense(out, self.weights["out_weight"], self.weights.get("out_bias"))

    def _build(self, query):
        embed = _input_size("MultiHeadAttention", query, -1, "features")
        if embed % self.num_heads:
            raise ShapeMismatchError(f"MultiHeadAttention: the embedding size {embed} (input "
                                     f"{query.shape}) does not split into num_heads="
                                     f"{self.num_heads} equal heads")
        self.add_weight("in_weight", (embed, 3 * embed), query, _glorot(embed, 3 * embed))
        if self.use_bias:
            self.add_weight("in_bias", (3 * embed,), query)
        self.add_weight("out_weight", (embed, embed), query, _glorot(embed, embed))
        if self.use_bias:
            self.add_weight("out_bias", (embed,), query)

    def _check_shapes(self, query, key, value):
        embed = self.weights["out_weight"].shape[0]
        shapes = (query.shape, key.shape, value.shape)
        if any(len(shape) != 3 or shape[-1] != embed for shape in shapes) or \
                key.shape[:2] != value.shape[:2] or query.shape[0] != key.shape[0]:
            raise ShapeMismatchError(f"MultiHeadAttention: needs query (N, L, {embed}), key "
                                     f"and value (N, S, {embed}) for this layer, got query "
                                     f"{query.shape}, key {key.shape}, value {value.shape}")

    def _projected(self, x, part):
        """Query (part 0), key (1) or value (2): x through its third of the in-projection."""
        embed = self.weights["out_weight"].shape[0]
        columns = slice(part * embed, (part + 1) * embed)
        bias = self.weights.get("in_bias")
        return attention.dense(x, self.weights["in_weight"][:, columns],
                               None if bias is None else bias[columns])

    def _heads(self, x):
        """(N, L, E) -> (N, heads, L, E / heads)."""
        batch, length, _ = x.shape
        return ops.permute_dims(ops.reshape(x, (batch, length, self.num_heads, -1)),
                                (0, 2, 1, 3))

    def _mask(self, query, key, attn_mask, key_mask):
        """One mask for the (N, heads, L, S) scores: attn_mask, key_mask and the causal one
        together, or None."""
        allowed = attention.causal_mask(query, query.shape[1], key.shape[1]) \
            if self.causal else None
        if key_mask is not None:
            key_mask = attention.on_device_of(query, key_mask)
            if not key_mask.backend.is_bool(key_mask.dtype) or \
                    key_mask.shape != key.shape[:2]:
                raise ShapeMismatchError(f"MultiHeadAttention: key_mask must be booleans of "
                                         f"shape {key.shape[:2]} (N, S), got "
                                         f"{key_mask.dtype} {key_mask.shape}")
            key_mask = ops.reshape(key_mask, (key.shape[0], 1, 1, key.shape[1]))
            allowed = key_mask if allowed is None else ops.logical_and(allowed, key_mask)
        if attn_mask is None or allowed is None:
            return allowed if attn_mask is None else attn_mask
        attn_mask = attention.on_device_of(query, attn_mask)
        if attn_mask.backend.is_bool(attn_mask.dtype):
            return ops.logical_and(allowed, attn_mask)
        return ops.where(allowed, attn_mask, -math.inf)


@contextlib.contextmanager
def _in_mode(model: Model, training: bool) -> Iterator[None]:
    """``model.in_mode(training)``: a context that runs the model in training (True) or
    inference mode and then puts it, and each layer, back in the mode it was in, also after
    an exception."""
    modes = model.training, [layer.training for layer in model.layers]
    model._switch("in_mode", training)
    try:
        yield
    finally:
        model.training = modes[0]
        for layer, mode in zip(model.layers, modes[1], strict=True):
            layer.training = mode


class Model:
    """Layers applied in order, trained by ``train`` as in the original Zen.

    ``Model([Linear(64), ReLU(), Linear(10)], device="cuda")``. Inputs may be NumPy arrays
    or Tensors; data is never trainable. Lazy layers (Linear, RNN, LSTM, Conv2D) take their
    input size from the first call; ``input_shape`` (one example's shape, without the batch
    axis, as in Keras) builds them now, so that ``model.parameters()`` can go to an
    optimiser before any data has been seen.
    """

    def __init__(self, layers: Iterable[Layer], device: str | None = None,
                 input_shape: InputShape | None = None) -> None:
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ArgumentError(f"Model: layers[{index}] is "
                                    f"{arguments.described(layer)}, not a layer such as "
                                    f"Linear(10)")
        self.backend = devices.get_backend(device or "cpu")
        self.input_shape = None     # one example's, from the first call: what it was built for
        self.training = False       # inference, as Keras's plain call (PyTorch starts training)
        if input_shape is not None:
            self._build("Model", input_shape)

    @property
    def device(self) -> str:
        """The device string, e.g. 'cpu'."""
        return self.backend.name

    @property
    def built(self) -> bool:
        """Whether every layer has its parameters."""
        return all(layer.built for layer in self.layers)

    def build(self, input_shape: InputShape) -> Model:
        """Create the parameters for inputs of ``input_shape`` (one example's shape, without
        the batch axis), with the very draws from zen's generator that a first call would
        make; return the model."""
        return self._build("build", input_shape)

    def __call__(self, x: TensorLike) -> Tensor:
        x = data.on_device(self.backend, x)
        if self.built:
            return self._forward(x)
        with self.undone_on_failure():
            return self._forward(x)

    def undone_on_failure(self) -> contextlib.AbstractContextManager[None]:
        """A context: should its block fail, the layers drop the weights it created and
        zen's generator is set back, as after a failed first call."""
        return _undone_on_failure(self.layers)

    def _forward(self, x):
        shape = tuple(x.shape[1:])
        for layer in self.layers:
            x = layer(x)
        if self.input_shape is None:
            self.input_shape = shape
        return x

    def parameters(self) -> list[Tensor]:
        """The trainable parameters, for an optimiser. Raises NotBuiltError while a lazy
        layer has none yet, rather than give a list that would leave its parameters out."""
        _check_built(self.layers)
        return self._parameters()

    def _parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> dict[str, Tensor]:
        """``{"0.Linear.weight": tensor, ...}``: layer index, layer class, weight name."""
        return self._named("weights")

    def named_buffers(self) -> dict[str, Tensor]:
        """``{"0.BatchNorm.mean": tensor, ...}``: the layers' non-trainable state."""
        return self._named("buffers")

    def _named(self, slot):
        return {f"{i}.{type(layer).__name__}.{name}": tensor
                for i, layer in enumerate(self.layers)
                for name, tensor in getattr(layer, slot).items()}

    def to(self, device: str) -> Model:
        """Move the model's parameters and buffers to ``device`` (in place) and run there from
        now on."""
        self.backend = devices.get_backend(device)
        for tensor in self._parameters() + list(self.named_buffers().values()):
            tensor.move_to(self.backend)
        return self

    def train(self, x: TensorLike | bool | None = None, y: TensorLike | None = None,
              epochs: int = 10,
              loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.MSE,
              optimizer: Optimizer | None = None, batch_size: int = 32, shuffle: bool = True,
              validation_data: tuple[TensorLike, TensorLike] | None = None,
              verbose: bool = True, log_every: int = 10,
              checkpoint: str | os.PathLike | None = None, resume: bool = False,
              distributed: bool | Communicator = False) -> dict[str, list[float]] | Model:
        """Fit the model to (x, y) with mini-batches, in training mode; return the history of
        losses. The model is left in the mode it was in. Without data, ``model.train()`` (or
        ``model.train(False)``) switches the mode for hand-written loops, as PyTorch's, and
        returns the model.

        The defaults are the original Zen's (10 epochs of MSE, ``SGD(lr=0.1)`` as the
        optimiser, batches of 32), except that each epoch's order is shuffled unless
        ``shuffle=False``.

        The running loss stays on the device and is read for the progress bar only every
        ``log_every`` steps, so a GPU is not made to wait for the host at each step. With
        ``checkpoint`` (a path), the model, the optimiser and the position in training are
        saved there atomically after every epoch and when interrupted (Ctrl-C stops between
        steps, never inside one); ``resume=True`` carries on from that file when it exists,
        and ends where an uninterrupted run would have.

        ``distributed=True``, in every process of an MPI job (``mpirun -n 2 python ...``),
        trains one model data-parallel: each process takes ``batch_size`` examples of every
        step (a step sees ``batch_size`` times the number of processes), gradients are
        averaged across processes before each optimiser step, and only rank 0 prints and
        writes the checkpoint. A ``zen.distributed.Communicator`` in place of True is used
        as it is (to read its ``seconds`` in collectives, or to set its ``timeout``).

        Every argument is checked first (``ArgumentError`` names the one that is wrong), and
        so is the data, the validation data too, once per call: NaN or Inf, counts that
        differ, class targets that do not fit (labels out of range). ``epochs=0`` checks
        the data and builds the model but takes no step, as Keras's ``fit`` does.
        """
        if y is None and (x is None or isinstance(x, bool)):
            return self._switch("train", True if x is None else x)
        if x is None or y is None:
            raise ArgumentError("train: fitting needs both x and y; model.train() without "
                                "data switches to training mode")
        settings = training.Settings(
            epochs=epochs, loss_fn=loss_fn, optimizer=optimizer, batch_size=batch_size,
            shuffle=shuffle, validation_data=validation_data, verbose=verbose,
            log_every=log_every, checkpoint=checkpoint, resume=resume, distributed=distributed)
        return training.Fit(self, settings).run(x, y)

    def evaluate(self, x: TensorLike, y: TensorLike,
                 loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.MSE,
                 batch_size: int = 256) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ...}`` on (x, y), checked as ``train`` checks its data;
        accuracy with a classification loss (one that sets ``classification = True``)."""
        arguments.loss_function("evaluate", loss_fn)
        batch_size = arguments.integer("evaluate", "batch_size", batch_size, minimum=1)
        with self.undone_on_failure():
            x, y, loss_fn = data.checked(self, "evaluate", x, y, loss_fn)
        return data.scores(self, x, y, loss_fn, batch_size)

    def predict(self, x: TensorLike, batch_size: int = 256) -> Tensor:
        """The model's outputs for x, in batches, without recording a graph."""
        batch_size = arguments.integer("predict", "batch_size", batch_size, minimum=1)
        x = data.on_device(self.backend, x)
        if x.shape[0] == 0:
            raise DataError(f"predict: x has no examples (shape {x.shape})")
        with self.in_mode(training=False), no_grad():   # also in the middle of training
            parts = [self(x[start:start + batch_size])
                     for start in range(0, x.shape[0], batch_size)]
        return parts[0] if len(parts) == 1 else ops.concat(parts, axis=0)

    def eval(self) -> Model:
        """Inference mode for hand-written loops (``predict`` and ``evaluate`` always run in
        it); returns the model."""
        return self._switch("eval", False)

    in_mode = _in_mode

    def _switch(self, who, training):
        self.training = arguments.flag(who, "mode", training)
        for layer in self.layers:
            layer.train(self.training)
        return self

    def save(self, path: str | os.PathLike) -> None:
        """Write the weights, buffers and layer settings to ``path`` (.npz) atomically: a crash
        mid-write leaves the previous file intact."""
        _checkpoint.save(self, path)

    def load_weights(self, path: str | os.PathLike) -> Model:
        """Set the weights and buffers from a file ``save`` wrote for a model of these same
        layers; an unbuilt model is built for the file's input shape first.

        Everything is checked before anything is set, so a file that does not fit leaves the
        model as it was."""
        return _checkpoint.load_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None,
             custom_layers: Iterable[type[Layer]] | dict[str, type[Layer]] | None = None
             ) -> Model:
        """The model ``save`` wrote to ``path``, rebuilt from its layer settings; your own
        Layer classes in it are found in ``custom_layers`` (a list of classes, or a dict of
        name -> class), as Keras's ``custom_objects``."""
        return _checkpoint.load(path, lambda layers: cls(layers, device),
                                {**LAYERS, **_layer_classes(custom_layers)})

    def _build(self, who, input_shape):
        ids = bool(self.layers) and self.layers[0].takes_ids
        example = _zero_example(who, self.backend, input_shape, "int64" if ids else None)
        self.predict(constant(example, self.backend))   # as a first call would, in inference
        return self


def _check_built(layers):
    unbuilt = [f"{index} ({type(layer).__name__})"
               for index, layer in enumerate(layers) if not layer.built]
    if unbuilt:
        raise NotBuiltError(f"Model.parameters: layer(s) {', '.join(unbuilt)} take their "
                            f"input size from the data and have no parameters yet; "
                            f"build the model first: Model(layers, input_shape=...) or "
                            f"model.build(input_shape), with one example's shape (no "
                            f"batch axis), or call it on a batch")


def _zero_example(who, backend, input_shape, dtype=None):
    """A batch of one example of ``input_shape`` (checked), zeros on ``backend`` in ``dtype``
    (default: the default float dtype)."""
    if not isinstance(input_shape, (tuple, list)) or not input_shape or not all(
            isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > 0
            for size in input_shape):
        raise ArgumentError(f"{who}: input_shape must be a tuple of positive ints, one "
                            f"example's shape without the batch axis, such as (64,), got "
                            f"{arguments.described(input_shape)}")
    dtype = backend.dtype(dtype or get_default_dtype())
    try:
        return backend.xp.zeros((1, *map(int, input_shape)), dtype=dtype,
                                device=backend.native_device)
    except (MemoryError, ValueError):   # NumPy: "array is too big"
        raise ArgumentError(f"{who}: one example of input_shape {tuple(input_shape)} does "
                            f"not fit in memory") from None


def _layer_classes(custom_layers):
    """``custom_layers`` (None, a list of Layer classes, or a dict name -> class) as a dict."""
    if custom_layers is None:
        return {}
    classes = (dict(custom_layers) if isinstance(custom_layers, dict)
               else {getattr(layer, "__name__", repr(layer)): layer for layer in custom_layers})
    for name, layer in classes.items():
        if not (isinstance(layer, type) and issubclass(layer, Layer)):
            raise ArgumentError(f"Model.load: custom_layers[{name!r}] should be a Layer "
                                f"subclass, got {layer!r}")
    return classes


# Every layer class zen defines, by name: what Model.load rebuilds from a file's settings.
LAYERS = {name: value for name, value in list(globals().items())
          if isinstance(value, type) and issubclass(value, Layer) and value is not Layer
          and not name.startswith("_")}
