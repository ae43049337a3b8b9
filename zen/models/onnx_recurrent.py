"""ONNX translations (for `zen.models.onnx_export`) of the recurrent layers
(SimpleRNN, LSTM, GRU, and RNN of SimpleRNNCells, LSTMCells and GRUCells,
stacked or not) and the wrappers Bidirectional and TimeDistributed.

A recurrent layer becomes ONNX's own RNN, LSTM or GRU op, time-major
(onnxruntime runs only layout 0), one direction: Keras's gate order i, f,
c, o is ONNX's i, o, f, c; GRU's z, r, h is the same in both, and Keras's
reset_after=True GRU (two bias vectors, the reset gate applied after the
recurrent matmul) is ONNX's `linear_before_reset=1`. go_backwards reverses
the input before the op, so that, as in Zen and Keras, a returned sequence
comes in the order it was processed. Where those ops cannot express the
layer (a StackedRNNCells, or an activation they do not name, such as gelu
or silu) its time steps are unrolled into nodes that compute Zen's cells
step by step (the sequence length must then be fixed). A stateful layer, a
cell of your own, or an activation ONNX has no translation for is a
ValueError.
"""
import numpy as np

from .. import autodiff as ad
from ..nn import activations, cells, recurrent, recurrent_layers, wrappers
from . import onnx_export as base

__all__ = []

INT64_MIN = np.iinfo(np.int64).min
# Keras activation -> (ONNX recurrent activation, its alpha and beta where it takes them)
RECURRENT_ACTIVATIONS = {
    activations.tanh: ("Tanh", ()),
    activations.sigmoid: ("Sigmoid", ()),
    activations.relu: ("Relu", ()),
    ad.relu: ("Relu", ()),
    activations.linear: ("Affine", (1.0, 0.0)),
    activations.hard_sigmoid: ("HardSigmoid", (1 / 6, 0.5)),
    activations.softsign: ("Softsign", ()),
    activations.softplus: ("Softplus", ()),
    activations.elu: ("Elu", (1.0,)),
}
CELL_OPS = {cells.SimpleRNNCell: "RNN", cells.LSTMCell: "LSTM", cells.GRUCell: "GRU"}


# ----- checks ---------------------------------------------------------------------------------
def _check_recurrent(layer):
    if layer.stateful:
        raise base._unsupported(layer, "stateful=True is not supported (export the model "
                                       "with stateful=False: the states then start at zero)")
    for cell in _cells(layer):
        if type(cell) not in CELL_OPS:
            raise base._unsupported(layer, f"its cell {type(cell).__name__} has no ONNX "
                                           f"translation (SimpleRNNCell, LSTMCell and GRUCell, "
                                           f"alone or stacked, do)")
        for function in _cell_activations(cell):
            if function not in RECURRENT_ACTIVATIONS and \
                    function not in base._ACTIVATION_FUNCTIONS:
                name = getattr(function, "__name__", function)
                raise base._unsupported(layer, f"its activation {name!r} has no ONNX "
                                               f"translation")


def _cells(layer):
    """The layer's cells: those of a StackedRNNCells, else its one cell."""
    cell = layer.cell
    return list(cell.cells) if isinstance(cell, cells.StackedRNNCells) else [cell]


def _unrolled(layer) -> bool:
    """Whether ONNX's recurrent ops cannot express `layer` (stacked cells,
    or an activation they do not name), so that its steps are unrolled."""
    return isinstance(layer.cell, cells.StackedRNNCells) or any(
        function not in RECURRENT_ACTIVATIONS for function in _cell_activations(layer.cell))


def _cell_activations(cell):
    """The cell's activations in ONNX's order: (f, g, h) for LSTM, (f, g)
    for GRU, (f,) for RNN."""
    if isinstance(cell, cells.LSTMCell):
        return [cell.recurrent_activation, cell.activation, cell.activation]
    if isinstance(cell, cells.GRUCell):
        return [cell.recurrent_activation, cell.activation]
    return [cell.activation]


def _check_bidirectional(layer):
    _check_recurrent(layer.forward_layer)
    _check_recurrent(layer.backward_layer)


def _check_time_distributed(layer):
    base._check_supported([layer.layer])


# ----- weights in ONNX's layout ---------------------------------------------------------------
def _onnx_weights(cell):
    """(W, R, B, linear_before_reset) for `cell`: W (1, gates * units,
    features), R (1, gates * units, units), B (1, 2 * gates * units)."""
    units = cell.units
    kernel, recurrent_kernel = base._weight(cell.kernel), base._weight(cell.recurrent_kernel)
    gates = kernel.shape[1] // units
    input_bias = recurrent_bias = np.zeros(gates * units, np.float32)
    reset_after = isinstance(cell, cells.GRUCell) and cell.reset_after
    if cell.use_bias:
        bias = base._weight(cell.bias)
        input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else \
            (bias, recurrent_bias)
    order = [0, 3, 1, 2] if isinstance(cell, cells.LSTMCell) else list(range(gates))

    def reorder(array):  # gate blocks along the last axis, in ONNX's order
        return np.concatenate([array[..., g * units:(g + 1) * units] for g in order], axis=-1)

    w = reorder(kernel).T[None]
    r = reorder(recurrent_kernel).T[None]
    b = np.concatenate([reorder(input_bias), reorder(recurrent_bias)])[None]
    return w, r, b, int(reset_after)


def _activation_attributes(cell):
    names, alphas, betas = [], [], []
    for function in _cell_activations(cell):
        name, parameters = RECURRENT_ACTIVATIONS[function]
        names.append(name)
        if parameters:
            alphas.append(parameters[0])
            if len(parameters) > 1:
                betas.append(parameters[1])
    attributes = {"activations": names}
    if alphas:
        attributes["activation_alpha"] = alphas
    if betas:
        attributes["activation_beta"] = betas
    return attributes


# ----- the recurrent op -----------------------------------------------------------------------
def reverse_axis(builder, x, axis):
    """`x` reversed along `axis` (a Slice with step -1)."""
    return builder.add("Slice", [x, builder.ints([-1]), builder.ints([INT64_MIN]),
                                 builder.ints([axis]), builder.ints([-1])])


def run_recurrent(builder, layer, x, states, steps):
    """Add `layer` (a checked recurrent layer) on the batch-major sequence
    named `x`, from the initial states named in `states` (or zeros), over
    `steps` time steps (None: any number); the names of its results:
    [output, *final states] with return_state, else [output]."""
    time_major = builder.add("Transpose", [x], perm=[1, 0, 2])
    if layer.go_backwards:
        time_major = reverse_axis(builder, time_major, 0)
    if _unrolled(layer):
        return _run_unrolled(builder, layer, x, time_major, states, steps)
    cell = layer.cell
    op = CELL_OPS[type(cell)]
    w, r, b, linear_before_reset = _onnx_weights(cell)
    inputs = [time_major, builder.constant(w, "W"), builder.constant(r, "R"),
              builder.constant(b, "B"), ""]
    inputs += [builder.add("Unsqueeze", [s, builder.ints([0])]) for s in states]
    extra = {"linear_before_reset": linear_before_reset} if op == "GRU" else {}
    count = 3 if op == "LSTM" else 2
    sequence, *finals = builder.add_many(op, inputs, count, hidden_size=int(cell.units),
                                         **_activation_attributes(cell), **extra)
    finals = [builder.add("Squeeze", [s, builder.ints([0])]) for s in finals]
    if layer.return_sequences:
        sequence = builder.add("Squeeze", [sequence, builder.ints([1])])
        output = builder.add("Transpose", [sequence], perm=[1, 0, 2])
    else:
        output = builder.add("Identity", [finals[0]])
    return [output, *finals] if layer.return_state else [output]


def _sequence_and_states(builder, layer):
    """The names of the call's sequence and initial states (a list, maybe
    empty), and the number of time steps (None if it varies); a mask given
    to the call is refused."""
    arguments = base.call_arguments(builder, layer)
    if arguments.get("mask") is not None:
        raise base._unsupported(layer, "a `mask` argument is not supported")
    states = arguments.get("initial_state")
    states = [] if states is None else states if isinstance(states, (list, tuple)) else [states]
    sequence = next(iter(arguments.values()))  # the first parameter: sequences, or x
    return sequence.name, [state.name for state in states], sequence.shape[1]


# ----- unrolled steps, as Zen's cells compute them (Keras's layouts) ----------------------------
def _run_unrolled(builder, layer, x, time_major, states, steps):
    """run_recurrent's results from one node group per time step and cell
    (the number of steps must be fixed)."""
    if steps is None:
        raise base._unsupported(layer, "its steps are unrolled (stacked cells, or an activation "
                                       "ONNX's recurrent ops lack), which needs a fixed length")
    stack = _cells(layer)
    sizes = [len(_state_sizes(cell)) for cell in stack]
    flat = list(states) or [_zeros(builder, x, size) for cell in stack
                            for size in _state_sizes(cell)]
    per_cell = [flat[sum(sizes[:i]):sum(sizes[:i + 1])] for i in range(len(stack))]
    outputs = []
    for t in range(steps):
        y = builder.add("Gather", [time_major, builder.ints([t])], axis=0)
        y = builder.add("Squeeze", [y, builder.ints([0])])
        for i, cell in enumerate(stack):
            y, per_cell[i] = STEPS[type(cell)](builder, layer, cell, y, per_cell[i])
        outputs.append(y)
    finals = [builder.add("Identity", [state]) for cell_states in per_cell
              for state in cell_states]
    if layer.return_sequences:
        output = builder.add("Concat", [builder.add("Unsqueeze", [y, builder.ints([1])])
                                        for y in outputs], axis=1)
    else:
        output = builder.add("Identity", [outputs[-1]])
    return [output, *finals] if layer.return_state else [output]


def _state_sizes(cell):
    return [cell.units, cell.units] if isinstance(cell, cells.LSTMCell) else [cell.units]


def _zeros(builder, x, size):
    """Zeros (batch, size), batch read from the sequence named `x`."""
    batch = builder.add("Slice", [builder.add("Shape", [x]), builder.ints([0]), builder.ints([1])])
    shape = builder.add("Concat", [batch, builder.ints([size])], axis=0)
    return builder.add("ConstantOfShape", [shape], value=builder.numpy_helper.from_array(
        np.zeros(1, np.float32)))


def _activate(builder, function, x, layer):
    if function is activations.hard_sigmoid:
        return builder.add("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    return base._apply_activation(builder, function, x, layer)


def _gate(builder, cell, x, h, gate, bias=None, recurrent_bias=None):
    """x @ kernel_g (+ bias_g) + h @ recurrent_kernel_g (+ recurrent bias_g) for gate g."""
    n = cell.units
    columns = slice(gate * n, (gate + 1) * n)
    kernel = base._weight(cell.kernel)[:, columns]
    recurrent_kernel = base._weight(cell.recurrent_kernel)[:, columns]
    y = builder.add("MatMul", [x, builder.constant(kernel, "kernel")])
    if bias is not None:
        y = builder.add("Add", [y, builder.constant(bias[columns], "bias")])
    if h is None:
        return y
    inner = builder.add("MatMul", [h, builder.constant(recurrent_kernel, "recurrent_kernel")])
    if recurrent_bias is not None:
        inner = builder.add("Add", [inner, builder.constant(recurrent_bias[columns], "bias")])
    return builder.add("Add", [y, inner])


def _bias(cell):
    return base._weight(cell.bias) if cell.use_bias else None


def _simple_step(builder, layer, cell, x, states):
    h = _activate(builder, cell.activation, _gate(builder, cell, x, states[0], 0, _bias(cell)),
                  layer)
    return h, [h]


def _lstm_step(builder, layer, cell, x, states):
    h, c = states
    z = [_gate(builder, cell, x, h, g, _bias(cell)) for g in range(4)]
    i, f, o = (_activate(builder, cell.recurrent_activation, z[g], layer) for g in (0, 1, 3))
    candidate = _activate(builder, cell.activation, z[2], layer)
    c = builder.add("Add", [builder.add("Mul", [f, c]), builder.add("Mul", [i, candidate])])
    h = builder.add("Mul", [o, _activate(builder, cell.activation, c, layer)])
    return h, [h, c]


def _gru_step(builder, layer, cell, x, states):
    h = states[0]
    bias = _bias(cell)
    input_bias, recurrent_bias = (bias[0], bias[1]) if bias is not None and cell.reset_after \
        else (bias, None)
    z, r = (_activate(builder, cell.recurrent_activation,
                      _gate(builder, cell, x, h, g, input_bias, recurrent_bias), layer)
            for g in (0, 1))
    x_h = _gate(builder, cell, x, None, 2, input_bias)
    kernel_h = builder.constant(base._weight(cell.recurrent_kernel)[:, 2 * cell.units:],
                                "recurrent_kernel")
    if cell.reset_after:
        h_h = builder.add("MatMul", [h, kernel_h])
        if recurrent_bias is not None:
            h_h = builder.add("Add", [h_h, builder.constant(
                recurrent_bias[2 * cell.units:], "bias")])
        recurrent_h = builder.add("Mul", [r, h_h])
    else:
        recurrent_h = builder.add("MatMul", [builder.add("Mul", [r, h]), kernel_h])
    candidate = _activate(builder, cell.activation, builder.add("Add", [x_h, recurrent_h]),
                          layer)
    one_minus_z = builder.add("Sub", [builder.constant(1.0), z])
    h = builder.add("Add", [builder.add("Mul", [z, h]),
                            builder.add("Mul", [one_minus_z, candidate])])
    return h, [h]


STEPS = {cells.SimpleRNNCell: _simple_step, cells.LSTMCell: _lstm_step,
         cells.GRUCell: _gru_step}


def _recurrent(builder, layer, operands, out_shape):
    x, states, steps = _sequence_and_states(builder, layer)
    results = run_recurrent(builder, layer, x, states, steps)
    return results if layer.return_state else results[0]


def _bidirectional(builder, layer, operands, out_shape):
    """Zen's Bidirectional: the backward layer on the time-reversed input,
    its sequence reversed back, the two merged."""
    x, states, steps = _sequence_and_states(builder, layer)
    half = len(states) // 2
    forward = run_recurrent(builder, layer.forward_layer, x, states[:half], steps)
    backward = run_recurrent(builder, layer.backward_layer, reverse_axis(builder, x, 1),
                             states[half:], steps)
    y, y_reversed = forward[0], backward[0]
    if layer.return_sequences:
        y_reversed = reverse_axis(builder, y_reversed, 1)
    merged = _merge(builder, layer.merge_mode, y, y_reversed)
    if not layer.return_state:
        return merged
    return [*merged, *forward[1:], *backward[1:]] if layer.merge_mode is None \
        else [merged, *forward[1:], *backward[1:]]


def _merge(builder, mode, y, y_reversed):
    if mode == "concat":
        return builder.add("Concat", [y, y_reversed], axis=-1)
    if mode == "sum":
        return builder.add("Add", [y, y_reversed])
    if mode == "mul":
        return builder.add("Mul", [y, y_reversed])
    if mode == "ave":
        return builder.add("Mul", [builder.add("Add", [y, y_reversed]), builder.constant(0.5)])
    return [y, y_reversed]


def _time_distributed(builder, layer, operands, out_shape):
    """Time folded into the batch, (batch * time, *inner), the inner layer's
    nodes on that, and the result unfolded with the input's (batch, time)."""
    x, shape = operands[0]
    folded = builder.add("Reshape", [x, builder.ints([-1, *shape[2:]])])
    outer_call = builder.call  # the inner layer sees a call of its own, on the folded input
    builder.call = ((base._Operand(folded, (None, *shape[2:]), np.float32),), {})
    try:
        inner = base._convert(builder, layer.layer, [(folded, (None, *shape[2:]))],
                              (None, *out_shape[2:]))
    finally:
        builder.call = outer_call
    batch_and_time = builder.add("Slice", [builder.add("Shape", [x]), builder.ints([0]),
                                           builder.ints([2])])
    target = builder.add("Concat", [batch_and_time, builder.ints(out_shape[2:])], axis=0)
    return builder.add("Reshape", [inner, target])


CONVERTERS = {
    recurrent.RNN: _recurrent,
    recurrent_layers.SimpleRNN: _recurrent,
    recurrent_layers.LSTM: _recurrent,
    recurrent_layers.GRU: _recurrent,
    wrappers.Bidirectional: _bidirectional,
    wrappers.TimeDistributed: _time_distributed,
}
CHECKS = {recurrent.RNN: _check_recurrent, recurrent_layers.SimpleRNN: _check_recurrent,
          recurrent_layers.LSTM: _check_recurrent, recurrent_layers.GRU: _check_recurrent,
          wrappers.Bidirectional: _check_bidirectional,
          wrappers.TimeDistributed: _check_time_distributed}
