"""The primitive ops (arithmetic, elementwise maths, reductions) and the ops
composed from them. Shapes and indexing are in shapes.py.

Each primitive is a `Function` with its backward right below its forward.
Binary ops follow numpy broadcasting; `unbroadcast` sums each gradient back
to its operand's shape, once, for all of them.
"""
import numpy as np

from .. import kernels, parallel
from ..backend import xp
from .tensor import Function, Tensor


def unbroadcast(gradient, shape):
    """Sum `gradient` over the axes that broadcasting added or stretched."""
    if gradient.shape == shape:
        return gradient
    extra = gradient.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and gradient.shape[extra + i] != 1)
    return gradient.sum(axis=axes).reshape(shape)


# ----- arithmetic -----------------------------------------------------------
class Add(Function):
    """a + b with numpy broadcasting; each gradient is summed back to its operand's shape."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return parallel.apply(xp.add, a, b)

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    """a - b with numpy broadcasting."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return parallel.apply(xp.subtract, a, b)

    def backward(self, g):
        gb = unbroadcast(-g, self.shapes[1]) if self.needs_grad[1] else None
        return unbroadcast(g, self.shapes[0]), gb


class Mul(Function):
    """a * b, elementwise with numpy broadcasting."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return parallel.apply(xp.multiply, a, b)

    def backward(self, g):
        ga = unbroadcast(parallel.apply(xp.multiply, g, self.b), self.a.shape) \
            if self.needs_grad[0] else None
        gb = unbroadcast(parallel.apply(xp.multiply, g, self.a), self.b.shape) \
            if self.needs_grad[1] else None
        return ga, gb


class Div(Function):
    """a / b, elementwise with numpy broadcasting."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        gb = g / self.b
        ga = unbroadcast(gb, self.a.shape) if self.needs_grad[0] else None
        gb = unbroadcast(-gb * self.a / self.b, self.b.shape) if self.needs_grad[1] else None
        return ga, gb


class Neg(Function):
    """-a."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    """a ** b with numpy broadcasting (the gradient for b takes log a as 0 where a <= 0)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g * b * a ** (b - 1), a.shape) if self.needs_grad[0] else None
        gb = None
        if self.needs_grad[1]:
            log_a = xp.log(xp.where(a > 0, a, 1))  # d/db a**b = a**b log a, taken as 0 at a <= 0
            gb = unbroadcast(g * self.out * log_a, b.shape)
        return ga, gb


class MatMul(Function):
    """np.matmul: 1-D, 2-D and batched, gradients summed over broadcast batches."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs at least 1-D operands, received a scalar")
        self.a, self.b = a, b
        try:
            if a.ndim > 2 and b.ndim == 2:  # rows by a matrix: one GEMM, not one per row block
                return matrix_product(a.reshape(-1, a.shape[-1]), b).reshape(
                    *a.shape[:-1], b.shape[1])
            return matrix_product(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                             f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})") from None

    def backward(self, g):
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:  # the common case, without reshapes
            ga = matrix_product(g, b.T) if self.needs_grad[0] else None
            gb = matrix_product(a.T, g) if self.needs_grad[1] else None
            return ga, gb
        if a.ndim > 2 and b.ndim == 2:  # rows by a matrix (see forward)
            rows = g.reshape(-1, b.shape[1])
            ga = matrix_product(rows, b.T).reshape(a.shape) if self.needs_grad[0] else None
            gb = a.reshape(-1, a.shape[-1]).T @ rows if self.needs_grad[1] else None
            return ga, gb
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))  # restore the 1-D axes
        ga = gb = None
        if self.needs_grad[0]:
            ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


# ----- elementwise maths ----------------------------------------------------
class Exp(Function):
    """e ** a, elementwise."""

    def forward(self, a):
        self.out = xp.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    """The natural logarithm, elementwise."""

    def forward(self, a):
        self.a = a
        return xp.log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    """The square root, elementwise."""

    def forward(self, a):
        self.out = xp.sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Abs(Function):
    """|a|, elementwise (the gradient is sign(a): 0 at 0)."""

    def forward(self, a):
        self.a = a
        return xp.abs(a)

    def backward(self, g):
        return g * xp.sign(self.a)


class Tanh(Function):
    """tanh(a), elementwise."""

    def forward(self, a):
        self.out = xp.tanh(a)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


class Sigmoid(Function):
    """1 / (1 + e^-a), elementwise, computed through tanh so that it never overflows."""

    def forward(self, a):
        # 1 / (1 + e^-a) written with tanh: no overflow for large |a|
        self.out = 0.5 * (xp.tanh(0.5 * a) + 1)
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


class ReLU(Function):
    """max(a, 0), elementwise (the gradient is 0 at 0)."""

    def forward(self, a):
        self.out = parallel.apply(xp.maximum, a, 0)
        return self.out

    def backward(self, g):
        return relu_gradient(g, self.out)


def matrix_product(a, b):
    """a @ b of two matrices. With an inner size of 1 (a layer with one input
    feature, a Dense(1)'s input gradient) numpy's matmul leaves BLAS for a
    slow loop (154 us on (1600, 1) x (1, 64)); numpy's dot does not (29 us),
    and gives the same bits."""
    return xp.dot(a, b) if a.shape[1] == 1 else a @ b


def column_sums(rows):
    """The sum of each column of the 2-D array `rows` (a bias's gradient), as
    one BLAS matrix-vector product with a vector of ones: 2-4x faster than
    numpy's sum over the rows on a Transformer's (2048, 128) and (2048, 512)
    gradients (the same sum, added in BLAS's order)."""
    return xp.ones(len(rows), rows.dtype) @ rows


def row_sums(a):
    """The sums over the last axis of `a`, that axis kept (length 1), as one
    BLAS matrix-vector product with a vector of ones: 0.12x the time of
    numpy's sum on attention's (32, 4, 64, 64) probabilities, whose rows are
    too short for numpy's reduction loop (the same sum, in BLAS's order)."""
    if a.size == 0 or not a.flags.c_contiguous:
        return a.sum(axis=-1, keepdims=True)
    rows = a.reshape(-1, a.shape[-1])
    return (rows @ xp.ones(a.shape[-1], a.dtype)).reshape(*a.shape[:-1], 1)


def relu_gradient(g, out):
    """ReLU's input gradient g * (out > 0) from its output `out` (one pass
    with zen.kernels): for the op and for the convolution's fused ReLU."""
    if kernels.applies(g, out) and g.shape == out.shape:
        return kernels.relu_backward(g, out)
    if g.shape != out.shape or g.ndim == 0:
        return g * (out > 0)
    d_x = xp.empty(g.shape, g.dtype)

    def chunk(start, stop):  # split over the threads when large
        xp.multiply(g[start:stop], out[start:stop] > 0, out=d_x[start:stop])
    parallel.for_each_slice(chunk, g)
    return d_x


class LeakyReLU(Function):
    """a where a > 0, alpha * a elsewhere (`alpha` defaults to 0.01)."""

    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, a):
        self.positive = a > 0
        return xp.where(self.positive, a, a * self.alpha)

    def backward(self, g):
        return xp.where(self.positive, g, g * self.alpha)


class Clip(Function):
    """a clipped to [lo, hi] (either may be None); the gradient flows only where
    lo <= a <= hi."""

    def __init__(self, lo=None, hi=None):
        self.lo, self.hi = lo, hi

    def forward(self, a):
        self.a = a
        return xp.clip(a, self.lo, self.hi)

    def backward(self, g):
        inside = xp.ones(self.a.shape, dtype=bool)
        if self.lo is not None:
            inside &= self.a >= self.lo
        if self.hi is not None:
            inside &= self.a <= self.hi
        return g * inside


class Where(Function):
    """where(cond, a, b); cond is a constant boolean array."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return xp.where(self.cond, a, b)

    def backward(self, g):
        zero = xp.zeros((), g.dtype)
        ga = unbroadcast(xp.where(self.cond, g, zero), self.shapes[0]) if self.needs_grad[0] else None
        gb = unbroadcast(xp.where(self.cond, zero, g), self.shapes[1]) if self.needs_grad[1] else None
        return ga, gb


# ----- reductions -------------------------------------------------------------
class Sum(Function):
    """The sum over `axis` (an int, a tuple, or None for all axes); `keepdims=True`
    keeps the reduced axes with size 1."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.shape = a.shape
        return xp.sum(a, axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        if not self.keepdims and self.axis is not None:
            g = xp.expand_dims(g, _positive_axes(self.axis, len(self.shape)))
        return xp.broadcast_to(g, self.shape)


class Max(Function):
    """max over axes; the gradient is shared equally between tied maxima."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        self.a = a
        self.out = xp.max(a, axis=self.axis, keepdims=True)
        return self.out if self.keepdims else _squeeze(self.out, self.axis)

    def backward(self, g):
        if not self.keepdims:
            g = g.reshape(self.out.shape)
        mask = self.a == self.out
        return g * mask / mask.sum(axis=self.axis, keepdims=True)


def _positive_axes(axis, ndim):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


def _squeeze(array, axis):
    return array.reshape(()) if axis is None else xp.squeeze(array, axis=axis)


# ----- the functional API -------------------------------------------------------
def _value(x):
    return x.value if isinstance(x, Tensor) else x


def add(a, b): return Add.apply(a, b)
def sub(a, b): return Sub.apply(a, b)
def mul(a, b): return Mul.apply(a, b)
def div(a, b): return Div.apply(a, b)
def neg(a): return Neg.apply(a)
def power(a, b): return Pow.apply(a, b)
def matmul(a, b): return MatMul.apply(a, b)
def exp(t): return Exp.apply(t)
def log(t): return Log.apply(t)
def sqrt(t): return Sqrt.apply(t)
def abs(t): return Abs.apply(t)  # noqa: A001 (the op's name)
def tanh(t): return Tanh.apply(t)
def sigmoid(t): return Sigmoid.apply(t)
def relu(t): return ReLU.apply(t)
def leaky_relu(t, alpha=0.01): return LeakyReLU.apply(t, alpha=alpha)
def clip(t, lo, hi): return Clip.apply(t, lo=lo, hi=hi)
def reduce_sum(t, axis=None, keepdims=False): return Sum.apply(t, axis=_axis(axis), keepdims=keepdims)
def reduce_max(t, axis=None, keepdims=False): return Max.apply(t, axis=_axis(axis), keepdims=keepdims)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def reduce_mean(t, axis=None, keepdims=False):
    """Mean over `axis` (all axes by default): the sum divided by the number of
    elements reduced, not by the whole size."""
    shape = np.shape(_value(t))
    axes = range(len(shape)) if axis is None else _positive_axes(_axis(axis), len(shape))
    count = int(np.prod([shape[a] for a in axes]))
    return reduce_sum(t, axis, keepdims) * (1.0 / count)


def reduce_min(t, axis=None, keepdims=False):
    """Min over `axis` (all axes by default), as -reduce_max(-t): tied minima
    share the gradient equally."""
    return -reduce_max(-as_tensor(t), axis, keepdims)


def maximum(a, b):
    """Elementwise max; where a == b the gradient goes to a."""
    return Where.apply(a, b, cond=_value(a) >= _value(b))


def minimum(a, b):
    """Elementwise min; where a == b the gradient goes to a."""
    return Where.apply(a, b, cond=_value(a) <= _value(b))


def where(cond, a, b):
    return Where.apply(a, b, cond=xp.asarray(_value(cond), dtype=bool))


def as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x, trainable=False)
