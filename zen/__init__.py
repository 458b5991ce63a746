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
from zen.reductions import (
    ValuesIndices,
    argsort,
    cummax,
    cummin,
    cumprod,
    cumsum,
    logcumsumexp,
    prod,
    sort,
    std,
    std_mean,
    topk,
    var_mean,
)
from zen.reductions import all as all
from zen.reductions import any as any
from zen.selection import (
    gather,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    one_hot,
    scatter,
    scatter_add,
    scatter_reduce,
)
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

# zen.abs, zen.all, zen.any, zen.max, zen.min and zen.sum stay out of `import *`: they
# would hide builtins.
__all__ = [
    "OPS", "Tensor", "ValuesIndices", "add", "argmax", "argmin", "argsort", "astype", "avg_pool2d",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "broadcast_to", "chunk", "clip",
    "concat", "conv2d", "cos", "cross_entropy", "cummax", "cummin", "cumprod", "cumsum",
    "detect_anomaly", "diag", "diagonal", "distributed", "divide", "einsum", "equal", "errors",
    "exp", "expand_dims", "flatten", "flip", "from_dlpack", "gather", "get_default_dtype",
    "getitem", "grad", "grad_enabled", "gradcheck", "gradients", "greater", "greater_equal",
    "huber_loss", "index_select", "is_grad_enabled", "kl_div", "l1_loss", "less", "less_equal",
    "log", "log_softmax", "logcumsumexp", "logical_and", "logical_not", "logical_or", "logsumexp",
    "loss", "masked_fill", "masked_select", "matmul", "matrix_transpose", "max_pool2d", "maximum",
    "mean", "meshgrid", "minimum", "movedim", "mse_loss", "multiply", "narrow", "negative",
    "nll_loss", "nn", "no_grad", "nonzero", "not_equal", "one_hot", "optim", "outer", "pad",
    "permute_dims", "power", "prod", "reduce_mean", "reduce_sum", "relu", "repeat_interleave",
    "reshape", "roll", "scatter", "scatter_add", "scatter_reduce", "seed", "set_default_dtype",
    "sigmoid", "sign", "sin", "smooth_l1_loss", "softmax", "sort", "split", "sqrt", "squeeze",
    "stack", "std", "std_mean", "subtract", "take", "tanh", "tile", "topk", "transpose", "tril",
    "triu", "value_and_grad", "var", "var_mean", "where",
]
