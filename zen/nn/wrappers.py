"""Layers that wrap another layer: TimeDistributed (one layer applied to
every time step) and Bidirectional (a recurrent layer run forwards and
backwards over time, the two outputs merged).

A wrapped layer is a sublayer, so its weights are the wrapper's; configs
store it as `zen.nn.serialization` writes layers, and `from_config`
rebuilds it from there (Zen's layers, or a user's registered class).
"""
import numpy as np

from .. import autodiff as ad
from .. import tree
from ..validation import check_one_of
from . import masking, recurrent
from .layer import Layer
from .serialization import deserialize, serialize


def build_sublayer(layer: Layer, input_shape) -> None:
    """Build `layer` for `input_shape` now (so that the wrapper has its
    weights as soon as it is built), unless it already is."""
    if not layer.built:
        layer.input_shape = input_shape
        layer.build(input_shape)
        layer.built = True


class TimeDistributed(Layer):
    """Apply `layer` to every time step of a sequence: time is folded into
    the batch, (batch, time, ...) -> (batch * time, ...), the layer runs once
    on that, and the result is unfolded again. All steps share the layer's
    weights, which are this wrapper's weights.

    Args:
        layer: the Layer to apply (built for inputs (batch * time, ...)).

    Shapes: (batch, time, *inner) -> (batch, time, *layer_output), where the
    layer maps (n, *inner) -> (n, *layer_output). A (batch, time) mask
    passes through (see zen.nn.masking); a layer whose call takes `mask`
    gets it folded as its inputs are, (batch * time,).

    Example:
        dense = TimeDistributed(Dense(8))
        dense(np.zeros((32, 10, 16))).shape        # (32, 10, 8); 136 parameters
    """

    supports_masking = True

    def __init__(self, layer: Layer, name: str = None):
        super().__init__(name)
        if not isinstance(layer, Layer):
            raise ValueError(f"Received an invalid value for `layer` of TimeDistributed, "
                             f"expected a Layer instance. Received: layer={layer!r}")
        self.layer = layer

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            raise ValueError(f"TimeDistributed expects inputs of shape (batch, time, ...), "
                             f"at least 3-D; received an input of shape {input_shape}")
        batch, steps, *inner = input_shape
        folded = None if batch is None or steps is None else batch * steps
        build_sublayer(self.layer, (folded, *inner))

    def call(self, x, mask=None):
        batch, steps, *inner = x.shape
        folded = {}
        if mask is not None and self.layer._mask_parameters()[0]:
            folded["mask"] = masking.as_mask(mask).reshape(batch * steps, *np.shape(mask)[2:])
        y = self.layer(x.reshape((batch * steps, *inner)), **folded)
        if not hasattr(y, "shape"):
            raise ValueError(f"TimeDistributed needs a layer with one output; "
                             f"{type(self.layer).__name__} returned {type(y).__name__}")
        return ad.reshape(y, (batch, steps, *y.shape[1:]))

    def get_config(self):
        return {"layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "layer": deserialize(config["layer"])})


MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def check_recurrent(layer, argument):
    if not isinstance(layer, recurrent._Recurrent):
        raise ValueError(f"Received an invalid value for `{argument}` of Bidirectional, "
                         f"expected a recurrent layer (RNN, LSTM or GRU). "
                         f"Received: {argument}={layer!r}")


def copy_layer(layer: Layer, prefix: str) -> Layer:
    """A fresh layer of the same class and config (no weights), named
    `prefix + name`, as Keras makes a Bidirectional's two directions."""
    name = layer.name.removeprefix("forward_").removeprefix("backward_")
    copy = type(layer).from_config({**layer.get_config(), "name": prefix + name})
    copy.trainable = layer.trainable
    return copy


def reverse_time(x):
    """x[:, ::-1], differentiable when x is a Tensor."""
    return x[:, ::-1]


class Bidirectional(Layer):
    """Run a recurrent layer over the sequence forwards and a copy of it
    backwards (on the time-reversed input), and merge the two outputs.

    The forward and backward layers are fresh copies made from `layer`'s
    class and config (as in Keras: `layer`'s own weights, if any, are not
    used). With return_sequences, the backward layer's outputs are reversed
    back, so that step t of both directions lines up.

    Args:
        layer: an RNN, LSTM or GRU.
        merge_mode: how to combine the two outputs: "concat" (the default,
            along the last axis), "sum", "mul", "ave" (their mean) or None
            (a list [forward_output, backward_output]).
        backward_layer: a recurrent layer to use for the backward direction
            instead of a copy of `layer` (same return_sequences and
            return_state as `layer`); it always runs on the reversed input.

    Shapes: input (batch, time, features); output as the layer's, with
    2 * units features for "concat". With return_state=True on `layer`, the
    result is [output, *forward_states, *backward_states] (with merge_mode
    None: [forward_output, backward_output, *states]). A mask (batch, time)
    reaches both directions (reversed for the backward one); with
    return_sequences, masked steps output zeros (Keras's
    zero_output_for_mask) and the output keeps the mask.
    Weights: the forward layer's, then the backward layer's (Keras's order).

    Example:
        bi = Bidirectional(LSTM(8))
        bi(np.zeros((32, 10, 4))).shape            # (32, 16); 832 parameters
    """

    def __init__(self, layer, merge_mode: str = "concat", backward_layer=None,
                 name: str = None):
        super().__init__(name)
        check_recurrent(layer, "layer")
        self.merge_mode = check_one_of(merge_mode, "merge_mode", MERGE_MODES)
        self.forward_layer = copy_layer(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = copy_layer(layer, "backward_")
        else:
            check_recurrent(backward_layer, "backward_layer")
            self._check_same_outputs(layer, backward_layer)
            self.backward_layer = backward_layer
        self._given_backward = backward_layer is not None
        for direction in (self.forward_layer, self.backward_layer):  # Keras's rule
            direction.zero_output_for_mask = direction.return_sequences

    supports_masking = True

    @staticmethod
    def _check_same_outputs(layer, backward_layer):
        for attribute in ("return_sequences", "return_state"):
            forward, backward = getattr(layer, attribute), getattr(backward_layer, attribute)
            if forward != backward:
                raise ValueError(f"Received an invalid value for `backward_layer`: its "
                                 f"{attribute} must match the forward layer's. Received: "
                                 f"layer.{attribute}={forward}, "
                                 f"backward_layer.{attribute}={backward}")

    @property
    def return_sequences(self) -> bool:
        """Whether the output has every time step (the wrapped layer's setting)."""
        return self.forward_layer.return_sequences

    @property
    def return_state(self) -> bool:
        """Whether the final states are returned too (the wrapped layer's setting)."""
        return self.forward_layer.return_state

    def build(self, input_shape):
        build_sublayer(self.forward_layer, input_shape)
        build_sublayer(self.backward_layer, input_shape)

    def call(self, x, initial_state=None, mask=None):
        forward_state, backward_state = self._split_states(initial_state)
        mask = masking.single_mask(mask)
        reversed_mask = None if mask is None else masking.as_mask(mask)[:, ::-1]
        y = self.forward_layer(x, initial_state=forward_state, mask=mask)
        y_reversed = self.backward_layer(reverse_time(x), initial_state=backward_state,
                                         mask=reversed_mask)
        states = []
        if self.return_state:
            (y, *forward_states), (y_reversed, *backward_states) = y, y_reversed
            states = forward_states + backward_states
        if self.return_sequences:
            y_reversed = reverse_time(y_reversed)
        output = self._merge(y, y_reversed)
        if not self.return_state:
            return output
        return output + states if self.merge_mode is None else [output, *states]

    def compute_mask(self, inputs, previous_mask=None):
        """The input's mask on the output(s) with return_sequences, none on a
        last output or the states (Keras's)."""
        mask = masking.single_mask(previous_mask)
        output = mask if self.return_sequences else None
        outputs = [output, output] if self.merge_mode is None else [output]
        if self.return_state:
            states = len(tree.flatten(self.forward_layer.state_size))
            return outputs + [None] * (2 * states)
        return outputs if self.merge_mode is None else output

    def _split_states(self, initial_state):
        """[forward states..., backward states...] -> the two halves."""
        if initial_state is None:
            return None, None
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) % 2:
            raise ValueError(f"Received an invalid value for `initial_state` of "
                             f"Bidirectional, expected a list of the forward layer's "
                             f"states then the backward layer's. Received: "
                             f"initial_state={initial_state!r}")
        half = len(initial_state) // 2
        return list(initial_state[:half]), list(initial_state[half:])

    def _merge(self, y, y_reversed):
        if self.merge_mode == "concat":
            return ad.concat([y, y_reversed], axis=-1)
        if self.merge_mode == "sum":
            return y + y_reversed
        if self.merge_mode == "mul":
            return y * y_reversed
        if self.merge_mode == "ave":
            return (y + y_reversed) * 0.5
        return [y, y_reversed]

    def get_config(self):
        backward = serialize(self.backward_layer) if self._given_backward else None
        return {"layer": serialize(self.forward_layer), "merge_mode": self.merge_mode,
                "backward_layer": backward}

    @classmethod
    def from_config(cls, config):
        backward = config.get("backward_layer")
        return cls(**{**config, "layer": deserialize(config["layer"]),
                      "backward_layer": None if backward is None
                      else deserialize(backward)})
