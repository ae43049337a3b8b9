"""Activation layers, and activations by name for the `activation=` argument."""
from .. import autodiff as ad
from ..autodiff.nn_ops import gelu_is_tanh
from ..registry import Registry
from .layer import Layer


class ReLU(Layer):
    """max(x, 0), elementwise. Shapes: any input; the output has its shape."""

    def call(self, x):
        return ad.relu(x)


class LeakyReLU(Layer):
    """x where x > 0, `alpha * x` elsewhere (`alpha` defaults to 0.01).
    Shapes: any input; the output has its shape."""

    def __init__(self, alpha: float = 0.01, name: str = None):
        super().__init__(name)
        self.alpha = alpha

    def call(self, x):
        return ad.leaky_relu(x, self.alpha)

    def get_config(self):
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    """1 / (1 + e^-x), elementwise. Shapes: any input; the output has its shape."""

    def call(self, x):
        return ad.sigmoid(x)


class Tanh(Layer):
    """tanh(x), elementwise. Shapes: any input; the output has its shape."""

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

    def __init__(self, axis: int = -1, name: str = None):
        super().__init__(name)
        self.axis = axis

    def call(self, x):
        return ad.softmax(x, self.axis)

    def get_config(self):
        return {"axis": self.axis}


def linear(x):
    """The identity (the activation `None` and "linear" name); an array becomes a constant Tensor."""
    return x if isinstance(x, ad.Tensor) else ad.Tensor(x, trainable=False)


ACTIVATIONS = Registry("activation")  # Keras's names -> functions Tensor -> Tensor
"""Activation functions (Tensor -> Tensor) by Keras's names, as `get` looks them up."""
for _name, _fn in (("relu", ad.relu), ("sigmoid", ad.sigmoid), ("tanh", ad.tanh),
                   ("softmax", ad.softmax), ("leaky_relu", ad.leaky_relu), ("gelu", ad.gelu),
                   ("linear", linear)):
    ACTIVATIONS.add(_fn, _name)


def get(activation):
    """A function Tensor -> Tensor from a name ("relu", ...), a callable, or None (linear)."""
    if activation is None:
        return linear
    if callable(activation):
        return activation
    return ACTIVATIONS.lookup(activation)
