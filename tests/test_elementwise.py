"""Issue 16's elementwise functions and activations beyond the op-case table: erf's accuracy
on every backend, the values and gradients PyTorch gives at kinks, thresholds and signs,
Python's % and // on Tensors, the functions with bool results, and the activations over
random shapes and axes."""

import math

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import backends
import zen

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
F = torch.nn.functional

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# Each backend extra's points: both of the portable path's ranges, its switches, the special
# values, and for erfc the tail where 1 - erf would round to 0, down into subnormals.
ERROR_FUNCTIONS = {
    "erf": (math.erf, numpy.linspace(-7, 7, 4001), [2.0, -2.0, 1e-300, 6.5]),
    "erfc": (math.erfc, numpy.linspace(-7, 28, 8001), [1.0, -1.0, 1e-300, 26.5, 30.0, 40.0]),
}


@pytest.mark.parametrize("name", sorted(ERROR_FUNCTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_error_functions_are_accurate_to_round_off_on_every_backend(device, dtype, name):
    """The backend extras erf and erfc (math's on NumPy, a series and a continued fraction
    on any array-API namespace, cupyx on CuPy) against math's, relative to each value."""
    reference, points, edges = ERROR_FUNCTIONS[name]
    host = numpy.concatenate([points, edges, [0.0, -0.0, numpy.inf, -numpy.inf]]).astype(dtype)
    backend = backends.get_backend(device)
    got = backend.to_host(getattr(backend.xp, name)(backend.asarray(host)))
    expected = numpy.array([reference(value) for value in host.astype("float64")])
    assert got.dtype == host.dtype
    info = numpy.finfo(dtype)
    numpy.testing.assert_allclose(got, expected.astype(dtype), rtol=16 * info.eps,
                                  atol=4 * info.smallest_subnormal)
    nan = backend.asarray(numpy.array([numpy.nan], dtype))
    assert numpy.isnan(backend.to_host(getattr(backend.xp, name)(nan))).all()


def test_erfc_keeps_its_tail_where_one_minus_erf_is_zero(device):
    """erfc(x) for x where 1 - erf(x) rounds to 0, and its gradient -2/sqrt(pi) e^-x^2."""
    x = zen.Tensor([4.0, 5.0, 9.0], device=device, dtype="float32")
    assert (1 - zen.erf(x)).numpy().tolist() == [0.0, 0.0, 0.0]
    numpy.testing.assert_allclose(x.erfc().numpy(), [math.erfc(v) for v in (4, 5, 9)],
                                  rtol=1e-6)
    slope = zen.grad(lambda x: zen.erfc(x).sum())(zen.Tensor([-0.5, 3.0], dtype="float64",
                                                             device=device))
    numpy.testing.assert_allclose(zen.Tensor(slope).numpy(), [
        -2 / math.sqrt(math.pi) * math.exp(-v * v) for v in (-0.5, 3.0)], rtol=1e-14)


# Each activation at its kinks and thresholds, where a composite's slope is a choice.
KINKS = {
    "leaky_relu": ([-1.0, 0.0, 1.0], {"negative_slope": 0.1}),
    "elu": ([-1.0, 0.0, 1.0, 800.0], {}),
    "celu": ([-1.0, 0.0, 1.0, 800.0], {"alpha": 2.0}),
    "selu": ([-1.0, 0.0, 1.0], {}),
    "softplus": ([-30.0, 0.0, 9.0, 10.0, 11.0], {"beta": 2.0, "threshold": 20.0}),
    "hardtanh": ([-2.0, -1.0, 0.0, 1.0, 2.0], {}),
    "relu6": ([-1.0, 0.0, 3.0, 6.0, 7.0], {}),
    "hardsigmoid": ([-4.0, -3.0, 0.0, 3.0, 4.0], {}),
    "hardswish": ([-4.0, -3.0, 0.0, 3.0, 4.0], {}),
    "softsign": ([-1.0, 0.0, 1.0], {}),
    "logsigmoid": ([-800.0, 0.0, 800.0], {}),
    "mish": ([-30.0, 0.0, 30.0], {}),
    "silu": ([-800.0, 0.0, 800.0], {}),
    "gelu": ([-10.0, 0.0, 10.0], {}),
}
@pytest.mark.parametrize("name", sorted(KINKS))
def test_activations_match_pytorch_at_kinks_and_extremes(name, device):
    points, settings_ = KINKS[name]
    x = zen.Tensor(points, dtype="float64", device=device)
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    value = getattr(zen, name)(x, **settings_)
    (gradient,) = zen.gradients(value.sum(), [x])
    expected = getattr(F, name)(t, **settings_)
    expected.sum().backward()
    numpy.testing.assert_allclose(value.numpy(), expected.detach().numpy(), rtol=1e-12)
    # rtol 1e-7: PyTorch's hardsigmoid slope is a float32 1/6; a wrong kink is off by 1/6 or more
    numpy.testing.assert_allclose(gradient.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-300)


def test_step_functions_give_zero_gradients_as_pytorch(device):
    """floor, ceil, trunc, round and // give zeros, not no gradient: a leaf reached only
    through them still gets one."""
    for function in (zen.floor, zen.ceil, zen.trunc, zen.round, lambda x: x // 0.3):
        x = zen.Tensor([-1.5, 0.2, 2.5], trainable=True, device=device)
        function(x).sum().backward()
        numpy.testing.assert_array_equal(zen.Tensor(x.gradient).numpy(), [0.0, 0.0, 0.0])


DIVIDENDS = [-7.0, -6.0, -0.5, 0.0, 0.5, 6.0, 7.0, 1.0, -1e-20, 1e300]
DIVISORS = [3.0, -3.0, 0.1, -0.1, 1.0, 1.0, 1.0, 0.1, 1.0, 7.0]


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_remainders_and_rounded_quotients_match_pytorch(device, dtype):
    """Signs of both operands, divisions that round (1 // 0.1 is 9, not 10), an fmod that
    must be exact (-1e-20 fmod 1), and integers."""
    pairs = [(x, y) for x, y in zip(DIVIDENDS, DIVISORS, strict=True)
             if dtype == "float64" or (x == int(x) and y == int(y) and abs(x) < 1e18)]
    xs, ys = zip(*pairs, strict=True)
    x, y = (zen.Tensor(numpy.array(v, dtype=dtype), device=device) for v in (xs, ys))
    tx, ty = (torch.tensor(numpy.array(v, dtype=dtype)) for v in (xs, ys))
    results = {
        "%": (x % y, tx % ty), "fmod": (zen.fmod(x, y), torch.fmod(tx, ty)),
        "//": (x // y, tx // ty),
        "trunc": (zen.div(x, y, rounding_mode="trunc"), torch.div(tx, ty, rounding_mode="trunc")),
        "floor": (zen.div(x, y, rounding_mode="floor"), torch.div(tx, ty, rounding_mode="floor")),
        "reflected %": (7 % y, 7 % ty), "reflected //": (7 // y, 7 // ty),
    }
    for label, (got, expected) in results.items():
        assert got.numpy().dtype == expected.numpy().dtype, label
        numpy.testing.assert_array_equal(got.numpy(), expected.numpy(), err_msg=label)


def test_in_place_remainder_and_floor_division(device):
    x = zen.Tensor([7.0, -7.0], trainable=False, device=device)
    same = x
    x %= 3.0
    x //= 0.5
    assert x is same
    numpy.testing.assert_array_equal(x.numpy(), [2.0, 4.0])
    leaf = zen.Tensor([7.0, -7.0], trainable=True, device=device)
    y = leaf * 1.0
    y %= 3.0
    y.sum().backward()
    numpy.testing.assert_array_equal(zen.Tensor(leaf.gradient).numpy(), [1.0, 1.0])
    with pytest.raises(zen.errors.DtypeError, match=r"remainder in place: .*32 can.*int64"):
        count = zen.Tensor(numpy.array([7, 8]), device=device)
        count %= 2.5


SPECIAL = [0.0, -0.0, 1.0, -2.5, math.inf, -math.inf, math.nan, 1e-9, 1.00001]


def test_bool_functions_match_pytorch(device):
    x = zen.Tensor(SPECIAL, dtype="float64", device=device)
    y = zen.Tensor(list(reversed(SPECIAL)), dtype="float64", device=device)
    tx, ty = torch.tensor(SPECIAL, dtype=torch.float64), torch.tensor(
        list(reversed(SPECIAL)), dtype=torch.float64)
    for name in ("isnan", "isinf", "isfinite"):
        numpy.testing.assert_array_equal(getattr(zen, name)(x).numpy(),
                                         getattr(torch, name)(tx).numpy(), err_msg=name)
        numpy.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(torch, name)(
            tx).numpy(), err_msg=name)
    for settings_ in ({}, {"equal_nan": True}, {"rtol": 0.1, "atol": 0.0}):
        one = torch.tensor(1.0, dtype=torch.float64)
        for first, second, t_first, t_second in ((x, x, tx, tx), (x, y, tx, ty),
                                                 (x, 1.0, tx, one), (1.0, y, one, ty)):
            numpy.testing.assert_array_equal(
                zen.isclose(first, second, **settings_).numpy(),
                torch.isclose(t_first, t_second, **settings_).numpy())
    integers = zen.Tensor(numpy.array([1, -2, 3]), device=device)
    assert not zen.isnan(integers).numpy().any() and zen.isfinite(integers).numpy().all()


@st.composite
def shapes_and_axis(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    if not shape:
        return shape, draw(st.sampled_from([0, -1]))
    # not along an empty axis: PyTorch's normalize with p=inf refuses one, and zen's softmax
    # (softmin's base) cannot take a max there
    axis = draw(st.integers(-len(shape), len(shape) - 1).filter(lambda a: shape[a] > 0))
    return shape, axis


@SETTINGS
@given(shape_and_axis=shapes_and_axis(), p=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
       seed=st.integers(0, 2**16))
@example(shape_and_axis=((), 0), p=2.0, seed=0)                 # 0-d
@example(shape_and_axis=((2, 0, 3), 0), p=2.0, seed=0)          # size 0
@example(shape_and_axis=((3, 1), -1), p=math.inf, seed=0)       # size 1
@example(shape_and_axis=((1,), 0), p=1.0, seed=0)
def test_normalize_and_softmin_along_any_axis_match_pytorch(device, shape_and_axis, p, seed):
    shape, axis = shape_and_axis
    rng = numpy.random.default_rng(seed)
    # Magnitudes apart from each other and from 0: finite differences fail at |x|'s kink and
    # at a tie for the largest (p=inf).
    magnitudes = rng.permutation(numpy.linspace(0.5, 2.0, math.prod(shape))).reshape(shape)
    array = rng.choice([-1.0, 1.0], size=shape) * magnitudes
    x = zen.Tensor(array, device=device)
    t = torch.tensor(array)
    for zen_function, torch_function in (
            (lambda x: zen.normalize(x, p=p, axis=axis),
             lambda t: F.normalize(t, p=p, dim=axis)),
            (lambda x: zen.softmin(x, axis=axis), lambda t: F.softmin(t, dim=axis))):
        numpy.testing.assert_allclose(zen_function(x).numpy(), torch_function(t).numpy(),
                                      rtol=1e-12, atol=1e-15)
        assert zen.gradcheck(zen_function, x)


def test_normalize_of_a_zero_vector_is_zeros_with_pytorchs_gradient(device):
    x = zen.Tensor([[0.0, 0.0], [3.0, 4.0]], dtype="float64", trainable=True, device=device)
    t = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    weights = [[1.0, -2.0], [0.5, 1.5]]
    value = zen.normalize(x)
    (value * zen.Tensor(weights, dtype="float64", device=device)).sum().backward()
    expected = F.normalize(t)
    (expected * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    numpy.testing.assert_allclose(value.numpy(), expected.detach().numpy())
    numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(), t.grad.numpy())


@pytest.mark.parametrize("p", [1.0, 2.0, 4.0, 40.0, math.inf])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normalize_of_a_zero_vector_gives_zeros_for_every_p_and_dtype(p, dtype, device):
    """eps ** p underflows for large p: the bound goes on the norm, as PyTorch's clamp_min."""
    rows = numpy.array([[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]], dtype=dtype)
    x = zen.Tensor(rows, trainable=True, device=device)
    t = torch.tensor(rows, requires_grad=True)
    weights = numpy.array([[1.0, -2.0, 0.5], [0.5, 1.5, -1.0]], dtype=dtype)
    value = zen.normalize(x, p=p)
    (value * zen.Tensor(weights, device=device)).sum().backward()
    expected = F.normalize(t, p=p)
    (expected * torch.tensor(weights)).sum().backward()
    numpy.testing.assert_allclose(value.numpy(), expected.detach().numpy(), rtol=1e-6)
    numpy.testing.assert_allclose(zen.Tensor(x.gradient).numpy(), t.grad.numpy(), rtol=1e-5)
