"""The layers of the original Zen (Linear, Flatten, Dropout, activations) and an
activation layer for each of ``zen.activations``, with torch.nn's class and argument names."""

from __future__ import annotations

import inspect
from typing import Any, Literal

from zen import activations, arguments, functional, ops
from zen.errors import ArgumentError, ShapeMismatchError
from zen.layers.base import Layer, glorot, he, input_size
from zen.tensor import Tensor


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
            fan_in = input_size("Linear", x, -1, "features")
            scale = he(fan_in) if self.init == "he" else glorot(fan_in, self.units)
            self.add_weight("weight", (fan_in, self.units), x, scale)
            if self.use_bias:
                self.add_weight("bias", (self.units,), x)
        weight = self.weights["weight"]
        if x.shape[-1] != weight.shape[0]:
            raise ShapeMismatchError(f"Linear: input has {x.shape[-1]} features (shape "
                                     f"{x.shape}) but this layer was built for "
                                     f"{weight.shape[0]}")
        return functional.dense(x, weight, self.weights.get("bias"))


class Flatten(Layer):
    """(batch, ...) -> (batch, features)."""

    def forward(self, x: Tensor) -> Tensor:
        return functional.flatten(x, 1)


class Dropout(Layer):
    """While training, zero each input with probability ``rate`` and scale the rest by
    1 / (1 - rate); at inference, pass the input through."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate=arguments.number("Dropout", "rate", rate, low=0, high=1,
                                               high_open=True))

    def forward(self, x: Tensor) -> Tensor:
        return functional.dropout(x, self.rate, self.training)


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
