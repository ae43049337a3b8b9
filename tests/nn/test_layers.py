"""The core, convolution and normalisation layers: output shapes and weight
counts as Keras documents them, values against hand computations, float64
gradient checks of every input and weight, the `training` argument (Keras's
rule: a new layer runs in inference, training=True or train_mode() trains),
configs and argument errors."""
import json

import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.nn import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Embedding, Flatten,
                    LayerNorm, MaxPool2D)

rng = np.random.default_rng(0)


def shape_of(layer, input_shape, dtype=np.float32, training=None):
    return layer(np.zeros(input_shape, dtype), training=training).shape


# ----- output shapes ---------------------------------------------------------------
SHAPES = [
    (lambda: Dense(5), (2, 3), (2, 5)),
    (lambda: Dense(5), (2, 4, 3), (2, 4, 5)),                  # last axis, as Keras
    (lambda: Conv2D(4, 3), (2, 7, 7, 3), (2, 5, 5, 4)),
    (lambda: Conv2D(4, 3, strides=2, padding="same"), (2, 7, 7, 3), (2, 4, 4, 4)),
    (lambda: Conv2D(4, (3, 2), strides=(2, 1)), (2, 7, 6, 3), (2, 3, 5, 4)),
    (lambda: Conv2D(2, 5, padding="SAME"), (1, 28, 28, 1), (1, 28, 28, 2)),
    (lambda: Conv2D(2, 3, strides=2), (1, 28, 28, 1), (1, 13, 13, 2)),
    (lambda: MaxPool2D(), (2, 28, 28, 3), (2, 14, 14, 3)),
    (lambda: MaxPool2D(2, strides=1), (1, 3, 3, 1), (1, 2, 2, 1)),  # Keras docs example
    (lambda: MaxPool2D(3, strides=2), (1, 7, 7, 1), (1, 3, 3, 1)),
    (lambda: AvgPool2D((2, 3)), (1, 6, 6, 2), (1, 3, 2, 2)),
    (lambda: Flatten(), (2, 3, 4, 5), (2, 60)),
    (lambda: Dropout(0.5), (2, 3), (2, 3)),
    (lambda: BatchNorm(), (4, 5, 5, 3), (4, 5, 5, 3)),
    (lambda: LayerNorm(), (2, 4, 6), (2, 4, 6)),
]


@pytest.mark.parametrize("make, input_shape, expected", SHAPES)
def test_output_shape(make, input_shape, expected):
    assert shape_of(make(), input_shape) == expected
    assert shape_of(make(), input_shape, training=True) == expected


def test_embedding_output_shape():
    assert Embedding(10, 4)(np.zeros((2, 3), int)).shape == (2, 3, 4)
    assert Embedding(10, 4)(np.array(7)).shape == (4,)


# ----- weight counts (Keras's numbers) ------------------------------------------------
COUNTS = [  # layer, input shape, count_params, len(parameters())
    (lambda: Dense(10), (1, 784), 7850, 2),
    (lambda: Dense(10, use_bias=False), (1, 784), 7840, 1),
    (lambda: Conv2D(32, 3), (1, 28, 28, 1), 320, 2),
    (lambda: Conv2D(64, 3), (1, 13, 13, 32), 18496, 2),
    (lambda: Conv2D(8, (3, 5), use_bias=False), (1, 9, 9, 2), 240, 1),
    (lambda: BatchNorm(), (2, 64), 256, 2),
    (lambda: BatchNorm(), (2, 4, 4, 64), 256, 2),
    (lambda: LayerNorm(), (2, 64), 128, 2),
    (lambda: MaxPool2D(), (1, 4, 4, 2), 0, 0),
    (lambda: Flatten(), (1, 4, 4, 2), 0, 0),
]


@pytest.mark.parametrize("make, input_shape, count, n_params", COUNTS)
def test_parameter_counts(make, input_shape, count, n_params):
    layer = make()
    layer(np.zeros(input_shape, np.float32))
    assert layer.count_params() == count
    assert len(layer.parameters()) == n_params


def test_batchnorm_weights_trainable_and_not():
    bn = BatchNorm()
    bn(np.zeros((2, 64), np.float32))
    assert [n for n, _ in bn.named_tensors()] == ["gamma", "beta", "moving_mean",
                                                   "moving_variance"]
    assert sum(t.size for t in bn.parameters()) == 128
    assert set(bn.state_dict()) == {"gamma", "beta", "moving_mean", "moving_variance"}


def test_embedding_count():
    emb = Embedding(1000, 64)
    emb(np.zeros((1, 5), int))
    assert emb.count_params() == 64000
    assert np.abs(emb.embeddings.value).max() <= 0.05  # Keras's uniform(-0.05, 0.05)


# ----- values ----------------------------------------------------------------------------
def test_dense_computes_x_at_kernel_plus_bias_then_activation():
    x = rng.normal(size=(3, 4)).astype(np.float32)
    layer = Dense(2, activation="relu")
    layer(x)
    layer.bias.value[...] = [0.5, -0.5]
    expected = np.maximum(x @ layer.kernel.value + [0.5, -0.5], 0)
    np.testing.assert_allclose(layer(x).value, expected, rtol=1e-6)


def test_conv2d_matches_a_direct_correlation():
    x = rng.normal(size=(2, 5, 6, 3))
    conv = Conv2D(4, (3, 2), strides=(2, 1))
    conv(x)
    w, b = conv.kernel.value, conv.bias.value
    b[...] = [1, 2, 3, 4]
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 2), axis=(1, 2))[:, ::2]
    expected = np.einsum("nhwcij,ijcf->nhwf", windows, w) + b
    np.testing.assert_allclose(conv(x).value, expected, rtol=1e-5, atol=1e-5)


def test_pools_take_max_and_mean_of_each_window():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(MaxPool2D()(x).value[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(AvgPool2D()(x).value[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("make", [lambda: Dense(3), lambda: Conv2D(2, 1),
                                  lambda: BatchNorm(), lambda: LayerNorm()])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.uint8])
def test_float32_layers_stay_float32(make, dtype):
    x = np.ones((2, 3, 3, 2), dtype)
    assert make()(x).dtype == np.float32
    assert make()(x, training=True).dtype == np.float32


# ----- gradients (float64 central differences) ----------------------------------------------
def check_gradients(layer, x, setup=None):
    """grad_check the layer's output against its input and every trainable
    weight, with the weights in float64 and set to random values."""
    layer(x)
    for _, t in layer.named_tensors():
        t.value = rng.normal(size=t.shape) if t.trainable else t.value.astype(np.float64)
    if setup:
        setup(layer)
    names = [name for name, t in layer.named_tensors() if t.trainable]

    def fn(x, *weights):
        for name, w in zip(names, weights):
            setattr(layer, name, w)
        return layer(x)

    grad_check(fn, [x] + [getattr(layer, name) for name in names])


def distinct(*shape):
    """Values far apart, so that max-pooling has no ties near them."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.37 - 3.1).reshape(shape)


def seeded_dropout(layer):
    """Training mode, with Dropout's mask fixed: the same seed before every call."""
    layer.train_mode()
    call = layer.call
    layer.call = lambda x, training=False: (zen.set_seed(3), call(x, training=training))[1]


def train(layer):
    """Training mode for the calls of the check (batch statistics)."""
    layer.train_mode()


def eval_with_moving_statistics(layer):
    layer.eval_mode()
    layer.moving_mean.value[...] = rng.normal(size=layer.moving_mean.shape)
    layer.moving_variance.value[...] = rng.uniform(0.5, 2, size=layer.moving_variance.shape)


GRADIENTS = {
    "dense": (lambda: Dense(3, activation="tanh"), (4, 5), None),
    "dense_3d": (lambda: Dense(2), (2, 3, 4), None),
    "dense_no_bias": (lambda: Dense(2, use_bias=False, activation="softmax"), (3, 4), None),
    "conv_valid": (lambda: Conv2D(3, (3, 2), activation="sigmoid"), (2, 5, 4, 2), None),
    "conv_same_strided": (lambda: Conv2D(2, 3, strides=2, padding="same"), (2, 5, 5, 2), None),
    "max_pool": (lambda: MaxPool2D(2, strides=1), (2, 4, 4, 2), None),
    "avg_pool": (lambda: AvgPool2D((2, 3)), (2, 4, 6, 2), None),
    "flatten": (lambda: Flatten(), (2, 3, 2, 2), None),
    "dropout_train": (lambda: Dropout(0.4), (5, 6), seeded_dropout),
    "batchnorm_train_dense": (lambda: BatchNorm(momentum=0.9), (6, 3), train),
    "batchnorm_train_conv": (lambda: BatchNorm(), (2, 3, 3, 2), train),
    "batchnorm_train_axis1": (lambda: BatchNorm(axis=1), (3, 2, 4), train),
    "batchnorm_eval": (lambda: BatchNorm(), (4, 3), eval_with_moving_statistics),
    "layernorm": (lambda: LayerNorm(), (3, 2, 5), None),
}


@pytest.mark.parametrize("name", GRADIENTS)
def test_gradients(name):
    make, shape, setup = GRADIENTS[name]
    check_gradients(make(), distinct(*shape), setup)


def test_embedding_gradient_and_repeated_indices():
    emb = Embedding(5, 3)
    indices = np.array([[1, 1, 3], [4, 1, 0]])
    emb(indices)
    emb.embeddings.value = rng.normal(size=(5, 3))

    def fn(table):
        emb.embeddings = table
        return emb(indices)

    grad_check(fn, [emb.embeddings])
    emb.embeddings = Tensor(np.zeros((5, 3)))
    emb(indices).sum().backward()
    np.testing.assert_array_equal(emb.embeddings.gradient[:, 0], [1, 3, 0, 1, 1])


# ----- Dropout -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["argument", "train_mode"])
def test_dropout_in_training_drops_rate_and_keeps_the_mean(mode):
    zen.set_seed(0)
    x = np.ones((200, 500), np.float32)
    y = Dropout(0.3)(x, training=True).value if mode == "argument" \
        else Dropout(0.3).train_mode()(x).value
    assert abs((y == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02


@pytest.mark.parametrize("rate, training", [(0.5, False), (0.5, None), (0.0, True), (0, False),
                                            (0, None)])
def test_dropout_identity_in_inference_or_at_rate_zero(rate, training):
    """training=False, or no `training` on a new layer (inference, Keras's
    rule), or a rate of zero: the input comes back unchanged, as a Tensor."""
    x = rng.normal(size=(4, 5))
    layer = Dropout(rate)
    assert layer.training is False
    y = layer(x, training=training)
    assert isinstance(y, Tensor)
    np.testing.assert_array_equal(y.value, x)
    if training is not None:  # the same through the layer's mode
        y = (layer.train_mode() if training else layer.eval_mode())(x)
        np.testing.assert_array_equal(y.value, x)


def test_dropout_explicit_training_wins_over_the_mode():
    zen.set_seed(0)
    x = np.ones((50, 40), np.float32)
    np.testing.assert_array_equal(Dropout(0.5).train_mode()(x, training=False).value, x)
    assert (Dropout(0.5).eval_mode()(x, training=True).value == 0).mean() > 0.4


def test_an_outer_call_passes_training_to_inner_layers():
    """A layer called inside another layer's call, without `training`, takes
    the outer call's value; a plain call of the outer layer is inference."""
    class Block(zen.nn.Layer):
        def __init__(self):
            super().__init__()
            self.drop = Dropout(0.5)

        def call(self, x):
            return self.drop(x)

    zen.set_seed(0)
    x = np.ones((50, 40), np.float32)
    block = Block()
    np.testing.assert_array_equal(block(x).value, x)
    assert (block(x, training=True).value == 0).mean() > 0.4
    block.drop.train_mode()                               # the outer call's value wins
    np.testing.assert_array_equal(block(x, training=False).value, x)
    with zen.nn.layer.inference_mode():
        np.testing.assert_array_equal(block.train_mode()(x).value, x)


# ----- BatchNorm and LayerNorm --------------------------------------------------------------
def test_batchnorm_training_normalises_per_channel_and_updates_moving_statistics():
    x = rng.normal(3, 2, size=(8, 4, 4, 3))
    bn = BatchNorm(momentum=0.9, epsilon=1e-3)
    y = bn(x, training=True).value
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))   # biased, as Keras
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.value, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.value, 0.9 + 0.1 * var, rtol=1e-5)
    bn.train_mode()(x)  # a second step: moving = 0.9 * moving + 0.1 * batch
    np.testing.assert_allclose(bn.moving_mean.value, 0.19 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.value, 0.81 + 0.19 * var, rtol=1e-5)
    bn.eval_mode()(x)   # inference: the moving statistics stay
    np.testing.assert_allclose(bn.moving_mean.value, 0.19 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.value, 0.81 + 0.19 * var, rtol=1e-5)


@pytest.mark.parametrize("how", ["new layer", "eval_mode", "training=False",
                                 "inference_mode", "frozen"])
def test_batchnorm_inference_uses_moving_statistics_and_updates_nothing(how):
    """A new BatchNorm runs in inference (Keras's rule), as does one in
    eval_mode, a call with training=False even in train_mode, a call inside
    inference_mode, and a frozen one (trainable = False) even with
    training=True."""
    x = rng.normal(size=(5, 2))
    bn = BatchNorm(epsilon=0.01)
    bn(x)
    np.testing.assert_array_equal(bn.moving_mean.value, [0, 0])   # the build call: inference
    np.testing.assert_array_equal(bn.moving_variance.value, [1, 1])
    bn.gamma.value[...] = [2, 3]
    bn.beta.value[...] = [1, -1]
    bn.moving_mean.value[...] = [0.5, -0.5]
    bn.moving_variance.value[...] = [4, 0.25]
    expected = (x - [0.5, -0.5]) / np.sqrt(np.array([4, 0.25]) + 0.01) * [2, 3] + [1, -1]
    if how == "new layer":
        y = bn(x)
    elif how == "eval_mode":
        y = bn.train_mode().eval_mode()(x)
    elif how == "training=False":
        y = bn.train_mode()(x, training=False)
    elif how == "inference_mode":
        with zen.nn.layer.inference_mode():
            y = bn.train_mode()(x)
    else:
        bn.trainable = False
        y = bn(x, training=True)
        assert bn.parameters() == []
    np.testing.assert_allclose(y.value, expected, rtol=1e-5, atol=1e-6)  # float32 near 0
    np.testing.assert_array_equal(bn.moving_mean.value, [0.5, -0.5])
    np.testing.assert_array_equal(bn.moving_variance.value, [4, 0.25])


def test_batchnorm_channel_axis_1():
    x = rng.normal(size=(4, 3, 5))
    bn = BatchNorm(momentum=0.0, axis=1)
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.value, x.mean(axis=(0, 2)), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.value, x.var(axis=(0, 2)), rtol=1e-5)
    bn(rng.normal(size=(4, 3, 7)), training=True)  # channels-first: the width may change
    bn(rng.normal(size=(4, 3, 7)))


def test_layernorm_normalises_each_sample():
    x = rng.normal(2, 3, size=(4, 6))
    y = LayerNorm(epsilon=1e-5)(x).value
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


# ----- Embedding inputs -------------------------------------------------------------------
def test_embedding_looks_up_rows_and_accepts_whole_floats():
    emb = Embedding(6, 2)
    emb(np.array([0]))
    table = emb.embeddings.value
    np.testing.assert_array_equal(emb(np.array([[5, 2]])).value, table[[[5, 2]]])
    np.testing.assert_array_equal(emb(np.array([3.0, 1.0])).value, table[[3, 1]])
    np.testing.assert_array_equal(emb(Tensor(np.array([4.0]))).value, table[[4]])
    assert emb(np.zeros((2, 9), int)).shape == (2, 9, 2)  # any sequence length


@pytest.mark.parametrize("indices, error, words", [
    (np.array([1, 6]), ValueError, ["index 6", "input_dim=6"]),
    (np.array([[-1, 0]]), ValueError, ["index -1", "input_dim=6"]),
    (np.array([1.5]), TypeError, ["integer", "1.5"]),
    (np.array([np.nan]), TypeError, ["integer"]),
    (np.array(["a"]), TypeError, ["integer"]),
])
def test_embedding_bad_indices(indices, error, words):
    with pytest.raises(error) as info:
        Embedding(6, 2)(indices)
    assert all(w in str(info.value) for w in words)


# ----- configs --------------------------------------------------------------------------------
CONFIGURED = [
    Dense(7, activation="relu", use_bias=False, kernel_initializer="he_normal"),
    Dense(3, activation=zen.autodiff.tanh),
    Conv2D(8, (3, 5), strides=2, padding="same", activation="gelu"),
    MaxPool2D((2, 3), strides=1), AvgPool2D(3), Flatten(), Dropout(0.25),
    BatchNorm(momentum=0.9, epsilon=1e-4, axis=1), LayerNorm(epsilon=1e-6),
    Embedding(100, 8),
]


@pytest.mark.parametrize("layer", CONFIGURED, ids=repr)
def test_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))  # JSON-serialisable
    rebuilt = type(layer).from_config(config)
    assert json.dumps(rebuilt.get_config()) == json.dumps(layer.get_config())
    assert repr(rebuilt) == repr(layer)


def test_repr_shows_the_config():
    assert repr(Dense(64, activation="relu")).startswith("Dense(units=64, activation='relu'")
    assert repr(Dropout(0.5)) == "Dropout(rate=0.5)"


# ----- errors --------------------------------------------------------------------------------
BAD_ARGS = [
    (lambda: Dense(0), "units"), (lambda: Dense(-3), "units"), (lambda: Dense(2.5), "units"),
    (lambda: Dense(True), "units"), (lambda: Dense(4, activation="nope"), "activation"),
    (lambda: Dense(4, kernel_initializer="nope"), "initializer"),
    (lambda: Conv2D(-1, 3), "filters"), (lambda: Conv2D(4, 0), "kernel_size"),
    (lambda: Conv2D(4, (3,)), "kernel_size"), (lambda: Conv2D(4, 3, strides=0), "strides"),
    (lambda: Conv2D(4, 3, padding="full"), "padding"),
    (lambda: Conv2D(4, 3, padding=1), "padding"),
    (lambda: MaxPool2D(0), "pool_size"), (lambda: AvgPool2D(2, strides=(1, 2, 3)), "strides"),
    (lambda: Dropout(1.5), "rate"), (lambda: Dropout(-0.1), "rate"), (lambda: Dropout(1), "rate"),
    (lambda: Dropout("half"), "rate"), (lambda: BatchNorm(momentum=1.5), "momentum"),
    (lambda: BatchNorm(epsilon=0), "epsilon"), (lambda: BatchNorm(axis=1.5), "axis"),
    (lambda: LayerNorm(epsilon=-1), "epsilon"), (lambda: Embedding(0, 4), "input_dim"),
    (lambda: Embedding(4, 0), "output_dim"), (lambda: Embedding(4, 2, "nope"), "initializer"),
]


@pytest.mark.parametrize("make, argument", BAD_ARGS, ids=[a for _, a in BAD_ARGS])
def test_bad_constructor_arguments(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


@pytest.mark.parametrize("make, first, second", [
    (lambda: Dense(3), (2, 4), (2, 5)),
    (lambda: Conv2D(2, 3), (1, 5, 5, 3), (1, 5, 5, 1)),
    (lambda: BatchNorm(), (2, 4), (2, 6)),
    (lambda: LayerNorm(), (2, 4), (2, 3)),
])
def test_wrong_input_width_after_build(make, first, second):
    layer = make()
    layer(np.zeros(first, np.float32))
    with pytest.raises(ValueError, match="built for inputs of shape"):
        layer(np.zeros(second, np.float32))


@pytest.mark.parametrize("make, shape", [
    (lambda: Dense(3), (4,)), (lambda: Conv2D(2, 3), (2, 5, 5)),
    (lambda: MaxPool2D(), (2, 4)), (lambda: BatchNorm(), (4,)),
    (lambda: BatchNorm(axis=0), (4, 3)), (lambda: BatchNorm(axis=2), (4, 3)),
    (lambda: LayerNorm(), (4,)),
])
def test_wrong_input_rank_at_build(make, shape):
    with pytest.raises(ValueError, match="expects inputs of shape"):
        make()(np.zeros(shape, np.float32))


def test_pool_window_larger_than_input():
    with pytest.raises(ValueError, match="does not fit"):
        MaxPool2D(4)(np.zeros((1, 3, 3, 1), np.float32))


@pytest.mark.parametrize("layer,text", [
    (lambda: Dense(64, activation="relu"), "Dense(units=64, activation='relu')"),
    (lambda: Conv2D(32, 3, strides=2), "Conv2D(filters=32, kernel_size=(3, 3), strides=(2, 2))"),
    (lambda: MaxPool2D(2), "MaxPool2D()"),
    (lambda: MaxPool2D(3, strides=1), "MaxPool2D(pool_size=(3, 3), strides=(1, 1))"),
    (lambda: Dropout(0.5), "Dropout(rate=0.5)"),
])
def test_repr_is_the_constructor_call_without_defaults(layer, text):
    assert repr(layer()) == text


def test_weight_lists_are_cached_until_a_layer_gains_a_weight_or_sublayer():
    model = zen.Sequential([zen.Input((3,)), Dense(4)])
    first = model.parameters()
    first.clear()  # a caller's copy: the cache is not touched
    assert len(model.parameters()) == 2
    model.add(Dense(2))
    assert len(model.parameters()) == 4
    model.layers[0].extra = zen.Tensor(np.zeros(3))
    assert [name for name, _ in model.named_tensors()][2] == "0.extra"
    model.layers[0].kernel.trainable = False  # read every time, not cached
    assert len(model.parameters()) == 4
