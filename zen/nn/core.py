"""The core layers: Dense, Flatten, Dropout and Embedding, and the small
naming and casting helpers the other layer files share.
"""
import numpy as np

from .. import autodiff as ad
from .. import rng
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE, as_float_array
from ..validation import check_float, check_positive_int
from . import activations, initializers
from .layer import Layer


# ----- shared helpers ----------------------------------------------------------
def callable_name(fn):
    """How a config names an activation or initialiser: its string, or the
    function's name (a custom callable must then be a known name to reload)."""
    if fn is None or isinstance(fn, str):
        return fn
    return getattr(fn, "__name__", type(fn).__name__)


def cast_input(x, dtype):
    """`x` as a Tensor of the layer's dtype, so that a float32 model stays
    float32 whatever arrays it is fed. A trainable Tensor is left as it is:
    casting it would cut its gradient."""
    if isinstance(x, Tensor):
        if x.trainable or x.dtype == dtype:
            return x
        x = x.value
    return Tensor(as_float_array(x, dtype), trainable=False)


# ----- Dense -------------------------------------------------------------------
class WeightedLayer(Layer, abstract=True):
    """What Dense and Conv2D share: a kernel, an optional bias, their
    initialisers and an activation applied to the output."""

    def __init__(self, activation, use_bias, kernel_initializer, bias_initializer,
                 name=None):
        super().__init__(name)
        self.activation = activation
        self._activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self._kernel_init = initializers.get(kernel_initializer)  # an unknown name fails here
        self._bias_init = initializers.get(bias_initializer)

    def create_weights(self, kernel_shape, bias_shape):
        self.kernel = Tensor(self._kernel_init(kernel_shape))
        if self.use_bias:
            self.bias = Tensor(self._bias_init(bias_shape))

    def weight_config(self) -> dict:
        return {"activation": callable_name(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": callable_name(self.kernel_initializer),
                "bias_initializer": callable_name(self.bias_initializer)}


class Dense(WeightedLayer):
    """A fully connected layer: `activation(x @ kernel + bias)`.

    Args:
        units: the output size (positive int).
        activation: a name ("relu", "softmax", ...), a callable, or None
            (the default, linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        bias_initializer: name or callable (default "zeros").

    Shapes: input (batch, ..., features) -> output (batch, ..., units); the
    kernel (features, units) acts on the last axis, as in Keras.

    Example:
        layer = Dense(64, activation="relu")
        y = layer(np.zeros((32, 784)))      # y.shape == (32, 64)
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 name: str = None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, name)
        self.units = check_positive_int(units, "units")

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 2:
            raise ValueError(f"Dense expects inputs of shape (batch, ..., features), "
                             f"received an input of shape {input_shape}")
        self.create_weights((input_shape[-1], self.units), (self.units,))

    def call(self, x):
        x = cast_input(x, self.kernel.dtype)
        return self._activation(ad.linear(x, self.kernel, self.bias if self.use_bias else None))

    def get_config(self):
        return {"units": self.units, **self.weight_config()}


# ----- Flatten and Dropout ---------------------------------------------------------
class Flatten(Layer):
    """Reshape (batch, d1, d2, ...) to (batch, d1 * d2 * ...).

    Example:
        Flatten()(np.zeros((8, 28, 28, 1))).shape     # (8, 784)
    """

    def call(self, x):
        return ad.flatten(x)


class Dropout(Layer):
    """Inverted dropout: in training mode each element is zeroed with
    probability `rate` and the others are scaled by 1 / (1 - rate), so the
    expected output equals the input; in inference mode it is the identity.

    Args:
        rate: the fraction of inputs to drop, a float in [0, 1).

    Shapes: any input; the output has the input's shape.

    Example:
        drop = Dropout(0.5)
        drop(x, training=True)                         # about half zeroed, the rest doubled
        drop(x)                                        # x itself (inference)
    """

    def __init__(self, rate: float, name: str = None):
        super().__init__(name)
        self.rate = check_float(rate, "rate", 0, 1, high_open=True)

    def call(self, x, training=False):
        # always a Tensor out (ad.dropout hands back its input untouched when idle)
        return activations.linear(ad.dropout(x, self.rate, training))

    def get_config(self):
        return {"rate": self.rate}


# ----- Embedding ---------------------------------------------------------------------
def uniform(shape, dtype=DEFAULT_DTYPE):
    """U(-0.05, 0.05): Keras's default for embeddings ("uniform")."""
    return rng.generator().uniform(-0.05, 0.05, shape).astype(dtype)


class Embedding(Layer):
    """A lookup table: integer index i -> row i of a trainable
    (input_dim, output_dim) matrix. Rows used several times in a batch
    receive the sum of their gradients.

    Args:
        input_dim: the vocabulary size; valid indices are 0 .. input_dim - 1.
        output_dim: the size of each embedding vector.
        embeddings_initializer: name or callable (default "uniform",
            U(-0.05, 0.05) as in Keras).

    Shapes: integer input of any shape (...) -> (..., output_dim). Floats
    that hold whole numbers are accepted (Keras casts them too); other
    floats are a TypeError, an index outside [0, input_dim) a ValueError.

    Example:
        emb = Embedding(1000, 64)
        emb(np.array([[4, 20, 7]])).shape              # (1, 3, 64)
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 name: str = None):
        super().__init__(name)
        self.input_dim = check_positive_int(input_dim, "input_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.embeddings_initializer = embeddings_initializer
        self._init = (uniform if embeddings_initializer == "uniform"  # Keras's name
                      else initializers.get(embeddings_initializer))

    def build(self, input_shape):
        self.embeddings = Tensor(self._init((self.input_dim, self.output_dim)))

    checks_input_shape = False  # any shape of indices: sequences may change length

    def call(self, x):
        return self.embeddings[self._indices(x)]

    def _indices(self, x):
        indices = np.asarray(x.value if isinstance(x, Tensor) else x)
        if indices.dtype.kind == "f":
            fractional = ~np.isfinite(indices) | (indices != np.round(indices))
            if fractional.any():
                raise TypeError(f"Embedding expects integer indices, received floats "
                                f"that are not whole numbers, e.g. "
                                f"{indices[fractional].flat[0]!r}")
        elif indices.dtype.kind not in "iu":
            raise TypeError(f"Embedding expects integer indices, received an array "
                            f"of dtype {indices.dtype}")
        indices = indices.astype(np.intp)
        bad = (indices < 0) | (indices >= self.input_dim)
        if bad.any():
            raise ValueError(f"Embedding received index {indices[bad].flat[0]}, out of "
                             f"range for input_dim={self.input_dim} (valid indices are "
                             f"0 to {self.input_dim - 1})")
        return indices

    def get_config(self):
        return {"input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": callable_name(self.embeddings_initializer)}
