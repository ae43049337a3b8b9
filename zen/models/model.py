"""`Model`: a Layer with Keras's model API (compile, fit, evaluate, predict,
summary, weights, save), in two flavours.

- Subclassing: layers assigned in `__init__` (directly, in lists or in
  dicts) are tracked; `call(inputs)` says what the model computes, on one
  tensor, a list or a dict.

      class Net(zen.Model):
          def __init__(self):
              super().__init__()
              self.hidden = Dense(64, activation="relu")
              self.out = Dense(10)

          def call(self, x):
              return self.out(self.hidden(x))

- Functional: `Model(inputs, outputs)` over a graph of layers called on
  `zen.Input`s (see `zen.models.graph`).

      inputs = zen.Input((784,))
      model = zen.Model(inputs, Dense(10)(Dense(64, activation="relu")(inputs)))

The training methods are thin calls into `zen.models.training`, the files
into `zen.models.saving`, the table into `zen.models.summary`.
"""
import numpy as np

from .. import tree
from ..nn.layer import Layer, as_shape, build_probe, unique_name, zeros_for_shape
from ..nn.masking import with_mask
from ..train.objective import Objective
from ..validation import is_int
from . import onnx_export, saving, summary, training
from .graph import Graph

__all__ = ["Model"]


class Model(Layer):
    """The base of every model: subclass it, or call it as
    `Model(inputs, outputs, name=None)` for a functional model.

    Args:
        inputs: (functional) a symbolic tensor from `zen.Input`, a list or
            a dict of them.
        outputs: (functional) symbolic tensors computed from `inputs`, one,
            a list or a dict (by output name).
        name: the model's name (default: "functional" for a functional
            model, the snake_case of the class for a subclass).

    `distribute_strategy` is the `distribute=` of the last `fit` (None when
    it trained in this process alone), as in Keras.
    """

    distribute_strategy = None

    def __init__(self, inputs=None, outputs=None, name: str = None):
        functional = inputs is not None or outputs is not None
        if name is None and functional:
            name = unique_name("functional")
        super().__init__(name)
        self._graph = None
        if functional:
            if inputs is None or outputs is None:
                raise ValueError("A functional Model needs both `inputs` and `outputs`: "
                                 "zen.Model(inputs, outputs)")
            self._graph = Graph(inputs, outputs)
            self.layers = list(self._graph.layers)
            shapes = [t.shape for t in self._graph.input_list]
            self.input_shape = shapes[0] if len(shapes) == 1 else shapes
            self.built = True

    # ----- calling ---------------------------------------------------------------------
    def call(self, inputs, mask=None):
        """Run the graph (a functional model). `mask`: the inputs' masks, in
        their structure (by default the masks the inputs carry, see
        zen.nn.masking)."""
        if self._graph is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no call(): subclass zen.Model and define "
                f"call(self, inputs), or build a functional model with "
                f"zen.Model(inputs, outputs)")
        values = self._input_values(inputs)
        if mask is not None:
            masks = tree.as_list(mask, self.input_names, f"The mask of model {self.name!r}",
                                 "inputs") if len(values) > 1 else [mask]
            values = [with_mask(value, m) for value, m in zip(values, masks)]
        return self._graph.run(values)

    def _input_values(self, inputs) -> list:
        """A functional model's inputs as a list in input order, each checked
        against its Input's shape."""
        names = self.input_names
        values = tree.as_list(inputs, names, f"The input of model {self.name!r}", "inputs")
        for name, value, tensor in zip(names, values, self._graph.input_list):
            _check_input_shape(self.name, name, value, tensor)
        return values

    checks_input_shape = False  # per input in `_input_values` (functional), or by the layers

    # ----- structure -------------------------------------------------------------------
    @property
    def inputs(self) -> list:
        """The symbolic input tensors of a model built as a graph (None otherwise)."""
        return list(self._graph.input_list) if self._graph else None

    @property
    def outputs(self) -> list:
        """The symbolic output tensors of a model built as a graph (None otherwise)."""
        return list(self._graph.output_list) if self._graph else None

    @property
    def input_names(self) -> list:
        """The inputs' names (their dict keys, or their Input layers' names);
        ["input"] for a model without a graph."""
        return self._graph.input_names() if self._graph else ["input"]

    @property
    def output_names(self):
        """The names History and `compile` use for the outputs (functional
        models; None for a subclassed model: named at its first batch)."""
        return self._graph.output_names() if self._graph else None

    def _check_built(self, what):
        if not self.built:
            raise ValueError(f"This model has not yet been built, so {what} is not "
                             f"available. Build the model first by calling "
                             f"`build(input_shape)` or by calling the model on a batch "
                             f"of data.")

    def build(self, input_shape) -> None:
        """Build a subclassed model for `input_shape` (batch axis first; a
        list of shapes for several inputs, or a dict of them for a `call`
        that reads a dict) by calling it once on zeros, in inference mode
        without a graph. A functional model is built already."""
        if self.built or input_shape is None:
            return
        if isinstance(input_shape, dict):
            shape = {key: as_shape(value) for key, value in input_shape.items()}
        else:
            shape = as_shape(input_shape)
        self.built = True  # so that the call below does not come back here
        try:
            with build_probe():
                self.call(zeros_for_shape(shape))
        except BaseException:
            self.built = False
            raise
        self.input_shape = shape if isinstance(shape, (list, dict)) else (None,) + shape[1:]

    def count_params(self) -> int:
        """The number of weights, trainable or not (as Keras counts them);
        a layer shared by several calls or nested models counts once."""
        self._check_built("count_params()")
        return super().count_params()

    def summary(self, print_fn=print, line_length=None) -> None:
        """Print Keras's table: each layer's name and type, output shape and
        number of weights (and, for a functional model, what it is connected
        to), then the totals."""
        self._check_built("summary()")
        print_fn(summary.table(self))

    # ----- weights -----------------------------------------------------------------------
    def set_weights(self, weights: list) -> None:
        self._check_built("set_weights()")
        super().set_weights(weights)

    # ----- configuration ---------------------------------------------------------------
    def get_config(self) -> dict:
        if self._graph is None:
            return {}  # a subclass that should be saved defines get_config
        return {"name": self.name, **self._graph.get_config()}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict = None) -> "Model":
        """The model `get_config` describes; `custom_objects` ({class name:
        class}) supplies user classes a functional config names."""
        if "nodes" in config or cls is Model:  # a Model of its own is functional
            graph = Graph.from_config(config, custom_objects)
            return cls(graph.inputs, graph.outputs, name=config.get("name"))
        return cls(**config)

    def __repr__(self):
        if self._graph is None:
            return super().__repr__()
        return (f"Model(inputs={self.input_names}, outputs={self.output_names}, "
                f"name={self.name!r})")

    # ----- training (zen.models.training) ------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None) -> None:
        """Set the optimizer (an instance or a name: "sgd", "adam", "adamw",
        "rmsprop", "adagrad"), the loss (an instance, a name, or a function
        `loss(y_true, y_pred)`), metrics and weighted metrics; for several
        outputs `loss`, `metrics` and `loss_weights` may be one value, a list
        in output order or a dict by output name."""
        training.compile(self, optimizer=optimizer, loss=loss, metrics=metrics,
                         loss_weights=loss_weights, weighted_metrics=weighted_metrics)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, distribute=None):
        """Train in training mode on arrays or a data source; returns a
        `History` (Keras's arguments; see `zen.models.training.fit`)."""
        return training.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                            callbacks=callbacks, validation_split=validation_split,
                            validation_data=validation_data, shuffle=shuffle,
                            class_weight=class_weight, sample_weight=sample_weight,
                            initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                            validation_steps=validation_steps,
                            validation_batch_size=validation_batch_size,
                            validation_freq=validation_freq, distribute=distribute)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, sample_weight=None,
                 steps=None, return_dict=False):
        """Loss and metrics, means over the samples, in inference mode: the
        loss alone without metrics, else `[loss, *metrics]` (Keras), or a dict
        with `return_dict=True`."""
        return training.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                 sample_weight=sample_weight, steps=steps,
                                 return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """The model's outputs as an ndarray (a list or dict of them for
        several outputs), computed in inference mode."""
        return training.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimisation step on one batch; returns its loss (and metrics)
        as `evaluate` does."""
        return training.train_on_batch(self, x, y, sample_weight=sample_weight,
                                       class_weight=class_weight, return_dict=return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) of one batch, in inference mode."""
        return training.test_on_batch(self, x, y, sample_weight=sample_weight,
                                      return_dict=return_dict)

    def predict_on_batch(self, x):
        """The outputs for one batch, in inference mode."""
        return training.predict_on_batch(self, x)

    @property
    def metrics_names(self) -> list:
        """The names of `evaluate`'s values, in order: "loss", each output's
        loss (several outputs), then the metrics ([] before `compile`)."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            return []
        objective = trainer.objective
        if objective.names is None:  # a subclassed model before its first batch: one output
            objective = Objective(objective.loss_spec, objective.metric_spec,
                                  objective.weight_spec, objective.weighted_metric_spec)
            objective.resolve(["output"])
        return objective.log_names

    def get_layer(self, name: str = None, index: int = None) -> Layer:
        """A layer of the model by its name or its index in `layers`
        (Keras's `get_layer`)."""
        layers = getattr(self, "layers", None) or self.sublayers()
        if (name is None) == (index is None):
            raise ValueError(f"Provide either a layer name or a layer index, not both or "
                             f"neither. Received: name={name!r}, index={index!r}")
        if index is not None:
            if not is_int(index) or not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index!r} but model "
                                 f"{self.name!r} only has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")

    # ----- files (zen.models.saving) -------------------------------------------------------
    def to_json(self, **kwargs) -> str:
        """The model's architecture as JSON text (no weights), which
        `zen.models.model_from_json` turns back into a model."""
        return saving.to_json(self, **kwargs)

    def save(self, path, trainer=None) -> None:
        """One file: architecture config, weights and optimizer state (no
        pickle). `trainer`: whose optimizer state to save (default the one
        `compile` set up). A path ending in ".keras" gets Keras 3's format
        (optional `h5py`), any other (".zen") Zen's own."""
        saving.save_model(self, path, trainer=trainer)

    def save_weights(self, path) -> None:
        """The weights alone, in one file (safetensors for a path ending in
        ".safetensors", else Zen's container)."""
        saving.save_weights(self, path)

    def load_weights(self, path) -> None:
        """Load weights saved by `save_weights` (or `save`) into this model;
        a ".safetensors" path is read as safetensors."""
        saving.load_weights(self, path)

    def export(self, path, format: str = "onnx", opset: int = 17) -> None:  # noqa: A002
        """Write the model for another runtime, as Keras 3's `export`: with
        `format="onnx"` (the one Zen has; the optional extra `zen[onnx]`) an
        ONNX graph with a dynamic batch axis, in inference mode (see
        `zen.models.onnx_export`). A layer that cannot be exported is a
        ValueError naming it, and nothing is written.

        Example:
            model.export("model.onnx", format="onnx")
        """
        if format != "onnx":
            raise ValueError(f"Received an invalid value for `format`: Zen exports "
                             f"format='onnx'. Received: format={format!r}")
        onnx_export.export_onnx(self, path, opset=opset)


def _check_input_shape(model, name, value, tensor):
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    expected = tensor.shape
    if len(shape) != len(expected) or any(
            e is not None and s != e for s, e in zip(shape[1:], expected[1:])):
        raise ValueError(f"Input {name!r} of model {model!r} expects shape {expected}, "
                         f"received an input of shape {tuple(shape)}")
