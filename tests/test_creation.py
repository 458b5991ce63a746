"""New tensors (zen/creation.py) against PyTorch's factories: values, dtypes (PyTorch's
inference from Python numbers), devices, and trainable only when asked."""

import numpy
import pytest

import zen
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

# Each a function of the module and the keywords that place its result (zen's device=)
FACTORIES = [
    ("zeros varargs", lambda m, on: m.zeros(2, 3, **on)),
    ("ones tuple", lambda m, on: m.ones((2, 1, 3), **on)),
    ("zeros 0-d", lambda m, on: m.zeros((), **on)),
    ("empty is zeros", lambda m, on: m.empty(4, **on) * 0),
    ("full float", lambda m, on: m.full((2, 2), 1.5, **on)),
    ("full int", lambda m, on: m.full((3,), 7, **on)),
    ("full bool", lambda m, on: m.full([2], True, **on)),
    ("arange end", lambda m, on: m.arange(5, **on)),
    ("arange float step", lambda m, on: m.arange(0, 1, 0.1, **on)),
    ("arange negative step", lambda m, on: m.arange(10, 0, -3, **on)),
    ("arange empty", lambda m, on: m.arange(3, 3, **on)),
    ("arange float bound", lambda m, on: m.arange(0.5, 4, **on)),
    ("linspace", lambda m, on: m.linspace(-1, 3, 9, **on)),
    ("linspace one step", lambda m, on: m.linspace(2, 5, 1, **on)),
    ("linspace to int64",
     lambda m, on: m.linspace(2.5, -1.3, 7, dtype=_dtype(m, "int64"), **on)),
    ("eye", lambda m, on: m.eye(3, **on)),
    ("eye rectangular", lambda m, on: m.eye(2, 4, dtype=_dtype(m, "float64"), **on)),
]


def _dtype(m, name):
    return name if m is zen else getattr(torch, name)


def _torch_dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


@pytest.mark.parametrize("name, make", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_factories_match_pytorch(name, make, device):
    made, expected = make(zen, {"device": device}), make(torch, {})
    assert made.device == device and not made.trainable
    assert made.backend.dtype_name(made.dtype) == _torch_dtype_name(expected.dtype)
    numpy.testing.assert_allclose(made.numpy(), expected.numpy(), rtol=1e-6, atol=0)


def test_like_factories_keep_shape_dtype_and_device(device):
    x = zen.Tensor(numpy.ones((2, 3)), device=device, dtype="float64", trainable=True)
    for made, fill in ((zen.zeros_like(x), 0), (zen.ones_like(x), 1), (zen.full_like(x, 4), 4)):
        assert (made.shape, made.dtype, made.device, made.trainable) == \
               (x.shape, x.dtype, device, False)
        numpy.testing.assert_array_equal(made.numpy(), numpy.full((2, 3), fill))
    assert zen.full_like(x, 2, dtype="int64").numpy().dtype == numpy.int64


def test_trainable_only_when_asked(device):
    made = zen.ones(2, device=device, requires_grad=True)
    (made * 3).sum().backward()
    numpy.testing.assert_array_equal(made.backend.to_host(made.gradient), [3.0, 3.0])
    assert zen.zeros(2, trainable=True).trainable and not zen.randn(2).trainable
    with pytest.raises(DtypeError, match=r"arange: requires_grad=True needs a floating dtype"):
        zen.arange(3, requires_grad=True)


def test_random_factories_follow_zens_seed_on_every_device(device):
    draws = []
    for where in ("cpu", device):
        zen.seed(3)
        draws.append([zen.rand(2, 3, device=where), zen.randn((4,), device=where),
                      zen.randint(2, 5, (6,), device=where), zen.randint(3, (2,))])
    for on_cpu, on_device in zip(*draws, strict=True):
        numpy.testing.assert_array_equal(on_cpu.numpy(), on_device.numpy())
    uniform, normal, integers, below_three = draws[1]
    assert uniform.dtype == zen.Tensor(1.0, device=device).dtype and uniform.shape == (2, 3)
    assert uniform.numpy().min() >= 0 and uniform.numpy().max() < 1 and normal.shape == (4,)
    assert set(integers.numpy()) <= {2, 3, 4} and integers.numpy().dtype == numpy.int64
    assert set(below_three.numpy()) <= {0, 1, 2}


@pytest.mark.parametrize("misuse, error, message", [
    (lambda: zen.zeros(2, -1), ShapeMismatchError, r"zeros: a size is ints >= 0, got \(2, -1\)"),
    (lambda: zen.ones(2.5), ShapeMismatchError, r"ones: a size is ints >= 0, got \(2\.5,\)"),
    (lambda: zen.arange(0, 1, 0), ArgumentError, r"arange: step must not be 0"),
    (lambda: zen.arange(3, 1), ArgumentError, r"arange: step 1 leads away from end 1"),
    (lambda: zen.arange(0, float("inf")), ArgumentError, r"arange: end must be a finite"),
    (lambda: zen.linspace(0, 1, -2), ArgumentError, r"linspace: steps must be an int >= 0"),
    (lambda: zen.full(2, 1.0, dtype="float12"), DtypeError, r"full: unknown dtype 'float12'"),
    (lambda: zen.randint(3, 3, (2,)), ArgumentError, r"randint: low must be below high"),
    (lambda: zen.randint(3), ArgumentError, r"randint: give randint\(high, size\)"),
])
def test_bad_sizes_and_settings_name_the_function(misuse, error, message):
    with pytest.raises(error, match=message):
        misuse()
