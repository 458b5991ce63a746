"""Layers and the Keras-like ``Model`` of the original Zen, on any device.

A layer creates its parameters on its first call, from the input's size and device, with
zen's seeded generator (``zen.seed``), so one seed gives the same model on every device; a
model given its input shape (``Model(layers, input_shape=...)`` or ``model.build``) creates
them at once, with the same draws. A call that fails leaves every layer as it was.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeAlias

from zen import arguments, data, devices, functional, normalization, ops, random, training
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

    def __call__(self, x: Tensor) -> Tensor:
        if self.built:
            return self.forward(x)
        with _undone_on_failure([self]):
            return self.forward(x)

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
        if self.use_bias and x.ndim >= 2:
            return ops.linear(x, weight, self.weights["bias"])
        out = x @ weight
        return out + self.weights["bias"] if self.use_bias else out


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
    """2-D convolution of NCHW inputs with ``filters`` kernels of ``kernel_size``;
    ``padding`` is "valid", "same" (odd kernels, stride 1) or a number. He-uniform weights."""

    lazy = True

    def __init__(self, filters: int, kernel_size: Pair, strides: Pair = 1,
                 padding: Literal["valid", "same"] | Pair = "valid",
                 use_bias: bool = True) -> None:
        filters = arguments.integer("Conv2D", "filters", filters, minimum=1)
        use_bias = arguments.flag("Conv2D", "use_bias", use_bias)
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides,
                         padding=padding, use_bias=use_bias)
        self._geometry()    # checks the settings now, not at the first call

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeMismatchError(f"Conv2D: needs input (batch, channels, height, width), "
                                     f"got {x.shape}")
        kernel, stride, padding = self._geometry()
        if not self.weights:
            channels = _input_size("Conv2D", x, 1, "channels")
            fan_in = channels * kernel[0] * kernel[1]
            self.add_weight("weight", (self.filters, channels) + kernel, x, _he(fan_in))
            if self.use_bias:
                self.add_weight("bias", (self.filters,), x)
        return functional.conv2d(x, self.weights["weight"], self.weights.get("bias"),
                                 stride=stride, padding=padding)

    def _geometry(self):
        """The kernel size, strides and padding (from "valid", "same", a number or a pair)
        as pairs of numbers (rows, columns)."""
        kernel = functional._pair("Conv2D: kernel_size", self.kernel_size, minimum=1)
        stride = functional._pair("Conv2D: strides", self.strides, minimum=1)
        padding = self.padding
        if padding == "same":
            if stride != (1, 1) or kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
                raise ArgumentError(f"Conv2D: padding='same' needs stride 1 and odd kernel "
                                    f"sizes, got strides={self.strides}, "
                                    f"kernel_size={self.kernel_size}")
            return kernel, stride, (kernel[0] // 2, kernel[1] // 2)
        if isinstance(padding, str) and padding != "valid":
            raise ArgumentError(f"Conv2D: padding must be 'valid', 'same', an int or a pair, "
                                f"got {padding!r}")
        padding = functional._pair("Conv2D: padding", 0 if padding == "valid" else padding)
        return kernel, stride, padding


class MaxPool2D(Layer):
    """The maximum of each ``pool_size`` window of NCHW inputs."""

    def __init__(self, pool_size: Pair = 2, strides: Pair | None = None) -> None:
        functional._pair("MaxPool2D: pool_size", pool_size, minimum=1)
        if strides is not None:
            functional._pair("MaxPool2D: strides", strides, minimum=1)
        super().__init__(pool_size=pool_size, strides=strides)

    def forward(self, x: Tensor) -> Tensor:
        return functional.max_pool2d(x, self.pool_size, self.strides)


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
        if not self.training or self.rate == 0:
            return x
        keep = random.generator().uniform(0.0, 1.0, x.shape) >= self.rate
        mask = Tensor(keep / (1 - self.rate), trainable=False, device=x.backend, dtype=x.dtype)
        return x * mask


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


def _activation(name, function, doc):
    def forward(self, x: Tensor) -> Tensor:
        return function(x)

    return type(name, (Layer,), {"forward": forward, "__doc__": doc})


Sigmoid = _activation("Sigmoid", ops.sigmoid, "1 / (1 + exp(-x)), elementwise.")
Tanh = _activation("Tanh", ops.tanh, "tanh(x), elementwise.")
ReLU = _activation("ReLU", ops.relu, "max(x, 0), elementwise.")


class Softmax(Layer):
    """exp(x) / sum(exp(x)) along ``axis``."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__(axis=arguments.integer("Softmax", "axis", axis))

    def forward(self, x: Tensor) -> Tensor:
        return ops.softmax(x, self.axis)


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
