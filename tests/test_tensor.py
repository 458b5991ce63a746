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


# --- Sharing memory: zen.from_numpy and Tensor(..., copy=False) ------------------------------

def _host_of(array, device):
    """What ``array`` (of ``device``'s backend) holds now, read through a copy."""
    return Tensor(array, trainable=False, device=device).numpy()


def test_from_numpy_shares_memory_both_ways_and_the_optimiser_writes_into_it():
    array = numpy.arange(4, dtype=numpy.float32)
    x = zen.from_numpy(array)
    assert not x.trainable and x.dtype == array.dtype
    array[0] = 10.0
    assert x.numpy()[0] == 10.0
    x += 1
    numpy.testing.assert_array_equal(array, [11, 2, 3, 4])
    weights = zen.from_numpy(array, trainable=True)
    (weights * weights).sum().backward()
    zen.optim.SGD([weights], lr=0.5).step()       # w - 0.5 * 2w = 0
    numpy.testing.assert_array_equal(array, numpy.zeros(4))


@pytest.mark.parametrize("dtype", ["float64", "float16", "int32", "int64", "bool", "uint8"])
def test_from_numpy_keeps_the_arrays_dtype_and_view(dtype):
    array = numpy.ones((3, 4), dtype=dtype)[:, ::2]          # strided: a view, still shared
    x = zen.from_numpy(array)
    assert x.numpy().dtype == array.dtype and x.shape == (3, 2)
    assert numpy.shares_memory(x.numpy(), array)


@pytest.mark.parametrize(("value", "error", "message"), [
    ([1.0, 2.0], zen.errors.ArgumentError, r"from_numpy: expected a NumPy array, got list"),
    (numpy.float32(2.0), zen.errors.ArgumentError, r"from_numpy: this float32 has no array"),
    (numpy.array([1 + 2j]), DtypeError, r"from_numpy: values of dtype complex128"),
])
def test_from_numpy_refuses_what_has_no_real_array_memory(value, error, message):
    with pytest.raises(error, match=message):
        zen.from_numpy(value)


def test_from_numpy_refuses_trainable_integers():
    with pytest.raises(DtypeError, match=r"from_numpy: trainable=True needs a floating dtype"):
        zen.from_numpy(numpy.arange(3), trainable=True)


def test_from_numpy_refuses_an_array_of_another_device_and_says_what_to_use(device):
    if device == "cpu":
        pytest.skip("the CPU's arrays are NumPy arrays: from_numpy takes them")
    array = Tensor([1.0, 2.0], device=device).value
    with pytest.raises(zen.errors.DeviceMismatchError,
                       match=rf"from_numpy: the array is on {device}.*Tensor\(array, copy=False\)"):
        zen.from_numpy(array)


@pytest.mark.parametrize("copy", [False, None])
def test_tensor_without_copy_shares_an_array_of_its_device(copy, device):
    array = Tensor([1.0, 2.0, 3.0], device=device).value
    x = Tensor(array, trainable=False, copy=copy)
    x += 1                                  # not trainable: written into its array
    numpy.testing.assert_array_equal(_host_of(array, device), [2.0, 3.0, 4.0])
    assert Tensor(array, copy=copy, dtype=x.dtype).trainable     # the same dtype, asked


def test_tensor_copies_by_default_and_with_copy_none_when_it_must(device):
    array = Tensor([1.0, 2.0], device=device).value
    copied = Tensor(array, trainable=False)
    converted = Tensor(array, trainable=False, copy=None, dtype="float64")
    copied += 1
    converted += 1
    numpy.testing.assert_array_equal(_host_of(array, device), [1.0, 2.0])
    assert converted.numpy().dtype == numpy.float64


def test_tensor_with_copy_none_copies_a_numpy_scalar_and_copy_false_refuses_it():
    """A NumPy scalar has no array memory to share: copy=None copies it, as
    torch.as_tensor does; copy=False says so."""
    assert Tensor(numpy.float32(1.5), copy=None).item() == 1.5
    with pytest.raises(zen.errors.ArgumentError, match="float32 has no array memory"):
        Tensor(numpy.float32(1.5), copy=False)


@pytest.mark.parametrize(("value", "settings", "error", "message"), [
    ([1.0, 2.0], {}, zen.errors.ArgumentError, r"Tensor: copy=False .* a list has none"),
    (2.5, {}, zen.errors.ArgumentError, r"Tensor: copy=False .* a float has none"),
    ("array", {"dtype": "float64"}, DtypeError,
     r"Tensor: copy=False .* the array is .*float32 and dtype .*float64 was asked"),
    ("array", {"device": "other"}, zen.errors.DeviceMismatchError,
     r"Tensor: copy=False shares memory, but the array is on .*; drop copy=False"),
])
def test_tensor_copy_false_refuses_what_would_need_a_copy(value, settings, error, message,
                                                          device):
    if value == "array":
        value = Tensor(numpy.ones(2, numpy.float32), device=device).value
    if settings.get("device") == "other":
        settings = {"device": "cpu" if device != "cpu" else "array_api_strict:device1"}
    with pytest.raises(error, match=message):
        Tensor(value, copy=False, **settings)


@pytest.mark.parametrize("copy", ["no", 0.0])
def test_tensor_copy_must_be_true_false_or_none(copy):
    with pytest.raises(zen.errors.ArgumentError, match=r"Tensor: copy must be True, False or"):
        Tensor([1.0], copy=copy)


@pytest.mark.parametrize("copy", [False, None])
def test_a_tensor_sharing_anothers_memory_shares_its_in_place_checks(copy, device):
    """Tensor(t, copy=False) views t's memory: an in-place change through it, after t was
    used in a recorded op, must make that op's backward refuse, as for any view."""
    weight = Tensor([1.0, 2.0], trainable=True, device=device)
    data = Tensor([3.0, 4.0], trainable=False, device=device)
    loss = (weight * data).sum()            # the product saves data for weight's gradient
    alias = Tensor(data, trainable=False, copy=copy)
    alias += 1                              # written into data's memory
    with pytest.raises(zen.errors.InPlaceError):
        loss.backward()
