"""`RNN`, Keras's recurrent layer around a cell (`zen.nn.cells`), the base
of SimpleRNN, LSTM and GRU (`zen.nn.recurrent_layers`). Inputs are
`(batch, time, features)`, as in Keras.

`RNN(cell)` loops over the time steps with whole batches, calling the cell
once per step, so that backpropagation through time is simply the reverse
pass over the unrolled graph; the cell's weights are the layer's. A mask
(zen.nn.masking) keeps the states of the masked steps.
"""
from .. import autodiff as ad
from .. import tree
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE, xp
from ..validation import check_bool, is_int
from . import masking, symbolic
from .cells import (DropoutRNNCell, StackedRNNCells, call_cell, check_cell,
                    output_size_of)
from .layer import _CALL, LAYERS, Layer
from .serialization import deserialize, serialize

__all__ = ["RNN"]


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
        mask = masking.single_mask(mask)
        if mask is None:
            return None
        mask = masking.as_mask(mask, tuple(shape[:2]), owner=f"mask of {self.name!r}")
        return None if mask.all() else mask

    def compute_mask(self, inputs, previous_mask=None):
        """The sequences' mask for the outputs of every step (with
        return_sequences), none for a last output or the states."""
        mask = masking.single_mask(previous_mask)
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
            return LAYERS.lookup("SimpleRNN").from_config(config)
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
