"""A traced step compiled to straight-line Python: one line per array call, no Tensors, no
graph, results written into buffers made once where the backend can (``Backend.writer``).

The generated function takes the step's input arrays and returns copies of the arrays the
step returned, so nothing a caller keeps is a buffer that the next replay overwrites.
"""

from __future__ import annotations

import functools

from zen import recorder
from zen.tracing import Instruction, LiveScalar, Slot, mapped


class _Source:
    """The lines of the generated function and the objects its names stand for."""

    def __init__(self, folded):
        self.names = {}
        self.lines = []
        self.folded = folded    # slot index -> its array, computed once (see _folded)
        for index, array in folded.items():
            self.names[f"k{index}"] = array

    def slot(self, index):
        """The name of slot ``index``'s array."""
        return f"k{index}" if index in self.folded else f"v{index}"

    def bind(self, prefix, value):
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, value):
        """Python source that gives ``value`` (encoded by the trace) at replay."""
        kind = type(value)
        if kind is Slot:
            return f"e{value.external}" if value.external is not None else self.slot(value.index)
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
    needed = set(returned) | {slot for _, slot in write_backs}
    instructions, folded = prepared(trace, needed)
    source = _Source(folded)
    for index, (_, array) in enumerate(trace.externals):
        source.names[f"e{index}"] = array
    for index, place in live_externals(trace, write_backs).items():
        source.lines.append(f"e{index} = {source.bind('g', place.get)}()")
    source.names["copy"] = functools.partial(_fresh, namespace.copy)
    ends = _lifetimes(instructions, needed)
    buffers = _Buffers(source, namespace, trace.values, len(instructions))
    groups = scalars_before(trace, instructions)
    for index, instruction in enumerate([*instructions, None]):
        for scalars, optimizer, indices, state in groups.get(index, ()):
            call = f"{source.bind('s', scalars)}({source.bind('o', optimizer)}, " \
                   f"{source.bind('t', state)})"
            source.lines.append("".join(f"l{live}, " for live in indices) + f"= {call}")
        if instruction is not None:
            source.lines.append(_line(source, instruction, buffers.take(instruction, ends)))
            source.lines += buffers.release(index)
    for place, slot in write_backs:
        value = "None" if slot is None else f"copy({source.slot(slot)})"
        source.lines.append(f"{source.bind('p', place.set)}({value})")
    for tensor in trace.edits:
        source.lines.append(f"{source.bind('m', recorder.mark_modified)}"
                            f"({source.bind('x', tensor)})")
    source.lines.append("return (" + "".join(f"copy({source.slot(slot)}), " for slot in returned)
                        + ")")
    arguments = ", ".join(f"v{index}" for index in trace.inputs)
    text = f"def replay({arguments}):\n" + "".join(f"    {line}\n" for line in source.lines)
    exec(compile(text, "<zen.capture plan>", "exec"), source.names)
    replay = source.names["replay"]
    replay.source = text
    return replay


# Functions whose result depends on their argument's shape and dtype alone.
_SHAPE_ONLY = frozenset({"zeros_like", "ones_like"})

# The calls that read a bool operand as 0 and 1 in the other operand's dtype, on a backend
# whose ``bool_arithmetic`` says so (the array API leaves bool and float mixes undefined).
_BOOL_READING = frozenset({"add", "subtract", "multiply"})


def _folded(trace, instructions):
    """slot -> its array, for each result every replay would compute alike: made from
    constants alone (``arange`` of a class count), or from an array's shape alone
    (``ones_like``), and then from those. Each is computed here once, afresh. None is one
    that a later call changes in place, or may view (a reshape) before changing it."""
    changed = changed_in_place(instructions)
    folded = {}

    def constant(item):
        return type(item) is not LiveScalar and (type(item) is not Slot or (
            item.external is None and item.index in folded))

    def settled(item):
        return folded[item.index] if type(item) is Slot else item

    for instruction in instructions:
        result, arguments = instruction.result, instruction.arguments
        if type(result) is not int or result in changed:
            continue
        shaped = instruction.name in _SHAPE_ONLY and bool(arguments) and \
            type(arguments[0]) is Slot
        if _all((arguments[shaped:], instruction.keywords), constant):
            arguments = mapped(arguments[shaped:], settled)
            if shaped:
                arguments = (trace.values[instruction.arguments[0].index], *arguments)
            folded[result] = instruction.function(*arguments,
                                                  **mapped(instruction.keywords, settled))
    return folded


def changed_in_place(instructions):
    """The slots that a call changes in place (the first argument of one without a result,
    but a check), and those they may be views of: the arguments of calls that write no
    buffer, back from their results."""
    changed = set()
    for instruction in reversed(instructions):
        if instruction.result is None and instruction.name != "check":
            changed |= _slots(instruction.arguments[:1])
        elif instruction.writer is None and not changed.isdisjoint(
                slot for slot in instruction.results if slot is not None):
            changed |= _slots(instruction.arguments) | _slots(instruction.keywords)
    return changed


def _all(value, test):
    """Whether ``test`` holds for every leaf of an encoded value."""
    failed = []
    mapped(value, lambda item: None if test(item) else failed.append(item))
    return not failed


def _with_bool_operands(trace, instructions, needed):
    """``instructions`` where each cast of a bool array to a floating dtype that only feeds
    add, subtract or multiply with an array of that dtype is left out, and the bool array
    read instead: the same numbers, without the cast (relu's gradient mask, one-hot rows).
    Only where the backend reads bool operands so (``Backend.bool_arithmetic``)."""
    if not getattr(trace.backend, "bool_arithmetic", False):
        return instructions
    changed = changed_in_place(instructions)     # a cast copies: the mask may change after
    casts = {instruction.result: instruction.arguments[0] for instruction in instructions
             if instruction.name == "astype" and _is_bool_cast(trace, instruction)
             and instruction.arguments[0].index not in changed}
    for instruction in instructions:
        used = _slots(instruction.arguments) | _slots(instruction.keywords)
        if not used.isdisjoint(casts) and not _reads_bool(trace, instruction, casts):
            casts = {cast: source for cast, source in casts.items() if cast not in used}
    casts = {cast: source for cast, source in casts.items() if cast not in needed}
    return [instruction if instruction.name not in _BOOL_READING else
            Instruction(instruction.function, instruction.name,
                        tuple(casts.get(item.index, item) if type(item) is Slot else item
                              for item in instruction.arguments),
                        instruction.keywords, instruction.result, instruction.writer)
            for instruction in instructions]


def _is_bool_cast(trace, instruction):
    source = instruction.arguments[0] if instruction.arguments else None
    return (type(instruction.result) is int and type(source) is Slot
            and trace.backend.is_bool(trace.values[source.index].dtype)
            and trace.backend.is_floating(trace.values[instruction.result].dtype))


def _reads_bool(trace, instruction, casts):
    """Whether ``instruction`` uses the casts only as one of two operands of a call that
    reads a bool as 0 and 1, the other an array of the cast's dtype."""
    if instruction.name not in _BOOL_READING or instruction.keywords or \
            len(instruction.arguments) != 2:
        return False
    kinds = [type(item) is Slot and item.index in casts for item in instruction.arguments]
    if kinds.count(True) != 1:
        return False
    cast, other = instruction.arguments if kinds[0] else instruction.arguments[::-1]
    return type(other) is Slot and \
        trace.values[other.index].dtype == trace.values[cast.index].dtype


def scalars_before(trace, instructions):
    """instruction index -> the entries of ``trace.scalars`` to read just before it: each
    before the first instruction that uses its numbers, as eagerly they are read at the
    update that uses them, after the step's checks (an optimiser's step count must not move
    in a call that raises); one nothing uses, after them all (index len(instructions))."""
    owner = {live: entry for entry in trace.scalars for live in entry[2]}
    before, placed = {}, set()
    for index, instruction in enumerate(instructions):
        for live in leaves(instruction, LiveScalar):
            entry = owner[live.index]
            if id(entry) not in placed:
                placed.add(id(entry))
                before.setdefault(index, []).append(entry)
    for entry in trace.scalars:
        if id(entry) not in placed:
            before.setdefault(len(instructions), []).append(entry)
    return before


def leaves(instruction, kind):
    """The ``kind`` objects (Slot, LiveScalar) among ``instruction``'s arguments."""
    found = []
    mapped((instruction.arguments, instruction.keywords),
           lambda item: found.append(item) if type(item) is kind else None)
    return found


def _fresh(copy, array):
    """``array`` copied, so that no buffer the next replay writes is handed out; a NumPy
    scalar (immutable) as it is."""
    return copy(array) if hasattr(type(array), "__setitem__") else array


def live_externals(trace, write_backs):
    """externals index -> Place, for each array from before the step that the step also
    replaces (a gradient it adds to, with no ``zero_grad``): a replay reads it afresh from
    its place, and the plan's guard asks only that it be alike (``zen.guards._Like``)."""
    written = {place for place, _ in write_backs}
    return {index: place for index, (place, _) in enumerate(trace.externals)
            if place in written}


def prepared(trace, needed):
    """The instructions a replay runs to give the slots ``needed``, and the slots computed
    ahead (slot -> array): bool masks read as numbers, what every replay computes alike
    folded, and the work nothing reads dropped."""
    instructions = _with_bool_operands(trace, trace.instructions, needed)
    folded = _folded(trace, instructions)
    return _needed([instruction for instruction in instructions
                    if instruction.result not in folded], set(needed)), folded


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
    call += f"  # {instruction.name}"
    if result is None:
        return call
    if isinstance(result, tuple):
        targets = "".join(f"v{slot}, " if slot is not None else "_, " for slot in result)
        return f"{targets}= {call}"
    return f"v{result} = {call}"
