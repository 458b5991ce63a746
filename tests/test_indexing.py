"""Indexing by PyTorch's rules on every backend: random keys checked against PyTorch (values,
gradients and assignments), and the cases that once went wrong on the generic backend."""

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backends
import zen
from zen import Tensor
from zen.errors import IndexOutOfRangeError, ShapeMismatchError, ZenError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class Part:
    """One part of a random key: what zen is given, what PyTorch is given, and the first axis
    of x it indexes (None for None and ...)."""

    def __init__(self, zen_part, torch_part, axis=None, reversed_slice=False):
        self.zen, self.torch, self.axis, self.reversed_slice = (zen_part, torch_part, axis,
                                                                reversed_slice)


def _rarely(draw, one_in):
    """True about once in ``one_in`` draws (Hypothesis favours the ends of a range)."""
    return draw(st.integers(0, one_in - 1)) == one_in // 2


@st.composite
def _index_values(draw, length, shape):
    """Integer indices into an axis of ``length``, negative and repeated ones too; now and then
    one out of range."""
    wild = _rarely(draw, 12)
    low, high = (-length - 1, length) if wild else (-length, length - 1)
    if high < low:
        return numpy.zeros(shape, dtype=numpy.int64)
    count = int(numpy.prod(shape))
    values = draw(st.lists(st.integers(low, high), min_size=count, max_size=count))
    return numpy.array(values, dtype=numpy.int64).reshape(shape)


@st.composite
def _array_part(draw, length, axis):
    """An integer list, NumPy array or Tensor of 1 or 2 dimensions; the Tensor is made on the
    device later (``form``)."""
    shape = draw(st.sampled_from([(0,), (1,), (2,), (3,), (5,), (2, 2), (1, 3), (3, 1)]))
    values = draw(_index_values(length, shape))
    form = draw(st.sampled_from(["list", "numpy", "tensor"]))
    zen_part = values.tolist() if form == "list" and values.size else values
    return Part((form, zen_part), torch.tensor(values), axis)


@st.composite
def _slice_part(draw, length, axis, reverse):
    bound = st.none() | st.integers(-length - 3, length + 3)
    step = draw(st.sampled_from([-1, -2, -3] if reverse else [None, 1, 2, 3]))
    part = slice(draw(bound), draw(bound), step)
    return Part(part, part, axis, reversed_slice=step is not None and step < 0)


@st.composite
def _parts_for(draw, shape, first, stop):
    """Parts that index the axes from ``first`` to ``stop`` of ``shape``, one or several at
    a time, with None here and there."""
    parts, axis = [], first
    while axis < stop:
        if _rarely(draw, 6):
            parts.append(Part(None, None))
        length = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "reversed", "array", "array", "mask",
                                     "masks"]))
        if kind == "int":
            index = draw(st.integers(-length - 1, length) if _rarely(draw, 8)
                         else st.integers(-length, max(length - 1, -length)))
            parts.append(Part(index, index, axis))
        elif kind in ("slice", "reversed"):
            parts.append(draw(_slice_part(length, axis, kind == "reversed")))
        elif kind == "array":
            parts.append(draw(_array_part(length, axis)))
        else:
            covered = 1 if kind == "mask" else draw(st.integers(1, stop - axis))
            mask_shape = shape[axis:axis + covered]
            mask = numpy.array(draw(st.lists(st.booleans(), min_size=int(numpy.prod(mask_shape)),
                                             max_size=int(numpy.prod(mask_shape)))),
                               dtype=bool).reshape(mask_shape)
            parts.append(Part(("numpy", mask), torch.tensor(mask), axis))
            axis += covered - 1
        axis += 1
    return parts


@st.composite
def cases(draw):
    """A shape of up to 4 axes and a key for it: a prefix of parts, maybe ``...`` and parts
    for the last axes; now and then one part too many."""
    ndim = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 4)) for _ in range(ndim)]
    if _rarely(draw, 10):
        shape[draw(st.integers(0, ndim - 1))] = 0
    shape = tuple(shape)
    prefix_end = max(0, ndim - draw(st.integers(0, 2)))
    parts = draw(_parts_for(shape, 0, prefix_end))
    if draw(st.booleans()):
        suffix_start = draw(st.integers(prefix_end, ndim))
        parts += [Part(Ellipsis, Ellipsis)] + draw(_parts_for(shape, suffix_start, ndim))
    if _rarely(draw, 16):
        parts.append(Part(0, 0, ndim))
    if _rarely(draw, 6):
        parts.append(Part(None, None))
    return shape, parts


def _zen_key(parts, device):
    key = []
    for part in parts:
        if isinstance(part.zen, tuple) and part.zen[0] == "tensor":
            key.append(Tensor(part.zen[1], device=device))
        elif isinstance(part.zen, tuple):
            key.append(part.zen[1])
        else:
            key.append(part.zen)
    return tuple(key)


def _has_index_out_of_range(parts, shape):
    for part in parts:
        if part.axis is None or isinstance(part.zen, slice) or part.axis >= len(shape):
            continue
        indices = numpy.asarray(part.zen[1] if isinstance(part.zen, tuple) else part.zen)
        length = shape[part.axis]
        if indices.dtype != bool and ((indices < -length) | (indices >= length)).any():
            return True
    return False


def _torch_key(parts, shape):
    """PyTorch's key, and the axes to flip first: PyTorch has no negative steps, so
    ``x[a:b:-k]`` is read as the same elements of ``x.flip(axis)`` with a positive step."""
    key, flipped = [], []
    for part in parts:
        if not part.reversed_slice:
            key.append(part.torch)
            continue
        length = shape[part.axis]
        chosen = range(*part.torch.indices(length))
        flipped.append(part.axis)
        key.append(slice(length - 1 - chosen[0], length - chosen[-1], -chosen.step) if chosen
                   else slice(0, 0))
    return tuple(key), flipped


def _flip(tensor, axes):
    return tensor.flip(axes) if axes else tensor


def _weights(shape):
    return numpy.cos(numpy.arange(int(numpy.prod(shape))) * 1.3 + 0.4).reshape(shape)


def _torch_read(array, key, flipped):
    x = torch.tensor(array, requires_grad=True)
    out = _flip(x, flipped)[key]
    (out * torch.tensor(_weights(tuple(out.shape)))).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def _torch_write(array, key, flipped, values):
    target = _flip(torch.tensor(array), flipped)
    target[key] = torch.tensor(values)
    return _flip(target, flipped).numpy()


def _repeats_a_position(shape, key, flipped):
    positions = _flip(torch.arange(int(numpy.prod(shape))).reshape(shape), flipped)[key]
    return positions.unique().numel() != positions.numel()


@SETTINGS
@given(case=cases())
def test_random_keys_read_differentiate_and_assign_as_in_pytorch(device, case):
    shape, parts = case
    array = numpy.arange(numpy.prod(shape), dtype=numpy.float64).reshape(shape) * 0.5 - 3
    torch_key, flipped = _torch_key(parts, shape)
    try:
        expected, expected_gradient = _torch_read(array, torch_key, flipped)
    except (IndexError, RuntimeError, ValueError):
        with pytest.raises((ZenError, IndexError)):
            Tensor(array, device=device)[_zen_key(parts, device)]
        return
    x = Tensor(array, device=device)
    try:
        out = x[_zen_key(parts, device)]
    except IndexOutOfRangeError:
        # PyTorch checks only the indices it reads, none when the result is empty; zen
        # refuses every index past its axis.
        assert expected.size == 0 and _has_index_out_of_range(parts, shape)
        return
    numpy.testing.assert_array_equal(out.numpy(), expected)
    (out * Tensor(_weights(out.shape), device=device)).sum().backward()
    # Repeated indices add up in another order than in PyTorch: the last bit may differ.
    numpy.testing.assert_allclose(Tensor(x.gradient).numpy(), expected_gradient, rtol=1e-13)
    # A repeated position would be written in an unspecified order: give it one value.
    values = (numpy.float64(7.5) if _repeats_a_position(shape, torch_key, flipped)
              else _weights(expected.shape) + 10)
    target = Tensor(array, device=device)
    with zen.no_grad():
        target[_zen_key(parts, device)] = Tensor(values, device=device)
    numpy.testing.assert_array_equal(target.numpy(),
                                     _torch_write(array, torch_key, flipped, values))


def _host(array):
    return Tensor(array, trainable=False).numpy()


def test_negative_indices_get_their_gradient(device):
    x = Tensor(numpy.arange(4.0), device=device)
    (x[[0, -1, -1]] * Tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient), [1.0, 0.0, 0.0, 5.0])
    y = Tensor(numpy.arange(6.0).reshape(2, 3), device=device)
    zen.take(y, [-1, 0, -1], axis=1).sum().backward()
    numpy.testing.assert_array_equal(_host(y.gradient), [[1.0, 0.0, 2.0]] * 2)


def test_slice_then_repeated_indices(device):
    array = numpy.arange(12.0).reshape(3, 4)
    x = Tensor(array, device=device)
    out = x[1:, [0, 0]]
    numpy.testing.assert_array_equal(out.numpy(), array[1:, [0, 0]])
    out.sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient), [[0, 0, 0, 0], [2, 0, 0, 0],
                                                         [2, 0, 0, 0]])


def test_boolean_mask_on_one_axis(device):
    array = numpy.arange(12.0).reshape(3, 4)
    x = Tensor(array, device=device)
    mask = numpy.array([True, False, True, True])
    out = x[:, Tensor(mask, device=device)]
    numpy.testing.assert_array_equal(out.numpy(), array[:, mask])
    out.sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient), numpy.ones((3, 1)) * mask)
    with pytest.raises(ShapeMismatchError, match=r"mask of shape \(3,\) does not match"):
        x[:, [True, False, True]]


def test_an_integer_is_basic_indexing_as_in_pytorch(device):
    array = numpy.arange(60.0).reshape(2, 5, 6)
    x = Tensor(array, device=device)
    out = x[1, :, [0, 3]]
    assert out.shape == (5, 2)      # NumPy: (2, 5)
    numpy.testing.assert_array_equal(out.numpy(), torch.tensor(array)[1, :, [0, 3]].numpy())
    assert x[[0, 1], 2, [1, 1]].shape == (2,)               # adjacent once the int is gone
    assert x[[0, 1], :, [1, 1]].shape == (2, 5)             # separated: the index shape first
    assert x[:, [[0], [1]], [2, 3]].shape == (2, 2, 2)      # adjacent: in place


def test_an_index_out_of_range_raises(device):
    x = Tensor(numpy.arange(6.0).reshape(2, 3), device=device)
    for key in [2, -3, (0, 3), [0, 2], (slice(None), [-4]), (Ellipsis, [[0], [3]]),
                Tensor(numpy.array([1, 2]), device=device)]:
        with pytest.raises(IndexOutOfRangeError, match="out of range for axis"):
            x[key]
        with pytest.raises(IndexOutOfRangeError), zen.no_grad():
            x[key] = 1.0
    with pytest.raises(IndexOutOfRangeError, match="take: index 3"):
        zen.take(x, [0, 3], axis=1)
    assert issubclass(IndexOutOfRangeError, IndexError)
    numpy.testing.assert_array_equal(x.numpy(), numpy.arange(6.0).reshape(2, 3))


def test_assignment_follows_the_same_rules(device):
    x = Tensor(numpy.zeros((2, 5, 6)), device=device)
    with zen.no_grad():
        x[1, :, [0, 3]] = Tensor(numpy.arange(10.0).reshape(5, 2), device=device)
        x[0, [True, False, True, False, False]] = 7.0
        x[None, 0, 4, ::-2] = Tensor([1.0, 2.0, 3.0], device=device)
    expected = torch.zeros((2, 5, 6), dtype=torch.float64)
    expected[1, :, [0, 3]] = torch.arange(10.0, dtype=torch.float64).reshape(5, 2)
    expected[0, [True, False, True, False, False]] = 7.0
    expected[0, 4, [5, 3, 1]] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    numpy.testing.assert_array_equal(x.numpy(), expected.numpy())
    with pytest.raises(ShapeMismatchError, match=r"value of shape \(3,\) cannot fill"), \
            zen.no_grad():
        x[0, [1, 2]] = Tensor([1.0, 2.0, 3.0], device=device)


def test_backend_index_set_writes_each_position(device):
    backend = backends.get_backend(device)
    target = backend.asarray(numpy.zeros((2, 3)))
    rows, columns = backend.asarray([[1], [0]]), backend.asarray([2, 0, 1])
    values = backend.asarray(numpy.arange(6.0).reshape(2, 3))
    backend.xp.index_set(target, (rows, columns), values)
    numpy.testing.assert_array_equal(backend.to_host(target), [[4.0, 5.0, 3.0],
                                                               [1.0, 2.0, 0.0]])
