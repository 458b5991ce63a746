"""The last functions and dtype spellings a PyTorch porter reaches for,
at the points random op cases miss, against PyTorch on every device: ``to`` with a dtype,
a device or both, dtype names that are not devices, and the edges of the functions below.
(Values and gradients elsewhere: tests/op_cases.py.)"""

import numpy
import pytest

import zen
from zen.errors import ArgumentError, UnknownDeviceError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


def _both(array, device, trainable=False):
    """The same values as a zen Tensor on ``device`` and a torch tensor."""
    return (zen.Tensor(array, device=device, trainable=trainable),
            torch.tensor(array, requires_grad=trainable))


def _close(found, expected, **tolerances):
    numpy.testing.assert_allclose(found.numpy(), expected.detach().numpy(), **tolerances)


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int32", "int64", "bool"])
def test_dtype_spellings_are_the_names_dtype_arguments_take(name):
    assert getattr(zen, name) == name
    assert zen.zeros(2, dtype=getattr(zen, name)).dtype == zen.Tensor([0]).astype(name).dtype


def test_bool_spelling_stays_out_of_import_star():
    assert "bool" not in zen.__all__ and "float64" in zen.__all__


@pytest.mark.parametrize("call", [
    lambda x: x.to(zen.float64),
    lambda x: x.to(dtype="float64"),
    lambda x: x.to(x.device, zen.float64),
    lambda x: x.to(zen.float64, x.device),
    lambda x: x.to(device=x.device, dtype=zen.float64),
    lambda x: x.to(x.backend.dtype("float64")),
])
def test_to_a_dtype_converts_and_keeps_the_gradient(device, call):
    x = zen.Tensor([1.0, -2.0], device=device, trainable=True)
    y = call(x)
    assert y.dtype == x.backend.dtype("float64") and y.device == x.device
    (y * y).sum().backward()
    numpy.testing.assert_array_equal(x.backend.to_host(x.gradient), [2.0, -4.0])
    assert x.gradient.dtype == x.value.dtype


def test_to_another_device_and_dtype_gives_both(device):
    x = zen.Tensor([1.5, -2.0], trainable=True)
    y = x.to(device, zen.float64)
    assert (y.device, y.backend.dtype_name(y.dtype)) == (device, "float64") and y.trainable
    z = x.to(zen.int64)
    assert z.backend.dtype_name(z.dtype) == "int64" and not z.trainable


def test_to_a_device_alone_keeps_its_behaviour(device):
    x = zen.Tensor([1.0], device=device)
    assert x.to(device) is x and x.to(device=device) is x
    assert x.to(device).dtype == x.dtype


@pytest.mark.parametrize("arguments, keywords, error, message", [
    (("cpu", "cpu"), {}, ArgumentError, r"to: device given twice, as 'cpu' and 'cpu'"),
    (("float32",), {"dtype": "int64"}, ArgumentError,
     r"to: dtype given twice, as 'int64' and 'float32'"),
    (("cpu", "float32", "cpu"), {}, ArgumentError, r"to: takes a device and a dtype, got 3"),
    (("float", ), {}, UnknownDeviceError, r"unknown device 'float'"),
    ((5,), {}, UnknownDeviceError, r"got 5 of type int"),
])
def test_to_refuses_what_it_cannot_tell_apart(arguments, keywords, error, message):
    with pytest.raises(error, match=message):
        zen.Tensor([1.0]).to(*arguments, **keywords)


def _gradients_match(zen_function, torch_function, array, device, **tolerances):
    """Values and the gradient of sum(out * w) of both functions on ``array``, the same."""
    x, t = _both(array, device, trainable=True)
    found, expected = zen_function(x), torch_function(t)
    weights = numpy.cos(numpy.arange(expected.numel())).reshape(tuple(expected.shape))
    (found * zen.Tensor(weights, device=device)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    _close(found, expected, **tolerances)
    numpy.testing.assert_allclose(x.backend.to_host(x.gradient), t.grad.numpy(), **tolerances)


def test_rrelu_draws_one_slope_per_element_from_zens_generator(device):
    array = -numpy.linspace(0.5, 2.0, 400).reshape(20, 20)
    x = zen.Tensor(array, device=device, trainable=True)
    zen.seed(3)
    out = zen.rrelu(x, 0.2, 0.3, training=True)
    out.sum().backward()
    slopes = out.numpy() / array
    assert slopes.min() >= 0.2 and slopes.max() <= 0.3 and len(numpy.unique(slopes)) > 300
    numpy.testing.assert_allclose(x.backend.to_host(x.gradient), slopes)
    zen.seed(3)
    numpy.testing.assert_array_equal(zen.rrelu(x, 0.2, 0.3, training=True).numpy(), out.numpy())
    positive = zen.Tensor(-array, device=device)
    assert zen.rrelu(positive, training=True).numpy().tolist() == (-array).tolist()


def test_rrelu_evaluates_with_the_mean_slope_as_pytorch(device):
    array = numpy.array([-2.0, -0.0, 0.0, 1.5])
    _gradients_match(lambda x: zen.rrelu(x, 0.1, 0.5), lambda t: torch.nn.functional.rrelu(
        t, 0.1, 0.5), array, device)


@pytest.mark.parametrize("name, shape, drawn", [
    ("dropout1d", (4, 30, 5), (4, 30, 1)), ("dropout1d", (30, 5), (30, 1)),
    ("dropout2d", (4, 30, 2, 3), (4, 30, 1, 1)),
    ("dropout2d", (4, 30, 5), (4, 30, 1)),     # torch reads a 3-D input as (N, C, L)
    ("dropout3d", (2, 30, 2, 2, 2), (2, 30, 1, 1, 1)), ("dropout3d", (30, 2, 2, 2), (30, 1, 1, 1)),
])
def test_channel_dropout_zeroes_whole_channels(device, name, shape, drawn):
    zen.seed(0)
    out = getattr(zen, name)(zen.ones(*shape, device=device), 0.5).numpy()
    kept = out.reshape(tuple(n for n, d in zip(shape, drawn, strict=True) if d != 1)
                               + (-1,))
    assert ((kept == 0).all(-1) | (kept == 2).all(-1)).all()
    assert 0.2 < (kept[..., 0] == 0).mean() < 0.8
    x = zen.Tensor(numpy.ones(shape), device=device)
    for off in (dict(p=0.0), dict(p=0.9, training=False)):
        assert getattr(zen, name)(x, **off) is x


def test_channel_dropout_matches_pytorch_when_certain(device):
    array = numpy.arange(24.0).reshape(2, 3, 4)
    for p in (0.0, 1.0):
        _gradients_match(lambda x, p=p: zen.dropout2d(x, p),
                         lambda t, p=p: torch.nn.functional.dropout2d(t, p), array, device)


@pytest.mark.parametrize("shape, size", [((2, 5, 3), 2), ((2, 3, 4), 7), ((1, 4, 2, 2, 2), 5),
                                         ((2, 6, 3, 4), 1), ((1, 3, 0), 2)])
def test_local_response_norm_matches_pytorch(device, shape, size):
    array = numpy.sin(numpy.arange(numpy.prod(shape)) + 0.3).reshape(shape) * 2
    _gradients_match(lambda x: zen.local_response_norm(x, size, 0.5, 0.6, 1.5),
                     lambda t: torch.nn.functional.local_response_norm(t, size, 0.5, 0.6, 1.5),
                     array, device, rtol=1e-12, atol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("p", [1, 2, 3, 1.5, -1, float("inf"), -float("inf")])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_lp_pool_matches_pytorch_at_zeros_and_negative_sums(device, p, ceil_mode):
    array = numpy.sin(numpy.arange(60.0) * 1.3).reshape(1, 2, 5, 6)
    array[0, 0, :2, :2] = 0      # a window of zeros: no gradient, as torch
    _gradients_match(lambda x: zen.lp_pool2d(x, p, (3, 2), 2, ceil_mode),
                     lambda t: torch.nn.functional.lp_pool2d(t, p, (3, 2), 2, ceil_mode),
                     array, device, rtol=1e-12, atol=1e-14)
    _gradients_match(lambda x: zen.lp_pool1d(x, p, 2, ceil_mode=ceil_mode),
                     lambda t: torch.nn.functional.lp_pool1d(t, p, 2, ceil_mode=ceil_mode),
                     array[0, :, 0], device, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("settings", [{}, dict(p=2, margin=0.5), dict(reduction="sum"),
                                      dict(weight=[0.5, 2.0, 1.0], reduction="none")])
def test_multi_margin_loss_matches_pytorchs_kernel(device, settings):
    array = numpy.array([[1.0, 0.0, 2.0], [0.5, 0.5, -1.0], [3.0, -1.0, 0.0]])   # ties at 0
    labels = numpy.array([0, 1, 2])
    torch_settings = {key: torch.tensor(value, dtype=torch.float64) if key == "weight"
                      else value for key, value in settings.items()}
    _gradients_match(lambda x: zen.multi_margin_loss(x, labels, **settings),
                     lambda t: torch.nn.functional.multi_margin_loss(
                         t, torch.tensor(labels), **torch_settings), array, device)
    _gradients_match(lambda x: zen.multi_margin_loss(x[1], labels[1:2], **settings),
                     lambda t: torch.nn.functional.multi_margin_loss(
                         t[1], torch.tensor(labels[1:2]), **torch_settings), array, device)


@pytest.mark.parametrize("mode", ["area", "nearest-exact"])
@pytest.mark.parametrize("spatial", [1, 2])
def test_interpolate_area_and_nearest_exact_match_pytorch(device, mode, spatial):
    for length in (1, 3, 5, 7):
        array = numpy.cos(numpy.arange(2 * length ** spatial) * 0.9).reshape(
            (1, 2) + (length,) * spatial)
        for resize in [dict(size=n) for n in (1, 2, 4, 9, 14)] + [
                dict(scale_factor=f) for f in (0.7, 1.0, 1.5, 2, 2.3, 3)] + [
                dict(scale_factor=1.7, recompute_scale_factor=True)]:
            if int(length * resize.get("scale_factor", 1)) == 0:
                continue
            _gradients_match(lambda x, r=resize: zen.interpolate(x, mode=mode, **r),
                             lambda t, r=resize: torch.nn.functional.interpolate(t, mode=mode,
                                                                                 **r),
                             array, device, rtol=1e-12, atol=1e-14)
