"""`Layer`: the base class of every layer and model.

Configuration goes in `__init__`, weights in `build(input_shape)` (called by
the first `__call__`, so a layer never needs its input size), the maths in
`call(x)`. Parameters are found, not listed: every Tensor or Layer assigned
as an attribute (or a list of Layers) is part of the layer, in assignment
order.
"""
import inspect
from contextlib import contextmanager

from ..autodiff import Tensor, no_grad

LAYERS = {}  # class name -> class, for rebuilding a model from its config


class Layer:
    """Base class: subclasses define `build(input_shape)` (optional),
    `call(x)` and `get_config()`.

    Example:
        class Scale(Layer):
            def build(self, input_shape):
                self.scale = Tensor(np.ones(input_shape[-1]))

            def call(self, x):
                return x * self.scale
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LAYERS[cls.__name__] = cls

    def __init__(self):
        self.training = True
        self.built = False
        self.input_shape = None

    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs of `input_shape` (batch axis included)."""

    def call(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define call (subclass hook)")

    def __call__(self, x, *args, **kwargs):
        shape = tuple(x.shape) if hasattr(x, "shape") else None
        if not self.built:
            self.input_shape = shape
            self.build(shape)
            self.built = True
        elif shape is not None and self.input_shape is not None:
            self._check_input(shape)
        return self.call(x, *args, **kwargs)

    def _check_input(self, shape):
        built = self.input_shape
        if len(shape) != len(built) or (built and shape[-1] != built[-1]):
            raise ValueError(
                f"{type(self).__name__} was built for inputs of shape "
                f"{(None,) + tuple(built[1:])}, received an input of shape {shape}")

    # ----- parameters and sublayers ------------------------------------------
    def sublayers(self) -> list:
        """Direct sublayers, in assignment order."""
        found = []
        for value in vars(self).values():
            if isinstance(value, Layer):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found.extend(v for v in value if isinstance(v, Layer))
        return found

    def all_layers(self) -> list:
        """This layer and every layer inside it, depth first."""
        stack, found = [self], []
        while stack:
            layer = stack.pop()
            found.append(layer)
            stack.extend(reversed(layer.sublayers()))
        return found

    def named_tensors(self, prefix: str = "") -> list:
        """(name, Tensor) for every weight, trainable or not (e.g. BatchNorm's
        running statistics), this layer's first, then each sublayer's."""
        named = [(prefix + name, value) for name, value in vars(self).items()
                 if isinstance(value, Tensor)]
        for i, layer in enumerate(self.sublayers()):
            named.extend(layer.named_tensors(f"{prefix}{i}."))
        return named

    def parameters(self) -> list:
        """The trainable Tensors of this layer and its sublayers, in a stable order."""
        return [t for _, t in self.named_tensors() if t.trainable]

    def count_params(self) -> int:
        return sum(t.size for _, t in self.named_tensors())

    # ----- modes ---------------------------------------------------------------
    def train_mode(self) -> "Layer":
        """Training behaviour (Dropout drops, BatchNorm uses batch statistics)."""
        return self._set_training(True)

    def eval_mode(self) -> "Layer":
        """Inference behaviour (Dropout is the identity, BatchNorm uses running statistics)."""
        return self._set_training(False)

    def _set_training(self, training):
        self.training = training
        for layer in self.sublayers():
            layer._set_training(training)
        return self

    # ----- configuration and weights -------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    def state_dict(self) -> dict:
        """{name: array copy} of every weight."""
        return {name: t.value.copy() for name, t in self.named_tensors()}

    def load_state_dict(self, state: dict) -> None:
        """Copy weights in place (Tensor ids, hence optimiser state, are kept).
        The layer must be built; names and shapes must match exactly."""
        named = dict(self.named_tensors())
        if not self.built and not named:
            raise ValueError(f"{type(self).__name__} is not built: call it on data or "
                             f"build(input_shape) before loading weights")
        missing, unexpected = set(named) - set(state), set(state) - set(named)
        if missing or unexpected:
            raise ValueError(f"load_state_dict: missing weights {sorted(missing)}, "
                             f"unexpected weights {sorted(unexpected)}")
        for name, tensor in named.items():
            value = state[name]
            if tuple(value.shape) != tensor.shape:
                raise ValueError(f"load_state_dict: weight {name!r} has shape "
                                 f"{tuple(value.shape)}, the layer expects {tensor.shape}")
            tensor.value[...] = value

    def __repr__(self):
        """The constructor call, leaving out arguments at their defaults:
        `Dense(units=64, activation='relu')`."""
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                         if k not in defaults or not _same(defaults[k], v))
        return f"{type(self).__name__}({args})"


@contextmanager
def modes_restored(model: Layer):
    """Put every layer's training flag back as it was when the block ends."""
    modes = [(layer, layer.training) for layer in model.all_layers()]
    try:
        yield
    finally:
        for layer, training in modes:
            layer.training = training


@contextmanager
def inference_mode(model: Layer):
    """Inference behaviour (Dropout off, BatchNorm's running statistics) and
    no graph recording for the block; each layer's mode restored afterwards."""
    with modes_restored(model), no_grad():
        model.eval_mode()
        yield


def _same(default, value):
    """Whether a config value equals its default (a pair (3, 3) equals 3)."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]
    try:
        return bool(default == value)
    except (TypeError, ValueError):
        return False
