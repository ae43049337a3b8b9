"""Recurrent layers: RNN (Keras SimpleRNN), LSTM and GRU.

The input projection `x @ kernel + bias` is made for all time steps in one
matmul (time-major, so each step's slice is contiguous); the recurrence over
time then runs as one fused op per layer (`zen.autodiff.rnn_scan`,
`lstm_scan`, `gru_scan`): one matmul `h @ recurrent_kernel` per step forward
and back, and the weight gradients batched over time. Inputs are `(batch,
time, features)`, as in Keras.

An RNN with an activation the fused op does not know runs step by step
instead: a cell composed of existing ops, and a loop over time steps with
whole batches, so that backpropagation through time is simply the reverse
pass over the unrolled graph.
"""
import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE, xp
from ..validation import check_bool, check_positive_int
from . import activations, initializers, symbolic
from .layer import Layer


class _Recurrent(Layer):
    """What RNN, LSTM and GRU share: arguments, weights, the input projection
    and the step-by-step loop over time.

    A subclass sets `gates` (blocks in the kernel), `state_names`, defines
    `_initial_bias(units)`, and either `call` (with a fused scan) or
    `step(projected_x, states)` for the loop.
    """

    gates = 1
    state_names = ("h",)

    def __init__(self, units: int, return_sequences: bool = False,
                 return_state: bool = False, name: str = None):
        super().__init__(name)
        self.units = check_positive_int(units, "units")
        self.return_sequences = check_bool(return_sequences, "return_sequences")
        self.return_state = check_bool(return_state, "return_state")

    # ----- weights --------------------------------------------------------------
    def build(self, input_shape):
        _check_sequence_shape(type(self).__name__, input_shape)
        features, width = input_shape[-1], self.gates * self.units
        self.kernel = Tensor(initializers.glorot_uniform((features, width)))
        self.recurrent_kernel = Tensor(initializers.orthogonal((self.units, width)))
        self.bias = Tensor(self._initial_bias(self.units))

    def _initial_bias(self, units):
        return initializers.zeros((self.gates * units,))

    # ----- the loop over time ---------------------------------------------------
    def __call__(self, x, initial_state=None):
        if symbolic.any_symbolic((x, initial_state)):  # a functional graph records the call
            return super().__call__(x, initial_state=initial_state)
        if not isinstance(x, Tensor):
            dtype = self.kernel.dtype if self.built else DEFAULT_DTYPE
            x = Tensor(xp.asarray(x, dtype=dtype), trainable=False)
        _check_sequence_shape(type(self).__name__, x.shape)
        return super().__call__(x, initial_state=initial_state)

    def call(self, x, initial_state=None):
        """x: (batch, time, features) -> the output(s) described in the class docstring."""
        states = self._initial_states(x.shape[0], x.dtype, initial_state)
        projected = self._project(x)
        outputs = []
        for t in range(len(projected)):
            output, states = self.step(projected[t], states)
            outputs.append(output)
        output = ad.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [output, *states] if self.return_state else output

    def _outputs(self, sequence, final_states):
        """The layer's result from the time-major outputs (time, batch, units)
        of a fused scan and the final states (h first)."""
        output = ad.transpose(sequence, (1, 0, 2)) if self.return_sequences else final_states[0]
        return [output, *final_states] if self.return_state else output

    def _project(self, x):
        """x @ kernel + bias for all time steps in one matmul: (time, batch, gates * units)."""
        batch, steps, features = x.shape
        if steps == 0:
            raise ValueError(f"{type(self).__name__} needs at least one time step, "
                             f"received an input of shape {x.shape}")
        time_major = ad.transpose(x, (1, 0, 2)).reshape(steps * batch, features)
        return (time_major @ self.kernel + self._input_bias()).reshape(steps, batch, -1)

    def _input_bias(self):
        return self.bias

    def _initial_states(self, batch, dtype, initial_state):
        names = self.state_names
        if initial_state is None:
            zeros = xp.zeros((batch, self.units), dtype)
            return [Tensor(zeros, trainable=False) for _ in names]
        if isinstance(initial_state, (Tensor, np.ndarray)) and len(names) == 1:
            initial_state = [initial_state]
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != len(names):
            raise ValueError(f"Received an invalid value for `initial_state`, expected a "
                             f"list of {len(names)} array(s) {list(names)} of shape "
                             f"(batch, units). Received: {initial_state!r}")
        states = [s if isinstance(s, Tensor) else Tensor(xp.asarray(s, dtype), trainable=False)
                  for s in initial_state]
        for name, state in zip(names, states):
            if state.shape != (batch, self.units):
                raise ValueError(f"Received an invalid shape for initial state `{name}`, "
                                 f"expected {(batch, self.units)}. Received: {state.shape}")
        return states

    def step(self, projected_x, states):
        """One time step: (x_t @ kernel + bias, [state, ...]) -> (output, new states)."""
        raise NotImplementedError(f"{type(self).__name__} must define step (subclass hook)")

    # ----- shapes and configuration ---------------------------------------------
    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * len(self.state_names)
        return output

    def get_config(self):
        return {"units": self.units, "return_sequences": self.return_sequences,
                "return_state": self.return_state}


def _check_sequence_shape(layer, shape):
    if shape is None or len(shape) != 3:
        raise ValueError(f"{layer} expects inputs of shape (batch, time, features); "
                         f"received an input of shape {shape}")


class RNN(_Recurrent):
    """A fully connected recurrent layer (Keras SimpleRNN):
    h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).

    Args:
        units: size of the hidden state (and of the output).
        activation: name or callable (default "tanh").
        return_sequences: return the output of every step (default False:
            only the last).
        return_state: also return the final state (default False).

    Input shape: (batch, time, features).
    Output shape: (batch, units), or (batch, time, units) with
    return_sequences; with return_state, a list [output, h_final].
    Weights: kernel (features, units) glorot_uniform, recurrent_kernel
    (units, units) orthogonal, bias (units,) zeros.
    With a tanh, sigmoid, relu or linear activation the time loop runs as one
    fused op (`zen.autodiff.rnn_scan`); other activations go step by step.

    Example:
        layer = RNN(64)
        y = layer(np.zeros((32, 10, 1)))     # (32, 64); 4,224 parameters
    """

    def __init__(self, units: int, activation="tanh", return_sequences: bool = False,
                 return_state: bool = False, name: str = None):
        super().__init__(units, return_sequences, return_state, name)
        self.activation = activations.get(activation)
        self._activation_name = activation if isinstance(activation, str) or \
            activation is None else getattr(activation, "__name__", repr(activation))

    def call(self, x, initial_state=None):
        activation = self._activation_name or "linear"
        if activation not in ad.recurrent.ACTIVATIONS:
            return super().call(x, initial_state)  # a custom activation: step by step
        (h0,) = self._initial_states(x.shape[0], x.dtype, initial_state)
        states = ad.rnn_scan(self._project(x), h0, self.recurrent_kernel, activation)
        return self._outputs(states, [states[-1]])

    def step(self, projected_x, states):
        h = self.activation(projected_x + states[0] @ self.recurrent_kernel)
        return h, [h]

    def get_config(self):
        return {"units": self.units, "activation": self._activation_name,
                **super().get_config()}


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), as Keras has it:

        i, f, g, o = split(x_t @ kernel + h @ recurrent_kernel + bias)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)

    Args:
        units: size of the hidden and cell states (and of the output).
        return_sequences: return h of every step (default False: only the last).
        return_state: also return the final states (default False).

    Input shape: (batch, time, features).
    Output shape: (batch, units), or (batch, time, units) with
    return_sequences; with return_state, a list [output, h_final, c_final].
    Weights: kernel (features, 4 * units) glorot_uniform, recurrent_kernel
    (units, 4 * units) orthogonal, bias (4 * units,) zeros except the forget
    gate's slice, which is 1 (Keras's unit_forget_bias: remember by default).
    Gate order in the weights: input, forget, cell, output (Keras).
    The time loop runs as one fused op (`zen.autodiff.lstm_scan`).

    Example:
        layer = LSTM(64, return_state=True)
        out, h, c = layer(np.zeros((32, 10, 8)))   # 18,688 parameters
    """

    gates = 4
    state_names = ("h", "c")

    def _initial_bias(self, units):
        bias = initializers.zeros((4 * units,))
        bias[units:2 * units] = 1.0
        return bias

    def call(self, x, initial_state=None):
        h0, c0 = self._initial_states(x.shape[0], x.dtype, initial_state)
        states = ad.lstm_scan(self._project(x), h0, c0, self.recurrent_kernel)
        return self._outputs(states[0], [states[0, -1], states[1, -1]])


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), Keras's default variant
    (reset_after=True, the one cuDNN implements): the reset gate multiplies
    the recurrent projection after the matmul, and input and recurrent
    projections have separate biases.

        xz, xr, xh = split(x_t @ kernel + input_bias)
        hz, hr, hh = split(h @ recurrent_kernel + recurrent_bias)
        z = sigmoid(xz + hz);  r = sigmoid(xr + hr)
        h = z * h + (1 - z) * tanh(xh + r * hh)

    Args:
        units: size of the hidden state (and of the output).
        return_sequences: return h of every step (default False: only the last).
        return_state: also return the final state (default False).

    Input shape: (batch, time, features).
    Output shape: (batch, units), or (batch, time, units) with
    return_sequences; with return_state, a list [output, h_final].
    Weights: kernel (features, 3 * units) glorot_uniform, recurrent_kernel
    (units, 3 * units) orthogonal, bias (2, 3 * units) zeros (row 0 the input
    bias, row 1 the recurrent bias). Gate order: update, reset, candidate.
    Parameters: 3 * (features * units + units * units + 2 * units).
    The time loop runs as one fused op (`zen.autodiff.gru_scan`).

    Example:
        layer = GRU(64)
        y = layer(np.zeros((32, 10, 8)))     # (32, 64); 14,208 parameters
    """

    gates = 3

    def _initial_bias(self, units):
        return initializers.zeros((2, 3 * units))

    def _input_bias(self):
        return self.bias[0]

    def call(self, x, initial_state=None):
        (h0,) = self._initial_states(x.shape[0], x.dtype, initial_state)
        states = ad.gru_scan(self._project(x), h0, self.recurrent_kernel, self.bias[1])
        return self._outputs(states, [states[-1]])
