"""MultiHeadAttention and PositionEmbedding: Keras 3's output shapes,
parameter counts and weight order, values against a numpy reference and
against numbers from Keras 3.15.1 (torch backend), float64 gradient checks,
masks and causality, dropout, configs, functional graphs and bad arguments."""
import json

import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.nn import Dense, MultiHeadAttention, PositionEmbedding

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.normal(size=shape)


def float64_weights(layer):
    """Random float64 values in every weight (the layer then computes in float64)."""
    for _, t in layer.named_tensors():
        t.value = rng.normal(size=t.shape) * 0.5


# ----- a numpy reference ------------------------------------------------------------------
def numpy_attention(layer, query, value, key=None, mask=None, causal=False):
    """Keras's computation, step by step with einsum; also the scores."""
    key = value if key is None else key
    named = dict(layer.named_tensors())

    def project(x, name):
        out = np.einsum("btd,dhk->bhtk", x, named[f"{name}_kernel"].value)
        bias = named.get(f"{name}_bias")
        return out if bias is None else out + bias.value[None, :, None, :]

    q, k, v = project(query, "query"), project(key, "key"), project(value, "value")
    logits = np.einsum("bhtk,bhsk->bhts", q, k) / np.sqrt(layer.key_dim)
    allowed = np.ones(logits.shape, bool)
    if mask is not None:
        allowed &= np.asarray(mask, bool).reshape((-1, 1) + logits.shape[2:])
    if causal:
        allowed &= np.tril(np.ones(logits.shape[2:], bool))
    logits = np.where(allowed, logits, -np.inf)
    top = logits.max(-1, keepdims=True)
    exp = np.exp(logits - np.where(np.isfinite(top), top, 0))
    total = exp.sum(-1, keepdims=True)
    scores = exp / np.where(total == 0, 1, total)
    heads = np.einsum("bhts,bhsv->bhtv", scores, v)
    out = np.einsum("bhtv,hvo->bto", heads, named["output_kernel"].value.reshape(
        layer.num_heads, layer.value_dim, -1))
    if "output_bias" in named:
        out = out + named["output_bias"].value.reshape(-1)
    return out.reshape(out.shape[:2] + named["output_kernel"].shape[2:]), scores


# ----- output shapes and parameter counts (Keras 3.15's, checked by hand) -----------------
SHAPES = [  # layer, query, value, key, output shape, count_params
    (lambda: MultiHeadAttention(num_heads=2, key_dim=4), (3, 5, 8), (3, 5, 8), None,
     (3, 5, 8), 3 * (8 * 2 * 4 + 2 * 4) + (2 * 4 * 8 + 8)),                  # 288
    (lambda: MultiHeadAttention(3, 4, value_dim=6), (3, 5, 8), (3, 7, 10), (3, 7, 12),
     (3, 5, 8), (8 * 12 + 12) + (12 * 12 + 12) + (10 * 18 + 18) + (18 * 8 + 8)),  # 614
    (lambda: MultiHeadAttention(2, 3, output_shape=5), (2, 4, 6), (2, 6, 9), None,
     (2, 4, 5), (6 * 6 + 6) + 2 * (9 * 6 + 6) + (6 * 5 + 5)),               # 197
    (lambda: MultiHeadAttention(2, 3, output_shape=(2, 3)), (2, 4, 6), (2, 6, 9), None,
     (2, 4, 2, 3), (6 * 6 + 6) + 2 * (9 * 6 + 6) + (6 * 6 + 6)),            # 204
    (lambda: MultiHeadAttention(1, 5, use_bias=False), (2, 4, 6), (2, 4, 6), None,
     (2, 4, 6), 3 * 6 * 5 + 5 * 6),                                         # 120
]


@pytest.mark.parametrize("make, query, value, key, expected, count", SHAPES)
def test_output_shapes_and_parameter_counts(make, query, value, key, expected, count):
    layer = make()
    key_array = None if key is None else np.zeros(key, np.float32)
    out, scores = layer(np.zeros(query, np.float32), np.zeros(value, np.float32), key_array,
                        return_attention_scores=True)
    assert out.shape == expected
    assert scores.shape == (query[0], layer.num_heads, query[1], value[1])
    assert layer.count_params() == count


def test_weights_in_keras_order():
    layer = MultiHeadAttention(3, 4, value_dim=6)
    layer(np.zeros((2, 5, 8)), np.zeros((2, 7, 10)), np.zeros((2, 7, 12)))
    assert [(name, t.shape) for name, t in layer.named_tensors()] == [
        ("query_kernel", (8, 3, 4)), ("query_bias", (3, 4)),
        ("key_kernel", (12, 3, 4)), ("key_bias", (3, 4)),
        ("value_kernel", (10, 3, 6)), ("value_bias", (3, 6)),
        ("output_kernel", (3, 6, 8)), ("output_bias", (8,))]
    assert [w.shape for w in layer.get_weights()] == [t.shape for t in layer.parameters()]
    no_bias = MultiHeadAttention(2, 2, use_bias=False)
    no_bias(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)))
    assert [name for name, _ in no_bias.named_tensors()] == [
        "query_kernel", "key_kernel", "value_kernel", "output_kernel"]


# ----- values -----------------------------------------------------------------------------
MASK = rng.random((2, 4, 6)) > 0.4
MASK[..., 0] = True
VALUES = {  # name: layer, query shape, value shape, key shape, call arguments
    "self": (lambda: MultiHeadAttention(2, 3), (2, 4, 5), (2, 4, 5), None, {}),
    "cross_with_key": (lambda: MultiHeadAttention(3, 2, value_dim=4), (2, 4, 5), (2, 6, 3),
                       (2, 6, 7), {}),
    "mask": (lambda: MultiHeadAttention(2, 3), (2, 4, 5), (2, 6, 3), None,
             {"attention_mask": MASK}),
    "mask_2d_causal": (lambda: MultiHeadAttention(2, 3), (2, 4, 5), (2, 6, 3), None,
                       {"attention_mask": MASK[0], "use_causal_mask": True}),
    "causal": (lambda: MultiHeadAttention(2, 3), (2, 5, 4), (2, 5, 4), None,
               {"use_causal_mask": True}),
    "output_shape": (lambda: MultiHeadAttention(2, 3, output_shape=(2, 3)), (2, 4, 5),
                     (2, 4, 5), None, {"attention_mask": MASK[:, :, :4].astype(int)}),
    "no_bias": (lambda: MultiHeadAttention(1, 4, use_bias=False), (1, 3, 2), (1, 3, 2), None,
                {"use_causal_mask": True}),
}


def build_case(name):
    make, query, value, key, kwargs = VALUES[name]
    layer = make()
    arrays = [normal(*query), normal(*value)] + ([] if key is None else [normal(*key)])
    layer(*arrays, **kwargs)
    float64_weights(layer)
    return layer, arrays, kwargs


@pytest.mark.parametrize("name", VALUES)
def test_values_against_numpy(name):
    layer, arrays, kwargs = build_case(name)
    out, scores = layer(*arrays, return_attention_scores=True, **kwargs)
    expected, expected_scores = numpy_attention(
        layer, *arrays, mask=kwargs.get("attention_mask"), causal=kwargs.get("use_causal_mask"))
    np.testing.assert_allclose(out.value, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scores.value, expected_scores, atol=1e-12)
    np.testing.assert_allclose(layer(*arrays, **kwargs).value, expected, rtol=1e-10, atol=1e-12)


def wave(shape, phase):
    """Deterministic weights and inputs, the same as fed to Keras."""
    return (0.5 * np.sin(np.arange(int(np.prod(shape))) * 0.37 + phase)).reshape(shape)


def test_matches_keras_with_the_same_weights():
    """Numbers from keras.layers.MultiHeadAttention (Keras 3.15.1, torch
    backend), given these weights (set_weights) and inputs."""
    query, value, key = wave((1, 3, 4), 0.1), wave((1, 2, 5), 0.2), wave((1, 2, 6), 0.3)
    mask = np.array([[[True, False], [True, True], [False, True]]])
    layer = MultiHeadAttention(num_heads=2, key_dim=2, value_dim=3)
    layer(query, value, key)
    layer.set_weights([wave(w.shape, i) for i, w in enumerate(layer.get_weights())])
    out, scores = layer(query, value, key, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(out.value, [[[0.255013, 0.373136, 0.440756, 0.448722],
                                            [0.25211, 0.355643, 0.411042, 0.410809],
                                            [0.241908, 0.331753, 0.376696, 0.370656]]],
                               atol=2e-6)
    np.testing.assert_allclose(scores.value, [[[[1, 0], [0.530554, 0.469446], [0, 1]],
                                               [[1, 0], [0.503046, 0.496954], [0, 1]]]],
                               atol=2e-6)
    causal = MultiHeadAttention(num_heads=2, key_dim=2)
    causal(query, query)
    causal.set_weights([wave(w.shape, i) for i, w in enumerate(causal.get_weights())])
    np.testing.assert_allclose(causal(query, query, use_causal_mask=True).value,
                               [[[0.242384, 0.305091, 0.326505, 0.303729],
                                 [0.191176, 0.240331, 0.256959, 0.238808],
                                 [0.166758, 0.217602, 0.238993, 0.228038]]], atol=2e-6)


def test_float32_layer_stays_float32():
    layer = MultiHeadAttention(2, 3)
    out, scores = layer(normal(2, 3, 4), normal(2, 5, 4), return_attention_scores=True)
    assert out.dtype == np.float32 and scores.dtype == np.float32


def test_a_query_with_nothing_to_attend_gets_the_output_bias():
    layer, (query, value), _ = build_case("mask")
    mask = MASK.copy()
    mask[1, 2] = False
    out, scores = layer(query, value, attention_mask=mask, return_attention_scores=True)
    assert np.isfinite(out.value).all()
    np.testing.assert_array_equal(scores.value[1, :, 2], 0)
    np.testing.assert_allclose(out.value[1, 2], layer.output_bias.value)


# ----- gradients --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cross_with_key", "mask_2d_causal", "output_shape", "no_bias"])
def test_gradients(name):
    layer, arrays, kwargs = build_case(name)
    names = [n for n, _ in layer.named_tensors()]

    def fn(*tensors):
        inputs, weights = tensors[:len(arrays)], tensors[len(arrays):]
        for weight_name, w in zip(names, weights):
            setattr(layer, weight_name, w)
        return layer(*inputs, **kwargs)

    grad_check(fn, arrays + [getattr(layer, n) for n in names], eps=1e-5, atol=1e-7, rtol=1e-5)


SELF = {  # self-attention, one tensor for query, value and key: one packed projection
    "plain": (lambda: MultiHeadAttention(2, 3), {}),
    "causal_mask": (lambda: MultiHeadAttention(2, 3),
                    {"attention_mask": MASK[:, :, :4], "use_causal_mask": True}),
    "no_bias_output_shape": (lambda: MultiHeadAttention(3, 2, use_bias=False, output_shape=3),
                             {}),
}


@pytest.mark.parametrize("name", SELF)
@pytest.mark.parametrize("as_key", [False, True])
def test_self_attention_of_one_tensor(name, as_key):
    make, kwargs = SELF[name]
    layer, x = make(), Tensor(normal(2, 4, 5))
    layer(x, x)
    float64_weights(layer)
    out = layer(x, x, key=x if as_key else None, **kwargs)
    expected, _ = numpy_attention(layer, x.value, x.value, mask=kwargs.get("attention_mask"),
                                  causal=kwargs.get("use_causal_mask"))
    np.testing.assert_allclose(out.value, expected, rtol=1e-10, atol=1e-12)
    names = [n for n, _ in layer.named_tensors()]

    def fn(x, *weights):
        for weight_name, w in zip(names, weights):
            setattr(layer, weight_name, w)
        return layer(x, x, key=x if as_key else None, **kwargs)

    grad_check(fn, [x.value] + [getattr(layer, n) for n in names], eps=1e-5, atol=1e-7,
               rtol=1e-5)


def test_one_tensor_and_two_equal_ones_give_the_same_attention():
    """The packed projection (one tensor for query and value) against the
    three separate ones (an equal copy as the value), with a query that may
    attend to no key: the fused path's additive mask spreads it evenly."""
    layer, x = MultiHeadAttention(2, 3), Tensor(normal(2, 4, 5))
    layer(x, x)
    float64_weights(layer)
    mask = MASK[:, :, :4].copy()
    mask[1, 2] = False
    packed = layer(x, x, attention_mask=mask, use_causal_mask=True)
    separate = layer(x, Tensor(x.value.copy()), attention_mask=mask, use_causal_mask=True)
    np.testing.assert_allclose(packed.value, separate.value, rtol=1e-12, atol=1e-14)


def test_value_dim_apart_from_key_dim_attends_to_itself_too():
    layer, x = MultiHeadAttention(2, 3, value_dim=4), normal(2, 4, 5)
    layer(x, x)
    float64_weights(layer)
    expected, _ = numpy_attention(layer, x, x, causal=True)
    np.testing.assert_allclose(layer(x, x, use_causal_mask=True).value, expected,
                               rtol=1e-10, atol=1e-12)


# ----- dropout ----------------------------------------------------------------------------
def test_dropout_only_in_training_and_reproducible():
    query, value = normal(2, 4, 6), normal(2, 5, 6)
    layer = MultiHeadAttention(2, 3, dropout=0.5)
    plain = MultiHeadAttention(2, 3)
    layer(query, value)
    plain(query, value)
    plain.set_weights(layer.get_weights())
    layer.eval_mode()
    np.testing.assert_array_equal(layer(query, value).value, plain(query, value).value)
    layer.train_mode()
    zen.set_seed(1)
    first, scores = layer(query, value, return_attention_scores=True)
    zen.set_seed(1)
    np.testing.assert_array_equal(layer(query, value).value, first.value)
    assert not np.allclose(first.value, plain(query, value).value)
    np.testing.assert_allclose(scores.value.sum(-1), 1, rtol=1e-6)  # scores before dropout


def test_gradients_through_dropout():
    layer = MultiHeadAttention(2, 2, dropout=0.3)
    query, value = normal(2, 3, 4), normal(2, 4, 4)
    layer(query, value)
    float64_weights(layer)

    def fn(query, value):
        zen.set_seed(5)  # the same dropout mask at every evaluation
        return layer(query, value)

    grad_check(fn, [query, value], eps=1e-5, atol=1e-7, rtol=1e-5)


# ----- causality, configs, graphs ---------------------------------------------------------
def test_causal_output_ignores_the_future():
    layer = MultiHeadAttention(2, 4)
    x = normal(2, 6, 8)
    before = layer(x, x, use_causal_mask=True).value
    for t in range(6):
        changed = x.copy()
        changed[:, t + 1:] = normal(2, 5 - t, 8)
        after = layer(changed, changed, use_causal_mask=True).value
        np.testing.assert_allclose(after[:, :t + 1], before[:, :t + 1], rtol=1e-5, atol=1e-6)
        if t < 5:
            assert not np.allclose(after[:, t + 1:], before[:, t + 1:])


def test_config_round_trip():
    layer = MultiHeadAttention(3, 2, value_dim=4, dropout=0.25, use_bias=False,
                               output_shape=(2, 3), kernel_initializer="he_normal",
                               bias_initializer="ones")
    config = layer.get_config()
    assert config == {"num_heads": 3, "key_dim": 2, "value_dim": 4, "dropout": 0.25,
                      "use_bias": False, "output_shape": (2, 3),
                      "kernel_initializer": "he_normal", "bias_initializer": "ones"}
    query, value = normal(2, 3, 5), normal(2, 4, 6)
    layer(query, value)
    copy = MultiHeadAttention.from_config(json.loads(json.dumps(config)))
    copy(query, value)
    copy.set_weights(layer.get_weights())
    layer.eval_mode(), copy.eval_mode()
    np.testing.assert_array_equal(copy(query, value).value, layer(query, value).value)
    assert copy.get_config() == config
    assert repr(MultiHeadAttention(2, 4)) == \
        "MultiHeadAttention(num_heads=2, key_dim=4, value_dim=4)"
    assert MultiHeadAttention(2, 4, output_shape=7).get_config()["output_shape"] == (7,)


def test_explicit_build_creates_the_weights():
    layer = MultiHeadAttention(2, 3)
    layer.build((None, 4, 5), (None, 6, 7))
    assert [w.shape for w in layer.get_weights()] == [
        (5, 2, 3), (2, 3), (7, 2, 3), (2, 3), (7, 2, 3), (2, 3), (2, 3, 5), (5,)]
    assert layer(normal(1, 4, 5), normal(1, 6, 7)).shape == (1, 4, 5)


def test_functional_graph_with_a_mask_input():
    query, value = zen.Input((4, 6)), zen.Input((5, 3))
    mask = zen.Input((4, 5), dtype="int32")
    layer = MultiHeadAttention(2, 3)
    out, scores = layer(query, value, attention_mask=mask, return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 2, 4, 5)
    model = zen.Model([query, value, mask], Dense(2)(out))
    arrays = [normal(3, 4, 6), normal(3, 5, 3), (rng.random((3, 4, 5)) > 0.3).astype(np.int32)]
    assert model.predict(arrays).shape == (3, 4, 2)
    assert layer.count_params() == 6 * 6 + 6 + 2 * (3 * 6 + 6) + 6 * 6 + 6


def test_functional_self_attention_of_any_length():
    x = zen.Input((None, 8))
    y = MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    assert y.shape == (None, None, 8)
    model = zen.Model(x, y)
    assert model.predict(normal(2, 9, 8)).shape == (2, 9, 8)


def test_a_saved_transformer_block_reloads(tmp_path):
    x = zen.Input((6, 8))
    h = zen.nn.Add()([x, PositionEmbedding(10)(x)])
    model = zen.Model(x, MultiHeadAttention(2, 4, output_shape=3)(h, h, use_causal_mask=True))
    data = normal(2, 6, 8)
    model.save(tmp_path / "block.zen")
    loaded = zen.load_model(tmp_path / "block.zen")
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))


# ----- bad arguments ----------------------------------------------------------------------
BAD_ARGUMENTS = [
    ({"num_heads": 0, "key_dim": 4}, "num_heads"),
    ({"num_heads": 2, "key_dim": 0}, "key_dim"),
    ({"num_heads": 2.0, "key_dim": 4}, "num_heads"),
    ({"num_heads": 2, "key_dim": 4, "value_dim": -1}, "value_dim"),
    ({"num_heads": 2, "key_dim": 4, "dropout": 1.0}, "dropout"),
    ({"num_heads": 2, "key_dim": 4, "output_shape": 0}, "output_shape"),
    ({"num_heads": 2, "key_dim": 4, "output_shape": (2, 0)}, "output_shape"),
    ({"num_heads": 2, "key_dim": 4, "output_shape": "big"}, "output_shape"),
    ({"num_heads": 2, "key_dim": 4, "kernel_initializer": "nope"}, "nope"),
]


@pytest.mark.parametrize("kwargs, name", BAD_ARGUMENTS)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiHeadAttention(**kwargs)


BAD_CALLS = [  # query, value, key, mask, message
    ((2, 4, 6), (2, 5, 6), (2, 3, 6), None, r"same length.*value_shape=\(2, 5, 6\), "
                                            r"key_shape=\(2, 3, 6\)"),
    ((2, 4, 6), (3, 5, 6), None, None, "same batch size"),
    ((2, 6), (2, 6), None, None, r"query_shape=\(2, 6\)"),
    ((2, 4, 6), (2, 5, 6), None, (2, 5, 4), r"`attention_mask` of shape \(2, 5, 4\)"),
    ((2, 4, 6), (2, 5, 6), None, (3, 4, 5), r"`attention_mask` of shape \(3, 4, 5\)"),
    ((2, 4, 6), (2, 5, 6), None, (2, 1, 4, 5), r"`attention_mask` of shape \(2, 1, 4, 5\)"),
]


@pytest.mark.parametrize("query, value, key, mask, message", BAD_CALLS)
def test_bad_calls(query, value, key, mask, message):
    layer = MultiHeadAttention(2, 3)
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(query), np.zeros(value), None if key is None else np.zeros(key),
              attention_mask=None if mask is None else np.ones(mask, bool))


def test_depths_are_fixed_by_the_first_call():
    layer = MultiHeadAttention(2, 3)
    layer(np.zeros((1, 2, 4)), np.zeros((1, 3, 5)))
    with pytest.raises(ValueError, match=r"`value` of 5 features.*value_shape=\(1, 3, 6\)"):
        layer(np.zeros((1, 2, 4)), np.zeros((1, 3, 6)))
    with pytest.raises(ValueError, match="built for inputs of shape"):
        layer(np.zeros((1, 2, 7)), np.zeros((1, 3, 5)))


# ----- PositionEmbedding ------------------------------------------------------------------
def test_position_embedding_returns_the_first_rows_broadcast():
    layer = PositionEmbedding(sequence_length=10)
    x = normal(3, 4, 6)
    out = layer(x)
    assert out.shape == (3, 4, 6) and out.dtype == np.float32
    assert [(name, t.shape) for name, t in layer.named_tensors()] == [("embeddings", (10, 6))]
    assert layer.count_params() == 60
    table = layer.embeddings.value
    np.testing.assert_array_equal(out.value, np.broadcast_to(table[:4], (3, 4, 6)))
    np.testing.assert_array_equal(layer(normal(2, 10, 6)).value[1], table)
    np.testing.assert_array_equal(layer(x, start_index=5).value[0], table[5:9])


def test_position_embedding_gradient_sums_over_the_batch():
    layer = PositionEmbedding(5)
    x = normal(3, 4, 2)
    layer(x)
    float64_weights(layer)

    def fn(table):
        layer.embeddings = table
        return layer(x)

    grad_check(fn, [layer.embeddings], eps=1e-5, atol=1e-8, rtol=1e-6)
    layer.embeddings = Tensor(np.zeros((5, 2)))
    layer(x).sum().backward()
    np.testing.assert_array_equal(layer.embeddings.gradient, [[3, 3]] * 4 + [[0, 0]])


def test_position_embedding_config_and_errors():
    layer = PositionEmbedding(8, initializer="zeros")
    assert layer.get_config() == {"sequence_length": 8, "initializer": "zeros"}
    assert repr(PositionEmbedding(8)) == "PositionEmbedding(sequence_length=8)"
    copy = PositionEmbedding.from_config(json.loads(json.dumps(layer.get_config())))
    x = normal(2, 3, 4)
    layer(x), copy(x)
    copy.set_weights([normal(8, 4)])
    layer.set_weights(copy.get_weights())
    np.testing.assert_array_equal(copy(x).value, layer(x).value)
    with pytest.raises(ValueError, match=r"sequence_length=8.*length 9"):
        layer(normal(2, 9, 4))
    with pytest.raises(ValueError, match=r"length 3 from start_index=6"):
        layer(x, start_index=6)
    with pytest.raises(ValueError, match="start_index"):
        layer(x, start_index=-1)
    with pytest.raises(ValueError, match="sequence_length"):
        PositionEmbedding(0)
    with pytest.raises(ValueError, match=r"\(batch, length, features\)"):
        PositionEmbedding(4)(np.zeros(3))
