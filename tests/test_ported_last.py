"""The last names a PyTorch porter reaches for, at the points random op
cases miss, against PyTorch on every device: stacking 0-d, 1-D and 2-D tensors, diagonal
matrices at every offset and pair of axes, kron of unequal ranks, addmm's beta=0 (which does
not read the input), index_add with repeated indices, where with one argument, and aminmax
with NaN. (Values and gradients elsewhere: tests/op_cases.py.)"""

import numpy
import pytest

import zen
from zen.errors import ShapeMismatchError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


def _both(array, device, trainable=False):
    """The same float64 values as a zen Tensor on ``device`` and a torch tensor."""
    return (zen.Tensor(array, device=device, trainable=trainable),
            torch.tensor(array, requires_grad=trainable))


def _same(found, expected):
    numpy.testing.assert_array_equal(found.numpy(), expected.detach().numpy(), strict=True)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 1)])
def test_stacking_adds_axes_as_pytorch(device, name, shape):
    first, second = numpy.arange(numpy.prod(shape, dtype=int)).reshape(shape) * 1.0, \
        -numpy.ones(shape)
    found = getattr(zen, name)([zen.Tensor(first, device=device),
                                zen.Tensor(second, device=device)])
    _same(found, getattr(torch, name)([torch.tensor(first), torch.tensor(second)]))


@pytest.mark.parametrize("offset", [0, 2, -1])
@pytest.mark.parametrize("axes", [(-2, -1), (0, 2), (3, 1), (-1, 0)])
def test_diag_embed_places_the_diagonal_as_pytorch(device, offset, axes):
    array = numpy.arange(24.0).reshape(2, 3, 4)
    x, expected = _both(array, device)
    _same(zen.diag_embed(x, offset, *axes), torch.diag_embed(expected, offset, *axes))


@pytest.mark.parametrize("shapes", [((2, 3), (4, 5)), ((3,), (2, 2)), ((2, 1, 3), (3, 2)),
                                    ((), (3,))])
def test_kron_of_unequal_ranks_as_pytorch(device, shapes):
    arrays = [numpy.arange(1.0, numpy.prod(s) + 1).reshape(s) for s in shapes]
    found = zen.kron(*(zen.Tensor(a, device=device) for a in arrays))
    _same(found, torch.kron(*(torch.tensor(a) for a in arrays)))


def test_addmm_with_beta_zero_does_not_read_the_input(device):
    input = numpy.full((3, 2), numpy.nan)
    mat1, mat2 = numpy.arange(6.0).reshape(3, 2), numpy.ones((2, 2))
    found = zen.addmm(zen.Tensor(input, device=device), zen.Tensor(mat1, device=device),
                      zen.Tensor(mat2, device=device), beta=0, alpha=3)
    _same(found, torch.addmm(*map(torch.tensor, (input, mat1, mat2)), beta=0, alpha=3))


def test_addmm_refuses_an_input_that_does_not_broadcast_to_the_product(device):
    with pytest.raises(ShapeMismatchError, match=r"addmm: .*\(3, 2\) do not broadcast"):
        zen.addmm(zen.Tensor(numpy.ones(4), device=device), numpy.ones((3, 2)),
                  numpy.ones((2, 2)))


@pytest.mark.parametrize("axis, index", [(0, [2, 0, 2, 2]), (1, [1, 1, 0, 1])])
def test_index_add_adds_repeated_indices_up_as_pytorch(device, axis, index):
    array = numpy.arange(16.0).reshape(4, 4)
    source = numpy.linspace(-1.0, 1.0, 16).reshape(4, 4)
    x, expected_x = _both(array, device, trainable=True)
    s, expected_s = _both(source, device, trainable=True)
    found = zen.index_add(x, axis, numpy.array(index), s, alpha=-2)
    expected = torch.index_add(expected_x, axis, torch.tensor(index), expected_s, alpha=-2)
    # repeats add up in another order than PyTorch's: equal to rounding
    numpy.testing.assert_allclose(found.numpy(), expected.detach().numpy(), rtol=1e-15)
    weights = numpy.cos(numpy.arange(16.0)).reshape(4, 4)
    (found * zen.Tensor(weights, device=device)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for leaf, torch_leaf in ((x, expected_x), (s, expected_s)):
        numpy.testing.assert_array_equal(zen.Tensor(leaf.gradient).numpy(),
                                         torch_leaf.grad.numpy())


@pytest.mark.parametrize("shape", [(3, 4), (5,), ()])
def test_where_with_one_argument_is_nonzero_as_tuple(device, shape):
    array = numpy.sin(numpy.arange(numpy.prod(shape, dtype=int)) * 2.0).reshape(shape)
    x, expected = _both(array, device)
    found, wanted = zen.where(x > 0), torch.where(expected > 0)
    assert len(found) == len(wanted)
    for part, expected_part in zip(found, wanted, strict=True):
        _same(part, expected_part)


def test_aminmax_with_nan_and_its_named_fields_as_pytorch(device):
    array = numpy.array([[1.0, numpy.nan, -2.0], [3.0, 0.5, 4.0]])
    x, expected = _both(array, device)
    for found, wanted in ((zen.aminmax(x), torch.aminmax(expected)),
                          (zen.aminmax(x, axis=1, keepdims=True),
                           torch.aminmax(expected, dim=1, keepdim=True)),
                          (x.aminmax(axis=-1), expected.aminmax(dim=-1))):
        _same(found.min, wanted.min)
        _same(found.max, wanted.max)
