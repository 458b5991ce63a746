"""A traced step compiled to straight-line Python: one line per array call, no Tensors, no
graph, results written into buffers made once where the backend can (``Backend.writer``).

The generated function takes the step's input arrays and returns copies of the arrays the
step returned, so nothing a caller keeps is a buffer that the next replay overwrites.
"""

from __future__ import annotations

from zen import recorder
from zen.tracing import LiveScalar, Slot


class _Source:
    """The lines of the generated function and the objects its names stand for."""

    def __init__(self):
        self.names = {}
        self.lines = []

    def bind(self, prefix, value):
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, value):
        """Python source that gives ``value`` (encoded by the trace) at replay."""
        kind = type(value)
        if kind is Slot:
            return f"e{value.external}" if value.external is not None else f"v{value.index}"
        if kind is LiveScalar:
            return f"l{value.index}"
        if kind is tuple:
            return "(" + "".join(f"{self.expression(item)}, " for item in value) + ")"
        if kind is list:
            return "[" + ", ".join(self.expression(item) for item in value) + "]"
        if kind is dict:
            return "{" + ", ".join(f"{self.bind('c', key)}: {self.expression(item)}"
                                   for key, item in value.items()) + "}"
        if kind is slice:
            return (f"slice({self.expression(value.start)}, {self.expression(value.stop)}, "
                    f"{self.expression(value.step)})")
        return self.bind("c", value)


def compile_plan(trace, namespace, returned, write_backs):
    """The replay function of ``trace``: it takes the arrays of ``trace.inputs`` and returns
    copies of the slots in ``returned``; ``write_backs`` are (Place, slot or None) to set
    after each replay, as the traced step left them. ``namespace`` is the backend's array
    namespace (for buffers and copies)."""
    source = _Source()
    for index, (_, array) in enumerate(trace.externals):
        source.names[f"e{index}"] = array
    source.names["copy"] = namespace.copy
    for scalars, optimizer, indices, state in trace.scalars:
        call = f"{source.bind('s', scalars)}({source.bind('o', optimizer)}, " \
               f"{source.bind('t', state)})"
        source.lines.append("".join(f"l{index}, " for index in indices) + f"= {call}")
    needed = set(returned) | {slot for _, slot in write_backs}
    for instruction in _needed(trace.instructions, needed):
        source.lines.append(_line(source, instruction, trace.values, namespace))
    for place, slot in write_backs:
        value = "None" if slot is None else f"copy(v{slot})"
        source.lines.append(f"{source.bind('p', place.set)}({value})")
    for tensor in trace.edits:
        source.lines.append(f"{source.bind('m', recorder.mark_modified)}"
                            f"({source.bind('x', tensor)})")
    source.lines.append("return (" + "".join(f"copy(v{slot}), " for slot in returned) + ")")
    arguments = ", ".join(f"v{index}" for index in trace.inputs)
    text = f"def replay({arguments}):\n" + "".join(f"    {line}\n" for line in source.lines)
    exec(compile(text, "<zen.capture plan>", "exec"), source.names)
    replay = source.names["replay"]
    replay.source = text
    return replay


def _needed(instructions, needed):
    """The instructions whose results are used (by a later one, or in ``needed``), and every
    one without a result (changes in place, checks); the rest did work nothing reads."""
    kept = []
    for instruction in reversed(instructions):
        result = instruction.result
        results = result if isinstance(result, tuple) else (result,)
        if result is None or any(slot in needed for slot in results):
            kept.append(instruction)
            needed.update(_slots(instruction.arguments), _slots(instruction.keywords))
    return kept[::-1]


def _slots(value):
    """The indices of the slots in an encoded value."""
    kind = type(value)
    if kind is Slot:
        return {value.index}
    if kind in (tuple, list):
        return set().union(*map(_slots, value))
    if kind is dict:
        return set().union(*map(_slots, value.values()))
    if kind is slice:
        return _slots((value.start, value.stop, value.step))
    return set()


def _line(source, instruction, values, namespace):
    """One instruction as a line of source, writing into a buffer where it can."""
    arguments = [source.expression(argument) for argument in instruction.arguments]
    arguments += [f"{key}={source.expression(value)}"
                  for key, value in instruction.keywords.items()]
    result = instruction.result
    if instruction.writer is not None:
        buffer = source.bind("b", namespace.zeros_like(values[result]))
        call = f"{source.bind('w', instruction.writer)}({', '.join(arguments)}, out={buffer})"
    else:
        call = f"{source.bind('f', instruction.function)}({', '.join(arguments)})"
    if result is None:
        return call
    if isinstance(result, tuple):
        targets = "".join(f"v{slot}, " if slot is not None else "_, " for slot in result)
        return f"{targets}= {call}"
    return f"v{result} = {call}"
