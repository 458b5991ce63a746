"""zen's convolutions against PyTorch's over shapes, strides, paddings, dilations and groups
drawn by hypothesis: values and every input's gradient, in float64, on every device."""

import json

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zen
from zen import Tensor

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
F = torch.nn.functional
SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@st.composite
def geometries(draw, rank, transposed):
    """Channels, groups, kernel, stride, dilation, padding and (transposed) output padding
    for ``rank`` spatial axes, with an input large enough for at least one output."""
    groups = draw(st.integers(1, 3))
    per_group = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    axes = [draw(_axis(transposed)) for _ in range(rank)]
    kernel, stride, dilation, padding, extra, size = (tuple(a[i] for a in axes)
                                                      for i in range(6))
    if not transposed and all(s == 1 for s in stride) and draw(st.booleans()):
        padding = draw(st.sampled_from(["same"] + ([] if any(padding) else ["valid"])))
    return dict(groups=groups, channels=groups * per_group[0], out=groups * per_group[1],
                kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                output_padding=extra, size=size)


@st.composite
def _axis(draw, transposed):
    kernel, stride, dilation = (draw(st.integers(1, 3)) for _ in range(3))
    span = dilation * (kernel - 1) + 1
    if transposed:
        extra = draw(st.integers(0, max(stride, dilation) - 1))
        size = draw(st.integers(1, 4))
        full = (size - 1) * stride + span + extra
        padding = draw(st.integers(0, max(0, (full - 1) // 2)))
        return kernel, stride, dilation, padding, extra, size
    padding = draw(st.integers(0, 2))
    size = draw(st.integers(max(1, span - 2 * padding), span + 4))
    return kernel, stride, dilation, padding, 0, size


def _inputs(g, transposed, batch, bias, seed):
    rng = numpy.random.default_rng(seed)
    weight_shape = ((g["channels"], g["out"] // g["groups"]) if transposed else
                    (g["out"], g["channels"] // g["groups"])) + g["kernel"]
    arrays = [rng.normal(size=(batch, g["channels"]) + g["size"]), rng.normal(size=weight_shape)]
    return arrays + ([rng.normal(size=g["out"])] if bias else [])


def _assert_matches_pytorch(name, arrays, settings_, device):
    zen_inputs = [Tensor(a, device=device, dtype="float64", trainable=True) for a in arrays]
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = getattr(zen, name)(*zen_inputs, **settings_)
    expected = getattr(F, name)(*torch_inputs, **settings_)
    seed = numpy.cos(numpy.arange(expected.numel()) * 1.3).reshape(tuple(expected.shape))
    (out * Tensor(seed, device=device, dtype="float64")).sum().backward()
    (expected * torch.tensor(seed)).sum().backward()
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-12)
    for mine, theirs in zip(zen_inputs, torch_inputs, strict=True):
        numpy.testing.assert_allclose(Tensor(mine.gradient).numpy(), theirs.grad.numpy(),
                                      atol=1e-12)


def _convolution_settings(g):
    return dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"],
                groups=g["groups"])


def _transposed_settings(g):
    return dict(stride=g["stride"], padding=g["padding"], output_padding=g["output_padding"],
                groups=g["groups"], dilation=g["dilation"])


_EDGE = dict(groups=1, channels=1, out=1, stride=(1, 1), dilation=(1, 1), output_padding=(0, 0))


@SETTINGS
@given(g=geometries(2, transposed=False), batch=st.integers(0, 2), bias=st.booleans(),
       seed=st.integers(0, 2**16))
@example(g={**_EDGE, "kernel": (1, 1), "padding": 0, "size": (1, 1)}, batch=1, bias=True,
         seed=0)                                                            # 1x1 everything
@example(g={**_EDGE, "kernel": (2, 3), "padding": "same", "size": (1, 2)}, batch=2, bias=False,
         seed=0)                                                            # kernel > input
@example(g={**_EDGE, "kernel": (3, 3), "padding": 1, "size": (4, 4)}, batch=0, bias=True,
         seed=0)                                                            # empty batch
def test_conv2d_matches_pytorch(device, g, batch, bias, seed):
    _assert_matches_pytorch("conv2d", _inputs(g, False, batch, bias, seed),
                            _convolution_settings(g), device)


@SETTINGS
@given(g=geometries(1, transposed=False), batch=st.integers(1, 2), bias=st.booleans(),
       seed=st.integers(0, 2**16))
@example(g={**_EDGE, "stride": (1,), "dilation": (2,), "kernel": (4,), "padding": "same",
            "size": (2,)}, batch=1, bias=True, seed=0)      # even kernel, dilated, 'same'
def test_conv1d_matches_pytorch(device, g, batch, bias, seed):
    _assert_matches_pytorch("conv1d", _inputs(g, False, batch, bias, seed),
                            _convolution_settings(g), device)


@SETTINGS
@given(g=geometries(2, transposed=True), batch=st.integers(0, 2), bias=st.booleans(),
       seed=st.integers(0, 2**16))
@example(g={**_EDGE, "kernel": (1, 1), "padding": (0, 0), "size": (1, 1)}, batch=1, bias=True,
         seed=0)                                                            # 1x1 everything
@example(g={**_EDGE, "stride": (1, 1), "dilation": (3, 2), "output_padding": (2, 1),
            "kernel": (2, 2), "padding": (1, 0), "size": (2, 3)}, batch=1, bias=False,
         seed=0)                                                 # output padding below dilation
def test_conv_transpose2d_matches_pytorch(device, g, batch, bias, seed):
    _assert_matches_pytorch("conv_transpose2d", _inputs(g, True, batch, bias, seed),
                            _transposed_settings(g), device)


@SETTINGS
@given(g=geometries(1, transposed=True), batch=st.integers(1, 2), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_conv_transpose1d_matches_pytorch(device, g, batch, bias, seed):
    _assert_matches_pytorch("conv_transpose1d", _inputs(g, True, batch, bias, seed),
                            _transposed_settings(g), device)


@pytest.mark.parametrize("padding, widths", [("same", (1, 2)), (2, (2, 2)), ((2,), (2, 2)),
                                             (((0, 3),), (0, 3))])
def test_conv1d_padding_forms_pad_as_written(device, padding, widths):
    """PyTorch's int, 1-tuple and 'same' (the odd one on the right), and zen's one-sided
    ((left, right),), each equal to padding by hand first."""
    rng = numpy.random.default_rng(0)
    x, w = rng.normal(size=(1, 2, 6)), rng.normal(size=(3, 2, 4))
    expected = F.conv1d(F.pad(torch.tensor(x), widths), torch.tensor(w))
    out = zen.conv1d(Tensor(x, device=device), Tensor(w, device=device), padding=padding)
    numpy.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-12)


def test_a_conv2d_checkpoint_saved_before_dilation_and_groups_still_loads(tmp_path, device):
    """Older files have no dilation_rate or groups: the defaults fill them."""
    zen.seed(3)
    model = zen.nn.Model([zen.nn.Conv2D(2, 3, padding="same")], device=device,
                         input_shape=(1, 4, 4))
    path = tmp_path / "conv.npz"
    model.save(path)
    with numpy.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    info = json.loads(str(arrays.pop("__metadata__")))
    for setting in ("dilation_rate", "groups"):
        del info["layers"][0]["config"][setting]
    numpy.savez(path, __metadata__=numpy.array(json.dumps(info)), **arrays)
    loaded = zen.nn.Model.load(path, device=device)
    x = numpy.ones((1, 1, 4, 4))
    numpy.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    assert loaded.layers[0].config["groups"] == 1


@pytest.mark.parametrize("layer", [zen.nn.Conv2D, zen.nn.Conv1D, zen.nn.Conv2DTranspose])
def test_conv_layers_take_use_bias_fifth_as_before_dilation_came(layer):
    made = layer(4, 3, 1, "same", False)
    assert made.use_bias is False and made.dilation_rate == 1
