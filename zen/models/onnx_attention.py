"""ONNX translations (for `zen.models.onnx_export`) of MultiHeadAttention
and PositionEmbedding, as Zen computes them at inference.

MultiHeadAttention's call is read from the graph, its arguments bound to
the layer's `call` signature: `key` (default the value), `attention_mask`
((batch, Tq, S), or (batch, S) for key padding), `query_mask`,
`value_mask`, `key_mask` (symbolic tensors of the graph), `use_causal_mask`
and `return_attention_scores` (then the node has two outputs: the output
and the attention probabilities). A masked logit becomes a large negative
number before the softmax, so that a query that may attend to no key at all
attends to every key alike, as Zen's fused attention (and Keras's) does;
with return_attention_scores the probabilities are multiplied by the mask
after the softmax, so that such a query gets zero attention, as Zen's
scores path (Keras's masked softmax) gives. Masks that Zen passes along
with the data (Embedding(mask_zero=True), Masking) are not exported: those
layers are refused.
"""
import math

import numpy as np

from ..nn import attention
from . import onnx_export as base

__all__ = []

LARGE_NEGATIVE = -0.7 * 3.38953e38  # the masked logit (Keras's, torch backend), float32-safe
# per mask argument: the axis it lacks among (batch, Tq, S)
PADDING_MASKS = (("query_mask", -1), ("value_mask", -2), ("key_mask", -2))


def _project(builder, layer, x, prefix):
    """(batch, length, d) -> (batch, heads, length, depth)."""
    kernel = base._weight(getattr(layer, f"{prefix}_kernel"))
    d, heads, depth = kernel.shape
    y = builder.add("MatMul", [x, builder.constant(kernel.reshape(d, heads * depth),
                                                   f"{prefix}_kernel")])
    bias = getattr(layer, f"{prefix}_bias", None)
    if bias is not None:
        y = builder.add("Add", [y, builder.constant(base._weight(bias).reshape(-1),
                                                    f"{prefix}_bias")])
    y = builder.add("Reshape", [y, builder.ints([0, 0, heads, depth])])
    return builder.add("Transpose", [y], perm=[0, 2, 1, 3])


def _allowed(builder, layer, arguments, length_q, length_k):
    """The name of the boolean mask (True: may attend), broadcastable to
    (batch, heads, Tq, S), or None when every key is allowed."""
    masks = []
    mask = arguments.get("attention_mask")
    if mask is not None:  # (batch, Tq, S) or (batch, S): the heads axis, and Tq for the latter
        axes = [1] if len(mask.shape) == 3 else [1, 2]
        masks.append(builder.add("Unsqueeze", [builder.add("Cast", [mask.name], to=9),
                                               builder.ints(axes)]))
    for name, axis in PADDING_MASKS:
        given = arguments.get(name)
        if given is not None:  # (batch, n): the heads axis and the missing one
            axes = [1, 2] if axis == -2 else [1, 3]
            masks.append(builder.add("Unsqueeze", [builder.add("Cast", [given.name], to=9),
                                                   builder.ints(axes)]))
    if arguments.get("use_causal_mask"):
        if length_q is None or length_k is None:
            raise base._unsupported(layer, "use_causal_mask needs sequences of a fixed length")
        masks.append(builder.constant(np.tril(np.ones((length_q, length_k), bool)), "causal",
                                      np.bool_))
    allowed = masks[0] if masks else None
    for other in masks[1:]:
        allowed = builder.add("And", [allowed, other])
    return allowed


def _multi_head_attention(builder, layer, operands, out_shape):
    arguments = base.call_arguments(builder, layer)
    query, value = arguments["query"], arguments["value"]
    key = arguments.get("key") or value
    q = _project(builder, layer, query.name, "query")
    k = _project(builder, layer, key.name, "key")
    v = _project(builder, layer, value.name, "value")
    depth = base._weight(layer.query_kernel).shape[-1]
    logits = builder.add("Mul", [builder.add("MatMul", [q, builder.add(
        "Transpose", [k], perm=[0, 1, 3, 2])]), builder.constant(1 / math.sqrt(depth))])
    allowed = _allowed(builder, layer, arguments, query.shape[1], key.shape[1])
    if allowed is not None:
        logits = builder.add("Where", [allowed, logits, builder.constant(LARGE_NEGATIVE)])
    probabilities = builder.add("Softmax", [logits], axis=-1)
    scores = arguments.get("return_attention_scores", False)
    if allowed is not None and scores:
        probabilities = builder.add("Mul", [probabilities,
                                            builder.add("Cast", [allowed], to=1)])
    output = _merge_heads(builder, layer, builder.add("MatMul", [probabilities, v]))
    return [output, probabilities] if scores else output


def _merge_heads(builder, layer, attended):
    """(batch, heads, Tq, value_dim) -> (batch, Tq, *output_shape)."""
    kernel = base._weight(layer.output_kernel)
    heads, depth, out = kernel.shape[0], kernel.shape[1], kernel.shape[2:]
    y = builder.add("Transpose", [attended], perm=[0, 2, 1, 3])
    y = builder.add("Reshape", [y, builder.ints([0, 0, heads * depth])])
    y = builder.add("MatMul", [y, builder.constant(kernel.reshape(heads * depth, -1),
                                                   "output_kernel")])
    bias = getattr(layer, "output_bias", None)
    if bias is not None:
        y = builder.add("Add", [y, builder.constant(base._weight(bias).reshape(-1),
                                                    "output_bias")])
    return y if len(out) == 1 else builder.add("Reshape", [y, builder.ints([0, 0, *out])])


def _position_embedding(builder, layer, operands, out_shape):
    """The table's rows start_index .. start_index + length - 1, broadcast
    to the input's shape."""
    x, shape = operands[0]
    start = int(base.call_arguments(builder, layer).get("start_index", 0) or 0)
    length = shape[-2]
    if length is None:
        raise base._unsupported(layer, "it needs sequences of a fixed length")
    rows = base._weight(layer.embeddings)[start:start + length]
    return builder.add("Expand", [builder.constant(rows, "positions"),
                                  builder.add("Shape", [x])])


CONVERTERS = {
    attention.MultiHeadAttention: _multi_head_attention,
    attention.PositionEmbedding: _position_embedding,
}
CHECKS = {}
