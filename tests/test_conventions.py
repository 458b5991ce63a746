"""PyTorch's conventions where zen already had the function: which
calling forms mean what, what stays zen's own, and what is refused as ambiguous. Values and
gradients of every new spelling are in op_cases.py, against PyTorch."""

import numpy
import pytest

import zen
from zen.errors import ArgumentError, CallError, DtypeError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


def _pair(shape, device):
    array = numpy.random.default_rng(sum(shape)).normal(size=shape)
    return zen.Tensor(array, device=device), torch.tensor(array)


@pytest.mark.parametrize("shape, axes", [
    ((2, 3), (0, 1)), ((2, 3), (1, 0)), ((2, 3), (-1, -2)), ((2, 3), (1, 1)),
    ((2, 3, 4), (1, 2)), ((2, 3, 4), (-2, -1)), ((2, 3, 4), (0, 2)), ((2, 3, 4, 5), (3, 1)),
])
def test_transpose_of_two_axes_swaps_them_as_pytorch(shape, axes, device):
    x, t = _pair(shape, device)
    for result in (x.transpose(*axes), zen.transpose(x, *axes), zen.swapaxes(x, *axes)):
        numpy.testing.assert_array_equal(result.numpy(), t.transpose(*axes).numpy())


def test_transpose_without_axes_or_with_a_full_permutation_keeps_zen_s_meaning(device):
    x, t = _pair((2, 3, 4), device)
    numpy.testing.assert_array_equal(x.transpose().numpy(), t.permute(2, 1, 0).numpy())
    numpy.testing.assert_array_equal(x.transpose(1, 2, 0).numpy(), t.permute(1, 2, 0).numpy())
    numpy.testing.assert_array_equal(x.transpose((2, 0, 1)).numpy(),
                                     t.permute(2, 0, 1).numpy())
    numpy.testing.assert_array_equal(x.permute(0, 1, 2).numpy(), x.numpy())
    numpy.testing.assert_array_equal(x.T.numpy(), t.permute(2, 1, 0).numpy())


@pytest.mark.parametrize("axis", [0, 2, (0, 1), (0, 2), (1, 2), -1, None])
def test_squeeze_keeps_an_axis_not_of_length_one_as_pytorch(axis, device):
    x, t = _pair((3, 1, 4), device)
    expected = t.squeeze() if axis is None else t.squeeze(axis)
    assert zen.squeeze(x, axis).shape == tuple(expected.shape)
    numpy.testing.assert_array_equal(x.squeeze(axis).numpy(), expected.numpy())


def test_max_with_an_axis_stays_values_only_and_with_a_tensor_is_elementwise(device):
    x, t = _pair((3, 4), device)
    y, u = _pair((4,), device)
    numpy.testing.assert_array_equal(zen.max(x, 1).numpy(), torch.amax(t, 1).numpy())
    numpy.testing.assert_array_equal(x.min(0, True).numpy(), torch.amin(t, 0, True).numpy())
    numpy.testing.assert_array_equal(zen.max(x, y).numpy(), torch.max(t, u).numpy())
    numpy.testing.assert_array_equal(x.min(y).numpy(), t.min(u).numpy())
    assert zen.amax is zen.ops.max and zen.amin is zen.ops.min
    with pytest.raises(ArgumentError, match=r"min: min\(x, other\).*keepdims=True"):
        zen.min(x, y, True)


@pytest.mark.parametrize("function", [zen.var, zen.std, zen.var_mean, zen.std_mean])
def test_unbiased_is_pytorch_s_older_correction(function, device):
    x, _ = _pair((3, 4), device)
    for unbiased, correction in ((False, 0), (True, 1)):
        numpy.testing.assert_array_equal(
            numpy.asarray(function(x, 1, unbiased=unbiased)[0].numpy()),
            numpy.asarray(function(x, 1, correction=correction)[0].numpy()))
    with pytest.raises(ArgumentError, match=r"unbiased=False, correction=1"):
        function(x, unbiased=False, correction=1)
    with pytest.raises(ArgumentError, match=r"got unbiased=0"):
        function(x, unbiased=0)


def test_mean_takes_a_dtype_as_sum_does(device):
    x = zen.Tensor([[1, 2], [4, 8]], dtype="int64", device=device)
    assert x.backend.dtype_name(zen.mean(x, dtype="float64").dtype) == "float64"
    assert x.mean(1, dtype="float32").numpy().tolist() == [1.5, 6.0]
    with pytest.raises(DtypeError, match="mean"):
        zen.mean(x)     # as PyTorch: no mean of integers without a dtype


def test_a_wrong_call_is_a_type_error_naming_the_op_not_a_dtype_error(device):
    x, _ = _pair((2, 3), device)
    for wrong_call, named in [(lambda: zen.multiply(x, x, foo=1), "multiply.*'foo'"),
                              (lambda: zen.exp(x, x), "exp: too many positional arguments"),
                              (lambda: zen.where(x > 0, x, x, x), r"where\(\) takes"),
                              (lambda: zen.add(x, x, foo=1), "add.*'foo'"),
                              (lambda: x.sum(foo=1), "sum.*'foo'")]:
        with pytest.raises(TypeError, match=named) as caught:
            wrong_call()
        assert not isinstance(caught.value, DtypeError)
    with pytest.raises(CallError):
        zen.exp(x, x)
    flags = zen.Tensor([True, False], device=device, dtype="bool")
    for refusal in (lambda: -flags, lambda: zen.mean(flags), lambda: flags - flags):
        with pytest.raises(DtypeError) as caught:
            refusal()
        assert not isinstance(caught.value, CallError)


@pytest.mark.parametrize("method, dtype", [
    ("float", "float32"), ("double", "float64"), ("half", "float16"), ("long", "int64"),
    ("int", "int32"), ("bool", "bool")])
def test_conversion_methods_give_pytorch_s_dtypes(method, dtype, device):
    if dtype == "float16" and device != "cpu":
        pytest.skip("array_api_strict has no float16")
    x, t = _pair((2, 3), device)
    converted = getattr(x * 2, method)()
    assert x.backend.dtype_name(converted.dtype) == dtype
    assert str(getattr(t * 2, method)().dtype) == f"torch.{dtype}"
    numpy.testing.assert_array_equal(converted.numpy(), getattr(t * 2, method)().numpy())


def test_size_methods_and_contiguous(device):
    x, t = _pair((2, 3, 4), device)
    assert (x.numel(), x.dim()) == (t.numel(), t.dim()) == (24, 3)
    assert x.contiguous() is x
    assert [part.shape for part in x.unbind(2)] == [tuple(p.shape) for p in t.unbind(2)]


@pytest.mark.parametrize(("shape", "sizes", "axis"), [
    ((5, 6), 2, 0), ((5, 6), 4, 1), ((5, 6), 6, 1), ((5, 6), 10, 0), ((5, 6), [1, 4], 0),
    ((5, 6), [2, 0, 4], 1), ((5, 6), (6,), -1), ((0, 3), 2, 0), ((0, 3), [0], 0),
    ((3, 4), 1, 1)])
def test_split_cuts_as_pytorch_by_size_or_sizes(shape, sizes, axis, device):
    array = numpy.arange(numpy.prod(shape), dtype=float).reshape(shape)
    pieces = zen.Tensor(array, device=device).split(sizes, axis)
    expected = torch.split(torch.tensor(array), sizes, axis)
    assert len(pieces) == len(expected)
    for piece, reference in zip(pieces, expected, strict=True):
        numpy.testing.assert_array_equal(piece.numpy(), reference.numpy())


@pytest.mark.parametrize("sizes", [0, -1, [1, 2], [3, -1, 4], 2.0, True])
def test_split_refuses_what_pytorch_refuses(sizes, device):
    with pytest.raises(zen.errors.ShapeMismatchError, match=r"split: split_size_or_sections"):
        zen.split(zen.Tensor(numpy.zeros(6), device=device), sizes)
