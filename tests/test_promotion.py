"""Dtype promotion follows PyTorch's rules, on every backend.

Python numbers, NumPy scalars and 0-d tensors are "weak": they never widen a dimensioned
tensor's dtype within its category (bool < integer < floating), and a weak float meeting an
integer or bool tensor gives the default float dtype (float32). Where PyTorch refuses an
operation, zen refuses it too, with one of its own errors (a ``ZenError``).

The first part pins the reported cases by hand and needs no PyTorch. The rest compares zen
with PyTorch over tables of operands and ops; each test covers one op on one device, tries
every pair, and fails once with a list of every disagreement.
"""

import operator
from collections.abc import Callable
from typing import NamedTuple

import numpy
import pytest

import zen
from zen import Tensor
from zen.errors import DtypeError, ShapeMismatchError, ZenError


def _dtype_name(tensor):
    return tensor.numpy().dtype.name


def _bools(values, device):
    """A bool tensor (a list of Python bools alone would become the default float dtype)."""
    return Tensor(values, dtype="bool", device=device)


# --- The reported cases, by hand -------------------------------------------------------------

def test_where_with_two_python_ints_is_int64(device):
    condition = _bools([True, False], device)
    result = zen.where(condition, 1, 3)
    assert _dtype_name(result) == "int64"
    numpy.testing.assert_array_equal(result.numpy(), [1, 3])


def test_bool_tensor_equals_python_int_compares_as_integers(device):
    condition = _bools([True, False], device)
    numpy.testing.assert_array_equal((condition == 2).numpy(), [False, False])


def test_maximum_of_bool_tensor_and_python_int_is_int64(device):
    condition = _bools([True, False], device)
    result = zen.maximum(condition, 3)
    assert _dtype_name(result) == "int64"
    numpy.testing.assert_array_equal(result.numpy(), [3, 3])


def test_bool_tensor_to_a_python_int_power_is_int64(device):
    result = _bools([True, False], device) ** 2
    assert _dtype_name(result) == "int64"
    numpy.testing.assert_array_equal(result.numpy(), [1, 0])


def test_int_tensor_plus_python_float_is_the_default_float(device):
    result = Tensor([1, 2, 3], dtype="int64", device=device) + 0.5
    assert _dtype_name(result) == "float32"
    numpy.testing.assert_allclose(result.numpy(), [1.5, 2.5, 3.5])


def test_python_float_to_an_int_tensor_power_is_the_default_float(device):
    result = 0.7 ** Tensor([1, 2], dtype="int64", device=device)
    assert _dtype_name(result) == "float32"
    numpy.testing.assert_allclose(result.numpy(), [0.7, 0.49], rtol=1e-6)


def test_int_divided_by_int_and_exp_of_int_are_the_default_float(device):
    x = Tensor([1, 2], dtype="int32", device=device)
    assert _dtype_name(x / x) == "float32"
    assert _dtype_name(zen.exp(x)) == "float32"


def test_0d_float64_tensor_does_not_widen_a_float32_vector(device):
    vector = Tensor([1.0, 2.0], dtype="float32", device=device)
    result = vector * Tensor(0.5, dtype="float64", device=device)
    assert _dtype_name(result) == "float32"
    numpy.testing.assert_allclose(result.numpy(), [0.5, 1.0])


def test_numpy_float64_scalar_does_not_widen_a_float32_tensor(device):
    result = Tensor([1.0, 2.0], dtype="float32", device=device) * numpy.float64(0.5)
    assert _dtype_name(result) == "float32"
    numpy.testing.assert_allclose(result.numpy(), [0.5, 1.0])


def test_mean_of_an_int_tensor_is_refused(device):
    with pytest.raises(DtypeError):
        zen.mean(Tensor([1, 2, 3], dtype="int64", device=device))


def test_in_place_add_of_a_float_to_an_int_tensor_is_refused_not_truncated(device):
    x = Tensor([1, 2, 3], dtype="int64", device=device)
    with zen.no_grad(), pytest.raises(DtypeError):
        x += 0.7
    assert _dtype_name(x) == "int64"
    numpy.testing.assert_array_equal(x.numpy(), [1, 2, 3])


def test_in_place_add_of_float64_to_float32_stays_float32(device):
    x = Tensor([1.0, 2.0], dtype="float32", device=device, trainable=False)
    with zen.no_grad():
        x += Tensor([0.5, 0.25], dtype="float64", device=device)
    assert _dtype_name(x) == "float32"
    numpy.testing.assert_allclose(x.numpy(), [1.5, 2.25])


def test_in_place_add_that_would_broadcast_to_a_bigger_shape_is_refused(device):
    x = Tensor([1.0, 2.0, 3.0], dtype="float32", device=device, trainable=False)
    with zen.no_grad(), pytest.raises(ShapeMismatchError):
        x += Tensor(numpy.ones((2, 3), dtype="float32"), device=device)
    assert x.shape == (3,)
    numpy.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])


NUMBERS = [0.0, -0.0, 0, 1, 1.0, True, 2.5, -3, float("inf"), float("nan")]
ARITHMETIC = [operator.add, operator.sub, operator.mul, operator.truediv]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_each_python_number_beside_a_float_tensor_is_its_own_constant(dtype, device):
    """Python numbers become kept 0-d constants in the tensor's dtype: each must give what
    NumPy gives with that number, whatever numbers ran before it (0 is not -0.0, 1 is not
    1.0 nor True), on either side of the operator."""
    host = numpy.array([-0.0, 0.0, 1.5, -2.0], dtype=dtype)
    x = Tensor(host, device=device)
    for number in NUMBERS + NUMBERS[::-1]:
        constant = numpy.asarray(number, dtype=dtype)
        for op in ARITHMETIC:
            if number is True and op is operator.sub:
                continue        # refused, as PyTorch refuses a bool in subtraction
            for got, expected in ((op(x, number), op(host, constant)),
                                  (op(number, x), op(constant, host))):
                assert got.dtype == x.dtype, (op, number)
                numpy.testing.assert_array_equal(got.numpy(), expected, err_msg=str(number))
                numpy.testing.assert_array_equal(numpy.signbit(got.numpy()),
                                                 numpy.signbit(expected), err_msg=str(number))


# --- PyTorch as the oracle: operands and expectations ----------------------------------------

@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the promotion "
                                                "tables: pip install torch")
    assert torch.get_default_dtype() == torch.float32
    return torch


class Operand(NamedTuple):
    """One side of an op: a tensor of ``dtype`` holding ``value`` (a list for a vector, a
    number for a 0-d tensor), or, when ``dtype`` is None, the Python or NumPy scalar
    ``value`` itself, passed as it is to both libraries."""
    label: str
    value: object
    dtype: str | None = None

    @property
    def is_tensor(self):
        return self.dtype is not None

    def for_zen(self, device):
        if not self.is_tensor:
            return self.value
        return Tensor(self.value, dtype=self.dtype, device=device)

    def for_torch(self, torch):
        if not self.is_tensor:
            stand_in = ORACLE_STAND_INS.get(type(self.value))
            return self.value if stand_in is None else stand_in(self.value)
        return torch.tensor(self.value, dtype=getattr(torch, self.dtype))


DTYPES = ["bool", "int32", "int64", "float32", "float64"]

# Small positive values that every dtype holds exactly. The bool vector holds a False, so a
# division by it gives inf and nan on both sides, compared as such.
VECTOR_VALUES = {"bool": [True, False, True], "int32": [1, 2, 3], "int64": [1, 2, 3],
                 "float32": [1.5, 2.0, 3.0], "float64": [1.5, 2.0, 3.0]}
ZERO_D_VALUES = {"bool": True, "int32": 2, "int64": 2, "float32": 2.5, "float64": 2.5}

VECTORS = [Operand(f"{dtype}[3]", VECTOR_VALUES[dtype], dtype) for dtype in DTYPES]
ZERO_DS = [Operand(f"{dtype}[]", ZERO_D_VALUES[dtype], dtype) for dtype in DTYPES]
TENSORS = VECTORS + ZERO_DS
SCALARS = [Operand(repr(value), value) for value in [
    True, 2, 2.5, numpy.bool_(True), numpy.int32(2), numpy.int64(2), numpy.float32(2.5),
    numpy.float64(2.5)]]
OPERANDS = TENSORS + SCALARS

# Scalars that PyTorch is asked about in another form than zen (type -> conversion).
# PyTorch reads np.bool_ as a Python *float*: int32[3] + np.bool_(True) is float32
# [2., 3., 4.], and so is where(c, int32[3], np.bool_(True)). zen reads it as the Python bool
# it holds, a weak bool that never moves a tensor to another category (DESIGN.md: a NumPy
# scalar never widens a tensor's dtype), so PyTorch is asked about True instead. Delete the
# entry to demand PyTorch's reading.
ORACLE_STAND_INS = {numpy.bool_: bool}

# PyTorch computes some arithmetic on bools in bool: bool + bool is a logical or, bool * bool
# a logical and, bool_tensor ** True is bool (its scalar-exponent path; bool ** bool_tensor
# raises), and it orders bools (False < True) for max, min, maximum, minimum and <, <=, >,
# >=. zen
# refuses arithmetic and ordering on bools with DtypeError (the README says so): a refusal or
# PyTorch's result passes. Take an op out of this set to demand PyTorch's result.
MAY_REFUSE_WHERE_PYTORCH_GIVES_BOOL = {"+", "*", "**", "maximum", "minimum", "max", "min",
                                       "<", "<=", ">", ">="}


def _pairs(operands):
    """Every ordered pair of ``operands`` with at least one tensor."""
    return [(x, y) for x in operands for y in operands if x.is_tensor or y.is_tensor]


# --- Comparing one call in both libraries ---------------------------------------------------

class Refused(NamedTuple):
    error: Exception

    def __str__(self):
        return f"raises {type(self.error).__name__}({str(self.error)[:80]!r})"


class Result(NamedTuple):
    array: numpy.ndarray

    def __str__(self):
        return f"gives {self.array.dtype.name} {self.array.tolist()}"


def _run_torch(call):
    try:
        return Result(call().numpy())
    except Exception as error:  # noqa: BLE001 (PyTorch refuses with RuntimeError, TypeError, ...)
        return Refused(error)


def _run_zen(call, device):
    """zen's outcome; an exception other than a ZenError, or a result on another device, is
    returned as a string that describes the failure."""
    try:
        with numpy.errstate(divide="ignore", invalid="ignore"):
            result = call()
    except ZenError as error:
        return Refused(error)
    except Exception as error:  # noqa: BLE001 (any other exception is a failure to report)
        return f"raises {type(error).__name__}, not a ZenError: {str(error)[:80]}"
    if not isinstance(result, Tensor):
        return f"gives a {type(result).__name__}, not a Tensor"
    if result.device != device:
        return f"gives a result on {result.device}"
    return Result(result.numpy())


def _same_values(got, expected):
    if got.shape != expected.shape:
        return False
    if expected.dtype.kind != "f":
        return numpy.array_equal(got, expected)
    tolerance = 1e-6 if expected.dtype == numpy.float32 else 1e-12
    return numpy.allclose(got, expected, rtol=tolerance, atol=tolerance, equal_nan=True)


def _disagreement(got, expected, may_refuse_bool=False, refusals=ZenError):
    """None where zen's outcome ``got`` agrees with PyTorch's ``expected``, else why not.
    ``refusals``: the zen error class (or classes) that may answer a refusal of PyTorch's."""
    if isinstance(got, str):
        return got
    if isinstance(expected, Refused):
        if isinstance(got, Refused) and isinstance(got.error, refusals):
            return None
        classes = refusals if isinstance(refusals, tuple) else (refusals,)
        names = " or ".join(error.__name__ for error in classes)
        return f"zen {got}; PyTorch {expected}, so zen must raise {names}"
    if isinstance(got, Refused):
        if may_refuse_bool and expected.array.dtype == numpy.bool_ and \
                isinstance(got.error, DtypeError):
            return None
        return f"zen {got}; PyTorch {expected}"
    if got.array.dtype != expected.array.dtype or not _same_values(got.array, expected.array):
        return f"zen {got}; PyTorch {expected}"
    return None


def _fail_on(disagreements, what):
    if disagreements:
        pytest.fail(f"{len(disagreements)} disagreement(s) with PyTorch in {what}:\n  "
                    + "\n  ".join(disagreements), pytrace=False)


# --- Binary ops and where --------------------------------------------------------------------

def _scalars_promoted(name):
    """torch.maximum and torch.minimum take tensors only; zen also takes numbers, which the
    oracle promotes as PyTorch promotes them for + (torch.result_type)."""
    def call(torch, x, y):
        function = getattr(torch, name)
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            return function(x, y)
        dtype = torch.result_type(x, y)
        return function(torch.as_tensor(x, dtype=dtype), torch.as_tensor(y, dtype=dtype))
    return call


class BinaryOp(NamedTuple):
    name: str
    zen: Callable               # zen(x, y)
    torch: Callable             # torch(torch_module, x, y)


def _infix(symbol, function):
    """An operator, the same call in both libraries."""
    return BinaryOp(symbol, function, lambda torch, x, y: function(x, y))


BINARY_OPS = [
    _infix("+", operator.add),
    _infix("-", operator.sub),
    _infix("*", operator.mul),
    _infix("/", operator.truediv),
    _infix("**", operator.pow),
    BinaryOp("maximum", zen.maximum, _scalars_promoted("maximum")),
    BinaryOp("minimum", zen.minimum, _scalars_promoted("minimum")),
    _infix("<", operator.lt),
    _infix("<=", operator.le),
    _infix(">", operator.gt),
    _infix(">=", operator.ge),
    _infix("==", operator.eq),
    _infix("!=", operator.ne),
]


@pytest.mark.parametrize("op", BINARY_OPS, ids=[op.name for op in BINARY_OPS])
def test_binary_op_promotes_as_pytorch_does(op, device, torch):
    disagreements = []
    for x, y in _pairs(OPERANDS):
        expected = _run_torch(lambda: op.torch(torch, x.for_torch(torch), y.for_torch(torch)))
        got = _run_zen(lambda: op.zen(x.for_zen(device), y.for_zen(device)), device)
        why = _disagreement(got, expected, op.name in MAY_REFUSE_WHERE_PYTORCH_GIVES_BOOL)
        if why:
            disagreements.append(f"{x.label} {op.name} {y.label}: {why}")
    _fail_on(disagreements, f"x {op.name} y on {device}")


def test_where_promotes_its_two_branches_as_pytorch_does(device, torch):
    condition = [True, False, True]
    disagreements = []
    for x, y in [(x, y) for x in OPERANDS for y in OPERANDS]:    # two scalars too
        expected = _run_torch(lambda: torch.where(torch.tensor(condition), x.for_torch(torch),
                                                  y.for_torch(torch)))
        got = _run_zen(lambda: zen.where(_bools(condition, device), x.for_zen(device),
                                         y.for_zen(device)), device)
        why = _disagreement(got, expected)
        if why:
            disagreements.append(f"where(c, {x.label}, {y.label}): {why}")
    _fail_on(disagreements, f"where on {device}")


# --- Integer and bool maths --------------------------------------------------------------------

# One input per dtype, shaped (3,), with distinct values so that argmax has one answer; the
# float rows show the rules that integers and bools are measured against.
UNARY_VALUES = {"bool": [True, False, True], "int32": [1, 3, 2], "int64": [1, 3, 2],
                "float32": [1.5, 3.0, 2.0], "float64": [1.5, 3.0, 2.0]}


class UnaryOp(NamedTuple):
    name: str
    zen: Callable               # zen(x)
    torch: Callable             # torch(torch_module, x)


def _elementwise(name):
    return UnaryOp(name, getattr(zen, name), lambda torch, t: getattr(torch, name)(t))


UNARY_OPS = [
    UnaryOp("negative", operator.neg, lambda torch, t: -t),
    *[_elementwise(name) for name in ["abs", "exp", "log", "sqrt", "sin", "cos", "tanh",
                                      "sigmoid", "relu"]],
    UnaryOp("sum", zen.sum, lambda torch, t: torch.sum(t)),
    UnaryOp("mean", zen.mean, lambda torch, t: torch.mean(t)),
    UnaryOp("max", zen.max, lambda torch, t: torch.amax(t)),
    UnaryOp("min", zen.min, lambda torch, t: torch.amin(t)),
    UnaryOp("argmax", zen.argmax, lambda torch, t: torch.argmax(t)),
    UnaryOp("var", zen.var, lambda torch, t: torch.var(t)),     # both default to correction 1
    UnaryOp("softmax", zen.softmax, lambda torch, t: torch.softmax(t, dim=-1)),
    UnaryOp("log_softmax", zen.log_softmax, lambda torch, t: torch.log_softmax(t, dim=-1)),
    UnaryOp("logsumexp", zen.logsumexp, lambda torch, t: torch.logsumexp(t, dim=-1)),
    UnaryOp("clip(0, 2)", lambda x: zen.clip(x, 0, 2), lambda torch, t: torch.clamp(t, 0, 2)),
    UnaryOp("clip(0.5, 2.5)", lambda x: zen.clip(x, 0.5, 2.5),
            lambda torch, t: torch.clamp(t, 0.5, 2.5)),
    UnaryOp("clip(0, 2.5)", lambda x: zen.clip(x, 0, 2.5),
            lambda torch, t: torch.clamp(t, 0, 2.5)),
    UnaryOp("clip(min=2)", lambda x: zen.clip(x, min=2), lambda torch, t: torch.clamp(t, min=2)),
    UnaryOp("clip(max=2.5)", lambda x: zen.clip(x, max=2.5),
            lambda torch, t: torch.clamp(t, max=2.5)),
    UnaryOp("clip(np.float64 bounds)",
            lambda x: zen.clip(x, numpy.float64(0.5), numpy.float64(2.5)),
            lambda torch, t: torch.clamp(t, numpy.float64(0.5), numpy.float64(2.5))),
    UnaryOp("clip(False, True)", lambda x: zen.clip(x, False, True),
            lambda torch, t: torch.clamp(t, False, True)),
]


@pytest.mark.parametrize("op", UNARY_OPS, ids=[op.name for op in UNARY_OPS])
def test_unary_op_or_reduction_matches_pytorch_on_every_dtype(op, device, torch):
    disagreements = []
    for dtype, values in UNARY_VALUES.items():
        expected = _run_torch(lambda: op.torch(torch, torch.tensor(values,
                                                                   dtype=getattr(torch, dtype))))
        got = _run_zen(lambda: op.zen(Tensor(values, dtype=dtype, device=device)), device)
        why = _disagreement(got, expected, op.name in MAY_REFUSE_WHERE_PYTORCH_GIVES_BOOL)
        if why:
            disagreements.append(f"{op.name} of {dtype}{values}: {why}")
    _fail_on(disagreements, f"{op.name} on {device}")


@pytest.mark.parametrize("exponent", [-1, numpy.int64(-1)], ids=["-1", "np.int64(-1)"])
def test_integer_tensor_to_a_negative_integer_scalar_power_is_refused(exponent, device, torch):
    disagreements = []
    for base in TENSORS:      # the float tensors are controls: they may take any power
        expected = _run_torch(lambda: base.for_torch(torch) ** exponent)
        got = _run_zen(lambda: base.for_zen(device) ** exponent, device)
        why = _disagreement(got, expected)
        if why:
            disagreements.append(f"{base.label} ** {exponent!r}: {why}")
    _fail_on(disagreements, f"negative powers on {device}")


# --- In place ----------------------------------------------------------------------------------

IN_PLACE_OPS = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
                "/=": operator.itruediv, "**=": operator.ipow}

# Operands that do not broadcast to the target's shape: a (2, 3) tensor, which would make a
# (3,) target bigger (and any vector would make a 0-d target bigger).
WIDE = Operand("float32[2,3]", [[1.0, 2.0, 3.0]] * 2, "float32")


def _in_torch_in_place(torch, function, target, operand):
    """PyTorch's outcome of ``target op= operand``: the value the target holds after it."""
    def in_place():
        t = target.for_torch(torch)
        function(t, operand)
        return t
    return _run_torch(in_place)


def _in_place_refusals(torch, function, target, operand):
    """The zen errors that may refuse ``target op= operand`` where PyTorch refuses it:
    ShapeMismatchError where the operand would make the target bigger, DtypeError where
    PyTorch refuses the dtypes alone (asked again with a 0-d operand of the operand's dtype,
    which gives the same verdict, so that the shape plays no part), either where both apply.
    """
    operand_shape = numpy.shape(operand.value) if operand.is_tensor else ()
    shape = numpy.shape(target.value)
    reasons = () if numpy.broadcast_shapes(shape, operand_shape) == shape else \
        (ShapeMismatchError,)
    element = operand.for_torch(torch)
    if operand.is_tensor:
        element = element.flatten()[0]
    if isinstance(_in_torch_in_place(torch, function, target, element), Refused):
        reasons += (DtypeError,)
    return reasons or ZenError


def _run_zen_in_place(function, target, operand, device):
    """zen's outcome of ``target op= operand`` under no_grad: the value the target holds
    after it. The op must write into the target itself, and a refusal must leave it as it
    was."""
    x = Tensor(target.value, dtype=target.dtype, device=device, trainable=False)
    before = x.numpy().copy()
    returned = []

    def in_place():
        returned.append(function(x, operand.for_zen(device)))
        return x

    with zen.no_grad():
        got = _run_zen(in_place, device)
    if isinstance(got, Refused):
        if x.shape != before.shape or not numpy.array_equal(x.numpy(), before):
            return f"raises but changes x to {x.numpy().tolist()}"
    elif returned and returned[0] is not x:
        return "makes a new tensor instead of writing into x"
    return got


@pytest.mark.parametrize("symbol", list(IN_PLACE_OPS))
def test_in_place_op_keeps_the_targets_dtype_or_refuses_as_pytorch_does(symbol, device,
                                                                          torch):
    function = IN_PLACE_OPS[symbol]
    disagreements = []
    for target, operand in [(x, y) for x in TENSORS for y in OPERANDS + [WIDE]]:
        expected = _in_torch_in_place(torch, function, target, operand.for_torch(torch))
        got = _run_zen_in_place(function, target, operand, device)
        refusals = _in_place_refusals(torch, function, target, operand) if \
            isinstance(expected, Refused) else ZenError
        why = _disagreement(got, expected, symbol[:-1] in MAY_REFUSE_WHERE_PYTORCH_GIVES_BOOL,
                            refusals)
        if why:
            disagreements.append(f"{target.label} {symbol} {operand.label}: {why}")
    _fail_on(disagreements, f"x {symbol} y under no_grad on {device}")
