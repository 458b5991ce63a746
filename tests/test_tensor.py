"""Tensor construction, dtypes, devices and conversions."""

import numpy
import pytest

import zen
from zen import Tensor
from zen.errors import DtypeError, ShapeMismatchError


def test_seed_example_prints_500_and_1000(capsys):
    a, b = Tensor(10.0), Tensor(5.0)
    d = (a * b) ** 2
    d.get_gradients()
    print(a.gradient, b.gradient)
    assert capsys.readouterr().out == "500.0 1000.0\n"


@pytest.mark.parametrize("backward", ["backward", "get_gradients"])
def test_get_gradients_takes_every_argument_of_backward(backward, device):
    """The freed-graph error says "pass retain_graph=True": the original name takes it too,
    and grad and create_graph."""
    a = Tensor(3.0, device=device)
    d = a ** 3
    getattr(d, backward)(retain_graph=True)
    getattr(d, backward)(grad=Tensor(2.0, device=device))
    assert Tensor(a.gradient, device=device).item() == 27.0 * 3
    b = Tensor(3.0, device=device)
    getattr(b ** 3, backward)(create_graph=True)
    slope = b.gradient
    b.zero_grad()
    slope.backward()                            # d(3 * b ** 2)/db = 6 * b
    assert Tensor(b.gradient, device=device).item() == 18.0


def test_python_numbers_and_lists_become_the_default_dtype(device):
    assert Tensor(3, device=device).dtype == Tensor(2.5, device=device).dtype
    assert str(Tensor([1, 2], device=device).numpy().dtype) == "float32"
    zen.set_default_dtype("float64")
    assert str(Tensor([1.5], device=device).numpy().dtype) == "float64"


def test_arrays_keep_their_dtype_and_integers_are_not_trainable(device):
    integers = Tensor(numpy.arange(3), device=device)
    assert str(integers.numpy().dtype) == "int64"
    assert not integers.trainable
    assert Tensor(numpy.ones(2), device=device).trainable
    with pytest.raises(DtypeError, match=r"trainable=True needs a floating dtype, got .*int64"):
        Tensor(numpy.arange(3), trainable=True, device=device)


def test_requires_grad_is_an_alias_of_trainable(device):
    assert not Tensor(1.0, requires_grad=False, device=device).trainable
    assert Tensor(1.0, requires_grad=True, device=device).requires_grad


def test_explicit_dtype_and_properties(device):
    x = Tensor([[1, 2, 3], [4, 5, 6]], dtype="float64", device=device)
    assert (x.shape, x.ndim, x.numel(), len(x), x.device) == ((2, 3), 2, 6, 2, device)
    assert (x.size(), x.size(1), x.size(-2)) == ((2, 3), 3, 2)      # PyTorch's size()
    assert str(x.numpy().dtype) == "float64"
    numpy.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [4, 5, 6]])


def test_item_and_its_error_for_many_elements(device):
    assert Tensor([[2.5]], device=device).item() == 2.5
    with pytest.raises(ShapeMismatchError, match=r"item: .*shape \(2,\)"):
        Tensor([1.0, 2.0], device=device).item()


def test_to_moves_a_copy_and_keeps_trainable(device):
    x = Tensor([1.0, 2.0], device="cpu")
    moved = x.to(device)
    assert moved.device == device and moved.trainable
    numpy.testing.assert_array_equal(moved.numpy(), [1.0, 2.0])
    assert moved.to(device) is moved
    assert moved.to("cpu").device == "cpu"


def test_detach_cuts_the_graph(device):
    x = Tensor([1.0, 2.0], device=device)
    y = (x * 3.0).detach()
    assert not y.trainable and y.is_leaf
    numpy.testing.assert_array_equal(y.numpy(), [3.0, 6.0])


def test_arrays_and_tensors_are_recognised_on_their_device(device):
    x = Tensor([1.0], device=device)
    assert Tensor(x.value).device == device
    assert Tensor(x, device="cpu").device == "cpu"


def test_comparisons_give_bool_tensors_without_gradient(device):
    x = Tensor([1.0, 2.0, 3.0], device=device)
    below = x < 2.5
    assert not below.trainable
    numpy.testing.assert_array_equal(below.numpy(), [True, True, False])
    numpy.testing.assert_array_equal((x == x).numpy(), [True] * 3)
    numpy.testing.assert_array_equal((x != 2.0).numpy(), [True, False, True])
    numpy.testing.assert_array_equal((x >= 2.0).numpy(), [False, True, True])


def test_repr_shows_value_dtype_and_device(device):
    text = repr(Tensor([1.5], device=device))
    assert "1.5" in text and "float32" in text and device in text and "trainable=True" in text


def test_numpy_operand_on_the_left_defers_to_tensor():
    result = numpy.ones(2) + Tensor([1.0, 2.0])
    assert isinstance(result, Tensor)
    numpy.testing.assert_array_equal(result.numpy(), [2.0, 3.0])
