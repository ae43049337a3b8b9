"""zen.nn.recurrent: the layer contract (shapes, weights as Keras makes them),
values against reference formulas, float64 gradients, bad arguments, and
short learning runs."""
import numpy as np
import pytest

import zen
from zen import Tensor
from zen.autodiff import grad_check
from zen.nn import initializers, losses
from zen.nn import GRU, LSTM, SimpleRNN
from zen.optim import Adam

B, T, F, U = 2, 3, 2, 3  # the tiny sizes of the gradient checks


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def data(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("cls, states", [(SimpleRNN, 1), (LSTM, 2), (GRU, 1)])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_output_shapes(cls, states, return_sequences, return_state):
    layer = cls(5, return_sequences=return_sequences, return_state=return_state)
    out = layer(data(4, 7, 3))
    output_shape = (4, 7, 5) if return_sequences else (4, 5)
    expected = [output_shape] + [(4, 5)] * states if return_state else output_shape
    got = [t.shape for t in out] if return_state else out.shape
    assert got == expected == layer.compute_output_shape((4, 7, 3))


def test_return_state_is_the_last_output():
    for cls in (SimpleRNN, LSTM, GRU):
        sequence, h, *_ = cls(4, return_sequences=True, return_state=True)(data(2, 5, 3))
        np.testing.assert_array_equal(sequence.value[:, -1], h.value)


@pytest.mark.parametrize("layer, features, params, shapes", [
    (SimpleRNN(64), 1, 4224, [(1, 64), (64, 64), (64,)]),
    (LSTM(64), 8, 18688, [(8, 256), (64, 256), (256,)]),
    (GRU(64), 8, 3 * (8 * 64 + 64 * 64 + 2 * 64), [(8, 192), (64, 192), (2, 192)]),
])
def test_parameter_counts_as_keras(layer, features, params, shapes):
    layer(np.zeros((2, 3, features), np.float32))
    assert layer.count_params() == params
    assert [p.shape for p in layer.parameters()] == shapes
    assert all(p.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("cls, width", [(SimpleRNN, 6), (LSTM, 24), (GRU, 18)])
def test_initial_weights(cls, width):
    layer = cls(6)
    layer(np.zeros((1, 2, 5)))
    limit = np.sqrt(6 / (5 + width))  # glorot_uniform
    assert np.abs(layer.kernel.value).max() <= limit
    u = layer.recurrent_kernel.value.astype(np.float64)  # (units, width), orthogonal rows
    np.testing.assert_allclose(u @ u.T, np.eye(6), atol=1e-5)
    if cls is SimpleRNN:
        np.testing.assert_allclose(u.T @ u, np.eye(6), atol=1e-5)


def test_bias_initialisation():
    lstm, gru, rnn = LSTM(4), GRU(4), SimpleRNN(4)
    for layer in (lstm, gru, rnn):
        layer(np.zeros((1, 2, 3)))
    np.testing.assert_array_equal(lstm.bias.value, [0] * 4 + [1] * 4 + [0] * 8)  # i f c o
    assert not gru.bias.value.any() and not rnn.bias.value.any()


def test_rnn_hand_computed():
    layer = SimpleRNN(2)
    layer(np.zeros((1, 2, 1)))
    layer.kernel.value[...] = [[1.0, -1.0]]
    layer.recurrent_kernel.value[...] = [[0.5, 0.0], [0.0, 2.0]]
    layer.bias.value[...] = [0.5, 0.0]
    h1 = np.tanh([2 * 1 + 0.5, 2 * -1])       # x_1 = 2, h_0 = 0
    h2 = np.tanh([-1 * 1 + 0.5 * h1[0] + 0.5, -1 * -1 + 2 * h1[1]])  # x_2 = -1
    out = layer(np.array([[[2.0], [-1.0]]]))
    np.testing.assert_allclose(out.value, [h2], rtol=1e-6)
    relu = SimpleRNN(2, activation="relu")
    relu(np.zeros((1, 1, 1)))
    relu.kernel.value[...] = [[1.0, -1.0]]
    np.testing.assert_array_equal(relu(np.array([[[3.0]]])).value, [[3.0, 0.0]])


def reference_lstm(x, k, u, b, h, c):
    n = u.shape[0]
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ u + b
        i, f, g, o = (z[:, j * n:(j + 1) * n] for j in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    return h, c


def reference_gru(x, k, u, b, h):  # Keras GRU with reset_after=True
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ k + b[0], 3, axis=1)
        hz, hr, hh = np.split(h @ u + b[1], 3, axis=1)
        z, r = sigmoid(xz + hz), sigmoid(xr + hr)
        h = z * h + (1 - z) * np.tanh(xh + r * hh)
    return h


def random_weights(layer, seed=1):
    for p in layer.parameters():
        p.value = data(*p.shape, seed=seed).astype(np.float64)
        seed += 1
    return [p.value for p in layer.parameters()]


def test_lstm_matches_the_reference_formulas():
    layer = LSTM(U, return_state=True)
    x, h0, c0 = data(B, T, F), data(B, U, seed=7), data(B, U, seed=8)
    layer(Tensor(x))
    weights = random_weights(layer)
    _, h, c = layer(Tensor(x), initial_state=[h0, c0])
    want_h, want_c = reference_lstm(x, *weights, h0, c0)
    np.testing.assert_allclose(h.value, want_h, rtol=1e-12)
    np.testing.assert_allclose(c.value, want_c, rtol=1e-12)


def test_gru_matches_the_reference_formulas():
    layer = GRU(U)
    x, h0 = data(B, T, F), data(B, U, seed=7)
    layer(Tensor(x))
    weights = random_weights(layer)
    np.testing.assert_allclose(layer(Tensor(x), initial_state=h0).value,
                               reference_gru(x, *weights, h0), rtol=1e-12)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_gradients_of_input_and_weights(cls):
    layer = cls(U, return_sequences=True)
    layer(Tensor(data(B, T, F)))
    weights = random_weights(layer)

    def fn(x, kernel, recurrent_kernel, bias):
        layer.kernel, layer.recurrent_kernel, layer.bias = kernel, recurrent_kernel, bias
        return layer(x)
    grad_check(fn, [data(B, T, F), *[0.5 * w for w in weights]],
               eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradients_of_the_initial_state():
    layer = LSTM(U, return_state=True)
    layer(Tensor(data(B, T, F)))
    random_weights(layer)
    grad_check(lambda x, h, c: layer(x, initial_state=[h, c])[2],
               [data(B, T, F), data(B, U, seed=5), data(B, U, seed=6)],
               eps=1e-6, atol=1e-7, rtol=1e-5)


def test_float32_input_from_float64_data():
    layer = LSTM(3, return_sequences=True)
    out = layer(data(2, 4, 3))  # a float64 ndarray becomes float32, as in Keras
    assert out.dtype == np.float32


def test_config_round_trip_and_repr():
    for layer in (SimpleRNN(5, activation="relu", return_state=True),
                  LSTM(3, return_sequences=True), GRU(2)):
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()
    assert repr(SimpleRNN(4)) == "SimpleRNN(units=4)"  # arguments at their defaults are left out
    assert repr(SimpleRNN(4, return_sequences=True)) == "SimpleRNN(units=4, return_sequences=True)"


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("units", [0, -3, 2.5, True, "8", None])
def test_bad_units(cls, units):
    with pytest.raises(ValueError, match=rf"`units`.*Received: units={units!r}"):
        cls(units)


@pytest.mark.parametrize("kwargs, match", [
    ({"return_sequences": "yes"}, "`return_sequences`"),
    ({"return_state": 1}, "`return_state`"),
    ({"activation": "bogus"}, "bogus"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimpleRNN(4, **kwargs)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("shape", [(4, 3), (4,), (2, 3, 4, 5)])
def test_wrong_input_rank(cls, shape):
    with pytest.raises(ValueError, match=r"\(batch, time, features\).*" +
                       str(shape).replace("(", r"\(").replace(")", r"\)")):
        cls(4)(np.zeros(shape))


def test_bad_inputs_after_build():
    layer = LSTM(4)
    layer(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3, 6\)"):
        layer(np.zeros((2, 3, 6)))
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        layer(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="at least one time step"):
        layer(np.zeros((2, 0, 5)))
    with pytest.raises(ValueError, match="initial_state"):
        layer(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"`c`.*\(2, 4\).*\(2, 3\)"):
        layer(np.zeros((2, 3, 5)), initial_state=[np.zeros((2, 4)), np.zeros((2, 3))])


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM])
def test_learns_the_mean_of_a_sequence(cls):
    zen.set_seed(0)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 8, 1)).astype(np.float32)
    y = x.mean(axis=1)
    layer = cls(16)
    layer(x)
    head = Tensor(initializers.glorot_uniform((16, 1)))
    params = layer.parameters() + [head]
    opt, mse = Adam(lr=0.01), losses.MSE()
    history = []
    for _ in range(150):
        for p in params:
            p.zero_grad()
        loss = mse(y, layer(x) @ head)
        loss.backward()
        opt.step(params)
        history.append(loss.item())
    assert history[-1] < history[0] / 10
