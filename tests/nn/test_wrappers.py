"""TimeDistributed and Bidirectional: Keras's output shapes, weight counts
and get_weights order, values against plain numpy references, float64
gradient checks through both wrappers, configs and bad arguments."""
import json

import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import (GRU, LSTM, SimpleRNN, Bidirectional, Conv1D, Conv2D, Dense, Dropout,
                    TimeDistributed)
from zen.nn.symbolic import SymbolicTensor

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.normal(size=shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----- numpy references of the recurrent layers (Keras's equations) ---------------------
def reference_rnn(x, kernel, recurrent_kernel, bias):
    """All hidden states (batch, time, units) and the final states."""
    h, outputs = np.zeros((x.shape[0], recurrent_kernel.shape[0])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)
        outputs.append(h)
    return np.stack(outputs, axis=1), [h]


def reference_lstm(x, kernel, recurrent_kernel, bias):
    units = recurrent_kernel.shape[0]
    h = c = np.zeros((x.shape[0], units))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (z[:, n * units:(n + 1) * units] for n in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1), [h, c]


def reference_gru(x, kernel, recurrent_kernel, bias):
    units = recurrent_kernel.shape[0]
    h, outputs = np.zeros((x.shape[0], units)), []
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + bias[0], 3, axis=1)
        hz, hr, hh = np.split(h @ recurrent_kernel + bias[1], 3, axis=1)
        z, r = sigmoid(xz + hz), sigmoid(xr + hr)
        h = z * h + (1 - z) * np.tanh(xh + r * hh)
        outputs.append(h)
    return np.stack(outputs, axis=1), [h]


REFERENCES = {SimpleRNN: reference_rnn, LSTM: reference_lstm, GRU: reference_gru}


def reference_bidirectional(cls, weights, x, merge_mode, return_sequences, return_state):
    """Forward on x, backward on x reversed in time (its sequence reversed
    back), merged; weights are [forward's 3 arrays, backward's 3]."""
    forward, forward_states = REFERENCES[cls](x, *weights[:3])
    backward, backward_states = REFERENCES[cls](x[:, ::-1], *weights[3:])
    if return_sequences:
        backward = backward[:, ::-1]
    else:
        forward, backward = forward[:, -1], backward[:, -1]
    merged = {"concat": lambda: [np.concatenate([forward, backward], axis=-1)],
              "sum": lambda: [forward + backward], "mul": lambda: [forward * backward],
              "ave": lambda: [(forward + backward) / 2],
              None: lambda: [forward, backward]}[merge_mode]()
    return merged + (forward_states + backward_states if return_state else [])


def as_list(output):
    return [t.value for t in output] if isinstance(output, list) else [output.value]


# ----- TimeDistributed --------------------------------------------------------------------
@pytest.mark.parametrize("make, input_shape, output_shape, count, shapes", [
    (lambda: TimeDistributed(Dense(3)), (2, 5, 4), (2, 5, 3), 15, [(4, 3), (3,)]),
    (lambda: TimeDistributed(Dense(3)), (2, 5, 6, 4), (2, 5, 6, 3), 15, [(4, 3), (3,)]),
    (lambda: TimeDistributed(Conv2D(3, 3, strides=2, padding="same")), (2, 4, 6, 6, 2),
     (2, 4, 3, 3, 3), 57, [(3, 3, 2, 3), (3,)]),
    (lambda: TimeDistributed(Conv1D(2, 3)), (2, 4, 6, 5), (2, 4, 4, 2), 32, [(3, 5, 2), (2,)]),
    (lambda: TimeDistributed(Dropout(0.5)), (2, 4, 3), (2, 4, 3), 0, []),
])
def test_time_distributed_contract(make, input_shape, output_shape, count, shapes):
    layer = make()
    y = layer(np.zeros(input_shape, np.float32))
    assert y.shape == output_shape and y.dtype == np.float32
    assert layer.count_params() == count
    assert [w.shape for w in layer.get_weights()] == shapes


def test_time_distributed_applies_the_layer_to_every_step():
    x = normal(3, 4, 5)
    layer = TimeDistributed(Dense(2, activation="tanh"))
    layer(x)
    kernel, bias = normal(5, 2), normal(2)
    layer.set_weights([kernel, bias])
    expected = np.stack([np.tanh(x[:, t] @ kernel + bias) for t in range(4)], axis=1)
    np.testing.assert_allclose(layer(x).value, expected, rtol=1e-5, atol=1e-6)
    assert layer.layer.kernel is layer.parameters()[0]  # the inner layer's weights


def test_time_distributed_build_makes_the_weights():
    layer = TimeDistributed(Dense(3))
    layer.build((None, 7, 4))
    layer.set_weights([np.ones((4, 3)), np.zeros(3)])
    np.testing.assert_array_equal(layer(np.ones((2, 7, 4), np.float32)).value, 4.0)


def test_time_distributed_keeps_a_trainable_inputs_gradient_path():
    x = Tensor(normal(2, 3, 4))
    TimeDistributed(Dense(2))(x).sum().backward()
    assert x.gradient.shape == (2, 3, 4)


# ----- Bidirectional: shapes and weights ------------------------------------------------------
@pytest.mark.parametrize("make, output_shape, count, shapes", [
    (lambda: Bidirectional(LSTM(8)), (2, 16), 832, [(4, 32), (8, 32), (32,)] * 2),
    (lambda: Bidirectional(GRU(3), merge_mode="sum"), (2, 3), 162, [(4, 9), (3, 9), (2, 9)] * 2),
    (lambda: Bidirectional(SimpleRNN(5, return_sequences=True), merge_mode="ave"), (2, 6, 5), 100,
     [(4, 5), (5, 5), (5,)] * 2),
    (lambda: Bidirectional(LSTM(8, return_sequences=True)), (2, 6, 16), 832,
     [(4, 32), (8, 32), (32,)] * 2),
])
def test_bidirectional_contract(make, output_shape, count, shapes):
    layer = make()
    y = layer(np.zeros((2, 6, 4), np.float32))
    assert y.shape == output_shape and y.dtype == np.float32
    assert layer.count_params() == count
    assert [w.shape for w in layer.get_weights()] == shapes


def test_bidirectional_copies_the_layer_forward_then_backward():
    lstm = LSTM(4, name="encoder")
    layer = Bidirectional(lstm)
    assert (layer.forward_layer.name, layer.backward_layer.name) == \
        ("forward_encoder", "backward_encoder")
    assert lstm not in layer.sublayers()  # fresh copies, as Keras makes them
    layer(np.zeros((1, 3, 2), np.float32))
    weights = [np.full(w.shape, i, np.float32) for i, w in enumerate(layer.get_weights())]
    layer.set_weights(weights)
    assert layer.forward_layer.kernel.value[0, 0] == 0
    assert layer.backward_layer.kernel.value[0, 0] == 3


@pytest.mark.parametrize("cls, states", [(SimpleRNN, 1), (LSTM, 2), (GRU, 1)])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_bidirectional_matches_the_numpy_reference(cls, states, merge_mode,
                                                   return_sequences, return_state):
    x = normal(2, 5, 3)
    layer = Bidirectional(cls(4, return_sequences=return_sequences, return_state=return_state),
                          merge_mode=merge_mode)
    layer(x)
    weights = [0.5 * normal(*w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    got = as_list(layer(x))
    expected = reference_bidirectional(cls, weights, x, merge_mode, return_sequences,
                                       return_state)
    outputs = 1 if merge_mode else 2
    assert len(got) == outputs + (2 * states if return_state else 0)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_bidirectional_initial_state_is_split_forward_then_backward():
    x = normal(2, 4, 3)
    layer = Bidirectional(LSTM(3))
    layer(x)
    h_f, c_f, h_b, c_b = (normal(2, 3) for _ in range(4))
    got = layer(x, initial_state=[h_f, c_f, h_b, c_b]).value
    forward = layer.forward_layer(x, initial_state=[h_f, c_f]).value
    backward = layer.backward_layer(x[:, ::-1], initial_state=[h_b, c_b]).value
    np.testing.assert_allclose(got, np.concatenate([forward, backward], -1), rtol=1e-6)
    with pytest.raises(ValueError, match="initial_state"):
        layer(x, initial_state=[h_f, c_f, h_b])


def test_a_given_backward_layer_is_used_as_it_is():
    backward = GRU(3, name="my_backward")
    layer = Bidirectional(GRU(3), backward_layer=backward)
    layer(np.zeros((1, 4, 2), np.float32))
    assert layer.backward_layer is backward
    assert layer.count_params() == 2 * 3 * (2 * 3 + 3 * 3 + 2 * 3)


def test_symbolic_calls_give_keras_output_shapes():
    x = SymbolicTensor((None, None, 4))
    assert Bidirectional(LSTM(3, return_sequences=True))(x).shape == (None, None, 6)
    states = Bidirectional(LSTM(3, return_state=True))(x)
    assert [s.shape for s in states] == [(None, 6)] + [(None, 3)] * 4
    assert TimeDistributed(Dense(2))(SymbolicTensor((None, 7, 4))).shape == (None, 7, 2)


# ----- gradients (float64 central differences) --------------------------------------------
def check_layer_gradients(layer, x):
    """grad_check the output (lists concatenated) against the input and every
    weight of the layer and its sublayers, set to random float64 values."""
    layer(x)
    slots = [(owner, name) for owner in layer.all_layers()
             for name, value in vars(owner).items() if isinstance(value, Tensor)]
    for owner, name in slots:
        setattr(owner, name, Tensor(0.5 * normal(*getattr(owner, name).shape)))

    def fn(x, *weights):
        for (owner, name), weight in zip(slots, weights):
            setattr(owner, name, weight)
        out = layer(x)
        return ad.concat([o.reshape(-1) for o in out], 0) if isinstance(out, list) else out

    grad_check(fn, [x] + [getattr(owner, name) for owner, name in slots])


GRADIENTS = {
    "time_distributed_dense": (lambda: TimeDistributed(Dense(2, activation="tanh")), (2, 3, 4)),
    "time_distributed_conv1d": (lambda: TimeDistributed(Conv1D(2, 2)), (2, 2, 4, 3)),
    "bi_lstm_concat_sequences": (
        lambda: Bidirectional(LSTM(2, return_sequences=True)), (2, 3, 2)),
    "bi_gru_sum_states": (
        lambda: Bidirectional(GRU(2, return_state=True), merge_mode="sum"), (2, 3, 2)),
    "bi_rnn_ave": (lambda: Bidirectional(SimpleRNN(3), merge_mode="ave"), (2, 4, 2)),
    "bi_rnn_mul_sequences": (
        lambda: Bidirectional(SimpleRNN(2, return_sequences=True), merge_mode="mul"), (2, 3, 2)),
    "bi_lstm_none_states": (
        lambda: Bidirectional(LSTM(2, return_sequences=True, return_state=True),
                              merge_mode=None), (2, 3, 2)),
}


@pytest.mark.parametrize("name", GRADIENTS)
def test_gradients(name):
    make, shape = GRADIENTS[name]
    check_layer_gradients(make(), normal(*shape))


def test_reversed_slice_is_differentiable():
    grad_check(lambda t: t[:, ::-1] * np.arange(4.0)[None, :, None], [normal(2, 4, 3)])


# ----- configs ----------------------------------------------------------------------------
CONFIGURED = [
    lambda: TimeDistributed(Dense(3, activation="relu", use_bias=False)),
    lambda: Bidirectional(LSTM(3, return_sequences=True)),
    lambda: Bidirectional(GRU(2), merge_mode="mul"),
    lambda: Bidirectional(SimpleRNN(2, activation="relu", return_state=True), merge_mode=None),
    lambda: Bidirectional(LSTM(3), backward_layer=LSTM(3, return_state=False), merge_mode="ave"),
]


@pytest.mark.parametrize("make", CONFIGURED, ids=lambda make: repr(make())[:60])
def test_config_round_trip_gives_the_same_outputs(make):
    layer, x = make(), normal(2, 4, 3)
    layer(x)
    config = json.loads(json.dumps(layer.get_config()))  # JSON-serialisable
    rebuilt = type(layer).from_config(config)
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    assert rebuilt.get_config() == layer.get_config()
    for got, expected in zip(as_list(rebuilt(x)), as_list(layer(x))):
        np.testing.assert_array_equal(got, expected)


def test_config_stores_the_inner_layer_by_class_name():
    config = TimeDistributed(Dense(3)).get_config()
    assert config["layer"]["class_name"] == "Dense"
    assert config["layer"]["config"]["units"] == 3
    assert Bidirectional(GRU(2)).get_config()["layer"]["class_name"] == "GRU"


# ----- errors -----------------------------------------------------------------------------
BAD_ARGS = [
    (lambda: Bidirectional(Dense(3)), "`layer`"),
    (lambda: Bidirectional("lstm"), "`layer`"),
    (lambda: Bidirectional(LSTM(3), merge_mode="max"), "merge_mode='max'"),
    (lambda: Bidirectional(LSTM(3), backward_layer=Dense(3)), "`backward_layer`"),
    (lambda: Bidirectional(LSTM(3), backward_layer=LSTM(3, return_sequences=True)),
     "return_sequences"),
    (lambda: Bidirectional(LSTM(3, return_state=True), backward_layer=LSTM(3)),
     "return_state"),
    (lambda: TimeDistributed("dense"), "`layer`"),
    (lambda: TimeDistributed.from_config({"layer": {"class_name": "NoSuchLayer",
                                                    "config": {}}}),
     "Unknown layer class 'NoSuchLayer'.*register_serializable"),
]


@pytest.mark.parametrize("make, words", BAD_ARGS, ids=[w for _, w in BAD_ARGS])
def test_bad_arguments_name_themselves(make, words):
    with pytest.raises(ValueError, match=words):
        make()


@pytest.mark.parametrize("make, shape", [
    (lambda: TimeDistributed(Dense(2)), (2, 3)),
    (lambda: Bidirectional(LSTM(2)), (2, 3)),
])
def test_inputs_without_a_time_axis(make, shape):
    with pytest.raises(ValueError, match=r"\(batch, time"):
        make()(np.zeros(shape, np.float32))
