"""Multi-head attention as a layer, batch first."""

from __future__ import annotations

import math

from zen import arguments, attention, functional, ops
from zen.errors import ShapeMismatchError
from zen.layers.base import Layer, glorot, input_size
from zen.tensor import Tensor, TensorLike, on_device_of


class MultiHeadAttention(Layer):
    """Attention with ``num_heads`` heads over batch-first (N, L, E) inputs, E from the first
    call. ``layer(x)`` attends x to itself (as in a Model); ``layer(query, key, value,
    attn_mask=..., key_mask=...)`` attends to another sequence, key and value (N, S, E) (value
    defaults to key). ``causal=True`` lets position i see positions 0..i only; ``attn_mask``
    is scaled_dot_product_attention's (bool, True: attend; or floats added to the scores),
    broadcast to (N, num_heads, L, S); ``key_mask`` (N, S) is True for the keys to attend to
    (padding is False: the opposite of PyTorch's key_padding_mask). ``dropout`` drops
    attention weights while training.

    Weights in zen's (in, out) layout: ``in_weight`` (E, 3E) projects query, key and value
    in that order, ``out_weight`` (E, E); torch.nn.MultiheadAttention's in_proj_weight and
    out_proj.weight are their transposes. Glorot-uniform weights, zero biases, as PyTorch."""

    lazy = True

    def __init__(self, num_heads: int, causal: bool = False, dropout: float = 0.0,
                 use_bias: bool = True) -> None:
        who = "MultiHeadAttention"
        num_heads = arguments.integer(who, "num_heads", num_heads, minimum=1)
        causal = arguments.flag(who, "causal", causal)
        dropout = arguments.number(who, "dropout", dropout, low=0, high=1, high_open=True)
        use_bias = arguments.flag(who, "use_bias", use_bias)
        super().__init__(num_heads=num_heads, causal=causal, dropout=dropout, use_bias=use_bias)

    def forward(self, query: Tensor, key: TensorLike | None = None,
                value: TensorLike | None = None, attn_mask: TensorLike | None = None,
                key_mask: TensorLike | None = None) -> Tensor:
        key = query if key is None else on_device_of(query, key)
        value = key if value is None else on_device_of(query, value)
        if not self.weights:
            self._build(query)
        self._check_shapes(query, key, value)
        heads = [self._heads(self._projected(x, part))
                 for part, x in enumerate((query, key, value))]
        mask = self._mask(query, key, attn_mask, key_mask)
        out = attention.scaled_dot_product_attention(
            *heads, mask, dropout_p=self.dropout if self.training else 0.0)
        batch, length, embed = query.shape
        out = ops.reshape(ops.permute_dims(out, (0, 2, 1, 3)), (batch, length, embed))
        return functional.dense(out, self.weights["out_weight"], self.weights.get("out_bias"))

    def _build(self, query):
        embed = input_size("MultiHeadAttention", query, -1, "features")
        if embed % self.num_heads:
            raise ShapeMismatchError(f"MultiHeadAttention: the embedding size {embed} (input "
                                     f"{query.shape}) does not split into num_heads="
                                     f"{self.num_heads} equal heads")
        self.add_weight("in_weight", (embed, 3 * embed), query, glorot(embed, 3 * embed))
        if self.use_bias:
            self.add_weight("in_bias", (3 * embed,), query)
        self.add_weight("out_weight", (embed, embed), query, glorot(embed, embed))
        if self.use_bias:
            self.add_weight("out_bias", (embed,), query)

    def _check_shapes(self, query, key, value):
        embed = self.weights["out_weight"].shape[0]
        shapes = (query.shape, key.shape, value.shape)
        if any(len(shape) != 3 or shape[-1] != embed for shape in shapes) or \
                key.shape[:2] != value.shape[:2] or query.shape[0] != key.shape[0]:
            raise ShapeMismatchError(f"MultiHeadAttention: needs query (N, L, {embed}), key "
                                     f"and value (N, S, {embed}) for this layer, got query "
                                     f"{query.shape}, key {key.shape}, value {value.shape}")

    def _projected(self, x, part):
        """Query (part 0), key (1) or value (2): x through its third of the in-projection."""
        embed = self.weights["out_weight"].shape[0]
        columns = slice(part * embed, (part + 1) * embed)
        bias = self.weights.get("in_bias")
        return functional.dense(x, self.weights["in_weight"][:, columns],
                               None if bias is None else bias[columns])

    def _heads(self, x):
        """(N, L, E) -> (N, heads, L, E / heads)."""
        batch, length, _ = x.shape
        return ops.permute_dims(ops.reshape(x, (batch, length, self.num_heads, -1)),
                                (0, 2, 1, 3))

    def _mask(self, query, key, attn_mask, key_mask):
        """One mask for the (N, heads, L, S) scores: attn_mask, key_mask and the causal one
        together, or None."""
        allowed = attention.causal_mask(query, query.shape[1], key.shape[1]) \
            if self.causal else None
        if key_mask is not None:
            key_mask = on_device_of(query, key_mask)
            if not key_mask.backend.is_bool(key_mask.dtype) or \
                    key_mask.shape != key.shape[:2]:
                raise ShapeMismatchError(f"MultiHeadAttention: key_mask must be booleans of "
                                         f"shape {key.shape[:2]} (N, S), got "
                                         f"{key_mask.dtype} {key_mask.shape}")
            key_mask = ops.reshape(key_mask, (key.shape[0], 1, 1, key.shape[1]))
            allowed = key_mask if allowed is None else ops.logical_and(allowed, key_mask)
        if attn_mask is None or allowed is None:
            return allowed if attn_mask is None else attn_mask
        attn_mask = on_device_of(query, attn_mask)
        if attn_mask.backend.is_bool(attn_mask.dtype):
            return ops.logical_and(allowed, attn_mask)
        return ops.where(allowed, attn_mask, -math.inf)
