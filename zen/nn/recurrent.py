"""Recurrent layers: RNN (Keras's wrapper of a cell) and SimpleRNN, LSTM and
GRU, the RNNs of the cells in `zen.nn.cells`. Inputs are `(batch, time,
features)`, as in Keras.

`RNN(cell)` loops over the time steps with whole batches, calling the cell
once per step, so that backpropagation through time is simply the reverse
pass over the unrolled graph; the cell's weights are the layer's.

SimpleRNN, LSTM and GRU own their cell (its weights are theirs, in Keras's
order) and, in the common case, run the recurrence as one fused op instead
(`zen.autodiff.rnn_scan`, `lstm_scan`, `gru_scan`): the input projection
`x @ kernel + bias` for all steps in one matmul (time-major, so each step's
slice is contiguous), then one matmul `h @ recurrent_kernel` per step forward
and back. Input dropout (one mask for the whole sequence) is applied to the
inputs before the projection, go_backwards reverses them, and stateful only
changes where the initial states come from: all three keep the fused op.
These run step by step through the cell: recurrent dropout in training,
GRU(reset_after=False), activations the fused ops do not know (SimpleRNN:
other than tanh, sigmoid, relu and linear; LSTM and GRU: other than tanh
with sigmoid gates).
"""
from .. import autodiff as ad
from .. import tree
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE, xp
from ..validation import check_bool, is_int
from . import activations, masking, regularizers, symbolic
from .core import penalty_config
from .cells import (DropoutRNNCell, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells,
                    call_cell, check_cell, output_size_of, penalties)
from .layer import _CALL, Layer
from .serialization import deserialize, serialize

__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]


class RNN(Layer):
    """Run a recurrent cell over the time steps of a sequence (Keras's RNN).

    A cell is any object with `state_size` (an int, or a list of ints, one
    per state) and `call(inputs, states)` returning `(output, new_states)`
    for one step `(batch, features)`; optionally `output_size`,
    `build(input_shape)` and `get_initial_state(batch_size)`. A cell that
    holds weights is a `zen.nn.Layer` (as in Keras): its weights are then this
    layer's, in `weights`, `get_weights()` and training. A list of cells is
    stacked (`StackedRNNCells`).

    Args:
        cell: the cell, or a list of cells.
        return_sequences: return the output of every step (default False:
            only the last).
        return_state: also return the final states (default False).
        go_backwards: process the sequence from its last step to its first
            (default False); with return_sequences the outputs come in that
            reversed order, as in Keras.
        stateful: the final states of a call are the initial states of the
            next (default False); the first call fixes the batch size, and
            `reset_state()` zeroes the states.
        zero_output_for_mask: with a mask, the output of a masked step is
            zeros instead of the last real step's output (default False;
            Bidirectional sets it when it returns sequences, as Keras).
        name: the layer's name (default "rnn", made unique).

    Call: `layer(sequences, initial_state=None, training=None, mask=None)`,
    sequences (batch, time, features), initial_state a list of (batch,
    size) arrays, one per state (nested per cell for stacked cells), mask
    (batch, time) booleans (by default the mask the sequences carry, e.g.
    from `Embedding(mask_zero=True)`; see zen.nn.masking): a masked step
    keeps the states and repeats the previous output, as in Keras.
    Output shape: (batch, output_size), or (batch, time, output_size) with
    return_sequences; with return_state, a list [output, *final_states].

    Example:
        layer = RNN(LSTMCell(8), return_sequences=True)
        layer(np.zeros((32, 10, 4))).shape          # (32, 10, 8)
    """

    state_names = None  # names for the flat states in messages (default state_0, ...)
    supports_masking = True  # (compute_mask: the sequences' mask with return_sequences)
    zero_output_for_mask = False

    def __init__(self, cell, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False,
                 zero_output_for_mask: bool = False, name: str = None):
        super().__init__(name)
        self.cell = _as_cell(cell)
        self.return_sequences = check_bool(return_sequences, "return_sequences")
        self.return_state = check_bool(return_state, "return_state")
        self.go_backwards = check_bool(go_backwards, "go_backwards")
        self.stateful = check_bool(stateful, "stateful")
        self.zero_output_for_mask = check_bool(zero_output_for_mask, "zero_output_for_mask")
        self.states = None  # a stateful layer's states (arrays), after its first call

    @property
    def state_size(self) -> list:
        """The cell's state sizes as a list (one entry per state)."""
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def build(self, input_shape):
        """Build the cell for one time step (batch, features) of `input_shape`."""
        _check_sequence_shape(type(self).__name__, input_shape)
        step_shape = (input_shape[0], input_shape[2])
        if not isinstance(self.cell, Layer):
            if callable(getattr(self.cell, "build", None)):
                self.cell.build(step_shape)
            _refuse_untracked_weights(self.cell)
        elif not self.cell.built:
            self.cell.input_shape = step_shape
            self.cell.build(step_shape)
            self.cell.built = True

    # ----- calling ----------------------------------------------------------------------
    def __call__(self, sequences, initial_state=None, training=None, mask=None):
        """Run the layer on `sequences` (batch, time, features); arrays become
        Tensors of the layer's dtype."""
        given = {} if mask is None else {"mask": mask}
        if symbolic.any_symbolic((sequences, initial_state, mask)):  # a graph records it
            return super().__call__(sequences, initial_state=initial_state, training=training,
                                    **given)
        if not isinstance(sequences, Tensor):
            sequences = Tensor(xp.asarray(sequences, dtype=self._dtype()), trainable=False)
        _check_sequence_shape(type(self).__name__, sequences.shape)
        return super().__call__(sequences, initial_state=initial_state, training=training,
                                **given)

    def _dtype(self):
        weights = self.weights if self.built else []
        return weights[0].dtype if weights else DEFAULT_DTYPE

    def call(self, sequences, initial_state=None, mask=None, training=False):
        """sequences (batch, time, features) -> the output(s) described in the
        class docstring, computed step by step through the cell."""
        return self._run(self.inner_loop, sequences, initial_state, training, mask)

    def _run(self, loop, sequences, initial_state, training, mask=None):
        """The call around `loop(sequences, states, training, mask)` -> (last
        output, outputs (batch, time, size) or None, final states): initial
        states in, dropout masks fresh for this sequence, stateful states out."""
        _check_steps(type(self).__name__, sequences.shape)
        states = self._initial_states(sequences.shape[0], sequences.dtype, initial_state)
        mask = self._step_mask(mask, sequences.shape)
        self._reset_dropout_masks()
        try:
            last, outputs, final = loop(sequences, states, training, mask)
        finally:
            self._reset_dropout_masks()
        final = self._pack(tree.flatten(final))
        self._keep_states(final)
        output = outputs if self.return_sequences else last
        return [output, *final] if self.return_state else output

    def inner_loop(self, sequences, states, training=False, mask=None):
        """The cell over every step, in order (reversed with go_backwards):
        (last output, outputs (batch, time, size) or None, final states). A
        step masked out (`mask` (batch, time), False) keeps the states and
        gives the previous output (zeros before any, or with
        zero_output_for_mask), as Keras's masked recurrence."""
        time_major = ad.transpose(sequences, (1, 0, 2))
        steps = range(sequences.shape[1])
        outputs = []
        for t in (reversed(steps) if self.go_backwards else steps):
            output, new_states = call_cell(self.cell, time_major[t], states, training)
            if mask is None:
                states = new_states
            else:
                real = mask[:, t, None]
                states = _where_real(real, new_states, states)
                zeros = xp.zeros((), output.dtype)
                previous = zeros if not outputs or self.zero_output_for_mask else outputs[-1]
                output = ad.where(real, output, previous)
            outputs.append(output)
        sequence = ad.stack(outputs, axis=1) if self.return_sequences else None
        return outputs[-1], sequence, states

    def _step_mask(self, mask, shape):
        """The call's mask as (batch, time) booleans (the first of a structure,
        as Keras), checked against the sequences' `shape`; None when there is
        none or no step is masked."""
        mask = tree.flatten(mask)[0] if isinstance(mask, (list, tuple)) else mask
        if mask is None:
            return None
        mask = masking.as_mask(mask, tuple(shape[:2]), owner=f"mask of {self.name!r}")
        return None if mask.all() else mask

    def compute_mask(self, inputs, previous_mask=None):
        """The sequences' mask for the outputs of every step (with
        return_sequences), none for a last output or the states."""
        mask = tree.flatten(previous_mask)[0] if isinstance(previous_mask, (list, tuple)) \
            else previous_mask
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(tree.flatten(self.state_size))
        return output_mask

    def _reset_dropout_masks(self):
        """Fresh masks for the next sequence (Keras resets them after each
        call): those of the cell, or of each cell of a StackedRNNCells."""
        cells = self.cell.cells if isinstance(self.cell, StackedRNNCells) else [self.cell]
        for cell in cells:
            if isinstance(cell, DropoutRNNCell):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()

    # ----- states ---------------------------------------------------------------------------
    def get_initial_state(self, batch_size: int) -> list:
        """The states a call starts from without `initial_state`: the cell's
        `get_initial_state(batch_size=...)`, else zeros (batch_size, size)."""
        make = getattr(self.cell, "get_initial_state", None)
        if make is None:
            return [xp.zeros((batch_size, size), DEFAULT_DTYPE)
                    for size in tree.flatten(self.state_size)]
        states = make(batch_size=batch_size)
        return list(states) if tree.is_nested(states) else [states]

    def _flat_names(self):
        count = len(tree.flatten(self.state_size))
        names = self.state_names
        return list(names) if names and len(names) == count else \
            [f"state_{i}" for i in range(count)]

    def _pack(self, flat):
        """Flat states in the nesting of `state_size` (per cell for stacked cells)."""
        leaves = iter(flat)
        return tree.map_structure(lambda _: next(leaves), self.state_size)

    def _initial_states(self, batch, dtype, initial_state):
        """The states of this call: `initial_state` (checked), else a stateful
        layer's kept states, else `get_initial_state`; Tensors of `dtype`."""
        if self.stateful and self.states is not None and not _probing():
            _check_stateful_batch(self.states, batch)
        if initial_state is not None:
            flat = self._given_states(batch, initial_state)
        elif self.stateful and self.states is not None and not _probing():
            flat = tree.flatten(self.states)
        else:
            flat = tree.flatten(self.get_initial_state(batch))
        return self._pack([s if isinstance(s, Tensor) else
                           Tensor(xp.asarray(s, dtype), trainable=False) for s in flat])

    def _given_states(self, batch, initial_state):
        names = self._flat_names()
        sizes = tree.flatten(self.state_size)
        flat = [initial_state] if hasattr(initial_state, "shape") else \
            tree.flatten(initial_state) if isinstance(initial_state, (list, tuple)) else None
        if flat is None or len(flat) != len(names) or not all(hasattr(s, "shape") for s in flat):
            raise ValueError(f"Received an invalid value for `initial_state`, expected a list "
                             f"of {len(names)} array(s) {names} of shape (batch, size) with "
                             f"sizes {sizes}. Received: {initial_state!r}"[:400])
        for name, size, state in zip(names, sizes, flat):
            if tuple(state.shape) != (batch, size):
                raise ValueError(f"Received an invalid shape for initial state `{name}`, "
                                 f"expected {(batch, size)}. Received: {tuple(state.shape)}")
        return flat

    def _keep_states(self, final):
        """A stateful layer keeps its final states (values only: no gradient
        flows from one call into the next)."""
        if not self.stateful or _probing():
            return
        # arrays, not weights: set past Layer.__setattr__, which tracks weights and sublayers
        object.__setattr__(self, "states", self._pack([xp.array(s.value)
                                                       for s in tree.flatten(final)]))

    def reset_state(self) -> None:
        """Zero a stateful layer's states (the batch size stays fixed)."""
        for state in tree.flatten(self.states) if self.states is not None else []:
            state[...] = 0

    def reset_states(self) -> None:
        """Keras's older name of `reset_state`."""
        self.reset_state()

    # ----- shapes and configuration -----------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """The output's shape (a list [output, *states] with return_state)."""
        batch, steps = input_shape[0], input_shape[1]
        size = output_size_of(self.cell)
        output = (batch, steps, size) if self.return_sequences else (batch, size)
        if not self.return_state:
            return output
        return [output] + tree.map_structure(lambda n: (batch, n), self.state_size)

    def _options(self) -> dict:
        options = {"return_sequences": self.return_sequences,
                   "return_state": self.return_state, "go_backwards": self.go_backwards,
                   "stateful": self.stateful}
        if self.zero_output_for_mask:
            options["zero_output_for_mask"] = True
        return options

    def get_config(self):
        """{"cell": the cell's entry, and the options}; the cell must be a Layer."""
        if not isinstance(self.cell, Layer):
            raise ValueError(f"Cannot write the config of layer {self.name!r}: its cell "
                             f"{self.cell!r} is not a zen.nn.Layer with a get_config()."[:300])
        return {"cell": serialize(self.cell), **self._options()}

    @classmethod
    def from_config(cls, config):
        """The RNN a config describes; a config without a cell but with
        `units` is the simple recurrent layer Zen called RNN before it had
        cells, and loads as that SimpleRNN."""
        if "cell" not in config and "units" in config:
            return SimpleRNN.from_config(config)
        return cls(**{**config, "cell": deserialize(config.get("cell"))})

    def __repr__(self):
        options = "".join(f", {key}={value!r}" for key, value in self._options().items()
                          if value)
        return f"{type(self).__name__}(cell={self.cell!r}{options})"


_Recurrent = RNN  # the base of every recurrent layer (Bidirectional asks for one)


def _as_cell(cell):
    """`cell` checked (a list becomes StackedRNNCells); an int is the old
    RNN(units), now SimpleRNN(units)."""
    if is_int(cell):
        raise TypeError(f"RNN wraps a recurrent cell, e.g. RNN(SimpleRNNCell({cell})); the "
                        f"simple recurrent layer with {cell} units is SimpleRNN({cell}). "
                        f"Received: cell={cell!r}")
    if isinstance(cell, RNN):
        raise ValueError(f"Received an invalid value for `cell` of RNN, expected a cell "
                         f"(SimpleRNNCell, LSTMCell, GRUCell or your own), not the recurrent "
                         f"layer {type(cell).__name__}. Received: cell={cell!r}")
    if isinstance(cell, (list, tuple)):
        cell = StackedRNNCells(cell)
    check_cell(cell)
    return cell


def _where_real(real, new_states, states):
    """The new states where `real` (batch, 1), else the old ones, in the
    nesting of `new_states`."""
    kept = iter([ad.where(real, new, old)
                 for new, old in zip(tree.flatten(new_states), tree.flatten(states))])
    return tree.map_structure(lambda _: next(kept), new_states)


def _refuse_untracked_weights(cell):
    held = [name for name, value in vars(cell).items() if isinstance(value, Tensor)]
    if held:
        raise TypeError(f"The RNN cell {type(cell).__name__} holds weights {held} but is not "
                        f"a zen.nn.Layer, so the RNN would not train them: make the cell a "
                        f"subclass of zen.nn.Layer (as Keras cells are).")


def _probing() -> bool:
    """Whether this call runs on stand-in zeros to build layers or find
    output shapes (zen.nn.layer.build_probe): a stateful layer keeps nothing."""
    return getattr(_CALL, "probing", False)


def _check_stateful_batch(states, batch):
    expected = tree.flatten(states)[0].shape[0]
    if batch != expected:
        raise ValueError(f"If an RNN is stateful, the batch size of the input sequences must "
                         f"be the same as the batch size of the initial state (fixed by its "
                         f"first call). Expected batch size: {expected}. Received batch "
                         f"size: {batch}")


def _check_sequence_shape(layer, shape):
    if shape is None or len(shape) != 3:
        raise ValueError(f"{layer} expects inputs of shape (batch, time, features); "
                         f"received an input of shape {shape}")


def _check_steps(layer, shape):
    if shape[1] == 0:
        raise ValueError(f"{layer} needs at least one time step, received an input of "
                         f"shape {tuple(shape)}")


def _fused_name(activation):
    """The name of `activation` among those the fused scans know, or None."""
    return next((name for name in ad.recurrent.ACTIVATIONS
                 if activations.get(name) is activation), None)


def _cell_option(name):
    return property(lambda self: getattr(self.cell, name),
                    doc=f"The cell's `{name}` (Keras's layers show their cell's options).")


def _cell_weight(name):
    def assign(self, value):
        setattr(self.cell, name, value)
    return property(lambda self: getattr(self.cell, name, None), assign,
                    doc=f"The cell's `{name}` Tensor (None before the layer is built).")


class _CellLayer(RNN, abstract=True):
    """What SimpleRNN, LSTM and GRU share: they make their own cell, show its
    options and weights as theirs, save the cell's config flat (as Keras)
    and take the fused path when `_fuses(training)` says so."""

    units = _cell_option("units")
    activation = _cell_option("activation")
    use_bias = _cell_option("use_bias")
    kernel_initializer = _cell_option("kernel_initializer")
    recurrent_initializer = _cell_option("recurrent_initializer")
    bias_initializer = _cell_option("bias_initializer")
    dropout = _cell_option("dropout")
    kernel_regularizer = _cell_option("kernel_regularizer")
    recurrent_regularizer = _cell_option("recurrent_regularizer")
    bias_regularizer = _cell_option("bias_regularizer")
    kernel_constraint = _cell_option("kernel_constraint")
    recurrent_constraint = _cell_option("recurrent_constraint")
    bias_constraint = _cell_option("bias_constraint")
    recurrent_dropout = _cell_option("recurrent_dropout")
    kernel = _cell_weight("kernel")
    recurrent_kernel = _cell_weight("recurrent_kernel")
    bias = _cell_weight("bias")

    def __init__(self, cell, return_sequences, return_state, go_backwards, stateful, name,
                 activity_regularizer):
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful,
                         name=name)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        """As RNN.call, as one fused op where `_fuses` allows."""
        loop = self._fused_loop if self._fuses(training) else self.inner_loop
        return self._run(loop, sequences, initial_state, training, mask)

    def _fuses(self, training) -> bool:
        """Whether this call can run as one fused op (no per-step masks)."""
        return not (training and self.recurrent_dropout > 0)

    def _fused_loop(self, sequences, states, training, mask):
        raise NotImplementedError(f"{type(self).__name__} must define _fused_loop")

    def _scan_inputs(self, sequences, training):
        """The inputs of a fused scan: time reversed with go_backwards, input
        dropout (one mask for every step) in training, projected."""
        x = sequences[:, ::-1] if self.go_backwards else sequences
        mask = self.cell.get_dropout_mask(x.value[:, 0]) if training else None
        return self._project(x if mask is None else x * mask[:, None, :])

    def _project(self, x):
        """x @ kernel + bias for all time steps in one matmul: (time, batch, gates * units)."""
        batch, steps, features = x.shape
        _check_steps(type(self).__name__, x.shape)
        time_major = ad.transpose(x, (1, 0, 2)).reshape(steps * batch, features)
        projected = time_major @ self.kernel
        bias = self._input_bias()
        return (projected if bias is None else projected + bias).reshape(steps, batch, -1)

    def _input_bias(self):
        return self.bias

    def _scan_mask(self, mask):
        """The (batch, time) mask in the scan's order: (time, batch), steps
        reversed with go_backwards; None stays None."""
        if mask is None:
            return None
        return xp.ascontiguousarray((mask[:, ::-1] if self.go_backwards else mask).T)

    def _scan_outputs(self, hs, final, scan_mask=None):
        """(last output, outputs batch-major or None, final states) from the
        (time, batch, units) states of a scan. With a mask, a masked step's
        output is the last real step's (its kept state), or zeros before any
        real step or with zero_output_for_mask, as Keras's recurrence."""
        last = final[0]
        if scan_mask is not None:
            shown = scan_mask if self.zero_output_for_mask else \
                xp.logical_or.accumulate(scan_mask, axis=0)
            hs = hs * shown[..., None].astype(hs.dtype)
            last = hs[-1]
        outputs = ad.transpose(hs, (1, 0, 2)) if self.return_sequences else None
        return last, outputs, final

    def _set_trainable_alone(self, value):
        """The cell has no config entry of its own: its flag follows the layer's."""
        super()._set_trainable_alone(value)
        self.cell._set_trainable_alone(value)

    def get_config(self):
        """The cell's config and the options, flat (Keras's layout)."""
        return {**self.cell.get_config(), **penalty_config(self, ("activity_regularizer",)),
                **self._options()}

    @classmethod
    def from_config(cls, config):
        """The layer that `get_config` described (zero_output_for_mask, an
        RNN option, is set on it)."""
        config = dict(config)
        zero_output = config.pop("zero_output_for_mask", False)
        layer = cls(**config)
        layer.zero_output_for_mask = check_bool(zero_output, "zero_output_for_mask")
        return layer

    def __repr__(self):
        return Layer.__repr__(self)


class SimpleRNN(_CellLayer):
    """A fully connected recurrent layer (Keras's SimpleRNN), the RNN of a
    SimpleRNNCell: h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel).

    Args:
        units: size of the hidden state (and of the output).
        activation: name or callable (default "tanh"; None is linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        recurrent_initializer: name or callable (default "orthogonal").
        bias_initializer: name or callable (default "zeros").
        dropout: fraction of the inputs dropped in training, one mask per
            sequence (default 0).
        recurrent_dropout: fraction of h_{t-1} dropped in training, one mask
            per sequence (default 0).
        return_sequences: return the output of every step (default False).
        return_state: also return the final state (default False).
        go_backwards: process the sequence reversed (default False).
        stateful: carry the final state into the next call (default False).
        name: the layer's name (default "simple_rnn", made unique).

    Keras's `kernel_/recurrent_/bias_regularizer`, `activity_regularizer` (penalties added to
    the loss) and `kernel_/recurrent_/bias_constraint` (applied after each
    optimizer step) default to None; see zen.regularizers, zen.constraints.

    Input shape: (batch, time, features).
    Output shape: (batch, units), or (batch, time, units) with
    return_sequences; with return_state, a list [output, h_final].
    Weights (the cell's): kernel (features, units) glorot_uniform,
    recurrent_kernel (units, units) orthogonal, bias (units,) zeros.
    With a tanh, sigmoid, relu or linear activation the time loop runs as one
    fused op (`zen.autodiff.rnn_scan`) unless recurrent dropout is active.

    Example:
        layer = SimpleRNN(64)
        y = layer(np.zeros((32, 10, 1)))     # (32, 64); 4,224 parameters
    """

    state_names = ("h",)

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, name: str = None):
        cell = SimpleRNNCell(units, activation, use_bias, kernel_initializer,
                             recurrent_initializer, bias_initializer, dropout=dropout,
                             recurrent_dropout=recurrent_dropout, name="simple_rnn_cell",
                             **penalties(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                   kernel_constraint, recurrent_constraint, bias_constraint))
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, name,
                         activity_regularizer)

    def _fuses(self, training):
        return _fused_name(self.cell.activation) is not None and super()._fuses(training)

    def _fused_loop(self, sequences, states, training, mask):
        scan_mask = self._scan_mask(mask)
        hs = ad.rnn_scan(self._scan_inputs(sequences, training), states[0],
                         self.recurrent_kernel, _fused_name(self.cell.activation), scan_mask)
        return self._scan_outputs(hs, [hs[-1]], scan_mask)


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), Keras's LSTM,
    the RNN of an LSTMCell (gate order i, f, c, o):

        i, f, g, o = split(x_t @ kernel + h @ recurrent_kernel + bias)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)

    Args:
        units: size of the hidden and cell states (and of the output).
        activation: name or callable (default "tanh").
        recurrent_activation: name or callable for the gates (default "sigmoid").
        use_bias: whether to add a bias (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        recurrent_initializer: name or callable (default "orthogonal").
        bias_initializer: name or callable (default "zeros").
        unit_forget_bias: start the forget gate's bias at 1 (default True).
        dropout: fraction of the inputs dropped in training (default 0).
        recurrent_dropout: fraction of h dropped in training (default 0).
        return_sequences: return h of every step (default False).
        return_state: also return the final states (default False).
        go_backwards: process the sequence reversed (default False).
        stateful: carry the final states into the next call (default False).
        name: the layer's name (default "lstm", made unique).

    Keras's `kernel_/recurrent_/bias_regularizer`, `activity_regularizer` (penalties added to
    the loss) and `kernel_/recurrent_/bias_constraint` (applied after each
    optimizer step) default to None; see zen.regularizers, zen.constraints.

    Input shape: (batch, time, features).
    Output shape: (batch, units), or (batch, time, units) with
    return_sequences; with return_state, a list [output, h_final, c_final].
    Weights (the cell's): kernel (features, 4 * units) glorot_uniform,
    recurrent_kernel (units, 4 * units) orthogonal, bias (4 * units,) zeros
    except the forget gate's slice, 1 (unit_forget_bias).
    With tanh and sigmoid the time loop runs as one fused op
    (`zen.autodiff.lstm_scan`) unless recurrent dropout is active.

    Example:
        layer = LSTM(64, return_state=True)
        out, h, c = layer(np.zeros((32, 10, 8)))   # 18,688 parameters
    """

    state_names = ("h", "c")
    recurrent_activation = _cell_option("recurrent_activation")
    unit_forget_bias = _cell_option("unit_forget_bias")

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, name: str = None):
        cell = LSTMCell(units, activation, recurrent_activation, use_bias, kernel_initializer,
                        recurrent_initializer, bias_initializer, unit_forget_bias,
                        dropout=dropout, recurrent_dropout=recurrent_dropout, name="lstm_cell",
                        **penalties(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                   kernel_constraint, recurrent_constraint, bias_constraint))
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, name,
                         activity_regularizer)

    def _fuses(self, training):
        return _tanh_with_sigmoid_gates(self.cell) and super()._fuses(training)

    def _fused_loop(self, sequences, states, training, mask):
        scan_mask = self._scan_mask(mask)
        scanned = ad.lstm_scan(self._scan_inputs(sequences, training), states[0], states[1],
                               self.recurrent_kernel, scan_mask)
        return self._scan_outputs(scanned[0], [scanned[0, -1], scanned[1, -1]], scan_mask)


class GRU(_CellLayer):
    """Gated recurrent unit (Cho et al., 2014), Keras's GRU, the RNN of a
    GRUCell (gate order z, r, h). With reset_after=True (the default, the
    cuDNN variant) the reset gate multiplies the recurrent projection after
    the matmul and input and recurrent projections have separate biases:

        xz, xr, xh = split(x_t @ kernel + bias[0])
        hz, hr, hh = split(h @ recurrent_kernel + bias[1])
        z = sigmoid(xz + hz);  r = sigmoid(xr + hr)
        h = z * h + (1 - z) * tanh(xh + r * hh)

    With reset_after=False (Keras's other layout, one bias vector) r
    multiplies h before the matmul: tanh(xh + (r * h) @ recurrent_kernel_h).

    Args:
        units: size of the hidden state (and of the output).
        activation: name or callable (default "tanh").
        recurrent_activation: name or callable for the gates (default "sigmoid").
        use_bias: whether to add biases (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        recurrent_initializer: name or callable (default "orthogonal").
        bias_initializer: name or callable (default "zeros").
        dropout: fraction of the inputs dropped in training (default 0).
        recurrent_dropout: fraction of h dropped in training (default 0).
        return_sequences: return h of every step (default False).
        return_state: also return the final state (default False).
        go_backwards: process the sequence reversed (default False).
        stateful: carry the final state into the next call (default False).
        reset_after: apply the reset gate after the recurrent matmul (default True).
        name: the layer's name (default "gru", made unique).

    Keras's `kernel_/recurrent_/bias_regularizer`, `activity_regularizer` (penalties added to
    the loss) and `kernel_/recurrent_/bias_constraint` (applied after each
    optimizer step) default to None; see zen.regularizers, zen.constraints.

    Input shape: (batch, time, features).
    Output shape: (batch, units), or (batch, time, units) with
    return_sequences; with return_state, a list [output, h_final].
    Weights (the cell's): kernel (features, 3 * units) glorot_uniform,
    recurrent_kernel (units, 3 * units) orthogonal, bias (2, 3 * units)
    zeros with reset_after, else (3 * units,).
    Parameters: 3 * (features * units + units * units + 2 * units) with reset_after.
    With reset_after, tanh and sigmoid the time loop runs as one fused op
    (`zen.autodiff.gru_scan`) unless recurrent dropout is active.

    Example:
        layer = GRU(64)
        y = layer(np.zeros((32, 10, 8)))     # (32, 64); 14,208 parameters
    """

    state_names = ("h",)
    recurrent_activation = _cell_option("recurrent_activation")
    reset_after = _cell_option("reset_after")

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, reset_after: bool = True,
                 name: str = None):
        cell = GRUCell(units, activation, recurrent_activation, use_bias, kernel_initializer,
                       recurrent_initializer, bias_initializer, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, reset_after=reset_after,
                       name="gru_cell", **penalties(kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                   kernel_constraint, recurrent_constraint, bias_constraint))
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, name,
                         activity_regularizer)

    def _fuses(self, training):
        return self.reset_after and _tanh_with_sigmoid_gates(self.cell) \
            and super()._fuses(training)

    def _input_bias(self):
        return self.bias[0] if self.bias is not None and self.reset_after else self.bias

    def _fused_loop(self, sequences, states, training, mask):
        recurrent_bias = self.bias[1] if self.use_bias else \
            Tensor(xp.zeros(3 * self.units, self.recurrent_kernel.dtype), trainable=False)
        scan_mask = self._scan_mask(mask)
        hs = ad.gru_scan(self._scan_inputs(sequences, training), states[0],
                         self.recurrent_kernel, recurrent_bias, scan_mask)
        return self._scan_outputs(hs, [hs[-1]], scan_mask)


def _tanh_with_sigmoid_gates(cell) -> bool:
    """Whether `cell` uses the activations the fused LSTM and GRU scans have."""
    return cell.activation is activations.get("tanh") and \
        cell.recurrent_activation is activations.get("sigmoid")
