"""The op table: every differentiable primitive, its forward and its VJPs, side by side.

``defop(name, forward, *vjps)`` declares a primitive (see ``zen.tensor.Op`` for the two
signatures). Forwards are written against the backend's array-API namespace ``xp``; VJPs
against ``F``, which is that same namespace during a plain backward pass and zen's own
namespace (``tensor_namespace``) when the backward pass is recorded, so one formula serves
first and higher-order gradients. Broadcast gradients are summed back centrally, in
``zen.autograd``, never here.
"""

import math
import types

from zen.errors import AxisError
from zen.tensor import Op, Tensor, apply, as_tensor

OPS = {}   # name -> Op, every primitive zen records


def defop(name, forward, *vjps):
    """Declare a primitive and return the function that applies it to Tensors."""
    op = Op(name, forward, vjps)
    OPS[name] = op

    def apply_op(*inputs, **params):
        return apply(op, inputs, params)

    apply_op.__name__ = apply_op.__qualname__ = name
    apply_op.op = op
    return apply_op


# Elementwise arithmetic: x and y broadcast against each other.
add = defop("add", lambda xp, x, y: x + y,
            lambda F, g, ans, x, y: g,
            lambda F, g, ans, x, y: g)
subtract = defop("subtract", lambda xp, x, y: x - y,
                 lambda F, g, ans, x, y: g,
                 lambda F, g, ans, x, y: -g)
multiply = defop("multiply", lambda xp, x, y: x * y,
                 lambda F, g, ans, x, y: g * y,
                 lambda F, g, ans, x, y: g * x)
divide = defop("divide", lambda xp, x, y: x / y,
               lambda F, g, ans, x, y: g / y,
               lambda F, g, ans, x, y: -g * ans / y)
power = defop("power", lambda xp, x, y: x ** y,
              lambda F, g, ans, x, y: g * y * x ** (y - 1),
              lambda F, g, ans, x, y: g * ans * F.log(x))
negative = defop("negative", lambda xp, x: -x,
                 lambda F, g, ans, x: -g)

# Elementwise functions.
exp = defop("exp", lambda xp, x: xp.exp(x),
            lambda F, g, ans, x: g * ans)
log = defop("log", lambda xp, x: xp.log(x),
            lambda F, g, ans, x: g / x)
tanh = defop("tanh", lambda xp, x: xp.tanh(x),
             lambda F, g, ans, x: g * (1 - ans * ans))
astype = defop("astype", lambda xp, x, dtype: xp.astype(x, dtype),
               lambda F, g, ans, x, dtype: F.astype(g, x.dtype))

# Comparisons: bool results, no gradient.
less = defop("less", lambda xp, x, y: x < y)
less_equal = defop("less_equal", lambda xp, x, y: x <= y)
greater = defop("greater", lambda xp, x, y: x > y)
greater_equal = defop("greater_equal", lambda xp, x, y: x >= y)
equal = defop("equal", lambda xp, x, y: x == y)
not_equal = defop("not_equal", lambda xp, x, y: x != y)


def _unreduce(F, g, shape, axis, keepdims):
    """``g``, the gradient of a reduction over ``axis``, broadcast back to the input ``shape``."""
    if not keepdims and axis is not None:
        g = F.reshape(g, tuple(1 if i in axis else n for i, n in enumerate(shape)))
    return F.broadcast_to(g, shape)


# Reductions; axis is None or a tuple of non-negative ints (the public wrappers normalise it).
_sum = defop("sum", lambda xp, x, axis, keepdims: xp.sum(x, axis=axis, keepdims=keepdims),
             lambda F, g, ans, x, axis, keepdims: _unreduce(F, g, x.shape, axis, keepdims))

# Shape.
_reshape = defop("reshape", lambda xp, x, shape: xp.reshape(x, shape),
                 lambda F, g, ans, x, shape: F.reshape(g, x.shape))
_broadcast_to = defop("broadcast_to", lambda xp, x, shape: xp.broadcast_to(x, shape),
                      lambda F, g, ans, x, shape: g)   # the central unbroadcast sums g back
_permute_dims = defop("permute_dims", lambda xp, x, axes: xp.permute_dims(x, axes),
                      lambda F, g, ans, x, axes: F.permute_dims(g, _inverse(axes)))


def _inverse(permutation):
    inverse = [0] * len(permutation)
    for position, axis in enumerate(permutation):
        inverse[axis] = position
    return tuple(inverse)


def _column(F, v):
    """``v`` with a trailing axis of length 1, so 1-D matmul operands broadcast as matrices."""
    return F.reshape(v, tuple(v.shape) + (1,))


def _matmul_vjp_left(F, g, ans, a, b):
    if b.ndim == 1:                     # (..., m, k) @ (k,) -> (..., m); also (k,) @ (k,)
        return _column(F, g) * b if a.ndim > 1 else g * b
    if a.ndim == 1:                     # (k,) @ (..., k, n) -> (..., n)
        return F.reshape(F.matmul(b, _column(F, g)), tuple(g.shape[:-1]) + (b.shape[-2],))
    return F.matmul(g, F.matrix_transpose(b))


def _matmul_vjp_right(F, g, ans, a, b):
    if a.ndim == 1:                     # (k,) @ (..., k, n) -> (..., n); also (k,) @ (k,)
        if b.ndim == 1:
            return g * a
        return _column(F, a) * F.reshape(g, tuple(g.shape[:-1]) + (1, g.shape[-1]))
    if b.ndim == 1:                     # (..., m, k) @ (k,) -> (..., m)
        return F.reshape(F.matmul(F.matrix_transpose(a), _column(F, g)),
                         tuple(g.shape[:-1]) + (a.shape[-1],))
    return F.matmul(F.matrix_transpose(a), g)


# Linear algebra: 1-D operands and broadcast batch dimensions as in numpy.matmul.
matmul = defop("matmul", lambda xp, a, b: xp.matmul(a, b), _matmul_vjp_left, _matmul_vjp_right)


# Public wrappers for the ops that take settings, with the argument handling users expect.

def _axes(op_name, axis, ndim):
    """``axis`` (None, an int or a sequence) as None or a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise AxisError(f"{op_name}: axis {a} is out of range for a tensor with {ndim} "
                            f"dimension(s)")
    normalised = tuple(sorted(a % ndim for a in axes))
    if len(set(normalised)) != len(normalised):
        raise AxisError(f"{op_name}: axis {axis} repeats an axis")
    return normalised


def _shape_argument(shape):
    """``f(x, 2, 3)`` and ``f(x, (2, 3))`` both mean the shape ``(2, 3)``."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return tuple(shape)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None for all, an int, or a tuple of ints)."""
    x = as_tensor(x)
    return _sum(x, axis=_axes("sum", axis, x.ndim), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    x = as_tensor(x)
    axes = _axes("mean", axis, x.ndim)
    count = math.prod(x.shape[a] for a in (range(x.ndim) if axes is None else axes))
    return _sum(x, axis=axes, keepdims=keepdims) / count


def reshape(x, *shape):
    """``x`` with a new shape of the same size; one dimension may be -1."""
    return _reshape(x, shape=_shape_argument(shape))


def broadcast_to(x, shape):
    return _broadcast_to(x, shape=tuple(shape))


def permute_dims(x, axes):
    """``x`` with its axes reordered: result axis i is input axis ``axes[i]``."""
    x = as_tensor(x)
    axes = tuple(axes)
    if len(axes) != x.ndim or _axes("transpose", axes, x.ndim) != tuple(range(x.ndim)):
        raise AxisError(f"transpose: axes {axes} are not a permutation of the {x.ndim} "
                        f"axes of a tensor of shape {x.shape}")
    return _permute_dims(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x, *axes):
    """``x`` with its axes reversed, or reordered as ``axes``."""
    x = as_tensor(x)
    axes = _shape_argument(axes) if axes else tuple(reversed(range(x.ndim)))
    return permute_dims(x, axes)


def matrix_transpose(x):
    """``x`` with its last two axes swapped."""
    x = as_tensor(x)
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return permute_dims(x, axes)


def _cast(x, dtype):
    x = as_tensor(x)
    return astype(x, dtype=x.backend.dtype(dtype) if isinstance(dtype, str) else dtype)


# The namespace that VJPs see when the backward pass is recorded (create_graph=True): the
# array-API names they use, mapped onto zen's differentiable functions.
tensor_namespace = types.SimpleNamespace(
    exp=exp, log=log, tanh=tanh, sum=sum, reshape=reshape, broadcast_to=broadcast_to,
    permute_dims=permute_dims, matrix_transpose=matrix_transpose, matmul=matmul, astype=_cast)


# Tensor's operators and methods are these same functions.

def _reflected(function):
    def reflected(self, other):
        return function(other, self)

    reflected.__name__ = f"reflected_{function.__name__}"
    return reflected


for _name, _function in [("add", add), ("sub", subtract), ("mul", multiply),
                         ("truediv", divide), ("pow", power), ("matmul", matmul)]:
    setattr(Tensor, f"__{_name}__", _function)
    setattr(Tensor, f"__r{_name}__", _reflected(_function))

Tensor.__neg__ = negative
Tensor.__lt__ = less
Tensor.__le__ = less_equal
Tensor.__gt__ = greater
Tensor.__ge__ = greater_equal
Tensor.__eq__ = equal
Tensor.__ne__ = not_equal
Tensor.exp = exp
Tensor.log = log
Tensor.tanh = tanh
Tensor.sum = sum
Tensor.mean = mean
Tensor.reshape = reshape
Tensor.transpose = transpose
Tensor.astype = _cast
Tensor.T = property(transpose, doc="The tensor with its axes reversed.")

del _name, _function
