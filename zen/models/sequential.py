"""`Sequential`: a Model that is a stack of layers, each fed the previous
one's output; it adds `add`, an explicit `build(input_shape)` and a config
listing the layers (the file format of Zen's first models, unchanged).
"""
import numpy as np

from ..backend import DEFAULT_DTYPE
from ..nn import serialization
from ..nn.layer import Layer, build_probe, structure_changed
from ..nn.symbolic import SymbolicTensor
from .graph import InputLayer
from .model import Model


def _check_layer(layer):
    if not isinstance(layer, Layer):
        raise TypeError(f"Sequential expects Layer instances, received "
                        f"{type(layer).__name__}: {layer!r}")
    return layer


def _input_shape_of(item):
    """The input shape (batch axis first) that `item` sets if it is an
    `Input` (or its InputLayer); None for anything else."""
    if isinstance(item, SymbolicTensor) and item.node is not None:
        item = item.node.layer
    return item.shape if isinstance(item, InputLayer) else None


def _known_input_shape(layer):
    """The input shape a first layer brings: `input_shape=` given to it, or
    a built model's own (a single input)."""
    if layer.declared_input_shape is not None:
        return layer.declared_input_shape
    if isinstance(layer, Model) and layer.built and isinstance(layer.input_shape, tuple):
        return layer.input_shape
    return None


class Sequential(Model):
    """A linear stack of layers: `model(x)` runs them in order.

    Args:
        layers: a list of Layers (default: none yet; see `add`), optionally
            starting with a `zen.Input(shape)`, which sets the input shape
            and builds the model at once (it is not one of `layers`); so
            do `input_shape=` on the first layer and a built model first,
            as in Keras.
        name: shown by `summary()` (default "sequential").

    Shapes: whatever the first layer takes -> whatever the last one gives.
    The model builds at construction when it starts with an Input, else on
    its first call, or explicitly with `build(input_shape)`, the shape
    including the batch axis (None or any size there), e.g.
    `build((None, 784))`.

    Example:
        model = Sequential([zen.Input((784,)), Dense(128, activation="relu"), Dense(10)])
        model.summary()
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        model.fit(x_train, y_train, epochs=5)
    """

    def __init__(self, layers=None, name: str = None):
        super().__init__(name=name)
        self.layers = []
        self._output_shapes = []  # per layer, filled by build
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer; on a built model the new layer is built at once.
        An `Input` (only as the first item) sets the input shape and builds
        the model."""
        input_shape = _input_shape_of(layer)
        if input_shape is not None:
            return self._start_from_input(input_shape)
        self.layers.append(_check_layer(layer))
        structure_changed()
        if len(self.layers) == 1 and _known_input_shape(layer) is not None:
            self.build(_known_input_shape(layer))  # Dense(4, input_shape=(8,)), a built model
        elif self.built:
            last = self._output_shapes[-1] if self._output_shapes else self.input_shape
            try:
                self._output_shapes.extend(self._probe([layer], last))
            except Exception:
                self.layers.pop()  # a layer that cannot take the input is not added
                structure_changed()
                raise

    def _start_from_input(self, input_shape):
        if self.layers or self.built:
            already = f" (its input shape is already {self.input_shape})" if self.built else ""
            raise ValueError(f"An Input can only be the first item of Sequential model "
                             f"{self.name!r}, where it sets the input shape; received an "
                             f"Input of shape {input_shape} after {len(self.layers)} "
                             f"layer(s){already}")
        self.build(input_shape)

    # ----- building and calling ------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        """Build every layer for inputs of `input_shape` (batch axis included,
        None allowed there) and record each layer's output shape.

        The shapes come from running one all-zeros sample through the layers
        in inference mode without recording a graph, so every layer, whatever
        it computes, reports its true output shape and no statistics change.
        """
        if input_shape is None or len(input_shape) < 1:
            raise ValueError(f"Sequential.build expects an input shape with the batch "
                             f"axis first, e.g. (None, 784). Received: {input_shape!r}")
        self.input_shape = (None,) + tuple(None if n is None else int(n) for n in input_shape[1:])
        self._output_shapes = self._probe(self.layers, self.input_shape)
        self.built = True

    def _probe(self, layers, input_shape):
        """Output shapes of `layers` fed one after another from `input_shape`."""
        x = np.zeros([1 if n is None else n for n in input_shape], DEFAULT_DTYPE)
        shapes = []
        with build_probe():
            for layer in layers:
                layer_input = (None,) + tuple(x.shape[1:])
                try:
                    x = layer(x)
                except (ValueError, TypeError, IndexError) as error:
                    raise layer.call_error(layer_input, error) from None
                layer.input_shape = layer_input  # not the probe's batch of 1
                shapes.append((None,) + tuple(x.shape[1:]))
        return shapes

    def __call__(self, x, *args, **kwargs):
        if not hasattr(x, "shape"):
            x = np.asarray(x)  # lists of numbers
        return super().__call__(x, *args, **kwargs)

    def call(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def output_names(self) -> list:
        return [self.layers[-1].name] if self.layers else ["output"]

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], name={self.name!r})"

    # ----- configuration -----------------------------------------------------------
    def get_config(self) -> dict:
        """{"name", "layers": [{"class_name", "config"}, ...], "build_input_shape"}."""
        return {"name": self.name,
                "layers": [serialization.serialize(layer) for layer in self.layers],
                "build_input_shape": list(self.input_shape) if self.built else None}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict = None) -> "Sequential":
        """Rebuild the stack from `get_config()` (and build it, if it was
        built). `custom_objects`: {class name: class} for user classes the
        config names that are not registered."""
        layers = [serialization.deserialize(entry, custom_objects)
                  for entry in config.get("layers", [])]
        model = cls(layers, name=config.get("name"))
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model
