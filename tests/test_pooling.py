"""Pooling and interpolate against PyTorch over random shapes, strides, paddings,
dilations, ceil modes, output sizes and scales, in float32 at PyTorch's tolerances: values,
gradients and indices on every backend, and where PyTorch refuses a setting, zen refuses it
too. The op table (op_cases.py) checks their gradients by finite differences."""

import numpy
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import zen
from zen.errors import ZenError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TOLERANCES = dict(rtol=1.3e-6, atol=1e-5)      # PyTorch's for float32


def _outputs(result):
    return result if isinstance(result, tuple) else (result,)


def _compare(name, shape, seed, device, *settings, gradient=True, **keywords):
    """zen's ``name`` and PyTorch's on one float32 input agree: both refuse it, or give the
    same values, indices and (unless not ``gradient``) gradient of a weighted sum of the
    values."""
    array = numpy.random.default_rng(seed).normal(size=shape).astype("float32")
    expected_x = torch.tensor(array, requires_grad=True)
    try:
        expected = _outputs(getattr(torch.nn.functional, name)(expected_x, *settings,
                                                              **keywords))
    except (RuntimeError, ValueError):
        with pytest.raises(ZenError, match=name):
            getattr(zen, name)(zen.Tensor(array, device=device), *settings, **keywords)
        return
    # A dilated window wholly in the padding: PyTorch's index for it lies outside the plane,
    # and its gradient is written there (out of bounds); zen's -inf has no gradient.
    assume(not torch.isneginf(expected[0]).any())
    x = zen.Tensor(array, device=device)
    found = _outputs(getattr(zen, name)(x, *settings, **keywords))
    weights = numpy.cos(numpy.arange(expected[0].numel()) * 1.3).reshape(expected[0].shape)
    (expected[0] * torch.tensor(weights, dtype=torch.float32)).sum().backward()
    (found[0] * zen.Tensor(weights, device=device, dtype="float32")).sum().backward()
    assert len(found) == len(expected)
    numpy.testing.assert_allclose(found[0].numpy(), expected[0].detach().numpy(), **TOLERANCES)
    if gradient:
        numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(),
                                      expected_x.grad.numpy(), **TOLERANCES)
    if len(found) == 2:
        assert found[1].numpy().dtype == numpy.int64
        numpy.testing.assert_array_equal(found[1].numpy(), expected[1].numpy())


@st.composite
def windows(draw, dilation=True):
    """A 1-D or 2-D input shape (batched or not) and pooling settings, some that PyTorch
    refuses (padding above half the kernel, windows larger than the input)."""
    spatial = draw(st.sampled_from([1, 2]))
    lead = draw(st.sampled_from([(2, 3), (3,), (1, 1)]))
    lengths = draw(st.lists(st.integers(1, 9), min_size=spatial, max_size=spatial))
    kernel = draw(st.lists(st.integers(1, 4), min_size=spatial, max_size=spatial))
    stride = draw(st.none() | st.lists(st.integers(1, 3), min_size=spatial, max_size=spatial))
    padding = [draw(st.integers(0, k // 2 + (draw(st.integers(0, 9)) == 0))) for k in kernel]
    setting = [kernel, stride, padding]
    if dilation:
        setting.append(draw(st.lists(st.integers(1, 3), min_size=spatial, max_size=spatial)))
    return spatial, lead + tuple(lengths), [None if s is None else tuple(s) for s in setting]


@SETTINGS
@given(problem=windows(), ceil_mode=st.booleans(), seed=st.integers(0, 2**16))
@example(problem=(2, (1, 1, 7, 8), [(3, 3), (2, 2), (1, 1), (2, 2)]), ceil_mode=True, seed=0)
@example(problem=(1, (2, 1), [(1,), None, (0,), (1,)]), ceil_mode=False, seed=0)   # length 1
@example(problem=(2, (1, 2, 5, 5), [(2, 2), (2, 2), (1, 1), (1, 1)]), ceil_mode=True, seed=0)
def test_max_pool_matches_pytorch(device, problem, ceil_mode, seed):
    spatial, shape, (kernel, stride, padding, dilation) = problem
    _compare(f"max_pool{spatial}d", shape, seed, device, kernel, stride, padding, dilation,
             ceil_mode, True)


@SETTINGS
@given(problem=windows(dilation=False), ceil_mode=st.booleans(),
       count_include_pad=st.booleans(), divisor=st.none() | st.sampled_from([1, 3, -2]),
       seed=st.integers(0, 2**16))
@example(problem=(2, (1, 1, 6, 6), [(3, 3), (2, 2), (1, 1)]), ceil_mode=True,
         count_include_pad=True, divisor=None, seed=0)      # a last window past the padding
@example(problem=(1, (1, 2, 5), [(4,), (3,), (2,)]), ceil_mode=True,
         count_include_pad=False, divisor=None, seed=0)
def test_avg_pool_matches_pytorch(device, problem, ceil_mode, count_include_pad, divisor,
                                  seed):
    spatial, shape, (kernel, stride, padding) = problem
    extra = {} if spatial == 1 else {"divisor_override": divisor}
    _compare(f"avg_pool{spatial}d", shape, seed, device, kernel, stride, padding, ceil_mode,
             count_include_pad, **extra)


@SETTINGS
@given(spatial=st.sampled_from([1, 2]), lead=st.sampled_from([(2, 3), (2,)]),
       lengths=st.lists(st.integers(1, 9), min_size=2, max_size=2),
       sizes=st.lists(st.none() | st.integers(1, 11), min_size=2, max_size=2),
       kind=st.sampled_from(["avg", "max"]), seed=st.integers(0, 2**16))
@example(spatial=2, lead=(2, 3), lengths=[7, 5], sizes=[3, None], kind="max", seed=0)
@example(spatial=1, lead=(2,), lengths=[1, 1], sizes=[4, 4], kind="avg", seed=0)   # grows
def test_adaptive_pools_match_pytorch(device, spatial, lead, lengths, sizes, kind, seed):
    sizes = tuple(sizes[:spatial]) if spatial == 2 else sizes[0] or 1
    extra = (True,) if kind == "max" else ()
    _compare(f"adaptive_{kind}_pool{spatial}d", lead + tuple(lengths[:spatial]), seed, device,
             sizes, *extra)


_MODES = {3: ["nearest", "linear"], 4: ["nearest", "bilinear"], 5: ["nearest", "trilinear"]}


@st.composite
def resamplings(draw):
    """An input shape and interpolate's settings: a size, or a scale factor (with or without
    recomputing the scale), a mode and align_corners."""
    ndim = draw(st.sampled_from([3, 4, 4, 5]))
    shape = (2, 2) + tuple(draw(st.integers(1, 7)) for _ in range(ndim - 2))
    mode = draw(st.sampled_from(_MODES[ndim]))
    settings = {"mode": mode}
    if mode != "nearest":
        settings["align_corners"] = draw(st.none() | st.booleans())
    if draw(st.booleans()):
        settings["size"] = tuple(draw(st.integers(1, 12)) for _ in shape[2:])
    else:
        scale = st.sampled_from([0.5, 1.1, 1.5, 1.7, 2.0, 2.5, 3.0, 1 / 3, 0.7, 4.3])
        settings["scale_factor"] = tuple(draw(scale) for _ in shape[2:])
        settings["recompute_scale_factor"] = draw(st.none() | st.booleans())
    return shape, settings


@SETTINGS
@given(problem=resamplings(), seed=st.integers(0, 2**16))
@example(problem=((1, 1, 4, 4), {"scale_factor": (1.1, 0.7), "mode": "nearest"}), seed=0)
@example(problem=((2, 2, 1), {"size": (5,), "mode": "linear", "align_corners": True}), seed=0)
@example(problem=((1, 2, 5, 3), {"size": (1, 1), "mode": "bilinear", "align_corners": True}),
         seed=0)
@example(problem=((1, 2, 7, 6), {"scale_factor": (1 / 3, 4.3), "mode": "bilinear"}), seed=0)
@example(problem=((1, 2, 2), {"scale_factor": (1.1,), "mode": "nearest"}), seed=0)
@example(problem=((1, 1, 3, 3), {"scale_factor": (2.1, 1.0), "mode": "nearest"}), seed=0)
@example(problem=((1, 1, 3, 1, 2), {"scale_factor": (2.1, 1.0, 1.1), "mode": "nearest"}),
         seed=0)
def test_interpolate_matches_pytorch(device, problem, seed):
    shape, settings = problem
    _compare("interpolate", shape, seed, device, **settings,
             gradient=not _pytorch_backward_differs(shape, settings))


def _pytorch_backward_differs(shape, settings):
    """PyTorch's 1-D and 3-D nearest kernels take floor(o / scale_factor) forward, but their
    backward takes an output of the input's length (or twice it) as a copy (or doubling)
    whatever the scale: a gradient of another function, which zen does not copy."""
    scales = settings.get("scale_factor")
    if settings["mode"] != "nearest" or len(shape) == 4 or scales is None or \
            settings.get("recompute_scale_factor"):
        return False
    return any(int(length * scale) in (length, 2 * length) and scale not in (1.0, 2.0)
               for length, scale in zip(shape[2:], scales, strict=True))


def test_max_pool_pads_integers_with_their_least(device):
    array = numpy.arange(-8, 8, dtype="int32").reshape(1, 1, 4, 4)
    found = zen.max_pool2d(zen.Tensor(array, device=device), 3, 2, 1)
    expected = torch.nn.functional.max_pool2d(torch.tensor(array), 3, 2, 1)
    numpy.testing.assert_array_equal(found.numpy(), expected.numpy())
    assert found.numpy().dtype == array.dtype


def test_indices_are_not_differentiable(device):
    x = zen.Tensor(numpy.ones((1, 1, 4, 4)), trainable=True, device=device)
    values, indices = zen.max_pool2d(x, 2, return_indices=True)
    assert values.trainable and not indices.trainable


NAN = numpy.nan
# Windows with one NaN, several, all, and NaN beside ties: PyTorch's CPU kernels pick the last
# NaN of a window (they update on ``value > largest or isnan(value)``), else the first largest.
NAN_ROWS = [[1.0, NAN, 3.0, NAN, 2.0, 2.0, 0.0, NAN], [NAN] * 8,
            [NAN, 5.0, 2.0, 1.0, 4.0, 4.0, NAN, 4.0], [1.0, 2.0, NAN, 0.0, 3.0, 3.0, 3.0, 1.0]]
NAN_POOLS = [("max_pool1d", 1, (4,)), ("max_pool1d", 1, (3, 1, 1)), ("max_pool1d", 1, (8,)),
             ("adaptive_max_pool1d", 1, (3,)), ("adaptive_max_pool1d", 1, (1,)),
             ("max_pool2d", 2, (2,)), ("max_pool2d", 2, ((2, 3), 1)),
             ("max_pool2d", 2, (4, 4)), ("adaptive_max_pool2d", 2, ((1, 3),)),
             ("adaptive_max_pool2d", 2, (1,))]


@pytest.mark.parametrize("name, spatial, settings", NAN_POOLS)
def test_max_pools_pick_the_last_nan_of_a_window_as_pytorch(device, name, spatial, settings):
    array = numpy.array(NAN_ROWS, dtype="float32")[None]            # (1, 4, 8)
    if spatial == 2:
        array = array.reshape(1, 2, 4, 4)
    expected_x = torch.tensor(array, requires_grad=True)
    expected = getattr(torch.nn.functional, name)(expected_x, *settings, return_indices=True)
    x = zen.Tensor(array, device=device, trainable=True)
    found = getattr(zen, name)(x, *settings, return_indices=True)
    weights = numpy.cos(numpy.arange(expected[0].numel()) * 1.3).reshape(expected[0].shape)
    (expected[0] * torch.tensor(weights, dtype=torch.float32)).sum().backward()
    (found[0] * zen.Tensor(weights, device=device, dtype="float32")).sum().backward()
    numpy.testing.assert_array_equal(found[0].numpy(), expected[0].detach().numpy())
    numpy.testing.assert_array_equal(found[1].numpy(), expected[1].numpy())
    numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(), expected_x.grad.numpy(),
                               **TOLERANCES)
