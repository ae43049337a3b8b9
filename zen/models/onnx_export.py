"""ONNX export: `export_onnx(model, path)` writes a built Sequential or
functional Model as an ONNX graph for inference (onnxruntime and others).

The batch axis is dynamic ("batch"), the weights are initializers, and
layers run as at inference (Dropout and the augmentation layers pass their
input through, BatchNorm uses its moving statistics). A functional model
may have several inputs and outputs, and a layer call several outputs
(return_state, return_attention_scores). The graph is built in memory
first: a layer with no ONNX translation is a ValueError naming it, raised
before anything is written. Needs the optional `onnx` package
(`pip install zen[onnx]`), imported only when exporting.

This module translates the dense, activation (PReLU too), reshaping, merge,
normalization and embedding layers; onnx_conv the convolutions (transposed
too), pools, UpSampling2D and ZeroPadding2D; onnx_shapes RepeatVector,
CenterCrop, Rescaling and the operators recorded on symbolic tensors;
onnx_recurrent SimpleRNN, LSTM and GRU (ONNX's own ops), Bidirectional and
TimeDistributed; onnx_attention MultiHeadAttention and PositionEmbedding.

    export_onnx(model, "model.onnx")
    # onnxruntime.InferenceSession("model.onnx").run(None, {"input": x})
"""
import inspect
import math

import numpy as np

from .. import autodiff as ad
from ..fileio import atomic_write
from ..nn import activations, augmentation, core, merge, normalization, reshaping
from ..nn.layer import Layer
from ..nn.symbolic import SymbolicTensor
from ..tree import map_structure
from ..validation import check_int
from .graph import InputLayer

__all__ = ["export_onnx"]

MIN_OPSET, MAX_OPSET = 17, 21  # LayerNormalization needs 17; ReduceMean keeps axes as an attribute
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def export_onnx(model, path, opset: int = 17) -> None:
    """Write `model` (a built `zen.Sequential` or functional `zen.Model`)
    to `path` as an ONNX model for inference, batch axis dynamic.

    Args:
        model: the model to export; built (it knows its input shapes).
        path: the file to write (written atomically: a failed export leaves
            no file behind).
        opset: the ONNX opset of the default domain, 17 (default) to 21.

    Example:
        model = zen.Sequential([zen.Input((4,)), zen.nn.Dense(3, activation="softmax")])
        export_onnx(model, "model.onnx")
    """
    opset = check_int(opset, "opset", MIN_OPSET, MAX_OPSET, owner="export_onnx")
    inputs, steps, outputs = _model_steps(model)
    import onnx  # an optional extra: only exporting needs it
    from onnx import helper

    builder = _Builder(helper, onnx.numpy_helper, [name for name, _ in inputs + outputs], opset)
    names = {}
    graph_inputs = []
    for name, tensor in inputs:
        names[id(tensor)] = name
        builder.dtypes[name] = np.dtype(tensor.dtype)
        graph_inputs.append(_value_info(helper, name, tensor))
    for layer, parents, results, call in steps:
        operands = [(names[id(t)], t.shape) for t in parents]
        builder.call = _operand_call(call, names)
        builder.out_dtypes = [np.dtype(t.dtype) for t in results]
        shapes = results[0].shape if len(results) == 1 else [t.shape for t in results]
        produced = _convert(builder, layer, operands, shapes)
        produced = produced if isinstance(produced, (list, tuple)) else [produced]
        if len(produced) != len(results):
            raise _unsupported(layer, f"it gave {len(produced)} outputs, the graph "
                                      f"expects {len(results)}")
        for tensor, name in zip(results, produced):
            names[id(tensor)] = name
            builder.dtypes.setdefault(name, np.dtype(tensor.dtype))
    graph_outputs = []
    for name, tensor in outputs:
        builder.add("Identity", [names[id(tensor)]], outputs=[name])
        graph_outputs.append(_value_info(helper, name, tensor))
    graph = helper.make_graph(builder.nodes, model.name, graph_inputs, graph_outputs,
                              initializer=builder.initializers)
    proto = helper.make_model(graph, producer_name="zen",
                              opset_imports=[helper.make_operatorsetid("", opset)])
    proto.ir_version = min(proto.ir_version, 8 if opset <= 18 else 9)  # older runtimes read it
    onnx.checker.check_model(proto)
    with atomic_write(path) as f:
        f.write(proto.SerializeToString())


# ----- the model as a list of steps ---------------------------------------------------------
def _model_steps(model):
    """([(input name, tensor)], [(layer, parent tensors, output tensors,
    (args, kwargs) of the call)], [(output name, tensor)]) for a Sequential
    or functional model."""
    graph = getattr(model, "_graph", None)
    if graph is not None:
        steps = [(node.layer, node.parents(), node.flat_outputs, (node.args, node.kwargs))
                 for node in graph.nodes]
        _check_supported(step[0] for step in steps)
        return (list(zip(graph.input_names(), graph.input_list)), steps,
                list(zip(graph.output_names(), graph.output_list)))
    if hasattr(model, "add") and getattr(model, "built", False) and model.layers:
        return _sequential_steps(model)
    raise ValueError(f"export_onnx needs a built zen.Sequential or a functional zen.Model; "
                     f"received {type(model).__name__} {getattr(model, 'name', '')!r}, "
                     f"which is a subclassed model or not built yet")


def _sequential_steps(model):
    """The steps of a Sequential, with shapes from one all-zeros sample."""
    layers = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    _check_supported(layers)
    dtype = "int32" if isinstance(layers[0], core.Embedding) else "float32"  # indices
    current = SymbolicTensor(model.input_shape, dtype)
    value = np.zeros((1,) + tuple(model.input_shape[1:]), dtype)
    inputs, steps = [("input", current)], []
    with ad.no_grad():
        for layer in layers:
            value = layer(value)
            output = SymbolicTensor((None,) + tuple(np.shape(value))[1:])
            steps.append((layer, [current], [output], ((current,), {})))
            current = output
    return inputs, steps, [(model.output_names[0], current)]


class _Operand:
    """A symbolic tensor of the call being converted, as ONNX sees it: its
    value's name in the graph, its shape (batch axis None) and dtype."""

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), np.dtype(dtype)

    def __repr__(self):
        return f"_Operand({self.name!r}, {self.shape})"


def _operand_call(call, names):
    """(args, kwargs) of a layer call, each symbolic tensor an `_Operand`."""
    def swap(leaf):
        if isinstance(leaf, SymbolicTensor):
            return _Operand(names[id(leaf)], leaf.shape, leaf.dtype)
        return leaf
    args, kwargs = call
    return map_structure(swap, tuple(args)), map_structure(swap, dict(kwargs))


def _value_info(helper, name, tensor):
    element = helper.np_dtype_to_tensor_dtype(np.dtype(tensor.dtype))
    dims = ["batch"] + [f"{name}_dim{i}" if n is None else n
                        for i, n in enumerate(tensor.shape[1:], 1)]
    return helper.make_tensor_value_info(name, element, dims)


def _unsupported(layer, why):
    return ValueError(f"Cannot export layer {layer.name!r} of class {type(layer).__name__} "
                      f"to ONNX: {why}")


def _check_supported(layers):
    """A ValueError naming the first layer of `layers` that cannot be
    exported (wrappers check the layers they hold)."""
    for layer in layers:
        if type(layer) not in CONVERTERS:
            raise _unsupported(layer, "export_onnx has no translation for this class")
        check = CHECKS.get(type(layer))
        if check is not None:
            check(layer)


# ----- building ONNX nodes ----------------------------------------------------------------
class _Builder:
    """Collects nodes and initializers, with fresh names for each; `dtypes`
    maps a value's name to its numpy dtype where known; `call` holds the
    (args, kwargs) of the layer call being converted (`_Operand`s for its
    symbolic tensors) and `out_dtypes` its outputs' dtypes."""

    def __init__(self, helper, numpy_helper, reserved, opset):
        self.helper, self.numpy_helper, self.opset = helper, numpy_helper, opset
        self.nodes, self.initializers, self.count = [], [], 0
        self.reserved = set(reserved)  # the graph's input and output names
        self.dtypes, self.call, self.out_dtypes = {}, ((), {}), [np.dtype(np.float32)]

    def fresh(self, stem):
        """A new name `stem_n`, not one of the graph's input or output names."""
        name = None
        while name is None or name in self.reserved:
            self.count += 1
            name = f"{stem}_{self.count}"
        return name

    def constant(self, array, stem="const", dtype=np.float32):
        """The name of a new initializer holding `array` as `dtype`."""
        name = self.fresh(stem)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array, dtype), name))
        return name

    def add(self, op, inputs, outputs=None, **attributes):
        """Add node `op` on `inputs`; its (first) output's name."""
        outputs = outputs or [self.fresh(op.lower())]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, **attributes))
        return outputs[0]

    def add_many(self, op, inputs, count, **attributes):
        """Add node `op` with `count` outputs; their names."""
        outputs = [self.fresh(op.lower()) for _ in range(count)]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, **attributes))
        return outputs

    def ints(self, values, stem="ints"):
        """The name of a new int64 initializer holding `values` (axes, shapes)."""
        return self.constant(list(values), stem, np.int64)


def call_arguments(builder, layer):
    """The call being converted, its arguments bound to `layer.call`'s
    signature: {parameter name: value} (defaults left out; a symbolic
    tensor is an `_Operand`)."""
    args, kwargs = builder.call
    try:
        return dict(inspect.signature(layer.call).bind(*args, **kwargs).arguments)
    except TypeError:  # a call the signature does not take: its keywords
        return dict(kwargs)


def _convert(builder, layer, operands, out_shape):
    """The name of `layer`'s output, its nodes added to `builder`.
    `operands`: (name, shape) per input tensor; `out_shape`: the output's
    shape (batch axis None)."""
    return CONVERTERS[type(layer)](builder, layer, operands, out_shape)


def _weight(tensor):
    return np.asarray(tensor.value, np.float32)


# ----- activations --------------------------------------------------------------------------
def _apply_activation(builder, function, x, layer):
    """`function` (an activation function or layer) applied to the tensor named `x`."""
    if isinstance(function, Layer):
        if type(function) not in CONVERTERS:
            raise _unsupported(layer, f"its activation {type(function).__name__} has no "
                                      f"ONNX translation")
        return CONVERTERS[type(function)](builder, function, [(x, None)], None)
    emit = _ACTIVATION_FUNCTIONS.get(function)
    if emit is None:
        raise _unsupported(layer, f"its activation {getattr(function, '__name__', function)!r} "
                                  f"has no ONNX translation")
    return emit(builder, x)


def _gelu(builder, x):
    """x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))) (ONNX's Gelu op needs opset 20)."""
    scaled = builder.add("Mul", [x, builder.constant(1 / math.sqrt(2))])
    one_plus = builder.add("Add", [builder.add("Erf", [scaled]), builder.constant(1.0)])
    return builder.add("Mul", [builder.add("Mul", [x, builder.constant(0.5)]), one_plus])


def _relu6(builder, x):
    return builder.add("Clip", [x, builder.constant(0.0), builder.constant(6.0)])


_ACTIVATION_FUNCTIONS = {
    activations.linear: lambda b, x: x,
    activations.relu: lambda b, x: b.add("Relu", [x]),
    ad.relu: lambda b, x: b.add("Relu", [x]),
    activations.sigmoid: lambda b, x: b.add("Sigmoid", [x]),
    activations.tanh: lambda b, x: b.add("Tanh", [x]),
    activations.softmax: lambda b, x: b.add("Softmax", [x], axis=-1),
    activations.log_softmax: lambda b, x: b.add("LogSoftmax", [x], axis=-1),
    activations.gelu: _gelu,
    activations.leaky_relu: lambda b, x: b.add("LeakyRelu", [x], alpha=0.2),
    activations.elu: lambda b, x: b.add("Elu", [x], alpha=1.0),
    activations.selu: lambda b, x: b.add("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE),
    activations.softplus: lambda b, x: b.add("Softplus", [x]),
    activations.softsign: lambda b, x: b.add("Softsign", [x]),
    activations.exponential: lambda b, x: b.add("Exp", [x]),
    activations.relu6: _relu6,
    activations.silu: lambda b, x: b.add("Mul", [x, b.add("Sigmoid", [x])]),
}


def _activation_layer(builder, layer, operands, out_shape):
    return _apply_activation(builder, layer._function, operands[0][0], layer)


def _relu_layer(builder, layer, operands, out_shape):
    x = operands[0][0]
    y = (builder.add("LeakyRelu", [x], alpha=float(layer.negative_slope))
         if layer.negative_slope else builder.add("Relu", [x]))
    if layer.max_value is not None:
        y = builder.add("Min", [y, builder.constant(layer.max_value)])
    return y


def _check_relu_layer(layer):
    if getattr(layer, "threshold", 0.0):
        raise _unsupported(layer, f"threshold={layer.threshold} is not supported")


def _elu_layer(builder, layer, operands, out_shape):
    return builder.add("Elu", [operands[0][0]], alpha=float(layer.alpha))


def _leaky_relu_layer(builder, layer, operands, out_shape):
    return builder.add("LeakyRelu", [operands[0][0]], alpha=float(layer.negative_slope))


def _gelu_layer(builder, layer, operands, out_shape):
    if layer.approximate:
        raise _unsupported(layer, "approximate=True (the tanh form) is not supported")
    return _gelu(builder, operands[0][0])


def _prelu_layer(builder, layer, operands, out_shape):
    """ONNX's PRelu: x, or alpha * x below 0 (alpha broadcast as Zen's, batch axis excluded)."""
    return builder.add("PRelu", [operands[0][0], builder.constant(_weight(layer.alpha),
                                                                  "alpha")])


def _softmax_layer(builder, layer, operands, out_shape):
    return builder.add("Softmax", [operands[0][0]], axis=int(layer.axis))


def _unary(op):
    return lambda builder, layer, operands, out_shape: builder.add(op, [operands[0][0]])


# ----- core, reshaping, merging ------------------------------------------------------------
def _dense(builder, layer, operands, out_shape):
    y = builder.add("MatMul", [operands[0][0], builder.constant(_weight(layer.kernel), "kernel")])
    if layer.use_bias:
        y = builder.add("Add", [y, builder.constant(_weight(layer.bias), "bias")])
    return _apply_activation(builder, layer._activation, y, layer)


def _identity(builder, layer, operands, out_shape):
    return operands[0][0]


def _flatten(builder, layer, operands, out_shape):
    return builder.add("Flatten", [operands[0][0]], axis=1)


def _reshape(builder, layer, operands, out_shape):
    shape = builder.constant([0, *layer.target_shape], "shape", np.int64)  # 0: keep the batch
    return builder.add("Reshape", [operands[0][0], shape])


def _permute(builder, layer, operands, out_shape):
    return builder.add("Transpose", [operands[0][0]], perm=[0, *layer.dims])


def _variadic(op):
    return lambda builder, layer, operands, out_shape: builder.add(op, [n for n, _ in operands])


def _subtract(builder, layer, operands, out_shape):
    return builder.add("Sub", [n for n, _ in operands])


def _multiply(builder, layer, operands, out_shape):
    y = operands[0][0]
    for name, _ in operands[1:]:
        y = builder.add("Mul", [y, name])
    return y


def _concatenate(builder, layer, operands, out_shape):
    return builder.add("Concat", [n for n, _ in operands], axis=int(layer.axis))


# ----- normalization ------------------------------------------------------------------------
def _batch_norm(builder, layer, operands, out_shape):
    """x * scale + shift per channel, with the moving statistics (as Zen's inference)."""
    shape = [1] * len(out_shape)
    shape[layer._axis] = -1
    gamma, beta = _weight(layer.gamma), _weight(layer.beta)
    scale = gamma / np.sqrt(_weight(layer.moving_variance) + np.float32(layer.epsilon))
    shift = beta - _weight(layer.moving_mean) * scale
    y = builder.add("Mul", [operands[0][0], builder.constant(scale.reshape(shape), "scale")])
    return builder.add("Add", [y, builder.constant(shift.reshape(shape), "shift")])


def _layer_norm(builder, layer, operands, out_shape):
    return builder.add("LayerNormalization", [operands[0][0], builder.constant(
        _weight(layer.gamma), "gamma"), builder.constant(_weight(layer.beta), "beta")],
        axis=-1, epsilon=float(layer.epsilon))


def _check_embedding(layer):
    if getattr(layer, "mask_zero", False):
        raise _unsupported(layer, "mask_zero=True is not supported (the mask it passes to "
                                  "the layers after it is not exported)")


def _embedding(builder, layer, operands, out_shape):
    table = builder.constant(_weight(layer.embeddings), "embeddings")
    indices = builder.add("Cast", [operands[0][0]], to=7)  # int64: Zen takes whole floats too
    return builder.add("Gather", [table, indices], axis=0)


CONVERTERS = {
    core.Dense: _dense,
    core.Dropout: _identity,
    core.Flatten: _flatten,
    reshaping.Activation: _activation_layer,
    reshaping.Identity: _identity,
    reshaping.Reshape: _reshape,
    reshaping.Permute: _permute,
    activations.ReLU: _relu_layer,
    activations.LeakyReLU: _leaky_relu_layer,
    activations.ELU: _elu_layer,
    activations.PReLU: _prelu_layer,
    activations.GELU: _gelu_layer,
    activations.Sigmoid: _unary("Sigmoid"),
    activations.Tanh: _unary("Tanh"),
    activations.Softmax: _softmax_layer,
    merge.Add: _variadic("Sum"),
    merge.Average: _variadic("Mean"),
    merge.Maximum: _variadic("Max"),
    merge.Minimum: _variadic("Min"),
    merge.Subtract: _subtract,
    merge.Multiply: _multiply,
    merge.Concatenate: _concatenate,
    normalization.BatchNorm: _batch_norm,
    normalization.LayerNorm: _layer_norm,
    core.Embedding: _embedding,
}
"""Layer class -> its translation `convert(builder, layer, operands, out_shape)`."""
CONVERTERS.update({cls: _identity for cls in vars(augmentation).values()
                   if isinstance(cls, type) and issubclass(cls, augmentation._Augmentation)})
CHECKS = {activations.ReLU: _check_relu_layer, core.Embedding: _check_embedding}
"""Layer class -> a check that refuses (ValueError) the options it cannot export."""


# the other layer families' translations, in their own modules (they use the helpers above)
from . import onnx_attention, onnx_conv, onnx_recurrent, onnx_shapes  # noqa: E402

for _module in (onnx_conv, onnx_shapes, onnx_recurrent, onnx_attention):
    CONVERTERS.update(_module.CONVERTERS)
    CHECKS.update(_module.CHECKS)
