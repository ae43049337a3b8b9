"""Ops that neural networks need fused for speed or numerics: softmax,
log-softmax, logsumexp, GELU, and dropout.
"""
import math

import numpy as np

from .. import rng
from ..backend import xp
from .ops import _value, mul
from .tensor import Function


class Softmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        e = xp.exp(a - a.max(axis=self.axis, keepdims=True))
        self.out = e / e.sum(axis=self.axis, keepdims=True)
        return self.out

    def backward(self, g):
        s = self.out
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        shifted = a - a.max(axis=self.axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, g):
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


class LogSumExp(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        top = a.max(axis=self.axis, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)
        self.a = a
        self.out = top + xp.log(xp.exp(a - top).sum(axis=self.axis, keepdims=True))
        return self.out if self.keepdims else _drop_axes(self.out, self.axis)

    def backward(self, g):
        if not self.keepdims:
            g = g.reshape(self.out.shape)
        return g * xp.exp(self.a - self.out)


def _drop_axes(array, axis):
    return array.reshape(()) if axis is None else xp.squeeze(array, axis=axis)


_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _erf(x):
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26): exact at float32 precision."""
    t = 1 / (1 + 0.3275911 * xp.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return xp.sign(x) * (1 - poly * xp.exp(-x * x))


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (the exact form, as Keras and
    PyTorch default to)."""

    def forward(self, a):
        self.a = a
        self.cdf = 0.5 * (1 + _erf(a * _SQRT_HALF))
        return a * self.cdf

    def backward(self, g):
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * self.a * self.a)
        return g * (self.cdf + self.a * pdf)


class Linear(Function):
    """x @ w + b as one op: the layer every MLP is made of, fused to save a
    graph node and an array per layer. x (..., in), w (in, out), b (out,)."""

    def forward(self, x, w, *bias):
        self.x, self.w = x, w
        out = x @ w
        if bias:
            out += bias[0]  # in place: `out` is new
        return out

    def backward(self, g):
        x, w, needs = self.x, self.w, self.needs_grad
        rows = g.reshape(-1, g.shape[-1])
        gx = g @ w.T if needs[0] else None
        gw = x.reshape(-1, x.shape[-1]).T @ rows if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, rows.sum(axis=0) if needs[2] else None


class SparseSoftmaxCrossEntropy(Function):
    """mean_i -log softmax(logits_i)[labels_i] for logits (N, C) and integer
    labels (N,), fused: its gradient is (softmax - one_hot) / N, computed
    without forming log-probabilities or a one-hot matrix."""

    def __init__(self, labels):
        self.labels = labels

    def forward(self, logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        rows = xp.arange(len(logits))
        picked = shifted[rows, self.labels] - xp.log(sums[:, 0])
        exp /= sums
        self.probabilities = exp
        return -picked.mean()

    def backward(self, g):
        scale = g / len(self.labels)
        grad = self.probabilities * scale
        grad[xp.arange(len(grad)), self.labels] -= scale
        return grad


def linear(x, w, b=None):
    """x @ w + b (b optional), one fused op."""
    return Linear.apply(x, w) if b is None else Linear.apply(x, w, b)


def sparse_softmax_cross_entropy(logits, labels):
    """The mean cross-entropy of logits (N, C) against integer labels (N,)."""
    return SparseSoftmaxCrossEntropy.apply(logits, labels=np.asarray(labels, dtype=np.intp))


def softmax(t, axis=-1): return Softmax.apply(t, axis=axis)
def log_softmax(t, axis=-1): return LogSoftmax.apply(t, axis=axis)
def gelu(t): return GELU.apply(t)


def logsumexp(t, axis=None, keepdims=False):
    return LogSumExp.apply(t, axis=axis, keepdims=keepdims)


def dropout(t, rate, training=True):
    """Inverted dropout: zero each element with probability `rate` and scale
    the rest by 1 / (1 - rate) in training; the identity otherwise."""
    if not 0 <= rate < 1:
        raise ValueError(f"Received an invalid value for `rate`, expected a float "
                         f"in [0, 1). Received: rate={rate!r}")
    if not training or rate == 0:
        return t
    value = _value(t)
    keep = rng.generator().random(np.shape(value), dtype=np.float32) >= rate
    return mul(t, keep.astype(value.dtype) * np.asarray(1 / (1 - rate), value.dtype))
