"""Keras 3's model configs (the `config.json` of a `.keras` file) to Zen's
layers and back; `zen.models.keras_format` reads and writes the files.

A Keras layer entry is `{"module", "class_name", "config", "registered_name",
"build_config", "name", "inbound_nodes"}`, its config the layer's
`get_config()` plus "name", "trainable" and a dtype policy. Zen's layers take
the same arguments by the same names, so an entry becomes a Zen layer by
dropping Keras's bookkeeping keys; a Keras option that Zen lacks is accepted
only at the value that makes it a no-op (e.g. `groups=1`), anything else is
a ValueError naming the layer, the option and its value: a model is loaded
whole or not at all. Keras's op nodes (`x != 0`, the masks it records),
layers holding layers (Bidirectional, TimeDistributed, RNN(cell)) and
MultiHeadAttention's weight groups are translated by
`zen.models.keras_layers`.
"""
import inspect

import numpy as np

from .. import constraints, regularizers
from ..nn import initializers, serialization
from ..nn.layer import LAYERS, Layer, check_name
from ..nn.operators import TensorOperation
from ..nn.symbolic import SymbolicTensor
from ..tree import flatten, map_structure
from .graph import Input, InputLayer
from .keras_layers import (NESTED_KEYS, bookkeeping, is_operation_entry, nested_from_keras,
                           nested_to_keras, operation_entry, operation_from_keras,
                           policy_name, snake_case, unique_name, with_vocabulary, ASSETS)
from .model import Model
from .sequential import Sequential

__all__ = ["model_from_keras", "layer_from_keras", "keras_entry", "keras_layers",
           "keras_class_name", "ordered_layers", "snake_case", "KerasModel"]

MAX_DEPTH = 32
"""How deep models may nest in models in a config (deeper: a ValueError)."""
MAX_LAYERS = 10_000
"""How many layers one model config may hold."""
MAX_CALLS = 10_000
"""How many layer calls one functional config may hold (Zen's graph limit)."""
MAX_ATTEMPTS = 200_000
"""How many call attempts replaying a functional config's calls may take."""
_ANY = object()          # an option whose value never changes what Zen computes
_FLOAT_POLICY = {"module": "keras", "class_name": "DTypePolicy",
                 "config": {"name": "float32"}, "registered_name": None}
# Keras options Zen's layers lack, with the values at which they change nothing
_KERAS_ONLY = {
    "data_format": ("channels_last",), "dilation_rate": (1, [1], [1, 1]), "groups": (1,),
    "center": (True,), "scale": (True,), "synchronized": (False,), "renorm": (False,),
    "renorm_clipping": (None,), "renorm_momentum": _ANY, "rms_scaling": (False,),
    "beta_initializer": _ANY, "gamma_initializer": _ANY, "moving_mean_initializer": _ANY,
    "moving_variance_initializer": _ANY, "beta_regularizer": (None,),
    "gamma_regularizer": (None,), "beta_constraint": (None,), "gamma_constraint": (None,),
    "quantization_config": (None,), "lora_rank": (None,), "lora_alpha": (None,),
    "seed": _ANY, "noise_shape": (None,), "sparse": (False,),
    "ragged": (False,), "unroll": (False,), "zero_output_for_mask": (False,),
    "use_cudnn": ("auto",), "input_length": (None,), "activity_regularizer": (None,),
    "axis": (-1, [-1]), "padding": ("valid",), "keepdims": (False,),
    "output_padding": (None,),
    "use_gate": (False,), "attention_axes": (None, [1]), "sliding_window": (None,),
    "kernel_regularizer": (None,), "bias_regularizer": (None,),
    "kernel_constraint": (None,), "bias_constraint": (None,),
    "vocabulary_size": _ANY, "oov_method": ("floormod",),
}
_KERAS_BOOKKEEPING = ("name", "trainable", "dtype")
# Zen's short class names -> Keras's
_KERAS_NAMES = {"BatchNorm": "BatchNormalization", "LayerNorm": "LayerNormalization",
                "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
                "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
                "GlobalAvgPool1D": "GlobalAveragePooling1D",
                "GlobalAvgPool2D": "GlobalAveragePooling2D",
                "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D"}
# Zen layers that Keras 3 has under the same class name (keras.layers)
_KERAS_LAYERS = frozenset(
    "Activation Add Average AveragePooling1D AveragePooling2D BatchNormalization "
    "CategoryEncoding CenterCrop Concatenate Conv1D Conv2D Conv2DTranspose "
    "Dense Dropout ELU Embedding Flatten GRU GlobalAveragePooling1D "
    "GlobalAveragePooling2D GlobalMaxPooling1D GlobalMaxPooling2D Identity LSTM "
    "LayerNormalization LeakyReLU Masking MaxPooling1D MaxPooling2D Maximum Minimum "
    "Multiply PReLU Permute ReLU RepeatVector Rescaling Reshape "
    "SimpleRNN Softmax Subtract UpSampling2D ZeroPadding2D "
    "Bidirectional TimeDistributed MultiHeadAttention RNN SimpleRNNCell LSTMCell GRUCell "
    "StackedRNNCells Normalization Discretization StringLookup IntegerLookup "
    "TextVectorization Hashing".split())
# Layers both have whose .keras form (nested layer configs, lazily built
# sublayers, vocabulary assets, constructor quirks) Zen does not translate yet
_NOT_YET = frozenset("RandomContrast RandomCrop RandomFlip RandomRotation RandomTranslation "
                     "RandomZoom Resizing".split())
_REFUSED = {"Lambda": "a Lambda layer holds Python code, which Zen never runs from a file",
            "TFSMLayer": "it wraps a TensorFlow SavedModel"}


# ----- Keras -> Zen -----------------------------------------------------------------------
class KerasModel:
    """A Zen model rebuilt from a Keras config, with `layers`: for each layer
    (and nested model) the h5 group path of its weights and the Zen layer,
    in Keras's order.

    Args:
        model: the Zen model.
        layers: [(h5 group path, layer or nested model)].
    """

    def __init__(self, model, layers):
        self.model, self.layers = model, layers


def model_from_keras(entry, custom_objects=None, assets=None) -> KerasModel:
    """The Zen model a Keras model entry describes (Sequential or Functional,
    models nested in them), built; ValueError for anything Zen cannot
    represent.

    Args:
        entry: the parsed `config.json` of a `.keras` file.
        custom_objects: {class name: class} for the user's layer classes it
            names that are not registered (default: none).
        assets: finds an adapted vocabulary layer's state: (h5 group path)
            -> (its vocabulary.txt bytes or None, its idf weights or None);
            None: the file has none.
    """
    token = ASSETS.set(assets)
    try:
        with serialization.custom_object_scope(custom_objects):
            layers = []
            model = _model(entry, "", layers, depth=0)
    finally:
        ASSETS.reset(token)
    return KerasModel(model, layers)


def _model_alone(entry, path, layers, depth):
    if depth > MAX_DEPTH:
        raise ValueError(f"The Keras config nests models more than {MAX_DEPTH} deep")
    class_name, config = _class_and_config(entry)
    if class_name == "Sequential":
        return _sequential(config, path, layers, depth)
    if class_name in ("Functional", "Model") and "layers" in config:
        return _functional(config, path, layers, depth)
    raise ValueError(f"Zen cannot load a Keras model of class {class_name[:100]!r}: only "
                     f"Sequential and functional models have a config to rebuild from")


def _model(entry, path, layers, depth):
    """A Keras model entry as a Zen model, with its name and trainable flag."""
    model = _model_alone(entry, path, layers, depth)
    _set_name_and_trainable(model, entry)
    return model


def _class_and_config(entry):
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict) \
            or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"Expected a Keras entry {{'class_name', 'config', ...}}. "
                         f"Received: {entry!r}"[:300])
    return entry["class_name"], entry["config"]


def _layer_entries(config):
    entries = config.get("layers")
    if not isinstance(entries, list) or len(entries) > MAX_LAYERS:
        raise ValueError(f"A Keras model config needs a list 'layers' of at most "
                         f"{MAX_LAYERS:,} entries. Received: {type(entries).__name__}")
    return entries


def _is_model_entry(entry):
    return isinstance(entry, dict) and entry.get("class_name") in (
        "Sequential", "Functional", "Model") and isinstance(entry.get("config"), dict) \
        and "layers" in entry["config"]


def _child(entry, path, used, layers, depth):
    """The Zen layer (or nested model) of one entry, its weights' group
    recorded under `path/layers/<snake_case class>` as Keras names it."""
    group = unique_name(snake_case(_keras_class(entry)), used)
    child_path = f"{path}layers/{group}"
    if _is_model_entry(entry):
        here = len(layers)
        layers.append(None)  # the model's own group (empty "vars"), before its layers'
        model = _model(entry, child_path + "/", layers, depth + 1)
        layers[here] = (child_path, model)
        return model
    layer = layer_from_keras(with_vocabulary(entry, child_path))
    layers.append((child_path, layer))
    return layer


def _keras_class(entry):
    return "Functional" if entry.get("class_name") == "Model" else entry.get("class_name")


def _sequential(config, path, layers, depth):
    entries = _layer_entries(config)
    used, children, start = {}, [], None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            start = _input(entry)
            continue
        children.append(_child(entry, path, used, layers, depth))
    shape = config.get("build_input_shape")
    model = Sequential(([start] if start is not None else []) + children,
                       name=_name(config.get("name")))
    if start is None and shape is not None:
        model.build(tuple(_shape(shape)))
    if not model.built:
        raise ValueError(f"The Keras Sequential model {model.name!r} has no input shape "
                         f"(no InputLayer and no build_input_shape): Zen cannot build it")
    return model


def _input(entry):
    _, config = _class_and_config(entry)
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and config.get("shape") is not None:
        shape = [None] + list(config["shape"])
    shape = _shape(shape)
    for option in ("sparse", "ragged", "optional"):
        if config.get(option, False) is not False:
            _unsupported("InputLayer", config.get("name"), option, config[option])
    return Input(tuple(shape[1:]), name=_name(config.get("name")),
                 dtype=_dtype_name(config.get("dtype", "float32"), config.get("name")))


def _shape(shape):
    if not isinstance(shape, list) or not all(
            n is None or (isinstance(n, int) and not isinstance(n, bool) and 0 < n < 2 ** 31)
            for n in shape) or len(shape) > 16:
        raise ValueError(f"Expected a batch shape (a list of positive sizes or null). "
                         f"Received: {shape!r}"[:300])
    return shape


def _name(name):
    return None if name is None else check_name(name)


def _dtype_name(dtype, layer_name, policy_name="float32"):
    """The dtype of a dtype policy (only `policy_name`, "float32"
    computations but for a Hashing's "int64") or a name."""
    if isinstance(dtype, dict):
        policy = (dtype.get("config") or {}).get("name") if isinstance(
            dtype.get("config"), dict) else None
        if policy != policy_name:
            raise ValueError(f"Layer {str(layer_name)[:100]!r}: Zen computes in float32; "
                             f"the dtype policy {policy!r} is not supported"[:300])
        return policy
    if not isinstance(dtype, str):
        raise ValueError(f"Layer {str(layer_name)[:100]!r}: expected a dtype name. "
                         f"Received: {dtype!r}"[:300])
    return dtype


def _functional(config, path, layers, depth):
    entries = _layer_entries(config)
    used, made, operations = {}, {}, {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError(f"Expected a Keras layer entry. Received: {entry!r}"[:300])
        name = entry.get("name", (entry.get("config") or {}).get("name"))
        if not isinstance(name, str) or name in made:
            raise ValueError(f"Each layer of a Keras functional config needs a unique "
                             f"name. Received: {name!r}"[:300])
        if entry.get("class_name") == "InputLayer":
            made[name] = ("input", _input(entry))
        elif is_operation_entry(entry):  # an op: no weights, no h5 group
            operation, operations[name] = operation_from_keras(entry)
            made[name] = ("layer", operation)
        else:
            made[name] = ("layer", _child(entry, path, used, layers, depth))
    entries = [dict(e, inbound_nodes=[operations[e["name"]]]) if is_operation_entry(e)
               else e for e in entries]  # an op's call: its tensor arguments only
    outputs = _replay_calls(entries, made)
    model = Model(_endpoints(config.get("input_layers"), outputs, "input_layers"),
                  _endpoints(config.get("output_layers"), outputs, "output_layers"),
                  name=_name(config.get("name")))
    return model


def _replay_calls(entries, made):
    """Call each layer on the tensors its inbound nodes name, in passes until
    every call is made: {(layer name, node index): [output tensors]}. A call
    that never becomes possible (a cycle, a dangling reference) is refused."""
    outputs = {(name, 0): [tensor] for name, (kind, tensor) in made.items()
               if kind == "input"}
    pending = []
    for entry in entries:
        if entry.get("class_name") != "InputLayer":
            nodes = entry.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise ValueError(f"'inbound_nodes' of layer {entry['name']!r} is not a list")
            pending += [(entry["name"], i, node) for i, node in enumerate(nodes)]
    if len(pending) > MAX_CALLS:
        raise ValueError(f"The Keras config makes {len(pending):,} layer calls, more than "
                         f"the {MAX_CALLS:,} a Zen graph may have")
    attempts = 0
    while pending:
        attempts += len(pending)
        if attempts > MAX_ATTEMPTS:  # a hostile order would make this quadratic
            raise ValueError("The Keras config's layer calls are too far out of order "
                             "to replay")
        waiting = []
        for name, index, node in pending:
            args = _call_arguments(node, outputs, name, made[name][1])
            if args is None:
                waiting.append((name, index, node))
                continue
            result = made[name][1](*args[0], **args[1])
            outputs[(name, index)] = flatten(result)
        if len(waiting) == len(pending):
            raise ValueError(f"The Keras config's layer graph has a cycle or a reference "
                             f"to a tensor no layer produces (at layer {waiting[0][0]!r})"[:300])
        pending = waiting
    return outputs


def _call_arguments(node, outputs, layer_name, layer):
    """(args, kwargs) of one call, None while an input is not made yet; a
    keyword (`mask=`, `initial_state=`, ...) only where the layer's `call`
    takes it."""
    if not isinstance(node, dict) or not isinstance(node.get("args", []), list) \
            or not isinstance(node.get("kwargs", {}), dict):
        raise ValueError(f"Layer {layer_name!r}: expected an inbound node "
                         f"{{'args', 'kwargs'}}. Received: {node!r}"[:300])
    missing = []

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            found = _history(history, outputs)
            if found is None:
                missing.append(history)
            return found
        if isinstance(value, list):
            return [resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return value

    args = resolve(list(node.get("args", [])))
    kwargs, accepted = {}, inspect.signature(layer.call).parameters
    for key, value in node.get("kwargs", {}).items():
        if key == "training" or value is None:
            continue  # Zen's call decides training; None is every option's default
        if key in accepted and key not in ("self", "training"):
            kwargs[key] = resolve(value)
            continue
        raise ValueError(f"Layer {layer_name!r} is called with {key}={value!r} in the "
                         f"Keras config, which Zen does not support"[:300])
    return None if missing else (args, kwargs)


def _history(history, outputs):
    if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                    for i in history[1:])):
        raise ValueError(f"Expected a keras_history [layer, node, tensor]. Received: "
                         f"{history!r}"[:300])
    produced = outputs.get((history[0], history[1]))
    if produced is None:
        return None
    if history[2] >= len(produced):
        raise ValueError(f"keras_history {history!r} names an output that layer "
                         f"{history[0]!r} does not have"[:300])
    return produced[history[2]]


def _endpoints(spec, outputs, what):
    """The model's inputs or outputs: one [name, node, tensor], a list or a
    dict of them."""
    if isinstance(spec, list) and spec and isinstance(spec[0], str):
        found = _history(spec, outputs)
        if found is None:
            raise ValueError(f"'{what}' names {spec!r}, which no layer produces"[:300])
        return found
    if isinstance(spec, list) and spec:
        return [_endpoints(item, outputs, what) for item in spec]
    if isinstance(spec, dict) and spec:
        return {str(key): _endpoints(item, outputs, what) for key, item in spec.items()}
    raise ValueError(f"Expected '{what}' as [layer, node, tensor] entries. Received: "
                     f"{spec!r}"[:300])


def layer_from_keras(entry) -> Layer:
    """The Zen layer a Keras layer entry describes (not built); ValueError
    naming the class, option or value Zen does not have.

    Args:
        entry: the layer's entry in a Keras model config.
    """
    class_name, config = _class_and_config(entry)
    name = config.get("name", entry.get("name"))
    cls = _zen_class(class_name, entry)
    nested = nested_from_keras(class_name, config, layer_from_keras)
    zen_config = {}
    parameters = inspect.signature(cls.__init__).parameters
    for key, value in config.items():
        if key in _KERAS_BOOKKEEPING or key in nested:
            continue
        if key in parameters and key != "self" or (
                key == "zero_output_for_mask" and hasattr(cls, key)):
            zen_config[key] = value
            continue
        allowed = _KERAS_ONLY.get(key)
        if allowed is _ANY or (allowed is not None and value in allowed):
            continue
        _unsupported(class_name, name, key, value)
    _dtype_name(config.get("dtype", "float32"), name, policy_name(class_name, config))
    try:
        zen_config = {key: _zen_value(key, value) for key, value in zen_config.items()}
        layer = cls(**zen_config, **nested) if nested else cls.from_config(zen_config)
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"Keras layer {str(name)[:100]!r} ({class_name}) has a config "
                         f"Zen's {class_name} does not accept: {error}"[:500]) from None
    _set_name_and_trainable(layer, {"name": name, "config": config})
    return layer


def _zen_class(class_name, entry):
    if class_name in _REFUSED:
        raise ValueError(f"Zen cannot load the Keras layer class {class_name!r}: "
                         f"{_REFUSED[class_name]}")
    module = entry.get("module")
    if class_name in _NOT_YET:
        raise ValueError(_not_yet(class_name, "loaded from"))
    if isinstance(module, str) and module.startswith("keras"):
        cls = LAYERS.get(class_name) if class_name in _KERAS_LAYERS else None
        if cls is None or issubclass(cls, Model):
            raise ValueError(f"Zen has no layer for the Keras layer class "
                             f"{class_name[:100]!r}, so the model cannot be loaded")
        return cls
    return serialization.layer_class(entry.get("registered_name") or class_name, module)


def _not_yet(class_name, verb):
    return (f"Zen and Keras both have {class_name}, but Zen does not yet translate its "
            f".keras form, so a model holding one cannot be {verb} a .keras file (save "
            f"it as .zen)")


def _zen_value(key, value):
    """A Keras config value as Zen's layers take it: an initializer's,
    regularizer's or constraint's entry `{"module", "class_name", "config",
    ...}` becomes Zen's object."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        spec = {"class_name": value["class_name"], "config": value["config"]}
        kind = key.rpartition("_")[2]
        getter = {"initializer": initializers.get, "regularizer": regularizers.get,
                  "constraint": constraints.get}.get(kind)
        return getter(spec) if getter is not None else spec
    return value


def _unsupported(class_name, name, key, value):
    raise ValueError(f"Keras layer {str(name)[:100]!r} ({class_name}) sets {key}="
                     f"{value!r}, which Zen's {class_name} does not support"[:400])


def _set_name_and_trainable(layer, entry):
    config = entry.get("config") or {}
    name = config.get("name", entry.get("name"))
    if name is not None:
        layer.name = check_name(name)
    trainable = config.get("trainable", True)
    if trainable is not True:
        if trainable is not False:
            raise ValueError(f"'trainable' of layer {name!r} must be true or false. "
                             f"Received: {trainable!r}"[:300])
        layer._set_trainable_alone(False)


# ----- Zen -> Keras -----------------------------------------------------------------------
def keras_entry(model) -> dict:
    """The Keras config entry of a Zen Sequential or functional model;
    ValueError for a subclassed model or a layer Keras has no counterpart of.

    Args:
        model: the model (a Sequential built, or functional).
    """
    if isinstance(model, Sequential):
        return _sequential_entry(model)
    if getattr(model, "_graph", None) is not None:
        return _functional_entry(model)
    raise ValueError(f"Model {model.name!r} ({type(model).__name__}) is a subclassed "
                     f"model: a .keras file can only hold Sequential and functional "
                     f"models. Save it as .zen instead.")


def keras_layers(model, path="") -> list:
    """[(h5 group path, layer or nested model)] in Keras's order: the order
    in which Keras walks the model's weights.

    Args:
        model: a Sequential or functional model.
        path: the group path of `model` itself, ending in "/" ("" at the top).
    """
    found, used = [], {}
    for layer in ordered_layers(model):
        if isinstance(layer, InputLayer) and isinstance(model, Sequential) \
                or isinstance(layer, TensorOperation):  # Keras's ops have no weights
            continue
        group = f"{path}layers/{unique_name(snake_case(keras_class_name(layer)), used)}"
        if isinstance(layer, Model):
            found.append((group, layer))
            found += keras_layers(layer, group + "/")
        else:
            found.append((group, layer))
    return found


def keras_class_name(layer) -> str:
    """Keras's class name for a Zen layer; ValueError where Keras has none.

    Args:
        layer: the layer or model.
    """
    if isinstance(layer, Sequential):
        return "Sequential"
    if isinstance(layer, Model):
        return "Functional"
    if isinstance(layer, InputLayer):
        return "InputLayer"
    name = type(layer).__name__
    name = _KERAS_NAMES.get(name, name)
    if name in _NOT_YET:
        raise ValueError(f"Layer {layer.name!r}: " + _not_yet(name, "saved in"))
    if LAYERS.get(type(layer).__name__) is not type(layer) or name not in _KERAS_LAYERS:
        raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) has no Keras "
                         f"counterpart, so the model cannot be saved as .keras; save it "
                         f"as .zen instead.")
    return name


def _sequential_entry(model):
    if not model.built:
        raise ValueError(f"Sequential model {model.name!r} is not built: call it on data "
                         f"or build(input_shape) before saving it as .keras")
    shape = list(model.input_shape)
    start = {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": shape,
                        "dtype": _keras_dtype(getattr(model, "input_dtype", None) or "float32"),
                        "sparse": False, "ragged": False, "name": f"{model.name}_input",
                        "optional": False}, "registered_name": None}
    layers = [_layer_entry(layer) for layer in model.layers]
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": model.name, "trainable": model.trainable,
                       "dtype": dict(_FLOAT_POLICY), "layers": [start] + layers,
                       "build_input_shape": shape},
            "registered_name": None, "build_config": {"input_shape": shape}}


def _layer_entry(layer):
    if isinstance(layer, Model):
        return keras_entry(layer)
    class_name = keras_class_name(layer)
    config = bookkeeping(layer, dict(_FLOAT_POLICY))
    zen_config = nested_to_keras(layer, serialization.layer_config(layer), _layer_entry)
    for key, value in zen_config.items():
        config[key] = value if key in NESTED_KEYS else _keras_value(key, value)
    return {"module": "keras.layers", "class_name": class_name, "config": config,
            "registered_name": None}


def _keras_value(key, value):
    if key == "activation" and value is None:
        return "linear"
    if isinstance(value, dict) and set(value) == {"class_name", "config"}:
        kind = key.rpartition("_")[2]
        module = {"initializer": "keras.initializers", "regularizer": "keras.regularizers",
                  "constraint": "keras.constraints"}.get(kind, "keras.layers")
        return {"module": module, **value, "registered_name": None}
    return value


def ordered_layers(model) -> list:
    """The layers of a model in Keras's order: a Sequential's own order; for
    a functional model Keras's `map_graph` (by depth from the outputs, ties
    by first visit from the outputs).

    Args:
        model: a Sequential or functional model.
    """
    if isinstance(model, Sequential):
        return list(model.layers)
    graph = model._graph
    first_seen, depth_of = _visit_order(graph), {}
    for node in reversed(_nodes_by_decreasing_depth(graph)):
        depth = max(depth_of.get(id(node), 0), depth_of.get(("layer", id(node.layer)), 0))
        depth_of[("layer", id(node.layer))] = depth
        depth_of[id(node)] = depth
        for parent in node.parents():
            depth_of[id(parent.node)] = max(depth + 1, depth_of.get(id(parent.node), 0))
    layers = {}
    for node in _nodes_by_decreasing_depth(graph):
        layers[id(node.layer)] = node.layer
    for layer in graph.input_layers:
        layers[id(layer)] = layer
        depth_of.setdefault(("layer", id(layer)), 0)
        first_seen.setdefault(id(layer), -1)
    return sorted(layers.values(), key=lambda layer: (-depth_of[("layer", id(layer))],
                                                      first_seen[id(layer)]))


def _input_ids(graph):
    return {id(t) for t in graph.input_list}


def _visit_order(graph):
    """{layer id: index of its first visit} in Keras's depth-first walk from
    the outputs."""
    order = {}
    for node in _dfs(graph, preorder=True):
        order.setdefault(id(node.layer), len(order))
    return order


def _nodes_by_decreasing_depth(graph):
    return _dfs(graph, preorder=False)


def _dfs(graph, preorder):
    """The nodes from the outputs, depth first (parents before children in
    post-order), as Keras's `_build_map` walks them."""
    inputs, seen, found = _input_ids(graph), set(), []
    input_nodes = {id(t.node) for t in graph.input_list}

    def visit(tensor):
        node = tensor.node
        if id(node) in seen:
            return
        if id(tensor) in inputs and id(node) not in input_nodes:
            return
        seen.add(id(node))
        if preorder:
            found.append(node)
        for parent in node.parents():
            visit(parent)
        if not preorder:
            found.append(node)

    for tensor in graph.output_list:
        visit(tensor)
    return found


def _functional_entry(model):
    graph = model._graph
    layers = ordered_layers(model)
    calls = {}  # id(node) -> (layer name, index of the call among the layer's calls)
    for tensor in graph.input_list:
        calls[id(tensor.node)] = (tensor.node.layer.name, 0)
    nodes_of = {id(layer): [] for layer in layers}
    for node in graph.nodes:
        nodes_of[id(node.layer)].append(node)
        calls[id(node)] = (node.layer.name, len(nodes_of[id(node.layer)]) - 1)

    def history(tensor):
        name, index = calls[id(tensor.node)]
        return [name, index, tensor.index]

    def keras_tensor(leaf):
        if isinstance(leaf, SymbolicTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(leaf.shape), "dtype": _keras_dtype(leaf.dtype),
                               "keras_history": history(leaf)}}
        return leaf

    entries = []
    for layer in layers:
        if isinstance(layer, InputLayer):
            entries.append(_input_entry(layer))
            continue
        if isinstance(layer, TensorOperation):
            entries.append(operation_entry(layer, nodes_of[id(layer)], keras_tensor))
            continue
        entry = _layer_entry(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": map_structure(keras_tensor, list(node.args)),
             "kwargs": map_structure(keras_tensor, {key: value for key, value
                                                     in node.kwargs.items()
                                                     if value is not None})}
            for node in nodes_of[id(layer)]]
        entries.append(entry)
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": model.name, "trainable": model.trainable, "layers": entries,
                       "input_layers": _keras_endpoints(graph.inputs, history),
                       "output_layers": _keras_endpoints(graph.outputs, history)},
            "registered_name": "Functional", "build_config": {"input_shape": None}}


def _input_entry(layer):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": list(layer.shape), "dtype": _keras_dtype(layer.dtype),
                       "sparse": False, "ragged": False, "name": layer.name,
                       "optional": False},
            "registered_name": None, "name": layer.name, "inbound_nodes": []}


def _keras_dtype(dtype) -> str:
    """Keras's name of an input dtype ("string" for numpy's str dtypes)."""
    if isinstance(dtype, str) and dtype == "string":
        return dtype
    dtype = np.dtype(dtype)
    return "string" if dtype.kind in "USO" else str(dtype)


def _keras_endpoints(structure, history):
    if isinstance(structure, SymbolicTensor):
        return history(structure)
    if isinstance(structure, dict):
        return {key: history(value) for key, value in structure.items()}
    return [history(tensor) for tensor in structure]
