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
from zen.autograd import grad, gradients, value_and_grad
from zen.contractions import einsum, outer
from zen.functional import (
    avg_pool2d,
    conv2d,
    expand_dims,
    flatten,
    max_pool2d,
    split,
    squeeze,
    stack,
    var,
)
from zen.gradcheck import gradcheck
from zen.indexing import getitem
from zen.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from zen.ops import (
    OPS,
    add,
    argmax,
    argmin,
    astype,
    broadcast_to,
    clip,
    concat,
    cos,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log_softmax,
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
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    subtract,
    sum,
    take,
    tanh,
    transpose,
    where,
)

# Explicit re-exports that __all__ leaves out (see there)
from zen.ops import abs as abs
from zen.ops import max as max
from zen.ops import min as min
from zen.random import seed
from zen.recorder import detect_anomaly, grad_enabled, is_grad_enabled, no_grad
from zen.shapes import (
    chunk,
    diag,
    diagonal,
    flip,
    meshgrid,
    movedim,
    narrow,
    pad,
    repeat_interleave,
    roll,
    tile,
    tril,
    triu,
)
from zen.tensor import Tensor, from_dlpack, get_default_dtype, set_default_dtype

reduce_sum, reduce_mean = sum, mean     # the names in the original Zen

__version__ = "0.5.0"

# zen.abs, zen.max, zen.min and zen.sum stay out of `import *`: they would hide builtins.
__all__ = [
    "OPS", "Tensor", "add", "argmax", "argmin", "astype", "avg_pool2d", "broadcast_to", "clip",
    "concat", "conv2d", "cos", "detect_anomaly", "distributed", "divide", "equal", "errors",
    "exp", "expand_dims", "flatten", "from_dlpack", "get_default_dtype", "getitem", "grad",
    "grad_enabled", "gradcheck", "gradients", "greater", "greater_equal", "is_grad_enabled",
    "less", "less_equal", "log", "log_softmax", "logical_and", "logical_not", "logical_or",
    "logsumexp", "loss", "matmul", "matrix_transpose", "max_pool2d", "maximum", "mean",
    "minimum", "multiply", "negative", "nn", "no_grad", "not_equal", "optim", "pad",
    "permute_dims", "power", "reduce_mean", "reduce_sum", "relu", "reshape", "seed",
    "set_default_dtype", "sigmoid", "sign", "sin", "softmax", "split", "sqrt", "squeeze",
    "stack", "subtract", "take", "tanh", "transpose", "value_and_grad", "var", "where",
]
__all__ += [     # shape ops and linear algebra
    "chunk", "diag", "diagonal", "einsum", "flip", "meshgrid", "movedim", "narrow", "outer",
    "repeat_interleave", "roll", "tile", "tril", "triu",
]
# PyTorch's losses (torch.nn.functional's names), also in zen.loss.
__all__ += [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss",
    "kl_div", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss",
]
