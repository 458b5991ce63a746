"""Scaled dot-product attention as torch.nn.functional has it, built from the primitives
in ``zen.ops``; also at zen's top level."""

from __future__ import annotations

import math

from zen import arguments, functional, ops, reductions, shapes
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.tensor import Tensor, TensorLike, as_tensor, constant, on_device_of


def scaled_dot_product_attention(query: TensorLike, key: TensorLike, value: TensorLike,
                                 attn_mask: TensorLike | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, *, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key.T * scale + mask) @ value over (..., L, E) queries, (..., S, E)
    keys and (..., S, Ev) values, as torch.nn.functional.scaled_dot_product_attention.

    ``attn_mask``, broadcast to (..., L, S), is boolean (True: attend) or added to the scores;
    ``is_causal`` lets query i attend to keys 0..i (upper-left aligned, as PyTorch); ``scale``
    defaults to 1 / sqrt(E); ``dropout_p`` drops attention weights with zen's generator;
    ``enable_gqa`` shares each key and value head among Hq / Hk query heads (axis -3). A
    query that may attend to no key gets zeros, and zero gradients, as PyTorch gives."""
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    _check_shapes(query, key, value)
    dropout_p = arguments.number("scaled_dot_product_attention", "dropout_p", dropout_p,
                                 low=0, high=1)
    if arguments.flag("scaled_dot_product_attention", "enable_gqa", enable_gqa):
        key, value = _shared_heads(query, key), _shared_heads(query, value)
    if scale is None:
        scale = 1 / math.sqrt(query.shape[-1])
    scale = arguments.number("scaled_dot_product_attention", "scale", scale)
    scores = ops.multiply(ops.matmul(query, ops.matrix_transpose(key)), scale)
    mask = _attention_mask(scores, attn_mask, is_causal)
    weights = _masked_softmax(scores, mask)
    return ops.matmul(functional.dropout(weights, dropout_p), value)


def _check_shapes(query, key, value):
    if min(query.ndim, key.ndim, value.ndim) < 2 or query.shape[-1] != key.shape[-1] or \
            key.shape[-2] != value.shape[-2]:
        raise ShapeMismatchError(f"scaled_dot_product_attention: needs query (..., L, E), key "
                                 f"(..., S, E) and value (..., S, Ev), got query "
                                 f"{query.shape}, key {key.shape} and value {value.shape}")


def _shared_heads(query, key):
    """``key`` (or value) with each of its heads (axis -3) repeated for its group of query
    heads, as PyTorch's grouped-query attention."""
    if min(query.ndim, key.ndim) < 3 or query.shape[-3] % key.shape[-3]:
        raise ShapeMismatchError(f"scaled_dot_product_attention: enable_gqa needs heads on "
                                 f"axis -3, the query's a multiple of the key's and value's, "
                                 f"got query {query.shape} and {key.shape}")
    return shapes.repeat_interleave(key, query.shape[-3] // key.shape[-3], axis=-3)


def _attention_mask(scores, attn_mask, is_causal):
    """The mask to apply to ``scores``: boolean (True: attend), additive (floats), or None."""
    is_causal = arguments.flag("scaled_dot_product_attention", "is_causal", is_causal)
    if is_causal and attn_mask is not None:
        raise ArgumentError("scaled_dot_product_attention: give attn_mask or is_causal=True, "
                            "not both (as PyTorch); fold the causal mask into attn_mask")
    if is_causal:
        return causal_mask(scores, *scores.shape[-2:])
    if attn_mask is None:
        return None
    mask = on_device_of(scores, attn_mask)
    backend = mask.backend
    if not (backend.is_bool(mask.dtype) or backend.is_floating(mask.dtype)):
        raise DtypeError(f"scaled_dot_product_attention: attn_mask must be bool (True: "
                         f"attend) or floating (added to the scores), got {mask.dtype}")
    if backend.is_floating(mask.dtype) and mask.dtype != scores.dtype:
        mask = ops.astype(mask, scores.dtype)
    return mask


def causal_mask(like: Tensor, queries: int, keys: int) -> Tensor:
    """(queries, keys) booleans on ``like``'s device, True where query i may see key j <= i."""
    backend = like.backend
    ones = array_namespaces[backend].ones((queries, keys), dtype=backend.dtype("bool"),
                           device=backend.native_device)
    return shapes.tril(constant(ones, backend))


def _masked_softmax(scores, mask):
    """softmax over the last axis of the scores that ``mask`` leaves; a row with none left
    gives zeros (its softmax runs on zeros, so nothing in it overflows into nan)."""
    if mask is None:
        return ops.softmax(scores, -1)
    if mask.backend.is_bool(mask.dtype):
        scores = ops.where(mask, scores, -math.inf)
    else:
        scores = ops.add(scores, mask)
    empty = reductions.all(ops.equal(scores.detach(), -math.inf), axis=-1, keepdims=True)
    weights = ops.softmax(ops.where(empty, 0.0, scores), -1)
    return ops.where(empty, 0.0, weights)
