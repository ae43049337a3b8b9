"""The functional API's graph: `Input`, and the layer graph between some
inputs and outputs that a functional `Model` runs, describes and saves.

    inputs = zen.Input((784,))
    hidden = Dense(64, activation="relu")(inputs)     # records a Node
    model = zen.Model(inputs, Dense(10)(hidden))       # a Graph between them

A `Graph` is the nodes met walking back from the outputs to the inputs, in
an order where every node comes after the nodes it reads from. Running it
calls each node's layer on the values its parents produced. Its config
lists the layers once each (a shared layer is one entry) and the nodes as
calls on references to earlier nodes' outputs, so loading replays the
calls in order; a reference to a later node (a cycle) or to an output that
does not exist is refused.
"""
import math

import numpy as np

from ..nn.layer import Layer
from ..nn import serialization
from ..nn.symbolic import Node, SymbolicTensor
from ..tree import flatten, map_structure
from ..validation import invalid, is_int

__all__ = ["Input", "InputLayer", "Graph"]

MAX_VALUES_PER_SAMPLE = 10 ** 7  # an input larger than this is surely a mistake
MAX_NODES = 10_000               # calls in one graph
MAX_NODE_INPUTS = 1024           # tensors one call may take (merge layers)


class InputLayer(Layer):
    """The layer behind `Input`: it holds the input's shape and dtype and
    passes its value through."""

    def __init__(self, shape, dtype="float32", name: str = None):
        super().__init__(name)
        self.shape = (None,) + _check_shape(shape)
        self.dtype = _check_dtype(dtype)
        self.input_shape, self.built = self.shape, True
        self.output = SymbolicTensor(self.shape, self.dtype, name=self.name)
        Node(self, (), {}, self.output)

    def call(self, x):
        return x

    def get_config(self):
        return {"shape": list(self.shape[1:]), "dtype": self.dtype}


def Input(shape, name: str = None, dtype="float32") -> SymbolicTensor:
    """A symbolic input of shape `(None, *shape)`: call layers on it to build
    a graph, then `zen.Model(inputs, outputs)`.

    Args:
        shape: the shape of one sample (no batch axis); None for an axis
            whose size may vary (e.g. the length of a sequence).
        name: the input's name (default "input_layer", "input_layer_1", ...),
            the key for this input when `x` is given as a dict.
        dtype: "float32" (default), "float64", an integer type (indices
            fed to an Embedding), "bool", or "string" (raw text for
            preprocessing layers such as TextVectorization). Integer, bool
            and string inputs keep their dtype until the first layer.

    Example:
        image = zen.Input((28, 28, 1), name="image")
        text = zen.Input(shape=(), dtype="string")   # a batch of strings
    """
    return InputLayer(shape, dtype, name).output


class Graph:
    """The layer graph from `inputs` to `outputs` (each a symbolic tensor, a
    list or a dict of them)."""

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs
        self.input_list = _symbolic_list(inputs, "inputs")
        self.output_list = _symbolic_list(outputs, "outputs")
        for tensor in self.input_list:
            if not isinstance(tensor.node.layer, InputLayer):
                raise ValueError(f"Model inputs must come from zen.Input; {tensor} was "
                                 f"produced by layer {tensor.node.layer.name!r}")
        if len(set(map(id, self.input_list))) != len(self.input_list):
            raise ValueError("The same Input appears twice among the model's inputs")
        self.nodes = self._sorted_nodes()
        self.input_layers = [t.node.layer for t in self.input_list]
        self.layers = list(self.input_layers)
        for node in self.nodes:
            if all(node.layer is not layer for layer in self.layers):
                self.layers.append(node.layer)

    def _sorted_nodes(self) -> list:
        """The nodes between inputs and outputs, parents first (an iterative
        depth-first walk: no recursion limit however deep the graph)."""
        input_ids = {id(t) for t in self.input_list}
        order, done, stack = [], set(), [(t, False) for t in reversed(self.output_list)]
        while stack:
            tensor, expanded = stack.pop()
            node = tensor.node
            if id(tensor) in input_ids or id(node) in done:
                continue
            if isinstance(node.layer, InputLayer):
                raise ValueError(f"Graph disconnected: the outputs depend on the input "
                                 f"{node.layer.name!r}, which is not among the model's "
                                 f"inputs {[t.name for t in self.input_list]}")
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((tensor, True))
            stack.extend((parent, False) for parent in reversed(node.parents()))
        return order

    # ----- running ---------------------------------------------------------------------
    def run(self, values: list):
        """The outputs (in the structure of `outputs`) for one value per input."""
        computed = {id(t): v for t, v in zip(self.input_list, values)}

        def value_of(leaf):
            return computed[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf

        for node in self.nodes:
            args, kwargs = map_structure(value_of, (node.args, node.kwargs))
            result = node.layer(*args, **kwargs)
            for tensor, value in zip(node.flat_outputs, flatten(result)):
                computed[id(tensor)] = value
        return map_structure(value_of, self.outputs)

    # ----- names -----------------------------------------------------------------------
    def input_names(self) -> list:
        if isinstance(self.inputs, dict):
            return list(self.inputs)
        return [t.node.layer.name for t in self.input_list]

    def output_names(self) -> list:
        """The output layers' names (dict keys for dict outputs), made unique."""
        if isinstance(self.outputs, dict):
            return list(self.outputs)
        names = []
        for tensor in self.output_list:
            name, n = tensor.node.layer.name, 1
            while name in names:
                name, n = f"{tensor.node.layer.name}_{n}", n + 1
            names.append(name)
        return names

    def inbound_layers(self, node) -> list:
        """'layer_name[call][output]' for each tensor `node` reads (summary)."""
        return [f"{t.node.layer.name}[{self._call_index(t.node)}][{t.index}]"
                for t in node.parents()]

    def _call_index(self, node):
        calls = [n for n in self.nodes if n.layer is node.layer]
        return next((i for i, n in enumerate(calls) if n is node), 0)

    # ----- config ----------------------------------------------------------------------
    def get_config(self) -> dict:
        """{"layers", "nodes", "inputs", "outputs"}: JSON, as described above."""
        layer_index = {id(layer): i for i, layer in enumerate(self.layers)}
        all_nodes = [t.node for t in self.input_list] + self.nodes
        where = {}
        for n, node in enumerate(all_nodes):
            for tensor in node.flat_outputs:
                where[id(tensor)] = [n, tensor.index]

        def ref(leaf):
            if isinstance(leaf, SymbolicTensor):
                return {"__tensor__": where[id(leaf)]}
            return leaf

        return {"layers": [serialization.serialize(layer) for layer in self.layers],
                "nodes": [{"layer": layer_index[id(node.layer)],
                           "args": map_structure(ref, list(node.args)),
                           "kwargs": map_structure(ref, node.kwargs)} for node in self.nodes],
                "inputs": map_structure(ref, self.inputs),
                "outputs": map_structure(ref, self.outputs)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict = None) -> "Graph":
        """Rebuild the layers and replay the calls (which builds the weights).
        `custom_objects`: {class name: class} for user classes the config
        names that are not registered."""
        entries = config.get("layers")
        if not isinstance(entries, list) or not isinstance(config.get("nodes"), list):
            raise ValueError("A functional model config needs lists 'layers' and 'nodes'")
        layers = [serialization.deserialize(entry, custom_objects) for entry in entries]
        inputs = [layer for layer in layers if isinstance(layer, InputLayer)]
        produced = [[layer.output] for layer in inputs]  # node n's flat outputs

        def tensor_at(leaf):
            if isinstance(leaf, dict) and set(leaf) == {"__tensor__"}:
                address = leaf["__tensor__"]
                if not (isinstance(address, list) and len(address) == 2
                        and all(is_int(i) and i >= 0 for i in address)
                        and address[0] < len(produced) and address[1] < len(produced[address[0]])):
                    raise ValueError(f"A node refers to tensor {address!r}, which no earlier "
                                     f"node produced (a dangling or cyclic reference)")
                return produced[address[0]][address[1]]
            return leaf

        if len(config["nodes"]) > MAX_NODES:
            raise ValueError(f"The model config has {len(config['nodes']):,} nodes, more than "
                             f"the {MAX_NODES:,} a Zen graph may have")
        for i, spec in enumerate(config["nodes"]):
            if not isinstance(spec, dict) or not isinstance(spec.get("args"), list) \
                    or not isinstance(spec.get("kwargs", {}), dict):
                raise ValueError(f"Node {i} of the model config is malformed: {spec!r}"[:300])
            index = spec.get("layer")
            if not is_int(index) or not 0 <= index < len(layers) \
                    or isinstance(layers[index], InputLayer):
                raise ValueError(f"Node {i} names layer {index!r}, which is not a layer of "
                                 f"the model config")
            if len(flatten((spec["args"], spec.get("kwargs", {})))) > MAX_NODE_INPUTS:
                raise ValueError(f"Node {i} takes more than {MAX_NODE_INPUTS} arguments")
            args, kwargs = map_structure(tensor_at, (spec["args"], spec.get("kwargs", {})),
                                         is_leaf=_is_reference)
            produced.append(flatten(layers[index](*args, **kwargs)))
        return cls(map_structure(tensor_at, config.get("inputs"), is_leaf=_is_reference),
                   map_structure(tensor_at, config.get("outputs"), is_leaf=_is_reference))


def _is_reference(leaf):
    return isinstance(leaf, dict) and set(leaf) == {"__tensor__"}


# ----- checks ---------------------------------------------------------------------------
def _symbolic_list(structure, what):
    if isinstance(structure, (list, tuple, dict)) and not structure:
        raise ValueError(f"Received an invalid value for `{what}`: it is empty")
    if isinstance(structure, dict) and not all(isinstance(k, str) for k in structure):
        raise ValueError(f"The keys of `{what}` must be strings (input/output names)")
    leaves = flatten(structure)
    for leaf in leaves:
        if not isinstance(leaf, SymbolicTensor):
            raise ValueError(f"Received an invalid value for `{what}`, expected symbolic "
                             f"tensors made from zen.Input (a tensor, a list or a dict of "
                             f"them). Received: {type(leaf).__name__}")
    return leaves


def _check_shape(shape):
    if is_int(shape):
        shape = (shape,)
    ok = isinstance(shape, (list, tuple)) and all(
        n is None or (is_int(n) and n > 0) for n in shape)
    if ok:
        shape = tuple(None if n is None else int(n) for n in shape)
        ok = math.prod(n or 1 for n in shape) <= MAX_VALUES_PER_SAMPLE
    if not ok:
        raise invalid("shape", f"a tuple of positive sizes (or None), without the batch axis, "
                      f"and at most {MAX_VALUES_PER_SAMPLE:,} values per sample, e.g. "
                      f"(28, 28, 1)", shape, owner="Input")
    return shape


def _check_dtype(dtype):
    """The name of an Input's `dtype`: a float, integer or bool type, or
    "string" (a batch of raw text, numpy str)."""
    if dtype is None:  # Keras's default: floatx
        return "float32"
    if dtype == "string":  # Keras's name; "str" is refused as Keras does
        return "string"
    try:
        kind = np.dtype(dtype)
    except TypeError:
        kind = None
    if kind is None or kind.kind not in "fiub":
        raise ValueError(f"Received an invalid value for `dtype` of Input, expected a float, "
                         f"integer or bool type such as 'float32', 'int32' or 'bool', or "
                         f"'string'. Received: dtype={dtype!r}")
    return kind.name
