"""Optimisers. Each update is raw array arithmetic on the parameters' device, in place, with
no graph; the state (moments, velocities) lives beside the parameters on that device."""

import math

from zen.errors import ArgumentError
from zen.tensor import Tensor, mark_modified


class OptimizerError(ArgumentError):
    """An optimiser asked to step without parameters, or with bad settings."""


class Optimizer:
    """Base class. ``Optimizer(parameters, lr=...)`` as in PyTorch, or ``Optimizer(lr)`` and
    let ``Model.train`` say which parameters to update."""

    def __init__(self, parameters=None, lr=0.01):
        if isinstance(parameters, (int, float)):
            parameters, lr = None, parameters
        if not lr > 0:
            raise OptimizerError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.parameters = None if parameters is None else list(parameters)
        if self.parameters is not None and not self.parameters:
            raise OptimizerError(f"{type(self).__name__}: got an empty list of parameters")
        self.lr = lr
        self.state = {}     # parameter -> its arrays (moments and the like) and counters

    def step(self, parameters=None):
        """Update every parameter that has a gradient."""
        parameters = self._parameters(parameters)
        for parameter in parameters:
            gradient = parameter.gradient
            if gradient is None:
                continue
            if isinstance(gradient, Tensor):
                gradient = gradient.value            # a recorded gradient (create_graph)
            self.update(parameter, gradient, self.state.setdefault(parameter, {}))
            mark_modified(parameter)

    def zero_grad(self, parameters=None):
        for parameter in self._parameters(parameters):
            parameter.gradient = None

    def update(self, parameter, gradient, state):
        raise NotImplementedError

    def _parameters(self, parameters):
        parameters = self.parameters if parameters is None else parameters
        if not parameters:
            raise OptimizerError(f"{type(self).__name__}: no parameters to update; pass them "
                                 f"when creating it, or to step()")
        return parameters

    def state_values(self, parameters):
        """The state as ``{"i.name": value}`` for the i-th of ``parameters``: arrays on the
        device, and ints (step counts)."""
        return {f"{i}.{name}": value for i, parameter in enumerate(parameters)
                for name, value in self.state.get(parameter, {}).items()}

    def load_state_values(self, parameters, values):
        self.state = {}
        for key, value in values.items():
            index, name = key.split(".", 1)
            parameter = parameters[int(index)]
            self.state.setdefault(parameter, {})[name] = (
                value if isinstance(value, int) else parameter.backend.asarray(value))


def _zeros(state, name, parameter):
    if name not in state:
        state[name] = parameter.backend.xp.zeros_like(parameter.value)
    return state[name]


class SGD(Optimizer):
    """parameter -= lr * gradient."""

    def update(self, parameter, gradient, state):
        parameter.value -= self.lr * gradient


class Momentum(Optimizer):
    """SGD with momentum, as PyTorch: velocity = momentum * velocity + gradient."""

    def __init__(self, parameters=None, lr=0.01, momentum=0.9):
        super().__init__(parameters, lr)
        self.momentum = momentum

    def update(self, parameter, gradient, state):
        velocity = _zeros(state, "velocity", parameter)
        velocity *= self.momentum
        velocity += gradient
        parameter.value -= self.lr * velocity


class RMSProp(Optimizer):
    """Divide by a running root mean square of the gradient, as PyTorch (alpha=0.99)."""

    def __init__(self, parameters=None, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(parameters, lr)
        self.alpha, self.eps = alpha, eps

    def update(self, parameter, gradient, state):
        square = _zeros(state, "square", parameter)
        square *= self.alpha
        square += (1 - self.alpha) * gradient * gradient
        parameter.value -= self.lr * gradient / (parameter.backend.xp.sqrt(square) + self.eps)


class Adam(Optimizer):
    """Adam with both moments bias-corrected, as in Kingma & Ba and PyTorch."""

    def __init__(self, parameters=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        self.betas, self.eps = betas, eps

    def update(self, parameter, gradient, state):
        beta1, beta2 = self.betas
        step = state["step"] = state.get("step", 0) + 1     # per parameter, as in PyTorch
        first, second = _zeros(state, "first", parameter), _zeros(state, "second", parameter)
        first *= beta1
        first += (1 - beta1) * gradient
        second *= beta2
        second += (1 - beta2) * gradient * gradient
        step_size = self.lr / (1 - beta1 ** step)
        scale = 1 / math.sqrt(1 - beta2 ** step)
        denominator = parameter.backend.xp.sqrt(second) * scale + self.eps
        parameter.value -= step_size * first / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW."""

    def __init__(self, parameters=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.01):
        super().__init__(parameters, lr, betas, eps)
        self.weight_decay = weight_decay

    def update(self, parameter, gradient, state):
        parameter.value *= 1 - self.lr * self.weight_decay
        super().update(parameter, gradient, state)
