"""What the ops do beyond their gradients: values at the edges, indexing, functional
gradients, and exchange with other array libraries."""

import numpy
import pytest

import backends
import zen
from zen import Tensor
from zen.errors import DeviceMismatchError, ShapeMismatchError


def _host(array):
    return Tensor(array, trainable=False).numpy()


def test_softmax_family_is_stable_for_huge_logits(device):
    logits = Tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]], device=device,
                    dtype="float64")
    small = numpy.array([[1.0, 2.0, 0.0], [0.0, -1.0, 1.0]])
    expected = numpy.exp(small) / numpy.exp(small).sum(axis=1, keepdims=True)
    numpy.testing.assert_allclose(zen.softmax(logits).numpy(), expected, rtol=1e-12)
    numpy.testing.assert_allclose(zen.log_softmax(logits).numpy(), numpy.log(expected),
                                  rtol=1e-12)
    numpy.testing.assert_allclose(zen.logsumexp(logits, axis=1).numpy(),
                                  [1001.40760596, -998.59239404], rtol=1e-10)
    zen.log_softmax(logits)[:, 0].sum().backward()
    assert numpy.isfinite(_host(logits.gradient)).all()


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")
def test_logsumexp_of_minus_infinity_is_minus_infinity(device):
    x = Tensor([[-numpy.inf, -numpy.inf], [0.0, -numpy.inf]], device=device, dtype="float64")
    numpy.testing.assert_array_equal(zen.logsumexp(x, axis=1).numpy(), [-numpy.inf, 0.0])


def test_sigmoid_is_exact_in_both_tails(device):
    x = Tensor([-800.0, -40.0, 0.0, 40.0, 800.0], device=device, dtype="float64")
    expected = [0.0, 4.248354255291589e-18, 0.5, 1.0, 1.0]
    numpy.testing.assert_allclose(x.sigmoid().numpy(), expected, rtol=1e-12, atol=0)


def test_indexing_values_match_numpy(device):
    array = numpy.arange(24.0).reshape(2, 3, 4)
    x = Tensor(array, device=device)
    for key in [1, (0, 2), (slice(None), slice(None, None, -1)), (None, 1, slice(1, 3)),
                (Ellipsis, -1), (1, Ellipsis, slice(None, None, -2))]:
        numpy.testing.assert_array_equal(x[key].numpy(), array[key])
    numpy.testing.assert_array_equal(x[[1, 0, 1]].numpy(), array[[1, 0, 1]])
    numpy.testing.assert_array_equal(x[:, [2, 0]].numpy(), array[:, [2, 0]])
    numpy.testing.assert_array_equal(x[x > 20].numpy(), array[array > 20])
    indices = Tensor(numpy.array([[0, 1], [1, 1]]), device=device)
    numpy.testing.assert_array_equal(x[indices].numpy(), array[[[0, 1], [1, 1]]])


def test_repeated_indices_add_up_in_the_gradient(device):
    x = Tensor(numpy.arange(4.0), device=device)
    (x[[3, 1, 3, 3]] * Tensor([1.0, 2.0, 3.0, 4.0], device=device)).sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient), [0.0, 2.0, 0.0, 8.0])


def test_backend_scatter_add_accumulates_repeats(device):
    """The backend extra behind indexing gradients, including the portable one-hot fallback
    of generic array-API backends (unlike ``at(x, i).add(v)``, which keeps one update)."""
    backend = backends.get_backend(device)
    target = backend.asarray([0.0, 0.0, 0.0])
    backend.xp.scatter_add(target, (backend.asarray([2, 0, 2, 2]),), backend.asarray([1.0] * 4))
    numpy.testing.assert_array_equal(backend.to_host(target), [1.0, 0.0, 3.0])
    rows = backend.asarray([[0.0, 0.0], [0.0, 0.0]])
    backend.xp.index_add(rows, 1, backend.asarray([1, 1]), backend.asarray([[1.0, 2.0]] * 2))
    numpy.testing.assert_array_equal(backend.to_host(rows), [[0.0, 3.0], [0.0, 3.0]])


def test_split_stack_concat_round_trip(device):
    x = Tensor(numpy.arange(12.0).reshape(3, 4), device=device)
    for sizes, shapes in (([1, 2, 1], [(3, 1), (3, 2), (3, 1)]), (3, [(3, 3), (3, 1)])):
        pieces = zen.split(x, sizes, axis=1)       # as torch.split: sizes, not cut points
        assert [p.shape for p in pieces] == shapes
        numpy.testing.assert_array_equal(zen.concat(pieces, axis=1).numpy(), x.numpy())
    assert zen.stack([x, x], axis=-1).shape == (3, 4, 2)
    with pytest.raises(ShapeMismatchError, match=r"split: .*length 4 of axis 1"):
        zen.split(x, [1, 2], axis=1)
    assert zen.squeeze(x, 0).shape == (3, 4)     # as PyTorch 2: an axis not of length 1 stays


def test_conv2d_matches_a_direct_loop(device):
    rng = numpy.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2))
    out = zen.conv2d(Tensor(x, device=device), Tensor(w, device=device), stride=2, padding=1)
    padded = numpy.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows, columns = (padded.shape[2] - 3) // 2 + 1, (padded.shape[3] - 2) // 2 + 1
    expected = numpy.zeros((2, 4, rows, columns))
    for i in range(rows):
        for j in range(columns):
            patch = padded[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2]
            expected[:, :, i, j] = numpy.einsum("nchw,ochw->no", patch, w)
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    with pytest.raises(ShapeMismatchError, match=r"conv2d: .*\(2, 3, 6, 5\).*\(4, 2, 3, 3\)"):
        zen.conv2d(Tensor(x, device=device), Tensor(numpy.ones((4, 2, 3, 3)), device=device))


def test_grad_and_value_and_grad_with_argnums(device):
    def f(x, y):
        return (x * x * y).sum()

    x, y = Tensor([1.0, 2.0], device=device), Tensor([3.0, 4.0], device=device)
    numpy.testing.assert_allclose(zen.grad(f)(x, y).numpy(), [6.0, 16.0])
    value, (gx, gy) = zen.value_and_grad(f, argnums=(0, 1))(x, y)
    assert value.item() == 19.0
    numpy.testing.assert_allclose(gx.numpy(), [6.0, 16.0])
    numpy.testing.assert_allclose(gy.numpy(), [1.0, 4.0])
    assert x.gradient is None


def test_grad_of_grad_is_the_second_derivative(device):
    x = Tensor(0.7, device=device, dtype="float64")
    second = zen.grad(zen.grad(lambda x: x.sin() * x))(x)
    assert second.item() == pytest.approx(2 * numpy.cos(0.7) - 0.7 * numpy.sin(0.7))
    third = zen.grad(zen.grad(zen.grad(lambda x: x ** 4)))(x)
    assert third.item() == pytest.approx(24 * 0.7)


def test_hessian_vector_product_matches_the_analytic_value(device):
    rng = numpy.random.default_rng(5)
    a, x0, v0 = rng.normal(size=(4, 4)), rng.normal(size=4), rng.normal(size=4)
    matrix, v = Tensor(a, device=device), Tensor(v0, device=device)

    def f(x):   # Hessian: A + A^T + diag(-sin x)
        return x @ matrix @ x + x.sin().sum()

    hvp = zen.grad(lambda x: (zen.grad(f)(x) * v).sum())(Tensor(x0, device=device))
    expected = (a + a.T) @ v0 - numpy.sin(x0) * v0
    numpy.testing.assert_allclose(hvp.numpy(), expected, rtol=1e-12)


def test_numpy_asarray_works_on_the_host_only(device):
    x = Tensor([1.0, 2.0], device=device)
    if backends.get_backend(device).on_host:
        assert numpy.asarray(x).dtype == numpy.float32
        numpy.testing.assert_array_equal(numpy.asarray(x, dtype=numpy.float64), [1.0, 2.0])
    else:
        with pytest.raises(DeviceMismatchError, match=r"numpy.asarray: .*\.numpy\(\)"):
            numpy.asarray(x)


def test_dlpack_exchange_with_numpy_shares_memory():
    source = numpy.arange(3.0)
    x = zen.from_dlpack(source)
    assert x.device == "cpu" and not x.trainable
    source[0] = 7.0
    assert x.numpy()[0] == 7.0
    back = numpy.from_dlpack(Tensor(numpy.ones(2)))
    numpy.testing.assert_array_equal(back, [1.0, 1.0])


def test_dlpack_exchange_with_pytorch_shares_memory():
    torch = pytest.importorskip("torch", reason="PyTorch is optional: pip install torch")
    source = torch.arange(3.0)
    x = zen.from_dlpack(source, trainable=True)
    source[1] = 9.0
    assert x.numpy()[1] == 9.0 and x.trainable
    y = Tensor(numpy.arange(4.0))
    shared = torch.from_dlpack(y)
    y.value[0] = -1.0
    assert shared[0].item() == -1.0


def test_grad_differentiates_with_respect_to_constants_and_plain_numbers(device):
    """zen.grad needs no trainable input: a constant tensor keeps its device, a list or a
    number becomes a tensor, and neither is made trainable or given a gradient."""
    constant = Tensor([1.0, 2.0], trainable=False, device=device)
    slope = zen.grad(lambda x: (x * x).sum())(constant)
    assert slope.device == device and not constant.trainable and constant.gradient is None
    numpy.testing.assert_allclose(slope.numpy(), [2.0, 4.0])
    numpy.testing.assert_allclose(zen.grad(lambda x: (x * x * x).sum())([1.0, 3.0]).numpy(),
                                  [3.0, 27.0])


def test_value_and_grad_takes_the_first_argument_by_default_and_passes_keywords(device):
    def f(x, y, power=2):
        return (x ** power * y).sum()

    x, y = Tensor([1.0, 2.0], device=device), Tensor([3.0, 4.0], device=device)
    value, slope = zen.value_and_grad(f)(x, y, power=3)
    assert value.item() == 35.0
    numpy.testing.assert_allclose(slope.numpy(), [9.0, 48.0])
    numpy.testing.assert_allclose(zen.grad(f, argnums=1)(x, y, power=3).numpy(), [1.0, 8.0])


def test_grad_records_a_graph_only_inside_another_grad(device):
    """A top-level gradient is a constant, also after a nested call and after a function that
    raised; each level of nesting, and each of two grads side by side inside one, is still
    differentiable."""
    x = Tensor(0.5, dtype="float64", device=device)
    cube = lambda x: x ** 3    # noqa: E731
    for _ in range(2):
        assert not zen.grad(cube)(x).trainable
        assert zen.grad(zen.grad(zen.grad(cube)))(x).item() == pytest.approx(6.0)
        siblings = zen.grad(lambda x: zen.grad(cube)(x) + zen.grad(lambda x: x * x)(x))(x)
        assert siblings.item() == pytest.approx(6 * 0.5 + 2.0)
        with pytest.raises(ZeroDivisionError):
            zen.grad(lambda x: 1 / 0)(x)
    with pytest.raises(zen.errors.GradientError, match="must return a Tensor, got float"):
        zen.grad(lambda x: 1.0)(x)


def test_log_softmax_as_a_method_is_the_function_along_its_axis(device):
    """Mutation testing found no test calling the method."""
    values = numpy.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
    x = zen.Tensor(values, device=device)
    for axis in (0, 1, -1):
        shifted = values - values.max(axis=axis, keepdims=True)
        expected = shifted - numpy.log(numpy.exp(shifted).sum(axis=axis, keepdims=True))
        numpy.testing.assert_allclose(x.log_softmax(axis).numpy(), expected, rtol=1e-6)
        numpy.testing.assert_array_equal(x.log_softmax(axis).numpy(),
                                         zen.log_softmax(x, axis).numpy())


def test_an_integer_tensor_clipped_at_fractions_becomes_float_at_integers_stays(device):
    """A float bound promotes an integer tensor (torch.clamp gives float32 too); the bounds
    must not be rounded to the tensor's integers first."""
    x = zen.Tensor([0, 1, 2, 3], dtype="int64", device=device)
    clipped = zen.clip(x, 0.5, 2.5)
    assert clipped.dtype == clipped.backend.dtype("float32")
    numpy.testing.assert_array_equal(clipped.numpy(), [0.5, 1.0, 2.0, 2.5])
    kept = zen.clip(x, 1, 2)        # integer bounds keep the integers
    assert kept.dtype == x.dtype
    numpy.testing.assert_array_equal(kept.numpy(), [1, 1, 2, 2])


# A number or list beside a tensor is a constant: a result of untrainable inputs is never
# recorded because of one.
CONSTANTS_BESIDE_A_TENSOR = {
    "masked_fill": lambda x: zen.masked_fill(x, x > 0, 2.0),
    "scatter": lambda x: zen.scatter(x, 0, numpy.array([[1, 0, 1]]), 5.0),
    "scatter_add": lambda x: zen.scatter_add(x, 0, numpy.array([[1, 0, 1]]), [[1.0, 2.0, 3.0]]),
    "layer_norm weights": lambda x: zen.layer_norm(x, 3, [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]),
    "group_norm weights": lambda x: zen.group_norm(x, 1, [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]),
    "mse_loss target": lambda x: zen.mse_loss(x, [[0.0, 1.0, 2.0]] * 2),
    "attention mask": lambda x: zen.scaled_dot_product_attention(x, x, x, [[0.0, -1.0]] * 2),
    "isclose": lambda x: zen.isclose(x, [[0.0, 1.0, 2.0]] * 2),
    "lerp": lambda x: zen.lerp(x, [[0.0, 1.0, 2.0]] * 2, 0.5),
}


@pytest.mark.parametrize("name", sorted(CONSTANTS_BESIDE_A_TENSOR))
def test_a_constant_beside_an_untrainable_tensor_makes_nothing_trainable(name, device):
    x = Tensor(numpy.arange(6.0).reshape(2, 3) / 7, trainable=False, device=device)
    assert not CONSTANTS_BESIDE_A_TENSOR[name](x).trainable
