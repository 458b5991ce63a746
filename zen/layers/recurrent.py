"""Recurrent layers over (batch, time, features) inputs."""

from __future__ import annotations

from zen import arguments, functional, ops
from zen.errors import ShapeMismatchError
from zen.layers.base import Layer, glorot, input_size
from zen.tensor import Tensor


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
            features = input_size("RNN", x, -1, "features")
            self.add_weight("input_weight", (features, hidden_dim), x,
                            glorot(features, hidden_dim))
            self.add_weight("hidden_weight", (hidden_dim, hidden_dim), x,
                            glorot(hidden_dim, hidden_dim))
            self.add_weight("hidden_bias", (hidden_dim,), x)
            self.add_weight("output_weight", (hidden_dim, self.units), x,
                            glorot(hidden_dim, self.units))
            self.add_weight("output_bias", (self.units,), x)
        w = self.weights
        hidden = ops.tanh(functional.dense(x[:, 0], w["input_weight"], w["hidden_bias"]))
        states = [hidden]
        for step in range(1, x.shape[1]):
            hidden = ops.rnn_step(x[:, step], hidden, w["input_weight"], w["hidden_weight"],
                                  w["hidden_bias"])
            states.append(hidden)
        out = functional.stack(states, axis=1) if self.return_sequences else hidden
        return functional.dense(out, w["output_weight"], w["output_bias"])


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
            features = input_size("LSTM", x, -1, "features")
            self.add_weight("input_weight", (features, 4 * units), x,
                            glorot(features, 4 * units))
            self.add_weight("hidden_weight", (units, 4 * units), x, glorot(units, 4 * units))
            bias = self.add_weight("bias", (4 * units,), x)
            bias.value[units:2 * units] = 1.0
        w = self.weights
        inputs = functional.dense(x, w["input_weight"], w["bias"])
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
