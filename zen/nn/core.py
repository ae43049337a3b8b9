"""The core layers: Dense, Flatten, Dropout, Embedding, Masking and Lambda, and the
small naming and casting helpers the other layer files share.
"""
import numpy as np

from .. import autodiff as ad
from .. import rng
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE, as_float_array
from ..validation import check_bool, check_float, check_positive_int
from .. import tree
from . import activations, constraints, initializers, regularizers, serialization
from .layer import Layer


# ----- shared helpers ----------------------------------------------------------
def callable_name(fn):
    """How a config names an activation or initialiser: its string, an
    initializer object's `{"class_name", "config"}`, or the function's name
    (a custom callable must then be a known name to reload)."""
    if fn is None or isinstance(fn, str):
        return fn
    if isinstance(fn, dict):  # already a {"class_name", "config"} entry
        return initializers.serialize(initializers.get(fn))
    if isinstance(fn, initializers.Initializer):
        return initializers.serialize(fn)
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
    """What Dense and the convolutions share: a kernel, an optional bias,
    their initialisers, regularizers and constraints, an activity
    regularizer and an activation applied to the output."""

    def __init__(self, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, name=None):
        super().__init__(name)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activation = activation
        self._activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self._kernel_init = initializers.get(kernel_initializer)  # an unknown name fails here
        self._bias_init = initializers.get(bias_initializer)

    def create_weights(self, kernel_shape, bias_shape):
        self.kernel = self.add_weight(kernel_shape, self._kernel_init,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(bias_shape, self._bias_init,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def weight_config(self) -> dict:
        return {"activation": callable_name(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": callable_name(self.kernel_initializer),
                "bias_initializer": callable_name(self.bias_initializer),
                **penalty_config(self, ("kernel_regularizer", "bias_regularizer",
                                        "activity_regularizer", "kernel_constraint",
                                        "bias_constraint"))}


def penalty_config(layer, names) -> dict:
    """The config entries of `layer`'s regularizers and constraints that are
    set (`serialize`d), so that configs without them stay as they were."""
    config = {}
    for name in names:
        value = getattr(layer, name)
        if value is not None:
            module = regularizers if name.endswith("regularizer") else constraints
            config[name] = module.serialize(value)
    return config


class Dense(WeightedLayer):
    """A fully connected layer: `activation(x @ kernel + bias)`.

    Args:
        units: the output size (positive int).
        activation: a name ("relu", "softmax", ...), a callable, or None
            (the default, linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        bias_initializer: name or callable (default "zeros").

    Keras's `kernel_regularizer`, `bias_regularizer`, `activity_regularizer`
    (penalties added to the loss: a name such as "l2", a `zen.regularizers`
    object) and `kernel_constraint`, `bias_constraint` (applied after each
    optimizer step: "max_norm", a `zen.constraints` object) default to None.

    Shapes: input (batch, ..., features) -> output (batch, ..., units); the
    kernel (features, units) acts on the last axis, as in Keras.

    Example:
        layer = Dense(64, activation="relu")
        y = layer(np.zeros((32, 784)))      # y.shape == (32, 64)
    """

    supports_masking = True

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 name: str = None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, name)
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

    supports_masking = True

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
        embeddings_regularizer: a penalty on the table (default None).
        embeddings_constraint: applied to the table after every optimizer
            step (default None).
        activity_regularizer: a penalty on the output, over the batch size
            (default None).
        mask_zero: whether index 0 is padding (default False): the output
            then carries the mask `inputs != 0` (zen.nn.masking), which
            recurrent, attention and pooling layers, losses and metrics
            honour; index 0 must stay unused for data, as in Keras.

    Shapes: integer input of any shape (...) -> (..., output_dim). Floats
    that hold whole numbers are accepted (Keras casts them too); other
    floats are a TypeError, an index outside [0, input_dim) a ValueError.

    Example:
        emb = Embedding(1000, 64)
        emb(np.array([[4, 20, 7]])).shape              # (1, 3, 64)
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None,
                 activity_regularizer=None, mask_zero: bool = False, name: str = None):
        super().__init__(name)
        self.mask_zero = check_bool(mask_zero, "mask_zero")
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.input_dim = check_positive_int(input_dim, "input_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.embeddings_initializer = embeddings_initializer
        self._init = (uniform if embeddings_initializer == "uniform"  # Keras's name
                      else initializers.get(embeddings_initializer))

    def build(self, input_shape):
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self._init,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    checks_input_shape = False  # any shape of indices: sequences may change length

    supports_masking = True  # a mask comes in only with mask_zero (`compute_mask`)

    def call(self, x):
        return self.embeddings[self._indices(x)]

    def compute_mask(self, inputs, previous_mask=None):
        """`inputs != 0` with mask_zero, else None."""
        if not self.mask_zero:
            return None
        return np.asarray(inputs.value if isinstance(inputs, Tensor) else inputs) != 0

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
                "embeddings_initializer": callable_name(self.embeddings_initializer),
                **({"mask_zero": True} if self.mask_zero else {}),
                **penalty_config(self, ("embeddings_regularizer", "embeddings_constraint",
                                        "activity_regularizer"))}


class Masking(Layer):
    """Mark padded time steps: a step whose features all equal `mask_value`
    is masked for the layers after this one (zen.nn.masking), and zeroed.

    Args:
        mask_value: the value that fills a padded step (default 0.0).

    Shapes: (batch, time, features) -> the same; the mask is (batch, time).

    Example:
        x = np.array([[[1.0, 2.0], [0.0, 0.0]]])
        Masking()(x)._keras_mask                  # [[True, False]]
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, name: str = None):
        super().__init__(name)
        self.mask_value = check_float(mask_value, "mask_value")

    def call(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x, trainable=False)
        return x * self.compute_mask(x)[..., None].astype(x.dtype)

    def compute_mask(self, inputs, previous_mask=None):
        """True where some feature of a step differs from `mask_value`."""
        values = np.asarray(inputs.value if isinstance(inputs, Tensor) else inputs)
        return np.any(values != self.mask_value, axis=-1)

    def get_config(self):
        return {"mask_value": self.mask_value}


# ----- Lambda ------------------------------------------------------------------------
class Lambda(Layer):
    """A function of tensors as a layer (Keras's Lambda), for small
    computations that need no weights.

    Args:
        function: called as `function(inputs, **arguments)` on the layer's
            input (a Tensor, or a list of them), returning Tensors; write it
            with Tensor operators and `zen.autodiff` ops so gradients flow.
        output_shape: the output's shape without the batch axis (a tuple),
            or a function of the input shape; by default Zen finds it by
            running the function.
        arguments: keyword arguments for `function` (JSON values, to be saved).

    Saving: a file names the function and never holds its code. A function
    defined with def and registered (`@zen.models.register_serializable()`)
    loads by itself; another one loads with `custom_objects={name: function}`;
    an anonymous `lambda` is a ValueError at `save`.

    Example:
        @zen.models.register_serializable(package="my_model")
        def squash(x):
            return x / (1 + x.abs())
        model = zen.Sequential([nn.Dense(8), nn.Lambda(squash)])
    """

    checks_input_shape = False  # the function decides what it takes

    def __init__(self, function, output_shape=None, arguments=None, name: str = None):
        super().__init__(name)
        if not callable(function):
            raise TypeError(f"Lambda needs a callable `function`. Received: {function!r}")
        self.function = function
        self.output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        inputs = tree.map_structure(
            lambda x: x if isinstance(x, Tensor) else Tensor(as_float_array(x), trainable=False),
            inputs)
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        """The output's shape from `output_shape` (with the batch axis of the input)."""
        if self.output_shape is None:
            raise ValueError(f"Lambda layer {self.name!r} was given no `output_shape`: "
                             f"call it on data (or a zen.Input) to know its output")
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        return (input_shape[0], *self.output_shape)

    def get_config(self):
        config = {"function": serialization.function_name(
            self.function, f"Lambda layer {self.name!r}")}
        if self.output_shape is not None:
            if callable(self.output_shape):
                config["output_shape"] = serialization.function_name(
                    self.output_shape, f"The output_shape of Lambda layer {self.name!r}")
            else:
                config["output_shape"] = list(self.output_shape)
        if self.arguments:
            config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["function"] = serialization.function_named(config.get("function"))
        shape = config.get("output_shape")
        if isinstance(shape, str):
            config["output_shape"] = serialization.function_named(shape)
        elif shape is not None:
            config["output_shape"] = tuple(shape)
        return cls(**config)
