"""Attention layers: Keras's `MultiHeadAttention` (projections around the
fused `scaled_dot_product_attention` op) and keras-hub's `PositionEmbedding`.
"""
import math

import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE
from . import initializers, masking
from ..validation import check_float, check_int, check_positive_int, is_int
from .core import callable_name, cast_input
from .layer import Layer


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as Keras's layer: project
    query, key and value into `num_heads` heads, attend in each head with
    softmax(q k^T / sqrt(key_dim)) v, and project the concatenated heads back.

    Args:
        num_heads: the number of heads (positive int).
        key_dim: the size of each head's queries and keys (positive int).
        value_dim: the size of each head's values (default: key_dim).
        dropout: the dropout rate on the attention probabilities, in
            training mode only (default 0.0).
        use_bias: whether the four projections add a bias (default True).
        output_shape: the size of the output's last axis, an int or a tuple
            for several axes (default: the query's last axis).
        kernel_initializer: name or callable (default "glorot_uniform").
        bias_initializer: name or callable (default "zeros").

    Called as Keras's: `mha(query, value, key=None, query_mask=None,
    value_mask=None, key_mask=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)`:
        query (batch, Tq, d_query); value (batch, S, d_value); key (batch, S,
        d_key), default `value`. attention_mask: booleans, True where a query
        may attend to a key: (batch, Tq, S), or anything that broadcasts to
        it such as (batch, 1, S); 2-D, (Tq, S) for every sample or (batch, S),
        a key-padding mask. query_mask (batch, Tq) and value_mask / key_mask
        (batch, S) default to the masks the inputs carry (zen.nn.masking,
        e.g. from `Embedding(mask_zero=True)`): a padded key is never
        attended to, and the output carries the query's mask. All of these
        combine with a causal mask when `use_causal_mask`. A query that may
        attend to no key (a padded query) attends to every key alike, as
        Keras's fused attention does (with return_attention_scores or
        dropout in training: zero attention, as Keras's masked softmax).

    Shapes: output (batch, Tq, *output_shape); with return_attention_scores,
    `(output, scores)`, scores (batch, num_heads, Tq, S) before dropout.
    Weights, in Keras's order: query kernel (d_query, heads, key_dim) and
    bias (heads, key_dim), key kernel (d_key, heads, key_dim) and bias, value
    kernel (d_value, heads, value_dim) and bias (heads, value_dim), output
    kernel (heads, value_dim, *output_shape) and bias (output_shape).

    Example:
        mha = MultiHeadAttention(num_heads=2, key_dim=4)
        x = np.zeros((3, 5, 8), np.float32)
        mha(x, x, use_causal_mask=True).shape      # (3, 5, 8)
        mha.count_params()                         # 3 * (8*2*4 + 2*4) + (2*4*8 + 8) = 288
    """

    supports_masking = True  # the output carries the query's mask

    def __init__(self, num_heads: int, key_dim: int, value_dim: int = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name: str = None):
        super().__init__(name)
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.key_dim = check_positive_int(key_dim, "key_dim")
        self.value_dim = self.key_dim if value_dim is None else \
            check_positive_int(value_dim, "value_dim")
        self.dropout = check_float(dropout, "dropout", 0, 1, high_open=True)
        self.use_bias = bool(use_bias)
        self._output_shape = _check_output_shape(output_shape)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self._kernel_init = initializers.get(kernel_initializer)
        self._bias_init = initializers.get(bias_initializer)

    # ----- weights -------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the weights for these input shapes (Keras's signature). The
        first call passes the query's shape only: the weights then wait for
        the call itself, which knows the value's and key's depths."""
        if value_shape is None:
            return
        key_shape = value_shape if key_shape is None else key_shape
        self._create_weights(query_shape[-1], key_shape[-1], value_shape[-1])
        self.input_shape = tuple(query_shape)
        self.built = True

    def _create_weights(self, d_query, d_key, d_value):
        heads, out = self.num_heads, self._output_shape or (d_query,)
        self._dense("query", (d_query, heads, self.key_dim), (heads, self.key_dim))
        self._dense("key", (d_key, heads, self.key_dim), (heads, self.key_dim))
        self._dense("value", (d_value, heads, self.value_dim), (heads, self.value_dim))
        self._dense("output", (heads, self.value_dim, *out), out)

    def _dense(self, prefix, kernel_shape, bias_shape):
        setattr(self, f"{prefix}_kernel", Tensor(self._kernel_init(kernel_shape)))
        if self.use_bias:
            setattr(self, f"{prefix}_bias", Tensor(self._bias_init(bias_shape)))

    # ----- the computation -------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores: bool = False, training=False,
             use_causal_mask: bool = False):
        key = value if key is None else key
        itself = query is value is key  # self-attention: one projection for all three
        created = hasattr(self, "query_kernel")
        dtype = self.query_kernel.dtype if created else DEFAULT_DTYPE
        query, value, key = (cast_input(t, dtype) for t in (query, value, key))
        self._check_shapes(query.shape, value.shape, key.shape)
        if not created:
            self._create_weights(query.shape[-1], key.shape[-1], value.shape[-1])
        self._check_depths(value.shape, key.shape)
        mask = self._combined_mask(attention_mask, query_mask, value_mask, key_mask,
                                   query.shape, key.shape)
        scores = None
        if return_attention_scores or (training and self.dropout > 0):
            q, k, v = self._split_heads(query, key, value)
            scores = ad.attention_weights(q, k, mask, is_causal=use_causal_mask)
            attended = (ad.dropout(scores, self.dropout, training) @ v).transpose(0, 2, 1, 3)
        else:
            if mask is not None:
                mask, use_causal_mask = _logit_mask(mask, use_causal_mask, query.dtype), False
            if itself and self.key_dim == self.value_dim:
                attended = ad.self_attention(self._packed_projection(query), mask,
                                             is_causal=use_causal_mask, scale=1.0)
            else:
                attended = ad.scaled_dot_product_attention(
                    *self._split_heads(query, key, value), mask,
                    is_causal=use_causal_mask).transpose(0, 2, 1, 3)
        output = self._merge_heads(attended)
        return (output, scores) if return_attention_scores else output

    def _split_heads(self, query, key, value):
        """q, k and v (batch, heads, length, depth): one GEMM each."""
        return [self._project(x, name).transpose(0, 2, 1, 3)
                for x, name in ((query, "query"), (key, "key"), (value, "value"))]

    def _project(self, x, name):
        """(batch, length, d) -> (batch, length, heads, depth): one GEMM."""
        kernel, bias = getattr(self, f"{name}_kernel"), getattr(self, f"{name}_bias", None)
        d, heads, depth = kernel.shape
        flat = ad.linear(x, kernel.reshape(d, heads * depth),
                         None if bias is None else bias.reshape(heads * depth))
        return flat.reshape(x.shape[0], x.shape[1], heads, depth)

    def _packed_projection(self, x):
        """(batch, length, d) -> queries, keys and values (batch, length, 3,
        heads, depth): the three kernels side by side, one GEMM each way
        where there were three (0.78x their time, forward and backward, on
        a Transformer's (2048, 128) x (128, 3 x 128)). The queries come out
        already scaled by 1 / sqrt(key_dim), their kernel and bias scaled
        instead: no pass over the queries or their gradient for it."""
        scale = 1 / math.sqrt(self.key_dim)
        d, heads, depth = self.query_kernel.shape
        kernel = ad.stack([self.query_kernel * scale, self.key_kernel, self.value_kernel],
                          axis=1)
        bias = None
        if self.use_bias:
            bias = ad.stack([self.query_bias * scale, self.key_bias, self.value_bias]).reshape(-1)
        flat = ad.linear(x, kernel.reshape(d, 3 * heads * depth), bias)
        return flat.reshape(x.shape[0], x.shape[1], 3, heads, depth)

    def _merge_heads(self, attended):
        """(batch, Tq, heads, value_dim) -> (batch, Tq, *output_shape): one GEMM."""
        batch, length, heads, depth = attended.shape
        kernel, bias = self.output_kernel, getattr(self, "output_bias", None)
        out = kernel.shape[2:]
        size = int(np.prod(out))
        flat = ad.linear(attended.reshape(batch, length, heads * depth),
                         kernel.reshape(heads * depth, size),
                         None if bias is None else bias.reshape(size))
        return flat.reshape(batch, length, *out)

    # ----- checks ------------------------------------------------------------------------
    def _title(self):
        return f"Layer {self.name!r} (MultiHeadAttention)"

    def _check_shapes(self, query, value, key):
        received = f"Received: query_shape={query}, value_shape={value}, key_shape={key}"
        if not len(query) == len(value) == len(key) == 3:
            raise ValueError(f"{self._title()} expects query, value and key of shape "
                             f"(batch, length, features). {received}")
        if not query[0] == value[0] == key[0]:
            raise ValueError(f"{self._title()}: query, value and key must have the same "
                             f"batch size. {received}")
        if value[1] != key[1]:
            raise ValueError(f"{self._title()}: `key` and `value` must have the same "
                             f"length (all axes but the last equal). {received}")

    def _check_depths(self, value, key):
        for name, shape in (("value", value), ("key", key)):
            expected = getattr(self, f"{name}_kernel").shape[0]
            if shape[-1] != expected:
                raise ValueError(f"{self._title()} was built for a `{name}` of {expected} "
                                 f"features. Received: {name}_shape={shape}")

    def _combined_mask(self, attention_mask, query_mask, value_mask, key_mask,
                       query_shape, key_shape):
        """Every mask given as one boolean mask for the heads, (batch, 1, Tq,
        S) or (Tq, S), or None (Keras's `_compute_attention_mask`)."""
        (batch, length_q), length_k = query_shape[:2], key_shape[1]
        mask = self._attention_mask(attention_mask, batch, length_q, length_k)
        for given, name, shape, axis in ((query_mask, "query_mask", (batch, length_q), -1),
                                         (value_mask, "value_mask", (batch, length_k), -2),
                                         (key_mask, "key_mask", (batch, length_k), -2)):
            given = masking.single_mask(given)
            if given is not None:
                padding = np.expand_dims(masking.as_mask(given, shape, name), axis)
                mask = padding if mask is None else mask & padding
        if mask is None or mask.ndim == 2:
            return mask
        return np.broadcast_to(mask, (batch, length_q, length_k))[:, None]

    def _attention_mask(self, attention_mask, batch, length_q, length_k):
        """`attention_mask` as booleans of shape (Tq, S) or (batch, Tq, S)
        (a (batch, S) key-padding mask becomes (batch, 1, S)), or None."""
        if attention_mask is None:
            return None
        mask = masking.as_mask(attention_mask, owner="attention_mask")
        expected = (f"expected (batch, length_q, length_k) = ({batch}, {length_q}, "
                    f"{length_k}), a shape that broadcasts to it, (length_q, length_k) or "
                    f"(batch, length_k)")
        if mask.ndim == 2:
            shared, padding = mask.shape == (length_q, length_k), mask.shape == (batch, length_k)
            if shared and padding and batch != 1:
                raise ValueError(f"{self._title()} received a 2-D `attention_mask` of shape "
                                 f"{mask.shape}, which is both (length_q, length_k) and (batch, "
                                 f"length_k): pass (batch, 1, length_k) for key padding or "
                                 f"(1, length_q, length_k) for one mask for every sample")
            if shared or padding:
                return mask if shared else mask[:, None, :]
        elif mask.ndim == 3 and all(n in (1, m) for n, m in
                                    zip(mask.shape, (batch, length_q, length_k))):
            return mask
        raise ValueError(f"{self._title()} received an `attention_mask` of shape "
                         f"{mask.shape}, {expected}")

    def get_config(self):
        return {"num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias, "output_shape": self._output_shape,
                "kernel_initializer": callable_name(self.kernel_initializer),
                "bias_initializer": callable_name(self.bias_initializer)}


LARGE_NEGATIVE = -0.7 * 3.38953e38  # Keras's masked logit (torch backend), float32-safe


def _logit_mask(mask, causal, dtype):
    """A boolean mask (with the causal one folded in) for the fused
    attention; where a query may attend to no key at all, the mask as
    logits (0 or LARGE_NEGATIVE), which spreads such a query over every key
    alike, as Keras's fused attention does (its scores path gives zeros)."""
    if causal:
        length_q, length_k = mask.shape[-2:]
        mask = mask & np.tril(np.ones((length_q, length_k), dtype=bool))
    if mask.any(axis=-1).all():
        return mask
    return np.where(mask, 0.0, LARGE_NEGATIVE).astype(dtype)


def _check_output_shape(output_shape):
    """None, or the output's trailing shape as a tuple of positive ints."""
    if output_shape is None:
        return None
    sizes = (output_shape,) if is_int(output_shape) else output_shape
    try:
        return tuple(check_positive_int(n, "output_shape") for n in sizes) or None
    except (TypeError, ValueError):
        raise ValueError(f"Received an invalid value for `output_shape`, expected a "
                         f"positive integer, a tuple of them, or None. Received: "
                         f"output_shape={output_shape!r}") from None


class PositionEmbedding(Layer):
    """Learned position embeddings (keras-hub's `PositionEmbedding`): a
    trainable (sequence_length, features) table whose first `length` rows
    are returned, broadcast to the input's shape, to be added to it.

    Args:
        sequence_length: the longest sequence the table covers (positive int).
        initializer: name or callable (default "glorot_uniform").

    Called as `layer(x, start_index=0)`: rows start_index ..
    start_index + length - 1.

    Shapes: (batch, length, features) -> (batch, length, features); the
    weight `embeddings` is (sequence_length, features). A length beyond
    sequence_length is a ValueError.

    Example:
        tokens = Embedding(1000, 16)(np.array([[4, 20, 7]]))   # (1, 3, 16)
        x = tokens + PositionEmbedding(64)(tokens)             # (1, 3, 16)
    """

    def __init__(self, sequence_length: int, initializer="glorot_uniform", name: str = None):
        super().__init__(name)
        self.sequence_length = check_positive_int(sequence_length, "sequence_length")
        self.initializer = initializer
        self._init = initializers.get(initializer)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 2:
            raise ValueError(f"PositionEmbedding expects inputs of shape (batch, length, "
                             f"features), received an input of shape {input_shape}")
        self.embeddings = Tensor(self._init((self.sequence_length, input_shape[-1])))

    def call(self, x, start_index: int = 0):
        shape = tuple(x.shape)
        length = shape[-2]
        start_index = check_int(start_index, "start_index", 0)
        if start_index + length > self.sequence_length:
            raise ValueError(f"Layer {self.name!r} (PositionEmbedding) has sequence_length="
                             f"{self.sequence_length}, received an input of length {length}"
                             + (f" from start_index={start_index}" if start_index else "")
                             + f" (input shape {shape})")
        rows = self.embeddings[start_index:start_index + length]
        # adding a zero-stride view of zeros broadcasts rows; Add's backward sums it back
        return rows + np.broadcast_to(np.zeros((), rows.dtype), shape)

    def get_config(self):
        return {"sequence_length": self.sequence_length,
                "initializer": callable_name(self.initializer)}
