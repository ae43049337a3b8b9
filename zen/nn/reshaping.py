"""Layers that rearrange or pass on their input without weights (Keras's
`Reshape`, `Permute`, `RepeatVector`, `Activation` and `Identity`).

None of them touches the batch axis, and none fixes its input shape when
built: each checks the shape it receives on every call, as Keras does.
"""
import math

import numpy as np

from .. import autodiff as ad
from ..autodiff import Function
from ..autodiff.ops import as_tensor
from ..backend import xp
from .. import tree
from . import activations
from ..validation import check_positive_int, is_int
from .core import callable_name
from .layer import Layer


class ShapeFreeLayer(Layer, abstract=True):
    """A layer whose `call` checks every input shape itself, so the base
    class's check against the shape it was built for is skipped."""

    checks_input_shape = False  # any shape `call` accepts, whatever the first call saw

    def _title(self):
        return f"Layer {self.name!r} ({type(self).__name__})"


def int_tuple(values):
    """`values` as a tuple of Python ints, or None if it is not a sequence of
    integers (bools excluded)."""
    if not isinstance(values, (tuple, list, np.ndarray)):
        return None
    if not all(map(is_int, values)):
        return None
    return tuple(int(n) for n in values)


# ----- Reshape -------------------------------------------------------------------
class Reshape(ShapeFreeLayer):
    """Reshape each sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: a tuple of positive ints, the shape of one sample; one
            of them may be -1, inferred from the input's size (as in Keras).

    Shapes: (batch, ...) -> (batch, *target_shape); the size of a sample
    must not change.

    Example:
        Reshape((3, 4))(np.zeros((8, 12))).shape        # (8, 3, 4)
        Reshape((-1, 2))(np.zeros((8, 12))).shape       # (8, 6, 2)
    """

    def __init__(self, target_shape, name: str = None):
        super().__init__(name)
        self.target_shape = check_target_shape(target_shape)

    def build(self, input_shape):
        self.sample_shape(input_shape)  # a target that cannot fit fails here, at build

    def call(self, x):
        x = as_tensor(x)
        return ad.reshape(x, x.shape[:1] + self.sample_shape(x.shape))

    def sample_shape(self, input_shape) -> tuple:
        """`target_shape` with its -1 resolved for inputs of `input_shape`."""
        size = math.prod(input_shape[1:])
        known = math.prod(n for n in self.target_shape if n != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not input_shape or not fits:
            raise ValueError(f"{self._title()} cannot reshape inputs of shape {input_shape} "
                             f"to target_shape={self.target_shape}: a sample has {size} "
                             f"elements, and reshaping must keep them all")
        return tuple(size // known if n == -1 else n for n in self.target_shape)

    def get_config(self):
        return {"target_shape": self.target_shape}


def check_target_shape(target_shape) -> tuple:
    """`target_shape` as a tuple of positive ints with at most one -1."""
    dims = int_tuple(target_shape)
    if dims is None or not all(n > 0 or n == -1 for n in dims) or dims.count(-1) > 1:
        raise ValueError(f"Received an invalid value for `target_shape`, expected a tuple "
                         f"of positive integers with at most one -1 (a size to infer). "
                         f"Received: target_shape={target_shape!r}")
    return dims


# ----- Permute -------------------------------------------------------------------
class Permute(ShapeFreeLayer):
    """Reorder the axes of each sample (the batch axis stays first).

    Args:
        dims: a permutation of 1, ..., rank - 1, numbering the input's axes
            from 1 (axis 0 is the batch, as in Keras): output axis i is
            input axis dims[i - 1].

    Shapes: (batch, d1, ..., dn) -> (batch, d_dims[0], ..., d_dims[n-1]).

    Example:
        Permute((2, 1))(np.zeros((8, 10, 64))).shape    # (8, 64, 10)
    """

    def __init__(self, dims, name: str = None):
        super().__init__(name)
        self.dims = check_dims(dims)

    def call(self, x):
        x = as_tensor(x)
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"{self._title()} with dims={self.dims} expects inputs of rank "
                             f"{len(self.dims) + 1} (batch included), received an input "
                             f"of shape {x.shape}")
        return ad.transpose(x, (0,) + self.dims)

    def get_config(self):
        return {"dims": self.dims}


def check_dims(dims) -> tuple:
    """`dims` as a tuple, if it is a permutation of 1..len(dims)."""
    values = int_tuple(dims)
    if not values or sorted(values) != list(range(1, len(values) + 1)):
        raise ValueError(f"Received an invalid value for `dims`, expected a permutation "
                         f"of 1, ..., n (the axes of a sample, numbered from 1). "
                         f"Received: dims={dims!r}")
    return values


# ----- RepeatVector --------------------------------------------------------------
class RepeatAlongNewAxis(Function):
    """(batch, features) -> (batch, n, features), each row copied n times;
    the gradient sums the n copies."""

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        return xp.repeat(x[:, None, :], self.n, axis=1)

    def backward(self, gradient):
        return gradient.sum(axis=1)


class RepeatVector(ShapeFreeLayer):
    """Repeat each input vector `n` times, along a new axis 1.

    Args:
        n: the number of repetitions (positive int).

    Shapes: (batch, features) -> (batch, n, features).

    Example:
        RepeatVector(3)(np.zeros((8, 32))).shape        # (8, 3, 32)
    """

    def __init__(self, n: int, name: str = None):
        super().__init__(name)
        self.n = check_positive_int(n, "n")

    def call(self, x):
        x = as_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"{self._title()} expects inputs of shape (batch, features), "
                             f"received an input of shape {x.shape}")
        return RepeatAlongNewAxis.apply(x, n=self.n)

    def get_config(self):
        return {"n": self.n}


# ----- Activation and Identity -----------------------------------------------------
class Activation(ShapeFreeLayer):
    """Apply an activation function elementwise (softmax: over the last axis).

    Args:
        activation: a name ("relu", "sigmoid", "tanh", "softmax",
            "leaky_relu", "gelu", "linear"), a callable, or None (linear).

    Shapes: any input; the output has the input's shape.

    Example:
        Activation("relu")(np.array([[-3.0, 2.0]]))      # [[0.0, 2.0]]
    """

    supports_masking = True

    def __init__(self, activation, name: str = None):
        super().__init__(name)
        self._function = check_activation(activation)
        self.activation = activation

    def call(self, x):
        return self._function(as_tensor(x))

    def get_config(self):
        return {"activation": callable_name(self.activation)}


def check_activation(activation):
    """The function `activations.get` gives for `activation`; anything it does
    not know is a ValueError naming the argument."""
    if activation is None or callable(activation) or isinstance(activation, str):
        try:
            return activations.get(activation)
        except ValueError as error:
            reason = error
    else:
        reason = "expected a name, a callable or None"
    raise ValueError(f"Received an invalid value for `activation` ({reason}). "
                     f"Received: activation={activation!r}")


class Identity(ShapeFreeLayer):
    """Return the input unchanged (a placeholder where no operation is
    wanted). A list or dict of inputs comes back with the same structure.

    Shapes: any input; the output has the input's shape.

    Example:
        Identity()(x)                                   # x (as a Tensor)
    """

    supports_masking = True

    def call(self, x):
        return tree.map_structure(as_tensor, x)
