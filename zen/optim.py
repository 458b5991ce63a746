"""Optimisers. Each update is raw array arithmetic on the parameters' device, in place, with
no graph, through the device's array namespace (``zen.namespaces``); the state (moments,
velocities) lives beside the parameters on that device."""

import math
import numbers
from collections.abc import Iterable

from zen.errors import ArgumentError
from zen.namespaces import array_namespaces
from zen.recorder import mark_modified
from zen.tensor import Tensor


class OptimizerError(ArgumentError):
    """An optimiser asked to step without parameters, or with bad settings."""


class Optimizer:
    """Base class. ``Optimizer(parameters, lr=...)`` as in PyTorch, or ``Optimizer(lr)`` and
    let ``Model.train`` say which parameters to update."""

    def __init__(self, parameters=None, lr=0.01):
        if _is_number(parameters):
            parameters, lr = None, parameters
        self._setting_names = []
        self._set(lr=lr)
        self.parameters = None if parameters is None else self._checked_parameters(parameters)
        self.state = {}     # parameter -> its arrays (moments and the like) and counters

    def _set(self, **settings):
        """Check and keep hyper-parameters (``lr=0.1``, ``betas=(0.9, 0.999)``...): each must
        be a finite number in its range, or OptimizerError names it; values become floats."""
        for name, value in settings.items():
            checked = _SETTING_RULES[name](type(self).__name__, name, value)
            setattr(self, name, checked)
            if name not in self._setting_names:
                self._setting_names.append(name)

    def settings(self):
        """The hyper-parameters, ``{"lr": 0.001, "betas": (0.9, 0.999), ...}``: what two
        processes of one job must agree on."""
        return {name: getattr(self, name) for name in self._setting_names}

    def __repr__(self):
        settings = ", ".join(f"{name}={value!r}" for name, value in self.settings().items())
        return f"{type(self).__name__}({settings})"

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

    def _checked_parameters(self, parameters):
        if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
            raise OptimizerError(f"{type(self).__name__}: parameters must be a list of "
                                 f"Tensors (or the learning rate), got {parameters!r}")
        parameters = list(parameters)
        if not parameters:
            raise OptimizerError(f"{type(self).__name__}: got an empty list of parameters")
        for parameter in parameters:
            if not isinstance(parameter, Tensor):
                raise OptimizerError(f"{type(self).__name__}: parameters must be Tensors, got "
                                     f"{parameter!r} ({type(parameter).__name__})")
        return parameters

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


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _at_least_zero(who, name, value):
    """``value`` as a float, if a finite number >= 0 (lr=0 is allowed, as in PyTorch)."""
    if not _is_number(value) or not 0 <= value < math.inf:
        raise _refusal(who, name, "a finite number >= 0", value)
    return float(value)


def _fraction(who, name, value):
    """``value`` as a float, if a number in [0, 1) (a decay rate: 1 would never forget)."""
    if not _is_number(value) or not 0 <= value < 1:
        raise _refusal(who, name, "a number in [0, 1)", value)
    return float(value)


def _fractions(who, name, value):
    """A pair of decay rates, each in [0, 1), as a tuple of floats."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or \
            not all(_is_number(beta) and 0 <= beta < 1 for beta in value):
        raise _refusal(who, name, "two numbers in [0, 1)", value)
    return tuple(float(beta) for beta in value)


def _refusal(who, name, wanted, value):
    plain = _is_number(value) or isinstance(value, (tuple, list))
    kind = "" if plain else f" ({type(value).__name__})"     # '0.1' (str) is not a number
    return OptimizerError(f"{who}: {name} must be {wanted}, got {value!r}{kind}")


_SETTING_RULES = {"lr": _at_least_zero, "eps": _at_least_zero, "weight_decay": _at_least_zero,
                  "momentum": _fraction, "alpha": _fraction, "betas": _fractions}


def _zeros(state, name, parameter):
    if name not in state:
        state[name] = array_namespaces[parameter.backend].zeros_like(parameter.value)
    return state[name]


class SGD(Optimizer):
    """parameter -= lr * gradient."""

    def update(self, parameter, gradient, state):
        xp = array_namespaces[parameter.backend]
        xp.subtract_in_place(parameter.value, xp.multiply(self.lr, gradient))


class Momentum(Optimizer):
    """SGD with momentum, as PyTorch: velocity = momentum * velocity + gradient."""

    def __init__(self, parameters=None, lr=0.01, momentum=0.9):
        super().__init__(parameters, lr)
        self._set(momentum=momentum)

    def update(self, parameter, gradient, state):
        xp = array_namespaces[parameter.backend]
        velocity = _zeros(state, "velocity", parameter)
        xp.multiply_in_place(velocity, self.momentum)
        xp.add_in_place(velocity, gradient)
        xp.subtract_in_place(parameter.value, xp.multiply(self.lr, velocity))


class RMSProp(Optimizer):
    """Divide by a running root mean square of the gradient, as PyTorch (alpha=0.99)."""

    def __init__(self, parameters=None, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(parameters, lr)
        self._set(alpha=alpha, eps=eps)

    def update(self, parameter, gradient, state):
        xp = array_namespaces[parameter.backend]
        square = _zeros(state, "square", parameter)
        xp.multiply_in_place(square, self.alpha)
        xp.add_in_place(square, xp.multiply(xp.multiply(1 - self.alpha, gradient), gradient))
        step = xp.divide(xp.multiply(self.lr, gradient), xp.add(xp.sqrt(square), self.eps))
        xp.subtract_in_place(parameter.value, step)


class Adam(Optimizer):
    """Adam with both moments bias-corrected, as in Kingma & Ba and PyTorch."""

    def __init__(self, parameters=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(parameters, lr)
        self._set(betas=betas, eps=eps)

    def update(self, parameter, gradient, state):
        beta1, beta2 = self.betas
        step = state["step"] = state.get("step", 0) + 1     # per parameter, as in PyTorch
        xp = array_namespaces[parameter.backend]
        first, second = _zeros(state, "first", parameter), _zeros(state, "second", parameter)
        xp.multiply_in_place(first, beta1)
        xp.add_in_place(first, xp.multiply(1 - beta1, gradient))
        xp.multiply_in_place(second, beta2)
        xp.add_in_place(second, xp.multiply(xp.multiply(1 - beta2, gradient), gradient))
        step_size = self.lr / (1 - beta1 ** step)
        scale = 1 / math.sqrt(1 - beta2 ** step)
        denominator = xp.add(xp.multiply(xp.sqrt(second), scale), self.eps)
        xp.subtract_in_place(parameter.value, xp.divide(xp.multiply(step_size, first),
                                                         denominator))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW."""

    def __init__(self, parameters=None, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.01):
        super().__init__(parameters, lr, betas, eps)
        self._set(weight_decay=weight_decay)

    def update(self, parameter, gradient, state):
        array_namespaces[parameter.backend].multiply_in_place(
            parameter.value, 1 - self.lr * self.weight_decay)
        super().update(parameter, gradient, state)
