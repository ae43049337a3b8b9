"""Recurrent cells: one time step of a recurrent layer, as Keras defines them.

A cell is a layer with a `state_size` (an int, or a list with one entry per
state) and `call(inputs, states)` -> `(output, new_states)`, where `inputs`
is one time step `(batch, features)` and each state is `(batch, size)`.
`zen.nn.RNN(cell)` runs it over the time steps of a sequence; SimpleRNN,
LSTM and GRU are RNNs of the cells here (and run their recurrence as one
fused op where they can).

Dropout in a recurrent cell (Gal & Ghahramani, 2016, as Keras does it): one
mask for the inputs and one for the recurrent state are drawn at the first
step of a call in training and reused at every later step, until the RNN
resets them at the end of its call. LSTM and GRU cells with
`recurrent_dropout` draw one mask per gate for each (Keras's implementation
1, which Keras switches to whenever recurrent_dropout is set).
"""
import inspect

from .. import autodiff as ad
from .. import tree
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE, xp
from ..validation import check_bool, check_float, check_positive_int, is_int
from . import activations, constraints, initializers, regularizers
from .core import callable_name, penalty_config
from .layer import Layer
from .serialization import deserialize, serialize

__all__ = ["DropoutRNNCell", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]


def check_cell(cell, argument="cell") -> None:
    """A ValueError unless `cell` has a `call` method and a `state_size`
    (an int, or a possibly nested list of ints), as Keras asks of a cell.

    Args:
        cell: the object to check.
        argument: the argument's name in the message ("cell", "cells").
    """
    if not callable(getattr(cell, "call", None)):
        raise ValueError(f"Argument `{argument}` should have a `call` method. "
                         f"Received: {argument}={cell!r}"[:300])
    sizes = getattr(cell, "state_size", None)
    flat = tree.flatten(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
    if not flat or not all(is_int(size) and size > 0 for size in flat):
        raise ValueError(f"The RNN cell should have a `state_size` attribute (single "
                         f"integer or list of integers, one integer per RNN state). "
                         f"Received: {argument}={cell!r} with state_size={sizes!r}"[:300])


def output_size_of(cell) -> int:
    """The size of a cell's output: its `output_size`, else its first state's.

    Args:
        cell: a cell (see `check_cell`).
    """
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return tree.flatten(cell.state_size)[0] if isinstance(cell.state_size, (list, tuple)) \
        else cell.state_size


def gate_matmul(x, mask, kernel, gates: int):
    """x @ kernel, with a dropout mask applied to x first.

    Args:
        x: a (batch, features) Tensor.
        mask: None (no mask), one mask of x's shape, or one per gate
            `(gates, *x.shape)`, each applied before that gate's block of
            the kernel's columns (Keras's implementation 1).
        kernel: the (features, gates * units) kernel.
        gates: how many blocks of columns the kernel has.

    Example:
        z = gate_matmul(h, state_mask, recurrent_kernel, 4)   # an LSTM's h @ U
    """
    if mask is None:
        return x @ kernel
    if mask.ndim == len(x.shape):
        return (x * mask) @ kernel
    width = kernel.shape[1] // gates
    return ad.concat([(x * mask[k]) @ kernel[:, k * width:(k + 1) * width]
                      for k in range(gates)], axis=-1)


PENALTIES = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
             "kernel_constraint", "recurrent_constraint", "bias_constraint")


def penalties(kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
              recurrent_constraint, bias_constraint) -> dict:
    """The regularizers and constraints of a cell's three weights, by Keras's
    argument names (as a cell's constructor passes them on)."""
    return dict(zip(PENALTIES, (kernel_regularizer, recurrent_regularizer, bias_regularizer,
                                kernel_constraint, recurrent_constraint, bias_constraint)))


class DropoutRNNCell(Layer, abstract=True):
    """What the built-in cells share: units, activation, initialisers,
    dropout rates and the dropout masks they keep for a whole sequence.

    A subclass sets `gates` (blocks in its kernels) and defines `build` and
    `call`.

    Args:
        units: the size of the state (and of the output).
        activation: name or callable for the output (None: linear).
        use_bias: whether the cell has a bias.
        kernel_initializer: name or callable for the input kernel.
        recurrent_initializer: name or callable for the recurrent kernel.
        bias_initializer: name or callable for the bias.
        dropout: the fraction of the inputs to drop, in [0, 1).
        recurrent_dropout: the fraction of the recurrent state to drop, in [0, 1).
        name: the layer's name.
        **penalties: `kernel_/recurrent_/bias_regularizer` and
            `kernel_/recurrent_/bias_constraint` (see `penalties`).
    """

    gates = 1

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, dropout, recurrent_dropout, name=None, **penalties):
        super().__init__(name)
        for key in PENALTIES:
            module = regularizers if key.endswith("regularizer") else constraints
            setattr(self, key, module.get(penalties.get(key)))
        self.units = check_positive_int(units, "units")
        self._activation_name = callable_name(activation)
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self._kernel_init = initializers.get(kernel_initializer)  # an unknown name fails here
        self._recurrent_init = initializers.get(recurrent_initializer)
        self._bias_init = initializers.get(bias_initializer)
        self.dropout = check_float(dropout, "dropout", 0, 1, high_open=True)
        self.recurrent_dropout = check_float(recurrent_dropout, "recurrent_dropout", 0, 1,
                                             high_open=True)
        self.state_size = self.units
        self.output_size = self.units
        self._dropout_mask = self._recurrent_dropout_mask = None

    # ----- weights ----------------------------------------------------------------------
    def create_kernels(self, input_shape) -> None:
        """The kernel (features, gates * units) and the recurrent kernel
        (units, gates * units), Keras's layouts."""
        if input_shape is None or len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects one time step of shape (batch, "
                             f"features); received an input of shape {input_shape}")
        width = self.gates * self.units
        self.kernel = self.add_weight((input_shape[-1], width), self._kernel_init,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight((self.units, width), self._recurrent_init,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)

    def create_bias(self, shape, initializer=None):
        """The bias of `shape` (None without `use_bias`), from `initializer`
        (an array-making function; default the bias initializer)."""
        if not self.use_bias:
            return None
        return self.add_weight(shape, initializer or self._bias_init,
                               regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    # ----- dropout masks ----------------------------------------------------------------
    @property
    def dropout_mask_count(self):
        """How many masks each of dropout and recurrent dropout draws: None
        for one mask, `gates` for one per gate (LSTM and GRU cells with
        recurrent dropout, as Keras)."""
        return self.gates if self.gates > 1 and self.recurrent_dropout > 0 else None

    def _draw_mask(self, like, rate):
        """0 with probability `rate`, else 1 / (1 - rate) (drawn as Dropout
        draws, from zen.rng), of `like`'s shape, or one per gate."""
        count = self.dropout_mask_count
        shape = tuple(like.shape) if count is None else (count, *like.shape)
        return ad.dropout(Tensor(xp.ones(shape, like.dtype), trainable=False), rate).value

    def get_dropout_mask(self, step_input):
        """The input mask of the sequence in progress (drawn on first use), or
        None without dropout. `step_input` is one step `(batch, features)`."""
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._draw_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        """The recurrent-state mask of the sequence in progress (drawn on first
        use), or None without recurrent dropout."""
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._draw_mask(step_state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self) -> None:
        """Forget the input mask: the next sequence draws a new one."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the recurrent-state mask: the next sequence draws a new one."""
        self._recurrent_dropout_mask = None

    def _masks(self, inputs, state, training):
        """(input mask, recurrent mask) for this step; (None, None) in inference."""
        if not training:
            return None, None
        return self.get_dropout_mask(inputs), self.get_recurrent_dropout_mask(state)

    # ----- states and configuration -----------------------------------------------------
    def get_initial_state(self, batch_size=None):
        """Zeros `(batch_size, size)` for each state (float32 arrays)."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [xp.zeros((batch_size, size), DEFAULT_DTYPE) for size in sizes]

    def get_config(self):
        """The constructor arguments, Keras's names."""
        return {"units": self.units, "activation": self._activation_name,
                "use_bias": self.use_bias,
                "kernel_initializer": callable_name(self.kernel_initializer),
                "recurrent_initializer": callable_name(self.recurrent_initializer),
                "bias_initializer": callable_name(self.bias_initializer),
                **penalty_config(self, PENALTIES),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}


class SimpleRNNCell(DropoutRNNCell):
    """One step of a fully connected recurrence (Keras's SimpleRNNCell):
    h = activation(x @ kernel + bias + h_prev @ recurrent_kernel).

    Args:
        units: size of the state (and of the output).
        activation: name or callable (default "tanh"; None is linear).
        use_bias: whether to add a bias (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        recurrent_initializer: name or callable (default "orthogonal").
        bias_initializer: name or callable (default "zeros").
        dropout: fraction of the inputs dropped in training (default 0).
        recurrent_dropout: fraction of the previous state dropped in training
            (default 0).
        name: the layer's name (default "simple_rnn_cell", made unique).

    Keras's `kernel_/recurrent_/bias_regularizer` (penalties added to
    the loss) and `kernel_/recurrent_/bias_constraint` (applied after each
    optimizer step) default to None; see zen.regularizers, zen.constraints.

    Call: `cell(inputs, states)` with inputs (batch, features) and states
    `[h]` (batch, units) -> `(h, [h])`.
    Weights: kernel (features, units), recurrent_kernel (units, units), bias
    (units,).

    Example:
        layer = RNN(SimpleRNNCell(8))      # the same as SimpleRNN(8)
    """

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, name: str = None):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         name, **penalties(kernel_regularizer, recurrent_regularizer,
                                          bias_regularizer, kernel_constraint,
                                          recurrent_constraint, bias_constraint))

    def build(self, input_shape):
        """Create kernel, recurrent_kernel and bias for steps of `input_shape`."""
        self.create_kernels(input_shape)
        self.bias = self.create_bias((self.units,))

    def call(self, inputs, states, training=False):
        """(inputs (batch, features), [h] or h) -> (h, [h] or h)."""
        nested = isinstance(states, (list, tuple))
        previous = states[0] if nested else states
        input_mask, state_mask = self._masks(inputs, previous, training)
        z = gate_matmul(inputs, input_mask, self.kernel, 1)
        if self.use_bias:
            z = z + self.bias
        output = self.activation(z + gate_matmul(previous, state_mask, self.recurrent_kernel, 1))
        return output, [output] if nested else output


class LSTMCell(DropoutRNNCell):
    """One step of a long short-term memory (Hochreiter & Schmidhuber, 1997),
    Keras's LSTMCell, gate order i, f, c, o:

        i, f, g, o = split(x @ kernel + h_prev @ recurrent_kernel + bias)
        c = recurrent_activation(f) * c_prev + recurrent_activation(i) * activation(g)
        h = recurrent_activation(o) * activation(c)

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
        recurrent_dropout: fraction of h_prev dropped in training (default 0).
        name: the layer's name (default "lstm_cell", made unique).

    Keras's `kernel_/recurrent_/bias_regularizer` (penalties added to
    the loss) and `kernel_/recurrent_/bias_constraint` (applied after each
    optimizer step) default to None; see zen.regularizers, zen.constraints.

    Call: `cell(inputs, [h, c])` -> `(h, [h, c])`.
    Weights: kernel (features, 4 * units), recurrent_kernel (units, 4 * units),
    bias (4 * units,).

    Example:
        layer = RNN(LSTMCell(8))           # the same as LSTM(8)
    """

    gates = 4

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, name: str = None):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         name, **penalties(kernel_regularizer, recurrent_regularizer,
                                          bias_regularizer, kernel_constraint,
                                          recurrent_constraint, bias_constraint))
        self._recurrent_activation_name = callable_name(recurrent_activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias")
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        """Create kernel, recurrent_kernel and bias for steps of `input_shape`."""
        self.create_kernels(input_shape)
        self.bias = self.create_bias((4 * self.units,), self._initial_bias)

    def _initial_bias(self, shape, dtype=None):
        """The bias initializer's values, the forget gate's at 1 with
        `unit_forget_bias` (Keras)."""
        units = self.units
        if not self.unit_forget_bias:
            return self._bias_init((4 * units,))
        return xp.concatenate([self._bias_init((units,)), initializers.ones((units,)),
                               self._bias_init((2 * units,))]).astype(DEFAULT_DTYPE)

    def call(self, inputs, states, training=False):
        """(inputs (batch, features), [h, c]) -> (h, [h, c])."""
        h_previous, c_previous = states[0], states[1]
        input_mask, state_mask = self._masks(inputs, h_previous, training)
        z = gate_matmul(inputs, input_mask, self.kernel, 4) + \
            gate_matmul(h_previous, state_mask, self.recurrent_kernel, 4)
        if self.use_bias:
            z = z + self.bias
        n = self.units
        gate = self.recurrent_activation
        i, f, o = gate(z[:, :n]), gate(z[:, n:2 * n]), gate(z[:, 3 * n:])
        c = f * c_previous + i * self.activation(z[:, 2 * n:3 * n])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        """The constructor arguments, Keras's names."""
        return {**super().get_config(), "recurrent_activation": self._recurrent_activation_name,
                "unit_forget_bias": self.unit_forget_bias}


class GRUCell(DropoutRNNCell):
    """One step of a gated recurrent unit (Cho et al., 2014), Keras's
    GRUCell, gate order z, r, h. With reset_after=True (Keras's default, the
    cuDNN variant) the reset gate multiplies the recurrent projection:

        xz, xr, xh = split(x @ kernel + bias[0])
        hz, hr, hh = split(h_prev @ recurrent_kernel + bias[1])
        z = recurrent_activation(xz + hz);  r = recurrent_activation(xr + hr)
        h = z * h_prev + (1 - z) * activation(xh + r * hh)

    With reset_after=False (one bias vector) it multiplies h_prev before the
    matmul: the candidate is activation(xh + (r * h_prev) @ recurrent_kernel_h).

    Args:
        units: size of the state (and of the output).
        activation: name or callable (default "tanh").
        recurrent_activation: name or callable for the gates (default "sigmoid").
        use_bias: whether to add biases (default True).
        kernel_initializer: name or callable (default "glorot_uniform").
        recurrent_initializer: name or callable (default "orthogonal").
        bias_initializer: name or callable (default "zeros").
        dropout: fraction of the inputs dropped in training (default 0).
        recurrent_dropout: fraction of h_prev dropped in training (default 0).
        reset_after: apply the reset gate after the recurrent matmul (default True).
        name: the layer's name (default "gru_cell", made unique).

    Keras's `kernel_/recurrent_/bias_regularizer` (penalties added to
    the loss) and `kernel_/recurrent_/bias_constraint` (applied after each
    optimizer step) default to None; see zen.regularizers, zen.constraints.

    Call: `cell(inputs, [h])` -> `(h, [h])`.
    Weights: kernel (features, 3 * units), recurrent_kernel (units, 3 * units),
    bias (2, 3 * units) with reset_after (row 0 input, row 1 recurrent), else
    (3 * units,).

    Example:
        layer = RNN(GRUCell(8))            # the same as GRU(8)
    """

    gates = 3

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, reset_after: bool = True, name: str = None):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         name, **penalties(kernel_regularizer, recurrent_regularizer,
                                          bias_regularizer, kernel_constraint,
                                          recurrent_constraint, bias_constraint))
        self._recurrent_activation_name = callable_name(recurrent_activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = check_bool(reset_after, "reset_after")

    def build(self, input_shape):
        """Create kernel, recurrent_kernel and bias for steps of `input_shape`."""
        self.create_kernels(input_shape)
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.bias = self.create_bias(shape)

    def call(self, inputs, states, training=False):
        """(inputs (batch, features), [h] or h) -> (h, [h] or h)."""
        nested = isinstance(states, (list, tuple))
        h_previous = states[0] if nested else states
        input_mask, state_mask = self._masks(inputs, h_previous, training)
        n, kernel = self.units, self.recurrent_kernel
        x = gate_matmul(inputs, input_mask, self.kernel, 3)
        if self.use_bias:
            x = x + (self.bias[0] if self.reset_after else self.bias)
        if self.reset_after:
            inner = gate_matmul(h_previous, state_mask, kernel, 3)
            if self.use_bias:
                inner = inner + self.bias[1]
        else:  # z and r from h_prev, the candidate's product waits for r
            inner = gate_matmul(h_previous, None if state_mask is None else state_mask[:2],
                                kernel[:, :2 * n], 2)
        z = self.recurrent_activation(x[:, :n] + inner[:, :n])
        r = self.recurrent_activation(x[:, n:2 * n] + inner[:, n:2 * n])
        if self.reset_after:
            recurrent_h = r * inner[:, 2 * n:]
        else:
            h_masked = h_previous if state_mask is None else h_previous * state_mask[2]
            recurrent_h = (r * h_masked) @ kernel[:, 2 * n:]
        candidate = self.activation(x[:, 2 * n:] + recurrent_h)
        h = z * h_previous + (1 - z) * candidate
        return h, [h] if nested else h

    def get_config(self):
        """The constructor arguments, Keras's names."""
        return {**super().get_config(), "recurrent_activation": self._recurrent_activation_name,
                "reset_after": self.reset_after}


class StackedRNNCells(Layer):
    """Several cells as one: each step runs them in order, each cell's output
    the next one's input (Keras's StackedRNNCells, what `RNN([cell, ...])`
    makes).

    Args:
        cells: a list of cells (each with `call` and `state_size`).
        name: the layer's name (default "stacked_rnn_cells", made unique).

    States: one entry per cell, in order (`state_size` is the list of the
    cells' state sizes); the output is the last cell's.
    Weights: each cell's, in order.

    Example:
        layer = RNN(StackedRNNCells([LSTMCell(16), LSTMCell(8)]))
    """

    def __init__(self, cells: list, name: str = None):
        super().__init__(name)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"Received an invalid value for `cells`, expected a non-empty "
                             f"list of RNN cells. Received: cells={cells!r}"[:300])
        for cell in cells:
            check_cell(cell, "cells")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        """The cells' state sizes, one entry per cell."""
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        """The last cell's output size."""
        return output_size_of(self.cells[-1])

    def build(self, input_shape):
        """Build each cell, for the previous cell's output size."""
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.input_shape = tuple(input_shape)
                cell.build(cell.input_shape)
                cell.built = True
            input_shape = (input_shape[0], output_size_of(cell))

    def get_initial_state(self, batch_size=None):
        """Each cell's initial states (its own `get_initial_state`, or zeros)."""
        states = []
        for cell in self.cells:
            make = getattr(cell, "get_initial_state", None)
            if make is not None:
                states.append(make(batch_size=batch_size))
            else:
                sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) \
                    else [cell.state_size]
                states.append([xp.zeros((batch_size, size), DEFAULT_DTYPE) for size in sizes])
        return states

    def call(self, inputs, states, training=False):
        """(inputs, [states of cell 0, states of cell 1, ...]) -> (the last
        cell's output, the new states in the same structure)."""
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = tree.is_nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            inputs, cell_states = call_cell(cell, inputs, cell_states, training)
            new_states.append(cell_states if was_list or len(cell_states) > 1
                              else cell_states[0])
        return inputs, new_states

    def get_config(self):
        """{"cells": each cell as `zen.nn.serialization.serialize` writes it}."""
        return {"cells": [serialize(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config):
        """The stack that `get_config` described, each cell rebuilt from its entry."""
        return cls(**{**config, "cells": [deserialize(entry) for entry in config["cells"]]})


def call_cell(cell, inputs, states: list, training) -> tuple:
    """One step of `cell`: (output, new states as a list). A Layer cell is
    called as a layer; any cell's `call` receives `training` if it declares it.

    Args:
        cell: the cell (a Layer or any object with `call` and `state_size`).
        inputs: one time step, (batch, features).
        states: the cell's states, a list.
        training: whether the step runs in training mode (dropout).
    """
    if isinstance(cell, Layer):
        output, new_states = cell(inputs, states, training=training)
    elif "training" in inspect.signature(cell.call).parameters:
        output, new_states = cell.call(inputs, states, training=training)
    else:
        output, new_states = cell.call(inputs, states)
    return output, list(new_states) if tree.is_nested(new_states) else [new_states]
