"""`Sequential`: a Model that is a stack of layers, each fed the previous
one's output; it adds `add`, an explicit `build(input_shape)` and a config
listing the layers (the file format of Zen's first models, plus the
"input_dtype" of a starting `zen.Input`, which the model keeps: "string"
for raw text, an integer type for indices).
"""
import numpy as np

from ..backend import DEFAULT_DTYPE
from ..nn import serialization
from ..nn.layer import Layer, build_probe, structure_changed
from ..nn.masking import with_mask
from ..nn.symbolic import SymbolicTensor, numpy_dtype, placeholder
from .graph import InputLayer
from .model import Model


def _check_layer(layer):
    if not isinstance(layer, Layer):
        raise TypeError(f"Sequential expects Layer instances, received "
                        f"{type(layer).__name__}: {layer!r}")
    return layer


def _input_layer_of(item):
    """The InputLayer behind `item` if it is an `Input` (or its InputLayer);
    None for anything else."""
    if isinstance(item, SymbolicTensor) and item.node is not None:
        item = item.node.layer
    return item if isinstance(item, InputLayer) else None


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
            as in Keras. The model keeps that Input's dtype: a "string"
            Input takes raw text (for TextVectorization and the lookup
            layers), an integer one indices (for Embedding), in `fit`,
            `predict`, `evaluate` and a saved file alike.
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

        texts = Sequential([zen.Input(shape=(), dtype="string"), vectorize,
                            Embedding(20, 8), GlobalAveragePooling1D(), Dense(1)])
    """

    def __init__(self, layers=None, name: str = None):
        super().__init__(name=name)
        self.layers = []
        self._output_shapes = []  # per layer, filled by build
        self._output_dtypes = []  # per layer, filled by build
        self._input = None  # the symbolic tensor of a starting Input
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer; on a built model the new layer is built at once.
        An `Input` (only as the first item) sets the input shape and builds
        the model."""
        input_layer = _input_layer_of(layer)
        if input_layer is not None:
            return self._start_from_input(input_layer)
        self.layers.append(_check_layer(layer))
        structure_changed()
        if len(self.layers) == 1 and _known_input_shape(layer) is not None:
            self.build(_known_input_shape(layer))  # Dense(4, input_shape=(8,)), a built model
        elif self.built:
            last = (self._output_shapes[-1], self._output_dtypes[-1]) if self._output_shapes \
                else (self.input_shape, self.input_dtype)
            try:
                self._record_probe([layer], *last)
            except Exception:
                self.layers.pop()  # a layer that cannot take the input is not added
                structure_changed()
                raise

    def _start_from_input(self, input_layer):
        if self.layers or self.built:
            already = f" (its input shape is already {self.input_shape})" if self.built else ""
            raise ValueError(f"An Input can only be the first item of Sequential model "
                             f"{self.name!r}, where it sets the input shape; received an "
                             f"Input of shape {input_layer.shape} after {len(self.layers)} "
                             f"layer(s){already}")
        self._input = input_layer.output
        self.build(input_layer.shape)

    @property
    def input_dtype(self) -> str:
        """The dtype name of the model's inputs: its starting `Input`'s
        ("float32", "int32", "string", ...), else "float32"."""
        return self._input.node.layer.dtype if self._input is not None \
            else np.dtype(DEFAULT_DTYPE).name

    @property
    def inputs(self) -> list:
        """[the starting `Input`'s symbolic tensor], as in Keras; None for a
        model that did not start with one (its inputs are checked and cast
        against this tensor's shape and dtype in `fit`, `predict`, ...)."""
        return [self._input] if self._input is not None else None

    @property
    def input_names(self) -> list:
        """[the starting Input's name], or ["input"]."""
        return [self._input.node.layer.name] if self._input is not None else ["input"]

    # ----- building and calling ------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        """Build every layer for inputs of `input_shape` (batch axis included,
        None allowed there) and record each layer's output shape.

        The shapes come from running one all-zeros sample (of the input
        dtype: empty strings for "string") through the layers in inference
        mode without recording a graph, so every layer, whatever it
        computes, reports its true output shape and no statistics change.

        Args:
            input_shape: the shape of a batch, batch axis first.
        """
        if input_shape is None or len(input_shape) < 1:
            raise ValueError(f"Sequential.build expects an input shape with the batch "
                             f"axis first, e.g. (None, 784). Received: {input_shape!r}")
        self.input_shape = (None,) + tuple(None if n is None else int(n) for n in input_shape[1:])
        if self._input is not None and self._input.shape != self.input_shape:
            self._input = InputLayer(self.input_shape[1:], self.input_dtype).output
        self._output_shapes, self._output_dtypes = [], []
        self._record_probe(self.layers, self.input_shape, self.input_dtype)
        self.built = True

    def _record_probe(self, layers, input_shape, dtype):
        """Append the output shapes and dtypes of `layers` fed one after
        another from inputs of `input_shape` and `dtype`."""
        shapes, dtypes = self._probe(layers, input_shape, dtype)
        self._output_shapes.extend(shapes)
        self._output_dtypes.extend(dtypes)

    def _probe(self, layers, input_shape, dtype=DEFAULT_DTYPE):
        """(output shapes, output dtypes) of `layers` fed one after another
        from a placeholder of `input_shape` and `dtype`."""
        x = placeholder(SymbolicTensor(input_shape, numpy_dtype(dtype)), 1)
        shapes, dtypes = [], []
        with build_probe():
            for layer in layers:
                layer_input = (None,) + tuple(x.shape[1:])
                try:
                    x = layer(x)
                except (ValueError, TypeError, IndexError) as error:
                    raise layer.call_error(layer_input, error) from None
                layer.input_shape = layer_input  # not the probe's batch of 1
                shapes.append((None,) + tuple(x.shape[1:]))
                dtypes.append(np.dtype(x.dtype))
        return shapes, dtypes

    def __call__(self, x, *args, **kwargs):
        if not hasattr(x, "shape"):
            x = np.asarray(x)  # lists of numbers
        return super().__call__(x, *args, **kwargs)

    def call(self, x, mask=None):
        """The layers in turn; `mask`: the input's mask (by default the one it
        carries, see zen.nn.masking)."""
        x = with_mask(x, mask)
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
        """{"name", "layers": [{"class_name", "config"}, ...], "build_input_shape"},
        and "input_dtype" where a starting Input set one."""
        config = {"name": self.name,
                  "layers": [serialization.serialize(layer) for layer in self.layers],
                  "build_input_shape": list(self.input_shape) if self.built else None}
        if self._input is not None:
            config["input_dtype"] = self.input_dtype
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict = None) -> "Sequential":
        """Rebuild the stack from `get_config()` (and build it, if it was
        built). `custom_objects`: {class name: class} for user classes the
        config names that are not registered."""
        layers = [serialization.deserialize(entry, custom_objects)
                  for entry in config.get("layers", [])]
        model = cls(layers, name=config.get("name"))
        shape = config.get("build_input_shape")
        if config.get("input_dtype") is not None and shape is not None:
            model._input = InputLayer(shape[1:], config["input_dtype"]).output
        if shape is not None:
            model.build(tuple(shape))
        return model
