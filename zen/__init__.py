"""zen: a define-by-run autodiff engine on NumPy (CPU) or CuPy (CUDA) arrays.

>>> from zen import Tensor
>>> a, b = Tensor(10.0), Tensor(5.0)
>>> d = (a * b) ** 2
>>> d.get_gradients()
>>> print(a.gradient, b.gradient)
500.0 1000.0
"""

import zen.own_backends  # noqa: F401 (first: a check that the backends found are zen's)
from zen import distributed, errors, loss, nn, optim
from zen.activations import (
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    normalize,
    relu6,
    selu,
    silu,
    softmin,
    softplus,
    softsign,
)
from zen.autograd import grad, gradients, value_and_grad
from zen.elementwise import div, exp2, isclose, lerp, rsqrt
from zen.functional import (
    avg_pool2d,
    conv2d,
    expand_dims,
    flatten,
    max_pool2d,
    pad,
    split,
    squeeze,
    stack,
    var,
)
from zen.gradcheck import gradcheck
from zen.indexing import getitem
from zen.ops import (
    OPS,
    acos,
    acosh,
    add,
    argmax,
    argmin,
    asin,
    asinh,
    astype,
    atan,
    atan2,
    atanh,
    broadcast_to,
    ceil,
    clip,
    concat,
    copysign,
    cos,
    cosh,
    divide,
    equal,
    erf,
    exp,
    expm1,
    floor,
    floor_divide,
    fmod,
    greater,
    greater_equal,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    matmul,
    matrix_transpose,
    maximum,
    mean,
    minimum,
    multiply,
    negative,
    not_equal,
    permute_dims,
    power,
    relu,
    remainder,
    reshape,
    sigmoid,
    sign,
    sin,
    sinh,
    softmax,
    sqrt,
    subtract,
    sum,
    take,
    tan,
    tanh,
    transpose,
    trunc,
    where,
)

# Explicit re-exports that __all__ leaves out (see there)
from zen.ops import abs as abs
from zen.ops import max as max
from zen.ops import min as min
from zen.ops import round as round
from zen.random import seed
from zen.recorder import detect_anomaly, grad_enabled, is_grad_enabled, no_grad
from zen.tensor import Tensor, from_dlpack, get_default_dtype, set_default_dtype

reduce_sum, reduce_mean = sum, mean     # the names in the original Zen

__version__ = "0.4.0"

# zen.abs, zen.max, zen.min, zen.round and zen.sum stay out of `import *`: they would hide builtins.
__all__ = [
    "OPS", "Tensor", "acos", "acosh", "add", "argmax", "argmin", "asin", "asinh", "astype",
    "atan", "atan2", "atanh", "avg_pool2d", "broadcast_to", "ceil", "celu", "clip", "concat",
    "conv2d", "copysign", "cos", "cosh", "detect_anomaly", "distributed", "div", "divide",
    "elu", "equal", "erf", "errors", "exp", "exp2", "expand_dims", "expm1", "flatten", "floor",
    "floor_divide", "fmod", "from_dlpack", "gelu", "get_default_dtype", "getitem", "grad",
    "grad_enabled", "gradcheck", "gradients", "greater", "greater_equal", "hardsigmoid",
    "hardswish", "hardtanh", "is_grad_enabled", "isclose", "isfinite", "isinf", "isnan",
    "leaky_relu", "lerp", "less", "less_equal", "log", "log1p", "log2", "log10", "log_softmax",
    "logaddexp", "logical_and", "logical_not", "logical_or", "logsigmoid", "logsumexp", "loss",
    "matmul", "matrix_transpose", "max_pool2d", "maximum", "mean", "minimum", "mish",
    "multiply", "negative", "nn", "no_grad", "normalize", "not_equal", "optim", "pad",
    "permute_dims", "power", "reduce_mean", "reduce_sum", "relu", "relu6", "remainder",
    "reshape", "rsqrt", "seed", "selu", "set_default_dtype", "sigmoid", "sign", "silu", "sin",
    "sinh", "softmax", "softmin", "softplus", "softsign", "split", "sqrt", "squeeze", "stack",
    "subtract", "take", "tan", "tanh", "transpose", "trunc", "value_and_grad", "var", "where",
]
