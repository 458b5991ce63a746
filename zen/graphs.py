"""A captured step's plan as a program of arrays made once, launched as device graphs.

A CUDA graph replays the kernels it captured on the same memory, with the same scalar
arguments. So here the plan runs on arrays that never change: the step's inputs are copied
into arrays of the program's own, per-step numbers (learning rates, bias corrections) are
written into 0-d arrays, every result goes into an array made at the first call, and nothing
is freed while the program lives. The first call runs the program eagerly, call by call, and
writes down each call with its arrays; then each run of calls the backend can capture (all
but CuPy's cuBLAS calls, say) becomes one graph (``Backend.graph``). Later calls copy the
inputs in, set the numbers, run the value checks, and launch the graphs, with the other
calls in between.

A backend without graphs runs each "graph" call by call, on the same arrays and numbers a
graph would use: ``zen.capture(graphs=True)`` on the CPU checks what a GPU would replay.
"""

from __future__ import annotations

import functools

from zen import recorder
from zen.plans import changed_in_place, leaves, live_externals, prepared, scalars_before
from zen.tracing import LiveScalar, Slot, mapped


def graph_plan(trace, namespace, returned, write_backs):
    """``trace`` as a _Program (called as ``compile_plan``'s replay is), or why it cannot be
    one."""
    needed = set(returned) | {slot for _, slot in write_backs}
    instructions, folded = prepared(trace, needed)
    reason = _unsuitable(trace, instructions, namespace, write_backs)
    if reason is not None:
        return reason
    return _Program(trace, instructions, folded, returned, write_backs, namespace)


def _unsuitable(trace, instructions, namespace, write_backs):
    """Why the instructions cannot run as a program of fixed arrays (None if they can)."""
    backend = trace.backend
    if trace.values and backend.memory_root(trace.values[0]) is None:
        return "the backend cannot tell an array that views another from a new one"
    copied = [trace.values[slot] for slot in trace.inputs]
    copied += [trace.externals[index][1] for index in live_externals(trace, write_backs)]
    if any(getattr(namespace.zeros_like(array), "strides", None) !=
           getattr(array, "strides", None) for array in copied):
        return "an input is laid out with gaps (a slice with a step): a copy would not be"
    for instruction in instructions:
        if type(instruction.result) is tuple:
            return f"{instruction.name} gives several arrays"
        if leaves(instruction, LiveScalar) and not backend.is_floating(
                _result_example(trace, instruction).dtype):
            return f"a per-step number goes into {instruction.name} of non-floating arrays"
    return None


def _result_example(trace, instruction):
    """The array that ``instruction`` made when traced (for one that changes an array in
    place, that array)."""
    if instruction.result is not None:
        return trace.values[instruction.result]
    return trace.values[instruction.arguments[0].index]


class _Program:
    """The plan on fixed arrays: built and run at its first call, launched after."""

    def __init__(self, trace, instructions, folded, returned, write_backs, namespace):
        self.trace, self.instructions, self.namespace = trace, instructions, namespace
        self.returned, self.write_backs, self.folded = returned, write_backs, folded
        self.live = live_externals(trace, write_backs)    # externals index -> Place
        changed = changed_in_place(instructions)
        # The positions of the inputs the step changes in place: copied back after a call.
        self.changed_inputs = [position for position, slot in enumerate(trace.inputs)
                               if slot in changed]
        # Made at the first call: slot -> its array, the inputs' and live externals' own
        # arrays, (live scalar's index, dtype) -> its 0-d array.
        self.fixed, self.inputs, self.live_arrays, self.scalars = {}, [], {}, {}
        self.launches = None        # graphs, and the calls outside them, in order
        self.graphs = 0             # how many of the launches are device graphs
        self.outside = []           # the names of the calls launched outside graphs
        self.fallbacks = []         # why a run of calls is launched call by call instead

    def __call__(self, *arrays):
        if self.launches is None:
            return self._first(arrays)
        for own, array in zip(self.inputs, arrays, strict=True):
            own[...] = array
        for index, own in self.live_arrays.items():
            own[...] = self.live[index].get()
        for launch in self.launches:
            launch()
        return self._results(arrays)

    def _first(self, arrays):
        """Run the program call by call, making its fixed arrays, and then its launches.
        Everything is made anew: a first call that raised leaves nothing behind."""
        self.inputs = [self._own(array) for array in arrays]
        self.fixed = {**self.folded, **dict(zip(self.trace.inputs, self.inputs, strict=True))}
        self.live_arrays = {index: self._own(place.get()) for index, place in self.live.items()}
        self.scalars = {}
        live, calls = {}, []
        groups = scalars_before(self.trace, self.instructions)
        for index, instruction in enumerate([*self.instructions, None]):
            for entry in groups.get(index, ()):
                calls.append((False, functools.partial(self._read_scalars, entry, live),
                              "scalars"))
                calls[-1][1]()
            if instruction is not None:
                call = self._run(instruction, live)
                if call is not None:
                    graphable = instruction.name != "check" and \
                        self.trace.backend.graphable(instruction.name)
                    calls.append((graphable, call, instruction.name))
        self.launches = self._launches(calls)
        return self._results(arrays)

    def _own(self, array):
        """A copy of ``array`` laid out as it is (a graph reads it where the copy is)."""
        own = self.namespace.zeros_like(array)
        own[...] = array
        return own

    def _read_scalars(self, entry, live):
        """Read one optimiser's per-step numbers (``trace.scalars`` ``entry``) into ``live``
        and into the 0-d arrays that stand for them."""
        scalars, optimizer, indices, state = entry
        live.update(zip(indices, scalars(optimizer, state), strict=True))
        for (index, _), array in self.scalars.items():
            if index in indices:
                array[...] = live[index]

    def _run(self, instruction, live):
        """Run ``instruction`` on the fixed arrays; return the call that does it again at a
        later call (None: nothing to do again)."""
        def value(item):
            return self._value(item, instruction, live)

        arguments = mapped(instruction.arguments, value)
        keywords = mapped(instruction.keywords, value)
        if instruction.writer is not None:
            buffer = self.namespace.zeros_like(self.trace.values[instruction.result])
            call = functools.partial(instruction.writer, *arguments, **keywords, out=buffer)
            self.fixed[instruction.result] = buffer
        elif instruction.result is None:        # a change in place, or a value check
            call = functools.partial(instruction.function, *arguments, **keywords)
        else:
            return self._made(instruction, arguments, keywords)
        call()
        return call

    def _made(self, instruction, arguments, keywords):
        """Run a call that makes its own result. A view of fixed arrays is fixed too, and
        nothing is done again; a new array is written at later calls into the one made now."""
        made = instruction.function(*arguments, **keywords)
        if not self._views(made, (arguments, keywords)):
            if not hasattr(type(made), "__setitem__"):  # a NumPy scalar
                made = self.namespace.asarray(made)
            self.fixed[instruction.result] = made
            return functools.partial(_assign, made, instruction.function, arguments, keywords)
        self.fixed[instruction.result] = made
        return None

    def _value(self, item, instruction, live):
        kind = type(item)
        if kind is Slot:
            if item.external in self.live_arrays:
                return self.live_arrays[item.external]
            return self._array(item.index)
        if kind is LiveScalar:
            example = _result_example(self.trace, instruction)
            key = (item.index, example.dtype)
            if key not in self.scalars:
                self.scalars[key] = self.namespace.full((), live[item.index],
                                                        dtype=example.dtype,
                                                        device=example.device)
            return self.scalars[key]
        return item

    def _array(self, slot):
        """The fixed array of ``slot``; an external slot's is the array the trace read."""
        array = self.fixed.get(slot)
        return self.trace.values[slot] if array is None else array

    def _views(self, made, arguments):
        """Whether ``made`` views the memory of one of the (fixed) arrays in ``arguments``."""
        backend, owners = self.trace.backend, []
        mapped(arguments, lambda item: owners.append(backend.memory_root(item))
               if hasattr(item, "shape") else None)
        root = backend.memory_root(made)
        return any(root is owner for owner in owners)

    def _launches(self, calls):
        """Each run of graphable calls as one graph, the others as they are."""
        launches, run = [], []
        for graphable, call, name in [*calls, (False, None, None)]:
            if graphable:
                run.append(call)
                continue
            if run:
                launches.append(self._graph(run))
                run = []
            if call is not None:
                launches.append(call)
                self.outside.append(name)
        return launches

    def _graph(self, calls):
        try:
            graph = self.trace.backend.graph(calls)
        except Exception as error:  # noqa: BLE001 - any failure: run the calls one by one
            self.fallbacks.append(f"{type(error).__name__}: {error}")
            return functools.partial(_each, calls)
        self.graphs += self.trace.backend.has_graphs
        return graph

    def _results(self, arrays):
        for position in self.changed_inputs:     # the caller's arrays, as the step left them
            arrays[position][...] = self.inputs[position]
        copy = self.namespace.copy
        for place, slot in self.write_backs:
            place.set(None if slot is None else copy(self._array(slot)))
        for tensor in self.trace.edits:
            recorder.mark_modified(tensor)
        return tuple(copy(self._array(slot)) for slot in self.returned)


def _assign(target, function, arguments, keywords):
    target[...] = function(*arguments, **keywords)


def _each(calls):
    for call in calls:
        call()
