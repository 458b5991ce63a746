"""New tensors, as PyTorch makes them: ``zeros``, ``ones``, ``full``, ``arange``, ``linspace``,
``eye``, the ``*_like`` family and zen's seeded random numbers (``rand``, ``randn``,
``randint``). Each takes PyTorch's ``dtype=``, ``device=`` and ``requires_grad=`` (or zen's
``trainable=``) keywords and is never trainable unless asked; sizes come as ints or as one
tuple, ``zeros(2, 3)`` or ``zeros((2, 3))``."""

from __future__ import annotations

import math
import numbers
from typing import Any

from zen import devices, random, tensor
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.tensor import DEFAULT_DEVICE, Tensor, TensorLike, as_tensor, constant

Size = int | tuple[int, ...] | list[int]


def _size(function, size):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the size ``(2, 3)``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0
               for n in size):
        raise ShapeMismatchError(f"{function}: a size is ints >= 0, got {tuple(size)!r}")
    return tuple(int(n) for n in size)


def _backend(device):
    return devices.get_backend(DEFAULT_DEVICE if device is None else device)


def _dtype(function, backend, dtype, default):
    """``dtype`` (a name or a backend dtype) as the backend's dtype; ``default`` if None."""
    dtype = default if dtype is None else dtype
    if not isinstance(dtype, str):
        return dtype
    try:
        return backend.dtype(dtype)
    except (AttributeError, TypeError):
        raise DtypeError(f"{function}: unknown dtype {dtype!r}; use a name such as 'float32', "
                         f"'float64', 'int64' or 'bool'") from None


def _made(function, backend, array, trainable, requires_grad):
    """``array`` as a Tensor, trainable only if asked (and then only if floating)."""
    wanted = bool(requires_grad if requires_grad is not None else trainable)
    if wanted and not backend.is_floating(array.dtype):
        raise DtypeError(f"{function}: requires_grad=True needs a floating dtype, got "
                         f"{array.dtype}")
    result = constant(array, backend)
    result.trainable = wanted
    return result


def full(size: Size, fill_value: bool | float, *, dtype: str | Any | None = None,
         device: str | None = None, trainable: bool = False,
         requires_grad: bool | None = None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, whose dtype, unless given, follows
    it as PyTorch's: bool for a bool, int64 for an int, else the default float dtype."""
    size = _size("full", (size,) if isinstance(size, numbers.Integral) else (tuple(size),))
    backend = _backend(device)
    dtype = _dtype("full", backend, dtype, _inferred_dtype(fill_value))
    array = array_namespaces[backend].full(size, fill_value, dtype=dtype,
                                           device=backend.native_device)
    return _made("full", backend, array, trainable, requires_grad)


def _inferred_dtype(*numbers_given):
    """PyTorch's dtype for Python numbers: bool, int64, or the default float dtype."""
    if all(isinstance(n, bool) for n in numbers_given):
        return "bool"
    if all(isinstance(n, numbers.Integral) for n in numbers_given):
        return "int64"
    return tensor.get_default_dtype()


def _filled(function, fill_value):
    def make(*size: Size, dtype: str | Any | None = None, device: str | None = None,
             trainable: bool = False, requires_grad: bool | None = None) -> Tensor:
        return full(_size(function, size), fill_value,
                    dtype=tensor.get_default_dtype() if dtype is None else dtype,
                    device=device, trainable=trainable, requires_grad=requires_grad)
    make.__name__ = make.__qualname__ = function
    make.__doc__ = f"A tensor of the given size filled with {fill_value} (default dtype)."
    return make


zeros = _filled("zeros", 0)
ones = _filled("ones", 1)
empty = zeros     # zen never hands out uninitialised memory


def full_like(x: TensorLike, fill_value: bool | float, *, dtype: str | Any | None = None,
              device: str | None = None, trainable: bool = False,
              requires_grad: bool | None = None) -> Tensor:
    """``full`` with ``x``'s shape, and its dtype and device unless given."""
    x = as_tensor(x)
    return full(x.shape, fill_value, dtype=x.dtype if dtype is None else dtype,
                device=x.device if device is None else device, trainable=trainable,
                requires_grad=requires_grad)


def zeros_like(x: TensorLike, **settings: Any) -> Tensor:
    return full_like(x, 0, **settings)


def ones_like(x: TensorLike, **settings: Any) -> Tensor:
    return full_like(x, 1, **settings)


def arange(start: float, end: float | None = None, step: float = 1, *,
           dtype: str | Any | None = None, device: str | None = None,
           trainable: bool = False, requires_grad: bool | None = None) -> Tensor:
    """start, start + step, ... below ``end`` (``arange(n)``: 0 to n - 1). As PyTorch, int64
    if every bound is an int, else the default float dtype; the values are start + i * step,
    worked out in float64 and rounded once."""
    start, end = (0, start) if end is None else (start, end)
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not math.isfinite(value):
            raise ArgumentError(f"arange: {name} must be a finite number, got {value!r}")
    if step == 0:
        raise ArgumentError("arange: step must not be 0")
    if (end - start) * step < 0:
        raise ArgumentError(f"arange: step {step} leads away from end {end} (start {start})")
    backend = _backend(device)
    dtype = _dtype("arange", backend, dtype, _inferred_dtype(start, end, step))
    count = max(math.ceil((end - start) / step), 0)
    xp = array_namespaces[backend]
    steps = xp.arange(count, dtype=backend.dtype("float64"), device=backend.native_device)
    values = xp.add(xp.multiply(steps, float(step)), float(start))
    return _made("arange", backend, xp.astype(values, dtype), trainable, requires_grad)


def linspace(start: float, end: float, steps: int, *, dtype: str | Any | None = None,
             device: str | None = None, trainable: bool = False,
             requires_grad: bool | None = None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included: the first half
    counted from ``start`` and the second from ``end`` in the result's dtype, as PyTorch counts
    them (to its round-off: its vectorised kernel may differ in the last bit)."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ArgumentError(f"linspace: steps must be an int >= 0, got {steps!r}")
    backend = _backend(device)
    xp = array_namespaces[backend]
    dtype = _dtype("linspace", backend, dtype, tensor.get_default_dtype())
    # in the result's own float dtype (float64 for integers), as PyTorch's kernel
    work = dtype if backend.is_floating(dtype) else backend.dtype("float64")
    if not backend.is_floating(dtype):      # PyTorch rounds the ends to the dtype first
        start, end = int(start), int(end)
    start, end = (xp.asarray(float(v), dtype=work, device=backend.native_device)
                  for v in (start, end))
    step = xp.divide(xp.subtract(end, start), max(steps - 1, 1))
    index = xp.arange(steps, dtype=work, device=backend.native_device)
    from_start = xp.add(start, xp.multiply(step, index))
    from_end = xp.subtract(end, xp.multiply(step, xp.subtract(steps - 1, index)))
    values = xp.where(xp.less(index, max(steps // 2, 1)), from_start, from_end)
    return _made("linspace", backend, xp.astype(values, dtype), trainable, requires_grad)


def eye(n: int, m: int | None = None, *, dtype: str | Any | None = None,
        device: str | None = None, trainable: bool = False,
        requires_grad: bool | None = None) -> Tensor:
    """The n-by-m (n-by-n) matrix with ones on its diagonal."""
    n, m = _size("eye", (n, n if m is None else m))
    backend = _backend(device)
    dtype = _dtype("eye", backend, dtype, tensor.get_default_dtype())
    array = array_namespaces[backend].eye(n, m, dtype=dtype, device=backend.native_device)
    return _made("eye", backend, array, trainable, requires_grad)


def _drawn(function, draw, size, dtype, device, trainable, requires_grad):
    """Numbers from zen's generator (on the host, so a seed gives them on every device)."""
    size = _size(function, size)
    backend = _backend(device)
    dtype = _dtype(function, backend, dtype, tensor.get_default_dtype())
    array = Tensor(draw(random.generator(), size), trainable=False, device=backend.name,
                   dtype=dtype).value
    return _made(function, backend, array, trainable, requires_grad)


def rand(*size: Size, dtype: str | Any | None = None, device: str | None = None,
         trainable: bool = False, requires_grad: bool | None = None) -> Tensor:
    """Uniform numbers in [0, 1) from zen's seeded generator (``zen.seed``)."""
    return _drawn("rand", lambda generator, shape: generator.uniform(0.0, 1.0, shape), size,
                  dtype, device, trainable, requires_grad)


def randn(*size: Size, dtype: str | Any | None = None, device: str | None = None,
          trainable: bool = False, requires_grad: bool | None = None) -> Tensor:
    """Standard normal numbers from zen's seeded generator (``zen.seed``)."""
    return _drawn("randn", lambda generator, shape: generator.normal(0.0, 1.0, shape), size,
                  dtype, device, trainable, requires_grad)


def randint(low: int, high: int | None = None, size: Size | None = None, *,
            dtype: str | Any | None = None, device: str | None = None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)``: [0, high)), int64 unless given, from
    zen's seeded generator."""
    if size is None:
        low, high, size = 0, low, high
    if size is None or high is None:
        raise ArgumentError("randint: give randint(high, size) or randint(low, high, size)")
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ArgumentError(f"randint: {name} must be an int, got {value!r}")
    if low >= high:
        raise ArgumentError(f"randint: low must be below high, got low={low}, high={high}")
    return _drawn("randint", lambda generator, shape: generator.integers(low, high, shape),
                  (size,) if isinstance(size, numbers.Integral) else (tuple(size),),
                  "int64" if dtype is None else dtype, device, False, None)
