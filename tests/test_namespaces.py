"""The F vocabulary (``zen.namespaces``): the array namespace and the Tensor namespace offer
the same names, and each name computes the same values on both, on every backend; on arrays
F holds the declared names and zen's primitives, nothing else of the backend's library."""

import numpy
import pytest

import backends
import zen
from zen.namespaces import ARRAY_NAMES, IN_PLACE, VJP_NAMES, array_namespaces

BINARY = ("x", "y")

# Each name's arguments: "x", "y" (2, 3) floats, "z" (2, 3) of both signs, "v" (3,), "m"
# (3, 4), "b", "c" (2, 3) bools, "i" int64 indices; anything else is passed as it is.
SAMPLES = {
    **{name: (BINARY, {}) for name in (
        "add", "subtract", "multiply", "divide", "pow", "maximum", "minimum", "equal",
        "not_equal", "less", "less_equal", "greater", "greater_equal")},
    **{name: (("z",), {}) for name in (
        "negative", "exp", "sin", "cos", "tanh", "abs", "sign", "matrix_transpose")},
    **{name: (("x",), {}) for name in ("log", "sqrt")},
    **{name: (("z",), {"axis": (1,), "keepdims": True}) for name in ("sum", "mean", "max",
                                                                       "min")},
    "logical_and": (("b", "c"), {}), "logical_or": (("b", "c"), {}),
    "logical_not": (("b",), {}), "where": (("b", "x", "y"), {}),
    "reshape": (("z", (3, 2)), {}), "broadcast_to": (("v", (2, 3)), {}),
    "permute_dims": (("z", (1, 0)), {}), "concat": ((["x", "y"],), {"axis": 0}),
    "take": (("z", "i"), {"axis": 1}), "astype": (("z", "float64"), {}),
    "matmul": (("z", "m"), {}),
    # zen's primitives, which both namespaces offer by name
    "pad": (("z",), {"widths": ((1, 0), (0, 2))}), "softmax": (("z",), {"axis": (1,)}),
    "log_softmax": (("z",), {"axis": (0,)}),
    "getitem": (("z",), {"key": (slice(0, 1), Ellipsis)}),
}
PRIMITIVES = ("pad", "softmax", "log_softmax", "getitem")


def _arrays(backend):
    rng = numpy.random.default_rng(0)
    host = {"x": rng.uniform(0.5, 2.0, (2, 3)), "y": rng.uniform(0.5, 2.0, (2, 3)),
            "z": rng.uniform(-2.0, 2.0, (2, 3)), "v": rng.uniform(-1.0, 1.0, 3),
            "m": rng.uniform(-1.0, 1.0, (3, 4)), "b": rng.uniform(size=(2, 3)) > 0.5,
            "c": rng.uniform(size=(2, 3)) > 0.3, "i": numpy.array([2, 0, 2])}
    return {key: backend.asarray(value) for key, value in host.items()}


def _arguments(arguments, backend, wrap):
    arrays = _arrays(backend)

    def one(argument):
        if isinstance(argument, list):
            return [one(part) for part in argument]
        if argument == "float64":
            return backend.dtype("float64")
        return wrap(arrays[argument]) if isinstance(argument, str) else argument
    return [one(argument) for argument in arguments]


@pytest.mark.parametrize("name", VJP_NAMES + PRIMITIVES)
def test_every_name_means_the_same_on_arrays_and_on_tensors(name, device):
    backend = backends.get_backend(device)
    arguments, settings = SAMPLES[name]
    on_arrays = getattr(array_namespaces[backend], name)(
        *_arguments(arguments, backend, lambda array: array), **settings)
    on_tensors = getattr(zen.ops.tensor_namespace, name)(
        *_arguments(arguments, backend, lambda array: zen.Tensor(array, device=backend)),
        **settings)
    assert backend.dtype_name(on_arrays.dtype) == backend.dtype_name(on_tensors.dtype)
    numpy.testing.assert_allclose(backend.to_host(on_arrays), on_tensors.numpy(), rtol=1e-12)


def test_the_array_namespace_holds_the_vocabulary_and_primitives_only(device):
    """Before, F on NumPy arrays was all of NumPy: F.pad was numpy.pad (another signature)
    on cpu but zen's pad on other backends."""
    namespace = array_namespaces[backends.get_backend(device)]
    for name in VJP_NAMES + ARRAY_NAMES + tuple(IN_PLACE):
        assert callable(getattr(namespace, name)), name
    assert namespace.pad.func is zen.OPS["pad"].forward
    for name in ("fft", "linalg", "unique_values", "float16", "ndarray"):
        with pytest.raises(AttributeError, match=f"array_namespace.* no attribute '{name}'"):
            getattr(namespace, name)


def test_the_tensor_namespace_refuses_names_outside_the_vocabulary():
    for name in set(ARRAY_NAMES) - set(zen.OPS):       # array work with no recorded meaning
        with pytest.raises(AttributeError, match="vocabulary"):
            getattr(zen.ops.tensor_namespace, name)
