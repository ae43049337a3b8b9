"""Scaled dot-product attention as one op: softmax(q k^T * scale + mask) v.

Inputs are (..., length, depth) with the same leading axes, normally
(batch, heads, length, depth); every product is one batched `matmul` over
all of them. Forward keeps only the attention probabilities (one
(length_q, length_k) matrix per head) for backward. With P the
probabilities, O = P v and G = dL/dO:
    dv = P^T G
    dS = P * (G v^T - rowsum(G * O))     (softmax's backward; rowsum(G * O)
                                          equals rowsum(P * G v^T), cheaper)
    dq = dS k * scale,  dk = dS^T q * scale,  d(additive mask) = dS.
A masked-out logit is -inf, so it gets probability 0 and gradient 0; a row
with nothing to attend to (fully masked) gives zeros, never NaN.
"""
import math

import numpy as np

from .. import kernels, parallel
from ..backend import xp
from ..validation import check_bool, check_float
from .tensor import Function, Tensor  # first: ops builds on tensor
from .ops import row_sums, unbroadcast


def _swap(a):
    """The last two axes exchanged (a view)."""
    return xp.swapaxes(a, -1, -2)


_BLAS_THREADED = 1 << 18
"""OpenBLAS runs a GEMM of fewer multiply-adds than this on the calling thread."""


def _matmul(a, b, out=None):
    """a @ b for stacks of matrices with the same leading axes, the stack
    split along its first axis over zen.parallel's threads: numpy runs one
    small GEMM after another on one core (a Transformer's 128 per-head
    64 x 32 x 64 products take about 0.65x the time on two threads). Each
    matrix is the same BLAS call either way, so the result does not depend
    on the threads. Products big enough for BLAS's own threads
    (`_BLAS_THREADED` multiply-adds) stay whole: no threads on threads.
    `out`, when given, receives the product (it may be a strided view)."""
    if out is None:
        out = xp.empty((*a.shape[:-1], b.shape[-1]), xp.result_type(a, b))
    if (a.ndim < 3 or out.size < 2 * parallel.MIN_CHUNK
            or a.shape[-2] * a.shape[-1] * b.shape[-1] >= _BLAS_THREADED):
        return xp.matmul(a, b, out=out)

    def product(start, stop):
        xp.matmul(a[start:stop], b[start:stop], out=out[start:stop])
    parallel.for_each_slice(product, out)
    return out


class _AttentionLogits(Function):
    """What both attention ops share: the masked, scaled logits, their
    softmax, and the gradients that flow back from the logits.

    `allowed` is a boolean array (True = may attend), broadcast to the logits;
    `causal`: it is the causal mask alone. An additive float mask, when
    given, is the last input."""

    def __init__(self, scale, allowed=None, causal=False):
        self.scale, self.allowed, self.causal = scale, allowed, causal

    def probabilities(self, q, k, additive):
        self.q, self.k = q, k
        self.additive_shape = None if additive is None else additive.shape
        scaled = q if self.scale == 1 else q * self.scale  # Lq*d products, where logits have Lq*Lk
        logits = _matmul(scaled, _swap(k))
        if additive is not None:
            logits += additive
        self.fast = kernels.applies(logits) and (
            self.allowed is None or bool(self.allowed.any(axis=-1).all())) and (
            additive is None or bool(xp.isfinite(additive).all()))
        if self.fast and self.causal:  # zen.kernels: the masked half is neither masked nor read
            self.p = kernels.softmax(logits, causal=True)
            return self.p
        masked_out = None if self.allowed is None else ~self.allowed
        if self.fast:  # zen.kernels: one pass a row (every row has a key to attend to)
            if masked_out is not None:
                xp.copyto(logits, -xp.inf, where=masked_out)
            self.p = kernels.softmax(logits)
            return self.p

        def softmax(start, stop):  # masked and normalised in place, logits[start:stop]
            some = logits[start:stop]
            if masked_out is not None:
                xp.copyto(some, -xp.inf, where=_first_axis_slice(masked_out, logits, start, stop))
            top = some.max(axis=-1, keepdims=True)
            top[~xp.isfinite(top)] = 0  # a fully masked row: all -inf, exp gives zeros
            some -= top
            xp.exp(some, out=some)
            total = row_sums(some)
            total[total == 0] = 1
            some /= total
        parallel.for_each_slice(softmax, logits)
        self.p = logits
        return logits

    def logit_gradients(self, d_logits, wanted, into=(None, None)):
        """(dq, dk) from dL/d(logits), each None where `wanted` (two bools)
        says so; written into the arrays `into` where given."""
        dq = dk = None
        if wanted[0]:
            dq = _matmul(d_logits, self.k, into[0])
            if self.scale != 1:
                dq *= self.scale
        if wanted[1]:
            dk = _matmul(_swap(d_logits), self.q, into[1])
            if self.scale != 1:
                dk *= self.scale
        return dq, dk

    def additive_gradient(self, d_logits):
        """(the additive mask's gradient or None,), or () without that mask."""
        if self.additive_shape is None:
            return ()
        return (unbroadcast(d_logits, self.additive_shape) if self.needs_grad[-1] else None,)

    def logits_backward(self, g, out):
        """dL/d(logits) from the gradient g of the output `out` = P v."""
        p = self.p
        d_p = _matmul(g, _swap(self.v))
        if self.fast and kernels.applies(d_p, p):  # p (d_p - sum(d_p p)), sum(d_p p) = g . out
            return kernels.softmax_backward(d_p, p, causal=self.causal)

        def softmax_backward(start, stop):
            some = d_p[start:stop]
            some -= row_sums(g[start:stop] * out[start:stop])
            some *= p[start:stop]
        parallel.for_each_slice(softmax_backward, d_p)
        return d_p


class AttentionWeights(_AttentionLogits):
    """softmax(q k^T * scale + mask): (..., Lq, d), (..., Lk, d) -> (..., Lq, Lk)."""

    def forward(self, q, k, *additive):
        return self.probabilities(q, k, additive[0] if additive else None)

    def backward(self, g):
        p = self.p
        if self.fast and kernels.applies(g, p):
            d_logits = kernels.softmax_backward(g, p, causal=self.causal)
        else:
            d_logits = g * p
            d_logits -= p * row_sums(d_logits)
        return (*self.logit_gradients(d_logits, self.needs_grad[:2]),
                *self.additive_gradient(d_logits))


class ScaledDotProductAttention(_AttentionLogits):
    """softmax(q k^T * scale + mask) v: (..., Lq, d), (..., Lk, d), (..., Lk, dv)
    -> (..., Lq, dv)."""

    def forward(self, q, k, v, *additive):
        self.v = v
        self.out = _matmul(self.probabilities(q, k, additive[0] if additive else None), v)
        return self.out

    def backward(self, g):
        dv = _matmul(_swap(self.p), g) if self.needs_grad[2] else None
        d_logits = self.logits_backward(g, self.out)
        return (*self.logit_gradients(d_logits, self.needs_grad[:2]), dv,
                *self.additive_gradient(d_logits))


class SelfAttention(_AttentionLogits):
    """`ScaledDotProductAttention` on queries, keys and values packed in one
    array, as one projection makes them: qkv (batch, length, 3, heads,
    depth) -> (batch, length, heads, depth). The heads are read and written
    in place through strided views, so neither side needs a transposed copy,
    and the gradient is one array, where three separate inputs would each
    need their own (and their sum). With zen.kernels, and no mask but the
    causal one, each thread runs its sequences' products (numpy's BLAS,
    skipping the causal mask's zero quarter) and softmax in one call,
    forward and backward: the same bits as the separate kernels, 0.65-0.68x
    their time on a Transformer's (32, 64, 3, 4, 32)."""

    def forward(self, qkv, *additive):
        self.fused = (not additive and (self.allowed is None or self.causal)
                      and qkv.flags.c_contiguous and kernels.products(qkv))
        if self.fused:  # zen.kernels: every head's products and softmax in one call per thread
            self.qkv = qkv
            self.out, self.p = kernels.self_attention(qkv, self.causal, self.scale)
            return self.out
        q, k, self.v = (_heads_first(qkv[:, :, part]) for part in range(3))
        self.out = xp.empty((*qkv.shape[:2], *qkv.shape[3:]), qkv.dtype)
        _matmul(self.probabilities(q, k, additive[0] if additive else None), self.v,
                _heads_first(self.out))
        return self.out

    def backward(self, g):
        if self.fused:
            d_qkv = None
            if self.needs_grad[0]:
                d_qkv = kernels.self_attention_backward(g, self.qkv, self.p, self.causal,
                                                        self.scale)
            return (d_qkv,)
        g, d_qkv = _heads_first(g), None
        if self.needs_grad[0]:
            d_qkv = xp.empty((g.shape[0], g.shape[2], 3, g.shape[1], g.shape[3]), g.dtype)
            dq, dk, dv = (_heads_first(d_qkv[:, :, part]) for part in range(3))
            _matmul(_swap(self.p), g, dv)
        d_logits = self.logits_backward(g, _heads_first(self.out))
        if d_qkv is not None:
            self.logit_gradients(d_logits, (True, True), (dq, dk))
        return (d_qkv, *self.additive_gradient(d_logits))


def _first_axis_slice(mask, array, start, stop):
    """The part of `mask` (broadcast to `array`) that covers array[start:stop]."""
    if mask.ndim == array.ndim and mask.shape[0] == array.shape[0]:
        return mask[start:stop]
    return mask  # it broadcasts along the first axis


def _heads_first(a):
    """(batch, length, heads, depth) seen as (batch, heads, length, depth) (a view)."""
    return xp.swapaxes(a, 1, 2)


# ----- the public functions ------------------------------------------------------------
def scaled_dot_product_attention(q, k, v, mask=None, is_causal: bool = False, scale=None):
    """softmax(q k^T * scale + mask) v, one fused op (PyTorch's semantics).

    Args:
        q: queries (batch, heads, length_q, depth) (any leading axes, the same
            for q, k and v).
        k: keys (batch, heads, length_k, depth).
        v: values (batch, heads, length_k, depth_v).
        mask: None; a boolean array, True where a query may attend to a key;
            or a float array or Tensor added to the logits (differentiable).
            Either broadcasts to (batch, heads, length_q, length_k), e.g.
            (length_q, length_k) or (batch, 1, length_q, length_k).
        is_causal: query i attends only to keys j <= i (combined with `mask`).
        scale: the logits' factor; default 1 / sqrt(depth).

    Returns:
        A Tensor (batch, heads, length_q, depth_v) of q's dtype. A query row
        with no key to attend to gives zeros (and zero gradients).

    Example:
        q = k = v = np.random.rand(2, 4, 10, 8).astype(np.float32)
        scaled_dot_product_attention(q, k, v, is_causal=True).shape   # (2, 4, 10, 8)
    """
    _check_shapes(q, k, v)
    scale, allowed, causal, additive = _mask_and_scale(_shape(q), _shape(k), mask, is_causal,
                                                       scale)
    return ScaledDotProductAttention.apply(q, k, v, *additive, scale=scale, allowed=allowed,
                                           causal=causal)


def attention_weights(q, k, mask=None, is_causal: bool = False, scale=None):
    """The attention probabilities softmax(q k^T * scale + mask) of
    `scaled_dot_product_attention` (same arguments, without v), shape
    (batch, heads, length_q, length_k): for inspecting them, or to apply
    dropout to them before multiplying by the values."""
    _check_shapes(q, k)
    scale, allowed, causal, additive = _mask_and_scale(_shape(q), _shape(k), mask, is_causal,
                                                       scale)
    return AttentionWeights.apply(q, k, *additive, scale=scale, allowed=allowed, causal=causal)


def self_attention(qkv, mask=None, is_causal: bool = False, scale=None):
    """`scaled_dot_product_attention` of queries, keys and values packed in
    one tensor, as a self-attention layer's one projection makes them.

    Args:
        qkv: (batch, length, 3, heads, depth): queries, keys and values
            along axis 2, in that order.
        mask: as `scaled_dot_product_attention`'s, broadcast to the logits
            (batch, heads, length, length).
        is_causal: query i attends only to keys j <= i.
        scale: the logits' factor; default 1 / sqrt(depth).

    Returns:
        A Tensor (batch, length, heads, depth): each position's heads side
        by side, ready for the output projection without a transpose.

    Example:
        qkv = np.random.rand(2, 10, 3, 4, 8).astype(np.float32)
        self_attention(qkv, is_causal=True).shape   # (2, 10, 4, 8)
    """
    shape = _shape(qkv)
    if len(shape) != 5 or shape[2] != 3:
        raise ValueError(f"self_attention expects qkv of shape (batch, length, 3, heads, "
                         f"depth). Received: qkv={shape}")
    heads_first = (shape[0], shape[3], shape[1], shape[4])
    scale, allowed, causal, additive = _mask_and_scale(heads_first, heads_first, mask,
                                                       is_causal, scale)
    return SelfAttention.apply(qkv, *additive, scale=scale, allowed=allowed, causal=causal)


def _shape(t):
    return tuple(np.shape(t.value if isinstance(t, Tensor) else t))


def _check_shapes(q, k, v=None):
    """q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv), the same leading axes."""
    named = {"q": _shape(q), "k": _shape(k)}
    if v is not None:
        named["v"] = _shape(v)
    qs, ks = named["q"], named["k"]
    ok = (len(qs) >= 2 and all(len(s) == len(qs) and s[:-2] == qs[:-2] for s in named.values())
          and ks[-1] == qs[-1] and ("v" not in named or named["v"][-2] == ks[-2]))
    if not ok:
        expected = "q (..., length_q, depth), k (..., length_k, depth)" + (
            " and v (..., length_k, depth_v)" if "v" in named else "")
        received = ", ".join(f"{name}={shape}" for name, shape in named.items())
        raise ValueError(f"Attention expects {expected} with the same leading axes. "
                         f"Received: {received}")


def _mask_and_scale(q_shape, k_shape, mask, is_causal, scale):
    """(scale, boolean `allowed` mask or None, whether that is the causal mask
    alone, (additive mask,) or ()) for queries and keys of these shapes."""
    depth, length_q, length_k = q_shape[-1], q_shape[-2], k_shape[-2]
    if scale is None:
        scale = 1 / math.sqrt(depth) if depth else 1.0
    else:
        scale = check_float(scale, "scale")
    is_causal = check_bool(is_causal, "is_causal")
    allowed, additive = None, ()
    if mask is not None:
        logits_shape = q_shape[:-1] + (length_k,)
        mask_shape = _shape(mask)
        try:
            fits = np.broadcast_shapes(mask_shape, logits_shape) == logits_shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"Received a `mask` of shape {mask_shape} that does not "
                             f"broadcast to the attention logits of shape {logits_shape} "
                             f"(..., length_q, length_k)")
        dtype = (mask.value if isinstance(mask, Tensor) else np.asarray(mask)).dtype
        if dtype == bool:
            allowed = np.asarray(mask)
        elif dtype.kind == "f":
            additive = (mask,)
        else:
            raise ValueError(f"Received a `mask` of dtype {dtype}, expected booleans "
                             f"(True = may attend) or floats (added to the logits)")
    if is_causal:
        causal = np.tril(np.ones((length_q, length_k), dtype=bool))
        allowed = causal if allowed is None else allowed & causal
    return float(scale), allowed, is_causal and mask is None, additive
