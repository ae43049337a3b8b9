"""ONNX translations (for `zen.models.onnx_export`) of the convolutions and
pools (Conv1D, Conv2D, Conv2DTranspose, the pools and global pools) and of
UpSampling2D and ZeroPadding2D.

Zen's images are channels last, ONNX's Conv, ConvTranspose and pools
channels first: a Transpose goes before and after each of those.
"""
import numpy as np

from ..autodiff.conv import conv_padding
from ..nn import conv, conv1d
from . import onnx_export as base

__all__ = []


# ----- convolutions and pooling ---------------------------------------------------------------
def _channels_first(builder, x, rank):
    return builder.add("Transpose", [x], perm=[0, rank - 1, *range(1, rank - 1)])


def _channels_last(builder, x, rank):
    return builder.add("Transpose", [x], perm=[0, *range(2, rank), 1])


def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * n


def _pads(padding, sizes, windows, strides, dilations):
    """ONNX `pads` (all begins, then all ends) for Keras's `padding`:
    "same" puts the odd one at the end, "causal" all of it at the start."""
    begins, ends = [], []
    for size, window, stride, dilation in zip(sizes, windows, strides, dilations):
        span = (window - 1) * dilation + 1
        if padding == "same":
            total = max((-(-size // stride) - 1) * stride + span - size, 0)
            begin = total // 2
        elif padding == "causal":
            total = begin = span - 1
        else:
            total = begin = 0
        begins.append(begin)
        ends.append(total - begin)
    return begins + ends


def _conv(builder, layer, operands, out_shape):
    x, shape = operands[0]
    rank, spatial = len(shape), len(shape) - 2
    kernel = base._weight(layer.kernel)
    kernel = np.transpose(kernel, (kernel.ndim - 1, kernel.ndim - 2, *range(kernel.ndim - 2)))
    strides = _tuple(layer.strides, spatial)
    dilations = _tuple(getattr(layer, "dilation_rate", 1), spatial)
    inputs = [_channels_first(builder, x, rank), builder.constant(kernel, "kernel")]
    if layer.use_bias:
        inputs.append(builder.constant(base._weight(layer.bias), "bias"))
    y = builder.add("Conv", inputs, kernel_shape=list(kernel.shape[2:]), strides=list(strides),
                    dilations=list(dilations),
                    pads=_pads(layer.padding, shape[1:-1], kernel.shape[2:], strides, dilations))
    y = _channels_last(builder, y, rank)
    return base._apply_activation(builder, layer._activation, y, layer)


def _pool(op):
    def convert(builder, layer, operands, out_shape):
        x, shape = operands[0]
        rank, spatial = len(shape), len(shape) - 2
        windows, strides = _tuple(layer.pool_size, spatial), _tuple(layer.strides, spatial)
        pads = _pads(getattr(layer, "padding", "valid"), shape[1:-1], windows, strides,
                     (1,) * spatial)
        extra = {"count_include_pad": 0} if op == "AveragePool" else {}
        y = builder.add(op, [_channels_first(builder, x, rank)], kernel_shape=list(windows),
                        strides=list(strides), pads=pads, **extra)
        return _channels_last(builder, y, rank)
    return convert


def _global_pool(op):
    def convert(builder, layer, operands, out_shape):
        x, shape = operands[0]
        axes, keepdims = list(range(1, len(shape) - 1)), int(layer.keepdims)
        if builder.opset >= 18:  # the axes became an input
            return builder.add(op, [x, builder.constant(axes, "axes", np.int64)],
                               keepdims=keepdims)
        return builder.add(op, [x], axes=axes, keepdims=keepdims)
    return convert


# ----- transposed convolution, upsampling, padding ---------------------------------------------
def _conv_transpose(builder, layer, operands, out_shape):
    """ConvTranspose without padding (the full output), then Zen's window of
    it: rows [top, top + H_out), zeros past the full output's end (as Zen
    crops its padded buffer); bias and activation after."""
    x, shape = operands[0]
    kernel = base._weight(layer.kernel)               # (kh, kw, filters, C_in)
    strides = _tuple(layer.strides, 2)
    y = builder.add("ConvTranspose", [_channels_first(builder, x, 4), builder.constant(
        np.transpose(kernel, (3, 2, 0, 1)), "kernel")], kernel_shape=list(kernel.shape[:2]),
        strides=list(strides))
    y = _channels_last(builder, y, 4)
    out_hw = tuple(out_shape[1:3])
    full = [(n - 1) * s + k for n, s, k in zip(shape[1:3], strides, kernel.shape[:2])]
    pads = conv_padding(layer.padding, out_hw, kernel.shape[:2], strides)
    begins = [side[0] for side in pads]
    ends = [min(b + n, f) for b, n, f in zip(begins, out_hw, full)]
    y = builder.add("Slice", [y, builder.ints(begins), builder.ints(ends), builder.ints([1, 2])])
    missing = [b + n - e for b, n, e in zip(begins, out_hw, ends)]
    if any(missing):
        y = builder.add("Pad", [y, builder.ints([0, 0, 0, 0, 0, *missing, 0])])
    if layer.use_bias:
        y = builder.add("Add", [y, builder.constant(base._weight(layer.bias), "bias")])
    return base._apply_activation(builder, layer._activation, y, layer)


def _upsampling(builder, layer, operands, out_shape):
    """Nearest neighbour: (N, H, 1, W, 1, C) broadcast to (N, H, sh, W, sw, C), folded."""
    x, shape = operands[0]
    (height, width, channels), (sh, sw) = shape[1:], layer.size
    y = builder.add("Reshape", [x, builder.ints([0, height, 1, width, 1, channels])])
    y = builder.add("Expand", [y, builder.ints([1, height, sh, width, sw, channels])])
    return builder.add("Reshape", [y, builder.ints([0, height * sh, width * sw, channels])])


def _zero_padding(builder, layer, operands, out_shape):
    (top, bottom), (left, right) = layer.padding
    return builder.add("Pad", [operands[0][0], builder.ints([0, top, left, 0,
                                                             0, bottom, right, 0])])


CONVERTERS = {
    conv.Conv2D: _conv,
    conv1d.Conv1D: _conv,
    conv.Conv2DTranspose: _conv_transpose,
    conv.MaxPool2D: _pool("MaxPool"),
    conv.AvgPool2D: _pool("AveragePool"),
    conv1d.MaxPool1D: _pool("MaxPool"),
    conv1d.AvgPool1D: _pool("AveragePool"),
    conv.GlobalAveragePooling2D: _global_pool("ReduceMean"),
    conv.GlobalMaxPooling2D: _global_pool("ReduceMax"),
    conv1d.GlobalAveragePooling1D: _global_pool("ReduceMean"),
    conv1d.GlobalMaxPooling1D: _global_pool("ReduceMax"),
    conv.UpSampling2D: _upsampling,
    conv.ZeroPadding2D: _zero_padding,
}
CHECKS = {}
