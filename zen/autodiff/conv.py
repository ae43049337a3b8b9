"""2-D convolution, its transpose, pooling and upsampling on channels-last
images (N, H, W, C).

Convolution is im2col: a strided view of every receptive field, copied once
into a matrix, and one matmul with the kernel. The transposed convolution is
the same two steps run backwards: one matmul giving each input pixel's
kh*kw patch of outputs, then col2im, which adds the patches into place.
col2im (in both directions) loops over the kernel's kh*kw offsets, never over
pixels or samples, each offset a whole-batch strided add.
"""
from numpy.lib.stride_tricks import as_strided

from .. import kernels, parallel
from ..backend import xp
from ..validation import invalid, is_int
from .conv1d import padding_mode
from .ops import matrix_product, relu_gradient
from .tensor import Function


def pair(value, name):
    """A positive int or a pair of them, as a pair; anything else is a ValueError."""
    values = (value, value) if is_int(value) else value
    if (not isinstance(values, (tuple, list)) or len(values) != 2
            or not all(is_int(v) and v > 0 for v in values)):
        raise invalid(name, "a positive integer or a pair of them", value)
    return tuple(int(v) for v in values)


def conv_padding(padding, in_size, kernel, stride):
    """((top, bottom), (left, right)) for "valid", "same" (TensorFlow's split,
    the extra row at the bottom) or an int / pair of ints."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            pads = []
            for n, k, s in zip(in_size, kernel, stride):
                total = max((-(-n // s) - 1) * s + k - n, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
    elif is_int(padding) and padding >= 0:
        return (int(padding),) * 2, (int(padding),) * 2
    elif isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            is_int(p) and p >= 0 for p in padding):
        return (int(padding[0]),) * 2, (int(padding[1]),) * 2
    raise invalid("padding", "'valid', 'same' or a non-negative integer", padding)


def transpose_output_size(in_hw, kernel, stride, padding):
    """Keras's output size of a transposed convolution: in * stride, plus
    max(kernel - stride, 0) with "valid" padding."""
    if padding == "same":
        return tuple(n * s for n, s in zip(in_hw, stride))
    return tuple(n * s + max(k - s, 0) for n, k, s in zip(in_hw, kernel, stride))


def _windows(x, kernel, stride, out_hw):
    """A (N, Ho, Wo, kh, kw, C) view of every receptive field of x (no copy)."""
    n, _, _, c = x.shape
    sn, sh, sw, sc = x.strides
    return as_strided(x, (n, *out_hw, *kernel, c),
                      (sn, sh * stride[0], sw * stride[1], sh, sw, sc), writeable=False)


def _output_size(in_hw, kernel, stride, op):
    out = tuple((n - k) // s + 1 for n, k, s in zip(in_hw, kernel, stride))
    if min(out) < 1:
        raise ValueError(f"{op}: a window of {kernel} does not fit the input of "
                         f"height x width {in_hw} (after padding)")
    return out


def _offsets(kernel, stride, out_hw):
    """(i, j, slice of the input rows, slice of its columns) per kernel offset."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            yield (i, j, slice(i, i + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
                   slice(j, j + stride[1] * (out_hw[1] - 1) + 1, stride[1]))


def _copy_fields(windows, ones=False):
    """The (N * Ho * Wo, kh * kw * C) matrix of `_windows`' receptive fields,
    with a column of ones after them if `ones` (a folded bias's): one
    strided copy, split by images over zen.parallel's threads."""
    width = windows[0, 0, 0].size
    matrix = xp.empty((windows[..., 0, 0, 0].size, width + bool(ones)), windows.dtype)
    fields = matrix[:, :width].reshape(windows.shape)  # a view: it only splits axes
    if ones:
        matrix[:, width] = 1

    def copy(start, stop):
        fields[start:stop] = windows[start:stop]
    parallel.for_each_slice(copy, fields)
    return matrix


_KERNEL_MIN_CHANNELS = 8
"""zen.kernels' im2col runs a loop per field row over the channels: with
fewer channels numpy's strided copy is faster (1.5x on one channel)."""


class Conv2D(Function):
    """x (N, H, W, C) cross-correlated with w (kh, kw, C, F), plus an
    optional bias b (F,), then optionally ReLU, as one op.

    Forward: im2col (one copy of every receptive field; with zen.kernels
    one pass that writes the padding's zeros itself, 0.56-0.77x the time of
    a padded copy and numpy's strided copy) and one GEMM. The bias joins
    the product as a column of ones after the fields and a last kernel row,
    as `Linear` folds it: no pass over the output adds it, and its gradient
    is the last row of the kernel's. Backward: the weight gradient is one
    GEMM with the saved columns, and the input gradient is col2im. On numpy:
    one stacked product g @ w[i, j]^T per kernel offset (i, j), each into
    its own contiguous (N, Ho, Wo, C) block, then the strided adds into
    place, split by images over the threads (0.6-0.8x the time of one
    offset's product and add after another's on a (64, 13, 13, 32) input).
    With zen.kernels: one GEMM, then one compiled pass adds it into place.
    A fused ReLU runs in place on the GEMM's output and masks g first in
    backward."""

    def __init__(self, stride=1, padding=0, relu=False):
        self.stride = pair(stride, "stride")
        self.padding = padding
        self.relu = relu

    def forward(self, x, w, *bias):
        if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
            raise ValueError(f"conv2d expects x (N, H, W, C) and w (kh, kw, C, filters) "
                             f"with the same C; received x {x.shape} and w {w.shape}")
        kernel = w.shape[:2]
        self.pads = conv_padding(self.padding, x.shape[1:3], kernel, self.stride)
        self.padded_shape = (x.shape[0], *(n + sum(p) for n, p in zip(x.shape[1:3], self.pads)),
                             x.shape[3])
        if bias and bias[0].shape != (w.shape[3],):
            raise ValueError(f"conv2d expects a bias of shape ({w.shape[3]},), one per "
                             f"filter; received {bias[0].shape}")
        self.dtype = x.dtype
        self.out_hw = _output_size(self.padded_shape[1:3], kernel, self.stride, "conv2d")
        if kernels.applies(x, w) and x.shape[3] >= _KERNEL_MIN_CHANNELS:
            cols = kernels.im2col(x, kernel, self.stride, self.pads, self.out_hw, ones=bool(bias))
        else:
            if any(p for side in self.pads for p in side):
                x = xp.pad(x, ((0, 0), *self.pads, (0, 0)))
            cols = _copy_fields(_windows(x, kernel, self.stride, self.out_hw), ones=bool(bias))
        self.w = w
        self.cols = cols if self.needs_grad and any(self.needs_grad[1:]) else None
        matrix = w.reshape(-1, w.shape[3])
        if bias:
            matrix = xp.concatenate([matrix, bias[0][None].astype(w.dtype)])
        out = matrix_product(cols, matrix)
        if self.relu:
            self.out = parallel.apply(xp.maximum, out, 0, out=out)
        return out.reshape(x.shape[0], *self.out_hw, w.shape[3])

    def backward(self, g):
        w, needs = self.w, self.needs_grad
        rows = g.reshape(-1, w.shape[3])
        if self.relu:
            rows = relu_gradient(rows, self.out)
        both = self.cols.T @ rows if any(needs[1:]) else None  # the bias's row last, if folded
        if not self.retained:
            self.cols = None  # freed before the input gradient's columns are made
        gx = self._input_gradient(rows, w) if needs[0] else None
        folded = len(needs) > 2  # a bias: its gradient is the last row of `both`
        gw = (both[:-1] if folded else both).reshape(w.shape) if needs[1] else None
        if not folded:
            return gx, gw
        return gx, gw, both[-1] if needs[2] else None

    def _input_gradient(self, rows, w):
        """col2im, one kernel offset at a time (see the class docstring); with
        zen.kernels, one GEMM for every column gradient and one pass adding
        them into place."""
        if kernels.applies(rows, w):
            columns = rows @ w.reshape(-1, w.shape[3]).T
            padded = kernels.col2im(columns, w.shape[:2], self.stride, self.padded_shape)
        else:
            padded = self._col2im_by_offset(rows, w)
        (top, bottom), (left, right) = self.pads
        return padded[:, top:padded.shape[1] - bottom, left:padded.shape[2] - right, :]

    def _col2im_by_offset(self, rows, w):
        """col2im on numpy: one stacked product gives each offset's column
        gradient as its own contiguous (N, Ho, Wo, C) block; the adds into
        place then run image by image on zen.parallel's threads."""
        offsets = list(_offsets(w.shape[:2], self.stride, self.out_hw))
        by_offset = w.reshape(len(offsets), w.shape[2], w.shape[3]).transpose(0, 2, 1)
        patches = xp.matmul(rows, by_offset).reshape(  # (kh * kw, N, Ho, Wo, C)
            len(offsets), self.padded_shape[0], *self.out_hw, w.shape[2])
        padded = xp.empty(self.padded_shape, self.dtype)

        def add(start, stop):
            some = padded[start:stop]
            some[...] = 0
            for patch, (_, _, in_rows, in_columns) in zip(patches, offsets):
                some[:, in_rows, in_columns, :] += patch[start:stop]
        parallel.for_each_slice(add, padded)
        return padded


class _Pool(Function):
    def __init__(self, size=2, stride=None):
        self.size = pair(size, "pool_size")
        self.stride = self.size if stride is None else pair(stride, "strides")

    def _check(self, x):
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__} expects (N, H, W, C) input, "
                             f"received shape {x.shape}")
        self.shape, self.dtype = x.shape, x.dtype
        self.out_hw = _output_size(x.shape[1:3], self.size, self.stride, type(self).__name__)
        return _offsets(self.size, self.stride, self.out_hw)


class MaxPool2D(_Pool):
    """Max over each window; the gradient goes to the first maximum. With
    zen.kernels, one pass each way (the offset of each first maximum kept
    between them); the numpy code below is the reference."""

    def forward(self, x):
        offsets = list(self._check(x))
        self.argmax = None
        if kernels.applies(x):
            out, self.argmax = kernels.max_pool(x, self.size, self.stride)
            return out
        out = xp.empty((x.shape[0], *self.out_hw, x.shape[3]), x.dtype)

        def pool(start, stop):  # image by image: split over the threads
            windows = [x[start:stop, rows, columns, :] for _, _, rows, columns in offsets]
            some = out[start:stop]
            some[...] = windows[0]
            for window in windows[1:]:
                xp.maximum(some, window, out=some)
        parallel.for_each_slice(pool, x)  # split by the input's size: the work reads all of it
        self.x, self.out = x, out
        return out

    def backward(self, g):
        """Each window's gradient goes to its first maximum: `unclaimed` marks
        the windows whose maximum is not found yet, so a later tie gets
        nothing. Non-overlapping windows write their share straight into place."""
        if self.argmax is not None:
            return kernels.max_pool_backward(g, self.argmax, self.size, self.stride, self.shape)
        grad = xp.empty(self.shape, self.dtype)
        disjoint = all(s >= k for s, k in zip(self.stride, self.size))
        tiled = all(s == k and n == k * m for s, k, n, m in  # every input in one window
                    zip(self.stride, self.size, self.shape[1:3], self.out_hw))
        offsets = list(_offsets(self.size, self.stride, self.out_hw))

        def claim(start, stop):  # image by image: split over the threads
            some, g_some = grad[start:stop], g[start:stop]
            if not tiled:
                some[...] = 0
            for k, (_, _, rows, columns) in enumerate(offsets):
                first = self.x[start:stop, rows, columns, :] == self.out[start:stop]
                if k == 0:
                    unclaimed = xp.logical_not(first)
                else:
                    first &= unclaimed
                    if k < len(offsets) - 1:
                        unclaimed ^= first
                if disjoint:
                    xp.multiply(g_some, first, out=some[:, rows, columns, :])
                else:
                    some[:, rows, columns, :] += g_some * first
        parallel.for_each_slice(claim, grad)  # by the input's size: the work writes all of it
        return grad


class AvgPool2D(_Pool):
    """The mean over each window; the gradient is shared equally over the window."""

    def forward(self, x):
        windows = [x[:, rows, columns, :] for _, _, rows, columns in self._check(x)]
        return sum(windows[1:], windows[0].copy()) * (1 / len(windows))

    def backward(self, g):
        grad = xp.zeros(self.shape, self.dtype)
        share = g * (1 / (self.size[0] * self.size[1]))
        for _, _, rows, columns in _offsets(self.size, self.stride, self.out_hw):
            grad[:, rows, columns, :] += share
        return grad


class Conv2DTranspose(Function):
    """The adjoint of Conv2D: x (N, H, W, C_in) and w (kh, kw, filters, C_in)
    give the (N, H_out, W_out, filters) whose conv2d with w (same stride and
    padding) has x's shape; each input pixel spreads x[n, h, w] @ w^T over a
    kh x kw patch of the output, stride pixels from its neighbour's."""

    def __init__(self, stride=1, padding="valid"):
        self.stride = pair(stride, "stride")
        self.padding = padding_mode(padding, ("valid", "same"))

    def forward(self, x, w):
        if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[3]:
            raise ValueError(f"conv2d_transpose expects x (N, H, W, C) and w (kh, kw, "
                             f"filters, C) with the same C; received x {x.shape} and "
                             f"w {w.shape}")
        self.kernel, self.in_hw = w.shape[:2], x.shape[1:3]
        out_hw = transpose_output_size(self.in_hw, self.kernel, self.stride, self.padding)
        self.pads = conv_padding(self.padding, out_hw, self.kernel, self.stride)
        (top, bottom), (left, right) = self.pads
        self.x = x if self.needs_grad and self.needs_grad[1] else None
        self.w = w if self.needs_grad and self.needs_grad[0] else None
        patches = x.reshape(-1, x.shape[3]) @ w.reshape(-1, w.shape[3]).T
        padded_shape = (x.shape[0], out_hw[0] + top + bottom, out_hw[1] + left + right,
                        w.shape[2])
        if kernels.applies(patches):
            padded = kernels.col2im(patches, self.kernel, self.stride, padded_shape)
        else:
            patches = patches.reshape(*x.shape[:3], *w.shape[:3])  # (N, H, W, kh, kw, F)
            padded = xp.zeros(padded_shape, patches.dtype)
            for i, j, rows, columns in _offsets(self.kernel, self.stride, self.in_hw):
                padded[:, rows, columns, :] += patches[:, :, :, i, j, :]
        return padded[:, top:top + out_hw[0], left:left + out_hw[1], :]

    def backward(self, g):
        """Both gradients read the same im2col of g: a conv2d of g with w
        for x, one GEMM with x for w."""
        if any(p for side in self.pads for p in side):
            g = xp.pad(g, ((0, 0), *self.pads, (0, 0)))
        cols = _windows(g, self.kernel, self.stride, self.in_hw)
        cols = cols.reshape(-1, self.kernel[0] * self.kernel[1] * g.shape[3])
        gx = gw = None
        if self.needs_grad[0]:
            c_in = self.w.shape[3]
            gx = (cols @ self.w.reshape(-1, c_in)).reshape(g.shape[0], *self.in_hw, c_in)
        if self.needs_grad[1]:
            x = self.x.reshape(-1, self.x.shape[3])
            gw = (cols.T @ x).reshape(*self.kernel, g.shape[3], x.shape[1])
        return gx, gw


class UpSample2D(Function):
    """Nearest-neighbour upsampling: each pixel becomes a size[0] x size[1]
    block of copies, so its gradient is the sum over its block."""

    def __init__(self, size=2):
        self.size = pair(size, "size")

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"upsample2d expects (N, H, W, C) input, received shape {x.shape}")
        (n, h, w, c), (sh, sw) = x.shape, self.size
        blocks = xp.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, w, sw, c))
        return blocks.reshape(n, h * sh, w * sw, c)

    def backward(self, g):
        (n, h, w, c), (sh, sw) = g.shape, self.size
        return g.reshape(n, h // sh, sh, w // sw, sw, c).sum(axis=(2, 4))


def conv2d(x, w, b=None, stride=1, padding=0, relu=False):
    """Cross-correlate x (N, H, W, C) with w (kh, kw, C, filters), then add
    b, then with relu=True apply ReLU (one op, one array fewer)."""
    inputs = (x, w) if b is None else (x, w, b)
    return Conv2D.apply(*inputs, stride=stride, padding=padding, relu=relu)


def conv2d_transpose(x, w, b=None, stride=1, padding="valid"):
    """The transpose (adjoint) of conv2d: x (N, H, W, C) and w (kh, kw,
    filters, C) give (N, H_out, W_out, filters), plus b. H_out is
    H * stride + max(kh - stride, 0) with "valid" padding, H * stride with
    "same" (as Keras's Conv2DTranspose)."""
    out = Conv2DTranspose.apply(x, w, stride=stride, padding=padding)
    return out if b is None else out + b


def upsample2d(x, size=2):
    """Repeat each pixel of x (N, H, W, C) into a size x size block (an int
    or a pair): (N, H * sh, W * sw, C)."""
    return UpSample2D.apply(x, size=size)


def max_pool2d(x, size=2, stride=None):
    return MaxPool2D.apply(x, size=size, stride=stride)


def avg_pool2d(x, size=2, stride=None):
    return AvgPool2D.apply(x, size=size, stride=stride)
