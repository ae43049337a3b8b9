"""Convolution and pooling layers over time on sequences (batch, time,
features), built on `zen.autodiff.conv1d`, `max_pool1d` and `avg_pool1d`,
and the global poolings over time (on `zen.nn.pooling`).
"""
import numpy as np

from .. import autodiff as ad
from ..autodiff.conv1d import CONV_PADDINGS, POOL_PADDINGS, padding_mode, positive_int_1d
from ..validation import check_positive_int
from . import masking
from .core import WeightedLayer, cast_input
from .layer import LAYERS, Layer
from .pooling import GlobalAveragePooling, GlobalMaxPooling, check_sequence_input


class Conv1D(WeightedLayer):
    """1-D convolution over time (cross-correlation), channels-last.

    Args:
        filters: the number of output features.
        kernel_size: the window length, an int (or a tuple of one int).
        strides: step between windows (default 1).
        padding: "valid" (none, the default), "same" (output length
            ceil(time / strides), the extra zero on the right as in Keras) or
            "causal" (dilation_rate * (kernel_size - 1) zeros on the left:
            output t depends on inputs up to t only, as in WaveNet).
        dilation_rate: spacing between the kernel's taps (default 1); Keras
            refuses strides > 1 together with dilation_rate > 1, and so does Zen.
        activation: a name, a callable or None (linear).
        use_bias: whether to add a bias per filter (default True).
        kernel_initializer: a name or a callable (default "glorot_uniform").
        bias_initializer: a name or a callable (default "zeros").

    Keras's `kernel_regularizer`, `bias_regularizer`, `activity_regularizer`
    (penalties added to the loss: a name such as "l2", a `zen.regularizers`
    object) and `kernel_constraint`, `bias_constraint` (applied after each
    optimizer step: "max_norm", a `zen.constraints` object) default to None.

    Shapes: input (batch, time, features) -> output (batch, time_out, filters);
    kernel (kernel_size, features, filters), bias (filters,).

    Example:
        conv = Conv1D(16, 3, padding="causal", dilation_rate=2)
        conv(np.zeros((8, 100, 4))).shape            # (8, 100, 16)
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 dilation_rate=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name: str = None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, name)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = positive_int_1d(kernel_size, "kernel_size")
        self.strides = positive_int_1d(strides, "strides")
        self.padding = padding_mode(padding, CONV_PADDINGS)
        self.dilation_rate = positive_int_1d(dilation_rate, "dilation_rate")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(f"Received an invalid combination of `strides` and "
                             f"`dilation_rate`: strides > 1 is not supported together "
                             f"with dilation_rate > 1. Received: strides={strides!r} "
                             f"and dilation_rate={dilation_rate!r}")

    def build(self, input_shape):
        check_sequence_input(self, input_shape)
        self.create_weights((self.kernel_size, input_shape[-1], self.filters),
                            (self.filters,))

    def call(self, x):
        bias = self.bias if self.use_bias else None
        y = ad.conv1d(cast_input(x, self.kernel.dtype), self.kernel, bias,
                      stride=self.strides, padding=self.padding, dilation=self.dilation_rate)
        return self._activation(y)

    def get_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "dilation_rate": self.dilation_rate, **self.weight_config()}


class _Pool1D(Layer):
    """Shared configuration of MaxPool1D and AvgPool1D."""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", name: str = None):
        super().__init__(name)
        self.pool_size = positive_int_1d(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else positive_int_1d(strides, "strides")
        self.padding = padding_mode(padding, POOL_PADDINGS)

    def build(self, input_shape):
        check_sequence_input(self, input_shape)

    def get_config(self):
        strides = None if self.strides == self.pool_size else self.strides  # the default
        return {"pool_size": self.pool_size, "strides": strides, "padding": self.padding}


class MaxPool1D(_Pool1D):
    """The maximum of each window of pool_size time steps, per feature.

    Args:
        pool_size: the window length (default 2).
        strides: step between windows (default: pool_size, non-overlapping).
        padding: "valid" (windows that do not fit are dropped, the default)
            or "same" (ceil(time / strides) outputs; padding never wins).

    Shapes: (batch, time, features) -> (batch, time_out, features), time_out
    (time - pool_size) // strides + 1 ("valid") or ceil(time / strides).

    Example:
        MaxPool1D(2)(np.zeros((8, 100, 16))).shape     # (8, 50, 16)
    """

    def call(self, x):
        return ad.max_pool1d(x, self.pool_size, self.strides, self.padding)


class AvgPool1D(_Pool1D):
    """The mean of each window of pool_size time steps, per feature; with
    "same", windows at the edges average their real elements only (Keras).

    Args:
        pool_size: as MaxPool1D.
        strides: as MaxPool1D.
        padding: as MaxPool1D.

    Shapes: as MaxPool1D.

    Example:
        AvgPool1D(3, strides=1, padding="same")(np.zeros((8, 100, 16))).shape  # (8, 100, 16)
    """

    def call(self, x):
        return ad.avg_pool1d(x, self.pool_size, self.strides, self.padding)


class GlobalAveragePooling1D(GlobalAveragePooling):
    """The mean over time of each feature: (batch, time, features) ->
    (batch, features), or (batch, 1, features) with `keepdims=True`. With a
    (batch, time) mask (see zen.nn.masking) the mean is over the real steps
    only (0 for a sequence without any), and the output has no mask.

    Example:
        GlobalAveragePooling1D()(np.zeros((8, 100, 16))).shape   # (8, 16)
    """

    build = check_sequence_input  # one spatial axis, time

    def call(self, x, mask=None):
        if mask is None:
            return super().call(x)
        real = _real_steps(x, mask, self.name)
        count = np.maximum(real.sum(axis=1, keepdims=self.keepdims), 1)
        kept = ad.where(real.astype(bool), x, np.zeros((), real.dtype))  # inf or nan in padding too
        return ad.reduce_sum(kept, axis=1, keepdims=self.keepdims) / count

    def compute_mask(self, inputs, previous_mask=None):
        """None: pooling over time consumes the mask."""
        return None


class GlobalMaxPooling1D(GlobalMaxPooling):
    """The maximum over time of each feature (the gradient goes to the
    maximum): (batch, time, features) -> (batch, features), or
    (batch, 1, features) with `keepdims=True`. With a (batch, time) mask
    (see zen.nn.masking) the maximum is over the real steps only (0 for a
    sequence without any), and the output has no mask.

    Example:
        GlobalMaxPooling1D()(np.zeros((8, 100, 16))).shape       # (8, 16)
    """

    build = check_sequence_input

    def call(self, x, mask=None):
        if mask is None:
            return super().call(x)
        real = _real_steps(x, mask, self.name).astype(bool)
        lowest = np.asarray(np.finfo(x.dtype).min, x.dtype)
        peak = ad.reduce_max(ad.where(real, x, lowest), axis=1, keepdims=self.keepdims)
        return ad.where(real.any(axis=1, keepdims=self.keepdims), peak, np.zeros((), x.dtype))

    def compute_mask(self, inputs, previous_mask=None):
        """None: pooling over time consumes the mask."""
        return None


def _real_steps(x, mask, name):
    """The (batch, time) mask as a (batch, time, 1) array of x's dtype."""
    shape = tuple(x.shape[:2])
    return masking.as_mask(mask, shape, f"mask of {name!r}")[..., None].astype(x.dtype)


MaxPooling1D, AveragePooling1D = MaxPool1D, AvgPool1D  # Keras's names
GlobalAvgPool1D, GlobalMaxPool1D = GlobalAveragePooling1D, GlobalMaxPooling1D
LAYERS.add(MaxPool1D, "MaxPooling1D")  # configs may name either
LAYERS.add(AvgPool1D, "AveragePooling1D")
LAYERS.add(GlobalAveragePooling1D, "GlobalAvgPool1D")
LAYERS.add(GlobalMaxPooling1D, "GlobalMaxPool1D")
