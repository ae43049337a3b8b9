"""Ops that neural networks need fused for speed or numerics: softmax,
log-softmax, logsumexp, GELU (exact, through zen.autodiff.special, or its
tanh approximation), and dropout.
"""
import math

import numpy as np

from .. import kernels, parallel, rng
from ..backend import xp
from ..validation import check_float, check_one_of
from . import special
from .ops import column_sums, matrix_product
from .tensor import Function


class Softmax(Function):
    """exp(a) / sum(exp(a)) along `axis` (default the last), computed after
    subtracting the maximum so that it never overflows."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        self.fast = a.ndim > 0 and self.axis in (-1, a.ndim - 1) and kernels.applies(a)
        if self.fast:  # zen.kernels, one pass per row
            self.out = kernels.softmax(a)
            return self.out
        self.out = xp.empty(a.shape, xp.result_type(a, 1.0))

        def softmax(start, stop):
            e = xp.exp(a[start:stop] - a[start:stop].max(axis=self.axis, keepdims=True))
            xp.divide(e, e.sum(axis=self.axis, keepdims=True), out=self.out[start:stop])
        self._by_rows(softmax)
        return self.out

    def backward(self, g):
        s = self.out
        if self.fast and kernels.applies(g, s):
            return kernels.softmax_backward(g, s)
        d_a = xp.empty(s.shape, xp.result_type(s, g))

        def gradient(start, stop):
            some, g_some = s[start:stop], g[start:stop]
            xp.multiply(some, g_some - (g_some * some).sum(axis=self.axis, keepdims=True),
                        out=d_a[start:stop])
        self._by_rows(gradient)
        return d_a

    def _by_rows(self, fn):
        """fn(start, stop) over slices of the first axis, split over the threads
        when the softmax runs along another axis; whole otherwise."""
        shape = self.out.shape
        if len(shape) > 1 and self.axis not in (0, -len(shape)):
            parallel.for_each_slice(fn, self.out)
        else:
            fn(0, shape[0] if shape else None)


class LogSoftmax(Function):
    """log(softmax(a)) along `axis` (default the last), computed stably in one op."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        shifted = a - a.max(axis=self.axis, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, g):
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


class LogSumExp(Function):
    """log(sum(exp(a))) over `axis` (None: all axes), shifted by the maximum so
    that it never overflows."""

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


class GELU(Function):
    """x * Phi(x), Phi the standard normal distribution function: the exact
    form, Keras's and PyTorch's default. Its derivative is Phi(x) + x phi(x),
    formed in forward when a gradient will be wanted, because Phi and phi
    come from one computation there (`special.normal_cdf_and_pdf`)."""

    def forward(self, a):
        if kernels.applies(a):  # zen.kernels: GELU and its derivative in one pass
            out, self.derivative = kernels.gelu(a, derivative=bool(self.needs_grad))
            return out
        if not self.needs_grad:
            return a * special.normal_cdf(a)
        if a.dtype.kind != "f":
            cdf, pdf = special.normal_cdf_and_pdf(a)
            self.derivative = pdf * a + cdf
            return a * cdf
        flat = xp.ascontiguousarray(a).reshape(-1)
        out, derivative = xp.empty_like(flat), xp.empty_like(flat)

        def block(start, stop):  # fifty-odd numpy passes, each on a block in cache
            x = flat[start:stop]
            cdf, pdf = special.normal_cdf_and_pdf(x)
            slope = xp.multiply(pdf, x, out=derivative[start:stop])
            slope += cdf
            xp.multiply(x, cdf, out=out[start:stop])
        parallel.for_each_block(block, len(flat))
        self.derivative = derivative.reshape(a.shape)
        return out.reshape(a.shape)

    def backward(self, g):
        derivative = self.derivative
        if self.retained or derivative.shape != g.shape or derivative.dtype != g.dtype:
            return g * derivative
        self.derivative = None  # its buffer becomes the gradient: no new array
        derivative *= g
        return derivative


_TANH_SCALE = math.sqrt(2 / math.pi)
_TANH_CUBIC = 0.044715


class GELUTanh(Function):
    """x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): Hendrycks & Gimpel's
    tanh approximation of GELU (Keras approximate=True, PyTorch "tanh")."""

    def forward(self, a):
        self.a = a
        self.tanh = xp.tanh(_TANH_SCALE * (a + _TANH_CUBIC * a * a * a))
        return 0.5 * a * (1 + self.tanh)

    def backward(self, g):
        a, tanh = self.a, self.tanh
        inner = _TANH_SCALE * (1 + 3 * _TANH_CUBIC * a * a)
        return g * (0.5 * (1 + tanh) + 0.5 * a * (1 - tanh * tanh) * inner)


def gelu_is_tanh(approximate) -> bool:
    """Whether `approximate` asks for the tanh form: "tanh" or True (Keras)
    does, "none" or False does not; anything else is a ValueError."""
    choice = check_one_of(approximate, "approximate", ("none", "tanh", False, True))
    return choice in ("tanh", True)


class Linear(Function):
    """x @ w + b as one op: the layer every MLP is made of, fused to save a
    graph node and an array per layer. x (..., in), w (in, out), b (out,).
    The leading axes of x are flattened into rows: one GEMM, where numpy's
    matmul of a 3-D x by a matrix would run one GEMM per leading index
    (1.4-2x slower on a Transformer's (32, 64, 128) activations).

    Where x has no more columns than the output (`folds_bias`), the bias
    joins the product as one more input column of ones and one more kernel
    row: copying x costs less than a pass over the output to add b, and the
    bias's gradient comes out of the kernel's product as its last row (0.57x
    the time of forward and the weight gradients for a recurrent layer's
    (1600, 8) x (8, 256) input projection, 0.89x for (2048, 128) x (128,
    128)). The sum is the same, added in BLAS's order."""

    def forward(self, x, w, *bias):
        rows, self.w = x.reshape(-1, x.shape[-1]), w
        if bias and folds_bias(*w.shape):
            self.x = with_ones_column(rows)
            out = matrix_product(self.x, xp.concatenate([w, bias[0][None].astype(w.dtype)]))
        else:
            self.x = rows
            out = matrix_product(rows, w)
            if bias:
                parallel.apply(xp.add, out, bias[0], out=out)  # in place: `out` is new
        return out.reshape(*x.shape[:-1], w.shape[1])

    def backward(self, g):
        x, w, needs = self.x, self.w, self.needs_grad
        rows = g.reshape(-1, g.shape[-1])
        gx = matrix_product(rows, w.T).reshape(*g.shape[:-1], w.shape[0]) if needs[0] else None
        if x.shape[1] > w.shape[0]:  # the bias folded in: its gradient is the last row
            both = x.T @ rows if needs[1] or needs[2] else None
            return gx, both[:-1] if needs[1] else None, both[-1] if needs[2] else None
        gw = x.T @ rows if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, column_sums(rows) if needs[2] else None


def folds_bias(inputs, outputs):
    """Whether Linear adds its bias inside the product (see there): when
    the input has no more features than the output (measured up to 0.57x the
    time; with 4x as many, 1.05x)."""
    return inputs <= outputs


def with_ones_column(rows):
    """The 2-D array `rows` with a column of ones after its last."""
    out = xp.empty((rows.shape[0], rows.shape[1] + 1), rows.dtype)
    out[:, :-1] = rows
    out[:, -1] = 1
    return out


class SparseSoftmaxCrossEntropy(Function):
    """sum_i w_i * -log softmax(logits_i)[labels_i] for logits (N, C),
    integer labels (N,) and row weights w (N,) (default 1/N: the mean),
    fused: its gradient is w_i * (softmax_i - one_hot_i), computed without
    forming log-probabilities or a one-hot matrix."""

    def __init__(self, labels, weights=None):
        self.labels, self.weights = labels, weights

    def forward(self, logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        rows = xp.arange(len(logits))
        picked = shifted[rows, self.labels] - xp.log(sums[:, 0])
        exp /= sums
        self.probabilities = exp
        if self.weights is None:
            return -picked.mean()
        return -(picked @ self.weights.astype(picked.dtype, copy=False))

    def backward(self, g):
        rows = xp.arange(len(self.labels))
        if self.weights is None:
            scale = g / len(self.labels)
            grad = self.probabilities * scale
            grad[rows, self.labels] -= scale
            return grad
        scale = (g * self.weights).astype(self.probabilities.dtype, copy=False)
        grad = self.probabilities * scale[:, None]
        grad[rows, self.labels] -= scale
        return grad


def linear(x, w, b=None):
    """x @ w + b (b optional), one fused op."""
    return Linear.apply(x, w) if b is None else Linear.apply(x, w, b)


def sparse_softmax_cross_entropy(logits, labels, weights=None):
    """The cross-entropy of logits (N, C) against integer labels (N,): the
    mean, or with `weights` (N,) the weighted sum sum_i w_i * loss_i."""
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
    return SparseSoftmaxCrossEntropy.apply(logits, labels=np.asarray(labels, dtype=np.intp),
                                           weights=weights)


def softmax(t, axis=-1): return Softmax.apply(t, axis=axis)
def log_softmax(t, axis=-1): return LogSoftmax.apply(t, axis=axis)


def gelu(t, approximate="none"):
    """GELU, x * Phi(x): exact to float64 rounding with approximate="none" (or
    False); the tanh approximation with "tanh" (or True)."""
    return (GELUTanh if gelu_is_tanh(approximate) else GELU).apply(t)


def logsumexp(t, axis=None, keepdims=False):
    return LogSumExp.apply(t, axis=axis, keepdims=keepdims)


class Dropout(Function):
    """Inverted dropout, drop-mask and scale in one op: forward multiplies by
    mask / (1 - rate), backward by the same array."""

    def __init__(self, rate):
        self.rate = rate

    def forward(self, a):
        keep = _keep_mask(a.shape, self.rate)
        self.scaled_mask = xp.multiply(keep, 1 / (1 - self.rate), dtype=a.dtype)
        return a * self.scaled_mask

    def backward(self, g):
        return g * self.scaled_mask


def _keep_mask(shape, rate):
    """True with probability 1 - rate, to within 2^-17: each element takes
    16 random bits u and is kept when u >= round(rate * 2^16). Four elements
    share one raw 64-bit draw of zen.rng's generator (so zen.set_seed repeats
    the mask): half the draws of float32 uniforms, and no conversion."""
    size = math.prod(shape)
    raw = rng.generator().bit_generator.random_raw(-(-size // 4))
    bits = raw.view(np.uint16)[:size].reshape(shape)
    return bits >= round(rate * 65536)


def dropout(t, rate, training=True):
    """Inverted dropout: zero each element with probability `rate` (to within
    2^-17, see `_keep_mask`) and scale the rest by 1 / (1 - rate) in
    training; the identity otherwise. The mask comes from zen.rng."""
    rate = check_float(rate, "rate", 0, 1, high_open=True)
    if not training or rate == 0:
        return t
    return Dropout.apply(t, rate=rate)
