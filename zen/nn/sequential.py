"""`Sequential` (alias `Model`): a stack of layers, each fed the previous
one's output, with Keras's model API on top: build, summary, weights as a
list of arrays, a config that rebuilds the whole stack, and compile / fit /
evaluate / predict / save as thin calls into `zen.train.keras` and
`zen.nn.saving`.
"""
import re

import numpy as np

from ..backend import DEFAULT_DTYPE
from .layer import LAYERS, Layer, inference_mode


def _snake_case(name):
    """Keras's layer naming: "Conv2D" -> "conv2d", "MaxPool2D" -> "max_pool2d"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _check_layer(layer):
    if not isinstance(layer, Layer):
        raise TypeError(f"Sequential expects Layer instances, received "
                        f"{type(layer).__name__}: {layer!r}")
    return layer


class Sequential(Layer):
    """A linear stack of layers: `model(x)` runs them in order.

    Args:
        layers: a list of Layers (default: none yet; see `add`).
        name: shown by `summary()` (default "sequential").

    Shapes: whatever the first layer takes -> whatever the last one gives.
    The model builds on its first call, or explicitly with
    `build(input_shape)`, the shape including the batch axis (None or any
    size there), e.g. `build((None, 784))`.

    Example:
        model = Sequential([Dense(128, activation="relu"), Dense(10)])
        model.build((None, 784))
        model.summary()
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        model.fit(x_train, y_train, epochs=5)
    """

    def __init__(self, layers=None, name: str = None):
        super().__init__()
        self.name = "sequential" if name is None else str(name)
        self.layers = [_check_layer(layer) for layer in (layers or [])]
        self._output_shapes = []  # per layer, filled by build

    def add(self, layer: Layer) -> None:
        """Append a layer; on a built model the new layer is built at once."""
        self.layers.append(_check_layer(layer))
        if self.built:
            last = self._output_shapes[-1] if self._output_shapes else self.input_shape
            try:
                self._output_shapes.extend(self._probe([layer], last))
            except Exception:
                self.layers.pop()  # a layer that cannot take the input is not added
                raise

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
        with inference_mode(self):
            for layer in layers:
                layer_input = (None,) + tuple(x.shape[1:])
                x = layer(x)
                layer.input_shape = layer_input  # not the probe's batch of 1
                shapes.append((None,) + tuple(x.shape[1:]))
        return shapes

    def __call__(self, x, *args, **kwargs):
        if not hasattr(x, "shape"):
            x = np.asarray(x)  # lists of numbers
        return super().__call__(x, *args, **kwargs)

    def _check_input(self, shape):
        """Each layer checks its own input when called."""

    def call(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    # ----- inspection ---------------------------------------------------------------
    def _check_built(self, what):
        if not self.built:
            raise ValueError(f"This model has not yet been built, so {what} is not "
                             f"available. Build the model first by calling "
                             f"`build(input_shape)` or by calling the model on a batch "
                             f"of data.")

    def count_params(self) -> int:
        """The number of weights, trainable or not (as Keras counts them)."""
        self._check_built("count_params()")
        return super().count_params()

    def summary(self, print_fn=print) -> None:
        """Print a table of the layers (name and type, output shape, number of
        weights) and the totals, as Keras does."""
        self._check_built("summary()")
        names, counts = {}, []
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer, shape in zip(self.layers, self._output_shapes):
            base = _snake_case(type(layer).__name__)
            name = base if base not in names else f"{base}_{names[base]}"
            names[base] = names.get(base, 0) + 1
            counts.append(layer.count_params())
            rows.append((f"{name} ({type(layer).__name__})", str(shape), f"{counts[-1]:,}"))
        widths = [max(len(row[i]) for row in rows) + 3 for i in range(3)]
        width = sum(widths)

        def line(row):
            return "".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()

        trainable = sum(t.size for t in self.parameters())
        total = self.count_params()
        text = [f'Model: "{self.name}"', "_" * width, line(rows[0]), "=" * width]
        text += [line(row) for row in rows[1:]]
        text += ["=" * width, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                 f"Non-trainable params: {total - trainable:,}", "_" * width]
        print_fn("\n".join(text))

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], name={self.name!r})"

    # ----- weights ---------------------------------------------------------------
    def get_weights(self) -> list:
        """Copies of every weight (trainable or not), in `named_tensors` order."""
        return [t.value.copy() for _, t in self.named_tensors()]

    def set_weights(self, weights: list) -> None:
        """Copy arrays into the weights, in `get_weights` order. The count and
        every shape are checked before anything is written."""
        self._check_built("set_weights()")
        named = self.named_tensors()
        weights = list(weights)
        if len(weights) != len(named):
            raise ValueError(f"set_weights: the model has {len(named)} weights, "
                             f"received a list of {len(weights)} arrays")
        arrays = [np.asarray(w) for w in weights]
        for i, ((name, tensor), array) in enumerate(zip(named, arrays)):
            if array.shape != tensor.shape:
                raise ValueError(f"set_weights: weight {i} ({name!r}) has shape "
                                 f"{tensor.shape}, received an array of shape {array.shape}")
        for (_, tensor), array in zip(named, arrays):
            tensor.value[...] = array  # in place: Tensor ids (optimiser state) are kept

    # ----- configuration -----------------------------------------------------------
    def get_config(self) -> dict:
        """{"name", "layers": [{"class_name", "config"}, ...], "build_input_shape"}."""
        return {"name": self.name,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers],
                "build_input_shape": list(self.input_shape) if self.built else None}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        """Rebuild the stack from `get_config()` (and build it, if it was built)."""
        layers = []
        for entry in config.get("layers", []):
            class_name = entry.get("class_name")
            if class_name not in LAYERS:
                raise ValueError(f"Unknown layer class {class_name!r} in the model config; "
                                 f"known layers: {sorted(LAYERS)}")
            layers.append(LAYERS[class_name].from_config(entry.get("config", {})))
        model = cls(layers, name=config.get("name"))
        if config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model

    # ----- training and saving: thin calls into zen.train.keras and zen.nn.saving ---
    # (imported inside the methods: zen.train sits above zen.nn)
    def compile(self, optimizer, loss, metrics=None) -> None:
        """Set the optimizer (an instance or a name: "sgd", "adam", "adamw",
        "rmsprop", "adagrad"), the loss (an instance or a name) and metrics."""
        from ..train import keras
        return keras.compile(self, optimizer=optimizer, loss=loss, metrics=metrics)

    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, validation_data=None,
            shuffle=True, callbacks=None, verbose=1, initial_epoch=0):
        """Train in training mode on arrays; returns a `History`
        (see `zen.train.keras.fit`)."""
        from ..train import keras
        return keras.fit(self, x, y, epochs=epochs, batch_size=batch_size,
                         validation_split=validation_split, validation_data=validation_data,
                         shuffle=shuffle, callbacks=callbacks, verbose=verbose,
                         initial_epoch=initial_epoch)

    def train_on_batch(self, x, y):
        """One optimisation step on one batch; returns its loss (and metrics)."""
        from ..train import keras
        return keras.train_on_batch(self, x, y)

    def evaluate(self, x, y, batch_size=32, verbose=0) -> dict:
        """Loss and metrics, means over the samples, in inference mode."""
        from ..train import keras
        return keras.evaluate(self, x, y, batch_size=batch_size, verbose=verbose)

    def predict(self, x, batch_size=32, verbose=0) -> np.ndarray:
        """The model's outputs as an ndarray, computed in inference mode."""
        from ..train import keras
        return keras.predict(self, x, batch_size=batch_size, verbose=verbose)

    def save(self, path) -> None:
        """One file: architecture config, weights and optimizer state (no pickle)."""
        from . import saving
        return saving.save_model(self, path)

    def save_weights(self, path) -> None:
        """The weights alone, in one file."""
        from . import saving
        return saving.save_weights(self, path)

    def load_weights(self, path) -> None:
        """Load weights saved by `save_weights` (or `save`) into this built model."""
        from . import saving
        return saving.load_weights(self, path)


Model = Sequential
