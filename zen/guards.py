"""The guards of a captured step's plan: what must still hold for a replay to stand for the
step (``zen.capture``), each a read and what it gave when the step was traced, compiled into
one function that checks them all inline.

They watch the arrays the step read (by identity, or by likeness where the step replaces
them), the modes, the layers' settings, the optimisers' state and settings, and what the
step's code reads from its closure, its module and its object, following the functions,
methods, properties and objects it reaches there.
"""

from __future__ import annotations

import functools
import types

from zen import optim
from zen.tensor import Tensor


def of(trace, step, written=()):
    """(read, expected) pairs, each to hold (``read() is expected``) for the plan to stand:
    what it assumes about the world beyond its arguments. At the places the step sets
    (``written``), the plan reads the array afresh if it reads it at all
    (``plans.live_externals``): only its kind, shape, dtype and layout are guarded."""
    guards = [_like((_Item if place.item else _Attribute)(place.holder, place.key), original)
              if place in written else
              ((_Item if place.item else _Attribute)(place.holder, place.key), original)
              for place, original in trace.watched.items()]
    guards += [(_Attribute(place.holder, "trainable"), place.holder.trainable)
               for place in trace.watched if isinstance(place.holder, Tensor)]
    guards += [_members(_Attribute(model, "layers"), model.layers)
               for model in trace.models.values()]
    for layer in trace.layers.values():
        # Its settings one by one, as its config reads them (a new tuple of names: new ones).
        guards += [(_Attribute(layer, name), getattr(layer, name))
                   for name in ("training", "_settings", *layer._settings)]
        if _is_users_function(layer.forward):   # a layer of the user's own, and what it reads
            guards += _closure_guards(layer.forward)
    for optimizer, parameter, state in trace.states:
        guards.append((_Attribute(optimizer, "state"), optimizer.state))
        guards.append((_Item(optimizer.state, parameter), state))
    for optimizer in trace.optimizers.values():
        guards += [_equal(_Attribute(optimizer, name), value)
                   for name, value in _settings(optimizer).items()]
        guards.append(_members(_Attribute(optimizer, "parameters"),
                               getattr(optimizer, "parameters", None)))
    return guards + _closure_guards(step)


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


def compiled(guards):
    """One function that checks every guard, each read spelled out (not called through a
    loop): ``read() is expected`` for all of them."""
    names, terms, seen = {}, [], set()
    for index, (read, expected, *equal) in enumerate(guards):
        inner = read.read if isinstance(read, (_Members, _Like)) else read
        if isinstance(inner, _Attribute):
            if (id(inner.holder), inner.name, type(inner), type(read)) in seen:
                continue        # the same read again (a tensor's trainable flag, say)
            seen.add((id(inner.holder), inner.name, type(inner), type(read)))
            names[f"h{index}"], names[f"h{index}_key"] = inner.holder, inner.name
            value = inner.source(f"h{index}")
        else:
            names[f"r{index}"] = inner
            value = f"r{index}()"
        names[f"e{index}"] = expected
        terms.append(read.term(value, names, index) if isinstance(read, (_Members, _Like))
                     else f"{value} {'==' if equal else 'is'} e{index}")
    text = "def holds():\n    return (" + " and\n            ".join(terms or ["True"]) + ")\n"
    exec(compile(text, "<zen.capture guards>", "exec"), names)
    names["holds"].source = text
    return names["holds"]


def _equal(read, expected):
    """A guard that holds while ``read()`` equals ``expected`` (rather than is it)."""
    return read, expected, "=="


def _closure_guards(step, seen=None):
    """What ``step`` reads from its closure, its module and (for a method) its object (the
    attributes its code names), and so what the functions it reads there read in turn (not
    zen's own: their settings are guarded where they run)."""
    seen = set() if seen is None else seen
    if isinstance(step, functools.partial):
        places = [(functools.partial(lambda v: v, value), value)
                  for value in (*step.args, *step.keywords.values())]
        return _watched(places) + _closure_guards(step.func, seen)
    function = getattr(step, "__func__", step)
    code = getattr(function, "__code__", None)
    if code is None:
        return []
    names = _names(code)
    places = [(_Attribute(cell, "cell_contents"), cell.cell_contents)
              for cell in function.__closure__ or ()]
    module = function.__globals__
    places += [(_Item(module, name), module.get(name)) for name in names if name in module]
    owner = getattr(step, "__self__", None)
    places += [(_Item(owner.__dict__, name), value)
               for name, value in getattr(owner, "__dict__", {}).items() if name in names]
    guards = _watched(places, names)
    for _, value in places:
        if _is_users_function(value) and id(value) not in seen and len(seen) < _MOST_FUNCTIONS:
            seen.add(id(value))
            guards += _closure_guards(value, seen)
    return guards


# How many functions a step's guards follow, beyond the step: a bound on the guards' cost.
_MOST_FUNCTIONS = 32


def _names(code):
    """The global and attribute names ``code`` reads, with those of the code it holds
    (comprehensions, lambdas, nested functions)."""
    names = set(code.co_names)
    for inner in code.co_consts:
        if isinstance(inner, types.CodeType):
            names |= _names(inner)
    return names


def _is_users_function(value):
    """Whether ``value`` is a Python function or method, and not one of zen's."""
    function = getattr(value, "__func__", value)
    return isinstance(function, types.FunctionType) and not _is_zen_module(function.__module__)


def _is_zen_module(name):
    return name is None or name == "zen" or name.startswith("zen.")


def _watched(places, names=()):
    """Guards of (read, value) pairs: a number or string to keep its value, a list, tuple or
    dict to keep its items (the same objects, or equal numbers and strings), an object of
    the step's own classes to stay the same object and keep those of its attributes whose
    names are in ``names`` (the code's), and anything else (a zen object, a function, a
    module) to stay the same object."""
    guards = []
    for read, value in places:
        if _is_plain(value):
            guards.append(_equal(read, value))
        elif type(value) in (list, tuple) and not any(map(_is_plain, value)):
            guards.append(_members(read, value))
        elif type(value) in (list, tuple, dict):
            guards.append(_equal(lambda read=read: _items(read()), _items(value)))
        else:   # (a model's layers: guarded where it runs)
            guards.append((read, value))
            if hasattr(value, "__dict__") and not isinstance(value, _CODE) and \
                    not is_zens(value):
                guards.append(_equal(lambda read=read: _read(read(), names),
                                     _read(value, names)))
    return guards


# Objects whose attributes a guard does not read: code, and partials (whose function and
# arguments are read-only).
_CODE = (types.ModuleType, types.FunctionType, types.MethodType, type, functools.partial)


def _read(value, names):
    """The attributes of ``value`` that code naming ``names`` may read, for a guard."""
    return _items({name: item for name, item in vars(value).items() if name in names})


def _is_plain(value):
    return isinstance(value, (bool, int, float, str, type(None)))


def _items(container):
    """What a list, tuple or dict holds, for a guard: numbers and strings by value, other
    objects by identity."""
    if type(container) not in (list, tuple, dict):
        return id(container)
    pairs = container.items() if isinstance(container, dict) else enumerate(container)
    return tuple((key, item if _is_plain(item) else id(item)) for key, item in pairs)


def is_zens(value):
    """Whether ``value`` is an object of one of zen's classes or of a class made from one (a
    model, layer, optimiser, tensor, scheduler)."""
    return any(_is_zen_module(kind.__module__) for kind in type(value).__mro__)

