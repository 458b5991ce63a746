"""The guards of a captured step's plan: what must still hold for a replay to stand for the
step (``zen.capture``), each a read and what it gave when the step was traced, compiled into
one function that checks them all inline.

They watch the arrays the step read (by identity, or by likeness where the step replaces
them), the modes, the layers' settings, the optimisers' state and settings, and what the
step's code reads from its closure, its module and its object, following the functions,
methods, properties and objects it reaches there.
"""

from __future__ import annotations

import dis
import functools
import sys
import types

from zen import optim
from zen.tensor import Tensor


def of(trace, step, written=()):
    """(read, expected) pairs, each to hold (``read() is expected``) for the plan to stand:
    what it assumes about the world beyond its arguments. At the places the step sets
    (``written``), the plan reads the array afresh if it reads it at all
    (``plans.live_externals``): only its kind, shape, dtype and layout are guarded."""
    guards = []
    for place, original in trace.watched.items():
        read = (_Item if place.item else _Attribute)(place.holder, place.key)
        guards.append(_like(read, original) if place in written else (read, original))
    guards += [(_Attribute(place.holder, "trainable"), place.holder.trainable)
               for place in trace.watched if isinstance(place.holder, Tensor)]
    guards += [_members(_Attribute(model, "layers"), model.layers)
               for model in trace.models.values()]
    reads = _Reads()
    for layer in trace.layers.values():
        # Its settings one by one, as its config reads them (a new tuple of names: new ones).
        guards += [(_Attribute(layer, name), getattr(layer, name))
                   for name in ("training", "_settings", *layer._settings)]
        guards += _tensors_held(layer)
        if _is_users_function(layer.forward):   # a layer of the user's own, and what it reads
            reads.function(layer.forward)
    for optimizer, parameter, state in trace.states:
        guards.append((_Attribute(optimizer, "state"), optimizer.state))
        guards.append((_Item(optimizer.state, parameter), state))
    for optimizer in trace.optimizers.values():
        guards += [_equal(_Attribute(optimizer, name), value)
                   for name, value in _settings(optimizer).items()]
        guards.append(_members(_Attribute(optimizer, "parameters"),
                               getattr(optimizer, "parameters", None)))
    reads.function(step)
    return guards + reads.guards


def _tensors_held(layer):
    """Guards that ``layer`` holds the very weights and buffers it held, each read through
    the dict the layer holds now: a failed first call puts back the dicts it had, and a user
    may set a new tensor in one. (A layer that held none read none.)"""
    return [(_Held(layer, slot, name), tensor) for slot in ("weights", "buffers")
            for name, tensor in getattr(layer, slot).items()]


def _settings(optimizer):
    """Every setting ``optimizer`` may read but its learning rate (read afresh each call)."""
    return {name: getattr(optimizer, name) for name in optim._SETTING_RULES
            if name != "lr" and hasattr(optimizer, name)}


def _members(read, items):
    """A guard that ``read()`` gives a list or tuple of the same objects as ``items``, in
    order (or None, as ``items``)."""
    members = _Members(read, items)
    return _equal(members, members())


class _Attribute:
    """A guard's read of ``holder.name``, spelled out in the plan's compiled check."""

    def __init__(self, holder, name):
        self.holder, self.name = holder, name

    def __call__(self):
        return getattr(self.holder, self.name)

    def source(self, holder):
        return f"{holder}.{self.name}"

    def identity(self):
        """What tells this read from another of the same compiled check."""
        return (id(self.holder), self.name, type(self))


class _Members:
    """A guard's read (``read``) of a list or tuple: the ids of what it holds, checked in
    the compiled guard one by one against the objects themselves (kept alive by the guard),
    or that it is None."""

    def __init__(self, read, items):
        self.read = read
        self.members = None if items is None else (type(items), tuple(items))

    def __call__(self):
        items = self.read()
        return None if items is None else tuple(map(id, items))

    def term(self, value, names, index):
        """The compiled check of ``value`` (the read's source), with the objects it compares
        bound in ``names``."""
        prefix = f"m{index}"
        if self.members is None:
            return f"{value} is None"
        kind, members = self.members
        names[prefix] = kind
        names.update({f"{prefix}_{index}": item for index, item in enumerate(members)})
        return f"(type({prefix}_ := {value}) is {prefix} and len({prefix}_) == {len(members)}" \
            + "".join(f" and {prefix}_[{index}] is {prefix}_{index}"
                      for index in range(len(members))) + ")"


class _Like:
    """A guard's read (``read``) of an array read afresh at each replay: its kind, shape,
    dtype and layout, checked inline in the compiled guard."""

    def __init__(self, read):
        self.read = read

    def __call__(self):
        return _likeness(self.read())

    @staticmethod
    def term(value, names, index):
        """The compiled check of ``value`` (the read's source) against ``e{index}``."""
        if names[f"e{index}"] is None:
            return f"{value} is None"
        array = f"m{index}_"
        return (f"(({array} := {value}) is not None and (type({array}), tuple({array}.shape), "
                f"{array}.dtype, getattr({array}, 'strides', None)) == e{index})")


def _like(read, array):
    """A guard that ``read()`` gives an array like ``array`` (see _Like)."""
    like = _Like(read)
    return _equal(like, _likeness(array))


def _likeness(array):
    if array is None:
        return None
    return (type(array), tuple(array.shape), array.dtype, getattr(array, "strides", None))


class _Item(_Attribute):
    """A guard's read of ``holder.get(key)`` (a dict, a module's names)."""

    def __call__(self):
        return self.holder.get(self.name)

    def source(self, holder):
        return f"{holder}.get({holder}_key)"


class _Absent(_Attribute):
    """A guard's read of whether ``key`` is in the dict ``holder`` (an object's or a class's
    own names), where one would hide a class attribute the step read."""

    def __call__(self):
        return self.name in self.holder

    def source(self, holder):
        return f"({holder}_key in {holder})"


class _Held(_Attribute):
    """A guard's read of ``holder.<dict_name>.get(key)``: what a layer holds under ``key``
    in the dict it holds now (``weights`` or ``buffers``)."""

    def __init__(self, holder, dict_name, key):
        super().__init__(holder, key)
        self.dict_name = dict_name

    def __call__(self):
        return getattr(self.holder, self.dict_name).get(self.name)

    def source(self, holder):
        return f"{holder}.{self.dict_name}.get({holder}_key)"

    def identity(self):
        return (*super().identity(), self.dict_name)


def what_changed(guards):
    """Which of ``guards`` fails, in words."""
    for read, expected, *equal in guards:
        value = read()
        if not (value == expected if equal else value is expected):
            inner = getattr(read, "read", read)
            where = f"{type(inner.holder).__name__}'s {inner.name!r}" if isinstance(
                inner, _Attribute) else "a value the step reads"
            return f"{where} changed since it was traced"
    return "nothing the guards watch changed"


def compiled(guards, arguments="", terms=(), names=None):
    """One function that checks every guard, each read spelled out (not called through a
    loop): ``read() is expected`` for all of them, after ``terms`` (Python expressions of
    its ``arguments``, with the objects they name in ``names``)."""
    names = dict(names or {})
    terms = list(terms) + _terms(guards, names)
    text = f"def holds({arguments}):\n    return (" + " and\n            ".join(
        terms or ["True"]) + ")\n"
    exec(compile(text, "<zen.capture guards>", "exec"), names)
    names["holds"].source = text
    return names["holds"]


def _terms(guards, names):
    """Each guard's check as an expression, with what it reads and compares in ``names``."""
    terms, seen = [], set()
    for index, (read, expected, *equal) in enumerate(guards):
        inner = read.read if isinstance(read, (_Members, _Like)) else read
        if isinstance(inner, _Attribute):
            if (inner.identity(), type(read)) in seen:
                continue        # the same read again (a tensor's trainable flag, say)
            seen.add((inner.identity(), type(read)))
            names[f"h{index}"], names[f"h{index}_key"] = inner.holder, inner.name
            value = inner.source(f"h{index}")
        else:
            names[f"r{index}"] = inner
            value = f"r{index}()"
        names[f"e{index}"] = expected
        terms.append(read.term(value, names, index) if isinstance(read, (_Members, _Like))
                     else f"{value} {'==' if equal else 'is'} e{index}")
    return terms


def _equal(read, expected):
    """A guard that holds while ``read()`` equals ``expected`` (rather than is it)."""
    return read, expected, "=="


class _Reads:
    """The guards of what a step's code reads, followed from the step: the values its
    closure, its module and (a method) its object hold under the names its code uses, and
    what those reach in turn that the code may read: the user's functions, methods and
    properties (their code is followed), and the attributes and class attributes of the
    user's objects, classes and modules under the same names. Not zen's or a library's
    objects, beyond their identity."""

    def __init__(self):
        self.guards, self.seen = [], set()

    def function(self, function):
        if isinstance(function, functools.partial):
            for value in (*function.args, *function.keywords.values()):
                self.value(functools.partial(_same, value), value, frozenset())
            self.function(function.func)
            return
        owner, plain = getattr(function, "__self__", None), getattr(function, "__func__",
                                                                      function)
        code = getattr(plain, "__code__", None)
        if code is None or not self._first(plain, owner):
            return
        global_names, names = _names(code)
        for cell in plain.__closure__ or ():
            self.value(_Attribute(cell, "cell_contents"), cell.cell_contents, names)
        if plain.__defaults__:
            self.value(_Attribute(plain, "__defaults__"), plain.__defaults__, names)
        module = plain.__globals__
        for name in sorted(global_names & module.keys()):
            self.value(_Item(module, name), module[name], names)
        if owner is not None:
            self.attributes(owner, names)

    def value(self, read, value, names):
        """A guard of what ``read`` gives (a number or string by value, a container by what
        it holds, anything else by identity), then what it reaches."""
        if _is_plain(value):
            self.guards.append(_equal(read, value))
            return
        if isinstance(value, (list, tuple)) and not any(map(_is_plain, value)) and \
                not any(isinstance(item, _CONTAINERS) for item in value):
            self.guards.append(_members(read, value))
        elif isinstance(value, _CONTAINERS):
            self.guards.append(_equal(functools.partial(_read_items, read), _items(value)))
        else:
            self.guards.append((read, value))
        for item in _held(value):
            self.reach(item, names)

    def reach(self, value, names):
        """Follow ``value`` if the code may read through it."""
        if _is_users_function(value):
            self.function(value)
        elif _is_users(value) and self._first(value):
            self.attributes(value, names | {"__call__"})    # (a call names no __call__)

    def attributes(self, holder, names):
        """Guards of ``holder``'s attributes under ``names``: its own (or a module's or a
        class's names), and its class's (methods and properties followed into), or for a
        class, its base classes'."""
        own = getattr(holder, "__dict__", None)
        for name in sorted(names):
            if own is not None and name in own:
                self.value(_Item(own, name), own[name], names)
                if isinstance(own[name], (classmethod, staticmethod)):
                    self.function(getattr(holder, name))    # bound to its class
            elif isinstance(holder, type):
                self._inherited(holder, name, names)
            elif not isinstance(holder, types.ModuleType):
                self._class_attribute(holder, name, names)

    def _inherited(self, cls, name, names):
        """A guard of ``name`` read on the class ``cls`` from the base class that defines
        it, if the user's, and that no class before it comes to define it too."""
        for index, kind in enumerate(cls.__mro__):
            if name in vars(kind):
                if _is_users(kind):
                    self._unhidden(cls.__mro__[:index], name)
                    self.value(_Item(vars(kind), name), vars(kind)[name], names)
                return

    def _class_attribute(self, holder, name, names):
        """Guards of ``name`` in each of the user's classes of ``holder`` that defines it,
        the one ``holder.name`` finds and those it overrides (``super().name`` reaches
        them), up to the first class of zen's or a library's; and that neither ``holder``
        nor a class before the first comes to define it too."""
        found = False
        for index, kind in enumerate(type(holder).__mro__):
            if name not in vars(kind):
                continue
            attribute = vars(kind)[name]
            if not _is_users(kind):
                return
            if not found:
                found = True
                self._unhidden([holder, *type(holder).__mro__[:index]], name)
            self.guards.append((_Item(vars(kind), name), attribute))
            if isinstance(attribute, property) and attribute.fget is not None:
                self.function(types.MethodType(attribute.fget, holder))
            elif isinstance(attribute, (types.FunctionType, classmethod, staticmethod)):
                self.function(attribute.__get__(holder, type(holder)))
            elif isinstance(attribute, types.MemberDescriptorType):    # a slot
                if hasattr(holder, name):
                    self.value(_Attribute(holder, name), getattr(holder, name), names)
            else:
                self.reach(attribute, names)

    def _unhidden(self, holders, name):
        """Guards that none of ``holders`` (an object, classes) comes to have ``name`` of its
        own, which would hide the class attribute the step read."""
        for holder in holders:
            own = getattr(holder, "__dict__", None)
            if own is not None and (not isinstance(holder, type) or _is_users(holder)):
                self.guards.append((_Absent(own, name), False))

    def _first(self, *objects):
        """Whether ``objects`` are met for the first time, within the bound on what is
        followed."""
        key = tuple(map(id, objects))
        if key in self.seen or len(self.seen) >= _MOST_FOLLOWED:
            return False
        self.seen.add(key)
        return True


# How many functions and objects a step's guards follow: a bound on the guards' cost.
_MOST_FOLLOWED = 64

_CONTAINERS = (list, tuple, dict, set, frozenset)


def _same(value):
    return value


def _names(code):
    """(the global names, the attribute names) that ``code`` uses, with those of the code it
    holds (comprehensions, lambdas, nested functions): a name read as ``self.zen`` is not
    looked up in the module, nor a global ``zen`` on the objects reached. A name used any
    other way (an import) counts as both."""
    global_names, attribute_names = set(), set()
    for instruction in dis.get_instructions(code):
        kind = _NAME_USES.get(instruction.opname)
        if kind is None and instruction.opcode in dis.hasname:
            global_names.add(instruction.argval)
            attribute_names.add(instruction.argval)
        elif kind is not None:
            (global_names if kind == "global" else attribute_names).add(instruction.argval)
    for inner in code.co_consts:
        if isinstance(inner, types.CodeType):
            inner_globals, inner_attributes = _names(inner)
            global_names |= inner_globals
            attribute_names |= inner_attributes
    return frozenset(global_names), frozenset(attribute_names)


_NAME_USES = {**dict.fromkeys(("LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME",
                               "STORE_NAME", "DELETE_NAME"), "global"),
              **dict.fromkeys(("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR",
                               "LOAD_SUPER_ATTR"), "attribute")}


def _held(value):
    """What a container holds (its values, for a dict), or the value itself."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, _CONTAINERS):
        return list(value)
    return [value]


def _is_users_function(value):
    """Whether ``value`` is a Python function or method of the user's (not zen's or a
    library's), or a partial of one."""
    if isinstance(value, functools.partial):
        return _is_users_function(value.func)
    function = getattr(value, "__func__", value)
    return isinstance(function, types.FunctionType) and _is_users_module(function.__module__)


def _is_users(value):
    """Whether ``value`` is a module, a class, or an object of a class, of the user's."""
    if isinstance(value, types.ModuleType):
        return _is_users_module(value.__name__)
    kind = value if isinstance(value, type) else type(value)
    return _is_users_module(kind.__module__) and not isinstance(
        value, (types.FunctionType, types.MethodType, functools.partial))


def _is_users_module(name):
    root = (name or "zen").partition(".")[0]
    return root not in _LIBRARIES and root not in sys.stdlib_module_names


# Modules whose objects the guards take as they are (by identity): zen's, and the array
# libraries'.
_LIBRARIES = frozenset({"zen", "backends", "numpy", "cupy", "cupyx", "array_api_compat",
                        "array_api_strict", "torch", "scipy", "builtins"})


def _is_zen_module(name):
    return name is None or name == "zen" or name.startswith("zen.")


def _is_plain(value):
    return isinstance(value, (bool, int, float, str, type(None)))


def _read_items(read):
    return _items(read())


def _items(container, depth=0):
    """What a container holds, for a guard: numbers and strings by value, containers by
    what they hold (a few levels down), other objects by identity."""
    if not isinstance(container, _CONTAINERS) or depth > 3:
        return id(container)
    if isinstance(container, dict):
        pairs = container.items()
    elif isinstance(container, (set, frozenset)):
        return type(container), frozenset(_items(item, depth + 1) if not _is_plain(item)
                                          else item for item in container)
    else:
        pairs = enumerate(container)
    return type(container), tuple((key, item if _is_plain(item) else _items(item, depth + 1))
                                  for key, item in pairs)


def is_zens(value):
    """Whether ``value`` is an object of one of zen's classes or of a class made from one (a
    model, layer, optimiser, tensor, scheduler)."""
    return any(_is_zen_module(kind.__module__) for kind in type(value).__mro__)

