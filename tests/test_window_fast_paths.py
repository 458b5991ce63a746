"""The window primitives' fast paths against their general
paths, bit for bit: small windows reduced one kernel offset at a time (max pooling and its
first-maximum gradient mask) against one reduction and argmax, and folds of windows that do
not overlap set against added. Inputs have ties, NaN, -inf padding and integer dtypes, since
those are where a different order of comparisons could pick a different element."""

import numpy
import pytest

import zen
from zen import ops

# (kernel_size, stride, padding, dilation) of max_pool2d: non-overlapping (every 2x2 pool),
# overlapping, dilated, padded with -inf, and strides that leave gaps between windows
POOLS = [(2, None, 0, 1), (3, 1, 1, 1), (2, 1, 0, 2), ((2, 3), (1, 2), (1, 0), 1),
         (2, 3, 0, 1), (3, 2, 1, 1)]


def _general(monkeypatch):
    """Turn both fast paths off: one reduction and argmax for every window, folds that add."""
    monkeypatch.setattr(ops, "SMALL_WINDOW", 0)
    monkeypatch.setattr(ops, "_disjoint", lambda *settings: False)


def _tied(shape, dtype, seed):
    """Values from a handful of integers, so that most windows hold ties."""
    values = numpy.random.default_rng(seed).integers(-2, 3, size=shape)
    return values.astype(dtype)


def _pooled(array, device, settings, trainable):
    x = zen.Tensor(array, device=device, trainable=trainable)
    out = zen.max_pool2d(x, *settings)
    if not trainable:
        return out.numpy(), None
    weights = numpy.cos(numpy.arange(out.numel()) * 1.3).reshape(out.shape)
    (out * zen.Tensor(weights, device=device, dtype=out.dtype)).sum().backward()
    return out.numpy(), zen.Tensor(x.gradient).numpy()


@pytest.mark.parametrize("settings", POOLS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_max_pool_of_small_windows_matches_the_general_path(device, monkeypatch, settings,
                                                            dtype):
    array = _tied((2, 3, 7, 8), dtype, seed=len(str(settings)))
    trainable = dtype != "int32"
    fast = _pooled(array, device, settings, trainable)
    _general(monkeypatch)
    general = _pooled(array, device, settings, trainable)
    for found, expected in zip(fast, general, strict=True):
        numpy.testing.assert_array_equal(found, expected, strict=True)


@pytest.mark.parametrize("settings", POOLS)
def test_max_pool_with_nan_sends_the_gradient_to_the_same_element(device, monkeypatch,
                                                                   settings):
    array = _tied((1, 2, 6, 6), "float32", seed=3)
    array[0, 0, ::2, 1::3] = numpy.nan     # some windows with one NaN, some with two
    array[0, 1, 1, :] = numpy.nan
    fast = _pooled(array, device, settings, trainable=True)
    _general(monkeypatch)
    general = _pooled(array, device, settings, trainable=True)
    assert numpy.isnan(fast[0]).any()
    for found, expected in zip(fast, general, strict=True):
        numpy.testing.assert_array_equal(found, expected, strict=True)


def test_first_maximum_of_a_tied_window_is_its_first_in_row_order(device):
    windows = zen.Tensor(numpy.array([[3, 1], [3, 3]], "float32").reshape(1, 1, 1, 1, 2, 2),
                         device=device)
    mask = ops.first_maximum_p(windows, ops.max_pool(windows)).numpy()
    numpy.testing.assert_array_equal(mask.reshape(-1), [True, False, False, False])


# conv_transpose2d's (stride, kernel, dilation, output_padding): its output is a fold of the
# windows, disjoint when the stride reaches past each kernel (with gaps when it reaches
# further), or when the kernel is 1x1; and overlapping, for contrast
FOLDS = [(2, 2, 1, 0), (3, 2, 1, 1), (1, 1, 1, 0), (3, 2, 2, 0), (4, 2, 1, 3), (2, 3, 1, 1),
         ((3, 1), (2, 3), 1, 0)]


def _transposed(x, weight, device, settings):
    stride, _kernel, dilation, output_padding = settings
    x = zen.Tensor(x, device=device, trainable=True)
    weight = zen.Tensor(weight, device=device, trainable=True)
    out = zen.conv_transpose2d(x, weight, stride=stride, dilation=dilation,
                               output_padding=output_padding)
    weights = numpy.sin(numpy.arange(out.numel()) * 0.7).reshape(out.shape)
    (out * zen.Tensor(weights, device=device, dtype=out.dtype)).sum().backward()
    return [out.numpy()] + [zen.Tensor(t.gradient).numpy() for t in (x, weight)]


@pytest.mark.parametrize("settings", FOLDS)
def test_fold_of_windows_that_do_not_overlap_matches_adding_them(device, monkeypatch,
                                                                 settings):
    kernel = settings[1] if isinstance(settings[1], tuple) else (settings[1],) * 2
    rng = numpy.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    weight = rng.normal(size=(3, 2) + kernel).astype("float32")
    fast = _transposed(x, weight, device, settings)
    _general(monkeypatch)
    general = _transposed(x, weight, device, settings)
    for found, expected in zip(fast, general, strict=True):
        numpy.testing.assert_array_equal(found, expected, strict=True)


@pytest.mark.parametrize(("count", "step", "kernel", "dilation", "expected"), [
    (1, 1, 3, 1, True), (4, 5, 1, 1, True), (4, 2, 2, 1, True), (4, 3, 2, 1, True),
    (4, 1, 2, 1, False), (4, 3, 2, 2, True), (4, 2, 2, 2, False), (2, 2, 3, 1, False)])
def test_disjoint_is_true_only_where_no_position_is_covered_twice(count, step, kernel,
                                                                  dilation, expected):
    covered = [o * step + i * dilation for o in range(count) for i in range(kernel)]
    assert (len(set(covered)) == len(covered)) >= expected    # sufficient, never wrong
    assert ops._disjoint(count, step, kernel, dilation) is expected


def test_fold_laid_out_channels_last_has_the_same_values(device):
    windows = zen.Tensor(numpy.random.default_rng(2).normal(size=(2, 3, 4, 5, 3, 2)),
                         device=device)
    folded = [ops.fold_windows_p(windows, shape=(2, 3, 6, 10), stride=(1, 2), dilation=(1, 1),
                                 channels_last=layout).numpy() for layout in (False, True)]
    numpy.testing.assert_array_equal(folded[0], folded[1], strict=True)


@pytest.mark.parametrize("padding", [0, 1, "same", ((0, 2), (1, 0))])
def test_convolution_gradient_through_channels_last_windows_matches_pytorch(device, padding):
    """conv2d lays its padded input out channels last; its input gradient, folded so too,
    is still PyTorch's (forward values too; the matmul sums in (KH, KW, C) order)."""
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
    rng = numpy.random.default_rng(4)
    x, weight = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2))
    found_x = zen.Tensor(x, device=device, trainable=True)
    found = zen.conv2d(found_x, zen.Tensor(weight, device=device), padding=padding)
    found.sum().backward()
    torch_padding = padding if not isinstance(padding, tuple) else 0
    expected_x = torch.tensor(x, requires_grad=True)
    if isinstance(padding, tuple):
        expected_input = torch.nn.functional.pad(expected_x, (1, 0, 0, 2))
    else:
        expected_input = expected_x
    expected = torch.nn.functional.conv2d(expected_input, torch.tensor(weight),
                                          padding=torch_padding)
    expected.sum().backward()
    numpy.testing.assert_allclose(found.numpy(), expected.detach().numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(zen.Tensor(found_x.gradient).numpy(),
                                  expected_x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("batch", [(2,), ()])
def test_pooling_takes_a_channels_last_input_as_a_view(batch):
    """A convolution's result is laid out channels last; pooling's planes of it must not copy
    it (merging N and C did). NumPy says whether memory is shared, so this runs on the CPU."""
    x = zen.Tensor(numpy.ones(batch + (4, 5, 3), "float32"))      # (N,) H, W, C
    lead = len(batch)
    channels_last = x.permute(*range(lead), lead + 2, lead, lead + 1)
    planes, _ = zen.pooling._planes("max_pool2d", channels_last, 2)
    assert planes.shape == (2 if batch else 1, 3, 4, 5)
    assert numpy.shares_memory(planes.value, x.value)
