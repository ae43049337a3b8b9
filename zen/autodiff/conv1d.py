"""1-D convolution and pooling over time on sequences (N, T, C).

Convolution is im2col over time: a strided view of every receptive field
(k taps, `dilation` apart), copied once into an (N * T_out, k * C) matrix,
and one matmul with the kernel. The backward pass is one matmul for the
kernel gradient and one for the columns' gradient, which k strided adds
scatter back onto the input (a loop over the kernel's taps, never over time
steps or samples). Pooling works the same way over its window's offsets.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..backend import xp
from ..validation import check_positive_int, invalid
from .ops import column_sums
from .tensor import Function

CONV_PADDINGS = ("valid", "same", "causal")
POOL_PADDINGS = ("valid", "same")


def positive_int_1d(value, name):
    """A positive int, given as one or as a tuple/list holding one (Keras's
    1-D form for sizes and strides)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return check_positive_int(value, name)


def padding_mode(padding, allowed=CONV_PADDINGS):
    """`padding` lower-cased (Keras takes any case), if it is one of `allowed`;
    else a ValueError."""
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    raise invalid("padding", f"one of {allowed}", padding)


def time_padding(mode, steps, span, stride):
    """(left, right) zeros around the time axis for a window covering `span`
    steps: none for "valid"; for "same" enough for ceil(steps / stride)
    outputs, the extra one on the right (TensorFlow's split, as Keras); for
    "causal" span - 1 on the left, so output t sees inputs up to t only."""
    if mode == "same":
        total = max((-(-steps // stride) - 1) * stride + span - steps, 0)
        return total // 2, total - total // 2
    if mode == "causal":
        return span - 1, 0
    return 0, 0


def _output_steps(steps, span, stride, op):
    out = (steps - span) // stride + 1
    if out < 1:
        raise ValueError(f"{op}: a window spanning {span} time steps does not fit an "
                         f"input of {steps} time steps (after padding)")
    return out


def _taps(taps, dilation, stride, out_steps):
    """(tap index, the slice of padded time steps that tap reads) per tap."""
    for j in range(taps):
        start = j * dilation
        yield j, slice(start, start + stride * (out_steps - 1) + 1, stride)


def _pad_time(x, pads, value=0.0):
    if pads == (0, 0):
        return x
    return xp.pad(x, ((0, 0), pads, (0, 0)), constant_values=value)


def _crop_time(padded, pads):
    return padded[:, pads[0]:padded.shape[1] - pads[1], :]


class Conv1D(Function):
    """Cross-correlate x (N, T, C) with w (k, C, F) over time, plus an optional bias (F,)."""

    def __init__(self, stride=1, padding="valid", dilation=1):
        self.stride = positive_int_1d(stride, "stride")
        self.dilation = positive_int_1d(dilation, "dilation")
        self.mode = padding_mode(padding)

    def forward(self, x, w, b=None):
        if x.ndim != 3 or w.ndim != 3 or x.shape[2] != w.shape[1]:
            raise ValueError(f"conv1d expects x (N, T, C) and w (k, C, filters) with the "
                             f"same C; received x {x.shape} and w {w.shape}")
        taps, span = w.shape[0], self.dilation * (w.shape[0] - 1) + 1
        self.pads = time_padding(self.mode, x.shape[1], span, self.stride)
        x = _pad_time(x, self.pads)
        self.padded_shape, self.dtype = x.shape, x.dtype
        self.out_steps = _output_steps(x.shape[1], span, self.stride, "conv1d")
        sn, st, sc = x.strides
        windows = as_strided(x, (x.shape[0], self.out_steps, taps, x.shape[2]),
                             (sn, st * self.stride, st * self.dilation, sc), writeable=False)
        cols = windows.reshape(-1, taps * x.shape[2])  # the one copy: im2col
        self.w, self.cols = w, cols if self.needs_grad and self.needs_grad[1] else None
        out = cols @ w.reshape(-1, w.shape[2])
        if b is not None:
            out += b
        return out.reshape(x.shape[0], self.out_steps, w.shape[2])

    def backward(self, g):
        w, needs = self.w, self.needs_grad
        g2 = g.reshape(-1, w.shape[2])
        gw = (self.cols.T @ g2).reshape(w.shape) if needs[1] else None
        gb = column_sums(g2) if len(needs) > 2 and needs[2] else None
        gx = None
        if needs[0]:
            gcols = (g2 @ w.reshape(-1, w.shape[2]).T).reshape(*g.shape[:2], *w.shape[:2])
            padded = xp.zeros(self.padded_shape, self.dtype)
            for j, steps in _taps(w.shape[0], self.dilation, self.stride, self.out_steps):
                padded[:, steps, :] += gcols[:, :, j, :]
            gx = _crop_time(padded, self.pads)
        return gx, gw, gb


class _Pool1D(Function):
    def __init__(self, size=2, stride=None, padding="valid"):
        self.size = positive_int_1d(size, "pool_size")
        self.stride = self.size if stride is None else positive_int_1d(stride, "strides")
        self.mode = padding_mode(padding, POOL_PADDINGS)

    def _prepare(self, x, fill):
        """The padded input; records the shapes and the slice of each window offset."""
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} expects (N, T, C) input, "
                             f"received shape {x.shape}")
        self.shape, self.dtype = x.shape, x.dtype
        self.pads = time_padding(self.mode, x.shape[1], self.size, self.stride)
        x = _pad_time(x, self.pads, fill)
        self.padded_shape = x.shape
        out_steps = _output_steps(x.shape[1], self.size, self.stride, type(self).__name__)
        self.offsets = [steps for _, steps in _taps(self.size, 1, self.stride, out_steps)]
        return x


class MaxPool1D(_Pool1D):
    """Max over each window (padding never wins: it is -inf); the gradient
    goes to each window's first maximum."""

    def forward(self, x):
        x = self._prepare(x, -np.inf)
        out = x[:, self.offsets[0], :].copy()
        for steps in self.offsets[1:]:
            xp.maximum(out, x[:, steps, :], out=out)
        self.x, self.out = x, out
        return out

    def backward(self, g):
        padded = xp.zeros(self.padded_shape, self.dtype)
        remaining = g.copy()  # what the windows' first maxima have not taken yet
        for steps in self.offsets:
            taken = remaining * (self.x[:, steps, :] == self.out)
            padded[:, steps, :] += taken
            remaining -= taken
        return _crop_time(padded, self.pads)


class AvgPool1D(_Pool1D):
    """Mean over each window's real (unpadded) elements, as Keras's "same"."""

    def forward(self, x):
        x = self._prepare(x, 0.0)
        total = x[:, self.offsets[0], :].copy()
        for steps in self.offsets[1:]:
            total += x[:, steps, :]
        real = _pad_time(xp.ones((1, self.shape[1], 1), x.dtype), self.pads)
        counts = sum(real[:, steps, :] for steps in self.offsets)  # (1, T_out, 1)
        self.scale = 1 / counts
        return total * self.scale

    def backward(self, g):
        padded = xp.zeros(self.padded_shape, self.dtype)
        share = g * self.scale
        for steps in self.offsets:
            padded[:, steps, :] += share
        return _crop_time(padded, self.pads)


def conv1d(x, w, b=None, stride=1, padding="valid", dilation=1):
    """Cross-correlate x (N, T, C) with w (k, C, filters) over time, then add b.

    Args:
        stride: step between outputs (default 1).
        padding: "valid" (none), "same" (ceil(T / stride) outputs) or
            "causal" (dilation * (k - 1) zeros on the left only).
        dilation: spacing between the kernel's taps (default 1).

    Returns: (N, T_out, filters).

    Example:
        conv1d(np.ones((2, 10, 3)), np.ones((3, 3, 4)), padding="causal").shape  # (2, 10, 4)
    """
    inputs = (x, w) if b is None else (x, w, b)
    return Conv1D.apply(*inputs, stride=stride, padding=padding, dilation=dilation)


def max_pool1d(x, size=2, stride=None, padding="valid"):
    """The maximum of each window of `size` time steps: (N, T, C) -> (N, T_out, C)."""
    return MaxPool1D.apply(x, size=size, stride=stride, padding=padding)


def avg_pool1d(x, size=2, stride=None, padding="valid"):
    """The mean of each window of `size` time steps (over real elements only)."""
    return AvgPool1D.apply(x, size=size, stride=stride, padding=padding)
