"""The parts of Keras 3's `.keras` configs that need more than a renaming,
both ways (`zen.models.keras_config` handles the rest):

- op nodes: Keras records operations on symbolic tensors (`x != 0`,
  `ops.any(m, axis=-1)`, `x[:, 0]`, ...) as entries of module
  "keras.src.ops.numpy" whose constant operands and indexing keys sit in the
  node's arguments; Zen records them as `TensorOperation` layers holding the
  constant or key in their config;
- layers holding layers: Bidirectional ("layer", "backward_layer"),
  TimeDistributed ("layer"), RNN ("cell") and StackedRNNCells ("cells")
  keep their sublayers' Keras entries in their configs. Keras's backward
  layer of a Bidirectional has `go_backwards=True` and runs on the
  unreversed input; Zen's runs on the reversed input with `go_backwards`
  False: the same computation and weights, the flag flipped;
- weight groups: Keras's h5 groups of these layers (a MultiHeadAttention's
  four EinsumDense sublayers `query_dense`, `key_dense`, `value_dense`,
  `output_dense`; stacked cells under `cell/cells/<snake_case class>`);
- vocabularies: Keras keeps an adapted StringLookup's, IntegerLookup's or
  TextVectorization's vocabulary (mask and OOV tokens first) in the archive
  member `assets/<the layer's h5 path>/vocabulary.txt`, one token a line,
  and "tf_idf" weights as the dataset `vars/idf_weights`; a vocabulary
  given to the constructor stays in the config. Zen writes the vocabulary
  in the config (Keras then needs no asset) and the idf weights where Keras
  reads them.
"""
import contextvars
import re

import numpy as np

from ..nn import operators
from ..nn.attention import MultiHeadAttention
from ..nn.cells import StackedRNNCells
from ..nn.operators import TensorOperation
from ..nn.preprocessing.categorical import Discretization
from ..nn.preprocessing.hashing import Hashing
from ..nn.preprocessing.lookup import IntegerLookup, StringLookup
from ..nn.preprocessing.text import TextVectorization
from ..nn.recurrent import RNN
from ..nn.wrappers import Bidirectional, TimeDistributed

__all__ = ["is_operation_entry", "operation_from_keras", "operation_entry",
           "nested_from_keras", "nested_to_keras", "bookkeeping", "variable_groups",
           "snake_case", "unique_name", "NESTED_KEYS", "VOCABULARY_LAYERS", "ASSETS",
           "with_vocabulary", "named_datasets", "is_vocabulary_layer", "policy_name"]

OPS_MODULE = "keras.src.ops.numpy"
"""The module Keras's config names for its operations on symbolic tensors."""
# Keras op class -> Zen's TensorOperation operation
_OPERATIONS = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply",
               "TrueDivide": "true_divide", "Divide": "true_divide", "Power": "power",
               "Matmul": "matmul", "Equal": "equal", "NotEqual": "not_equal",
               "Less": "less", "LessEqual": "less_equal", "Greater": "greater",
               "GreaterEqual": "greater_equal", "Negative": "negative",
               "Absolute": "absolute", "Any": "any", "All": "all", "GetItem": "get_item"}
_KERAS_OPERATIONS = {zen: keras for keras, zen in _OPERATIONS.items() if keras != "Divide"}
NESTED_KEYS = ("layer", "backward_layer", "cell", "cells")
"""The config keys that hold layers (wrappers, RNN cells)."""
_NESTING = {"Bidirectional": ("layer", "backward_layer"), "TimeDistributed": ("layer",),
            "RNN": ("cell",), "StackedRNNCells": ("cells",)}
VOCABULARY_LAYERS = ("StringLookup", "IntegerLookup", "TextVectorization")
"""The layers whose vocabulary Keras keeps as an asset of the archive."""
MAX_VOCABULARY = 10_000_000
"""How many tokens one vocabulary asset may hold."""
ASSETS = contextvars.ContextVar("keras_assets", default=None)
"""While a file is read: {h5 group path: (vocabulary.txt bytes or None, idf
array or None)}."""


def snake_case(name: str) -> str:
    """Keras's `to_snake_case`: the h5 group name of a class ("MaxPooling2D"
    -> "max_pooling2d").

    Args:
        name: a class name.
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(name: str, used: dict) -> str:
    """Keras's `_get_unique_name`: "dense", "dense_1", ... within a container.

    Args:
        name: the base name.
        used: {base name: how many times taken} of the container, updated.
    """
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ----- op nodes --------------------------------------------------------------------------
def is_operation_entry(entry) -> bool:
    """Whether a functional config's entry is a Keras op (not a layer).

    Args:
        entry: the entry.
    """
    module = entry.get("module")
    return isinstance(module, str) and module.startswith("keras.src.ops")


def operation_from_keras(entry):
    """(TensorOperation, its inbound node with only the tensor arguments)
    for a Keras op entry; ValueError naming an op Zen does not have.

    Args:
        entry: the op's entry (one inbound node: each Keras op is called once).
    """
    class_name, config = entry.get("class_name"), entry.get("config") or {}
    operation = _OPERATIONS.get(class_name)
    if operation is None:
        raise ValueError(f"Zen has no counterpart of the Keras op {str(class_name)[:100]!r} "
                         f"(module {entry.get('module')!r}), so the model cannot be loaded; "
                         f"Zen translates {sorted(_OPERATIONS)}"[:400])
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict) \
            or not isinstance(nodes[0].get("args"), list):
        raise ValueError(f"The Keras op {entry.get('name')!r} needs one inbound node with "
                         f"'args'. Received: {nodes!r}"[:300])
    extra = set(config) - {"name", "axis", "keepdims"}
    if extra or (operation not in operators.REDUCTIONS and set(config) - {"name"}):
        raise ValueError(f"The Keras op {entry.get('name')!r} ({class_name}) has options "
                         f"Zen does not support: {sorted(set(config) - {'name'})}"[:300])
    if nodes[0].get("kwargs"):
        raise ValueError(f"The Keras op {entry.get('name')!r} ({class_name}) is called with "
                         f"keywords {sorted(nodes[0]['kwargs'])}, which Zen does not "
                         f"support"[:300])
    args = nodes[0]["args"]
    try:
        layer, tensors = _operation(operation, args, config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The Keras op {entry.get('name')!r} ({class_name}): "
                         f"{error}"[:400]) from None
    return layer, {"args": tensors, "kwargs": {}}


def _is_tensor(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _operation(operation, args, config):
    name = config.get("name")
    if operation == "get_item":
        if len(args) != 2 or not _is_tensor(args[0]):
            raise ValueError(f"expected arguments [tensor, key]. Received: {args!r}")
        return TensorOperation("get_item", key=_zen_key(args[1]), name=name), [args[0]]
    if operation in operators.REDUCTIONS:
        if len(args) != 1 or not _is_tensor(args[0]):
            raise ValueError(f"expected one tensor argument. Received: {args!r}")
        return TensorOperation(operation, axis=config.get("axis"),
                               keepdims=config.get("keepdims", False), name=name), args
    tensors = [a for a in args if _is_tensor(a)]
    if len(args) != (1 if operation in operators.UNARY else 2) or not tensors:
        raise ValueError(f"expected {1 if operation in operators.UNARY else 2} arguments, a "
                         f"tensor among them. Received: {args!r}")
    if len(tensors) == len(args):
        return TensorOperation(operation, name=name), tensors
    reflected = not _is_tensor(args[0])
    constant = _zen_constant(args[0] if reflected else args[1])
    return TensorOperation(operation, constant=constant, reflected=reflected,
                           name=name), tensors


def _zen_constant(value):
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        config = value.get("config") or {}
        array = np.array(config.get("value"), dtype=np.dtype(str(config.get("dtype"))))
        if array.dtype.kind not in "biuf":
            raise ValueError(f"a constant must be numeric. Received: {value!r}"[:300])
        return array
    if isinstance(value, (bool, int, float)):
        return value
    raise ValueError(f"a constant operand must be a number or a numpy array. Received: "
                     f"{value!r}"[:300])


def _zen_key(key):
    def item(value):
        if isinstance(value, dict) and value.get("class_name") == "__slice__":
            bounds = value.get("config") or {}
            return slice(bounds.get("start"), bounds.get("stop"), bounds.get("step"))
        if isinstance(value, dict) and value.get("class_name") == "__ellipsis__":
            return Ellipsis
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise ValueError(f"Zen takes basic indexing only (ints, slices, ..., None). "
                         f"Received the index {value!r}"[:300])
    return tuple(item(v) for v in key) if isinstance(key, list) else item(key)


def operation_entry(layer, nodes, keras_tensor) -> dict:
    """The Keras op entry of a Zen TensorOperation, called once.

    Args:
        layer: the TensorOperation.
        nodes: its nodes in the graph (one: a Keras op entry has one call).
        keras_tensor: maps a symbolic tensor to its Keras reference.
    """
    if len(nodes) != 1:
        raise ValueError(f"The operation {layer.name!r} is called {len(nodes)} times in the "
                         f"graph; a Keras op is called once: record it anew for each use")
    node, class_name = nodes[0], _KERAS_OPERATIONS[layer.operation]
    tensors = [keras_tensor(t) for t in node.args]
    config = {"name": layer.name}
    if layer.operation == "get_item":
        args = [tensors[0], [_keras_item(item) for item in layer.key]]
    elif layer.operation in operators.REDUCTIONS:
        config.update(axis=layer.axis, keepdims=layer.keepdims)
        args = tensors
    elif layer.constant is not None:
        constant = _keras_constant(layer.constant)
        args = [constant, *tensors] if layer.reflected else [*tensors, constant]
    else:
        args = tensors
    return {"module": OPS_MODULE, "class_name": class_name, "config": config,
            "registered_name": class_name, "name": layer.name,
            "inbound_nodes": [{"args": args, "kwargs": {}}]}


def _keras_constant(value):
    if hasattr(value, "dtype"):
        return {"class_name": "__numpy__",
                "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    return value


def _keras_item(item):
    if item is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(item, slice):
        return {"class_name": "__slice__",
                "config": {"start": item.start, "stop": item.stop, "step": item.step}}
    return item


# ----- layers holding layers -------------------------------------------------------------
def nested_from_keras(class_name, config, translate) -> dict:
    """The Zen layers of a Keras config's nested layer entries, by key (for
    Bidirectional, TimeDistributed, RNN and StackedRNNCells; none for others).

    Args:
        class_name: the Keras class of the layer holding them.
        config: its Keras config.
        translate: turns one Keras layer entry into a Zen layer.
    """
    found = {}
    for key in _NESTING.get(class_name, ()):
        value = config.get(key)
        if value is None:
            continue
        if key == "cells":
            if not isinstance(value, list):
                raise ValueError(f"Expected 'cells' as a list of Keras entries. Received: "
                                 f"{value!r}"[:300])
            found[key] = [translate(entry) for entry in value]
        elif key == "backward_layer" and class_name == "Bidirectional":
            found[key] = translate(_flipped(value))
        else:
            found[key] = translate(value)
    return found


def _flipped(entry):
    """A recurrent layer's entry with go_backwards flipped: Keras's backward
    layer runs on the input as it is, going backwards; Zen's on the
    reversed input."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ValueError(f"Expected a Keras layer entry for 'backward_layer'. Received: "
                         f"{entry!r}"[:300])
    config = entry["config"]
    return {**entry, "config": {**config, "go_backwards": not config.get("go_backwards",
                                                                         False)}}


def nested_to_keras(layer, config, entry_of) -> dict:
    """A Zen config with its nested layers as Keras entries (Keras's
    Bidirectional always names its backward layer, go_backwards flipped).

    Args:
        layer: the Zen layer.
        config: its Zen config.
        entry_of: turns one Zen layer into its Keras entry.
    """
    config = dict(config)
    if isinstance(layer, Bidirectional):
        config["layer"] = entry_of(layer.forward_layer)
        backward = entry_of(layer.backward_layer)
        backward["config"]["go_backwards"] = not layer.backward_layer.go_backwards
        config["backward_layer"] = backward
    elif isinstance(layer, TimeDistributed):
        config["layer"] = entry_of(layer.layer)
    elif type(layer) is RNN:
        config["cell"] = entry_of(layer.cell)
    elif isinstance(layer, StackedRNNCells):
        config["cells"] = [entry_of(cell) for cell in layer.cells]
    if is_vocabulary_layer(layer):
        config = _vocabulary_config(layer, config)
    return config


def bookkeeping(layer, policy) -> dict:
    """The keys Keras adds to a layer's config: name, trainable, dtype
    policy; a Discretization has its name and dtype name only (Keras's
    takes no `trainable`).

    Args:
        layer: the Zen layer.
        policy: Keras's float32 dtype policy entry.
    """
    if isinstance(layer, Discretization):
        return {"name": layer.name, "dtype": "float32"}
    if isinstance(layer, Hashing) and layer.output_mode == "int":
        policy = {**policy, "config": {"name": policy_name("Hashing", layer.get_config())}}
    return {"name": layer.name, "trainable": layer.trainable, "dtype": policy}


def policy_name(class_name, config) -> str:
    """The name of the dtype policy Keras gives a layer: "int64" for a
    Hashing that outputs bin indices, else "float32".

    Args:
        class_name: the Keras class.
        config: the layer's config.
    """
    if class_name == "Hashing" and config.get("output_mode", "int") == "int":
        return "int64"
    return "float32"


# ----- weight groups ---------------------------------------------------------------------
def variable_groups(layer, default) -> dict:
    """{h5 subgroup ("vars", "cell/vars", ...): (owner name, [tensors])} of
    one layer as Keras lays it out, each list in Keras's order.

    Args:
        layer: a layer (not a model).
        default: the groups of a layer without sublayers of its own layout.
    """
    if isinstance(layer, Bidirectional):
        return {"vars": (layer.name, []),
                **_under("forward_layer/", variable_groups(layer.forward_layer, default)),
                **_under("backward_layer/", variable_groups(layer.backward_layer, default))}
    if isinstance(layer, TimeDistributed):
        return {"vars": (layer.name, []),
                **_under("layer/", variable_groups(layer.layer, default))}
    if isinstance(layer, MultiHeadAttention):
        return _attention_groups(layer)
    if isinstance(layer, TextVectorization):
        return {"vars": (layer.name, []), "_lookup_layer/vars": (layer.lookup_layer.name, [])}
    if isinstance(layer, RNN) and isinstance(layer.cell, StackedRNNCells):
        return {"vars": (layer.name, []),
                **_under("cell/", variable_groups(layer.cell, default))}
    if isinstance(layer, StackedRNNCells):
        groups, used = {"vars": (layer.name, [])}, {}
        for cell in layer.cells:
            group = unique_name(snake_case(type(cell).__name__), used)
            groups.update(_under(f"cells/{group}/", variable_groups(cell, default)))
        return groups
    return default(layer)


def _under(prefix, groups):
    return {prefix + key: value for key, value in groups.items()}


def _attention_groups(layer):
    """Keras's EinsumDense sublayers (kernel, then bias), and its empty
    dropout and softmax sublayers."""
    groups = {"vars": (layer.name, [])}
    if not hasattr(layer, "query_kernel"):
        return groups
    for group, prefix, owner in (("query_dense", "query", "query"),
                                 ("key_dense", "key", "key"),
                                 ("value_dense", "value", "value"),
                                 ("output_dense", "output", "attention_output")):
        tensors = [getattr(layer, f"{prefix}_kernel")]
        if layer.use_bias:
            tensors.append(getattr(layer, f"{prefix}_bias"))
        groups[f"{group}/vars"] = (owner, tensors)
    groups["_dropout_layer/vars"] = ("dropout", [])
    groups["_softmax/vars"] = ("softmax", [])
    return groups




# ----- vocabularies ------------------------------------------------------------------------
def with_vocabulary(entry, group) -> dict:
    """A vocabulary layer's entry with the vocabulary (and "tf_idf"
    weights) of its asset put in the config, where Zen's layer takes them;
    any other entry as it is.

    Args:
        entry: the layer's Keras entry.
        group: its h5 group path ("layers/string_lookup"), which names its asset.
    """
    config, find = entry.get("config"), ASSETS.get()
    if entry.get("class_name") not in VOCABULARY_LAYERS or not isinstance(config, dict) \
            or config.get("vocabulary") is not None or find is None:
        return entry
    text, idf = find(group)
    if text is None:
        return entry  # never adapted
    tokens = _tokens(text, entry["class_name"], config.get("name"))
    config = {**config, "vocabulary": tokens}
    if config.get("output_mode") == "tf_idf":
        if idf is None:
            raise ValueError(f"Layer {config.get('name')!r} ({entry['class_name']}) is "
                             f"'tf_idf' but the weights file has no {group}/vars/idf_weights")
        config["idf_weights"] = [float(v) for v in idf]
    return {**entry, "config": config}


def _tokens(text, class_name, name):
    """The lines of a vocabulary.txt as Keras's `load_assets` reads them
    (trailing empty lines dropped; integers for IntegerLookup)."""
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"The vocabulary of layer {name!r} is not UTF-8 text: "
                         f"{error}"[:300]) from None
    while lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_VOCABULARY:
        raise ValueError(f"The vocabulary of layer {name!r} has {len(lines):,} tokens, more "
                         f"than the {MAX_VOCABULARY:,} allowed")
    if class_name != "IntegerLookup":
        return lines
    try:
        return [int(line) for line in lines]
    except ValueError:
        raise ValueError(f"The vocabulary of IntegerLookup {name!r} holds a line that is "
                         f"not an integer") from None


def _vocabulary_config(layer, config):
    """Keras's extra keys of a vocabulary layer's config; with "tf_idf", the
    vocabulary leads with the special tokens, as long as the idf weights
    (one per index), which Keras requires."""
    config = {**config, "vocabulary_size": layer.vocabulary_size()}
    if config.get("output_mode") == "tf_idf" and config.get("idf_weights") is not None:
        config["vocabulary"] = layer.get_vocabulary(include_special_tokens=True)
    if isinstance(layer, StringLookup):
        config["oov_method"] = "floormod"
    return config


def named_datasets(layer) -> dict:
    """{h5 path under the layer's group: array} of the state Keras saves by
    name rather than by position: a "tf_idf" vocabulary layer's idf weights.

    Args:
        layer: a layer.
    """
    lookup = layer.lookup_layer if isinstance(layer, TextVectorization) else layer
    if not isinstance(lookup, (StringLookup, IntegerLookup)) \
            or lookup.output_mode != "tf_idf" or lookup.idf is None:
        return {}
    idf = np.asarray(lookup.idf, dtype=np.float32)
    if isinstance(layer, TextVectorization):
        return {"vars/idf_weights": idf, "_lookup_layer/vars/idf_weights": idf}
    return {"vars/idf_weights": idf}


def is_vocabulary_layer(layer) -> bool:
    """Whether `layer` keeps its state in a vocabulary (read from the
    config and assets, not the weights).

    Args:
        layer: a layer.
    """
    return isinstance(layer, (StringLookup, IntegerLookup, TextVectorization))
