"""The last functions and dtype spellings a PyTorch porter reaches for (issue 17's follow-up),
at the points random op cases miss, against PyTorch on every device: ``to`` with a dtype,
a device or both, dtype names that are not devices, and the edges of the functions below.
(Values and gradients elsewhere: tests/op_cases.py.)"""

import numpy
import pytest

import zen
from zen.errors import ArgumentError, UnknownDeviceError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


def _both(array, device, trainable=False):
    """The same values as a zen Tensor on ``device`` and a torch tensor."""
    return (zen.Tensor(array, device=device, trainable=trainable),
            torch.tensor(array, requires_grad=trainable))


def _close(found, expected, **tolerances):
    numpy.testing.assert_allclose(found.numpy(), expected.detach().numpy(), **tolerances)


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int32", "int64", "bool"])
def test_dtype_spellings_are_the_names_dtype_arguments_take(name):
    assert getattr(zen, name) == name
    assert zen.zeros(2, dtype=getattr(zen, name)).dtype == zen.Tensor([0]).astype(name).dtype


def test_bool_spelling_stays_out_of_import_star():
    assert "bool" not in zen.__all__ and "float64" in zen.__all__


@pytest.mark.parametrize("call", [
    lambda x: x.to(zen.float64),
    lambda x: x.to(dtype="float64"),
    lambda x: x.to(x.device, zen.float64),
    lambda x: x.to(zen.float64, x.device),
    lambda x: x.to(device=x.device, dtype=zen.float64),
    lambda x: x.to(x.backend.dtype("float64")),
])
def test_to_a_dtype_converts_and_keeps_the_gradient(device, call):
    x = zen.Tensor([1.0, -2.0], device=device, trainable=True)
    y = call(x)
    assert y.dtype == x.backend.dtype("float64") and y.device == x.device
    (y * y).sum().backward()
    numpy.testing.assert_array_equal(x.backend.to_host(x.gradient), [2.0, -4.0])
    assert x.gradient.dtype == x.value.dtype


def test_to_another_device_and_dtype_gives_both(device):
    x = zen.Tensor([1.5, -2.0], trainable=True)
    y = x.to(device, zen.float64)
    assert (y.device, y.backend.dtype_name(y.dtype)) == (device, "float64") and y.trainable
    z = x.to(zen.int64)
    assert z.backend.dtype_name(z.dtype) == "int64" and not z.trainable


def test_to_a_device_alone_keeps_its_behaviour(device):
    x = zen.Tensor([1.0], device=device)
    assert x.to(device) is x and x.to(device=device) is x
    assert x.to(device).dtype == x.dtype


@pytest.mark.parametrize("arguments, keywords, error, message", [
    (("cpu", "cpu"), {}, ArgumentError, r"to: device given twice, as 'cpu' and 'cpu'"),
    (("float32",), {"dtype": "int64"}, ArgumentError,
     r"to: dtype given twice, as 'int64' and 'float32'"),
    (("cpu", "float32", "cpu"), {}, ArgumentError, r"to: takes a device and a dtype, got 3"),
    (("float", ), {}, UnknownDeviceError, r"unknown device 'float'"),
    ((5,), {}, UnknownDeviceError, r"got 5 of type int"),
])
def test_to_refuses_what_it_cannot_tell_apart(arguments, keywords, error, message):
    with pytest.raises(error, match=message):
        zen.Tensor([1.0]).to(*arguments, **keywords)
