"""Reductions, scans and indexing (zen.reductions, zen.selection) where the shared op cases
cannot reach: exact zeros in products, extreme values, the non-differentiable outputs
(indices, bools, codes), shapes and axes explored by hypothesis, all against PyTorch."""

import numpy
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import zen

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

WITH_ZEROS = [[2.0, 0.0, 3.0, -1.5], [0.0, 0.0, 4.0, 2.0], [1.5, -2.0, 0.5, 3.0]]


def _zen_gradients(function, array, device, order):
    x = zen.Tensor(array, device=device)
    (first,) = zen.gradients(function(zen, x).sum(), [x], create_graph=order == 2)
    if order == 1:
        return zen.Tensor(first).numpy()
    weights = zen.Tensor(numpy.cos(numpy.arange(first.value.size)).reshape(first.shape),
                         device=device)
    return zen.Tensor(zen.gradients((first * weights).sum(), [x])[0]).numpy()


def _torch_gradients(function, array, order):
    x = torch.tensor(array, requires_grad=True)
    (first,) = torch.autograd.grad(function(torch, x).sum(), [x], create_graph=order == 2)
    if order == 1:
        return first.numpy()
    weights = torch.tensor(numpy.cos(numpy.arange(first.numel())).reshape(first.shape))
    return torch.autograd.grad((first * weights).sum(), [x])[0].numpy()


PRODUCTS = {
    "prod along an axis": lambda m, x: m.prod(x, axis=1),
    "prod of all": lambda m, x: m.prod(x),
    "cumprod": lambda m, x: m.cumprod(x, axis=1),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_products_with_zeros_have_pytorchs_gradient_without_dividing(name, device):
    """One zero in a slice: its gradient is the product of the others; two: all 0. No nan
    from a division by zero."""
    function, array = PRODUCTS[name], numpy.array(WITH_ZEROS)
    got = _zen_gradients(function, array, device, order=1)
    assert numpy.isfinite(got).all()
    numpy.testing.assert_allclose(got, _torch_gradients(function, array, 1), rtol=1e-12)


def test_second_derivatives_of_a_product_with_one_zero_match_pytorch(device):
    function, array = PRODUCTS["prod along an axis"], numpy.array([WITH_ZEROS[0]])
    numpy.testing.assert_allclose(_zen_gradients(function, array, device, order=2),
                                  _torch_gradients(function, array, 2), rtol=1e-12)


@pytest.mark.parametrize("name", PRODUCTS)
def test_products_with_zeros_pass_finite_differences_to_second_order(name, device):
    """With two zeros a slice's second derivatives are not all 0 (PyTorch gives 0): the
    pairwise products give them exactly."""
    def first_derivatives(x):
        return zen.gradients(PRODUCTS[name](zen, x).sum(), [x], create_graph=True)[0]
    x = zen.Tensor(numpy.array(WITH_ZEROS), device=device)
    assert zen.gradcheck(lambda x: PRODUCTS[name](zen, x), x)
    assert zen.gradcheck(first_derivatives, x)


def test_logcumsumexp_is_stable_far_below_the_maximum(device):
    array = numpy.array([-1000.0, 0.0, -2000.0, 1000.0, float("-inf")], dtype=numpy.float32)
    got = zen.logcumsumexp(zen.Tensor(array, device=device), axis=0).numpy()
    numpy.testing.assert_allclose(got, torch.logcumsumexp(torch.tensor(array), 0).numpy())


def test_indices_bools_and_codes_match_pytorch(device):
    array = numpy.array([[3.0, 1.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    x, t = zen.Tensor(array, device=device), torch.tensor(array)
    pairs = [
        (zen.argsort(x, axis=1, descending=True), torch.argsort(t, dim=1, descending=True,
                                                                stable=True)),
        (x.sort(0).indices, t.sort(dim=0, stable=True).indices),
        (x.cummax(1).indices, t.cummax(1).indices),
        (x.cummin(0).indices, t.cummin(0).indices),
        (zen.any(x, axis=1), torch.any(t, 1)), (x.all(axis=0, keepdims=True),
                                               t.all(0, keepdim=True)),
        (zen.nonzero(x), torch.nonzero(t)), (zen.nonzero(x, as_tuple=True)[1],
                                             torch.nonzero(t, as_tuple=True)[1]),
        (zen.one_hot(zen.Tensor(numpy.array([2, 0, 4]), device=device)),
         torch.nn.functional.one_hot(torch.tensor([2, 0, 4]))),
        (zen.one_hot(zen.Tensor(numpy.array([[1], [0]]), device=device), num_classes=3),
         torch.nn.functional.one_hot(torch.tensor([[1], [0]]), num_classes=3)),
        (zen.nonzero(zen.Tensor(2.0, device=device)), torch.nonzero(torch.tensor(2.0))),
    ]
    for got, expected in pairs:
        assert not got.trainable
        assert got.numpy().dtype == expected.numpy().dtype
        numpy.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_topk_keeps_the_earlier_of_tied_elements(device):
    x = zen.Tensor([1.0, 3.0, 3.0, 2.0], device=device)
    values, indices = x.topk(2)
    numpy.testing.assert_array_equal(indices.numpy(), [1, 2])
    numpy.testing.assert_array_equal(values.numpy(), [3.0, 3.0])


def test_scatter_add_uses_only_the_index_shaped_part_of_src(device):
    array, src = numpy.zeros((2, 4)), numpy.arange(10.0).reshape(2, 5)
    index = numpy.array([[0, 0, 3], [1, 2, 1]])
    got = zen.scatter_add(zen.Tensor(array, device=device), 1, index,
                          zen.Tensor(src, device=device))
    expected = torch.scatter_add(torch.tensor(array), 1, torch.tensor(index), torch.tensor(src))
    numpy.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_scatter_reduce_amax_shares_the_gradient_among_ties_as_pytorch(device):
    array, src = numpy.array([[2.0, 0.0, 1.0]]), numpy.array([[2.0, 2.0, 0.5, 1.0]])
    index = numpy.array([[0, 0, 1, 1]])
    x, s = zen.Tensor(array, device=device), zen.Tensor(src, device=device)
    zen.scatter_reduce(x, 1, index, s, "amax").sum().backward()
    tx, ts = torch.tensor(array, requires_grad=True), torch.tensor(src, requires_grad=True)
    torch.scatter_reduce(tx, 1, torch.tensor(index), ts, "amax").sum().backward()
    numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(), tx.grad.numpy())
    numpy.testing.assert_allclose(zen.Tensor(s.gradient).numpy(), ts.grad.numpy())


def test_sum_with_a_dtype_converts_first(device):
    x = zen.Tensor(numpy.array([16777216.0, 1.0, 1.0], dtype=numpy.float32), device=device)
    total = x.sum(dtype="float64")
    assert total.dtype == x.backend.dtype("float64")
    assert total.item() == 16777218.0


def _shapes_and_axis():
    return st.lists(st.integers(0, 4), min_size=1, max_size=3).flatmap(
        lambda shape: st.tuples(st.just(tuple(shape)), st.integers(-len(shape),
                                                                   len(shape) - 1)))


@settings(max_examples=25, deadline=None)
@given(_shapes_and_axis())
@example(((0,), 0))
@example(((1,), 0))
@example(((3, 0, 2), 1))
@example(((1, 1), -1))
def test_scans_sorts_and_products_match_pytorch_for_any_shape_and_axis(shape_and_axis):
    shape, axis = shape_and_axis
    array = numpy.cos(numpy.arange(numpy.prod(shape)) * 1.7).reshape(shape)
    x, t = zen.Tensor(array), torch.tensor(array)
    pairs = [(zen.cumsum(x, axis), torch.cumsum(t, axis)),
             (zen.cumprod(x, axis), torch.cumprod(t, axis)),
             (zen.logcumsumexp(x, axis), torch.logcumsumexp(t, axis)),
             (zen.prod(x, axis), torch.prod(t, axis)),
             (zen.sort(x, axis).values, torch.sort(t, axis).values),
             (zen.cummax(x, axis).values, torch.cummax(t, axis).values)]
    for got, expected in pairs:
        numpy.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("function", [
    lambda m, x: m.cumsum(x, 0), lambda m, x: m.prod(x), lambda m, x: m.logcumsumexp(x, 0),
    lambda m, x: m.sort(x, 0)[0], lambda m, x: m.cumprod(x, 0)])
def test_0_d_tensors_scan_and_reduce_as_in_pytorch(function, device):
    got = function(zen, zen.Tensor(1.5, device=device))
    expected = function(torch, torch.tensor(1.5, dtype=torch.float32))
    assert got.shape == tuple(expected.shape)
    numpy.testing.assert_allclose(got.numpy(), expected.numpy())
