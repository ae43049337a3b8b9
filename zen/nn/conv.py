"""Convolution and pooling layers on channels-last images (batch, height,
width, channels), built on `zen.autodiff.conv2d`, `max_pool2d` and
`avg_pool2d`.
"""
from .. import autodiff as ad
from ..autodiff.conv import pair
from .core import WeightedLayer, cast_input, check_positive_int
from .layer import Layer

PADDINGS = ("valid", "same")


def check_padding(padding):
    """"valid" or "same" (any case), lower-cased."""
    if isinstance(padding, str) and padding.lower() in PADDINGS:
        return padding.lower()
    raise ValueError(f"Received an invalid value for `padding`, expected one of "
                     f"{PADDINGS}. Received: padding={padding!r}")


def check_image_input(layer, input_shape):
    if input_shape is None or len(input_shape) != 4:
        raise ValueError(f"{type(layer).__name__} expects inputs of shape (batch, height, "
                         f"width, channels), received an input of shape {input_shape}")


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
        kernel_initializer, bias_initializer: names or callables (defaults
            "glorot_uniform" and "zeros").

    Shapes: input (batch, H, W, C_in) -> output (batch, H_out, W_out, filters);
    kernel (kh, kw, C_in, filters), bias (filters,).

    Example:
        conv = Conv2D(32, 3, padding="same", activation="relu")
        conv(np.zeros((8, 28, 28, 1))).shape           # (8, 28, 28, 32)
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", name: str = None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, name)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.padding = check_padding(padding)

    def build(self, input_shape):
        check_image_input(self, input_shape)
        self.create_weights((*self.kernel_size, input_shape[-1], self.filters), (self.filters,))

    def call(self, x):
        bias = self.bias if self.use_bias else None
        y = ad.conv2d(cast_input(x, self.kernel.dtype), self.kernel, bias,
                      stride=self.strides, padding=self.padding)
        return self._activation(y)

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
