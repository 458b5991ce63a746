"""The backward pass: order, sharing, depth, freeing, accumulation, dtypes, higher order."""

import gc
import sys
import time
import tracemalloc

import numpy
import pytest

import zen
from zen import Tensor
from zen.autograd import topological_order


def test_long_chain_backpropagates_without_recursion(device):
    x = Tensor(1.0, device=device, dtype="float64")
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    assert sys.getrecursionlimit() <= 10_000
    y.backward()
    assert x.gradient.dtype == x.dtype
    assert float(x.gradient) == pytest.approx(1.0000001 ** 100_000, rel=1e-9)


def test_dropping_a_long_chain_without_backward_does_not_recurse(device):
    x = Tensor(1.0, device=device)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    del y   # freed by reference counting, one node after another
    assert x.gradient is None


def test_shared_nodes_are_visited_once(device):
    x = Tensor(1e-3, device=device, dtype="float64")
    y = x
    expected_gradient, value = 1.0, 1e-3
    for _ in range(40):
        y = y * y + y                # every node is used three times: a 2**40-path DAG
        expected_gradient *= 2 * value + 1
        value = value * value + value
    assert len(topological_order(y)) == 81
    start = time.perf_counter()
    y.backward()
    assert time.perf_counter() - start < 1.0
    assert float(y.numpy()) == pytest.approx(value, rel=1e-12)
    assert float(x.gradient) == pytest.approx(expected_gradient, rel=1e-12)


def _small_model_step(parameters, inputs, targets, learning_rate=0.1):
    weight1, bias1, weight2 = parameters
    hidden = (inputs @ weight1 + bias1).tanh()
    loss = ((hidden @ weight2 - targets) ** 2).mean()
    loss.backward()
    for parameter in parameters:
        parameter.value = parameter.value - learning_rate * parameter.gradient
        parameter.zero_grad()
    return loss


def test_training_steps_do_not_grow_memory_with_the_collector_off(device, rng):
    parameters = [Tensor(rng.normal(size=shape) * 0.3, dtype="float32", device=device)
                  for shape in [(8, 16), (16,), (16, 1)]]
    inputs = Tensor(rng.normal(size=(32, 8)), dtype="float32", trainable=False, device=device)
    targets = Tensor(rng.normal(size=(32, 1)), dtype="float32", trainable=False, device=device)

    def settled_memory():
        # A full collection also empties CPython's free lists, which fill up slowly and would
        # read as growth; finding no unreachable object proves the graph held no cycle.
        assert gc.collect() == 0, "the graph left reference cycles behind"
        return tracemalloc.get_traced_memory()[0]

    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        for _ in range(100):
            _small_model_step(parameters, inputs, targets)
        warm = settled_memory()
        for _ in range(300):
            _small_model_step(parameters, inputs, targets)
        grown = settled_memory() - warm
    finally:
        tracemalloc.stop()
        gc.enable()
    # One step's graph holds over 5 KB of arrays, so keeping one per step would add 1.5 MB;
    # the allowance covers the array library's own bounded caches (NumPy's shape cache).
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 300 steps"


def test_backward_frees_the_graph_and_a_second_pass_says_so(device):
    x = Tensor([1.0, 2.0], device=device)
    y = (x.exp() * 2.0).sum()
    y.backward()
    with pytest.raises(zen.errors.GraphFreedError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_pass_and_gradients_accumulate(device):
    x = Tensor([1.0, 2.0], device=device)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    numpy.testing.assert_allclose(_host(x.gradient), [4.0, 8.0])
    x.zero_grad()
    assert x.gradient is None


def _host(array):
    return Tensor(array, trainable=False).numpy()


def test_broadcast_gradients_are_summed_to_each_input_shape(device):
    x = Tensor(numpy.ones((2, 1, 3)), device=device)
    b = Tensor(numpy.ones((4, 1)), device=device)
    (x * b).sum().backward()
    assert x.gradient.shape == (2, 1, 3) and b.gradient.shape == (4, 1)
    numpy.testing.assert_array_equal(_host(x.gradient), numpy.full((2, 1, 3), 4.0))
    numpy.testing.assert_array_equal(_host(b.gradient), numpy.full((4, 1), 6.0))


def test_float32_stays_float32_through_scalars_and_backward(device):
    x = Tensor([0.5, 1.5], device=device)
    y = (x * numpy.float64(0.5) + 2) ** 2 / numpy.float32(3.0) - 1.0
    y = (1.0 - y.exp().log().tanh()) * numpy.int64(2)
    assert str(y.numpy().dtype) == "float32"
    y.sum().backward()
    assert x.gradient.dtype == x.dtype and str(_host(x.gradient).dtype) == "float32"


def test_mixed_precision_gradients_take_each_inputs_dtype(device):
    x32 = Tensor([1.0, 2.0], dtype="float32", device=device)
    x64 = Tensor([3.0, 4.0], dtype="float64", device=device)
    (x32 * x64).sum().backward()
    assert str(_host(x32.gradient).dtype) == "float32"
    assert str(_host(x64.gradient).dtype) == "float64"
    numpy.testing.assert_array_equal(_host(x32.gradient), [3.0, 4.0])


def test_no_grad_records_nothing(device):
    x = Tensor([1.0], device=device)
    with zen.no_grad():
        y = x * 2.0
        assert not zen.is_grad_enabled()
    assert not y.trainable and y.is_leaf
    assert zen.is_grad_enabled()


def test_grad_of_target_matches_and_keeps_the_graph(device):
    x = Tensor([1.0, 2.0, 3.0], device=device)
    hidden = x * x
    y = hidden.sum() * 2.0
    numpy.testing.assert_allclose(_host(y.grad(x)), [4.0, 8.0, 12.0])
    numpy.testing.assert_allclose(_host(y.grad(hidden)), [2.0, 2.0, 2.0])
    assert x.gradient is None
    unrelated = Tensor([5.0], device=device)
    numpy.testing.assert_array_equal(_host(y.grad(unrelated)), [0.0])


def test_create_graph_gives_second_and_third_derivatives(device):
    x = Tensor([0.5, 2.0], dtype="float64", device=device)
    y = (x ** 3).sum()
    (first,) = zen.gradients(y, [x], create_graph=True)
    numpy.testing.assert_allclose(first.numpy(), 3 * numpy.array([0.5, 2.0]) ** 2)
    (second,) = zen.gradients(first.sum(), [x], create_graph=True)
    numpy.testing.assert_allclose(second.numpy(), 6 * numpy.array([0.5, 2.0]))
    (third,) = zen.gradients(second.sum(), [x])
    numpy.testing.assert_allclose(third.numpy(), [6.0, 6.0])


def test_backward_with_create_graph_leaves_a_differentiable_gradient(device):
    x = Tensor([1.0, 3.0], dtype="float64", device=device)
    (x.tanh() * x).sum().backward(create_graph=True)
    assert isinstance(x.gradient, Tensor) and x.gradient.trainable
    (hessian_row_sums,) = zen.gradients(x.gradient.sum(), [x])
    v = numpy.array([1.0, 3.0])
    t = numpy.tanh(v)
    expected = 2 * (1 - t**2) - 2 * v * t * (1 - t**2)
    numpy.testing.assert_allclose(hessian_row_sums.numpy(), expected, rtol=1e-12)


def test_mixed_second_derivative_through_matmul_and_broadcasting(device):
    av, bv = numpy.arange(6.0).reshape(2, 3) / 6, numpy.arange(3.0) / 3 + 0.1
    a = Tensor(av, device=device)
    b = Tensor(bv, device=device)

    def sum_of_grad_b(a):
        (grad_b,) = zen.gradients((a @ b).exp().sum() + (a * b).sum(), [b], create_graph=True)
        return grad_b.sum()

    (mixed,) = zen.gradients(sum_of_grad_b(a), [a])
    e, row_sums = numpy.exp(av @ bv)[:, None], av.sum(axis=1, keepdims=True)
    numpy.testing.assert_allclose(mixed.numpy(), e * (bv * row_sums + 1) + 1, rtol=1e-12)
    assert zen.gradcheck(sum_of_grad_b, a)


def test_a_recorded_gradient_adds_to_a_leafs_earlier_one_and_stays_differentiable(device):
    x = Tensor([1.0, 3.0], dtype="float64", device=device)
    (x * x).sum().backward()                                # an array: 2x
    (x * x * x).sum().backward(create_graph=True)           # recorded: 2x + 3x^2
    assert isinstance(x.gradient, Tensor) and x.gradient.trainable
    numpy.testing.assert_allclose(x.gradient.numpy(), [5.0, 33.0])
    (second,) = zen.gradients(x.gradient.sum(), [x])        # the array part is a constant
    numpy.testing.assert_allclose(second.numpy(), [6.0, 18.0])
    x.sum().backward()                                      # an array added to the recorded one
    assert isinstance(x.gradient, Tensor)
    numpy.testing.assert_allclose(x.gradient.numpy(), [6.0, 34.0])


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("scale", [None, 2.0], ids=["a view of the seed", "a fresh array"])
def test_leaves_reached_by_one_gradient_each_own_a_writable_copy(device, create_graph, scale):
    """x + y hands both leaves the same gradient (a read-only broadcast view of the seed, or
    an array that the multiplication made): each must get its own, writable."""
    x, y = Tensor([1.0, 2.0], device=device), Tensor([3.0, 4.0], device=device)
    total = x + y if scale is None else (x + y) * scale
    total.sum().backward(create_graph=create_graph)
    kind = Tensor if create_graph else type(x.value)
    assert type(x.gradient) is kind and type(y.gradient) is kind
    for position, leaf in enumerate((x, y)):
        (leaf.gradient.value if create_graph else leaf.gradient)[position] = 10.0
    same = scale or 1.0
    numpy.testing.assert_array_equal(_host(x.gradient), [10.0, same])
    numpy.testing.assert_array_equal(_host(y.gradient), [same, 10.0])


def test_a_gradient_that_views_another_leafs_gradient_is_copied(device):
    """The transpose's VJP hands x a view of the array that z keeps as its gradient."""
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    z = Tensor(numpy.zeros((2, 2)), device=device)
    ((x.T + z) * 2.0).sum().backward()
    x.gradient[0, 1] = 10.0
    numpy.testing.assert_array_equal(_host(z.gradient), numpy.full((2, 2), 2.0))


def test_grad_of_a_non_scalar_target_weights_it_by_the_given_grad(device):
    x = Tensor([1.0, 2.0], device=device)
    y = x * x
    numpy.testing.assert_allclose(_host(y.grad(x, grad=[1.0, 10.0])), [2.0, 40.0])
    with pytest.raises(zen.errors.GradientError, match="shape"):
        y.grad(x)
