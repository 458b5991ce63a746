"""Values and gradients at the edges, where a plausible formula gives a wrong number: powers
at zero, variances past their count, 0-d tensors given an axis, and the cost of joining many
tensors. PyTorch's answers are the reference (written out, so they hold without it)."""

import sys

import numpy
import pytest

import zen
from zen import Tensor


def _host(array):
    return Tensor(array, trainable=False).numpy()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("exponent", [0, 0.0, "tensor"])
def test_x_to_the_zero_has_slope_zero_at_zero(exponent, device):
    x = Tensor([0.0, 2.0, -1.5], device=device, dtype="float64")
    power = Tensor(numpy.zeros(3), device=device) if exponent == "tensor" else exponent
    (x ** power).sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient), [0.0, 0.0, 0.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_zero_to_the_y_has_pytorchs_slope_in_y(device):
    base = Tensor([0.0, 0.0, 0.0, 2.0], device=device, dtype="float64", trainable=False)
    y = Tensor([-1.0, 0.0, 2.0, 3.0], device=device, dtype="float64")
    (base ** y).sum().backward()
    numpy.testing.assert_array_equal(_host(y.gradient), [-numpy.inf, 0.0, 0.0, 8 * numpy.log(2)])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_scalar_zero_to_a_negative_power_has_slope_minus_infinity(device):
    y = Tensor(-2.0, device=device, dtype="float64")
    (0.0 ** y).backward()
    assert _host(y.gradient) == -numpy.inf


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("correction, expected", [(3, numpy.inf), (5, numpy.inf), (2, 2.0)])
def test_var_divides_by_count_minus_correction_never_below_zero(correction, expected, device):
    x = Tensor([1.0, 2.0, 3.0], device=device, dtype="float64")
    assert zen.var(x, correction=correction).item() == expected
    constant = Tensor([4.0, 4.0], device=device, dtype="float64")
    assert numpy.isnan(zen.var(constant, correction=2).item())   # 0 / 0, as in PyTorch
    assert numpy.isnan(zen.var(Tensor(numpy.zeros((0, 2)), device=device), axis=0).numpy()).all()


def test_var_default_is_bessels_correction_as_in_pytorch(device):
    x = Tensor([1.0, 2.0, 3.0, 6.0], device=device, dtype="float64")
    assert zen.var(x).item() == pytest.approx(numpy.var([1, 2, 3, 6], ddof=1), rel=1e-15)
    assert x.var(axis=0).item() == zen.var(x, correction=1).item()


@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,)])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp", "softmax",
                                  "log_softmax", "squeeze", "argmax"])
def test_a_0d_tensor_takes_axis_0_and_minus_1_as_pytorch_does(name, axis, device):
    if name in ("softmax", "log_softmax", "argmax") and not isinstance(axis, int):
        pytest.skip(f"{name} takes one int axis, as in PyTorch")
    x = Tensor(2.5, device=device, dtype="float64")
    expected = {"softmax": 1.0, "log_softmax": 0.0, "argmax": 0}.get(name, 2.5)
    result = getattr(zen, name)(x, axis=axis)
    assert result.shape == ()
    assert result.item() == expected


def test_a_0d_tensor_still_refuses_other_axes_and_concat(device):
    x = Tensor(2.5, device=device)
    with pytest.raises(zen.errors.AxisError, match="sum: axis 1 is out of range"):
        x.sum(axis=1)
    with pytest.raises(zen.errors.AxisError, match="concat: a 0-d tensor"):
        zen.concat([x, x])


def _python_calls(function):
    """How many Python function calls ``function()`` makes: a count, not a time."""
    calls = 0

    def count(frame, event, argument):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        function()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("join", [zen.concat, zen.stack])
def test_backward_through_a_join_of_n_tensors_is_linear_in_n(join, device):
    def backward_calls(count):
        parts = [Tensor([1.0, 2.0], device=device) for _ in range(count)]
        total = join(parts).sum()
        return _python_calls(total.backward)

    small, large = backward_calls(200), backward_calls(800)
    assert large < 4.6 * small, (small, large)   # quadratic work would give ~16x


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp", "var"])
def test_an_empty_axis_tuple_reduces_every_axis_as_pytorch_does(name, device):
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], device=device, dtype="float64")
    expected = {"sum": 10.0, "mean": 2.5, "max": 4.0, "min": 1.0, "var": 5 / 3,
                "logsumexp": numpy.log(numpy.exp([1.0, 2.0, 3.0, 4.0]).sum())}[name]
    assert getattr(zen, name)(x, axis=()).item() == pytest.approx(expected, rel=1e-14)


def test_matmul_in_place_rebinds_to_the_product_as_pytorch_does(device):
    x = Tensor(numpy.eye(3), device=device, trainable=False)
    original = x
    with zen.no_grad():
        x @= Tensor([1.0, 2.0, 3.0], device=device, trainable=False)
    assert x.shape == (3,) and original.shape == (3, 3)
    numpy.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])
    numpy.testing.assert_array_equal(original.numpy(), numpy.eye(3))


@pytest.mark.parametrize("value, dtype", [(16777217, "int64"), (0.1, "float64"),
                                          (1e-50, "float64"), (2 ** 62 + 1, "int64")])
def test_assignment_stores_a_python_number_exactly(value, dtype, device):
    x = Tensor(numpy.zeros(2), dtype=dtype, device=device, trainable=False)
    x[0] = value
    x[1:] = [value]
    assert x.numpy().tolist() == [value, value]


def test_clip_with_tensor_bounds_gives_them_their_gradient(device):
    x = Tensor([0.0, 0.5, 2.0], device=device, dtype="float64")
    low = Tensor(0.3, device=device, dtype="float64")
    high = Tensor([1.0, 1.0, 1.5], device=device, dtype="float64")
    zen.clip(x, low, high).sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient), [0.0, 1.0, 0.0])
    assert _host(low.gradient) == 1.0
    numpy.testing.assert_array_equal(_host(high.gradient), [0.0, 0.0, 1.0])


def test_clip_with_min_above_max_is_max_everywhere_with_no_slope_in_x(device):
    x = Tensor([0.0, 2.0, 0.5], device=device, dtype="float64")
    clipped = x.clip(1.0, 0.0)
    clipped.sum().backward()
    numpy.testing.assert_array_equal(clipped.numpy(), [0.0, 0.0, 0.0])
    numpy.testing.assert_array_equal(_host(x.gradient), [0.0, 0.0, 0.0])


def test_cross_entropy_ignores_a_masked_class_as_pytorch_does(device):
    logits = Tensor([[0.0, -numpy.inf, 1.0]], device=device, dtype="float64")
    loss = zen.loss.softmax_cross_entropy(logits, Tensor(numpy.array([0]), device=device))
    assert loss.item() == pytest.approx(numpy.log(1 + numpy.e), rel=1e-14)    # 1.3133
    loss.backward()
    assert numpy.isfinite(_host(logits.gradient)).all()


def test_max_pool_gives_a_tied_windows_gradient_to_its_first_maximum(device):
    x = Tensor(numpy.array([[[[0.0, 0.0, 1.0, 3.0],
                              [0.0, 0.0, 3.0, 2.0]]]]), device=device)
    zen.max_pool2d(x, 2).sum().backward()
    numpy.testing.assert_array_equal(_host(x.gradient)[0, 0], [[1, 0, 0, 1], [0, 0, 0, 0]])


def test_sum_of_small_unsigned_integers_is_int64(device):
    total = Tensor(numpy.array([200, 100], numpy.uint8), device=device).sum()
    assert str(total.dtype).endswith("int64") and total.item() == 300


def test_iterating_a_0d_tensor_raises_as_pytorch_does(device):
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(Tensor(2.0, device=device))
