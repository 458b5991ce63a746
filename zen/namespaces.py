"""The F vocabulary: the names the engine's array work may call, declared once, and the array
namespace built from it for each backend.

Forwards get the array namespace as ``xp``, VJPs get it as ``F`` (on arrays) and so do the
engine's own sums of gradients and the optimisers' updates, so every array call the engine
makes goes through one object per backend, ``array_namespaces[backend]``: a step tracer sees
them all by putting its own namespace there. When the backward pass is recorded, VJPs get the
Tensor namespace instead (``zen.ops.tensor_namespace``), built from the same ``VJP_NAMES``.

Indexing (``x[key]``, ``x[key] = v``) and attributes (``.shape``, ``.mT``) stay Python syntax:
the array API has no functions for them, and ``.mT`` is ten times quicker in NumPy than
``matrix_transpose``.
"""

import functools
import operator
import types

# Array-API functions that mean the same on arrays and, as zen's function of the same name
# (``pow`` is zen's ``power``), on Tensors: what VJPs may use, as may the engine's sums of
# gradients and the optimisers. Each is tested on both namespaces with the same inputs.
VJP_NAMES = (
    "add", "subtract", "multiply", "divide", "negative", "pow", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_not",
    "exp", "log", "sqrt", "sin", "cos", "tanh", "abs", "sign", "maximum", "minimum", "where",
    "sum", "mean", "max", "min", "reshape", "broadcast_to", "permute_dims",
    "matrix_transpose", "concat", "take", "astype", "matmul",
)

# The rest of the array work, on arrays only: what forwards and the engine use that has no
# recorded meaning (new arrays, checks, in-place updates, the backend's extras).
ARRAY_NAMES = (
    "clip", "argmax", "argmin", "isfinite", "all", "zeros", "zeros_like", "ones_like", "full",
    "arange", "copy", "scatter_add", "index_add", "sliding_window_view",
    "any", "argsort", "cumulative_sum",
    # elementwise functions, whose primitives' forwards call them
    "floor", "ceil", "trunc", "round", "log2", "log10", "expm1", "log1p", "erf", "tan",
    "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "copysign",
    "logaddexp", "remainder", "floor_divide", "isnan", "isinf",
    "hypot", "erfc",
    "stack",    # max pooling's gradient mask, one pass per kernel offset
    "asarray", "expand_dims", "eye", "index_set", "nonzero", "ones", "repeat", "searchsorted",
    "all_in_range", "count_nonzero",    # checks of class labels
)

# Dtypes and questions about them, not arrays: a step tracer passes them through.
DTYPE_QUERIES = ("finfo", "iinfo", "isdtype", "result_type", "int64", "float32", "float64")

# Functions whose result's shape depends on the values: a step tracer refuses them.
DATA_SHAPED = ("nonzero",)

# In-place arithmetic, as Python's ``x += y`` (the array API has operators for it, no
# functions): the optimisers' updates.
IN_PLACE = {"add_in_place": operator.iadd, "subtract_in_place": operator.isub,
            "multiply_in_place": operator.imul}

OPS = {}           # name -> Op: every primitive, whose forward the namespaces also offer


def array_namespace(xp):
    """``F`` on one backend's arrays: the declared names, from the backend's namespace ``xp``,
    and every primitive in ``OPS`` by name, as its forward (bound to this namespace). Every
    name is filled in ahead (``register`` adds later primitives): a ``__getattr__`` fallback
    would slow each of the engine's attribute reads here. It is a module object, not an
    instance of a class, because CPython caches the lookup of ``F.name(...)`` on a module
    and not on an object: ~25 ns less on every array call the engine makes (3 % of a chain
    of small ops)."""
    namespace = types.ModuleType("zen.namespaces.array_namespace", array_namespace.__doc__)
    namespace.__dict__.update({name: getattr(xp, name)
                               for name in VJP_NAMES + ARRAY_NAMES + DTYPE_QUERIES})
    namespace.__dict__.update(IN_PLACE)
    namespace.check = functools.partial(_check, namespace)
    for op in OPS.values():
        _add_primitive(namespace, op)
    return namespace


def _check(namespace, function, *arrays, **settings):
    """``F.check(function, *arrays, **settings)`` runs ``function(F, *arrays, **settings)``: a
    check of the arrays' values that raises if they are wrong (it may read them to the host).
    A captured step repeats it at every replay."""
    function(namespace, *arrays, **settings)


def _add_primitive(namespace, op):
    if op.name not in VJP_NAMES + ARRAY_NAMES:
        setattr(namespace, op.name, functools.partial(op.forward, namespace))


def register(op):
    """Add the primitive ``op`` to ``OPS`` and to the namespaces already made."""
    OPS[op.name] = op
    for namespace in array_namespaces.values():
        _add_primitive(namespace, op)


class _ArrayNamespaces(dict):
    """backend -> its array namespace, made on first use."""

    def __missing__(self, backend):
        namespace = self[backend] = array_namespace(backend.xp)
        return namespace


array_namespaces = _ArrayNamespaces()


class TensorNamespace:
    """``F`` for recorded VJPs: each of ``VJP_NAMES`` as zen's differentiable function
    (``functions``, by name), and every primitive in ``OPS`` by name, recorded."""

    def __init__(self, functions, primitives):
        self.__dict__.update(functions)
        self._primitives = primitives

    def __getattr__(self, name):
        try:
            return self._primitives[name]
        except KeyError:
            raise AttributeError(f"{name!r} is not in zen's vocabulary (zen.namespaces) nor "
                                 f"a primitive") from None
