"""Linear algebra as PyTorch names it: the shape-checked products ``mm``, ``bmm``, ``mv`` and
``dot``, ``trace``, ``cross``, and vector norms (``zen.linalg.vector_norm``,
``zen.linalg.norm``, and ``zen.norm``, which is ``torch.norm``), composites of primitives.

A norm's gradient at a zero vector is zero, as PyTorch's (the root's slope there is
infinite, and its product with the zero vector would be nan): each root and power that can
meet zero is taken of a stand-in 1 there (``_powered``), so that no nan is ever made."""

from __future__ import annotations

import math
import numbers

from zen import ops, tensor
from zen.contractions import einsum
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError
from zen.functional import stack
from zen.ops import normalise_axes
from zen.shapes import diagonal, movedim
from zen.tensor import Axes, Tensor, TensorLike, as_tensor


def _with_ndim(function, expected, *tensors):
    """The tensors, each with the number of axes ``expected`` gives for it."""
    tensors = [as_tensor(t) for t in tensors]
    if tuple(t.ndim for t in tensors) != expected:
        described = " and ".join(f"{n}-D" for n in expected)
        shapes = " and ".join(str(t.shape) for t in tensors)
        raise ShapeMismatchError(f"{function}: expects {described} tensors, got shapes {shapes}")
    return tensors


def _inner_sizes_agree(function, x, y, x_axis, y_axis):
    if x.shape[x_axis] != y.shape[y_axis]:
        raise ShapeMismatchError(f"{function}: cannot multiply shapes {x.shape} and {y.shape} "
                                 f"({x.shape[x_axis]} != {y.shape[y_axis]})")


def _product(function, ndims, x, y):
    """x @ y for tensors of exactly ``ndims`` dimensions whose inner sizes agree."""
    x, y = _with_ndim(function, ndims, x, y)
    _inner_sizes_agree(function, x, y, -1, -2 if y.ndim > 1 else -1)
    return ops.matmul(x, y)


def mm(x: TensorLike, y: TensorLike) -> Tensor:
    """The matrix product of two 2-D tensors (no broadcasting, as ``torch.mm``)."""
    return _product("mm", (2, 2), x, y)


def bmm(x: TensorLike, y: TensorLike) -> Tensor:
    """Matrix products of two equal batches of matrices, (B, N, M) @ (B, M, P)."""
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim == y.ndim == 3 and x.shape[0] != y.shape[0]:
        raise ShapeMismatchError(f"bmm: batches of {x.shape[0]} and {y.shape[0]} matrices "
                                 f"(shapes {x.shape} and {y.shape}); bmm does not broadcast")
    return _product("bmm", (3, 3), x, y)


def mv(x: TensorLike, y: TensorLike) -> Tensor:
    """A 2-D matrix times a 1-D vector."""
    return _product("mv", (2, 1), x, y)


def dot(x: TensorLike, y: TensorLike) -> Tensor:
    """The inner product of two 1-D tensors of one length."""
    return _product("dot", (1, 1), x, y)


def trace(x: TensorLike) -> Tensor:
    """The sum of a 2-D tensor's diagonal."""
    (x,) = _with_ndim("trace", (2,), x)
    return ops.sum(diagonal(x))


def cross(x: TensorLike, y: TensorLike, axis: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``axis``, broadcasting the rest; ``axis=None`` is
    PyTorch's default for ``torch.cross``: the first axis of length 3."""
    x, y = as_tensor(x), as_tensor(y)
    shape = ops.broadcast_shape("cross", x.shape, y.shape)
    x, y = ops.broadcast_to(x, shape), ops.broadcast_to(y, shape)
    if axis is None:
        axis = next((a for a, size in enumerate(shape) if size == 3), None)
    if axis is None or shape[ops.one_axis("cross", axis, len(shape))] != 3:
        raise ShapeMismatchError(f"cross: needs an axis of length 3, got shape {shape} and "
                                 f"axis={axis}")
    a, b = movedim(x, axis, -1), movedim(y, axis, -1)
    parts = [ops.subtract(ops.multiply(a[..., i], b[..., j]), ops.multiply(a[..., j], b[..., i]))
             for i, j in ((1, 2), (2, 0), (0, 1))]
    return movedim(stack(parts, -1), -1, axis)


def _scaled_sum(function, input, product, beta, alpha):
    """beta * input + alpha * product, as ``torch.addmm`` and its kin: ``input`` broadcasts
    to the product's shape, and with beta 0 it is not read (its nan and inf do not leak)."""
    input = as_tensor(input)
    if ops.broadcast_shape(function, input.shape, product.shape) != product.shape:
        raise ShapeMismatchError(f"{function}: input of shape {input.shape} does not "
                                 f"broadcast to the product's shape {product.shape}")
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            raise ArgumentError(f"{function}: {name} must be a number, got {value!r}")
    scaled = product if alpha == 1 else ops.multiply(alpha, product)
    if beta == 0:
        return scaled
    return ops.add(input if beta == 1 else ops.multiply(beta, input), scaled)


def addmm(input: TensorLike, mat1: TensorLike, mat2: TensorLike, *, beta: float = 1,
          alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-D ``mat1`` and ``mat2``."""
    return _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha)


def baddbmm(input: TensorLike, batch1: TensorLike, batch2: TensorLike, *, beta: float = 1,
            alpha: float = 1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha)


def addmv(input: TensorLike, mat: TensorLike, vec: TensorLike, *, beta: float = 1,
          alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` for a 2-D ``mat`` and a 1-D ``vec``."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def kron(x: TensorLike, y: TensorLike) -> Tensor:
    """The Kronecker product: block (i, j, ...) is ``x[i, j, ...] * y``; the tensor with
    fewer axes gains leading axes of length 1 (``torch.kron``)."""
    x, y = as_tensor(x), as_tensor(y)
    ndim = max(x.ndim, y.ndim)
    x_shape, y_shape = ((1,) * (ndim - t.ndim) + t.shape for t in (x, y))
    spread_x = ops.reshape(x, tuple(n for size in x_shape for n in (size, 1)))
    spread_y = ops.reshape(y, tuple(n for size in y_shape for n in (1, size)))
    return ops.reshape(ops.multiply(spread_x, spread_y),
                       tuple(a * b for a, b in zip(x_shape, y_shape, strict=True)))


def bilinear(input1: TensorLike, input2: TensorLike, weight: TensorLike,
             bias: TensorLike | None = None) -> Tensor:
    """``input1 @ weight[o] @ input2 + bias[o]`` for each output o, as
    ``torch.nn.functional.bilinear``: inputs (..., in1) and (..., in2) with the same leading
    axes, weight (out, in1, in2), bias (out,)."""
    input1, input2, weight = as_tensor(input1), as_tensor(input2), as_tensor(weight)
    if weight.ndim != 3 or input1.ndim == 0 or input1.shape[:-1] != input2.shape[:-1] or \
            (input1.shape[-1], input2.shape[-1]) != weight.shape[1:] or \
            (bias is not None and as_tensor(bias).shape != weight.shape[:1]):
        bias_shape = None if bias is None else as_tensor(bias).shape
        raise ShapeMismatchError(f"bilinear: needs inputs (..., in1) and (..., in2), a weight "
                                 f"(out, in1, in2) and a bias (out,), got shapes "
                                 f"{input1.shape}, {input2.shape}, {weight.shape} and "
                                 f"{bias_shape}")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else ops.add(out, bias)


def _powered(magnitude, power):
    """magnitude ** power, with slope 0 where magnitude is 0 even for power < 1."""
    zero = ops.equal(magnitude, 0)
    return ops.where(zero, 0.0, ops.power(ops.where(zero, 1.0, magnitude), power))


def vector_norm(x: TensorLike, ord: float = 2, axis: Axes = None,
                keepdims: bool = False) -> Tensor:
    """The ``ord``-norm of ``x`` over ``axis`` (all axes if None), as
    ``torch.linalg.vector_norm``: ``ord`` a number >= 0, inf or -inf (0 counts the nonzero
    elements and has no gradient). The gradient at a zero vector is 0, as PyTorch's."""
    x = as_tensor(x)
    if not x.backend.is_floating(x.dtype):
        raise DtypeError(f"vector_norm: needs a floating tensor, got {x.dtype}; convert it "
                         f"with astype")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real) or \
            not (ord >= 0 or ord == -math.inf):
        raise ArgumentError(f"vector_norm: ord must be a number >= 0, inf or -inf, got {ord!r}")
    axes = normalise_axes("vector_norm", axis, x.ndim)
    magnitude = ops.abs(x)
    if ord == math.inf:
        return ops.max(magnitude, axes, keepdims)
    if ord == -math.inf:
        return ops.min(magnitude, axes, keepdims)
    if ord == 0:
        return ops.sum(ops.astype(ops.not_equal(x, 0), x.dtype), axes, keepdims)
    if ord == 1:
        return ops.sum(magnitude, axes, keepdims)
    if ord == 2:
        return _powered(ops.sum(ops.multiply(x, x), axes, keepdims), 0.5)
    return _powered(ops.sum(_powered(magnitude, ord), axes, keepdims), 1 / ord)


def norm(x: TensorLike, ord: float | str | None = None, axis: Axes = None,
         keepdims: bool = False) -> Tensor:
    """``torch.linalg.norm`` for the vector norms and the Frobenius norm: with ``axis`` an
    int, or a 1-D ``x``, the ``ord``-norm of vectors; with neither ``ord`` nor ``axis``, the
    2-norm of every element; over two axes, ``ord`` None or "fro". Other matrix norms
    (spectral, nuclear, ``ord`` over two axes) raise ArgumentError."""
    x = as_tensor(x)
    vectors = isinstance(axis, numbers.Integral) or (axis is None and (ord is None or
                                                                       x.ndim == 1))
    if vectors and not isinstance(ord, str):
        return vector_norm(x, 2 if ord is None else ord, axis, keepdims)
    if ord in (None, "fro") and (axis is not None or x.ndim == 2):
        return vector_norm(x, 2, axis, keepdims)
    raise ArgumentError(f"linalg.norm: ord={ord!r} over axis={axis!r} of a tensor of shape "
                        f"{x.shape} is a matrix norm zen does not have; vector_norm and "
                        f"ord='fro' are supported")


def p_norm(x: TensorLike, p: float | str = "fro", axis: Axes = None,
           keepdims: bool = False) -> Tensor:
    """``torch.norm`` (``zen.norm``, ``x.norm()``): the ``p``-norm of ``x`` over ``axis``
    (all axes if None), taken as one vector; ``"fro"`` is the 2-norm. ``"nuc"`` raises
    ArgumentError."""
    if p == "fro":
        p = 2
    if isinstance(p, str):
        raise ArgumentError(f"norm: p must be 'fro' or a number, got {p!r} (zen has no "
                            f"nuclear norm)")
    return vector_norm(x, p, axis, keepdims)


tensor.functions.provide(mm=mm, bmm=bmm, mv=mv, dot=dot, trace=trace, cross=cross,
                         norm=p_norm, addmm=addmm, baddbmm=baddbmm, addmv=addmv, kron=kron)
