"""Numerical preprocessing layers (Keras 3's names, arguments and numbers):
Rescaling and Normalization.

Arrays become float32 Tensors; a Tensor given stays one, so gradients flow
back to it.
"""
import numpy as np

from ...autodiff import Tensor
from ...validation import check_bool, check_int, invalid, is_number
from ..layer import Layer
from .image import as_images

EPSILON = 1e-7  # Keras's backend.epsilon(): the smallest standard deviation divided by


def check_numbers(value, name):
    """`value` (a number or a list of numbers) as a float32 array."""
    values = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if not all(is_number(v, finite=True) for v in np.ravel(np.asarray(values, dtype=object))):
        raise invalid(name, "a finite number or a list of them", value)
    return np.asarray(value, dtype=np.float32)


def as_config_value(value):
    """A number or array as JSON: a float, or a (nested) list of floats."""
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array.tolist()


class Rescaling(Layer):
    """Multiply the inputs by `scale` and add `offset`, as Keras's `Rescaling`.

    Args:
        scale: a number, or a list of numbers (one per channel, broadcast
            over the last axis).
        offset: a number or a list of numbers, added after scaling (default 0.0).
        name: the layer's name.

    Shapes: any -> the same.

    Example:
        Rescaling(1 / 255)(np.full((1, 2, 2, 3), 255.0))   # all ones
    """

    checks_input_shape = False

    def __init__(self, scale, offset=0.0, name: str = None):
        super().__init__(name)
        self._scale = check_numbers(scale, "scale")
        self._offset = check_numbers(offset, "offset")
        self.scale, self.offset = as_config_value(scale), as_config_value(offset)

    def call(self, x):
        x = as_images(x)
        return x * self._scale.astype(x.dtype) + self._offset.astype(x.dtype)

    def get_config(self):
        return {"scale": self.scale, "offset": self.offset}


def check_axis(axis):
    """`axis` as a tuple of ints (None: the empty tuple)."""
    if axis is None:
        return ()
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    return tuple(check_int(a, "axis") for a in axes)


class Normalization(Layer):
    """Shift and scale the inputs to mean 0 and variance 1 per feature, as
    Keras's `Normalization`: `(x - mean) / max(sqrt(variance), 1e-7)`
    (`invert=True`: `mean + x * max(sqrt(variance), 1e-7)`). The statistics
    are given, or computed by `adapt(data)` and then kept as the layer's
    non-trainable weights "mean", "variance" and "count" (saved with the model).

    Args:
        axis: the axis or axes that keep their own statistics (default -1:
            one mean and variance per feature of the last axis); None: one
            mean and variance for everything.
        mean: the mean to use instead of `adapt` (a number or an array that
            broadcasts to the kept axes), or None.
        variance: the variance, given together with `mean`, or None.
        invert: undo the normalization instead (default False).
        name: the layer's name.

    Shapes: any -> the same.

    Example:
        norm = Normalization()
        norm.adapt(np.array([[1.0], [2.0], [3.0]]))
        norm(np.array([[2.0]]))                           # [[0.]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False,
                 name: str = None):
        super().__init__(name)
        self.axis = check_axis(axis)
        self.invert = check_bool(invert, "invert")
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization takes both `mean` and `variance` or neither. "
                             f"Received: mean={mean!r}, variance={variance!r}")
        self.input_mean = None if mean is None else check_numbers(mean, "mean")
        self.input_variance = None if variance is None else check_numbers(variance, "variance")
        self._axis_argument = axis

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self._axis_argument}")
        self.keep_axes = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self.keep_axes):
            raise ValueError(f"All `axis` values to be kept must have a known shape. Received "
                             f"axis={self._axis_argument}, inputs.shape={input_shape}")
        self.reduce_axes = tuple(a for a in range(ndim) if a not in self.keep_axes)
        self.broadcast_shape = tuple(input_shape[a] if a in self.keep_axes else 1
                                     for a in range(ndim))
        shape = tuple(input_shape[a] for a in self.keep_axes)
        if self.input_mean is None:
            self.mean = self.add_weight(shape, "zeros", trainable=False, name="mean")
            self.variance = self.add_weight(shape, "ones", trainable=False, name="variance")
            self.count = self.add_weight((), "zeros", dtype="int32", trainable=False,
                                         name="count")

    def _check_input(self, shape):
        if len(shape) != len(self.broadcast_shape) or any(
                shape[a] != self.broadcast_shape[a] for a in self.keep_axes):
            raise ValueError(f"Layer {self.name!r} (Normalization) was built for inputs of "
                             f"shape {self.input_shape}, received an input of shape {shape}")

    def adapt(self, data) -> None:
        """Set the mean and variance (population variance) from `data`, an
        array whose first axis runs over samples.

        Args:
            data: the array (or Tensor) to compute the statistics from.
        """
        if self.input_mean is not None:
            raise ValueError("Normalization was given `mean` and `variance`: it cannot adapt")
        array = np.asarray(data.value if isinstance(data, Tensor) else data, dtype=np.float64)
        if not self.built:
            self.input_shape = (None,) + array.shape[1:]
            self.build(self.input_shape)
            self.built = True
        else:
            self._check_input(array.shape)
        self.mean.value[...] = array.mean(axis=self.reduce_axes)
        self.variance.value[...] = array.var(axis=self.reduce_axes)
        self.count.value[...] = int(np.prod([array.shape[a] for a in self.reduce_axes]))

    def statistics(self):
        """(mean, standard deviation) shaped to broadcast against the inputs."""
        if self.input_mean is not None:
            mean = np.broadcast_to(self.input_mean, self._kept_shape()).reshape(
                self.broadcast_shape)
            variance = np.broadcast_to(self.input_variance, self._kept_shape()).reshape(
                self.broadcast_shape)
        else:
            mean = self.mean.value.reshape(self.broadcast_shape)
            variance = self.variance.value.reshape(self.broadcast_shape)
        return mean, np.maximum(np.sqrt(variance), EPSILON)

    def _kept_shape(self):
        return tuple(self.broadcast_shape[a] for a in self.keep_axes)

    def call(self, x):
        x = as_images(x)
        mean, deviation = self.statistics()
        mean, deviation = mean.astype(x.dtype), deviation.astype(x.dtype)
        return mean + x * deviation if self.invert else (x - mean) / deviation

    def get_config(self):
        axis = self._axis_argument
        return {"axis": list(axis) if isinstance(axis, tuple) else axis,
                "mean": None if self.input_mean is None else as_config_value(self.input_mean),
                "variance": None if self.input_variance is None
                else as_config_value(self.input_variance),
                "invert": self.invert}
