"""Property tests: gradients through broadcasting and through reductions over random axes,
on random shapes, checked by finite differences on every backend."""

import numpy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import BroadcastableShapes, array_shapes, mutually_broadcastable_shapes

import zen

# The device fixture is a plain string, safe to share between generated examples.
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

BINARY = {
    "add": lambda x, y: x + y,
    "subtract": lambda x, y: x - y,
    "multiply": lambda x, y: x * y,
    "divide": lambda x, y: x / (y * y + 1.0),
    "maximum": zen.maximum,
}

def _numpy_logsumexp(array, axis, keepdims):
    return numpy.log(numpy.sum(numpy.exp(array), axis=axis, keepdims=keepdims))


REDUCTIONS = {   # zen's reduction and NumPy's
    "sum": (zen.sum, numpy.sum),
    "mean": (zen.mean, numpy.mean),
    "max": (zen.max, numpy.max),
    "min": (zen.min, numpy.min),
    "logsumexp": (zen.logsumexp, _numpy_logsumexp),
    "var": (zen.var, lambda array, axis, keepdims: numpy.var(array, axis, ddof=1,
                                                             keepdims=keepdims)),
}


def _tensor(shape, seed, device):
    values = numpy.random.default_rng(seed).uniform(-2, 2, size=shape)
    return zen.Tensor(values, device=device)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
       name=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
@example(shapes=BroadcastableShapes(((), (3,)), (3,)), name="multiply", seed=0)     # 0-d
@example(shapes=BroadcastableShapes(((0, 3), (1, 3)), (0, 3)), name="add", seed=0)  # size 0
@example(shapes=BroadcastableShapes(((2, 1), (1,)), (2, 1)), name="maximum", seed=0)
def test_broadcast_gradients_have_each_inputs_shape_and_value(device, shapes, name, seed):
    x, y = (_tensor(shape, seed + i, device) for i, shape in enumerate(shapes.input_shapes))
    output = BINARY[name](x, y)
    assert output.shape == shapes.result_shape
    gradient_x, gradient_y = zen.gradients(output.sum(), [x, y])
    assert (gradient_x.shape, gradient_y.shape) == tuple(shapes.input_shapes)
    assert zen.gradcheck(BINARY[name], x, y)


@st.composite
def shapes_and_axes(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, max_side=3))
    axes = draw(st.none() | st.sets(st.integers(-len(shape), len(shape) - 1), min_size=1)
                .filter(lambda axes: len({a % len(shape) for a in axes}) == len(axes))
                .map(tuple))
    return shape, axes


@SETTINGS
@given(shape_and_axes=shapes_and_axes(), keepdims=st.booleans(),
       name=st.sampled_from(sorted(REDUCTIONS)), seed=st.integers(0, 2**16))
@example(shape_and_axes=((), None), keepdims=False, name="sum", seed=0)            # 0-d
@example(shape_and_axes=((0, 2), (0,)), keepdims=True, name="sum", seed=0)        # size 0
@example(shape_and_axes=((1, 3), (0,)), keepdims=False, name="max", seed=0)       # size 1
@example(shape_and_axes=((3, 1), (-1,)), keepdims=True, name="logsumexp", seed=0)
def test_reductions_over_random_axes(device, shape_and_axes, keepdims, name, seed):
    shape, axes = shape_and_axes
    x = _tensor(shape, seed, device)
    reduce, reference = REDUCTIONS[name]
    expected = reference(x.numpy(), axis=axes, keepdims=keepdims)
    numpy.testing.assert_allclose(reduce(x, axes, keepdims=keepdims).numpy(), expected)
    assert zen.gradcheck(lambda x: reduce(x, axes, keepdims=keepdims), x)
