"""Normalisation layers: BatchNorm (statistics over the batch, per channel)
and LayerNorm (statistics over the features, per sample).

The common cases (BatchNorm training with channels last, every LayerNorm)
are fused ops of zen.autodiff.normalization, whose backward includes the
gradient through the statistics (the mean and variance depend on every
value they are taken over); BatchNorm's other axes stay compositions of
autodiff ops.
"""
import numpy as np

from ..autodiff import Tensor, normalization
from . import initializers
from ..validation import check_float, check_int
from .core import cast_input
from .layer import LAYERS, Layer


def _moments(x, axes):
    """Mean and biased variance of x over `axes`, kept as size-1 axes."""
    mean = x.mean(axes, keepdims=True)
    centred = x - mean
    return mean, centred, (centred * centred).mean(axes, keepdims=True)


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy, 2015), Keras conventions.

    In training mode each channel is normalised with the mean and the
    (biased) variance of the batch, taken over every axis but `axis`, then
    scaled by `gamma` and shifted by `beta`; the moving statistics follow
    `moving = momentum * moving + (1 - momentum) * batch`, with the biased
    batch variance as Keras does (PyTorch uses the unbiased one). In
    inference mode, and whenever the layer is frozen (`trainable = False`,
    Keras's rule for fine-tuning), the moving statistics are used instead
    and left unchanged.

    Args:
        momentum: weight of the old moving statistics (default 0.99).
        epsilon: added to the variance before the square root (default 1e-3).
        axis: the channel axis (default -1: features after Dense, channels
            after Conv2D).

    Shapes: any input with at least 2 axes; the output has the input's
    shape. Weights: gamma, beta (trainable), moving_mean, moving_variance
    (not trainable, but saved with the others), each (channels,).

    `sync_group` (default None): a group of batches to take the training
    statistics over (an object with `sum` and `weight`, see
    zen.autodiff.normalization); a distribution strategy that synchronises
    batch norm sets it on channels-last layers for the duration of a fit.

    A mask (zen.nn.masking) passes through to the layers after this one, but
    the training statistics are those of every step, padded ones included
    (Keras 3 leaves masked steps out of them).

    Example:
        bn = BatchNorm()
        y = bn(np.random.randn(32, 28, 28, 16), training=True)  # the batch's statistics
    """

    supports_masking = True

    sync_group = None

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, axis: int = -1,
                 name: str = None):
        super().__init__(name)
        self.momentum = check_float(momentum, "momentum", 0, 1)
        self.epsilon = check_float(epsilon, "epsilon", 0, low_open=True)
        self.axis = check_int(axis, "axis")

    def build(self, input_shape):
        ndim = 0 if input_shape is None else len(input_shape)
        if ndim < 2 or not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(f"BatchNorm with axis={self.axis} expects inputs of shape "
                             f"(batch, ...) with a non-batch axis {self.axis}, received "
                             f"an input of shape {input_shape}")
        self._axis = self.axis % ndim
        channels = (input_shape[self._axis],)
        self.gamma = Tensor(initializers.ones(channels))
        self.beta = Tensor(initializers.zeros(channels))
        self.moving_mean = Tensor(initializers.zeros(channels), trainable=False)
        self.moving_variance = Tensor(initializers.ones(channels), trainable=False)

    def _check_input(self, shape):
        """Only the number of axes and the channel count must match (a
        channels-first input may change its width)."""
        built = self.input_shape
        if len(shape) != len(built) or shape[self._axis] != built[self._axis]:
            raise ValueError(f"BatchNorm was built for inputs of shape "
                             f"{(None,) + tuple(built[1:])} (channel axis {self.axis}), "
                             f"received an input of shape {shape}")

    def call(self, x, training=False):
        training = training and self.trainable  # a frozen BatchNorm runs in inference mode
        x = cast_input(x, self.gamma.dtype)
        shape = [1] * x.ndim
        shape[self._axis] = -1  # (1, ..., channels, ..., 1): broadcasts over the rest
        gamma, beta = self.gamma.reshape(shape), self.beta.reshape(shape)
        if training and self._axis == x.ndim - 1:  # channels last: one fused op
            mean, variance = normalization.channel_moments(x.value, self.sync_group)
            self._update_moving(mean, variance)
            return normalization.batch_normalize(x, self.gamma, self.beta, mean, variance,
                                                 self.epsilon, self.sync_group)
        if training:
            axes = tuple(i for i in range(x.ndim) if i != self._axis)
            mean, centred, variance = _moments(x, axes)
            self._update_moving(mean.value.reshape(-1), variance.value.reshape(-1))
            return centred / (variance + self.epsilon).sqrt() * gamma + beta
        # inference: one scale and one shift per channel, then a single pass over x
        scale = gamma / Tensor(np.sqrt(self.moving_variance.value + self.epsilon),
                               trainable=False).reshape(shape)
        return x * scale + (beta - self.moving_mean.reshape(shape) * scale)

    def _update_moving(self, mean, variance):
        m = self.momentum
        # in place, so that the Tensors (and anything holding their arrays) stay the same
        self.moving_mean.value[...] = m * self.moving_mean.value + (1 - m) * mean
        self.moving_variance.value[...] = m * self.moving_variance.value + (1 - m) * variance

    def get_config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon, "axis": self.axis}


class LayerNorm(Layer):
    """Layer normalisation (Ba et al., 2016): each sample is normalised over
    its last axis with its own mean and (biased) variance, then scaled by
    `gamma` and shifted by `beta`. It behaves the same in training and
    inference.

    Args:
        epsilon: added to the variance before the square root (default 1e-5).

    Shapes: (batch, ..., features) -> the same shape; gamma and beta (features,).

    Example:
        LayerNorm()(np.random.randn(4, 10, 64)).shape  # (4, 10, 64)
    """

    supports_masking = True

    def __init__(self, epsilon: float = 1e-5, name: str = None):
        super().__init__(name)
        self.epsilon = check_float(epsilon, "epsilon", 0, low_open=True)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 2:
            raise ValueError(f"LayerNorm expects inputs of shape (batch, ..., features), "
                             f"received an input of shape {input_shape}")
        features = (input_shape[-1],)
        self.gamma = Tensor(initializers.ones(features))
        self.beta = Tensor(initializers.zeros(features))

    def call(self, x):
        x = cast_input(x, self.gamma.dtype)
        return normalization.layer_normalize(x, self.gamma, self.beta, self.epsilon)

    def get_config(self):
        return {"epsilon": self.epsilon}


class LayerNormalization(LayerNorm):
    """Keras's `LayerNormalization`: `LayerNorm` with Keras's default
    epsilon, 1e-3 (LayerNorm's 1e-5 is PyTorch's), and Keras's layer name.

    Args:
        epsilon: added to the variance before the square root (default 1e-3).

    Example:
        LayerNormalization().epsilon                 # 0.001
    """

    def __init__(self, epsilon: float = 1e-3, name: str = None):
        super().__init__(epsilon, name)


BatchNormalization = BatchNorm  # Keras's name (the same defaults)
LAYERS.add(BatchNorm, "BatchNormalization")  # configs may name either
