"""Shape ops and einsum on random shapes and settings (values against NumPy or PyTorch,
gradients by finite differences, every backend); the contraction order einsum picks; and
in-place edits through the views the shape ops return."""

import math

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import zen
from zen.autograd import topological_order
from zen.errors import InPlaceError

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _tensor(shape, seed, device):
    values = numpy.random.default_rng(seed).uniform(-2, 2, size=shape)
    return zen.Tensor(values, device=device)


@st.composite
def einsum_problems(draw):
    """An equation over labels of random sizes (0 to 3), one to three operands of zero to
    three labels (repeats allowed: diagonals), and an output, explicit or implicit."""
    sizes = dict(zip("abcd", draw(st.lists(st.integers(0, 3), min_size=4, max_size=4)),
                     strict=True))
    operands = draw(st.lists(st.text("abcd", max_size=3), min_size=1, max_size=3))
    used = sorted(set("".join(operands)))
    output = draw(st.none() | st.permutations(used).flatmap(
        lambda order: st.integers(0, len(order)).map(lambda n: "".join(order[:n]))))
    equation = ",".join(operands) + ("" if output is None else "->" + output)
    return equation, [tuple(sizes[label] for label in labels) for labels in operands]


@SETTINGS
@given(problem=einsum_problems(), seed=st.integers(0, 2**16))
@example(problem=("ab,bc->ac", [(2, 3), (3, 1)]), seed=0)
@example(problem=("a,->a", [(0,), ()]), seed=0)                       # size 0 and 0-d
@example(problem=("aab,b", [(1, 1, 2), (2,)]), seed=0)                # size 1, diagonal
@example(problem=("ab,bc,cd->", [(2, 3), (3, 2), (2, 3)]), seed=0)
def test_einsum_matches_pytorch_and_finite_differences(device, problem, seed):
    torch = pytest.importorskip("torch", reason="PyTorch is einsum's oracle")
    equation, shapes = problem
    inputs = [_tensor(shape, seed + i, device) for i, shape in enumerate(shapes)]
    expected = torch.einsum(equation, *[torch.tensor(x.numpy()) for x in inputs])
    numpy.testing.assert_allclose(zen.einsum(equation, *inputs).numpy(), expected.numpy(),
                                  rtol=1e-10, atol=1e-12)
    assert zen.gradcheck(lambda *xs: zen.einsum(equation, *xs), *inputs)


def test_einsum_contracts_the_cheapest_pair_first(device):
    """Left to right, (500, 2) @ (2, 500) would make 250,000 elements; the greedy order
    contracts (2, 500) @ (500, 2) first and never holds more than its inputs."""
    a, b, c = _tensor((500, 2), 0, device), _tensor((2, 500), 1, device), \
        _tensor((500, 2), 2, device)
    result = zen.einsum("ij,jk,kl->il", a, b, c)
    largest = max(math.prod(node.shape) for node in topological_order(result))
    assert largest == 1000
    numpy.testing.assert_allclose(result.numpy(), a.numpy() @ (b.numpy() @ c.numpy()))


@st.composite
def pads(draw):
    """A shape, PyTorch's flat widths for some of its last axes (each at most what the mode
    allows), and the mode; NumPy's name for the mode pads the same way."""
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    flat = []
    for n in reversed(shape[-draw(st.integers(1, len(shape))):]):
        most = {"constant": 3, "reflect": n - 1, "replicate": 3 if n else 0,
                "circular": n}[mode]
        flat += draw(st.lists(st.integers(0, max(most, 0)), min_size=2, max_size=2))
    return shape, tuple(flat), mode


NUMPY_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}


@SETTINGS
@given(problem=pads(), seed=st.integers(0, 2**16))
@example(problem=((0, 2), (1, 0), "constant"), seed=0)           # size 0
@example(problem=((1, 3), (2, 1, 0, 1), "replicate"), seed=0)    # size 1
@example(problem=((2,), (2, 2), "circular"), seed=0)
def test_pad_modes_match_numpy_and_finite_differences(device, problem, seed):
    shape, flat, mode = problem
    x = _tensor(shape, seed, device)
    pairs = [flat[i:i + 2] for i in range(0, len(flat), 2)]
    widths = [(0, 0)] * (len(shape) - len(pairs)) + pairs[::-1]
    expected = numpy.pad(x.numpy(), widths, mode=NUMPY_MODES[mode])
    numpy.testing.assert_array_equal(zen.pad(x, flat, mode).numpy(), expected)
    assert zen.gradcheck(lambda x: zen.pad(x, flat, mode), x)


@st.composite
def layouts(draw):
    """A shape, two distinct axes, an axis each to flip, roll and move, an offset, a shift."""
    shape = draw(array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=4))
    axis = st.integers(-len(shape), len(shape) - 1)
    first, second = draw(st.permutations(range(len(shape))))[:2]
    return (shape, (first, second), draw(axis), draw(axis), draw(axis),
            draw(st.integers(-4, 4)), draw(st.integers(-6, 6)))


@SETTINGS
@given(layout=layouts(), seed=st.integers(0, 2**16))
@example(layout=((1, 1), (0, 1), 0, 1, 0, 0, 1), seed=0)          # size 1
@example(layout=((0, 3), (1, 0), -1, 0, 1, -2, 5), seed=0)        # size 0
def test_flip_roll_diagonal_and_movedim_match_numpy(device, layout, seed):
    shape, (first, second), flipped, rolled, moved, offset, shift = layout
    x = _tensor(shape, seed, device)
    host = x.numpy()
    numpy.testing.assert_array_equal(x.flip(flipped).numpy(), numpy.flip(host, flipped))
    numpy.testing.assert_array_equal(x.roll(shift, rolled).numpy(),
                                     numpy.roll(host, shift, rolled))
    numpy.testing.assert_array_equal(x.diagonal(offset, first, second).numpy(),
                                     numpy.diagonal(host, offset, first, second))
    numpy.testing.assert_array_equal(x.movedim(moved, 0).numpy(),
                                     numpy.moveaxis(host, moved, 0))
    assert zen.gradcheck(lambda x: x.diagonal(offset, first, second), x)


VIEWS = {
    "flip": lambda y: y.flip(0),
    "narrow": lambda y: y.narrow(1, 1, 2),
    "diagonal": lambda y: y.diagonal(),
    "chunk": lambda y: y.chunk(2, 1)[1],
    "movedim": lambda y: y.movedim(0, 1),
}


@pytest.mark.parametrize("name", VIEWS)
def test_an_in_place_edit_through_a_shape_view_is_caught(device, name):
    """exp keeps its result for its gradient; editing it through a view of it must make
    backward refuse, as PyTorch does, not give a gradient from the edited values."""
    x = zen.Tensor(numpy.ones((3, 4)), trainable=True, device=device)
    y = x.exp()
    view = VIEWS[name](y)
    with zen.no_grad():
        view += 1.0
    with pytest.raises(InPlaceError):
        y.sum().backward()
