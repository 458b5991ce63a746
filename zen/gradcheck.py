"""Gradients checked against central finite differences."""

from __future__ import annotations

from collections.abc import Callable

from zen import ops
from zen.autograd import gradients
from zen.errors import GradcheckError
from zen.tensor import Tensor, as_tensor, constant


def gradcheck(f: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6, atol: float = 1e-7,
              rtol: float = 1e-6) -> bool:
    """Compare ``f``'s gradients with central differences in float64; return True or raise.

    ``f`` maps Tensors to a Tensor. Floating inputs are cast to float64 and checked; other
    inputs are passed through unchanged. The output is reduced to a scalar with fixed,
    distinct weights, so every output element counts. A mismatch raises GradcheckError naming
    the input, the worst element's index and both values.
    """
    tensors = [_float64_leaf(as_tensor(x)) for x in inputs]
    output = f(*tensors)
    weights = _weights(output)

    def objective(*arguments):
        return ops.sum(f(*arguments) * weights).item()

    analytic = gradients(ops.sum(output * weights), tensors)
    for index, (tensor, gradient) in enumerate(zip(tensors, analytic, strict=True)):
        if tensor.trainable:
            numeric = _numeric_gradient(objective, tensors, index, eps)
            _compare(index, tensor.shape, gradient.numpy().reshape(-1).tolist(), numeric,
                     atol, rtol)
    return True


def _float64_leaf(tensor):
    backend = tensor.backend
    if not backend.is_floating(tensor.dtype):
        return tensor
    return Tensor(backend.xp.astype(tensor.value, backend.xp.float64), device=backend)


def _weights(output):
    backend = output.backend
    xp = backend.xp
    ramp = xp.arange(output.numel(), dtype=output.dtype, device=backend.native_device)
    return constant(xp.reshape(xp.cos(ramp * 1.3 + 0.4), output.shape), backend)


def _numeric_gradient(objective, tensors, index, eps):
    """d objective / d tensors[index], element by element, as a flat list of floats."""
    tensor = tensors[index]
    backend, xp = tensor.backend, tensor.backend.xp
    numeric = []
    for element in range(tensor.numel()):
        step = xp.zeros(tensor.numel(), dtype=tensor.dtype, device=backend.native_device)
        step[element] = eps
        step = xp.reshape(step, tensor.shape)
        shifted = list(tensors)
        # Trainable, so that a function which differentiates inside sees a live input.
        shifted[index] = Tensor(tensor.value + step, device=backend)
        plus = objective(*shifted)
        shifted[index] = Tensor(tensor.value - step, device=backend)
        numeric.append((plus - objective(*shifted)) / (2 * eps))
    return numeric


def _compare(index, shape, analytic, numeric, atol, rtol):
    excess = [abs(a - n) - (atol + rtol * abs(n)) for a, n in zip(analytic, numeric, strict=True)]
    worst = max(range(len(excess)), key=excess.__getitem__, default=None)
    if worst is not None and excess[worst] > 0:
        raise GradcheckError(
            f"gradcheck: the gradient of input {index} (shape {shape}) disagrees with finite "
            f"differences at element {_unravel(worst, shape)}: analytic {analytic[worst]:.8g}, "
            f"numerical {numeric[worst]:.8g} (atol={atol}, rtol={rtol})")


def _unravel(flat, shape):
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return tuple(reversed(index))
