"""Masks (zen.nn.masking): made by Embedding(mask_zero) and Masking, carried
by Tensors, honoured by recurrent, attention and pooling layers, combined
by merges. The reference of every padded computation is the same sequences
computed one by one without padding."""
import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import (GRU, LSTM, RNN, Add, Bidirectional, Concatenate, Dense, Dropout, Embedding,
                    GlobalAveragePooling1D, GlobalMaxPooling1D, GRUCell, LayerNorm, Layer,
                    LSTMCell, Masking, MultiHeadAttention, SimpleRNN, SimpleRNNCell, Softmax,
                    TimeDistributed)
from zen.nn.masking import any_mask, as_mask, get_mask, masks_of, set_mask

LENGTHS = [6, 4, 1, 3]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6, 3))
RIGHT = np.arange(6)[None, :] < np.array(LENGTHS)[:, None]   # right padding
LEFT = RIGHT[:, ::-1].copy()                                   # left padding


def unpadded(x, mask, b):
    """Sample b's real steps, (1, length, features)."""
    return x[b:b + 1][:, mask[b]]


def recurrent_layers():
    """Each recurrent layer, fused and through its cell (float64)."""
    return [SimpleRNN(5), LSTM(5), GRU(5), RNN(SimpleRNNCell(5)), RNN(LSTMCell(5)),
            RNN(GRUCell(5)), GRU(5, reset_after=False), SimpleRNN(5, activation="elu")]


def built(layer, x=X):
    """`layer` built, with random float64 weights (so it computes in float64)."""
    layer(x[:, :1]) if not isinstance(layer, MultiHeadAttention) else layer(x, x)
    for weight in layer.weights:
        weight.value = RNG.normal(size=weight.shape) * 0.5
    return layer


# ----- the helpers and the plumbing -------------------------------------------------------
def test_embedding_mask_zero_marks_the_padding():
    ids = np.array([[4, 2, 0], [1, 0, 0]])
    out = Embedding(6, 3, mask_zero=True)(ids)
    assert get_mask(out).tolist() == [[True, True, False], [True, False, False]]
    assert get_mask(Embedding(6, 3)(ids)) is None
    assert Embedding(6, 3, mask_zero=True).get_config()["mask_zero"] is True


def test_masking_zeroes_and_marks_the_steps_that_equal_mask_value():
    x = np.array([[[1.0, 2.0], [-1.0, -1.0], [0.0, -1.0]]])
    out = Masking(mask_value=-1.0)(x)
    assert get_mask(out).tolist() == [[True, False, True]]
    np.testing.assert_array_equal(out.value, [[[1, 2], [0, 0], [0, -1]]])
    assert Masking.from_config(Masking(-1.0).get_config()).mask_value == -1.0


def test_pass_through_layers_keep_the_mask_and_others_drop_it():
    x = Embedding(6, 4, mask_zero=True)(np.array([[3, 0]]))
    for layer in (Dense(2), Dropout(0.5), LayerNorm(), Softmax(), TimeDistributed(Dense(2))):
        assert get_mask(layer(x)).tolist() == [[True, False]], layer
    assert get_mask(x * 2) is None  # an op is no layer: Keras drops it too


def test_helpers():
    t = Tensor(np.zeros((2, 3)))
    set_mask(t, [[1, 0, 1], [0, 0, 1]])
    assert get_mask(t).dtype == bool and masks_of([t, np.zeros(2)])[1] is None
    assert any_mask([None, [None, get_mask(t)]]) and not any_mask([None, [None]])
    with pytest.raises(ValueError, match=r"invalid `mask` of shape \(2, 3\), expected \(2, 4\)"):
        as_mask(get_mask(t), (2, 4))
    with pytest.raises(TypeError, match="expected booleans"):
        as_mask(np.array(["a"]))


def test_a_custom_layer_gets_the_mask_and_a_compute_mask_supports_masking():
    seen = {}

    class Count(Layer):
        def call(self, x, mask=None):
            seen["mask"] = mask
            return x

    class Halve(Layer):
        def call(self, x):
            return x * 0.5

        def compute_mask(self, inputs, previous_mask=None):
            return previous_mask[:, :1]

    x = Embedding(6, 4, mask_zero=True)(np.array([[3, 0]]))
    Count()(x)
    assert seen["mask"].tolist() == [[True, False]]
    assert Halve.supports_masking and get_mask(Halve()(x)).tolist() == [[True]]
    Count()(x, mask=np.array([[False, True]]))  # given explicitly, it wins
    assert seen["mask"].tolist() == [[False, True]]


# ----- recurrent layers ---------------------------------------------------------------------
@pytest.mark.parametrize("padding", [RIGHT, LEFT], ids=["right", "left"])
@pytest.mark.parametrize("make", range(8))
def test_padded_recurrence_equals_each_sequence_alone(make, padding):
    layer = built(recurrent_layers()[make])
    layer.return_sequences = True
    layer.return_state = True
    out, *states = layer(X, mask=padding)
    for b in range(len(LENGTHS)):
        alone, *alone_states = layer(unpadded(X, padding, b))
        real = padding[b]
        np.testing.assert_allclose(out.value[b, real], alone.value[0], atol=1e-12)
        for state, expected in zip(states, alone_states):
            np.testing.assert_allclose(state.value[b], expected.value[0], atol=1e-12)
    assert (get_mask(out) == padding).all() and all(get_mask(s) is None for s in states)


@pytest.mark.parametrize("make", range(8))
def test_last_output_of_a_masked_sequence_and_masked_steps_repeat_it(make):
    layer = built(recurrent_layers()[make])
    last = layer(X, mask=RIGHT).value
    layer.return_sequences = True
    sequence = layer(X, mask=RIGHT).value
    for b, length in enumerate(LENGTHS):
        np.testing.assert_allclose(last[b], sequence[b, length - 1], atol=1e-12)
        np.testing.assert_allclose(sequence[b, length:], np.broadcast_to(
            sequence[b, length - 1], sequence[b, length:].shape), atol=1e-12)
    assert get_mask(layer.__class__.from_config(layer.get_config())(X[:, :2])) is None


@pytest.mark.parametrize("make", range(8))
def test_zero_output_for_mask_and_a_fully_masked_sample(make):
    layer = built(recurrent_layers()[make])
    layer.return_sequences, layer.zero_output_for_mask = True, True
    mask = RIGHT.copy()
    mask[3] = False
    out = layer(X, mask=mask).value
    assert (out[~mask] == 0).all()
    layer.return_sequences, layer.return_state = False, True
    last, *states = layer(X, mask=mask, initial_state=[np.ones((4, 5))] * len(layer.state_size))
    assert (last.value[3] == 0).all() and all((s.value[3] == 1).all() for s in states)


@pytest.mark.parametrize("make", range(8))
def test_go_backwards_with_a_mask_reads_the_real_steps_backwards(make):
    layer = built(recurrent_layers()[make])
    layer.go_backwards = True
    out = layer(X, mask=LEFT).value
    for b in range(len(LENGTHS)):
        np.testing.assert_allclose(out[b], layer(unpadded(X, LEFT, b)).value[0], atol=1e-12)


@pytest.mark.parametrize("make", range(8))
def test_padded_steps_get_no_gradient(make):
    layer = built(recurrent_layers()[make])
    layer.return_sequences = True
    x = Tensor(X.copy())
    out = layer(x, mask=RIGHT)
    (out * Tensor(RNG.normal(size=out.shape), trainable=False)).sum().backward()
    assert (x.gradient[~RIGHT] == 0).all() and (x.gradient[RIGHT] != 0).any()


@pytest.mark.parametrize("scan", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("mask", [RIGHT, LEFT, RIGHT & LEFT], ids=["right", "left", "middle"])
def test_masked_scans_pass_gradient_checks(scan, mask):
    steps_first = np.ascontiguousarray(mask.T)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[scan]
    p, h0 = RNG.normal(size=(6, 4, 2 * gates)), RNG.normal(size=(4, 2))
    u = RNG.normal(size=(2, 2 * gates)) * 0.5
    if scan == "rnn":
        grad_check(lambda p, h, u: ad.rnn_scan(p, h, u, mask=steps_first), [p, h0, u])
    elif scan == "lstm":
        grad_check(lambda p, h, c, u: ad.lstm_scan(p, h, c, u, mask=steps_first),
                   [p, h0, RNG.normal(size=(4, 2)), u])
    else:
        grad_check(lambda p, h, u, b: ad.gru_scan(p, h, u, b, mask=steps_first),
                   [p, h0, u, RNG.normal(size=6)])


def test_a_wrong_mask_shape_names_the_layer():
    layer = LSTM(3, name="encoder")
    with pytest.raises(ValueError, match=r"`mask of 'encoder'` of shape \(4, 5\), "
                                         r"expected \(4, 6\)"):
        layer(X, mask=np.ones((4, 5), bool))
    with pytest.raises(ValueError, match=r"step mask of shape \(6, 4\)"):
        ad.rnn_scan(np.zeros((6, 4, 2)), np.zeros((4, 2)), np.zeros((2, 2)),
                    mask=np.ones((6, 4)).T)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("padding", [RIGHT, LEFT], ids=["right", "left"])
def test_bidirectional_on_padded_batches(merge_mode, padding):
    seq = built(Bidirectional(LSTM(3, return_sequences=True), merge_mode=merge_mode))
    last = built(Bidirectional(GRU(3), merge_mode=merge_mode))
    outputs, finals = seq(X, mask=padding), last(X, mask=padding)
    outputs = outputs if merge_mode is None else [outputs]
    finals = finals if merge_mode is None else [finals]
    for b in range(len(LENGTHS)):
        alone, alone_final = seq(unpadded(X, padding, b)), last(unpadded(X, padding, b))
        alone = alone if merge_mode is None else [alone]
        alone_final = alone_final if merge_mode is None else [alone_final]
        for out, expected in zip(outputs, alone):
            np.testing.assert_allclose(out.value[b, padding[b]], expected.value[0], atol=1e-12)
            assert (out.value[b, ~padding[b]] == 0).all()  # Keras: zero_output_for_mask
        for out, expected in zip(finals, alone_final):
            np.testing.assert_allclose(out.value[b], expected.value[0], atol=1e-12)
    assert all((get_mask(out) == padding).all() for out in outputs)


def test_embedding_mask_flows_into_a_sequential_lstm():
    from zen import Sequential
    ids = np.array([[5, 2, 7, 0, 0], [3, 0, 0, 0, 0]])
    model = Sequential([Embedding(9, 4, mask_zero=True), LSTM(3)])
    out = model(ids).value
    for b, length in enumerate([3, 1]):
        np.testing.assert_allclose(out[b], model(ids[b:b + 1, :length]).value[0], atol=1e-6)


# ----- attention --------------------------------------------------------------------------------
def attention():
    return built(MultiHeadAttention(2, 3), X)


@pytest.mark.parametrize("padding", [RIGHT, LEFT], ids=["right", "left"])
def test_attention_over_padded_keys_equals_the_unpadded_batch(padding):
    layer, query = attention(), RNG.normal(size=(4, 2, 3))
    by_value_mask = layer(query, X, value_mask=padding).value
    key_padding = layer(query, X, attention_mask=padding).value
    for b in range(len(LENGTHS)):
        alone = layer(query[b:b + 1], unpadded(X, padding, b)).value[0]
        np.testing.assert_allclose(by_value_mask[b], alone, atol=1e-12)
        np.testing.assert_allclose(key_padding[b], alone, atol=1e-12)


def test_self_attention_on_a_masked_input_uses_its_mask_on_both_sides():
    layer = attention()
    x = Tensor(X.copy())
    set_mask(x, RIGHT)
    out = layer(x, x)
    assert (get_mask(out) == RIGHT).all()
    for b in range(len(LENGTHS)):
        alone = unpadded(X, RIGHT, b)
        np.testing.assert_allclose(out.value[b, RIGHT[b]], layer(alone, alone).value[0],
                                   atol=1e-12)
    causal = layer(x, x, use_causal_mask=True).value
    for b in range(len(LENGTHS)):
        alone = unpadded(X, RIGHT, b)
        np.testing.assert_allclose(causal[b, RIGHT[b]],
                                   layer(alone, alone, use_causal_mask=True).value[0],
                                   atol=1e-12)


def test_a_padded_query_attends_to_every_key_alike_as_keras():
    layer = attention()
    mask = np.ones((1, 6), bool)
    mask[0, 3:] = False
    x = X[:1]
    out = layer(x, x, query_mask=mask, value_mask=mask).value
    uniform = layer(x, x, attention_mask=np.ones((1, 6, 6), bool)).value
    # a padded query row: every key weighs 1/6 whatever the scores
    values = x @ layer.value_kernel.value.reshape(3, -1) + layer.value_bias.value.reshape(-1)
    mean = values.mean(axis=1).reshape(2, 3)
    expected = np.einsum("hv,hvo->o", mean, layer.output_kernel.value) + layer.output_bias.value
    np.testing.assert_allclose(out[0, 4], expected, atol=1e-12)
    assert not np.allclose(out[0, 4], uniform[0, 4])


def test_attention_mask_shapes_and_errors():
    layer = attention()
    query = RNG.normal(size=(4, 2, 3))
    full = np.broadcast_to(RIGHT[:, None, :], (4, 2, 6))
    np.testing.assert_allclose(layer(query, X, attention_mask=RIGHT[:, None, :]).value,
                               layer(query, X, attention_mask=full).value)
    with pytest.raises(ValueError, match=r"attention_mask` of shape \(4, 5\)"):
        layer(query, X, attention_mask=np.ones((4, 5), bool))
    square = RNG.normal(size=(6, 6, 3))
    with pytest.raises(ValueError, match=r"both \(length_q, length_k\) and \(batch, length_k\)"):
        layer(square, square, attention_mask=np.ones((6, 6), bool))


# ----- pooling and merges --------------------------------------------------------------------
@pytest.mark.parametrize("layer, reduce", [(GlobalAveragePooling1D(), np.mean),
                                           (GlobalMaxPooling1D(), np.max)])
def test_global_pooling_over_the_real_steps(layer, reduce):
    out = layer(X, mask=LEFT).value
    for b in range(len(LENGTHS)):
        np.testing.assert_allclose(out[b], reduce(X[b, LEFT[b]], axis=0), atol=1e-12)
    x = Tensor(X.copy())
    layer(x, mask=LEFT).sum().backward()
    assert (x.gradient[~LEFT] == 0).all()
    assert get_mask(layer(Masking()(X))) is None  # the pooling consumes the mask
    assert (layer(X, mask=np.zeros((4, 6), bool)).value == 0).all()


def test_merges_combine_masks_as_keras():
    embed = Embedding(9, 2, mask_zero=True)
    a, b = embed(np.array([[1, 2, 0]])), embed(np.array([[1, 0, 0]]))
    assert get_mask(Add()([a, b])).tolist() == [[True, True, False]]
    assert get_mask(Add()([a, np.ones((1, 3, 2))])) is None
    assert get_mask(Concatenate()([a, b])).tolist() == [[True, True, False]]
    assert get_mask(Concatenate(axis=1)([a, np.ones((1, 2, 2))])).tolist() == \
        [[True, True, False, True, True]]


# ----- a Keras model end to end ------------------------------------------------------------
def test_layer_normalization_has_keras_default_and_layer_norm_pytorch_s():
    from zen.nn import LayerNormalization
    assert LayerNormalization().epsilon == 1e-3 and LayerNorm().epsilon == 1e-5
    assert LayerNormalization().name.startswith("layer_normalization")
    x = RNG.normal(size=(2, 5))
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    layer = LayerNormalization()
    np.testing.assert_allclose(layer(x).value, (x - mean) / np.sqrt(var + 1e-3), atol=1e-6)
    again = LayerNormalization.from_config(LayerNormalization(epsilon=0.1).get_config())
    assert type(again) is LayerNormalization and again.epsilon == 0.1


# ----- review findings ----------------------------------------------------------------------
def test_a_mask_given_to_a_model_call_stays_off_the_callers_tensor():
    from zen import Sequential
    model = Sequential([LSTM(3)])
    x = Tensor(X[:, :3].astype(np.float32), trainable=False)
    before = model(x).value
    masked = model(x, mask=np.array([[1, 0, 0]] * 4, bool)).value
    assert get_mask(x) is None and not np.allclose(before, masked)
    np.testing.assert_array_equal(model(x).value, before)


@pytest.mark.parametrize("make", [lambda: SimpleRNN(2), lambda: Bidirectional(LSTM(2))],
                         ids=["rnn", "bidirectional"])
def test_a_mask_as_a_nested_list_is_one_mask(make):
    layer = built(make())
    as_list = layer(X, mask=RIGHT.tolist()).value
    np.testing.assert_array_equal(as_list, layer(X, mask=RIGHT).value)


def test_attention_takes_masks_as_nested_lists():
    layer = attention()
    np.testing.assert_array_equal(layer(X, X, value_mask=RIGHT.astype(int).tolist()).value,
                                  layer(X, X, value_mask=RIGHT).value)


def test_a_masked_mean_ignores_what_the_padding_holds():
    x = X.copy()
    x[~RIGHT] = np.inf
    out = GlobalAveragePooling1D()(x, mask=RIGHT).value
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], X[0, RIGHT[0]].mean(axis=0))


@pytest.mark.parametrize("name", ["Maximum", "Minimum", "Multiply", "Add"])
def test_merges_treat_masked_values_as_keras(name):
    import zen.nn as nn
    a, b = Tensor(np.array([[[1.0], [5.0]]])), Tensor(np.array([[[3.0], [2.0]]]))
    set_mask(a, [[True, False]])
    set_mask(b, [[True, True]])
    expected = {"Maximum": [3, 2], "Minimum": [1, 2], "Multiply": [3, 2], "Add": [4, 7]}[name]
    out = getattr(nn, name)()([a, b])
    np.testing.assert_array_equal(out.value.ravel(), expected)
    assert get_mask(out).tolist() == [[True, True]]
