"""Keras's recurrent vocabulary: the cells, RNN(cell), StackedRNNCells, and
the recurrent layers' dropout, recurrent_dropout, go_backwards, stateful and
GRU(reset_after=False). Values against step-by-step float64 references
written here from Keras's equations, float64 gradient checks through
RNN(cell), a user's own cell trained with fit, configs (and the old
RNN(units) config loading as SimpleRNN), which configurations keep the fused
scans, and error messages."""
import json

import numpy as np
import pytest

import zen
from zen import autodiff as ad
from zen import nn
from zen.autodiff import Tensor, grad_check
from zen.nn import (GRU, LSTM, RNN, GRUCell, Layer, LSTMCell, SimpleRNN, SimpleRNNCell,
                    StackedRNNCells)
from zen.nn.serialization import deserialize, serialize

B, T, F, U = 2, 4, 3, 3


def normal(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).normal(size=shape) * scale


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----- float64 references: one step of each cell, Keras's equations -----------------------
def simple_step(x, states, kernel, recurrent_kernel, bias, act=np.tanh):
    h = act(x @ kernel + bias + states[0] @ recurrent_kernel)
    return h, [h]


def lstm_step(x, states, kernel, recurrent_kernel, bias):
    (h, c), n = states, recurrent_kernel.shape[0]
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = (z[:, k * n:(k + 1) * n] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, [h, c]


def gru_step(x, states, kernel, recurrent_kernel, bias, reset_after=True):
    h, n = states[0], recurrent_kernel.shape[0]
    xz, xr, xh = np.split(x @ kernel + (bias[0] if reset_after else bias), 3, axis=1)
    if reset_after:
        hz, hr, hh = np.split(h @ recurrent_kernel + bias[1], 3, axis=1)
    else:
        hz, hr = np.split(h @ recurrent_kernel[:, :2 * n], 2, axis=1)
    z, r = sigmoid(xz + hz), sigmoid(xr + hr)
    candidate = np.tanh(xh + (r * hh if reset_after else (r * h) @ recurrent_kernel[:, 2 * n:]))
    h = z * h + (1 - z) * candidate
    return h, [h]


STEPS = {"simple": simple_step, "lstm": lstm_step, "gru": gru_step,
         "gru_before": lambda x, s, *w: gru_step(x, s, *w, reset_after=False)}


def reference(step, x, weights, states, go_backwards=False):
    """(outputs of every step in processing order, final states)."""
    outputs = []
    for t in (reversed(range(x.shape[1])) if go_backwards else range(x.shape[1])):
        output, states = step(x[:, t], states, *weights)
        outputs.append(output)
    return np.stack(outputs, axis=1), states


def float64_weights(layer, x, seed=1):
    """Build `layer` on x and give it random float64 weights; returns them."""
    layer(x)
    arrays = []
    for k, tensor in enumerate(layer.weights):
        tensor.value = normal(*tensor.shape, seed=seed + k, scale=0.6)
        arrays.append(tensor.value)
    return arrays


def copy_weights(layer, arrays):
    """Give the (built) layer these exact float64 arrays as its weights."""
    for tensor, array in zip(layer.weights, arrays):
        tensor.value = array.copy()


def zero_states(kind, batch=B, units=U):
    return [np.zeros((batch, units))] * (2 if kind == "lstm" else 1)


LAYERS = {"simple": lambda **kw: SimpleRNN(U, **kw), "lstm": lambda **kw: LSTM(U, **kw),
          "gru": lambda **kw: GRU(U, **kw),
          "gru_before": lambda **kw: GRU(U, reset_after=False, **kw)}
CELLS = {"simple": lambda **kw: SimpleRNNCell(U, **kw), "lstm": lambda **kw: LSTMCell(U, **kw),
         "gru": lambda **kw: GRUCell(U, **kw),
         "gru_before": lambda **kw: GRUCell(U, reset_after=False, **kw)}


# ----- the cells' contract ------------------------------------------------------------------
@pytest.mark.parametrize("make, state_size, shapes", [
    (lambda: SimpleRNNCell(4), 4, [(3, 4), (4, 4), (4,)]),
    (lambda: SimpleRNNCell(4, use_bias=False), 4, [(3, 4), (4, 4)]),
    (lambda: LSTMCell(4), [4, 4], [(3, 16), (4, 16), (16,)]),
    (lambda: GRUCell(4), 4, [(3, 12), (4, 12), (2, 12)]),
    (lambda: GRUCell(4, reset_after=False), 4, [(3, 12), (4, 12), (12,)]),
    (lambda: StackedRNNCells([LSTMCell(4), SimpleRNNCell(2)]), [[4, 4], 2],
     [(3, 16), (4, 16), (16,), (4, 2), (2, 2), (2,)]),
])
def test_cell_weights_and_state_sizes_as_keras(make, state_size, shapes):
    cell = make()
    assert cell.state_size == state_size
    layer = RNN(cell)
    layer(np.zeros((2, 5, 3), np.float32))
    assert [w.shape for w in layer.get_weights()] == shapes       # the cell's are the RNN's
    assert [t for _, t in cell.named_tensors()] == layer.weights
    names = [name for name, _ in layer.named_tensors()]
    assert names[0].endswith("kernel") and names[1].endswith("recurrent_kernel")


def test_a_cell_steps_alone():
    cell = LSTMCell(U)
    x, h, c = normal(B, F), normal(B, U, seed=2), normal(B, U, seed=3)
    cell(Tensor(x), [Tensor(h), Tensor(c)])
    weights = float64_weights(RNN(cell), normal(B, 1, F))
    output, (h1, c1) = cell(Tensor(x), [Tensor(h), Tensor(c)])
    want, (want_h, want_c) = lstm_step(x, [h, c], *weights)
    np.testing.assert_allclose(output.value, want, rtol=1e-12)
    np.testing.assert_allclose(c1.value, want_c, rtol=1e-12)


def test_lstm_cell_bias_starts_with_the_forget_gate_at_one():
    for unit_forget_bias, want in [(True, [0, 0, 1, 1, 0, 0, 0, 0]), (False, [0] * 8)]:
        layer = RNN(LSTMCell(2, unit_forget_bias=unit_forget_bias))
        layer(np.zeros((1, 1, 3)))
        np.testing.assert_array_equal(layer.cell.bias.value, want)


# ----- RNN(cell) computes what the layer computes, with the same weights ----------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("options", [{}, {"go_backwards": True}, {"return_state": True},
                                     {"return_sequences": True, "go_backwards": True}])
def test_rnn_of_a_cell_equals_the_layer_and_the_reference(kind, options):
    x = normal(B, T, F)
    layer, wrapped = LAYERS[kind](**options), RNN(CELLS[kind](), **options)
    weights = float64_weights(layer, x)
    wrapped(x)
    copy_weights(wrapped, weights)
    outputs, states = reference(STEPS[kind], x, weights, zero_states(kind),
                                options.get("go_backwards", False))
    want = outputs if options.get("return_sequences") else outputs[:, -1]
    want = [want, *states] if options.get("return_state") else [want]
    for result in (layer(Tensor(x)), wrapped(Tensor(x))):
        got = result if isinstance(result, list) else [result]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a.value, b, rtol=1e-10, atol=1e-12)


def test_go_backwards_returns_the_sequence_in_processing_order():
    """Keras: with go_backwards and return_sequences, output t is the state
    after the steps T-1 .. T-1-t: its last output is the state after step 0."""
    x = normal(B, T, F)
    layer = SimpleRNN(U, go_backwards=True, return_sequences=True, return_state=True)
    weights = float64_weights(layer, x)
    sequence, h = layer(Tensor(x))
    np.testing.assert_array_equal(sequence.value[:, -1], h.value)
    forward = reference(simple_step, x[:, ::-1], weights, zero_states("simple"))[0]
    np.testing.assert_allclose(sequence.value, forward, rtol=1e-12)


def test_stacked_cells_against_the_reference():
    x = normal(B, T, F)
    layer = RNN([LSTMCell(U), GRUCell(2, reset_after=False)], return_sequences=True,
                return_state=True)
    weights = float64_weights(layer, x)
    states, outputs = [zero_states("lstm"), zero_states("gru", units=2)], []
    for t in range(T):
        h, states[0] = lstm_step(x[:, t], states[0], *weights[:3])
        h, states[1] = gru_step(h, states[1], *weights[3:], reset_after=False)
        outputs.append(h)
    sequence, (h1, c1), h2 = layer(Tensor(x))
    np.testing.assert_allclose(sequence.value, np.stack(outputs, axis=1), rtol=1e-10)
    for got, want in zip([h1, c1, h2], [*states[0], states[1][0]]):
        np.testing.assert_allclose(got.value, want, rtol=1e-10)


def test_initial_states_of_an_rnn_of_a_cell():
    x, h0, c0 = normal(B, T, F), normal(B, U, seed=5), normal(B, U, seed=6)
    layer = RNN(LSTMCell(U))
    weights = float64_weights(layer, x)
    want = reference(lstm_step, x, weights, [h0, c0])[1][0]
    np.testing.assert_allclose(layer(Tensor(x), initial_state=[h0, c0]).value, want, rtol=1e-12)


# ----- GRU(reset_after=False) -----------------------------------------------------------------
def test_gru_reset_before_layout_and_values():
    x = normal(B, T, F)
    layer = GRU(U, reset_after=False, return_sequences=True)
    weights = float64_weights(layer, x)
    assert [w.shape for w in weights] == [(F, 3 * U), (U, 3 * U), (3 * U,)]
    assert layer.count_params() == 3 * (F * U + U * U + U)       # Keras: one bias vector
    outputs = reference(STEPS["gru_before"], x, weights, zero_states("gru"))[0]
    np.testing.assert_allclose(layer(Tensor(x)).value, outputs, rtol=1e-12)
    with_after = reference(gru_step, x, [*weights[:2], np.stack([weights[2], 0 * weights[2]])],
                           zero_states("gru"))[0]
    assert not np.allclose(outputs, with_after)                    # not the other layout


# ----- stateful -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("through_cell", [False, True])
def test_stateful_carries_the_states_until_reset(kind, through_cell):
    x = normal(B, 2 * T, F)
    options = {"stateful": True, "return_sequences": True}
    layer = RNN(CELLS[kind](), **options) if through_cell else LAYERS[kind](**options)
    weights = float64_weights(layer, x[:, :T])
    layer.reset_states()                                           # the build call's states
    whole = reference(STEPS[kind], x, weights, zero_states(kind))[0]
    first, second = layer(Tensor(x[:, :T])), layer(Tensor(x[:, T:]))
    np.testing.assert_allclose(first.value, whole[:, :T], rtol=1e-10)
    np.testing.assert_allclose(second.value, whole[:, T:], rtol=1e-10)
    assert [s.shape for s in zen.tree.flatten(layer.states)] == [(B, U)] * len(zero_states(kind))
    layer.reset_states()
    assert not any(s.any() for s in zen.tree.flatten(layer.states))
    fresh = reference(STEPS[kind], x[:, T:], weights, zero_states(kind))[0]
    np.testing.assert_allclose(layer(Tensor(x[:, T:])).value, fresh, rtol=1e-10)


def test_stateful_states_carry_no_gradient_into_the_next_call():
    layer = LSTM(U, stateful=True)
    first, second = Tensor(normal(B, T, F)), Tensor(normal(B, T, F, seed=1))
    layer(first)
    layer(second).sum().backward()
    assert first.gradient is None and second.gradient is not None
    assert all(type(s) is np.ndarray for s in layer.states)


def test_stateful_batch_size_is_fixed_by_the_first_call():
    layer = GRU(U, stateful=True)
    layer(np.zeros((4, T, F)))
    with pytest.raises(ValueError, match="stateful.*Expected batch size: 4.*Received batch "
                                         "size: 3"):
        layer(np.zeros((3, T, F)))


def test_stateful_in_a_model_builds_without_fixing_the_batch():
    model = zen.Sequential([zen.Input((T, F)), SimpleRNN(U, stateful=True), nn.Dense(1)])
    assert model.layers[0].states is None                          # the build probe kept nothing
    model.compile("sgd", "mse")
    model.fit(normal(8, T, F), normal(8, 1), batch_size=4, shuffle=False, epochs=2, verbose=0)
    assert model.layers[0].states[0].shape == (4, U)
    with pytest.raises(ValueError, match="Expected batch size: 4"):
        model.predict(normal(6, T, F), batch_size=3)


# ----- dropout ------------------------------------------------------------------------------
def identity_rnn(through_cell, **options):
    """A linear SimpleRNN whose output at every step is the (dropped) input:
    kernel I, recurrent kernel 0, no bias."""
    if through_cell:
        layer = RNN(SimpleRNNCell(6, activation=None, use_bias=False, **options),
                    return_sequences=True)
    else:
        layer = SimpleRNN(6, activation=None, use_bias=False, **options, return_sequences=True)
    layer(np.zeros((1, 1, 6)))
    layer.set_weights([np.eye(6), np.zeros((6, 6))])
    return layer


@pytest.mark.parametrize("through_cell", [False, True])
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.3])
def test_one_input_mask_for_every_step(through_cell, recurrent_dropout):
    layer = identity_rnn(through_cell, dropout=0.5, recurrent_dropout=recurrent_dropout)
    y = layer(np.ones((8, 5, 6)), training=True).value
    assert np.all(y == y[:, :1])                                   # the same mask at every step
    assert set(np.unique(y)) == {0.0, 2.0}                         # inverted dropout
    again = layer(np.ones((8, 5, 6)), training=True).value
    assert not np.array_equal(again, y)                            # a new mask for a new call
    np.testing.assert_array_equal(layer(np.ones((8, 5, 6))).value, 1.0)   # none in inference


@pytest.mark.parametrize("through_cell", [False, True])
def test_one_recurrent_mask_for_every_step(through_cell):
    """h_t = 1 + (m * h_{t-1}) @ I: h_2 = 1 + m reveals the mask m, which
    every later step reuses."""
    options = {"units": 6, "activation": None, "bias_initializer": "ones",
               "recurrent_dropout": 0.5}
    layer = RNN(SimpleRNNCell(**options), return_sequences=True) if through_cell \
        else SimpleRNN(**options, return_sequences=True)
    layer(np.zeros((1, 1, 2)))
    layer.set_weights([np.zeros((2, 6)), np.eye(6), np.ones(6)])
    h = layer(np.zeros((8, 5, 2)), training=True).value.astype(np.float64)
    mask = h[:, 1] - 1
    assert set(np.unique(mask)) == {0.0, 2.0}
    for t in range(2, 5):
        np.testing.assert_allclose(h[:, t], 1 + mask * h[:, t - 1], rtol=1e-6)


@pytest.mark.parametrize("kind, gates", [("lstm", 4), ("gru", 3), ("gru_before", 3)])
def test_gated_cells_draw_one_mask_per_gate_with_recurrent_dropout(kind, gates):
    """Keras's implementation 1: dropout and recurrent_dropout draw a mask per
    gate, each applied before that gate's block of the kernels."""
    cell = CELLS[kind](dropout=0.5, recurrent_dropout=0.4)
    x, states = normal(B, F), zero_states(kind)
    states[0] = normal(B, U, seed=4)
    weights = float64_weights(RNN(cell), normal(B, 1, F))
    output, _ = cell(Tensor(x), [Tensor(s) for s in states], training=True)
    input_mask = cell.get_dropout_mask(x)                          # kept until reset
    state_mask = cell.get_recurrent_dropout_mask(states[0])
    assert input_mask.shape == (gates, B, F) and state_mask.shape == (gates, B, U)
    n = U
    kernel, recurrent_kernel = weights[0], weights[1]
    x_part = np.concatenate([(x * input_mask[k]) @ kernel[:, k * n:(k + 1) * n]
                             for k in range(gates)], axis=1)
    h = states[0]
    if kind == "lstm":
        h_part = np.concatenate([(h * state_mask[k]) @ recurrent_kernel[:, k * n:(k + 1) * n]
                                 for k in range(4)], axis=1)
        z = x_part + h_part + weights[2]
        i, f, g, o = (z[:, k * n:(k + 1) * n] for k in range(4))
        want = sigmoid(o) * np.tanh(sigmoid(f) * states[1] + sigmoid(i) * np.tanh(g))
    else:
        after = kind == "gru"
        x_part = x_part + (weights[2][0] if after else weights[2])
        inner = [(h * state_mask[k]) @ recurrent_kernel[:, k * n:(k + 1) * n]
                 for k in range(3)]
        if after:
            inner = [part + weights[2][1][k * n:(k + 1) * n] for k, part in enumerate(inner)]
        z = sigmoid(x_part[:, :n] + inner[0])
        r = sigmoid(x_part[:, n:2 * n] + inner[1])
        recurrent_h = r * inner[2] if after else \
            (r * h * state_mask[2]) @ recurrent_kernel[:, 2 * n:]
        want = z * h + (1 - z) * np.tanh(x_part[:, 2 * n:] + recurrent_h)
    np.testing.assert_allclose(output.value, want, rtol=1e-10)
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    assert not np.array_equal(cell.get_dropout_mask(x), input_mask)


@pytest.mark.parametrize("kind", ["simple", "lstm", "gru"])
def test_input_dropout_on_the_fused_path_equals_the_step_path(kind):
    x = normal(B, T, F)
    layer, wrapped = LAYERS[kind](dropout=0.4), RNN(CELLS[kind](dropout=0.4))
    weights = float64_weights(layer, x)
    wrapped(x)
    copy_weights(wrapped, weights)
    outputs = []
    for each in (layer, wrapped):
        zen.set_seed(3)
        outputs.append(each(Tensor(x), training=True).value)
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12)
    assert not np.allclose(outputs[0], layer(Tensor(x)).value)     # dropout did act


# ----- gradients through RNN(cell) -------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: RNN(SimpleRNNCell(U), return_sequences=True, go_backwards=True),
    lambda: RNN(LSTMCell(U), return_state=True),
    lambda: RNN(GRUCell(U, reset_after=False), return_sequences=True),
    lambda: RNN([GRUCell(U), SimpleRNNCell(2)], return_sequences=True),
    lambda: RNN(LSTMCell(U, dropout=0.3, recurrent_dropout=0.3), return_sequences=True),
])
def test_gradients_through_an_rnn_of_cells(make):
    layer = make()
    x = normal(B, T, F)
    weights = float64_weights(layer, x)
    named = [(owner, name) for owner in layer.all_layers()
             for name in ("kernel", "recurrent_kernel", "bias")
             if isinstance(vars(owner).get(name), Tensor)]

    def fn(x, *tensors):
        for (owner, name), tensor in zip(named, tensors):
            setattr(owner, name, tensor)
        zen.set_seed(0)                                            # the same dropout masks
        out = layer(x, training=True)
        return ad.concat([o.reshape(B, -1) for o in out], axis=1) if isinstance(out, list) \
            else out
    grad_check(fn, [x, *weights], eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradients_of_the_initial_states_through_rnn_of_a_cell():
    layer = RNN(GRUCell(U, reset_after=False))
    float64_weights(layer, normal(B, T, F))
    grad_check(lambda x, h: layer(x, initial_state=[h]),
               [normal(B, T, F), normal(B, U, seed=9)], eps=1e-6, atol=1e-7, rtol=1e-5)


# ----- a user's own cell --------------------------------------------------------------------
class MinimalGRUCell(Layer):
    """A GRU cell (Keras's reset_after=True layout) written from its equations."""

    def __init__(self, units, name=None):
        super().__init__(name)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.kernel = Tensor(nn.initializers.glorot_uniform((input_shape[-1], 3 * self.units)))
        self.recurrent_kernel = Tensor(nn.initializers.orthogonal((self.units, 3 * self.units)))
        self.bias = Tensor(np.zeros((2, 3 * self.units), np.float32))

    def call(self, inputs, states):
        h, n = states[0], self.units
        x = inputs @ self.kernel + self.bias[0]
        inner = h @ self.recurrent_kernel + self.bias[1]
        z = ad.sigmoid(x[:, :n] + inner[:, :n])
        r = ad.sigmoid(x[:, n:2 * n] + inner[:, n:2 * n])
        h = z * h + (1 - z) * ad.tanh(x[:, 2 * n:] + r * inner[:, 2 * n:])
        return h, [h]

    def get_config(self):
        return {"units": self.units}


def test_a_users_cell_trains_with_fit_and_matches_the_gru_layer():
    zen.set_seed(0)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 6, 2)).astype(np.float32)
    y = x.mean(axis=(1, 2))[:, None]
    model = zen.Sequential([zen.Input((6, 2)), RNN(MinimalGRUCell(8)), nn.Dense(1)])
    assert len(model.trainable_weights) == 5                        # the cell's three, Dense's two
    model.compile(zen.optim.Adam(0.02), "mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0] / 5
    gru = GRU(8)
    gru(x)
    gru.set_weights(model.layers[0].get_weights())
    np.testing.assert_allclose(gru(x).value, model.layers[0](x).value, rtol=1e-5, atol=1e-6)


def test_a_users_cell_in_a_saved_model(tmp_path):
    model = zen.Sequential([zen.Input((4, 2)), RNN(MinimalGRUCell(3)), nn.Dense(1)])
    model.save(tmp_path / "m.zen")
    again = zen.load_model(tmp_path / "m.zen", custom_objects={"MinimalGRUCell": MinimalGRUCell})
    x = normal(2, 4, 2).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


class CountingCell:
    """A cell that is not a Layer and holds no weights: its state counts steps."""
    state_size = 1

    def call(self, inputs, states):
        count = states[0] + 1
        return count, [count]


def test_a_cell_object_without_weights():
    out = RNN(CountingCell(), return_sequences=True)(np.zeros((2, 3, 4)))
    np.testing.assert_array_equal(out.value[0, :, 0], [1, 2, 3])


# ----- which configurations run as one fused op ----------------------------------------------
@pytest.mark.parametrize("make, training, fused", [
    (lambda: SimpleRNN(U), False, True),
    (lambda: SimpleRNN(U, activation="relu", go_backwards=True, stateful=True), True, True),
    (lambda: SimpleRNN(U, dropout=0.5, recurrent_dropout=0.5), False, True),
    (lambda: SimpleRNN(U, dropout=0.5), True, True),
    (lambda: SimpleRNN(U, recurrent_dropout=0.5), True, False),
    (lambda: SimpleRNN(U, activation="gelu"), False, False),
    (lambda: LSTM(U, dropout=0.5, go_backwards=True, use_bias=False), True, True),
    (lambda: LSTM(U, recurrent_dropout=0.5), True, False),
    (lambda: LSTM(U, recurrent_activation="relu"), False, False),
    (lambda: GRU(U, stateful=True, use_bias=False), False, True),
    (lambda: GRU(U, reset_after=False), False, False),
    (lambda: RNN(LSTMCell(U)), False, False),
])
def test_which_configurations_keep_the_fused_scan(monkeypatch, make, training, fused):
    calls = []
    for scan in ("rnn_scan", "lstm_scan", "gru_scan"):
        original = getattr(ad, scan)
        monkeypatch.setattr(ad, scan, lambda *a, _f=original, **k: calls.append(1) or _f(*a, **k))
    make()(np.ones((B, T, F)), training=training)
    assert bool(calls) == fused


# ----- configs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: SimpleRNN(3, activation="relu", use_bias=False, kernel_initializer="he_normal",
                      recurrent_initializer="glorot_uniform", bias_initializer="ones",
                      dropout=0.1, recurrent_dropout=0.2, return_sequences=True,
                      return_state=True, go_backwards=True, stateful=True),
    lambda: LSTM(3, activation="relu", recurrent_activation="tanh", unit_forget_bias=False,
                 dropout=0.3, go_backwards=True),
    lambda: GRU(3, reset_after=False, recurrent_dropout=0.25, stateful=True),
    lambda: RNN(LSTMCell(2, dropout=0.1), return_sequences=True, go_backwards=True),
    lambda: RNN([GRUCell(2, reset_after=False), SimpleRNNCell(4, activation=None)],
                return_state=True, stateful=True),
    lambda: SimpleRNNCell(2, recurrent_dropout=0.5),
    lambda: LSTMCell(2, unit_forget_bias=False),
    lambda: GRUCell(2, reset_after=False, use_bias=False),
    lambda: StackedRNNCells([LSTMCell(2), GRUCell(3)]),
])
def test_config_round_trip(make):
    layer = make()
    entry = json.loads(json.dumps(serialize(layer)))
    again = deserialize(entry)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert repr(again) == repr(layer)


def test_layer_configs_hold_every_keras_argument():
    config = LSTM(4).get_config()
    assert list(config) == ["units", "activation", "use_bias", "kernel_initializer",
                            "recurrent_initializer", "bias_initializer", "dropout",
                            "recurrent_dropout", "recurrent_activation", "unit_forget_bias",
                            "return_sequences", "return_state", "go_backwards", "stateful"]
    assert GRU(4).get_config()["reset_after"] is True
    assert repr(RNN(GRUCell(2), go_backwards=True)) == \
        "RNN(cell=GRUCell(units=2), go_backwards=True)"


def test_the_old_rnn_config_loads_as_simple_rnn():
    old = {"class_name": "RNN", "name": "rnn_7",
           "config": {"units": 3, "activation": "relu", "return_sequences": True,
                      "return_state": False}}
    layer = deserialize(old)
    assert type(layer) is SimpleRNN and layer.name == "rnn_7"
    assert layer.units == 3 and layer.return_sequences
    assert layer.cell.activation is nn.activations.get("relu")


def test_an_old_model_file_with_rnn_loads():
    model = zen.Sequential([zen.Input((5, 2)), SimpleRNN(3), nn.Dense(1)])
    text = json.loads(model.to_json())
    entry = next(e for e in text["config"]["layers"] if e["class_name"] == "SimpleRNN")
    entry["class_name"] = "RNN"
    entry["config"] = {"units": 3, "activation": "tanh", "return_sequences": False,
                       "return_state": False}
    again = zen.models.model_from_json(json.dumps(text))
    assert [type(layer).__name__ for layer in again.layers] == ["SimpleRNN", "Dense"]
    assert [w.shape for w in again.get_weights()] == [w.shape for w in model.get_weights()]


def test_a_frozen_layer_keeps_its_cell_frozen_through_a_config():
    layer = LSTM(2)
    layer.trainable = False
    again = deserialize(serialize(layer))
    again(np.zeros((1, 2, 3)))
    assert again.weights and again.trainable_weights == []


# ----- errors ----------------------------------------------------------------------------------
def test_rnn_of_an_integer_names_simple_rnn():
    with pytest.raises(TypeError, match=r"SimpleRNN\(4\).*Received: cell=4"):
        RNN(4)


class NoCall:
    state_size = 2


class NoStateSize:
    def call(self, inputs, states):
        return inputs, states


class HoldsWeights:
    """Not a Layer: the RNN could not find its weights."""
    state_size = 2

    def build(self, input_shape):
        self.kernel = Tensor(np.zeros((input_shape[-1], 2)))

    def call(self, inputs, states):
        return inputs @ self.kernel, states


@pytest.mark.parametrize("make, error, match", [
    (lambda: RNN(NoCall()), ValueError, "`cell` should have a `call` method"),
    (lambda: RNN(NoStateSize()), ValueError, "`state_size`"),
    (lambda: RNN("lstm"), ValueError, "`call` method.*Received: cell='lstm'"),
    (lambda: RNN(LSTM(2)), ValueError, "expected a cell.*not the recurrent layer LSTM"),
    (lambda: StackedRNNCells([]), ValueError, "`cells`.*non-empty"),
    (lambda: StackedRNNCells([LSTMCell(2), NoCall()]), ValueError, "`cells` should have"),
    (lambda: RNN(LSTMCell(2), go_backwards=1), ValueError, "`go_backwards`.*Received: "
                                                           "go_backwards=1"),
    (lambda: RNN(LSTMCell(2), stateful="yes"), ValueError, "`stateful`"),
    (lambda: LSTM(2, dropout=1.0), ValueError, r"`dropout`.*\[0, 1\).*dropout=1.0"),
    (lambda: GRU(2, recurrent_dropout=-0.1), ValueError, "`recurrent_dropout`"),
    (lambda: SimpleRNN(2, dropout="0.5"), ValueError, "`dropout`"),
    (lambda: GRU(2, reset_after=None), ValueError, "`reset_after`.*Received: reset_after=None"),
    (lambda: LSTMCell(2, unit_forget_bias=0), ValueError, "`unit_forget_bias`"),
    (lambda: SimpleRNNCell(0), ValueError, "`units`.*Received: units=0"),
    (lambda: LSTM(2, recurrent_activation="bogus"), ValueError, "bogus"),
    (lambda: GRU(2, recurrent_initializer="bogus"), ValueError, "bogus"),
    (lambda: RNN(HoldsWeights())(np.zeros((1, 2, 3))), TypeError, "kernel.*zen.nn.Layer"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("initial_state, match", [
    ([np.zeros((2, 3))], r"`initial_state`.*2 array\(s\)"),
    ([np.zeros((2, 3)), np.zeros((2, 4))], r"`state_1`.*\(2, 3\).*\(2, 4\)"),
    ("zeros", "`initial_state`"),
])
def test_bad_initial_states_of_an_rnn_of_a_cell(initial_state, match):
    with pytest.raises(ValueError, match=match):
        RNN(LSTMCell(3))(np.zeros((2, 4, 5)), initial_state=initial_state)


def test_a_cell_called_on_a_sequence_is_refused():
    with pytest.raises(ValueError, match=r"one time step of shape \(batch, features\)"):
        SimpleRNNCell(2)(np.zeros(3), [np.zeros((1, 2))])
