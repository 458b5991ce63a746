"""PyTorch as an oracle: every case in ``op_cases.py`` gives the same values and gradients in
zen, on every backend, as in PyTorch on the CPU."""

import numpy
import pytest

import zen
from op_cases import CASES

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


def _torch_result(case, arrays, weights):
    inputs = [torch.tensor(array, requires_grad=True) for array in arrays]
    output = case.torch_function(torch, *inputs)
    (output * torch.tensor(weights)).sum().backward()
    return output.detach().numpy(), [x.grad.numpy() for x in inputs]


def _zen_result(case, arrays, weights, device):
    inputs = [zen.Tensor(array, device=device) for array in arrays]
    output = case(*inputs)
    (output * zen.Tensor(weights, device=device)).sum().backward()
    return output.numpy(), [zen.Tensor(x.gradient).numpy() for x in inputs]


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_values_and_gradients_match_pytorch(case, device):
    arrays = case.arrays()
    shape = numpy.shape(case.torch_function(torch, *[torch.tensor(a) for a in arrays]))
    weights = numpy.cos(numpy.arange(numpy.prod(shape)) * 1.3 + 0.4).reshape(shape)
    expected_value, expected_gradients = _torch_result(case, arrays, weights)
    value, gradients = _zen_result(case, arrays, weights, device)
    numpy.testing.assert_allclose(value, expected_value, rtol=1e-10, atol=1e-12)
    for gradient, expected in zip(gradients, expected_gradients, strict=True):
        numpy.testing.assert_allclose(gradient, expected, rtol=1e-10, atol=1e-12)


def test_comparisons_and_argmax_match_pytorch(device):
    array = numpy.random.default_rng(1).normal(size=(4, 5))
    x, t = zen.Tensor(array, device=device), torch.tensor(array)
    for name in ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]:
        numpy.testing.assert_array_equal(getattr(x, name)(0.1).numpy(),
                                         getattr(t, name)(0.1).numpy())
    numpy.testing.assert_array_equal(x.argmax(axis=1).numpy(), t.argmax(axis=1).numpy())
    numpy.testing.assert_array_equal(x.argmin(axis=0, keepdims=True).numpy(),
                                     t.argmin(axis=0, keepdim=True).numpy())
    assert x.argmax().item() == t.argmax().item()


def test_tied_maxima_share_the_gradient_as_amax_does(device):
    array = numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = zen.Tensor(array, device=device)
    x.max(axis=1).sum().backward()
    t = torch.tensor(array, requires_grad=True)
    torch.amax(t, axis=1).sum().backward()
    numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(), t.grad.numpy())
    numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(), [[0, .5, .5], [1/3] * 3])


def _ramp(shape, phase):
    return numpy.cos(numpy.arange(numpy.prod(shape, dtype=int)) * 0.7 + phase).reshape(shape)


def _torch_second_derivatives(case, arrays):
    inputs = [torch.tensor(array, requires_grad=True) for array in arrays]
    first = torch.autograd.grad(case.torch_function(torch, *inputs).sum(), inputs,
                                create_graph=True, allow_unused=True)
    total = sum((g * torch.tensor(_ramp(g.shape, i))).sum()
                for i, g in enumerate(first) if g is not None and g.requires_grad)
    if not isinstance(total, torch.Tensor):     # every first derivative is a constant
        return [numpy.zeros_like(array) for array in arrays]
    second = torch.autograd.grad(total, inputs, allow_unused=True)
    return [numpy.zeros_like(a) if s is None else s.numpy(force=True)  # force: a ZeroTensor
            for a, s in zip(arrays, second, strict=True)]


def _zen_second_derivatives(case, arrays, device):
    inputs = [zen.Tensor(array, device=device) for array in arrays]
    first = zen.gradients(case(*inputs).sum(), inputs, create_graph=True)
    total = sum((g * zen.Tensor(_ramp(g.shape, i), device=device)).sum()
                for i, g in enumerate(first) if g.trainable)
    if not isinstance(total, zen.Tensor):
        return [numpy.zeros_like(array) for array in arrays]
    return [zen.Tensor(s).numpy() for s in zen.gradients(total, inputs)]


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_second_derivatives_match_pytorch(case, device):
    """Every case's Hessian-vector product (the gradient of its weighted first derivatives)
    against PyTorch's double backward."""
    arrays = case.arrays()
    expected = _torch_second_derivatives(case, arrays)
    for index, (got, wanted) in enumerate(zip(_zen_second_derivatives(case, arrays, device),
                                              expected, strict=True)):
        numpy.testing.assert_allclose(got, wanted, rtol=1e-9, atol=1e-10,
                                      err_msg=f"input {index}")
