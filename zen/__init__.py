"""zen: a define-by-run autodiff engine on NumPy (CPU) or CuPy (CUDA) arrays.

>>> from zen import Tensor
>>> a, b = Tensor(10.0), Tensor(5.0)
>>> d = (a * b) ** 2
>>> d.get_gradients()
>>> print(a.gradient, b.gradient)
500.0 1000.0
"""

from zen import errors
from zen.autograd import gradients
from zen.gradcheck import gradcheck
from zen.ops import (OPS, add, broadcast_to, divide, equal, exp, greater, greater_equal,
                     less, less_equal, log, matmul, matrix_transpose, mean, multiply,
                     negative, not_equal, permute_dims, power, reshape, subtract, sum, tanh,
                     transpose)
from zen.tensor import (Tensor, get_default_dtype, grad_enabled, is_grad_enabled, no_grad,
                        set_default_dtype)

__version__ = "0.1.0"

__all__ = [
    "OPS", "Tensor", "add", "broadcast_to", "divide", "equal", "errors", "exp", "get_default_dtype",
    "grad_enabled", "gradcheck", "gradients", "greater", "greater_equal", "is_grad_enabled",
    "less", "less_equal", "log", "matmul", "matrix_transpose", "mean", "multiply", "negative",
    "no_grad", "not_equal", "permute_dims", "power", "reshape", "set_default_dtype", "subtract",
    "sum", "tanh", "transpose",
]
