"""Activation functions, as torch.nn.functional names them, built from the
primitives in ``zen.ops``; each is also at zen's top level. Their gradients, of any order,
follow from the primitives', and match PyTorch's at the kinks too (where it says so)."""

from __future__ import annotations

import math

from zen import arguments, linalg, ops, random
from zen.errors import ArgumentError, ShapeMismatchError
from zen.ops import normalise_axes
from zen.shapes import chunk
from zen.tensor import Tensor, TensorLike, as_tensor

# SELU's constants (Klambauer et al., 2017), as PyTorch has them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _not_above_zero(x):
    """x where x <= 0, else 0, for the exponential branch of elu and celu: the branch not
    taken must not overflow (its 0 * inf would be nan), and x = 0 keeps its whole slope (a
    minimum would halve it at the tie)."""
    return ops.where(ops.greater(x, 0), 0.0, x)


def leaky_relu(x: TensorLike, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x (the slope at 0 too, as PyTorch)."""
    x = as_tensor(x)
    slope = arguments.number("leaky_relu", "negative_slope", negative_slope)
    return ops.where(ops.greater(x, 0), x, ops.multiply(x, slope))


def rrelu(x: TensorLike, lower: float = 1 / 8, upper: float = 1 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """x where x > 0, else slope * x: while ``training`` a slope per element drawn uniformly
    from [lower, upper] (zen's generator, ``zen.seed``), otherwise their mean, as PyTorch."""
    x = as_tensor(x)
    low = arguments.number("rrelu", "lower", lower, finite=True)
    high = arguments.number("rrelu", "upper", upper, low=low, finite=True)
    if arguments.flag("rrelu", "inplace", inplace):
        raise ArgumentError("rrelu: inplace=True is not supported (zen's rrelu makes a new "
                            "tensor); use x = zen.rrelu(x)")
    if not arguments.flag("rrelu", "training", training):
        return leaky_relu(x, (low + high) / 2)
    drawn = random.generator().uniform(low, high, x.shape)
    slopes = Tensor(drawn, trainable=False, device=x.backend, dtype=x.dtype)
    return ops.where(ops.greater(x, 0), x, ops.multiply(x, slopes))


def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (e^x - 1)."""
    x = as_tensor(x)
    alpha = arguments.number("elu", "alpha", alpha)
    below = ops.multiply(alpha, ops.expm1(_not_above_zero(x)))
    return ops.where(ops.greater(x, 0), x, below)


def selu(x: TensorLike) -> Tensor:
    """SELU_SCALE * elu(x, SELU_ALPHA)."""
    return ops.multiply(SELU_SCALE, elu(x, SELU_ALPHA))


def celu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (e^(x / alpha) - 1)."""
    x = as_tensor(x)
    alpha = arguments.number("celu", "alpha", alpha, low=0, low_open=True)
    below = ops.multiply(alpha, ops.expm1(ops.divide(_not_above_zero(x), alpha)))
    return ops.where(ops.greater(x, 0), x, below)


def gelu(x: TensorLike, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate="tanh"`` gives PyTorch's tanh
    approximation instead."""
    if approximate == "none":
        return ops.multiply(ops.multiply(x, 0.5), ops.add(1, ops.erf(
            ops.multiply(x, 1 / math.sqrt(2)))))
    if approximate == "tanh":
        cubic = ops.add(x, ops.multiply(0.044715, ops.multiply(x, ops.multiply(x, x))))
        inner = ops.tanh(ops.multiply(math.sqrt(2 / math.pi), cubic))
        return ops.multiply(ops.multiply(x, 0.5), ops.add(1, inner))
    raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x: TensorLike) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return ops.multiply(x, ops.sigmoid(x))


def softplus(x: TensorLike, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x itself where beta * x > threshold, as PyTorch."""
    x = as_tensor(x)
    beta = arguments.number("softplus", "beta", beta, low=0, low_open=True)
    threshold = arguments.number("softplus", "threshold", threshold)
    scaled = ops.multiply(x, beta)
    # logaddexp(bx, 0) neither overflows nor loses the slope 1/2 at 0 (as abs's kink would)
    smooth = ops.divide(ops.logaddexp(scaled, 0.0), beta)
    return ops.where(ops.greater(scaled, threshold), x, smooth)


def mish(x: TensorLike) -> Tensor:
    """x * tanh(softplus(x))."""
    return ops.multiply(x, ops.tanh(softplus(x)))


def softsign(x: TensorLike) -> Tensor:
    """x / (1 + |x|)."""
    return ops.divide(x, ops.add(ops.abs(x), 1))


def logsigmoid(x: TensorLike) -> Tensor:
    """log(sigmoid(x)) = -log(1 + e^-x), without overflow."""
    return ops.negative(ops.logaddexp(ops.negative(x), 0.0))


def hardtanh(x: TensorLike, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x limited to [min_val, max_val]; as PyTorch, the gradient is zero at the bounds."""
    x = as_tensor(x)
    low = arguments.number("hardtanh", "min_val", min_val)
    high = arguments.number("hardtanh", "max_val", max_val)
    if low > high:
        raise ArgumentError(f"hardtanh: min_val {min_val} is above max_val {max_val}")
    inside = ops.logical_and(ops.greater(x, low), ops.less(x, high))
    return ops.where(inside, x, ops.clip(x.detach(), low, high))


def relu6(x: TensorLike) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x: TensorLike) -> Tensor:
    """relu6(x + 3) / 6."""
    return ops.divide(relu6(ops.add(x, 3.0)), 6.0)


def hardswish(x: TensorLike) -> Tensor:
    """x * relu6(x + 3) / 6; as PyTorch, the slope at -3 is 0 and at 3 is 1 (the outer
    pieces'), where a product of x and relu6 would give 0 at 3."""
    x = as_tensor(x)
    middle = ops.divide(ops.multiply(x, ops.add(x, 3.0)), 6.0)
    return ops.where(ops.less_equal(x, -3.0), 0.0,
                     ops.where(ops.greater_equal(x, 3.0), x, middle))


def softmin(x: TensorLike, axis: int = -1) -> Tensor:
    """softmax(-x) along ``axis``."""
    return ops.softmax(ops.negative(x), axis)


def normalize(x: TensorLike, p: float = 2.0, axis: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``axis``, as torch.nn.functional.normalize (``p`` may be
    inf). Below eps the divisor is eps itself, so a zero vector gives zeros, not nan."""
    x = as_tensor(x)
    p = arguments.number("normalize", "p", p, low=0, low_open=True)
    eps = arguments.number("normalize", "eps", eps)
    norm = linalg.vector_norm(x, p, normalise_axes("normalize", axis, x.ndim), keepdims=True)
    return ops.divide(x, ops.maximum(norm, eps))


def glu(x: TensorLike, axis: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of ``x`` along ``axis``."""
    x = as_tensor(x)
    along = ops.one_axis("glu", axis, x.ndim)
    if x.shape[along] % 2:
        raise ShapeMismatchError(f"glu: axis {axis} of shape {x.shape} has odd length "
                                 f"{x.shape[along]}; it must halve")
    a, b = chunk(x, 2, along)
    return ops.multiply(a, ops.sigmoid(b))


def threshold(x: TensorLike, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else ``value``."""
    x = as_tensor(x)
    limit = arguments.number("threshold", "threshold", threshold)
    return ops.where(ops.greater(x, limit), x, arguments.number("threshold", "value", value))


def _lambd(function, lambd):
    lambd = arguments.number(function, "lambd", lambd)
    if lambd < 0:
        raise ArgumentError(f"{function}: lambd must be >= 0, got {lambd}")
    return lambd


def softshrink(x: TensorLike, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    x = as_tensor(x)
    lambd = _lambd("softshrink", lambd)
    shrunk = ops.subtract(x, ops.multiply(ops.sign(x), lambd))
    return ops.where(ops.greater(ops.abs(x), lambd), shrunk, 0.0)


def hardshrink(x: TensorLike, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    x = as_tensor(x)
    return ops.where(ops.greater(ops.abs(x), _lambd("hardshrink", lambd)), x, 0.0)


def tanhshrink(x: TensorLike) -> Tensor:
    """x - tanh(x)."""
    return ops.subtract(x, ops.tanh(x))


def prelu(x: TensorLike, weight: TensorLike) -> Tensor:
    """x where x > 0, else weight * x: ``weight`` one slope, or one per channel (axis 1)."""
    x, weight = as_tensor(x), as_tensor(weight)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim > 1 or weight.numel() not in (1, channels):
        raise ShapeMismatchError(f"prelu: weight must hold 1 or {channels} slopes (one per "
                                 f"channel, axis 1 of shape {x.shape}), got shape "
                                 f"{weight.shape}")
    if weight.numel() > 1:
        weight = ops.reshape(weight, (channels,) + (1,) * (x.ndim - 2))
    return ops.where(ops.greater(x, 0), x, ops.multiply(weight, x))
