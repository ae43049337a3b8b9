"""Convolution, pooling, upsampling and padding layers on channels-last
images (batch, height, width, channels), built on `zen.autodiff.conv2d`,
`conv2d_transpose`, `max_pool2d`, `avg_pool2d`, `upsample2d` and `pad`; the
global poolings over height and width (on `zen.nn.pooling`).
"""
from .. import autodiff as ad
from ..autodiff.conv import pair
from ..autodiff.conv1d import padding_mode
from ..validation import check_positive_int, invalid, is_int
from .core import WeightedLayer, cast_input
from .layer import LAYERS, Layer
from .pooling import GlobalAveragePooling, GlobalMaxPooling, check_image_input

class Conv2D(WeightedLayer):
    """2-D convolution (cross-correlation, as in every framework), channels-last.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (height, width).
        strides: an int or a pair (default 1).
        padding: "valid" (no padding, the default) or "same" (output size
            ceil(input / stride), the extra row or column at the bottom/right
            as in TensorFlow).
        activation: a name, a callable or None (linear).
        use_bias: whether to add a bias per filter (default True).
        kernel_initializer: a name or a callable (default "glorot_uniform").
        bias_initializer: a name or a callable (default "zeros").

    Keras's `kernel_regularizer`, `bias_regularizer`, `activity_regularizer`
    (penalties added to the loss: a name such as "l2", a `zen.regularizers`
    object) and `kernel_constraint`, `bias_constraint` (applied after each
    optimizer step: "max_norm", a `zen.constraints` object) default to None.

    Shapes: input (batch, H, W, C_in) -> output (batch, H_out, W_out, filters);
    kernel (kh, kw, C_in, filters), bias (filters,).

    Example:
        conv = Conv2D(32, 3, padding="same", activation="relu")
        conv(np.zeros((8, 28, 28, 1))).shape           # (8, 28, 28, 32)
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name: str = None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, name)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = padding_mode(padding, ("valid", "same"))

    def build(self, input_shape):
        check_image_input(self, input_shape)
        self.create_weights((*self.kernel_size, input_shape[-1], self.filters), (self.filters,))

    def call(self, x):
        bias = self.bias if self.use_bias else None
        relu = self._activation is ad.relu  # fused into the convolution
        y = ad.conv2d(cast_input(x, self.kernel.dtype), self.kernel, bias,
                      stride=self.strides, padding=self.padding, relu=relu)
        return y if relu else self._activation(y)

    def get_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, **self.weight_config()}


class _Pool2D(Layer):
    """Shared configuration of the pooling layers (no padding: windows that
    do not fit at the bottom/right edge are dropped, as with "valid")."""

    def __init__(self, pool_size=2, strides=None, name: str = None):
        super().__init__(name)
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, "strides")

    def build(self, input_shape):
        check_image_input(self, input_shape)

    def get_config(self):
        strides = None if self.strides == self.pool_size else self.strides  # the default
        return {"pool_size": self.pool_size, "strides": strides}


class MaxPool2D(_Pool2D):
    """The maximum of each pool_size window, per channel.

    Args:
        pool_size: an int or a pair (default 2).
        strides: an int or a pair (default: pool_size, non-overlapping windows).

    Shapes: (batch, H, W, C) -> (batch, (H - ph) // sh + 1, (W - pw) // sw + 1, C).

    Example:
        MaxPool2D(2)(np.zeros((8, 28, 28, 32))).shape   # (8, 14, 14, 32)
    """

    def call(self, x):
        return ad.max_pool2d(x, self.pool_size, self.strides)


class AvgPool2D(_Pool2D):
    """The mean of each pool_size window, per channel.

    Args:
        pool_size: an int or a pair (default 2).
        strides: an int or a pair (default: pool_size).

    Shapes: as MaxPool2D.

    Example:
        AvgPool2D(2)(np.zeros((8, 28, 28, 32))).shape   # (8, 14, 14, 32)
    """

    def call(self, x):
        return ad.avg_pool2d(x, self.pool_size, self.strides)


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D  # Keras's names
LAYERS.add(MaxPool2D, "MaxPooling2D")  # configs may name either
LAYERS.add(AvgPool2D, "AveragePooling2D")


class Conv2DTranspose(Conv2D):
    """Transposed convolution (sometimes called deconvolution): the adjoint of
    Conv2D, which upsamples by its strides. Each input pixel adds its
    kernel-sized patch, kernel @ pixel, into the output, `strides` apart.

    Its arguments are Conv2D's (filters, kernel_size, strides=1, padding="valid",
    activation=None, use_bias=True, kernel_initializer="glorot_uniform",
    bias_initializer="zeros", and the regularizers and constraints).

    Shapes: input (batch, H, W, C_in) -> output (batch, H_out, W_out, filters),
    H_out = H * sh + max(kh - sh, 0) with "valid" padding, H * sh with
    "same" (as Keras); kernel (kh, kw, filters, C_in), bias (filters,).

    Example:
        up = Conv2DTranspose(16, 3, strides=2, padding="same")
        up(np.zeros((8, 7, 7, 32))).shape              # (8, 14, 14, 16)
    """

    def build(self, input_shape):
        check_image_input(self, input_shape)
        self.create_weights((*self.kernel_size, self.filters, input_shape[-1]), (self.filters,))

    def call(self, x):
        bias = self.bias if self.use_bias else None
        y = ad.conv2d_transpose(cast_input(x, self.kernel.dtype), self.kernel, bias,
                                stride=self.strides, padding=self.padding)
        return self._activation(y)


class UpSampling2D(Layer):
    """Nearest-neighbour upsampling: every pixel repeated into a block of
    size[0] rows by size[1] columns.

    Args:
        size: an int or a pair (rows, columns) (default 2).
        interpolation: "nearest" (the only one implemented).

    Shapes: (batch, H, W, C) -> (batch, H * size[0], W * size[1], C).

    Example:
        UpSampling2D(2)(np.zeros((8, 7, 7, 3))).shape     # (8, 14, 14, 3)
    """

    def __init__(self, size=2, interpolation: str = "nearest", name: str = None):
        super().__init__(name)
        self.size = pair(size, "size")
        if interpolation != "nearest":
            raise invalid("interpolation", "'nearest' (the only one implemented)",
                          interpolation)
        self.interpolation = interpolation

    def build(self, input_shape):
        check_image_input(self, input_shape)

    def call(self, x):
        return ad.upsample2d(x, self.size)

    def get_config(self):
        return {"size": self.size, "interpolation": self.interpolation}


def padding_pairs(padding):
    """((top, bottom), (left, right)) from an int, a pair (height, width) of
    symmetric paddings or a pair of pairs, all non-negative (as Keras's
    ZeroPadding2D)."""
    def side(value):
        if is_int(value) and value >= 0:
            return int(value), int(value)
        if isinstance(value, (tuple, list)) and len(value) == 2 and all(
                is_int(v) and v >= 0 for v in value):
            return int(value[0]), int(value[1])
        raise invalid("padding", "a non-negative integer, a pair of them or a pair of pairs "
                      "((top, bottom), (left, right))", padding)

    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        return side(padding[0]), side(padding[1])
    return side(padding), side(padding)


class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around each image.

    Args:
        padding: an int (the same on all four sides, default 1), a pair
            (rows above and below, columns left and right) or a pair of pairs
            ((top, bottom), (left, right)).

    Shapes: (batch, H, W, C) -> (batch, H + top + bottom, W + left + right, C).

    Example:
        ZeroPadding2D(((1, 0), (2, 2)))(np.zeros((8, 5, 5, 3))).shape   # (8, 6, 9, 3)
    """

    def __init__(self, padding=1, name: str = None):
        super().__init__(name)
        self.padding = padding_pairs(padding)

    def build(self, input_shape):
        check_image_input(self, input_shape)

    def call(self, x):
        return ad.pad(x, ((0, 0), *self.padding, (0, 0)))

    def get_config(self):
        return {"padding": self.padding}


class GlobalAveragePooling2D(GlobalAveragePooling):
    """The mean of each channel over the whole image.

    Args:
        keepdims: keep the spatial axes, with size 1 (default False).

    Shapes: (batch, H, W, C) -> (batch, C), or (batch, 1, 1, C) with keepdims.

    Example:
        GlobalAveragePooling2D()(np.zeros((8, 7, 7, 64))).shape   # (8, 64)
    """

    build = check_image_input  # two spatial axes


class GlobalMaxPooling2D(GlobalMaxPooling):
    """The maximum of each channel over the whole image (the gradient goes
    to the maximum).

    Args:
        keepdims: keep the spatial axes, with size 1 (default False).

    Shapes: (batch, H, W, C) -> (batch, C), or (batch, 1, 1, C) with keepdims.

    Example:
        GlobalMaxPooling2D()(np.zeros((8, 7, 7, 64))).shape       # (8, 64)
    """

    build = check_image_input


GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D  # Keras's aliases
LAYERS.add(GlobalAveragePooling2D, "GlobalAvgPool2D")
LAYERS.add(GlobalMaxPooling2D, "GlobalMaxPool2D")
