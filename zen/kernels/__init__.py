"""Fused kernels compiled with numba, the optional extra `zen[fast]`.

Some ops pass over their arrays many times in numpy (a batch norm's
backward is a dozen whole-array temporaries); compiled, each is one or two
passes, split over zen.parallel's threads when the arrays are large (see
`_kernel`). The kernels here cover the
exact GELU with its derivative, layer normalisation, batch normalisation's
training statistics, forward and backward, softmax along the last axis
(causal too), forward and backward, 2-D max pooling, forward and backward,
im2col with its zero padding and col2im (a convolution's columns and its
input gradient), ReLU's backward, the recurrences of a simple RNN, an LSTM
and a GRU, and Adam's update, in float32 and float64.

A recurrence makes a small product every step, and numpy's per-call cost
is most of the step: its kernels run the whole scan in one call, calling
numpy's own BLAS for each product (zen.blas.gemm; `scans` says where they
can). The float32 forward scans compute tanh in the loop
(`loops.tanh_float32`); float64, and a masked scan, call numpy's tanh
between the kernels of each step.

The ops of zen.autodiff call them when `applies(...)` says so and keep their
numpy code beside them: that code is the reference, and the default where
numba is not installed. Nothing is compiled, and numba is not imported,
at `import zen`: each kernel compiles on its first call (for each dtype),
into numba's on-disk cache (`cache=True`), which later processes load.

Switch them off with the environment variable `ZEN_FAST=0` (read at their
first use) or with `enable(False)`; `enable(None)` goes back to what the
environment says (read again).

Accuracy against the numpy path: float64 results agree to about 1e-15
relative (the sums run in another order); float32 results are computed in
float64 arithmetic where numpy's are not, and agree within a few float32
ulps (see tests/autodiff/test_kernels.py for the bounds). The LayerNorm
backward kernel forms its products in float32 for float32 input, as the
numpy path does. The recurrences' backward and float64 forward, their
per-step kernels and Adam give numpy's bits; the float32 forward scans
agree within a few ulps (their tanh is within 1.5 ulps of the exact
value, numpy's within 1.4).

Example:
    import zen
    zen.kernels.available()      # True where numba imports and ZEN_FAST != "0"
    zen.kernels.enable(False)    # every op back on its numpy path
"""
import os

import numpy as np

from .. import blas, parallel
from ..validation import invalid, is_bool
from . import loops

__all__ = ["available", "enable", "applies", "gelu", "layer_norm_forward",
           "layer_norm_backward", "channel_sum", "centred_square_sum",
           "batch_norm_forward", "batch_norm_gradient_sums", "batch_norm_input_gradient",
           "softmax", "softmax_backward", "self_attention", "self_attention_backward",
           "products", "max_pool", "max_pool_backward",
           "col2im", "relu_backward", "lstm_gate_inputs", "lstm_cell", "lstm_forward",
           "lstm_backward",
           "gru_gate_inputs", "gru_candidate", "gru_state", "gru_forward", "gru_backward",
           "rnn_tanh_forward", "rnn_tanh_backward",
           "scans",
           "adam_update", "im2col"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ROWS_PER_BLOCK = 1024   # rows per block of a column reduction (see `_blocks`)
_MAX_BLOCKS = 64

# switch: None (the environment decides), True, False; environment: ZEN_FAST's
# verdict, read at the first use and again after enable(None) (None: not read yet)
_state = {"switch": None, "environment": None, "numba": None}
_compiled = {}


def enable(on=True):
    """Turn the kernels on or off for this process.

    Args:
        on: True to use them where numba imports (even with `ZEN_FAST=0` in the
            environment), False for the numpy code everywhere, None to follow
            the environment variable `ZEN_FAST` again (the default: on unless
            it is "0"), read anew at the next use.

    Returns:
        The setting it replaces (True, False or None), to restore it with.

    Example:
        previous = zen.kernels.enable(False)
        ...                              # the numpy path
        zen.kernels.enable(previous)
    """
    if on is not None and not is_bool(on):
        raise invalid("on", "True, False or None", on)
    previous = _state["switch"]
    _state["switch"] = None if on is None else bool(on)
    if on is None:
        _state["environment"] = None
    return previous


def available() -> bool:
    """Whether the ops use the kernels: numba imports and they are not switched
    off (`enable(False)`, or `ZEN_FAST=0` without `enable(True)`). The first
    call that gets past the switch imports numba."""
    switch = _state["switch"]
    if switch is None:  # the environment, read once: every op asks, and a read costs 1-2 us
        switch = _state["environment"]
        if switch is None:
            switch = _state["environment"] = os.environ.get("ZEN_FAST", "1") != "0"
    if not switch:
        return False
    if _state["numba"] is None:
        _state["numba"] = _import_numba()
    return _state["numba"] is not False


def _import_numba():
    """numba, or False where it does not import."""
    try:
        import numba
    except ImportError:
        return False
    return numba


def applies(*arrays) -> bool:
    """Whether the kernels are `available()` and take these numpy arrays: all
    float32 or all float64 (anything else stays on the numpy path).

    Args:
        *arrays: the arrays an op would hand to a kernel (empty ones stay on
            the numpy path too).
    """
    dtype = arrays[0].dtype
    return (dtype in _FLOATS and all(a.dtype == dtype and a.size for a in arrays)
            and available())


# numpy's error model (x / 0 is inf, as in numpy): with Python's, a division
# stops a loop from vectorising
_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")
# fused multiply-adds too: where float64 arithmetic ends in one float32 rounding
# (GELU, softmax), and in the float32 recurrences, whose tanh_float32 is within
# its 1.5 ulps with them
_CONTRACTED = ("gelu_float32", "softmax_rows_float32", "self_attention_forward_float32",
               "lstm_forward_float32", "gru_forward_float32", "rnn_tanh_forward_float32")
# and a free order for the row sums of layer normalisation (still one fixed
# order: the compiled loop's), which then vectorise: 0.63x the time forward,
# 0.3-0.4x backward (with its products in float32)
_FASTMATH = {**{name: {"contract"} for name in _CONTRACTED},
             **{name: {"reassoc"} for name in ("layer_norm_forward", "layer_norm_backward")}}


def _kernel(name):
    """The kernel `name` of zen.kernels.loops, compiled with numba (cached on
    disk) on first use; an ImportError without numba.

    A kernel runs on the thread that calls it, without the GIL; the
    wrappers below hand it chunks of their arrays on zen.parallel's threads
    (numba's own threads, `parallel=True`, measured slower: see
    bench/README.md)."""
    kernel = _compiled.get(name)
    if kernel is None:
        numba = _state["numba"] or _import_numba()
        if numba is False:
            raise ImportError("zen.kernels needs numba: pip install 'zen[fast]'")
        for helper in loops.HELPERS:  # compiled forms, for the loops that call them
            if helper not in _compiled:
                _compiled[helper] = numba.njit(inline="always", **_OPTIONS)(getattr(loops, helper))
                setattr(loops, helper, _compiled[helper])
        kernel = numba.njit(fastmath=_FASTMATH.get(name, False), **_OPTIONS)(getattr(loops, name))
        _compiled[name] = kernel
    return kernel


def _rows(array):
    """`array` as a C-contiguous 2-D array of rows over its last axis."""
    return np.ascontiguousarray(array).reshape(-1, array.shape[-1])


def _blocks(n):
    """(blocks, rows per block) for a column reduction over n rows: partial
    sums over blocks of about `_ROWS_PER_BLOCK` rows, added at the end (a
    shorter run for each float64 sum), their number fixed by n alone."""
    blocks = max(1, min(_MAX_BLOCKS, -(-n // _ROWS_PER_BLOCK)))
    return blocks, -(-n // blocks)


def _by_blocks(run, blocks, chunk, row_size):
    """run(rows slice, blocks slice) over runs of whole blocks of `chunk` rows
    (see `_blocks`), split over zen.parallel's threads when large: each
    block's partial sums are the same whichever thread adds them."""
    def part(start, stop):
        run(slice(start * chunk, stop * chunk), slice(start, stop))
    parallel.for_each_row_chunk(part, blocks, chunk * row_size)


def gelu(x, derivative=False):
    """The exact GELU x Phi(x) and, with `derivative`, its derivative Phi(x) +
    x phi(x), in one pass.

    float64 follows zen.autodiff.special's Cody erfc operation for operation;
    float32 its Mills-ratio path in float64 arithmetic, rounded once.

    Args:
        x: a float32 or float64 array, of any shape and layout.
        derivative: whether to compute the derivative too.

    Returns:
        (gelu, derivative or None), arrays of x's shape and dtype.
    """
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    slope = np.empty_like(flat) if derivative else np.empty(0, flat.dtype)
    kernel = _kernel("gelu_float64" if flat.dtype == np.float64 else "gelu_float32")

    def part(start, stop):
        kernel(flat[start:stop], out[start:stop], slope[start:stop] if derivative else slope,
               bool(derivative))
    parallel.for_each_chunk(part, len(flat))
    return out.reshape(x.shape), slope.reshape(x.shape) if derivative else None


def layer_norm_forward(x, gamma, beta, epsilon):
    """Layer normalisation over the last axis of x, as
    zen.autodiff.normalization.LayerNormalize computes it.

    Args:
        x: a float32 or float64 array (..., features).
        gamma: the scale, (features,), x's dtype.
        beta: the shift, (features,), x's dtype.
        epsilon: added to each row's variance.

    Returns:
        (out of x's shape, x_hat (rows, features), inv_std (rows, 1)).
    """
    rows = _rows(x)
    out, x_hat = np.empty_like(rows), np.empty_like(rows)
    inv_std = np.empty(len(rows), rows.dtype)
    kernel = _kernel("layer_norm_forward")

    def part(start, stop):
        kernel(rows[start:stop], gamma, beta, float(epsilon), out[start:stop], x_hat[start:stop],
               inv_std[start:stop])
    parallel.for_each_slice(part, rows)
    return out.reshape(x.shape), x_hat, inv_std[:, None]


def layer_norm_backward(g, x_hat, gamma, inv_std):
    """The gradients of layer normalisation from its output gradient.

    Args:
        g: the output gradient, (..., features).
        x_hat: the normalised rows from `layer_norm_forward`, (rows, features).
        gamma: the scale, (features,).
        inv_std: the rows' inverse standard deviations, (rows, 1).

    Returns:
        (d_x of g's shape, d_gamma, d_beta), all in g's dtype.
    """
    rows, inv_std = _rows(g), np.ascontiguousarray(inv_std[:, 0])
    blocks, chunk = _blocks(len(rows))
    partial_gamma = np.zeros((blocks, rows.shape[1]))
    partial_beta = np.zeros((blocks, rows.shape[1]))
    d_x = np.empty_like(rows)
    kernel = _kernel("layer_norm_backward")

    def part(some, run):
        kernel(rows[some], x_hat[some], gamma, inv_std[some], d_x[some], partial_gamma[run],
               partial_beta[run], chunk)
    _by_blocks(part, blocks, chunk, rows.shape[1])
    return (d_x.reshape(g.shape), partial_gamma.sum(axis=0).astype(g.dtype),
            partial_beta.sum(axis=0).astype(g.dtype))


def channel_sum(rows):
    """The sum of each column of the 2-D array `rows`, in float64 (as
    zen.autodiff.normalization.channel_sum).

    Args:
        rows: a float32 or float64 array (rows, channels).
    """
    rows = np.ascontiguousarray(rows)
    blocks, chunk = _blocks(len(rows))
    partial = np.zeros((blocks, rows.shape[1]))
    kernel = _kernel("channel_sums")
    _by_blocks(lambda some, run: kernel(rows[some], partial[run], chunk), blocks, chunk,
               rows.shape[1])
    return partial.sum(axis=0)


def centred_square_sum(rows, mean):
    """sum_i (rows[i, j] - mean[j])^2 for each column j, the difference in rows'
    dtype, the sum in float64.

    Args:
        rows: a float32 or float64 array (rows, channels).
        mean: the column means, (channels,), rows' dtype.
    """
    rows, mean = np.ascontiguousarray(rows), np.ascontiguousarray(mean)
    blocks, chunk = _blocks(len(rows))
    partial = np.zeros((blocks, rows.shape[1]))
    kernel = _kernel("centred_square_sums")
    _by_blocks(lambda some, run: kernel(rows[some], mean, partial[run], chunk), blocks, chunk,
               rows.shape[1])
    return partial.sum(axis=0)


def batch_norm_forward(x, mean, inv_std, gamma, beta):
    """y = x_hat gamma + beta over the channels (the last axis) of x, x_hat =
    (x - mean) inv_std, in one pass. x_hat is not written out: the backward
    kernels form it again from x (one array less to write and keep).

    Args:
        x: a float32 or float64 array (..., channels).
        mean: the channel means, (channels,).
        inv_std: 1 / sqrt(var + epsilon) per channel, (channels,).
        gamma: the scale, (channels,).
        beta: the shift, (channels,).

    Returns:
        y, of x's shape.
    """
    rows = _rows(x)
    out = np.empty_like(rows)
    channels, kernel = _channels(mean, inv_std, gamma, beta), _kernel("batch_norm_forward")
    parallel.for_each_slice(
        lambda start, stop: kernel(rows[start:stop], *channels, out[start:stop]), rows)
    return out.reshape(x.shape)


def batch_norm_gradient_sums(g, x, mean, inv_std):
    """Batch normalisation's d_beta = sum g and d_gamma = sum g x_hat per
    channel, over every other axis, in float64, in one pass.

    Args:
        g: the output gradient, (..., channels).
        x: the normalised input, as `batch_norm_forward` had it.
        mean: its channel means.
        inv_std: its 1 / sqrt(var + epsilon) per channel.

    Returns:
        (d_beta, d_gamma), float64 arrays (channels,).
    """
    rows, x_rows = _rows(g), _rows(x)
    blocks, chunk = _blocks(len(rows))
    partial_beta = np.zeros((blocks, rows.shape[1]))
    partial_gamma = np.zeros((blocks, rows.shape[1]))
    channels, kernel = _channels(mean, inv_std), _kernel("gradient_sums")

    def part(some, run):
        kernel(rows[some], x_rows[some], *channels, partial_beta[run], partial_gamma[run], chunk)
    _by_blocks(part, blocks, chunk, rows.shape[1])
    return partial_beta.sum(axis=0), partial_gamma.sum(axis=0)


def batch_norm_input_gradient(g, x, mean, inv_std, slope, shift, scale):
    """d_x = (x_hat slope + g - shift) scale per channel, in one pass.

    Args:
        g: the output gradient, (..., channels).
        x: the normalised input, as `batch_norm_forward` had it.
        mean: its channel means.
        inv_std: its 1 / sqrt(var + epsilon) per channel.
        slope: -d_gamma / m per channel, g's dtype.
        shift: d_beta / m per channel, g's dtype.
        scale: gamma / sqrt(var + epsilon) per channel, g's dtype.

    Returns:
        d_x, of g's shape and dtype.
    """
    rows, x_rows = _rows(g), _rows(x)
    d_x = np.empty_like(rows)
    channels = _channels(mean, inv_std, slope, shift, scale)
    kernel = _kernel("batch_norm_input_gradient")

    def part(start, stop):
        kernel(rows[start:stop], x_rows[start:stop], *channels, d_x[start:stop])
    parallel.for_each_slice(part, rows)
    return d_x.reshape(g.shape)


def _channels(*vectors):
    """Per-channel vectors as C-contiguous arrays."""
    return [np.ascontiguousarray(v) for v in vectors]


def softmax(x, causal=False):
    """exp(x - max) / sum(exp(x - max)) along the last axis, one pass per row.

    Args:
        x: a float32 or float64 array with at least one axis.
        causal: x holds attention logits (..., queries, keys) under a causal
            mask: query i sees keys j <= i only, and the others, whatever x
            holds there, get probability 0 without being read.
    """
    rows = _rows(x)
    out = np.empty_like(rows)
    queries = x.shape[-2] if causal else 0
    group = max(queries, 1)  # a causal split keeps each block of queries whole
    if rows.size:
        float64 = rows.dtype == np.float64
        kernel = _kernel("softmax_rows" if float64 else "softmax_rows_float32")

        def part(start, stop):
            some = slice(start * group, stop * group)
            if float64:
                kernel(rows[some], out[some], queries)
            else:
                kernel(rows[some], out[some], np.empty(rows[some].shape), queries)
        parallel.for_each_row_chunk(part, len(rows) // group, group * rows.shape[1])
    return out.reshape(x.shape)


def softmax_backward(g, s, causal=False):
    """The gradient s (g - sum(g s)) of softmax along the last axis.

    Args:
        g: the output gradient.
        s: softmax's output, g's shape.
        causal: s holds attention probabilities (..., queries, keys) under a
            causal mask (see `softmax`): the masked entries, 0 in s, are not
            read, and their gradient is 0.
    """
    rows, s_rows = _rows(g), _rows(s)
    d_x = np.empty_like(rows)
    queries = g.shape[-2] if causal else 0
    group = max(queries, 1)  # a causal split keeps each block of queries whole
    if rows.size:
        kernel = _kernel("softmax_rows_backward")

        def part(start, stop):
            some = slice(start * group, stop * group)
            kernel(rows[some], s_rows[some], d_x[some], queries)
        parallel.for_each_row_chunk(part, len(rows) // group, group * rows.shape[1])
    return d_x.reshape(g.shape)


def self_attention(qkv, causal=False, scale=1.0):
    """softmax(q k^T scale) v for queries, keys and values packed in one
    array, every head of every sequence in one kernel call per thread: the
    products through numpy's own BLAS (`products`), each head's queries
    scaled and its keys transposed into scratch as the kernel reaches them
    (no pass over the whole array before), the softmax as `softmax`
    computes it, so the same bits as the separate products and softmax
    kernel.

    Args:
        qkv: (B, L, 3, H, D) float32 or float64, C-contiguous.
        causal: whether query i sees keys j <= i only.
        scale: the logits' scale (the queries are scaled first, as the op's
            numpy path does).

    Returns:
        (out (B, L, H, D), the probabilities (B, H, L, L)).
    """
    _check_c_order(qkv=qkv)
    sequences, length, _, heads, depth = qkv.shape
    out = np.empty((sequences, length, heads, depth), qkv.dtype)
    p = np.empty((sequences, heads, length, length), qkv.dtype)
    gemm, float32 = _gemm(qkv.dtype), qkv.dtype == np.float32
    kernel = _kernel("self_attention_forward_float32" if float32 else "self_attention_forward")

    def part(start, stop):
        queries, keys_t = np.empty((length, depth), qkv.dtype), np.empty((depth, length), qkv.dtype)
        some = slice(start, stop)
        if float32:
            kernel(qkv[some], float(scale), out[some], p[some], queries, keys_t,
                   np.empty((length, length)), bool(causal), gemm)
        else:
            kernel(qkv[some], float(scale), out[some], p[some], queries, keys_t, bool(causal),
                   gemm)
    parallel.for_each_row_chunk(part, sequences, heads * length * (length + 3 * depth))
    return out, p


def self_attention_backward(g, qkv, p, causal=False, scale=1.0):
    """The gradient of `self_attention` with respect to qkv, in one kernel
    call per thread (the same bits as the separate products and
    `softmax_backward`).

    Args:
        g: the output's gradient, (B, L, H, D).
        qkv: the inputs, unscaled, (B, L, 3, H, D), C-contiguous.
        p: `self_attention`'s probabilities, (B, H, L, L).
        causal: as given to `self_attention`.
        scale: as given to `self_attention`.
    """
    g = np.ascontiguousarray(g)
    _check_c_order(qkv=qkv, p=p)
    sequences, length, _, heads, depth = qkv.shape
    d_qkv = np.empty_like(qkv)
    gemm, kernel = _gemm(qkv.dtype), _kernel("self_attention_backward")

    def part(start, stop):
        some = slice(start, stop)
        kernel(g[some], qkv[some], p[some], d_qkv[some], np.empty((length, length), qkv.dtype),
               np.empty((depth, length), qkv.dtype), bool(causal), float(scale), gemm)
    parallel.for_each_row_chunk(part, sequences, heads * length * (length + 4 * depth))
    return d_qkv


def _gemm(dtype):
    """zen.blas.gemm(dtype), or a RuntimeError that says why there is none."""
    gemm = blas.gemm(dtype)
    if gemm is None:
        raise RuntimeError(f"this kernel calls numpy's BLAS, which must be an OpenBLAS with "
                           f"cblas gemm, for {np.dtype(dtype)}: see zen.kernels.products")
    return gemm


def products(*arrays) -> bool:
    """Whether the kernels that call numpy's BLAS take these arrays:
    `applies(*arrays)` and numpy's BLAS is an OpenBLAS whose products a
    compiled loop can call (zen.blas.gemm)."""
    return applies(*arrays) and blas.gemm(arrays[0].dtype) is not None


def max_pool(x, size, stride):
    """2-D max pooling of channels-last images in one pass, with the offset
    of each window's first maximum (for `max_pool_backward`).

    Args:
        x: a float32 or float64 array (N, H, W, C).
        size: the window, (height, width).
        stride: the step between windows, (rows, columns).

    Returns:
        (out (N, Ho, Wo, C), argmax of out's shape: i * width + j of the
        first maximum in its window, -1 where the maximum is NaN).
    """
    x = np.ascontiguousarray(x)
    out_hw = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:3], size, stride)]
    out = np.empty((x.shape[0], *out_hw, x.shape[3]), x.dtype)
    argmax = np.empty(out.shape, np.int8 if size[0] * size[1] <= 127 else np.int32)
    kernel = _kernel("max_pool_forward")
    parallel.for_each_slice(
        lambda start, stop: kernel(x[start:stop], *size, *stride, out[start:stop],
                                   argmax[start:stop]), x)
    return out, argmax


def max_pool_backward(g, argmax, size, stride, input_shape):
    """The input gradient of `max_pool`: each window's gradient at its first
    maximum, added where windows overlap.

    Args:
        g: the output gradient (N, Ho, Wo, C).
        argmax: `max_pool`'s offsets, g's shape.
        size: the window, (height, width).
        stride: the step between windows, (rows, columns).
        input_shape: the pooled input's shape (N, H, W, C).
    """
    grad, g = np.zeros(input_shape, g.dtype), np.ascontiguousarray(g)
    kernel = _kernel("max_pool_backward")
    parallel.for_each_slice(
        lambda start, stop: kernel(g[start:stop], argmax[start:stop], *size, *stride,
                                   grad[start:stop]), grad)
    return grad


def im2col(x, size, stride, pads, out_hw, ones=False):
    """The matrix of every receptive field of the padded x, in one pass: no
    padded copy of x is made, the padding's zeros are written in place.

    Args:
        x: a float32 or float64 array (N, H, W, C).
        size: the field, (height, width).
        stride: the step between fields, (rows, columns).
        pads: ((top, bottom), (left, right)) zeros around each image.
        out_hw: (Ho, Wo), the fields along each axis of the padded image.
        ones: whether a column of ones follows the fields (for a bias
            folded into the product).

    Returns:
        cols (N * Ho * Wo, height * width * C (+ 1 with `ones`)): the row of
        output pixel (n, a, b) holds its field in (i, j, c) order, as a
        strided view of the padded x reshaped would.
    """
    x, per_image = np.ascontiguousarray(x), out_hw[0] * out_hw[1]
    cols = np.empty((len(x) * per_image, size[0] * size[1] * x.shape[3] + bool(ones)), x.dtype)
    kernel = _kernel("im2col")

    def part(start, stop):
        kernel(x[start:stop], pads[0][0], pads[1][0], *size, *stride, *out_hw,
               cols[start * per_image:stop * per_image])
    parallel.for_each_row_chunk(part, len(x), per_image * cols.shape[1])
    return cols


def col2im(cols, size, stride, image_shape):
    """The images whose receptive fields are the rows of `cols`, overlapping
    fields added: the adjoint of im2col (a convolution's input gradient, a
    transposed convolution's output), in one pass.

    Args:
        cols: (N * Ho * Wo, size[0] * size[1] * C), the row of output pixel
            (n, a, b) holding its field in (i, j, c) order.
        size: the field, (height, width).
        stride: the step between fields, (rows, columns).
        image_shape: (N, H, W, C), H and W as padded (Ho = (H - height) //
            stride + 1).
    """
    grad, cols = np.zeros(image_shape, cols.dtype), np.ascontiguousarray(cols)
    per_image, kernel = len(cols) // image_shape[0], _kernel("col2im")

    def part(start, stop):
        kernel(cols[start * per_image:stop * per_image], *size, *stride, grad[start:stop])
    parallel.for_each_row_chunk(part, len(grad), per_image * cols.shape[1])
    return grad


def relu_backward(g, y):
    """ReLU's input gradient g * (y > 0) from its output y, in one pass (no
    boolean temporary).

    Args:
        g: the output gradient, a float32 or float64 array.
        y: ReLU's output, g's shape and dtype.
    """
    flat_g, flat_y = np.ascontiguousarray(g).reshape(-1), np.ascontiguousarray(y).reshape(-1)
    d_x = np.empty_like(flat_g)
    kernel = _kernel("relu_backward")
    parallel.for_each_chunk(lambda start, stop: kernel(flat_g[start:stop], flat_y[start:stop],
                                                       d_x[start:stop]), len(flat_g))
    return d_x.reshape(g.shape)



def lstm_gate_inputs(t, p, scale, z):
    """z = (z + p[t]) * scale in place: step t's gate pre-activations h_{t-1}
    @ U (in z) plus the projected inputs, scaled for the tanh that gives the
    gates; one call for two of numpy's, the same bits.

    Args:
        t: the step.
        p: the projected inputs, gate-major (T, 4, B, H).
        scale: 1/2 on the i, f, o blocks and 1 on g, (4, B, H).
        z: the step's (4, B, H) products, overwritten.
    """
    _kernel("lstm_gate_inputs")(t, p, scale, z)


def lstm_cell(z, scale, shift, c_previous, c):
    """The gates and the cell state of an LSTM step from z = tanh(scaled
    pre-activations): z = z * scale + shift in place (sigmoid(x) = tanh(x /
    2) / 2 + 1 / 2 on i, f, o; tanh on g), then c = f * c_previous + i * g;
    one call for five of numpy's, the same bits.

    Args:
        z: the step's (4, B, H) gate block, overwritten with i, f, g, o.
        scale: (4, B, H), as `lstm_gate_inputs`'s.
        shift: (4, B, H), 1/2 on i, f, o and 0 on g.
        c_previous: c_{t-1}, (B, H).
        c: the (B, H) array c_t is written into.
    """
    _kernel("lstm_cell")(z, scale, shift, c_previous, c)


def lstm_forward(projected, u_by_gate, hs, cs, gates, tanh_c):
    """An LSTM's forward pass over every step in one call (float32; the
    products through numpy's own BLAS, `scans`): numpy's loop makes eight
    calls a step. Its tanh is computed in the loop (within 1.5 float32
    ulps of numpy's), so results agree with the numpy loop to a few ulps.

    Args:
        projected: the projected inputs, (T, B, 4H) (Keras's gate order).
        u_by_gate: the recurrent kernel by gate, (4, H, H), C-contiguous.
        hs: (T + 1, B, H) C-contiguous, hs[0] holding h_0; the states
            after each step are written into hs[1:].
        cs: the cell states as `hs`, cs[0] holding c_0.
        gates: receives the gates i, f, g, o of every step, (T, 4, B, H).
        tanh_c: receives tanh(c_t) of every step, (T, B, H).
    """
    _check_c_order(u_by_gate=u_by_gate, hs=hs, gates=gates)
    _kernel("lstm_forward_float32")(projected, u_by_gate, hs, cs, gates, tanh_c,
                                    _gemm(np.float32))


def lstm_backward(gradient, gates, tanh_c, c_previous, u, dh, dc, dz):
    """An LSTM's backpropagation through time in one call, the product with
    U^T each step included (numpy's own BLAS, `scans`): where numpy makes a
    dozen calls a step on (batch, units) arrays, the gates' local
    derivatives are formed on the way; bitwise what
    zen.autodiff.gated.LSTMScan's numpy code gives.

    Args:
        gradient: what reaches every h_t and c_t from outside, (2, T, B, H).
        gates: the gates i, f, g, o of every step, (T, 4, B, H).
        tanh_c: tanh(c_t) of every step, (T, B, H).
        c_previous: c_{t-1} of every step, (T, B, H).
        u: the recurrent kernel, (H, 4H).
        dh: dL/dh_T from after the last step, (B, H) (zeros normally);
            dL/dh_0 on return.
        dc: dL/dc_T, as `dh`; dL/dc_0 on return.
        dz: receives the gate gradients of every step, (T, B, 4H).
    """
    _check_c_order(dh=dh, dz=dz)
    _kernel("lstm_backward")(gradient, gates, tanh_c, c_previous, np.ascontiguousarray(u.T),
                             dh, dc, dz, _gemm(dz.dtype))


def gru_gate_inputs(t, p, bias, m, zr):
    """m += bias, then zr[t] = (p[t, :2] + m[:2]) * 0.5 in place: step t's
    gate inputs for the tanh that gives z and r; one call for three of
    numpy's, the same bits.

    Args:
        t: the step.
        p: the projected inputs, gate-major (T, 3, B, H).
        bias: the recurrent bias broadcast to (3, B, H).
        m: the step's (3, B, H) products h_{t-1} @ U, the bias added in place.
        zr: the gates z and r of every step, (T, 2, B, H); step t is written.
    """
    _kernel("gru_gate_inputs")(t, p, bias, m, zr)


def gru_candidate(t, p, m, zr, n):
    """The gates z, r of step t from their tanh (zr[t] * 0.5 + 0.5 in place),
    then the candidate's pre-activation n[t] = r * m[2] + p[t, 2]; one call
    for four of numpy's, the same bits.

    Args:
        t: the step.
        p: the projected inputs, gate-major (T, 3, B, H).
        m: the step's (3, B, H) recurrent inputs, bias added.
        zr: (T, 2, B, H), step t holding tanh of half the gates' inputs.
        n: the candidates of every step, (T, B, H); step t is written.
    """
    _kernel("gru_candidate")(t, p, m, zr, n)


def gru_state(t, hs, zr, n):
    """h_t = (h_{t-1} - n) * z + n into hs[t + 1]; one call for three of
    numpy's, the same bits.

    Args:
        t: the step.
        hs: the states, (T + 1, B, H), hs[t] = h_{t-1}.
        zr: the gates z and r of every step, (T, 2, B, H).
        n: the candidates of every step (after their tanh), (T, B, H).
    """
    _kernel("gru_state")(t, hs, zr, n)


def gru_forward(projected, u_by_gate, bias, hs, inner, zr, n):
    """A GRU's (reset_after) forward pass over every step in one call
    (float32; the products through numpy's own BLAS, `scans`): numpy's loop
    makes nine calls a step. Its tanh is computed in the loop (within 1.5
    float32 ulps of numpy's), so results agree with the numpy loop to a few
    ulps.

    Args:
        projected: the projected inputs, (T, B, 3H) (Keras's gate order).
        u_by_gate: the recurrent kernel by gate, (3, H, H), C-contiguous.
        bias: the recurrent bias, (3H,).
        hs: (T + 1, B, H) C-contiguous, hs[0] = h_0; hs[1:] is written.
        inner: receives h_{t-1} @ U + bias of every step, (T, 3, B, H),
            C-contiguous.
        zr: receives the gates z and r of every step, (T, 2, B, H).
        n: receives the candidate states, (T, B, H).
    """
    _check_c_order(u_by_gate=u_by_gate, hs=hs, inner=inner)
    _kernel("gru_forward_float32")(projected, u_by_gate, bias, hs, inner, zr, n,
                                   _gemm(np.float32))


def gru_backward(gradient, h_previous, zr, n, hh, u, dh, d_inner, d_xh):
    """A GRU's backpropagation through time in one call, the product with
    U^T each step included (numpy's own BLAS, `scans`): where numpy makes
    nine calls a step on (batch, units) arrays, the local derivatives are
    formed on the way; bitwise what zen.autodiff.gated.GRUScan's numpy code
    gives.

    Args:
        gradient: what reaches every h_t from outside, (T, B, H).
        h_previous: h_{t-1} of every step, (T, B, H).
        zr: the gates z and r of every step, (T, 2, B, H).
        n: the candidate state of every step, (T, B, H).
        hh: the reset gate's recurrent input (h_{t-1} @ U_h + b_h), (T, B, H).
        u: the recurrent kernel, (H, 3H).
        dh: dL/dh_T from after the last step, (B, H); dL/dh_0 on return.
        d_inner: receives d(h_{t-1} @ U + b_rec) of every step, (T, B, 3H).
        d_xh: receives the candidate's pre-activation gradient, (T, B, H).
    """
    _check_c_order(dh=dh, d_inner=d_inner)
    _kernel("gru_backward")(gradient, h_previous, zr, n, hh, np.ascontiguousarray(u.T), dh,
                            d_inner, d_xh, np.empty_like(dh), _gemm(dh.dtype))


def rnn_tanh_forward(projected, states, u):
    """A simple RNN's forward pass with tanh over every step in one call
    (float32; the products through numpy's own BLAS, `scans`): numpy's loop
    makes three calls a step. Its tanh is computed in the loop (within 1.5
    float32 ulps of numpy's).

    Args:
        projected: the projected inputs, (T, B, H).
        states: (T + 1, B, H) C-contiguous, states[0] = h_0; states[1:] is
            written.
        u: the recurrent kernel, (H, H), C-contiguous.
    """
    _check_c_order(states=states, u=u)
    _kernel("rnn_tanh_forward_float32")(projected, states, u, _gemm(np.float32))


def rnn_tanh_backward(gradient, states, u, dh, dz, du=None):
    """Backpropagation through time of a simple RNN with tanh, in one call,
    the products with U^T and for dL/dU each step included (numpy's own
    BLAS, `scans`): bitwise what zen.autodiff.recurrent.RNNScan's numpy
    loop gives.

    Args:
        gradient: what reaches every h_t from outside, (T, B, H).
        states: h_0 .. h_T, (T + 1, B, H), C-contiguous.
        u: the recurrent kernel, (H, H).
        dh: dL/dh_T from after the last step, (B, H); dL/dh_0 on return.
        dz: receives the pre-activation gradient of every step, (T, B, H).
        du: None, or an (H, H) array that dL/dU = sum_t h_{t-1}^T dz_t is
            added into (zeros normally).
    """
    du = np.empty((0, 0), dz.dtype) if du is None else du
    _check_c_order(states=states, dh=dh, dz=dz, du=du)
    outside = gradient.any(axis=tuple(range(1, gradient.ndim)))  # the steps a gradient reaches
    _kernel("rnn_tanh_backward")(gradient, states, np.ascontiguousarray(u.T), outside, dh, dz,
                                 du, _gemm(dz.dtype))


def _check_c_order(**arrays):
    """The arrays a scan kernel hands to BLAS by address must be C-contiguous."""
    for name, array in arrays.items():
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous array; received strides "
                             f"{array.strides} for shape {array.shape}")


def scans(state, *arrays) -> bool:
    """Whether the whole-scan kernels (`rnn_tanh_backward`, `lstm_backward`,
    `gru_backward`) take a scan with states like `state` (batch, units) and
    these arrays: `applies(state, *arrays)`, numpy's BLAS is an OpenBLAS
    whose products a compiled loop can call (zen.blas.gemm), and batch and
    units are both above 1 (numpy's matmul multiplies a single row or
    column with another BLAS call than gemm, and its bits differ)."""
    return min(state.shape) > 1 and products(state, *arrays)


def adam_update(p, grad, m, v, *, beta1, beta2, epsilon, correction, step_size,
                decay=0.0, shrink=1.0):
    """Adam's update of one parameter in place, in one pass: bitwise what
    zen.optim.Adam.update's dozen numpy calls give (each scalar rounded to
    p's dtype once, as numpy rounds a Python float against an array).

    Args:
        p: the parameter, a C-contiguous float array, updated in place.
        grad: its gradient, p's shape and dtype.
        m: Adam's first moment, p's shape and dtype, updated in place.
        v: Adam's second moment, likewise.
        beta1: Adam's decay of the first moment.
        beta2: Adam's decay of the second moment.
        epsilon: Adam's epsilon.
        correction: 1 / sqrt(1 - beta2^t).
        step_size: lr / (1 - beta1^t).
        decay: coupled weight decay (added to the gradient times p).
        shrink: decoupled weight decay's factor 1 - lr weight_decay.
    """
    scalars = np.array([decay, shrink, beta1, 1.0 - beta1, beta2, 1.0 - beta2, correction,
                        epsilon, step_size], p.dtype)
    _kernel("adam_update")(p.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1),
                           scalars)
