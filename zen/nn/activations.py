"""Keras's activations: the functions (Tensor -> Tensor, filed by Keras's
names in ACTIVATIONS for every `activation=` argument) and the activation
layers (ReLU, LeakyReLU, PReLU, ELU, Softmax, ...).

Each function takes a Tensor or an array and keeps its float dtype. Most
are compositions of zen.autodiff ops; those that need care with numbers
(softplus, elu, selu, squareplus, sparsemax) are fused ops of
zen.autodiff.activations, and gelu, softmax and log_softmax of
zen.autodiff.nn_ops.
"""
import numpy as np

from .. import autodiff as ad
from ..autodiff import elu, exp, gelu, log_softmax, selu, sigmoid, softmax, softplus
from ..autodiff import sparsemax, squareplus, tanh
from ..autodiff.nn_ops import gelu_is_tanh
from ..autodiff.ops import as_tensor
from ..backend import xp
from ..registry import Registry
from ..validation import check_float, check_int, invalid
from . import constraints, initializers, masking, regularizers
from .layer import LAYERS, Layer


# ----- the functions ----------------------------------------------------------------
def linear(x):
    """The identity (the activation `None` and "linear" name); an array becomes a constant Tensor."""
    return x if isinstance(x, ad.Tensor) else ad.Tensor(x, trainable=False)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); Keras's arguments generalise it to: x where threshold < x
    (capped at `max_value`), negative_slope * (x - threshold) elsewhere.

    Args:
        x: a Tensor or array.
        negative_slope: the slope below the threshold (default 0.0).
        max_value: the largest output, or None (the default) for no cap.
        threshold: where the kink lies (default 0.0).

    Example:
        relu(np.array([-10, -5, 0.0, 5, 10]), max_value=5.0)   # [0, 0, 0, 5, 5]
    """
    negative_slope = check_float(negative_slope, "negative_slope")
    threshold = check_float(threshold, "threshold")
    if max_value is None and threshold == 0:
        return ad.relu(x) if negative_slope == 0 else ad.leaky_relu(x, negative_slope)
    x = as_tensor(x)
    kept = ad.where(x.value > threshold, x, 0.0)
    if max_value is not None:
        kept = ad.clip(kept, 0.0, check_float(max_value, "max_value"))
    if negative_slope == 0:
        return kept
    return kept - negative_slope * ad.relu(threshold - x)


def leaky_relu(x, negative_slope=0.2):
    """x where x > 0, negative_slope * x elsewhere (Keras's default slope 0.2).

    Args:
        x: a Tensor or array.
        negative_slope: the slope for x < 0 (default 0.2).
    """
    return ad.leaky_relu(x, check_float(negative_slope, "negative_slope"))


def relu6(x):
    """min(max(x, 0), 6)."""
    return ad.clip(x, 0.0, 6.0)


def celu(x, alpha=1.0):
    """x where x >= 0, alpha * (e^(x / alpha) - 1) elsewhere (Barron, 2017):
    alpha * elu(x / alpha).

    Args:
        x: a Tensor or array.
        alpha: the scale, > 0 (default 1.0).
    """
    alpha = check_float(alpha, "alpha", 0, low_open=True)
    return alpha * elu(as_tensor(x) / alpha)


def softsign(x):
    """x / (|x| + 1)."""
    x = as_tensor(x)
    return x / (ad.abs(x) + 1.0)


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, 0
    between: x - clip(x, -threshold, threshold).

    Args:
        x: a Tensor or array.
        threshold: the half-width of the zero band, >= 0 (default 0.5).
    """
    threshold = check_float(threshold, "threshold", 0)
    x = as_tensor(x)
    return x - ad.clip(x, -threshold, threshold)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    x = as_tensor(x)
    shifted = ad.clip(x + 1.0, 0.0, 2.0)
    return ad.where(x.value >= 1, x, shifted * shifted * 0.25)


def silu(x):
    """x * sigmoid(x) (Ramachandran et al., 2017); also called swish."""
    x = as_tensor(x)
    return x * sigmoid(x)


def glu(x, axis=-1):
    """a * sigmoid(b), a and b the two halves of x along `axis` (Dauphin et
    al., 2017); that axis must have an even size and is halved.

    Args:
        x: a Tensor or array.
        axis: the axis to split (default the last).
    """
    x = as_tensor(x)
    axis = check_int(axis, "axis", -x.ndim, x.ndim - 1) % x.ndim
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu splits axis {axis} in two halves, which needs an even size; "
                         f"received an input of shape {x.shape}")
    before = (slice(None),) * axis
    return x[before + (slice(0, size // 2),)] * sigmoid(x[before + (slice(size // 2, None),)])


def tanh_shrink(x):
    """x - tanh(x)."""
    x = as_tensor(x)
    return x - tanh(x)


def threshold(x, threshold, default_value):
    """x where x > threshold, default_value elsewhere.

    Args:
        x: a Tensor or array.
        threshold: the value x must exceed to be kept.
        default_value: the value that replaces the others.
    """
    x = as_tensor(x)
    cut = check_float(threshold, "threshold")
    return ad.where(x.value > cut, x, check_float(default_value, "default_value"))


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 between, 1 for x >= 1 (Blondel et al., 2019)."""
    return ad.clip((as_tensor(x) + 1.0) * 0.5, 0.0, 1.0)


def exponential(x):
    """e^x."""
    return exp(x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, x / 6 + 0.5 between (Keras 3)."""
    return relu6(as_tensor(x) + 3.0) / 6.0


def hard_silu(x):
    """x * hard_sigmoid(x) (Howard et al., 2019); also called hard_swish."""
    x = as_tensor(x)
    return x * hard_sigmoid(x)


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return ad.clip(x, -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, 0 elsewhere.

    Args:
        x: a Tensor or array.
        threshold: the half-width of the zero band, >= 0 (default 0.5).
    """
    x = as_tensor(x)
    return ad.where(abs(x.value) > check_float(threshold, "threshold", 0), x, 0.0)


def mish(x):
    """x * tanh(softplus(x)) (Misra, 2019)."""
    x = as_tensor(x)
    return x * tanh(softplus(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    return -softplus(-as_tensor(x))


ACTIVATIONS = Registry("activation")
"""Activation functions (Tensor -> Tensor) by Keras's names, as `get` looks them up."""
for _fn in (relu, leaky_relu, relu6, softmax, celu, elu, selu, softplus, softsign, squareplus,
            soft_shrink, sparse_plus, silu, gelu, glu, tanh, tanh_shrink, threshold, sigmoid,
            sparse_sigmoid, exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink,
            linear, mish, log_softmax, log_sigmoid, sparsemax):
    ACTIVATIONS.add(_fn)
ACTIVATIONS.add(silu, "swish")
ACTIVATIONS.add(hard_silu, "hard_swish")
ACTIVATIONS.add(ad.relu, "relu")  # Keras's relu at its defaults is the op, which Conv2D fuses


def get(activation):
    """A function Tensor -> Tensor from a name ("relu", "swish", ...), None
    (linear), a callable (an activation layer too), an activation layer
    class (made at its defaults) or a layer config dict.

    Args:
        activation: what to resolve.

    Example:
        get("relu6")(np.array([-1.0, 3.0, 9.0]))    # [0, 3, 6]
    """
    if activation is None:
        return linear
    if isinstance(activation, str):
        return ACTIVATIONS.lookup(activation)
    if isinstance(activation, dict):
        return deserialize(activation)
    if isinstance(activation, type) and issubclass(activation, Layer):
        return activation()
    if callable(activation):
        return activation
    raise invalid("activation", "a name, a callable or None", activation)


def serialize(activation):
    """How a config names `activation`: its name for a function ("relu";
    None is "linear"), `{"class_name", "config"}` for a layer; anything
    else is a ValueError.

    Args:
        activation: a name, a function, an activation layer or None.
    """
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        ACTIVATIONS.lookup(activation)
        return activation
    if isinstance(activation, Layer):
        return {"class_name": type(activation).__name__, "config": activation.get_config()}
    if callable(activation) and hasattr(activation, "__name__"):
        return activation.__name__
    raise invalid("activation", "a name, a function, a layer or None", activation)


def deserialize(config):
    """The activation a name or a layer's `{"class_name", "config"}` dict describes.

    Args:
        config: what `serialize` gave.
    """
    return LAYERS.deserialize(config) if isinstance(config, dict) else get(config)


# ----- the layers --------------------------------------------------------------------
class ReLU(Layer):
    """Keras's ReLU layer: x where threshold <= x (capped at `max_value`),
    negative_slope * (x - threshold) elsewhere; max(x, 0) by default.

    Args:
        max_value: the largest output, a number >= 0, or None (default: no cap).
        negative_slope: the slope below the threshold, >= 0 (default 0.0).
        threshold: where the kink lies, >= 0 (default 0.0).

    Shapes: any input; the output has its shape.

    Example:
        ReLU(max_value=6.0)(np.array([-1.0, 3.0, 9.0]))   # [0, 3, 6]
    """

    supports_masking = True

    def __init__(self, max_value: float = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, name: str = None):
        super().__init__(name)
        self.max_value = None if max_value is None else check_float(max_value, "max_value", 0)
        self.negative_slope = check_float(negative_slope, "negative_slope", 0)
        self.threshold = check_float(threshold, "threshold", 0)

    def call(self, x):
        return relu(x, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {"max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """x where x >= 0, negative_slope * x elsewhere.

    Args:
        negative_slope: the slope for x < 0, >= 0 (default 0.3, as in Keras 3).
        alpha: the older name of `negative_slope` (Keras 2's and Zen's
            first); given, it wins.

    Shapes: any input; the output has its shape.

    Example:
        LeakyReLU(negative_slope=0.5)(np.array([-10.0, 5.0]))   # [-5, 5]
    """

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, name: str = None, *, alpha: float = None):
        super().__init__(name)
        if alpha is not None:
            negative_slope = alpha
        self.negative_slope = check_float(negative_slope, "negative_slope", 0)

    @property
    def alpha(self) -> float:
        """The older name of `negative_slope`."""
        return self.negative_slope

    def call(self, x):
        return ad.leaky_relu(x, self.negative_slope)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class PReLU(Layer):
    """A leaky ReLU whose negative slopes are learned (He et al., 2015):
    x where x >= 0, alpha * x elsewhere, with one trainable alpha per input
    element (batch excluded), shared along `shared_axes`.

    Args:
        alpha_initializer: initializer of alpha, a name, an initializer or a
            config dict (default "zeros": plain ReLU to start with).
        alpha_regularizer: a penalty on alpha (default None).
        alpha_constraint: applied to alpha after every optimizer step
            (default None).
        shared_axes: axes (1 = the first after the batch) along which one
            alpha is shared, an int or a list; None (default) shares none.
            For images (batch, h, w, c), [1, 2] gives one alpha per channel.

    Weights: alpha, the input's shape without the batch axis, with size 1 on
    the shared axes.

    Example:
        PReLU(shared_axes=[1, 2])(np.zeros((8, 28, 28, 16)))   # alpha (1, 1, 16)
    """

    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, name: str = None):
        super().__init__(name)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        self.alpha_initializer = alpha_initializer
        self._alpha_init = initializers.get(alpha_initializer)
        self.shared_axes = _shared_axes(shared_axes)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis >= len(input_shape):
                raise invalid("shared_axes", f"axes in [1, {len(input_shape) - 1}] for inputs "
                              f"of shape {input_shape}", self.shared_axes)
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"PReLU needs the size of every axis it does not share; received "
                             f"an input of shape {input_shape} with shared_axes="
                             f"{self.shared_axes} (share the unknown axes)")
        self.alpha = self.add_weight(tuple(shape), self._alpha_init,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def call(self, x):
        return ad.relu(x) - self.alpha * ad.relu(-as_tensor(x))

    def get_config(self):
        initializer = self.alpha_initializer  # a name stays the name the user gave
        if not isinstance(initializer, str):
            initializer = initializers.serialize(self._alpha_init)
        config = {"alpha_initializer": initializer, "shared_axes": self.shared_axes}
        for name in ("alpha_regularizer", "alpha_constraint"):
            value = getattr(self, name)
            if value is not None:
                module = regularizers if name == "alpha_regularizer" else constraints
                config[name] = module.serialize(value)
        return config


def _shared_axes(axes):
    """`shared_axes` as a list of ints >= 1, or None."""
    if axes is None:
        return None
    listed = list(axes) if isinstance(axes, (list, tuple)) else [axes]
    try:
        return [check_int(axis, "shared_axes", 1) for axis in listed]
    except ValueError:
        raise invalid("shared_axes", "None, an axis >= 1 or a list of them", axes) from None


class ELU(Layer):
    """x where x > 0, alpha * (e^x - 1) elsewhere (Clevert et al., 2016).

    Args:
        alpha: the scale of the negative part (default 1.0).

    Shapes: any input; the output has its shape.
    """

    supports_masking = True

    def __init__(self, alpha: float = 1.0, name: str = None):
        super().__init__(name)
        self.alpha = check_float(alpha, "alpha")

    def call(self, x):
        return elu(x, self.alpha)

    def get_config(self):
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    """1 / (1 + e^-x), elementwise. Shapes: any input; the output has its shape."""

    supports_masking = True

    def call(self, x):
        return ad.sigmoid(x)


class Tanh(Layer):
    """tanh(x), elementwise. Shapes: any input; the output has its shape."""

    supports_masking = True

    def call(self, x):
        return ad.tanh(x)


class GELU(Layer):
    """GELU, x * Phi(x) (Phi the standard normal distribution function),
    exact to float64 rounding; with `approximate=True` Hendrycks & Gimpel's
    tanh approximation (Keras's `gelu(x, approximate=True)`, PyTorch's
    "tanh").

    Args:
        approximate: False (the default, exact) or True (tanh); "none" and
            "tanh" are accepted too.

    Shapes: any input; the output has the input's shape and dtype.

    Example:
        GELU()(np.array([-1.0, 0.0, 1.0]))   # [-0.15865525, 0., 0.84134475]
    """

    supports_masking = True

    def __init__(self, approximate: bool = False, name: str = None):
        super().__init__(name)
        self.approximate = gelu_is_tanh(approximate)

    def call(self, x):
        return ad.gelu(x, self.approximate)

    def get_config(self):
        return {"approximate": self.approximate}


class Softmax(Layer):
    """exp(x) / sum(exp(x)) along `axis` (default the last), so that the values
    along it are positive and sum to 1. Shapes: the output has the input's shape."""

    supports_masking = True

    def __init__(self, axis: int = -1, name: str = None):
        super().__init__(name)
        self.axis = axis

    def call(self, x, mask=None):
        if mask is None:
            return ad.softmax(x, self.axis)
        keep = _broadcast_mask(mask, x.shape)  # Keras: masked entries get -1e9, then 0
        scores = ad.where(keep, x, xp.asarray(-1e9, x.dtype))
        return ad.where(keep, ad.softmax(scores, self.axis), xp.zeros((), x.dtype))

    def get_config(self):
        return {"axis": self.axis}


def _broadcast_mask(mask, shape):
    """A boolean mask broadcast against `shape`: as numpy broadcasts (from
    the last axis), or else along the leading axes (a (batch, time) mask of
    (batch, time, features) values)."""
    keep = masking.as_mask(mask)
    try:
        return np.broadcast_to(keep, shape)
    except ValueError:
        return masking.expanded(keep, shape)
