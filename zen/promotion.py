"""The dtype each op computes in: PyTorch's type promotion, in one place.

Every operand has a category, bool < integer < floating, and a weight:

- a tensor with dimensions is *strong*;
- a 0-d tensor (or 0-d array) is *weak*: it never widens a strong operand's dtype within the
  strong operand's category or a lower one;
- a Python number, a NumPy number or a list of numbers is *weaker* still, and stands for a
  dtype of its kind: a bool is ``bool``, an int ``int64``, a float the default float dtype.

Within one weight, dtypes of one category promote as in the array API (float32 and float64
give float64) and across categories the higher one wins (int64 and float16 give float16).
The weights then combine from the strongest: a weaker operand changes the result only when
its category is higher, and then the result is the promotion of the two. So:

    float32 tensor * 0-d float64 tensor -> float32     int32 tensor + 2.5        -> float32
    int32 tensor + 0-d float64 tensor   -> float64     bool tensor + 1           -> int64
    int32 tensor + 2                    -> int32       where(bool, 1, 3)         -> int64

Each op declares one rule for what it does with that dtype (``defop(..., dtypes=RULE)``):

    rule            ops                                       on bool   on integers
    numeric         + * @ maximum minimum < <= > >= neg       refused   kept
                    abs relu sign max min argmax clip linear
    subtraction     -                                         refused, even as one operand
    exponentiation  **                                        refused   kept; a negative
                                                                        exponent refused
    common          == != concat                              kept      kept
    floating        / exp log sqrt sin cos tanh sigmoid       float     float (the default
                    logsumexp rnn_step, the fused losses                float dtype)
    needs_floating  mean softmax log_softmax (and var)        refused   refused
    accumulate      sum                                       int64     int64
    select          where: the condition must be bool, x and y as ``common``
    logical         logical_and logical_or logical_not: inputs tested against 0, bool out

Inputs of another dtype are cast explicitly before the forward runs (a trainable one through
the recorded ``astype``, so its gradient comes back in its own dtype); no backend is left to
mix kinds. Ops with no rule (indexing, reshapes, ``astype``) take their inputs as they are.
"""

import math
import numbers

from zen import devices
from zen.errors import DeviceMismatchError, DtypeError
from zen.namespaces import array_namespaces
from zen.tensor import DEFAULT_DEVICE, Tensor, constant, conversion_error, get_default_dtype

STRONG, WEAK, SCALAR = 0, 1, 2


def promote(op, inputs):
    """``inputs`` (Tensors, arrays, numbers, lists) as Tensors, in the dtypes ``op`` uses."""
    if len(inputs) == 2 and op.dtypes in _SCALAR_TAKES_TENSOR_DTYPE:    # x * 0.5, 1 - x
        x, y = inputs
        if type(y) in _PYTHON_NUMBERS and _is_floating_tensor(x) and not op.views:
            return x, _kept_scalar(y, x.value.dtype, x._backend, op)
        if type(x) in _PYTHON_NUMBERS and _is_floating_tensor(y) and not op.views:
            return _kept_scalar(x, y.value.dtype, y._backend, op), y
    backend = _backend_of(inputs)
    operands = [_operand(x, backend, op.name) for x in inputs]
    for operand in operands:
        if isinstance(operand, Tensor) and operand._backend is not backend:
            raise device_mismatch(op, backend, operand._backend)
    if op.dtypes is None:
        return tuple(_tensor(operand, None, backend, op) for operand in operands)
    return op.dtypes(op, backend, operands)


def result_dtype(op_name, backend, operands):
    """The dtype that ``operands`` (Tensors and numbers) of ``op_name`` promote to."""
    return _common([_operand(x, backend, op_name) for x in operands], backend)


def can_cast(backend, source, target):
    """Whether an in-place op may store ``source`` values in a tensor of ``target`` dtype:
    never floats into integers or bools, nor numbers into bools (PyTorch's rule)."""
    return _category(backend, source) <= _category(backend, target)


def cast(x, dtype):
    """Tensor ``x`` in ``dtype``; recorded when ``x`` is trainable."""
    return x if x.dtype == dtype else x.astype(dtype)


def device_mismatch(op, first, second):
    return DeviceMismatchError(f"{op.name}: inputs are on different devices, {first.name} and "
                               f"{second.name}; move one with .to(device)")


_PYTHON_NUMBERS = (int, float)


def _is_floating_tensor(x):
    return type(x) is Tensor and x.value.dtype in x._backend.floating_dtypes


# The rules. Each takes the op, the backend and the operands; it returns the input Tensors.

def numeric(op, backend, operands):
    dtype = _common(operands, backend)
    if backend.is_bool(dtype):
        raise _refusal(op, operands, "bool tensors", "use logical_and/logical_or, or "
                       "convert with .astype('int64')")
    return _all_in(operands, dtype, backend, op)


def subtraction(op, backend, operands):
    if any(backend.is_bool(operand.dtype) for operand in operands):
        raise _refusal(op, operands, "bool operands", "for bools, != is a logical xor; or "
                       "convert with .astype('int64')")
    return numeric(op, backend, operands)


def exponentiation(op, backend, operands):
    inputs = numeric(op, backend, operands)
    exponent = inputs[1]
    if not backend.is_floating(exponent.dtype):
        array_namespaces[backend].check(_no_negative_powers, exponent.value, op=op,
                                        operands=operands)
    return inputs


def _no_negative_powers(xp, exponent, op, operands):
    if bool(xp.any(exponent < 0)):
        raise _refusal(op, operands, "integers to a negative integer power",
                       "use a float base, e.g. 2.0 ** x or x.astype('float32') ** -1")


def common(op, backend, operands):
    return _all_in(operands, _common(operands, backend), backend, op)


def floating(op, backend, operands):
    dtype = _common(operands, backend)
    if not backend.is_floating(dtype):
        dtype = backend.dtype(get_default_dtype())
    return _all_in(operands, dtype, backend, op)


def needs_floating(op, backend, operands):
    dtype = _common(operands, backend)
    if not backend.is_floating(dtype):
        raise _refusal(op, operands, f"{dtype} tensors (it needs a floating dtype, as in "
                                     f"PyTorch)", "convert with .astype('float32')")
    return _all_in(operands, dtype, backend, op)


def accumulate(op, backend, operands):
    dtype = _common(operands, backend)
    if not backend.is_floating(dtype):      # as PyTorch: uint8 too, which NumPy sums to uint64
        dtype = backend.dtype("int64")
    return _all_in(operands, dtype, backend, op)


def select(op, backend, operands):
    condition, *values = operands
    if not backend.is_bool(condition.dtype):
        raise DtypeError(f"{op.name}: the condition must be a bool tensor, got "
                         f"{condition.dtype}; compare it first, e.g. x != 0")
    return (_tensor(condition, None, backend, op),
            *_all_in(values, _common(values, backend), backend, op))


def logical(op, backend, operands):
    inputs = []
    for operand in operands:
        tensor = _tensor(operand, None, backend, op)
        if not backend.is_bool(tensor.dtype):
            tensor = constant(tensor.value != 0, backend)
        inputs.append(tensor)
    return tuple(inputs)


# For these rules a Python int or float next to a floating tensor always takes its dtype.
_SCALAR_TAKES_TENSOR_DTYPE = frozenset([numeric, subtraction, exponentiation, common,
                                        floating])


# Operands: a Tensor, or a number (with the dtype its kind stands for) not yet made one.

class _Number:
    __slots__ = ("value", "dtype")

    def __init__(self, value, dtype):
        self.value, self.dtype = value, dtype


def _weight(operand):
    if type(operand) is _Number:
        return SCALAR
    return STRONG if operand.ndim else WEAK


def _operand(x, backend, op_name):
    if isinstance(x, Tensor):
        return x
    owner = None if isinstance(x, (numbers.Number, list, tuple)) else \
        devices.backend_for_array(x)
    if owner is None:
        return _number(x, backend, op_name)
    if owner is not backend and not x.shape:    # a 0-d array or a NumPy bool: moved, as a
        return Tensor(owner.to_host(x), trainable=False, device=backend)   # number would be
    return Tensor(x, trainable=False)       # keeps its device: a mix is refused later


def _number(x, backend, op_name):
    """A Python or NumPy number, or a list of them, and the dtype its kind stands for."""
    if isinstance(x, bool):
        return _Number(x, backend.dtype("bool"))
    if isinstance(x, numbers.Integral):
        return _Number(x, backend.dtype("int64"))
    if isinstance(x, numbers.Real):
        return _Number(x, backend.dtype(get_default_dtype()))
    if isinstance(x, (list, tuple)):
        try:
            dtype = backend.asarray(x).dtype
        except (TypeError, ValueError, OverflowError) as error:
            raise conversion_error(x, error) from error
        if backend.is_real_or_bool(dtype):
            category = _category(backend, dtype)
            return _Number(x, backend.dtype(("bool", "int64", get_default_dtype())[category]))
    raise DtypeError(f"{op_name}: {type(x).__name__} {x!r:.60} is not an operand: zen takes "
                     f"Tensors, arrays, and real numbers or bools (or lists of them)")


def _backend_of(inputs):
    for x in inputs:
        if isinstance(x, Tensor):
            return x._backend
    for x in inputs:
        if not isinstance(x, (numbers.Number, list, tuple)):
            owner = devices.backend_for_array(x)
            if owner is not None:
                return owner
    return devices.get_backend(DEFAULT_DEVICE)


def _category(backend, dtype):
    if backend.is_bool(dtype):
        return 0
    return 2 if backend.is_floating(dtype) else 1


def _promote_types(backend, first, second):
    if first == second:
        return first
    first_category, second_category = _category(backend, first), _category(backend, second)
    if first_category != second_category:
        return first if first_category > second_category else second
    return array_namespaces[backend].result_type(first, second)


def _common(operands, backend):
    """PyTorch's result type: promote within each weight, then combine from the strongest."""
    by_weight = [None, None, None]
    for operand in operands:
        weight, dtype = _weight(operand), operand.dtype
        by_weight[weight] = dtype if by_weight[weight] is None else \
            _promote_types(backend, by_weight[weight], dtype)
    strong, weak, scalar = by_weight
    return _combine(backend, strong, _combine(backend, weak, scalar))


def _combine(backend, higher, lower):
    """The dtype of ``higher``-weight operands met by ``lower``-weight ones."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    higher_category = _category(backend, higher)
    if higher_category == 2:
        return higher
    if higher_category == 0 or _category(backend, lower) == 2:
        return _promote_types(backend, higher, lower)
    return higher


def _all_in(operands, dtype, backend, op):
    return tuple(_tensor(operand, dtype, backend, op) for operand in operands)


def _tensor(operand, dtype, backend, op):
    """``operand`` as a Tensor of ``dtype`` (its own if None)."""
    if isinstance(operand, Tensor):
        return operand if dtype is None else cast(operand, dtype)
    dtype = operand.dtype if dtype is None else dtype
    value = operand.value
    if not isinstance(value, numbers.Number) or op.views:   # a view of a kept constant
        return constant(_asarray(backend, value, dtype, op), backend)   # could change it
    return _kept_scalar(value, dtype, backend, op)


def _kept_scalar(value, dtype, backend, op):
    """The number ``value`` as a 0-d constant of ``dtype``, kept: loops such as ``y * 0.5``
    reuse one array. A zero's key holds its sign, so -0.0 is not 0.0."""
    key = (type(value), value, dtype, backend) if value else \
        (type(value), value, math.copysign(1, value), dtype, backend)
    cached = _scalars.get(key)
    if cached is None:
        if len(_scalars) > 4096:
            _scalars.clear()
        cached = _scalars[key] = constant(_asarray(backend, value, dtype, op), backend)
    return cached


_scalars = {}


def _asarray(backend, value, dtype, op):
    try:
        return backend.asarray(value, dtype)
    except (OverflowError, ValueError, TypeError) as error:
        raise DtypeError(f"{op.name}: the operand {value!r:.60} does not fit in {dtype} "
                         f"({error})") from None


def _refusal(op, operands, what, advice):
    dtypes = ", ".join(str(operand.dtype) for operand in operands)
    return DtypeError(f"{op.name}: not defined for {what} (operand dtypes {dtypes}); {advice}")
