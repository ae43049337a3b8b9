"""Activation ops fused for numerics: softplus (no overflow, no log of 1 +
a tiny number), ELU and SELU (expm1 near 0), squareplus (no cancellation
for x << 0) and sparsemax (a sort along an axis, which no composition of
elementwise ops gives). The other Keras activations are compositions, in
zen.nn.activations.
"""
import math

from ..backend import xp
from ..validation import check_float, check_int
from .tensor import Function

# Klambauer et al. (2017), the constants Keras and PyTorch use
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(a):
    return 0.5 * (xp.tanh(0.5 * a) + 1)  # no overflow for large |a|


class Softplus(Function):
    """log(1 + e^a), written max(a, 0) + log1p(e^-|a|): no overflow for
    large a, full precision for very negative a. Its derivative is sigmoid(a)."""

    def forward(self, a):
        self.a = a
        return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, g):
        return g * _sigmoid(self.a)


class ELU(Function):
    """scale * (a where a > 0, alpha * (e^a - 1) elsewhere), e^a - 1 through
    expm1 so that it keeps its digits near 0. The derivative is scale where
    a > 0 and scale * (out / scale + alpha) = scale * alpha * e^a elsewhere.
    SELU is this op with Klambauer et al.'s alpha and scale."""

    def __init__(self, alpha=1.0, scale=1.0):
        self.alpha, self.scale = alpha, scale

    def forward(self, a):
        self.positive = a > 0
        self.negative_part = self.alpha * xp.expm1(xp.minimum(a, 0))  # minimum: no overflow
        return self.scale * xp.where(self.positive, a, self.negative_part)

    def backward(self, g):
        slope = xp.where(self.positive, 1, self.negative_part + self.alpha)
        return g * (self.scale * slope)


class Squareplus(Function):
    """(a + sqrt(a^2 + b)) / 2 (Barron, 2021). Where a < 0 the sum cancels,
    so it is computed there as the equal b / (2 (sqrt(a^2 + b) - a)); the
    root comes from hypot, which never overflows. The derivative is
    (1 + a / root) / 2 = out / root."""

    def __init__(self, b=4.0):
        self.b = b

    def forward(self, a):
        root = xp.hypot(a, math.sqrt(self.b))
        negative = a < 0
        safe = xp.where(negative, root - a, 1)  # root - a > 0 where a < 0
        out = xp.where(negative, self.b / (2 * safe), (a + root) / 2)
        self.out, self.root = out, root
        return out

    def backward(self, g):
        positive_root = self.root > 0  # root is 0 only at a = 0 with b = 0
        return g * xp.where(positive_root, self.out / xp.where(positive_root, self.root, 1), 0)


class Sparsemax(Function):
    """The Euclidean projection of `a` onto the probability simplex along
    `axis` (Martins & Astudillo, 2016): max(a - tau, 0), with tau chosen so
    that the values sum to 1. On the support S (the positive outputs) the
    gradient is g - mean over S of g; elsewhere it is 0."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        axis = self.axis
        ranked = xp.flip(xp.sort(a, axis=axis), axis=axis)  # descending
        running = xp.cumsum(ranked, axis=axis)
        ranks = xp.arange(1, a.shape[axis] + 1, dtype=a.dtype)
        ranks = ranks.reshape([-1 if i == axis % a.ndim else 1 for i in range(a.ndim)])
        support_size = (1 + ranks * ranked > running).sum(axis=axis, keepdims=True)
        total = xp.take_along_axis(running, support_size - 1, axis=axis)
        tau = (total - 1) / support_size.astype(a.dtype)
        out = xp.maximum(a - tau, 0)
        self.support = out > 0
        return out

    def backward(self, g):
        support, axis = self.support, self.axis
        kept = g * support
        mean = kept.sum(axis=axis, keepdims=True) / support.sum(axis=axis, keepdims=True)
        return support * (g - mean.astype(g.dtype))


def softplus(t):
    """log(1 + e^t), elementwise and numerically stable (see `Softplus`).

    Args:
        t: a Tensor or array.
    """
    return Softplus.apply(t)


def elu(t, alpha=1.0):
    """t where t > 0, alpha * (e^t - 1) elsewhere (Clevert et al., 2016).

    Args:
        t: a Tensor or array.
        alpha: the scale of the negative part (default 1.0).
    """
    return ELU.apply(t, alpha=check_float(alpha, "alpha"))


def selu(t):
    """scale * elu(t, alpha) with alpha = 1.67326324 and scale = 1.05070098
    (Klambauer et al., 2017): self-normalising with lecun_normal weights.

    Args:
        t: a Tensor or array.
    """
    return ELU.apply(t, alpha=SELU_ALPHA, scale=SELU_SCALE)


def squareplus(t, b=4):
    """(t + sqrt(t^2 + b)) / 2, a smooth ReLU (Barron, 2021).

    Args:
        t: a Tensor or array.
        b: the smoothness, a number >= 0 (default 4; 0 gives max(t, 0)).
    """
    return Squareplus.apply(t, b=check_float(b, "b", 0))


def sparsemax(t, axis=-1):
    """The sparse counterpart of softmax along `axis` (default the last):
    values that are >= 0, sum to 1, and are exactly 0 for low logits.

    Args:
        t: a Tensor or array (at least 1-D).
        axis: the axis along which the values sum to 1.
    """
    return Sparsemax.apply(t, axis=check_int(axis, "axis"))
