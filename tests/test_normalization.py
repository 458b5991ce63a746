"""Embedding and the normalisations (zen.normalization and their layers) against PyTorch:
what the op table's cases cannot show (padding_idx's missing gradient, running statistics
moving over several steps, both modes of each layer), and hypothesis over shapes."""

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zen
from conftest import assert_close
from zen.errors import ArgumentError, DtypeError, IndexOutOfRangeError, ShapeMismatchError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
F = torch.nn.functional
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


pytestmark = pytest.mark.usefixtures("float64")


def _gradient(tensor):
    return zen.Tensor(tensor.gradient).numpy()


@pytest.mark.parametrize("padding_idx", [2, -1, 0])
def test_embedding_padding_row_counts_in_the_value_but_gets_no_gradient(device, rng,
                                                                        padding_idx):
    table, ids = rng.normal(size=(4, 3)), numpy.array([[2, 3, 2], [0, 1, 3]])
    weight = zen.Tensor(table, device=device)
    expected_weight = torch.tensor(table, requires_grad=True)
    out = zen.embedding(ids, weight, padding_idx)
    expected = F.embedding(torch.tensor(ids), expected_weight, padding_idx)
    assert_close(out, expected)
    first = zen.gradients((out ** 3).sum(), [weight], create_graph=True)[0]
    (first * first).sum().backward()
    expected_first = torch.autograd.grad((expected ** 3).sum(), expected_weight,
                                         create_graph=True)[0]
    (expected_first * expected_first).sum().backward()
    assert_close(first, expected_first)
    assert_close(_gradient(weight), expected_weight.grad)
    assert not _gradient(weight)[padding_idx].any()


def test_embedding_takes_ids_as_tensors_lists_and_any_integer_dtype(device, rng):
    weight = zen.Tensor(rng.normal(size=(5, 2)), device=device)
    expected = weight.numpy()[[[4, 0]]]
    for ids in ([[4, 0]], numpy.array([[4, 0]], dtype=numpy.int32),
                zen.Tensor(numpy.array([[4, 0]]), device=device)):
        assert_close(zen.embedding(ids, weight), expected)
    assert zen.embedding(numpy.zeros((0, 3), dtype=numpy.int64), weight).shape == (0, 3, 2)


@pytest.mark.parametrize("call, error, match", [
    (lambda w: zen.embedding([[0, 5]], w), IndexOutOfRangeError, "index 5 is out of range"),
    (lambda w: zen.embedding([-1], w), IndexOutOfRangeError, "index -1 is negative"),
    (lambda w: zen.embedding(numpy.array([0.0]), w), DtypeError, "must be integers"),
    (lambda w: zen.embedding([0], w, max_norm=1.0), ArgumentError, "max_norm=1.0"),
    (lambda w: zen.embedding([0], w, sparse=True), ArgumentError, "sparse=True"),
    (lambda w: zen.embedding([0], w, padding_idx=5), ArgumentError, r"\[-5, 5\)"),
    (lambda w: zen.embedding([0], w[0]), ShapeMismatchError, "num_embeddings, dim"),
])
def test_embedding_refuses_what_pytorch_refuses_or_zen_cannot_do(device, call, error, match):
    with pytest.raises(error, match=f"embedding: .*{match}"):
        call(zen.Tensor(numpy.ones((5, 2)), device=device))


def _pair(rng, channels, trainable=False):
    mean, var = rng.normal(size=channels), rng.uniform(0.5, 2.0, size=channels)
    return ([zen.Tensor(mean, trainable=trainable), zen.Tensor(var, trainable=trainable)],
            [torch.tensor(mean), torch.tensor(var)])


@pytest.mark.parametrize("function, shape", [("batch_norm", (4, 3)),
                                             ("batch_norm", (3, 2, 5, 2)),
                                             ("instance_norm", (3, 2, 4))])
def test_running_statistics_follow_pytorch_over_several_steps(rng, function, shape):
    (mean, var), (expected_mean, expected_var) = _pair(rng, shape[1])
    for step, momentum in enumerate([0.1, 0.5, 1.0]):
        x = rng.normal(size=shape) + step
        training = {"batch_norm": {"training": True}}.get(function, {})
        out = getattr(zen, function)(zen.Tensor(x), mean, var, momentum=momentum, **training)
        expected = getattr(F, function)(torch.tensor(x), expected_mean, expected_var,
                                        momentum=momentum, **training)
        assert_close(out, expected)
        assert_close(mean, expected_mean)
        assert_close(var, expected_var)
    assert not mean.trainable and mean.gradient is None
    x = rng.normal(size=shape)
    assert_close(getattr(zen, function)(zen.Tensor(x), mean, var, **{
        "batch_norm": {}, "instance_norm": {"use_input_stats": False}}[function]),
           getattr(F, function)(torch.tensor(x), expected_mean, expected_var, **{
               "batch_norm": {}, "instance_norm": {"use_input_stats": False}}[function]))


def test_batch_norm_takes_running_statistics_as_trainable_tensors_without_recording(rng):
    (mean, var), _ = _pair(rng, 2, trainable=True)
    before = mean.numpy().copy()
    x = zen.Tensor(rng.normal(size=(3, 2)))
    zen.batch_norm(x, mean, var, training=True).sum().backward()
    assert mean.gradient is None and not numpy.array_equal(mean.numpy(), before)


@pytest.mark.parametrize("call, error, match", [
    (lambda x, s: zen.batch_norm(x, None, s[1]), ArgumentError, "needed when training=False"),
    (lambda x, s: zen.batch_norm(x[:1, :, 0], *s, training=True), ShapeMismatchError,
     "more than one value per channel"),
    (lambda x, s: zen.batch_norm(x, s[0][:2], s[1], training=True), ShapeMismatchError,
     r"running_mean must have shape \(3,\), got \(2,\)"),
    (lambda x, s: zen.batch_norm(x, s[0].numpy(), s[1], training=True), ArgumentError,
     "running_mean must be a Tensor"),
    (lambda x, s: zen.batch_norm(x, *s, weight=numpy.ones(4)), ShapeMismatchError,
     r"weight must have shape \(3,\)"),
    (lambda x, s: zen.group_norm(x, 2), ArgumentError, "divides the 3 channels"),
    (lambda x, s: zen.layer_norm(x, (3,)), ShapeMismatchError, r"does not end with"),
    (lambda x, s: zen.layer_norm(x, ()), ArgumentError, "normalized_shape must be"),
    (lambda x, s: zen.instance_norm(x[:, :, :1], *s), ShapeMismatchError,
     "more than one value per channel"),
    (lambda x, s: zen.batch_norm(numpy.ones((2, 3), dtype=int), *s), DtypeError,
     "input must be floating"),
])
def test_normalisations_refuse_bad_arguments_and_leave_the_statistics(rng, call, error, match):
    (mean, var), _ = _pair(rng, 3)
    before = mean.numpy().copy(), var.numpy().copy()
    with pytest.raises(error, match=match):
        call(zen.Tensor(rng.normal(size=(2, 3, 4))), (mean, var))
    numpy.testing.assert_array_equal(mean.numpy(), before[0])
    numpy.testing.assert_array_equal(var.numpy(), before[1])


@st.composite
def _inputs(draw):
    """(N, C, ...) with 0 to 2 more axes, sides from 0 (or 1 for C) to 4, and a seed."""
    shape = (draw(st.integers(0, 4)), draw(st.integers(1, 4)),
             *draw(st.lists(st.integers(0, 4), max_size=2)))
    return shape, draw(st.integers(0, 2 ** 16))


def _compare(zen_call, torch_call, array, device, weights=()):
    """Value and gradients (input and ``weights``) of zen_call and torch_call, or both refuse."""
    try:
        expected_inputs = [torch.tensor(a, requires_grad=True) for a in (array, *weights)]
        expected = torch_call(*expected_inputs)
    except (RuntimeError, ValueError, IndexError):
        with pytest.raises(zen.errors.ZenError):
            zen_call(*[zen.Tensor(a, device=device) for a in (array, *weights)])
        return
    inputs = [zen.Tensor(a, device=device) for a in (array, *weights)]
    out = zen_call(*inputs)
    assert_close(out, expected)
    ramp = numpy.cos(numpy.arange(out.numpy().size) * 1.3).reshape(out.shape)
    if out.numpy().size:
        (out * zen.Tensor(ramp, device=device)).sum().backward()
        (expected * torch.tensor(ramp)).sum().backward()
        for tensor, expected_tensor in zip(inputs, expected_inputs, strict=True):
            assert_close(_gradient(tensor), expected_tensor.grad)


@SETTINGS
@given(shape_and_seed=_inputs(), training=st.booleans())
@example(shape_and_seed=((1, 2), 0), training=True)          # one value per channel: refused
@example(shape_and_seed=((0, 3, 2), 0), training=False)      # no examples
@example(shape_and_seed=((2, 1, 1, 1), 0), training=True)
def test_batch_norm_matches_pytorch_on_any_shape(device, shape_and_seed, training):
    shape, seed = shape_and_seed
    rng = numpy.random.default_rng(seed)
    array, channels = rng.normal(size=shape), shape[1]
    running = (None, None) if training else (rng.normal(size=channels),
                                             rng.uniform(0.5, 2, size=channels))
    torch_running = [None if s is None else torch.tensor(s) for s in running]
    affine = rng.normal(size=channels), rng.normal(size=channels)
    _compare(lambda x, w, b: zen.batch_norm(x, *running, w, b, training),
             lambda x, w, b: F.batch_norm(x, *torch_running, w, b, training),
             array, device, affine)


@SETTINGS
@given(shape_and_seed=_inputs(), groups=st.integers(1, 4))
@example(shape_and_seed=((2, 4, 3), 0), groups=2)
@example(shape_and_seed=((0, 2), 0), groups=1)                # no examples
@example(shape_and_seed=((2, 3, 0), 0), groups=3)             # no values per group
def test_group_norm_matches_pytorch_on_any_shape(device, shape_and_seed, groups):
    shape, seed = shape_and_seed
    rng = numpy.random.default_rng(seed)
    affine = rng.normal(size=shape[1]), rng.normal(size=shape[1])
    _compare(lambda x, w, b: zen.group_norm(x, groups, w, b, eps=1e-3),
             lambda x, w, b: F.group_norm(x, groups, w, b, eps=1e-3),
             rng.normal(size=shape), device, affine)


@SETTINGS
@given(shape_and_seed=_inputs(), axes=st.integers(1, 3))
@example(shape_and_seed=((0, 2, 3), 0), axes=2)
@example(shape_and_seed=((2, 1), 0), axes=1)                  # one value: zero variance
def test_layer_and_instance_norm_match_pytorch_on_any_shape(device, shape_and_seed, axes):
    shape, seed = shape_and_seed
    rng = numpy.random.default_rng(seed)
    array, normalized = rng.normal(size=shape), shape[len(shape) - min(axes, len(shape)):]
    affine = rng.normal(size=normalized), rng.normal(size=normalized)
    _compare(lambda x, w, b: zen.layer_norm(x, normalized, w, b),
             lambda x, w, b: F.layer_norm(x, normalized, w, b), array, device, affine)
    _compare(zen.instance_norm, F.instance_norm, array, device)


@SETTINGS
@given(ids_shape=st.lists(st.integers(0, 3), max_size=3), rows=st.integers(1, 5),
       padding=st.booleans(), seed=st.integers(0, 2 ** 16))
@example(ids_shape=[], rows=1, padding=True, seed=0)          # one id, 0-d
@example(ids_shape=[0, 2], rows=3, padding=False, seed=0)     # no ids
def test_embedding_matches_pytorch_for_ids_of_any_shape(device, ids_shape, rows, padding, seed):
    rng = numpy.random.default_rng(seed)
    ids, table = rng.integers(0, rows, size=ids_shape), rng.normal(size=(rows, 3))
    padding_idx = int(rng.integers(-rows, rows)) if padding else None
    _compare(lambda w: zen.embedding(ids, w, padding_idx),
             lambda w: F.embedding(torch.tensor(ids), w, padding_idx), table, device)
