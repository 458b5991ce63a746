"""``zen.capture``: a training step recorded once and replayed as straight-line array calls.

The first call runs the step eagerly (it makes optimiser state and lazy weights); the second,
per signature of its arguments, runs it eagerly while tracing it (``zen.tracing``), and
compiles the trace (``zen.plans``); later calls check the plan's guards and replay it, with
the same results, bit for bit, as eager execution. A guard that fails traces again, up to a
bound; a step that cannot be replayed runs eagerly and says why, once.

A replay does not run the step's Python: side effects of the step's own code (appending to
a list, printing, a counter) happen at the traced call only, and Python numbers the step
computes are fixed at their traced values. Optimisers' learning rates and bias corrections
are read afresh at every call (``zen.optim.per_step``).
"""

from __future__ import annotations

import collections
import functools
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

from zen import devices, guards, optim, recorder, tensor
from zen.graphs import graph_plan
from zen.namespaces import array_namespaces
from zen.plans import compile_plan
from zen.tensor import Tensor, constant
from zen.tracing import Trace, Traced, tracing

__all__ = ["CaptureWarning", "CapturedStep", "capture"]


class CaptureWarning(UserWarning):
    """A captured step runs eagerly: it cannot be replayed, or it was traced too often."""


def capture(step: Callable[..., Any] | None = None, *, max_traces: int = 8,
            warn: bool = True, graphs: bool | None = None) -> Any:
    """Record ``step`` (forward, ``backward()``, ``optimizer.step()``, ``zero_grad()``,
    returning its loss) once and replay it on later calls; usable as ``@zen.capture`` or
    ``@zen.capture(max_traces=4)``. ``max_traces`` bounds how often it is traced again (new
    shapes, a changed model) before it runs eagerly for good. Each reason a step runs
    eagerly is said once, as a ``CaptureWarning``, unless ``warn=False`` (then
    ``captured.reasons`` lists them). ``graphs``: replay on arrays made once, launched as
    device graphs (``zen.graphs``); by default where the device has them (CUDA). True on
    another device runs that program call by call, as a check of it."""
    if step is None:
        return functools.partial(capture, max_traces=max_traces, warn=warn, graphs=graphs)
    return CapturedStep(step, max_traces, warn, graphs)


class CapturedStep:
    """A step function with its plans, one per signature of its arguments."""

    def __init__(self, step, max_traces, warn=True, graphs=None):
        functools.update_wrapper(self, step)
        self.step = step
        self.max_traces, self.warn, self.graphs = max_traces, warn, graphs
        self.reasons = []       # why calls ran eagerly, each once
        self.plans = {}         # signature -> its plans, each tried in turn
        self.eager = {}         # signature -> why a step of it cannot be replayed
        self.traces = 0         # traced calls so far
        self.changed = "its arguments' shapes, dtypes or kinds changed"     # the last reason
        self.replays = 0        # calls answered by a plan
        self.warmed = False
        self.recent = ()        # the plans that answered the last calls, the latest first

    def __call__(self, *args, **kwargs):
        if recorder.tracer is not None:     # inside a step being traced: part of its trace
            return self.step(*args, **kwargs)
        for plan in self.recent:    # its signature and guards checked, and replayed, in one call
            result = plan.call(args, kwargs)
            if result is not _MISSED:
                self.replays += 1
                if plan is not self.recent[0]:     # a short last batch, and then a full one
                    self.recent = plan, self.recent[0]
                return result
        key = _signature(args, kwargs)
        plans = () if isinstance(key, str) else self.plans.get(key, ())
        for plan in plans:
            if plan.holds():
                self.replays += 1
                self.recent = plan, *[other for other in self.recent if other is not plan][:1]
                return plan.run(args, kwargs)
        if plans:
            self.changed = plans[-1].what_changed()
        if isinstance(key, str) or key in self.eager:
            self._warn(key if isinstance(key, str) else "; ".join(self.eager[key]))
            return self.step(*args, **kwargs)
        if not self.warmed:
            self.warmed = True
            return self.step(*args, **kwargs)
        if self.traces >= self.max_traces:
            self._warn(f"it was traced {self.traces} times (max_traces), and then "
                       f"{self.changed} again")
            return self.step(*args, **kwargs)
        self.traces += 1
        result, plan = _traced(self.step, args, kwargs, key, self.graphs)
        if isinstance(plan, list):
            self.eager[key] = plan
        elif plan is not None:  # None: a layer was built, so the next call traces again
            self.plans.setdefault(key, []).append(plan)
        return result

    def _warn(self, reason):
        if reason not in self.reasons:
            self.reasons.append(reason)
            if not self.warn:
                return
            warnings.warn(f"zen.capture: {getattr(self.step, '__name__', 'the step')} runs "
                          f"eagerly: {reason}", CaptureWarning, stacklevel=3)


def _signature(args, kwargs):
    """What a plan is for: each argument's kind, shape, dtype, layout and device (a number's
    value, a zen object's identity), which arguments are one object, and the modes; a string
    saying why, if it cannot be."""
    if recorder.is_anomaly_enabled():
        return "anomaly detection is on"
    parts = [recorder.is_grad_enabled(), tensor.get_default_dtype(), tuple(kwargs)]
    first = {}
    for position, item in enumerate((*args, *kwargs.values())):
        part = _part(item)
        if isinstance(part, str):
            return part
        parts.append((part, first.setdefault(id(item), position)))
    return tuple(parts)


def _accepting(key, checks):
    """A compiled ``accepts(args, kwargs)``: True only if the arguments' signature is ``key``
    and ``checks`` (the plan's guards) hold, reading the common case (Tensor arguments,
    no keywords) inline; False sends a call the long way, through ``_signature``."""
    grad, dtype, keywords, *parts = key
    if keywords:
        return lambda args, kwargs: False
    names = {"Tensor": Tensor, "recorder": recorder, "tensor": tensor, "_part": _part,
             "G": grad, "DT": dtype}
    names["MODES"] = modes = (grad, False)     # recording or not, no anomaly detection
    # While no mode block is open, every thread has the default modes (see zen.recorder):
    # a read of the thread-local costs ~40 ns.
    read = "recorder._grad_mode.state == MODES"
    terms = [f"len(args) == {len(parts)}", "not kwargs", "tensor._default_dtype == DT",
             f"(not recorder._open_mode_blocks or {read})"
             if modes == recorder._DEFAULT_MODES else read]
    for position, (part, first) in enumerate(parts):
        terms += _argument_terms(position, part, names)
        if first != position:       # one object given twice
            terms.append(f"args[{position}] is args[{first}]")
        else:
            terms += [f"args[{position}] is not args[{other}]" for other in range(position)
                      if parts[other][1] == other]
    return guards.compiled(checks, "args, kwargs", terms, names)


_MISSED = object()   # what a plan's quick call gives when it does not accept the arguments


def _compiled_run(plan):
    """(``run(args, kwargs)``, ``call(args, kwargs)``) of ``plan``, compiled: ``run``
    replays it on the arguments' arrays and gives the step's result, leaving the arguments'
    new gradients on them; ``call`` does so only if ``plan.accepts`` the arguments, and
    gives _MISSED (and does nothing) otherwise."""
    names = {"accepts": plan.accepts, "replay": plan.replay, "MISSED": _MISSED,
             "constant": constant, "backend": plan.backend}
    arrays = ", ".join(_source_of(position) + (f".{key}" if key else "")
                       for position, key in plan.inputs)
    taken = itertools.count()       # the replay's results, in order
    result = _built_source(plan.template, taken, names)
    lines = [f"{_source_of(position)}.gradient = " +
             ("None" if slot is None else f"r[{next(taken)}]")
             for position, slot in plan.gradients]
    text = (f"def run(args, kwargs):\n    r = replay({arrays})\n    result = {result}\n"
            + "".join(f"    {line}\n" for line in lines) + "    return result\n\n\n"
            "def call(args, kwargs):\n"
            "    return run(args, kwargs) if accepts(args, kwargs) else MISSED\n")
    exec(compile(text, "<zen.capture run>", "exec"), names)
    return names["run"], names["call"]


def _source_of(position):
    """Source of the argument at ``position`` (an index into args, or a keyword's name)."""
    return f"args[{position}]" if isinstance(position, int) else f"kwargs[{position!r}]"


def _built_source(template, taken, names):
    """Source that builds the step's result (``_template``'s) from the replay's ``r``."""
    kind, content = template
    if kind == "tensor":
        return f"constant(r[{next(taken)}], backend)"
    name = f"K{len(names)}"
    if kind == "constant":
        names[name] = content
        return name
    names[name] = kind
    if kind in (dict, collections.OrderedDict):
        keys = f"{name}_keys"
        names[keys] = list(content)
        items = [_built_source(item, taken, names) for item in content.values()]
        return f"{name}(zip({keys}, [{', '.join(items)}]))"
    items = [_built_source(item, taken, names) for item in content]
    return f"{name}(({''.join(item + ', ' for item in items)}))"


def _argument_terms(position, part, names):
    """Checks that argument ``position`` has the signature ``part``: a Tensor's read inline,
    anything else through ``_part``."""
    names[f"P{position}"] = part
    if part[0] is not Tensor:
        return [f"_part(args[{position}]) == P{position}"]
    item, value = f"args[{position}]", f"v{position}"
    _, shape, dtype, backend, trainable, no_gradient, strides = part
    names.update({f"S{position}": shape, f"D{position}": dtype, f"B{position}": backend,
                  f"T{position}": trainable, f"L{position}": strides})
    return [f"isinstance({item}, Tensor)",
            f"{item}.gradient is None" if no_gradient else
            f"not isinstance({item}.gradient, Tensor) and {item}.gradient is not None",
            f"({value} := {item}.value).shape == S{position}",
            f"{value}.dtype == D{position}", f"{item}._backend is B{position}",
            f"{item}.trainable is T{position}",
            f"getattr({value}, 'strides', None) == L{position}"]


def _part(item):
    """One argument's share of the signature, or why it cannot have one."""
    if isinstance(item, Tensor):
        value, gradient = item.value, item.gradient
        if gradient is not None and isinstance(gradient, Tensor):
            return "a tensor it is given has a gradient with its own graph (create_graph)"
        return (Tensor, tuple(value.shape), value.dtype, item._backend, item.trainable,
                gradient is None, getattr(value, "strides", None))
    if isinstance(item, float):     # -0.0 == 0.0, but 1 / -0.0 is -inf
        return (float, item, math.copysign(1.0, item))
    if isinstance(item, (bool, int, str, type(None))):
        return (type(item), item)
    if hasattr(item, "shape") and hasattr(item, "dtype"):
        return (type(item), tuple(item.shape), item.dtype, str(getattr(item, "device", "")),
                getattr(item, "strides", None))
    if guards.is_zens(item):
        return (id(item),)
    return (f"it is given a {type(item).__name__}; pass tensors, arrays, numbers and zen's "
            f"objects as arguments (what a container holds is not watched)")


class _Plan:
    """A compiled trace, what must hold for it to stand for the step, and its compiled
    ``accepts``, ``run`` and ``call`` (see _accepting and _compiled_run)."""

    def __init__(self, key, replay, trace, template, gradients, checks, graph_reason=None):
        self.replay, self.template, self.guards = replay, template, checks
        self.holds = guards.compiled(checks)
        self.inputs = trace.argument_positions
        self.gradients = gradients      # (position, slot or None): arguments' new gradients
        self.backend = trace.backend
        self.graph_reason = graph_reason    # why it is no program of fixed arrays, if asked
        self.accepts = _accepting(key, checks)
        self.run, self.call = _compiled_run(self)

    def what_changed(self):
        """Which guard fails, in words."""
        return guards.what_changed(self.guards)


def _traced(step, args, kwargs, key, graphs=None):
    """Run ``step`` once, traced: (its result, a _Plan or the reasons it cannot be one)."""
    backend = _backend_of(args, kwargs)
    trace = Trace(backend)
    given = _stand_ins(trace, args, kwargs)
    try:
        with tracing(trace):
            result = step(*given[0], **given[1])
    finally:
        write_backs = _settle(trace)
        gradients = _restore_arguments(trace, args, kwargs)
        _check_optimizers(trace)
        built = _settle_new_weights(trace)
    returned = []       # the slots of the Tensors the step returns, in the template's order
    template = _template(trace, result, returned)
    result = _real_result(result)
    if built:
        return result, None
    if trace.reasons:
        return result, trace.reasons
    returned += [slot for _, slot in gradients if slot is not None]
    namespace, replay, graph_reason = array_namespaces[backend], None, None
    if backend.has_graphs if graphs is None else graphs:
        replay = graph_plan(trace, namespace, returned, write_backs)
        if isinstance(replay, str):     # a plan that cannot run on fixed arrays
            replay, graph_reason = None, replay
    written = {place for place, _ in write_backs}
    return result, _Plan(key, replay or compile_plan(trace, namespace, returned, write_backs),
                         trace, template, gradients, guards.of(trace, step, written),
                         graph_reason)


def _backend_of(args, kwargs):
    for value in (*args, *kwargs.values()):
        if isinstance(value, Tensor):
            return value._backend
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            found = devices.backend_for_array(value)
            if found is not None:
                return found
    return devices.get_backend(tensor.DEFAULT_DEVICE)


def _stand_ins(trace, args, kwargs):
    """The arguments to trace with: arrays, and Tensors' values and gradients, become the
    step's inputs."""

    def input_from(position, key, array):
        stand_in = trace.new_slot(array)
        trace.inputs.append(stand_in.slot.index)
        trace.argument_positions.append((position, key))
        return stand_in

    seen = {}   # id of an array argument -> its stand-in (an argument given twice is one)

    def stand_in(position, value):
        if id(value) in trace.arguments or id(value) in seen:
            return seen.get(id(value), value)
        if isinstance(value, Tensor):
            trace.arguments[id(value)] = (value.value, value.gradient)
            value.value = input_from(position, "value", value.value)
            if value.gradient is not None:
                value.gradient = input_from(position, "gradient", value.gradient)
        elif hasattr(value, "shape") and hasattr(value, "dtype"):
            seen[id(value)] = input_from(position, None, value)
            return seen[id(value)]
        return value

    return ([stand_in(i, value) for i, value in enumerate(args)],
            {name: stand_in(name, value) for name, value in kwargs.items()})


def _restore_arguments(trace, args, kwargs):
    """Put the Tensor arguments' own arrays back; (position, slot or None) for each new
    gradient the step left on one."""
    gradients, restored = [], set()
    for position, argument in _arguments(args, kwargs):
        if id(argument) not in trace.arguments or id(argument) in restored:
            continue
        restored.add(id(argument))
        value, gradient = trace.arguments[id(argument)]
        if type(argument.value) is not Traced or argument.value.array is not value:
            trace.refuse("the step changed the value of a tensor it was given")
        argument.value = value
        held = argument.gradient
        if type(held) is Traced and held.trace is trace:
            argument.gradient = held.array
            if held.array is not gradient:
                gradients.append((position, held.slot.index))
        elif held is None and gradient is not None:
            gradients.append((position, None))
        elif held is not gradient:
            trace.refuse("the step set its argument's gradient to an array no op made")
    return gradients


def _settle(trace):
    """Put real arrays back wherever the trace left stand-ins; the (Place, slot or None) to
    set after each replay, as the step left them."""
    write_backs = []
    for place, original in trace.watched.items():
        held = place.get()
        if type(held) is Traced and held.trace is trace:
            place.set(held.array)
            if held.slot.external is None:
                write_backs.append((place, held.slot.index))
        elif held is None and original is not None:
            write_backs.append((place, None))
        elif held is not original:
            trace.refuse("the step set a tensor's value or gradient to an array that no "
                         "recorded op made")
    return write_backs


def _settle_new_weights(trace):
    """Real arrays in the weights and buffers of layers built during the trace; whether
    there were any (the plan would build them again: trace the next call instead)."""
    built = False
    for layer in trace.layers.values():
        for holder in (getattr(layer, "weights", {}), getattr(layer, "buffers", {})):
            for weight in holder.values():
                if type(weight.value) is Traced and weight.value.trace is trace:
                    weight.value, built = weight.value.array, True
                    if type(weight.gradient) is Traced:
                        weight.gradient = weight.gradient.array
    return built


def _arguments(args, kwargs):
    return [*enumerate(args), *kwargs.items()]


def _template(trace, result, slots):
    """The shape of the step's result, with the slots of the Tensors it made (each also
    added to ``slots``)."""
    if isinstance(result, Tensor):
        value = result.value
        if type(value) is not Traced or value.trace is not trace or value.slot.external is \
                not None:
            trace.refuse("the step returns a tensor it did not compute")
            return None
        if result._op is not None and result._parents:
            trace.refuse("the step returns a tensor whose graph is still to be differentiated "
                         "(call backward inside the step)")
        slots.append(value.slot.index)
        return ("tensor", value.slot.index)
    if type(result) in (tuple, list):
        return (type(result), [_template(trace, item, slots) for item in result])
    if type(result) in (dict, collections.OrderedDict):
        return (type(result), {key: _template(trace, item, slots)
                               for key, item in result.items()})
    if result is None or isinstance(result, (bool, int, float, str)):
        return ("constant", result)
    trace.refuse(f"the step returns a {type(result).__name__}, not Tensors")
    return None


def _real_result(result):
    if type(result) is Traced:
        return result.array
    if isinstance(result, Tensor) and type(result.value) is Traced:
        result.value = result.value.array
    elif isinstance(result, (tuple, list)):
        items = [_real_result(item) for item in result]
        return type(result)(*items) if hasattr(result, "_fields") else type(result)(items)
    elif isinstance(result, dict):      # in place: a dict of any kind stays that kind
        for key, item in result.items():
            result[key] = _real_result(item)
    return result


def _check_optimizers(trace):
    """Refuse optimisers whose Python numbers a replay would not read afresh; put real
    arrays back in state made during the trace."""
    for optimizer in trace.optimizers.values():
        kind = type(optimizer)
        if kind.update.__module__ != optim.__name__ or kind.scalars.__module__ != \
                optim.__name__:
            trace.refuse(f"{kind.__name__}'s update is not one of zen's, so its per-step "
                         f"numbers would be fixed at the traced step")
        for state in optimizer.state.values():
            for key, value in state.items():
                if type(value) is Traced:
                    state[key] = value.array
                    trace.refuse("the optimiser made new state during the step")
