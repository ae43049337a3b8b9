"""SimpleRNN, LSTM and GRU: Keras's recurrent layers that own their cell
(`zen.nn.cells`; its weights are theirs, in Keras's order), RNNs
(`zen.nn.recurrent.RNN`) that in the common case run the recurrence as one
fused op instead of the step-by-step loop (`zen.autodiff.rnn_scan`,
`lstm_scan`, `gru_scan`): the input projection `x @ kernel + bias` for all
steps in one matmul (time-major, so each step's slice is contiguous), then
one matmul `h @ recurrent_kernel` per step forward and back.

Input dropout (one mask for the whole sequence) is applied to the inputs
before the projection, go_backwards reverses them, stateful only changes
where the initial states come from, and a mask (zen.nn.masking) rides
along into the scan: all keep the fused op. These run step by step through
the cell: recurrent dropout in training, GRU(reset_after=False),
activations the fused ops do not know (SimpleRNN: other than tanh,
sigmoid, relu and linear; LSTM and GRU: other than tanh with sigmoid
gates).
"""
from .. import autodiff as ad
from ..autodiff import Tensor
from ..backend import xp
from ..validation import check_bool
from . import activations, regularizers
from .cells import GRUCell, LSTMCell, SimpleRNNCell, penalties
from .core import penalty_config
from .layer import Layer
from .recurrent import RNN, _check_steps

__all__ = ["SimpleRNN", "LSTM", "GRU"]


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
        return ad.linear(time_major, self.kernel, self._input_bias()).reshape(steps, batch, -1)

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
