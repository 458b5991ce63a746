"""Distances and similarities as torch and torch.nn.functional compute them: ``cdist``,
``pairwise_distance`` and ``cosine_similarity``, with ``eps`` where PyTorch puts it, and a
zero gradient at zero distance (``zen.linalg.vector_norm``'s)."""

from __future__ import annotations

from zen import ops
from zen.errors import ShapeMismatchError
from zen.functional import expand_dims
from zen.linalg import vector_norm
from zen.recorder import no_grad
from zen.tensor import Tensor, TensorLike, as_tensor


def cdist(x1: TensorLike, x2: TensorLike, p: float = 2.0) -> Tensor:
    """The ``p``-norm distance between each row of x1 (..., P, M) and each row of x2
    (..., R, M): (..., P, R), the batch axes broadcast."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeMismatchError(f"cdist: needs (..., P, M) and (..., R, M) tensors with one M, "
                                 f"got shapes {x1.shape} and {x2.shape}")
    ops.broadcast_shape("cdist", x1.shape[:-2], x2.shape[:-2])
    difference = ops.subtract(expand_dims(x1, -2), expand_dims(x2, -3))
    return vector_norm(difference, p, -1)


def pairwise_distance(x1: TensorLike, x2: TensorLike, p: float = 2.0, eps: float = 1e-6,
                      keepdims: bool = False) -> Tensor:
    """The ``p``-norm of x1 - x2 + eps along the last axis, as PyTorch (eps is added to the
    difference, not to the norm)."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    ops.broadcast_shape("pairwise_distance", x1.shape, x2.shape)
    difference = ops.add(ops.subtract(x1, x2), eps)
    return vector_norm(difference, p, max(x1.ndim, x2.ndim) - 1, keepdims)


def cosine_similarity(x1: TensorLike, x2: TensorLike, axis: int = 1,
                      eps: float = 1e-8) -> Tensor:
    """sum((x1 / |x1|) * (x2 / |x2|)) along ``axis``, each norm at least ``eps``, as PyTorch
    computes it: the bound applies to the norms' values only (PyTorch clamps them in place
    without recording), so gradients flow through the unbounded norms."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    ops.broadcast_shape("cosine_similarity", x1.shape, x2.shape)
    return ops.sum(ops.multiply(_over_norm(x1, axis, eps), _over_norm(x2, axis, eps)), axis)


def _over_norm(x, axis, eps):
    """x divided by its 2-norm along ``axis``, the norm's value raised to ``eps`` if below."""
    norm = vector_norm(x, 2, axis, keepdims=True)
    with no_grad():
        lift = ops.subtract(ops.maximum(norm, eps), norm)
    return ops.divide(x, ops.add(norm, lift))
