"""Conv1D, the 1-D poolings and the global poolings over time, and the
`zen.autodiff.conv1d` op under them: Keras's output shapes and weight
counts, values against plain numpy references, float64 gradient checks
(every padding, stride and dilation), causality, configs and bad arguments."""
import json

import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import (AveragePooling1D, AvgPool1D, Conv1D, GlobalAveragePooling1D,
                    GlobalMaxPooling1D, MaxPool1D, MaxPooling1D)

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.normal(size=shape)


def distinct(*shape):
    """Values far apart, so that max-pooling has no ties near them."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.37 - 3.1).reshape(shape)


# ----- numpy references (plain loops: slow, obviously right) ---------------------------
def pads_for(padding, steps, span, stride):
    if padding == "causal":
        return span - 1, 0
    if padding == "same":
        out = -(-steps // stride)
        total = max((out - 1) * stride + span - steps, 0)
        return total // 2, total - total // 2
    return 0, 0


def reference_conv1d(x, w, b, stride, padding, dilation):
    k = w.shape[0]
    left, right = pads_for(padding, x.shape[1], dilation * (k - 1) + 1, stride)
    x = np.pad(x, ((0, 0), (left, right), (0, 0)))
    out_steps = (x.shape[1] - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((x.shape[0], out_steps, w.shape[2]))
    for t in range(out_steps):
        for j in range(k):
            y[:, t] += x[:, t * stride + j * dilation] @ w[j]
    return y + b


def reference_pool1d(x, size, stride, padding, reduce):
    left, right = pads_for(padding, x.shape[1], size, stride)
    out_steps = (x.shape[1] + left + right - size) // stride + 1
    windows = []
    for t in range(out_steps):
        start = t * stride - left  # in unpadded coordinates
        windows.append(reduce(x[:, max(start, 0):start + size], axis=1))  # real elements only
    return np.stack(windows, axis=1)


# ----- output shapes and weight counts (Keras 3's numbers) -----------------------------
SHAPES = [
    (lambda: Conv1D(4, 3), (2, 10, 3), (2, 8, 4)),
    (lambda: Conv1D(4, 3, padding="same"), (2, 10, 3), (2, 10, 4)),
    (lambda: Conv1D(4, 4, strides=2, padding="same"), (2, 11, 3), (2, 6, 4)),
    (lambda: Conv1D(4, 3, padding="causal", dilation_rate=4), (2, 10, 3), (2, 10, 4)),
    (lambda: Conv1D(4, 3, dilation_rate=2), (2, 10, 3), (2, 6, 4)),
    (lambda: Conv1D(4, 2, strides=3), (2, 10, 3), (2, 3, 4)),
    (lambda: Conv1D(4, (3,), strides=(2,)), (2, 10, 3), (2, 4, 4)),
    (lambda: MaxPool1D(), (2, 10, 3), (2, 5, 3)),
    (lambda: MaxPool1D(3, strides=2), (2, 10, 3), (2, 4, 3)),
    (lambda: MaxPool1D(3, strides=2, padding="same"), (2, 10, 3), (2, 5, 3)),
    (lambda: AvgPool1D(4, strides=3, padding="same"), (2, 10, 3), (2, 4, 3)),
    (lambda: AvgPool1D(2, strides=1), (2, 10, 3), (2, 9, 3)),
    (lambda: GlobalAveragePooling1D(), (2, 10, 3), (2, 3)),
    (lambda: GlobalMaxPooling1D(), (2, 10, 3), (2, 3)),
    (lambda: GlobalMaxPooling1D(keepdims=True), (2, 10, 3), (2, 1, 3)),
]


@pytest.mark.parametrize("make, input_shape, expected", SHAPES)
def test_output_shape_and_float32(make, input_shape, expected):
    y = make()(np.zeros(input_shape, np.float32))
    assert y.shape == expected
    assert y.dtype == np.float32


def test_keras_aliases():
    assert MaxPooling1D is MaxPool1D and AveragePooling1D is AvgPool1D


@pytest.mark.parametrize("make, features, count, shapes", [
    (lambda: Conv1D(32, 3), 16, 1568, [(3, 16, 32), (32,)]),
    (lambda: Conv1D(8, 5, use_bias=False), 4, 160, [(5, 4, 8)]),
    (lambda: MaxPool1D(), 4, 0, []),
    (lambda: GlobalAveragePooling1D(), 4, 0, []),
])
def test_weights_as_keras(make, features, count, shapes):
    layer = make()
    layer(np.zeros((2, 9, features), np.float32))
    assert layer.count_params() == count
    assert [w.shape for w in layer.get_weights()] == shapes


def test_float64_input_and_float32_int_inputs():
    conv = Conv1D(2, 3)
    assert conv(np.ones((1, 5, 2), np.int64)).dtype == np.float32
    assert ad.conv1d(np.ones((1, 5, 2)), np.ones((3, 2, 2))).dtype == np.float64
    assert ad.max_pool1d(np.ones((1, 4, 2), np.float32)).dtype == np.float32


# ----- values -----------------------------------------------------------------------------
CONV_CASES = [  # kernel size, stride, padding, dilation
    (3, 1, "valid", 1), (3, 1, "same", 1), (4, 1, "same", 1), (4, 2, "same", 1),
    (3, 2, "same", 1), (2, 3, "valid", 1), (3, 1, "causal", 1), (3, 1, "causal", 2),
    (3, 1, "valid", 2), (4, 1, "same", 2), (1, 1, "valid", 1), (2, 2, "causal", 1),
]


@pytest.mark.parametrize("k, stride, padding, dilation", CONV_CASES)
def test_conv1d_layer_matches_a_direct_correlation(k, stride, padding, dilation):
    x = normal(2, 9, 3)
    conv = Conv1D(4, k, strides=stride, padding=padding, dilation_rate=dilation)
    conv(x)
    conv.bias.value[...] = [1, 2, 3, 4]
    expected = reference_conv1d(x, conv.kernel.value, conv.bias.value, stride, padding, dilation)
    np.testing.assert_allclose(conv(x).value, expected, rtol=1e-5, atol=1e-5)


def test_conv1d_activation_is_applied():
    x = normal(2, 6, 3)
    conv = Conv1D(4, 2, activation="relu")
    y = conv(x).value
    expected = reference_conv1d(x, conv.kernel.value, 0.0, 1, "valid", 1)
    np.testing.assert_allclose(y, np.maximum(expected, 0), rtol=1e-5, atol=1e-6)


def test_causal_output_ignores_the_future():
    conv = Conv1D(3, 3, padding="causal", dilation_rate=2)
    x = normal(2, 12, 2)
    y = conv(x).value
    for t in (0, 4, 10):
        changed = x.copy()
        changed[:, t + 1:] = normal(2, 11 - t, 2)
        y_changed = conv(changed).value
        np.testing.assert_array_equal(y_changed[:, :t + 1], y[:, :t + 1])
        assert not np.allclose(y_changed[:, t + 1:], y[:, t + 1:])


POOL_CASES = [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), (4, 3, "same"),
              (3, 1, "same"), (2, 2, "same"), (5, 1, "valid")]


@pytest.mark.parametrize("size, stride, padding", POOL_CASES)
def test_pools_match_references(size, stride, padding):
    x = normal(2, 9, 3)
    step = size if stride is None else stride
    np.testing.assert_allclose(MaxPool1D(size, stride, padding)(x).value,
                               reference_pool1d(x, size, step, padding, np.max), rtol=1e-6)
    np.testing.assert_allclose(AvgPool1D(size, stride, padding)(x).value,
                               reference_pool1d(x, size, step, padding, np.mean), rtol=1e-6)


def test_same_average_pool_counts_only_real_elements():
    x = np.arange(1.0, 8.0).reshape(1, 7, 1)  # Keras gives [1.5, 4, 6.5]
    np.testing.assert_allclose(AvgPool1D(3, 3, "same")(x).value.ravel(), [1.5, 4.0, 6.5])
    np.testing.assert_allclose(MaxPool1D(3, 3, "same")(-x).value.ravel(), [-1, -3, -6])


def test_global_pools():
    x = normal(3, 5, 4)
    np.testing.assert_allclose(GlobalAveragePooling1D()(x).value, x.mean(axis=1))
    np.testing.assert_allclose(GlobalMaxPooling1D()(x).value, x.max(axis=1))
    assert GlobalAveragePooling1D(keepdims=True)(x).shape == (3, 1, 4)


# ----- gradients (float64 central differences) --------------------------------------------
@pytest.mark.parametrize("k, stride, padding, dilation", CONV_CASES)
def test_conv1d_op_gradients(k, stride, padding, dilation):
    x, w, b = normal(2, 7, 3), normal(k, 3, 2), normal(2)
    grad_check(lambda x, w, b: ad.conv1d(x, w, b, stride, padding, dilation), [x, w, b])


def test_conv1d_op_gradients_without_bias_and_for_one_input():
    x, w = normal(2, 6, 2), normal(3, 2, 3)
    grad_check(lambda x, w: ad.conv1d(x, w, padding="same"), [x, w])
    grad_check(lambda x: ad.conv1d(x, w, stride=2), [x])
    grad_check(lambda w: ad.conv1d(x, w, dilation=2, padding="causal"), [w])


@pytest.mark.parametrize("pool", [ad.max_pool1d, ad.avg_pool1d])
@pytest.mark.parametrize("size, stride, padding", POOL_CASES)
def test_pool_op_gradients(pool, size, stride, padding):
    grad_check(lambda x: pool(x, size, stride, padding), [distinct(2, 9, 2)])


def test_max_pool_gives_a_tied_window_gradient_to_its_first_maximum():
    x = Tensor(np.array([1.0, 1.0, 0.0, 2.0]).reshape(1, 4, 1))
    ad.max_pool1d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.gradient.ravel(), [1, 0, 0, 1])


def check_layer_gradients(layer, x):
    """grad_check the layer's output against its input and every weight,
    the weights set to random float64 values."""
    layer(x)
    names = [name for name, _ in layer.named_tensors()]
    for name in names:
        setattr(layer, name, Tensor(normal(*getattr(layer, name).shape)))

    def fn(x, *weights):
        for name, weight in zip(names, weights):
            setattr(layer, name, weight)
        return layer(x)

    grad_check(fn, [x] + [getattr(layer, name) for name in names])


LAYER_GRADIENTS = {
    "conv_valid_tanh": (lambda: Conv1D(3, 3, activation="tanh"), (2, 6, 2)),
    "conv_same_strided": (lambda: Conv1D(2, 4, strides=2, padding="same"), (2, 7, 2)),
    "conv_causal_dilated": (lambda: Conv1D(2, 2, padding="causal", dilation_rate=3), (2, 6, 3)),
    "conv_no_bias": (lambda: Conv1D(2, 3, use_bias=False), (2, 5, 2)),
    "max_pool_same": (lambda: MaxPool1D(3, 2, "same"), (2, 7, 2)),
    "avg_pool_same": (lambda: AvgPool1D(3, 2, "same"), (2, 7, 2)),
    "global_avg": (lambda: GlobalAveragePooling1D(), (2, 5, 3)),
    "global_max": (lambda: GlobalMaxPooling1D(), (2, 5, 3)),
}


@pytest.mark.parametrize("name", LAYER_GRADIENTS)
def test_layer_gradients(name):
    make, shape = LAYER_GRADIENTS[name]
    layer = make()
    x = distinct(*shape)
    if layer.count_params() or isinstance(layer, Conv1D):
        check_layer_gradients(layer, x)
    else:
        grad_check(layer, [x])


# ----- configs ----------------------------------------------------------------------------
CONFIGURED = [
    lambda: Conv1D(8, 5, strides=2, padding="same", activation="relu", use_bias=False),
    lambda: Conv1D(4, 3, padding="causal", dilation_rate=2, kernel_initializer="he_normal"),
    lambda: MaxPool1D(3, strides=1, padding="same"), lambda: AvgPool1D(4),
    lambda: GlobalAveragePooling1D(keepdims=True), lambda: GlobalMaxPooling1D(),
]


@pytest.mark.parametrize("make", CONFIGURED, ids=lambda make: repr(make()))
def test_config_round_trip_gives_the_same_outputs(make):
    layer, x = make(), normal(2, 9, 3)
    layer(x)
    config = json.loads(json.dumps(layer.get_config()))  # JSON-serialisable
    rebuilt = type(layer).from_config(config)
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    assert rebuilt.get_config() == layer.get_config()
    np.testing.assert_array_equal(rebuilt(x).value, layer(x).value)


def test_repr_shows_the_non_default_arguments():
    assert repr(Conv1D(16, 3, padding="causal")) == \
        "Conv1D(filters=16, kernel_size=3, padding='causal')"
    assert repr(MaxPool1D(3, strides=1)) == "MaxPool1D(pool_size=3, strides=1)"


# ----- errors -----------------------------------------------------------------------------
BAD_ARGS = [
    (lambda: Conv1D(4, 0), "kernel_size"), (lambda: Conv1D(4, (3, 3)), "kernel_size"),
    (lambda: Conv1D(0, 3), "filters"), (lambda: Conv1D(4, 3, strides=0), "strides"),
    (lambda: Conv1D(4, 3, dilation_rate=0), "dilation_rate"),
    (lambda: Conv1D(4, 3, padding="full"), "padding"),
    (lambda: Conv1D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: Conv1D(4, 3, activation="nope"), "activation"),
    (lambda: MaxPool1D(0), "pool_size"), (lambda: AvgPool1D(2, strides=-1), "strides"),
    (lambda: MaxPool1D(2, padding="causal"), "padding"),
    (lambda: AvgPool1D(2, padding="causal"), "padding"),
    (lambda: GlobalMaxPooling1D(keepdims="yes"), "keepdims"),
]


@pytest.mark.parametrize("make, argument", BAD_ARGS, ids=[a for _, a in BAD_ARGS])
def test_bad_arguments_name_themselves(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_strides_with_dilation_names_both_values():
    with pytest.raises(ValueError, match="strides=2 and dilation_rate=2"):
        Conv1D(4, 3, strides=2, dilation_rate=2)


@pytest.mark.parametrize("make", [lambda: Conv1D(2, 3), lambda: MaxPool1D(),
                                  lambda: GlobalAveragePooling1D()])
def test_inputs_that_are_not_sequences(make):
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, features\)"):
        make()(np.zeros((2, 5), np.float32))


@pytest.mark.parametrize("make", [lambda: Conv1D(2, 6), lambda: Conv1D(2, 3, dilation_rate=3),
                                  lambda: MaxPool1D(6)])
def test_window_longer_than_the_sequence(make):
    with pytest.raises(ValueError, match="does not fit"):
        make()(np.zeros((1, 5, 2), np.float32))
