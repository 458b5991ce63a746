"""A traced step compiled to straight-line Python: one line per array call, no Tensors, no
graph, results written into buffers made once where the backend can (``Backend.writer``).

The generated function takes the step's input arrays and returns copies of the arrays the
step returned, so nothing a caller keeps is a buffer that the next replay overwrites.
"""

from __future__ import annotations

from zen import recorder
from zen.tracing import LiveScalar, Slot, mapped


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
    instructions = _needed(trace.instructions, set(needed))
    ends = _lifetimes(instructions, needed)
    buffers = _Buffers(source, namespace, trace.values, len(instructions))
    for index, instruction in enumerate(instructions):
        source.lines.append(_line(source, instruction, buffers.take(instruction, ends)))
        source.lines += buffers.release(index)
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
        if instruction.result is None or any(slot in needed for slot in instruction.results):
            kept.append(instruction)
            needed.update(_slots(instruction.arguments), _slots(instruction.keywords))
    return kept[::-1]


def _slots(value):
    """The indices of the slots in an encoded value."""
    found = set()
    mapped(value, lambda item: found.add(item.index) if type(item) is Slot else None)
    return found


def _lifetimes(instructions, needed):
    """slot -> the index of the last instruction that needs its memory (len(instructions):
    after them all). A call that writes no buffer may return a view of its arguments
    (a reshape, a slice), so they stay as long as its result does."""
    ends = dict.fromkeys(needed, len(instructions))
    for index in range(len(instructions) - 1, -1, -1):
        instruction = instructions[index]
        reach = index
        if instruction.writer is None:
            reach = max([index] + [ends.get(slot, index) for slot in instruction.results
                                   if slot is not None])
        for slot in _slots(instruction.arguments) | _slots(instruction.keywords):
            ends[slot] = max(ends.get(slot, index), reach)
    return ends


class _Buffers:
    """The arrays instructions write into: one per result at a time, handed on to a later
    result of the same shape and dtype once nothing needs the earlier one (memory that
    stays in the cache); and ``del`` of the other results when their time is over."""

    def __init__(self, source, namespace, values, count):
        self.source, self.namespace, self.values = source, namespace, values
        self.count = count      # of instructions: a slot needed to the end is never freed
        self.free = {}          # (shape, dtype) -> names of buffers nothing needs now
        self.after = {}         # instruction index -> lines to add after it, and buffers freed

    def take(self, instruction, ends):
        """The name of the buffer ``instruction`` writes into (None if it writes none)."""
        for slot in instruction.results:
            if slot is not None and ends.get(slot, 0) < self.count:
                self.after.setdefault(ends.get(slot, 0), ([], []))[0].append(slot)
        if instruction.writer is None:
            return None
        result = instruction.result
        value = self.values[result]
        # NumPy lays a ufunc's result out as its input (a transposed one too), and a sum
        # adds in the order of the layout: a buffer is handed on to results laid out alike.
        key = (tuple(value.shape), str(value.dtype), getattr(value, "strides", None))
        pool = self.free.setdefault(key, [])
        name = pool.pop() if pool else self.source.bind("b", self.namespace.zeros_like(value))
        self.after.setdefault(ends.get(result, 0), ([], []))[1].append((key, name))
        return name

    def release(self, index):
        """Lines after instruction ``index``: the results it was the last to need go."""
        slots, buffers = self.after.pop(index, ((), ()))
        for key, name in buffers:
            self.free[key].append(name)
        return [f"del {', '.join(f'v{slot}' for slot in slots)}"] if slots else []


def _line(source, instruction, buffer):
    """One instruction as a line of source, writing into ``buffer`` if it has one."""
    arguments = [source.expression(argument) for argument in instruction.arguments]
    arguments += [f"{key}={source.expression(value)}"
                  for key, value in instruction.keywords.items()]
    result = instruction.result
    if buffer is not None:
        call = f"{source.bind('w', instruction.writer)}({', '.join(arguments)}, out={buffer})"
    else:
        call = f"{source.bind('f', instruction.function)}({', '.join(arguments)})"
    if result is None:
        return call
    if isinstance(result, tuple):
        targets = "".join(f"v{slot}, " if slot is not None else "_, " for slot in result)
        return f"{targets}= {call}"
    return f"v{result} = {call}"
