"""Optimisers. Each update is raw array arithmetic on the parameters' device, in place, with
no graph, through the device's array namespace (``zen.namespaces``); the state (moments,
velocities) lives beside the parameters on that device."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from zen import arguments, lr_scheduler, recorder
from zen.errors import ArgumentError, GradientError
from zen.lr_scheduler import CosineAnnealingLR, ExponentialLR, LinearLR, StepLR
from zen.namespaces import array_namespaces
from zen.recorder import mark_modified
from zen.tensor import Array, Tensor, constant

__all__ = ["SGD", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR", "LinearLR",
           "Momentum", "Optimizer", "OptimizerError", "RMSProp", "StepLR", "clip_grad_norm_",
           "clip_grad_value_", "lr_scheduler"]


class OptimizerError(ArgumentError):
    """An optimiser asked to step without parameters, or with bad settings."""


class Optimizer:
    """Base class. Each optimiser takes two forms of call, told apart by their first argument
    and by the names of their settings:

    - PyTorch's, parameters first: ``Adam(model.parameters(), lr=1e-3)``, in PyTorch's order,
      with its names and defaults (``_pytorch_form``);
    - the original Zen's, without parameters: ``Adam(0.01)``, ``RMSProp(lr=0.01, beta=0.9)``,
      in its order, with its names and defaults (``_original_form``); ``Model.train``, or the
      original's ``optimizer(model, loss)``, says which parameters to update.

    A setting that only one form has decides the form (``Adam(params, beta1=0.8)`` is the
    original's); a call that mixes the two forms' own names is refused."""

    def __init__(self, *arguments: Any, **keywords: Any) -> None:
        who = type(self).__name__
        parameters, numbers, with_parameters = _split_parameters(who, arguments, keywords)
        given = self._named(who, numbers, keywords, with_parameters)
        form = self._chosen_form(who, given, with_parameters)
        checked = {name: _SETTING_RULES[name](who, name, value)
                   for name, value in {**_arguments_of(form), **given}.items()}
        settings = form(**checked)
        self._setting_names = list(settings)
        for name, value in settings.items():
            setattr(self, name, value)
        self.parameters = None if parameters is None else self._checked_parameters(parameters)
        self.state = {}     # parameter -> its arrays (moments and the like) and counters

    @staticmethod
    def _pytorch_form(lr=0.01):
        """PyTorch's settings after the parameters, in its order and with its defaults, as
        arguments; returns the optimiser's settings."""
        return {"lr": lr}

    _original_form = None   # the original Zen's settings, likewise (None: it had no such class)
    _state_names = ()       # the arrays and counters it keeps per parameter

    def __setattr__(self, name: str, value: Any) -> None:
        """A setting changed between steps (``optimizer.lr = 0.01``, as a scheduler does) is
        checked as when the optimiser was made, and used from the next step."""
        if name in _SETTING_RULES:
            value = _checked_setting(self, name, value)
        super().__setattr__(name, value)

    def _named(self, who, numbers, keywords, with_parameters):
        """Every setting given, by name: those given by position take their names from
        PyTorch's order after parameters, or without parameters from the original Zen's."""
        order = list(_arguments_of(self._pytorch_form) if with_parameters else
                     _arguments_of(self._original_form) or ["lr"])  # or zen's Optimizer(lr)
        if len(numbers) > len(order):
            raise OptimizerError(f"{who}: got {len(numbers)} settings by position, "
                                 f"{tuple(numbers)}; {self._forms_text()}; name the settings "
                                 f"after lr")
        given = dict(zip(order, numbers, strict=False))
        for name, value in keywords.items():
            if name in given:
                raise OptimizerError(f"{who}: got {name} twice, by position and by name")
            given[name] = value
        return given

    def _chosen_form(self, who, given, with_parameters):
        """The form whose own names ``given`` uses; with neither's, PyTorch's if the call has
        parameters, else the original Zen's (whose calls never had any)."""
        pytorch, original = _arguments_of(self._pytorch_form), _arguments_of(self._original_form)
        unknown = sorted(set(given) - set(pytorch) - set(original))
        if unknown:
            raise OptimizerError(f"{who}: no setting named {', '.join(unknown)}; "
                                 f"{self._forms_text()}")
        if self._original_form is None:
            return self._pytorch_form
        pytorch_own, original_own = sorted(set(given) - set(original)), \
            sorted(set(given) - set(pytorch))
        if pytorch_own and original_own:
            raise OptimizerError(f"{who}: the original Zen's {who} takes "
                                 f"{', '.join(original_own)} and PyTorch's takes "
                                 f"{', '.join(pytorch_own)}, and they update differently; "
                                 f"{self._forms_text()}; use the names of one")
        if original_own or not (pytorch_own or with_parameters):
            return self._original_form
        return self._pytorch_form

    def _forms_text(self):
        """The forms of call, with their defaults, for an error message."""
        who = type(self).__name__
        pytorch = f"{who}(parameters, {str(inspect.signature(self._pytorch_form))[1:]}"
        if self._original_form is None:
            return f"{who} takes {pytorch}, or {who}(lr, ...) with the rest by name"
        return (f"PyTorch's is {pytorch} and the original Zen's, without parameters, "
                f"{who}{inspect.signature(self._original_form)}")

    def settings(self) -> dict[str, Any]:
        """The hyper-parameters, ``{"lr": 0.001, "betas": (0.9, 0.999), ...}``: what two
        processes of one job must agree on."""
        return {name: getattr(self, name) for name in self._setting_names}

    def __repr__(self):
        settings = ", ".join(f"{name}={value!r}" for name, value in self.settings().items())
        return f"{type(self).__name__}({settings})"

    def step(self, parameters: Iterable[Tensor] | None = None) -> None:
        """Update every parameter that has a gradient."""
        parameters = self._parameters(parameters)
        tracer = _read_by_trace(parameters)
        for parameter in parameters:
            if parameter.gradient is None:
                continue
            state = self.state.setdefault(parameter, {})
            if tracer is not None:      # before the arrays are read: stand-ins from then on
                tracer.stepping(self, parameter, state)
            gradient = parameter.gradient
            if isinstance(gradient, Tensor):
                gradient = gradient.value            # a recorded gradient (create_graph)
            self.update(parameter, gradient, state)
            mark_modified(parameter)

    def zero_grad(self, parameters: Iterable[Tensor] | None = None) -> None:
        for parameter in self._parameters(parameters):
            parameter.zero_grad()

    def __call__(self, model: Any, loss: Tensor) -> None:
        """The original Zen's step, ``optimizer(model, loss)``: back-propagate ``loss``,
        update every parameter of ``model``, and clear their gradients for the next step."""
        who = f"{type(self).__name__}(model, loss)"
        if not callable(getattr(model, "parameters", None)):
            raise OptimizerError(f"{who}: model must be a zen.nn.Model (or have "
                                 f"parameters()), got {type(model).__name__}")
        if not isinstance(loss, Tensor):
            raise OptimizerError(f"{who}: loss must be the Tensor that a loss function "
                                 f"returned, got {type(loss).__name__}")
        parameters = model.parameters()
        loss.backward()
        self.step(parameters)
        self.zero_grad(parameters)

    def update(self, parameter: Tensor, gradient: Array, state: dict[str, Any]) -> None:
        """Change ``parameter.value`` in place by ``gradient``, keeping arrays in ``state``.
        Every number that may change between steps (the learning rate, a bias correction)
        comes from ``scalars(state)``, so that a captured step (``zen.capture``) reads them
        afresh each time."""
        raise NotImplementedError

    def scalars(self, state: dict[str, Any]) -> tuple[float, ...]:
        """This step's numbers for ``update``, advancing ``state``'s step count if any."""
        return (self.lr,)

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

    def state_values(self, parameters: Sequence[Tensor]) -> dict[str, Array | int]:
        """The state as ``{"i.name": value}`` for the i-th of ``parameters``: arrays on the
        device, and ints (step counts)."""
        return {f"{i}.{name}": value for i, parameter in enumerate(parameters)
                for name, value in self.state.get(parameter, {}).items()}

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: array or step count}}, "param_groups": [{**settings,
        "params": [index, ...]}]}``: PyTorch's layout, with zen's names for the state and
        copies of its arrays (on the device), for ``load_state_dict``."""
        parameters = self._parameters(None)
        copy = {p: array_namespaces[p.backend].copy for p in parameters}
        state = {i: {name: value if isinstance(value, int) else copy[p](value)
                     for name, value in self.state[p].items()}
                 for i, p in enumerate(parameters) if p in self.state}
        return {"state": state,
                "param_groups": [{**self.settings(), "params": list(range(len(parameters)))}]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the settings and state of ``state_dict()`` of an optimiser of this kind and
        settings' names, over parameters of the same shapes; checked in full before anything
        changes."""
        settings, values = _checked_state_dict(self, self._parameters(None), state_dict)
        for name, value in settings.items():
            setattr(self, name, value)
        self.load_state_values(self.parameters, values)

    def load_state_values(self, parameters: Sequence[Tensor],
                          values: dict[str, Any]) -> None:
        self.state = {}
        for key, value in values.items():
            index, name = key.split(".", 1)
            parameter = parameters[int(index)]
            self.state.setdefault(parameter, {})[name] = (
                value if isinstance(value, int) else parameter.backend.asarray(value))


def per_step(scalars: Callable[..., tuple[float, ...]], optimizer: Optimizer,
             state: dict[str, Any]) -> tuple[float, ...]:
    """``scalars(optimizer, state)``: an optimiser's numbers for this step, which a captured
    step reads afresh each time (a learning rate a scheduler changes, a bias correction)."""
    values = scalars(optimizer, state)
    tracer = recorder.tracer
    return values if tracer is None else tracer.live(scalars, optimizer, state, values)


def _split_parameters(who, arguments, keywords):
    """(the parameters or None, the settings given by position, whether the call gave
    parameters): PyTorch's first argument, its ``params=``, or zen's ``parameters=``. A
    number in first place is a learning rate, as in the original Zen."""
    named = [name for name in ("parameters", "params") if name in keywords]
    positional = bool(arguments) and not _is_number(arguments[0])
    if len(named) + positional > 1:
        raise OptimizerError(f"{who}: got the parameters more than once (by position, as "
                             f"parameters= or as params=)")
    if named:
        return keywords.pop(named[0]), arguments, True
    return (arguments[0], arguments[1:], True) if positional else (None, arguments, False)


def _arguments_of(form):
    """``{name: default}`` of a form of call (a function), in order; {} for None."""
    if form is None:
        return {}
    return {name: parameter.default
            for name, parameter in inspect.signature(form).parameters.items()}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _at_least_zero(who, name, value):
    """``value`` as a float, if a finite number >= 0 (lr=0 is allowed, as in PyTorch)."""
    return arguments.number(who, name, value, low=0, finite=True, error=OptimizerError)


def _fraction(who, name, value):
    """``value`` as a float, if a number in [0, 1) (a decay rate: 1 would never forget)."""
    return arguments.number(who, name, value, low=0, high=1, high_open=True,
                            error=OptimizerError)


def _fractions(who, name, value):
    """A pair of decay rates, each in [0, 1), as a tuple of floats."""
    pair = isinstance(value, (tuple, list)) and len(value) == 2
    if not pair or not all(_is_number(beta) and 0 <= beta < 1 for beta in value):
        raise OptimizerError(f"{who}: {name} must be two numbers in [0, 1), got "
                             f"{arguments.described(value)}")
    return tuple(float(beta) for beta in value)


def _checked_setting(optimizer, name, value):
    """``value`` for ``optimizer``'s setting ``name``, checked; a step being traced is told
    (a replay would not set it)."""
    value = _SETTING_RULES[name](type(optimizer).__name__, name, value)
    if recorder.tracer is not None:
        recorder.tracer.changed_setting(optimizer, name)
    return value


def _read_by_trace(parameters):
    """The step tracer, if one is open, told first that the parameters' values and gradients
    are about to be read (stand-ins from then on, or None where there are none)."""
    if recorder.tracer is not None:
        recorder.tracer.entering(parameters)
    return recorder.tracer


_SETTING_RULES = {"lr": _at_least_zero, "eps": _at_least_zero, "epsilon": _at_least_zero,
                  "weight_decay": _at_least_zero, "momentum": _fraction, "alpha": _fraction,
                  "beta": _fraction, "beta1": _fraction, "beta2": _fraction,
                  "betas": _fractions}


def _zeros(state, name, parameter):
    if name not in state:
        state[name] = array_namespaces[parameter.backend].zeros_like(parameter.value)
    return state[name]


def _velocity(xp, momentum, parameter, gradient, state):
    """velocity = momentum * velocity + gradient, PyTorch's form of the original Zen's
    ``v = beta * v + lr * g`` (the same steps, while lr stays the same), kept in ``state``."""
    velocity = _zeros(state, "velocity", parameter)
    xp.multiply_in_place(velocity, momentum)
    xp.add_in_place(velocity, gradient)
    return velocity


class SGD(Optimizer):
    """parameter -= lr * gradient; with PyTorch's ``momentum=``, SGD as ``Momentum``."""

    momentum = 0.0      # no velocity kept, unless asked for
    _state_names = ("velocity",)

    @staticmethod
    def _pytorch_form(lr=0.01, momentum=0.0):
        return {"lr": lr, **({"momentum": momentum} if momentum else {})}

    @staticmethod
    def _original_form(lr=0.01):
        return {"lr": lr}

    def scalars(self, state: dict[str, Any]) -> tuple[float, ...]:
        return self.lr, self.momentum

    def update(self, parameter: Tensor, gradient: Array, state: dict[str, Any]) -> None:
        xp = array_namespaces[parameter.backend]
        lr, momentum = per_step(SGD.scalars, self, state)
        if self.momentum:
            gradient = _velocity(xp, momentum, parameter, gradient, state)
        xp.subtract_in_place(parameter.value, xp.multiply(lr, gradient))


class Momentum(Optimizer):
    """SGD with momentum. PyTorch's ``Momentum(parameters, lr=0.01, momentum=0.9)`` and the
    original Zen's ``Momentum(lr=0.01, beta=0.9)`` (its ``v = beta * v + lr * g; p -= v``)
    take the same steps."""

    _state_names = ("velocity",)

    @staticmethod
    def _pytorch_form(lr=0.01, momentum=0.9):
        return {"lr": lr, "momentum": momentum}

    @staticmethod
    def _original_form(lr=0.01, beta=0.9):
        return {"lr": lr, "momentum": beta}

    def scalars(self, state: dict[str, Any]) -> tuple[float, ...]:
        return self.lr, self.momentum

    def update(self, parameter: Tensor, gradient: Array, state: dict[str, Any]) -> None:
        xp = array_namespaces[parameter.backend]
        lr, momentum = per_step(Momentum.scalars, self, state)
        velocity = _velocity(xp, momentum, parameter, gradient, state)
        xp.subtract_in_place(parameter.value, xp.multiply(lr, velocity))


class RMSProp(Optimizer):
    """Divide by a running root mean square of the gradient. PyTorch's ``RMSProp(parameters,
    lr=0.01, alpha=0.99, eps=1e-8)`` adds eps to the root; the original Zen's ``RMSProp(lr=0.01,
    beta=0.9, epsilon=1e-10)`` adds epsilon to the mean square, inside the root."""

    eps = epsilon = 0.0     # the one of the two that the call's form lacks adds nothing
    _state_names = ("square",)

    @staticmethod
    def _pytorch_form(lr=0.01, alpha=0.99, eps=1e-8):
        return {"lr": lr, "alpha": alpha, "eps": eps}

    @staticmethod
    def _original_form(lr=0.01, beta=0.9, epsilon=1e-10):
        return {"lr": lr, "alpha": beta, "epsilon": epsilon}

    def scalars(self, state: dict[str, Any]) -> tuple[float, ...]:
        return self.lr, self.alpha, 1 - self.alpha, self.epsilon, self.eps

    def update(self, parameter: Tensor, gradient: Array, state: dict[str, Any]) -> None:
        xp = array_namespaces[parameter.backend]
        lr, alpha, rest, epsilon, eps = per_step(RMSProp.scalars, self, state)
        square = _zeros(state, "square", parameter)
        xp.multiply_in_place(square, alpha)
        xp.add_in_place(square, xp.multiply(xp.multiply(rest, gradient), gradient))
        root = xp.add(xp.sqrt(xp.add(square, epsilon)), eps)
        xp.subtract_in_place(parameter.value, xp.divide(xp.multiply(lr, gradient), root))


class Adam(Optimizer):
    """Adam with both moments bias-corrected, as in Kingma & Ba and PyTorch:
    ``Adam(parameters, lr=0.001, betas=(0.9, 0.999), eps=1e-8)``, or the original Zen's
    ``Adam(lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8)``, whose own update divided by
    1 - beta instead of 1 - beta ** step."""

    _state_names = ("step", "first", "second")

    @staticmethod
    def _pytorch_form(lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        return {"lr": lr, "betas": betas, "eps": eps}

    @staticmethod
    def _original_form(lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8):
        return {"lr": lr, "betas": (beta1, beta2), "eps": epsilon}

    def scalars(self, state: dict[str, Any]) -> tuple[float, ...]:
        beta1, beta2 = self.betas
        step = state["step"] = state.get("step", 0) + 1     # per parameter, as in PyTorch
        step_size = self.lr / (1 - beta1 ** step)
        scale = 1 / math.sqrt(1 - beta2 ** step)
        return beta1, 1 - beta1, beta2, 1 - beta2, step_size, scale, self.eps

    def update(self, parameter: Tensor, gradient: Array, state: dict[str, Any]) -> None:
        beta1, rest1, beta2, rest2, step_size, scale, eps = per_step(Adam.scalars, self,
                                                                      state)
        xp = array_namespaces[parameter.backend]
        first, second = _zeros(state, "first", parameter), _zeros(state, "second", parameter)
        xp.multiply_in_place(first, beta1)
        xp.add_in_place(first, xp.multiply(rest1, gradient))
        xp.multiply_in_place(second, beta2)
        xp.add_in_place(second, xp.multiply(xp.multiply(rest2, gradient), gradient))
        denominator = xp.add(xp.multiply(xp.sqrt(second), scale), eps)
        xp.subtract_in_place(parameter.value, xp.divide(xp.multiply(step_size, first),
                                                         denominator))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's AdamW."""

    _original_form = None

    @staticmethod
    def _pytorch_form(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        return {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}

    def scalars(self, state: dict[str, Any]) -> tuple[float, ...]:
        return (1 - self.lr * self.weight_decay,)

    def update(self, parameter: Tensor, gradient: Array, state: dict[str, Any]) -> None:
        (decay,) = per_step(AdamW.scalars, self, state)
        array_namespaces[parameter.backend].multiply_in_place(parameter.value, decay)
        super().update(parameter, gradient, state)


def _checked_state_dict(optimizer, parameters, state_dict):
    """(settings, ``{"i.name": value}``) from an optimiser's ``state_dict()``, or
    OptimizerError naming what does not fit ``optimizer`` and its parameters."""
    who = f"{type(optimizer).__name__}.load_state_dict"
    groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(
            state_dict.get("state"), dict):
        raise OptimizerError(f"{who}: needs an optimiser's state_dict(), {{'state': {{...}}, "
                             f"'param_groups': [one group]}}, got "
                             f"{arguments.described(state_dict)}")
    settings = {name: value for name, value in groups[0].items() if name != "params"}
    if sorted(settings) != sorted(optimizer._setting_names):
        raise OptimizerError(f"{who}: the state_dict has the settings {sorted(settings)}, "
                             f"this optimiser {sorted(optimizer._setting_names)}: it comes "
                             f"from another kind of optimiser")
    if len(groups[0].get("params", ())) != len(parameters):
        raise OptimizerError(f"{who}: the state_dict is for {len(groups[0].get('params', ()))} "
                             f"parameters, this optimiser has {len(parameters)}")
    checked = {name: _SETTING_RULES[name](who, name, value) for name, value in settings.items()}
    values = {}
    for index, state in state_dict["state"].items():
        parameter = parameters[index] if isinstance(index, int) and \
            0 <= index < len(parameters) else None
        if parameter is None:
            raise OptimizerError(f"{who}: state for parameter {index!r}, which is not one of "
                                 f"0 to {len(parameters) - 1}")
        for name, value in state.items():
            values[f"{index}.{name}"] = _checked_state_value(who, optimizer, index, parameter,
                                                             name, value)
    return checked, values


def _checked_state_value(who, optimizer, index, parameter, name, value):
    """A copy of one array of the state (or its step count), if it fits ``parameter``."""
    if name not in optimizer._state_names:
        raise OptimizerError(f"{who}: parameter {index} has state {name!r}, which "
                             f"{type(optimizer).__name__} does not keep (it keeps "
                             f"{', '.join(optimizer._state_names)}): another optimiser's")
    if name == "step":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OptimizerError(f"{who}: parameter {index}'s step must be an int >= 0, got "
                                 f"{value!r}")
        return value
    shape = tuple(getattr(value, "shape", ()))
    if shape != tuple(parameter.shape):
        raise OptimizerError(f"{who}: parameter {index}'s {name} has shape {shape}, but the "
                             f"parameter has shape {tuple(parameter.shape)}")
    return array_namespaces[parameter.backend].copy(
        parameter.backend.asarray(value, parameter.dtype))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the parameters' gradients, in place, so that their joint ``norm_type``-norm (inf:
    the largest magnitude) is at most ``max_norm``, as PyTorch's (which divides by the norm
    + 1e-6); return that norm before clipping, a 0-d Tensor on the device (reading it waits
    for the device; ``error_if_nonfinite=True`` does, to raise GradientError for nan or
    inf)."""
    who = "clip_grad_norm_"
    max_norm = _at_least_zero(who, "max_norm", max_norm)
    norm_type = arguments.number(who, "norm_type", norm_type, low=0, low_open=True,
                                 error=OptimizerError)
    gradients = _gradients(who, parameters)
    if not gradients:
        return Tensor(0.0)
    backend, xp = gradients[0][0], array_namespaces[gradients[0][0]]
    if norm_type == math.inf:
        total = functools.reduce(xp.maximum, [xp.max(xp.abs(g)) for _, g in gradients])
    else:
        total = xp.pow(functools.reduce(xp.add, [xp.sum(xp.pow(xp.abs(g), norm_type))
                                                 for _, g in gradients]), 1 / norm_type)
    if error_if_nonfinite and not bool(xp.all(xp.isfinite(total))):
        raise GradientError(f"{who}: the gradients' total norm is {float(total)}; "
                            f"error_if_nonfinite=True refuses to clip them")
    scale = xp.minimum(xp.divide(max_norm, xp.add(total, 1e-6)), 1.0)
    for _, gradient in gradients:
        xp.multiply_in_place(gradient, xp.astype(scale, gradient.dtype))
    return constant(total, backend)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient, in place, to [-clip_value, clip_value], as PyTorch's."""
    clip_value = _at_least_zero("clip_grad_value_", "clip_value", clip_value)
    for backend, gradient in _gradients("clip_grad_value_", parameters):
        gradient[...] = array_namespaces[backend].clip(gradient, -clip_value, clip_value)


def _gradients(who, parameters):
    """(backend, gradient array) of each of ``parameters`` (a Tensor or an iterable of
    them) that has a gradient, all on one device."""
    parameters = [parameters] if isinstance(parameters, Tensor) else parameters
    if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Iterable):
        raise OptimizerError(f"{who}: parameters must be a Tensor or Tensors, got "
                             f"{arguments.described(parameters)}")
    parameters = list(parameters)
    strays = [p for p in parameters if not isinstance(p, Tensor)]
    if strays:
        raise OptimizerError(f"{who}: parameters must be Tensors, got "
                             f"{arguments.described(strays[0])}")
    found = [(p.backend, p.gradient.value if isinstance(p.gradient, Tensor) else p.gradient)
             for p in parameters if p.gradient is not None]
    devices = sorted({backend.name for backend, _ in found})
    if len(devices) > 1:
        raise OptimizerError(f"{who}: the gradients are on {', '.join(devices)}; clip each "
                             f"device's parameters apart")
    return found
