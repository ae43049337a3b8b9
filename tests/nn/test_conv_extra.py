"""Conv2DTranspose, UpSampling2D, ZeroPadding2D and the global 2-D pools, and
the ops under them (`conv2d_transpose`, `upsample2d`): output shapes and
weight counts as Keras 3 gives them, values against loop references written
here, float64 gradient checks, configs and argument errors."""
import json

import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import (Conv2DTranspose, GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D,
                    GlobalMaxPooling2D, UpSampling2D, ZeroPadding2D)
from zen.nn.symbolic import SymbolicTensor

rng = np.random.default_rng(0)


def distinct(*shape):
    """Values far apart, so that max-pooling has no ties near them."""
    return rng.permutation(np.arange(np.prod(shape)) * 0.37 - 3.1).reshape(shape)


def naive_conv2d_transpose(x, kernel, bias, stride, padding):
    """Each input pixel adds kernel @ pixel into a kh x kw patch of the
    output, stride apart; "same" crops the full result to in * stride,
    with the odd row or column taken at the bottom/right (TensorFlow's split)."""
    (n, h, w, _), (kh, kw, filters, _), (sh, sw) = x.shape, kernel.shape, stride
    full = np.zeros((n, (h - 1) * sh + kh + sh, (w - 1) * sw + kw + sw, filters))
    for i in range(h):
        for j in range(w):
            full[:, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum(
                "nc,ijfc->nijf", x[:, i, j], kernel)
    if padding == "valid":
        top = left = 0
        out_h, out_w = h * sh + max(kh - sh, 0), w * sw + max(kw - sw, 0)
    else:
        top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
        out_h, out_w = h * sh, w * sw
    return full[:, top:top + out_h, left:left + out_w] + bias


# ----- output shapes and weight counts (Keras 3's numbers) ---------------------------
SHAPES = [  # layer, input shape, output shape, count_params
    (lambda: Conv2DTranspose(16, 3), (2, 5, 5, 8), (2, 7, 7, 16), 1168),
    (lambda: Conv2DTranspose(16, 3, use_bias=False), (2, 5, 5, 8), (2, 7, 7, 16), 1152),
    (lambda: Conv2DTranspose(2, 3, strides=2), (1, 5, 4, 3), (1, 11, 9, 2), 56),
    (lambda: Conv2DTranspose(2, 1, strides=2), (1, 5, 4, 3), (1, 10, 8, 2), 8),
    (lambda: Conv2DTranspose(2, 2, strides=3), (1, 5, 4, 3), (1, 15, 12, 2), 26),
    (lambda: Conv2DTranspose(2, 3, strides=2, padding="same"), (1, 5, 4, 3), (1, 10, 8, 2), 56),
    (lambda: Conv2DTranspose(2, (2, 3), (2, 1), "same"), (1, 5, 4, 3), (1, 10, 4, 2), 38),
    (lambda: Conv2DTranspose(2, 4, strides=2, padding="SAME"), (1, 5, 4, 3), (1, 10, 8, 2), 98),
    (lambda: UpSampling2D(), (2, 3, 4, 5), (2, 6, 8, 5), 0),
    (lambda: UpSampling2D((2, 3)), (2, 3, 4, 5), (2, 6, 12, 5), 0),
    (lambda: ZeroPadding2D(), (2, 3, 4, 5), (2, 5, 6, 5), 0),
    (lambda: ZeroPadding2D((1, 2)), (2, 3, 4, 5), (2, 5, 8, 5), 0),
    (lambda: ZeroPadding2D(((1, 2), (0, 3))), (2, 3, 4, 5), (2, 6, 7, 5), 0),
    (lambda: GlobalAveragePooling2D(), (2, 3, 4, 5), (2, 5), 0),
    (lambda: GlobalAveragePooling2D(keepdims=True), (2, 3, 4, 5), (2, 1, 1, 5), 0),
    (lambda: GlobalMaxPooling2D(), (2, 3, 4, 5), (2, 5), 0),
    (lambda: GlobalMaxPooling2D(keepdims=True), (2, 3, 4, 5), (2, 1, 1, 5), 0),
]


@pytest.mark.parametrize("make, input_shape, expected, count", SHAPES)
def test_output_shape_and_parameter_count(make, input_shape, expected, count):
    layer = make()
    assert layer(np.zeros(input_shape, np.float32)).shape == expected
    assert layer.count_params() == count


def test_conv2d_transpose_weights_in_keras_order():
    layer = Conv2DTranspose(16, (3, 2))
    layer(np.zeros((1, 4, 4, 8), np.float32))
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 16, 8), (16,)]
    assert [t.shape for t in layer.parameters()] == [(3, 2, 16, 8), (16,)]
    assert layer.name.startswith("conv2d_transpose")


def test_keras_layer_names_and_aliases():
    assert UpSampling2D().name.startswith("up_sampling2d")
    assert ZeroPadding2D().name.startswith("zero_padding2d")
    assert GlobalAveragePooling2D().name.startswith("global_average_pooling2d")
    assert GlobalAvgPool2D is GlobalAveragePooling2D and GlobalMaxPool2D is GlobalMaxPooling2D


@pytest.mark.parametrize("make, input_shape, expected", [
    (lambda: Conv2DTranspose(4, 3, strides=2), (None, 5, 6, 3), (None, 11, 13, 4)),
    (lambda: Conv2DTranspose(4, 3, strides=2, padding="same"), (None, None, None, 3),
     (None, None, None, 4)),
    (lambda: UpSampling2D((2, 3)), (None, 5, None, 3), (None, 10, None, 3)),
    (lambda: ZeroPadding2D(((1, 2), (3, 4))), (None, 5, 6, 3), (None, 8, 13, 3)),
    (lambda: GlobalMaxPooling2D(), (None, None, None, 3), (None, 3)),
    (lambda: GlobalAveragePooling2D(keepdims=True), (None, 5, 6, 3), (None, 1, 1, 3)),
])
def test_symbolic_output_shapes(make, input_shape, expected):
    """Called on a symbolic input (the functional API), with unknown sizes."""
    assert make()(SymbolicTensor(input_shape)).shape == expected


# ----- values ---------------------------------------------------------------------------
def test_conv2d_transpose_by_hand():
    """A 2x2 kernel of ones, stride 1: every pixel adds itself into a 2x2 patch."""
    (a, b), (c, d) = (1.0, 2.0), (3.0, 4.0)
    y = ad.conv2d_transpose(np.array([[a, b], [c, d]]).reshape(1, 2, 2, 1), np.ones((2, 2, 1, 1)))
    expected = [[a, a + b, b], [a + c, a + b + c + d, b + d], [c, c + d, d]]
    np.testing.assert_array_equal(y.value[0, :, :, 0], expected)


TRANSPOSE_CASES = [  # kernel_size, strides, padding
    (3, 1, "valid"), (3, 2, "valid"), ((2, 3), (2, 1), "valid"), (1, 2, "valid"),
    (2, 3, "valid"), (3, 1, "same"), ((3, 2), 2, "same"), (4, 2, "same"),
    ((1, 4), (3, 2), "same"),
]


@pytest.mark.parametrize("kernel_size, strides, padding", TRANSPOSE_CASES)
def test_conv2d_transpose_matches_the_loop_reference(kernel_size, strides, padding):
    x = rng.normal(size=(2, 4, 3, 3))
    layer = Conv2DTranspose(5, kernel_size, strides=strides, padding=padding)
    layer(x)
    layer.set_weights([rng.normal(size=layer.kernel.shape), rng.normal(size=5)])
    kernel, bias = layer.get_weights()
    expected = naive_conv2d_transpose(x, kernel, bias, layer.strides, padding)
    np.testing.assert_allclose(layer(x).value, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel_size, strides, padding", TRANSPOSE_CASES)
def test_conv2d_transpose_is_the_adjoint_of_conv2d(kernel_size, strides, padding):
    """<conv2d_transpose(x, w), z> == <x, conv2d(z, w)> for every z."""
    kernel = (kernel_size,) * 2 if isinstance(kernel_size, int) else kernel_size
    x, w = rng.normal(size=(2, 4, 3, 3)), rng.normal(size=(*kernel, 2, 3))
    y = ad.conv2d_transpose(x, w, stride=strides, padding=padding).value
    z = rng.normal(size=y.shape)
    back = ad.conv2d(z, w, stride=strides, padding=padding).value
    np.testing.assert_allclose((y * z).sum(), (x * back).sum(), rtol=1e-10)


def test_conv2d_transpose_activation_and_no_bias():
    x = rng.normal(size=(1, 3, 3, 2))
    layer = Conv2DTranspose(3, 2, activation="relu", use_bias=False)
    layer(x)
    expected = np.maximum(naive_conv2d_transpose(x, layer.kernel.value, 0, (1, 1), "valid"), 0)
    np.testing.assert_allclose(layer(x).value, expected, rtol=1e-5, atol=1e-6)


def test_upsampling_repeats_each_pixel_into_a_block():
    x = rng.normal(size=(2, 3, 4, 2))
    expected = np.repeat(np.repeat(x, 2, axis=1), 3, axis=2)
    np.testing.assert_array_equal(UpSampling2D((2, 3))(x).value, expected)


def test_zero_padding_adds_zeros_on_each_side():
    x = rng.normal(size=(2, 3, 4, 2))
    expected = np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0)))
    np.testing.assert_array_equal(ZeroPadding2D(((1, 2), (0, 3)))(x).value, expected)
    expected = np.pad(x, ((0, 0), (1, 1), (2, 2), (0, 0)))
    np.testing.assert_array_equal(ZeroPadding2D((1, 2))(x).value, expected)


def test_global_pools_reduce_height_and_width():
    x = rng.normal(size=(2, 3, 4, 5))
    np.testing.assert_allclose(GlobalAveragePooling2D()(x).value, x.mean(axis=(1, 2)))
    np.testing.assert_array_equal(GlobalMaxPooling2D(keepdims=True)(x).value,
                                  x.max(axis=(1, 2), keepdims=True))


@pytest.mark.parametrize("make", [
    lambda: Conv2DTranspose(2, 3, strides=2), lambda: UpSampling2D(), lambda: ZeroPadding2D(),
    lambda: GlobalAveragePooling2D(), lambda: GlobalMaxPooling2D()])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_float32_stays_float32(make, dtype):
    assert make()(np.ones((2, 3, 3, 2), dtype)).dtype == np.float32


@pytest.mark.parametrize("make", [lambda: UpSampling2D(), lambda: ZeroPadding2D(),
                                  lambda: GlobalAveragePooling2D(), lambda: GlobalMaxPooling2D()])
def test_weightless_layers_keep_float64(make):
    assert make()(np.ones((2, 3, 3, 2))).dtype == np.float64


# ----- gradients (float64 central differences) -----------------------------------------
@pytest.mark.parametrize("kernel_size, strides, padding", TRANSPOSE_CASES)
def test_conv2d_transpose_op_gradients(kernel_size, strides, padding):
    kernel = (kernel_size,) * 2 if isinstance(kernel_size, int) else kernel_size
    x, w, b = rng.normal(size=(2, 3, 3, 2)), rng.normal(size=(*kernel, 3, 2)), rng.normal(size=3)
    grad_check(lambda x, w, b: ad.conv2d_transpose(x, w, b, strides, padding), [x, w, b])


@pytest.mark.parametrize("trainable", [(True, False), (False, True)])
def test_conv2d_transpose_gradient_of_one_input_only(trainable):
    x = Tensor(rng.normal(size=(2, 3, 2, 2)), trainable=trainable[0])
    w = Tensor(rng.normal(size=(3, 2, 3, 2)), trainable=trainable[1])
    grad_check(lambda x, w: ad.conv2d_transpose(x, w, stride=2, padding="same"), [x, w])


@pytest.mark.parametrize("size", [2, (1, 3), (3, 2)])
def test_upsample2d_op_gradient(size):
    grad_check(lambda x: ad.upsample2d(x, size), [rng.normal(size=(2, 3, 2, 2))])


def check_layer_gradients(layer, x):
    """grad_check the layer against its input and every weight, the weights
    set to random float64 values."""
    layer(x)
    for _, t in layer.named_tensors():
        t.value = rng.normal(size=t.shape)
    names = [name for name, _ in layer.named_tensors()]

    def fn(x, *weights):
        for name, w in zip(names, weights):
            setattr(layer, name, w)
        return layer(x)

    grad_check(fn, [x] + [getattr(layer, name) for name in names])


GRADIENTS = {
    "transpose_valid": (lambda: Conv2DTranspose(3, (3, 2), activation="tanh"), (2, 3, 3, 2)),
    "transpose_same_strided": (lambda: Conv2DTranspose(2, 3, strides=2, padding="same"),
                               (2, 3, 2, 2)),
    "transpose_no_bias": (lambda: Conv2DTranspose(2, 2, strides=(1, 2), use_bias=False),
                          (1, 3, 3, 2)),
    "upsampling": (lambda: UpSampling2D((2, 3)), (2, 3, 2, 2)),
    "zero_padding": (lambda: ZeroPadding2D(((1, 0), (2, 1))), (2, 3, 2, 2)),
    "global_average": (lambda: GlobalAveragePooling2D(), (2, 3, 4, 2)),
    "global_max": (lambda: GlobalMaxPooling2D(keepdims=True), (2, 3, 4, 2)),
}


@pytest.mark.parametrize("name", GRADIENTS)
def test_layer_gradients(name):
    make, shape = GRADIENTS[name]
    check_layer_gradients(make(), distinct(*shape))


def test_upsampling_gradient_is_the_sum_over_each_block():
    x = Tensor(np.zeros((1, 2, 2, 1)))
    UpSampling2D(2)(x).backward(np.arange(16.0).reshape(1, 4, 4, 1))
    np.testing.assert_array_equal(x.gradient[0, :, :, 0], [[10, 18], [42, 50]])


# ----- configs -------------------------------------------------------------------------------
CONFIGURED = [
    Conv2DTranspose(8, (3, 5), strides=2, padding="same", activation="relu"),
    Conv2DTranspose(4, 2, use_bias=False, kernel_initializer="he_normal"),
    UpSampling2D((2, 3)), UpSampling2D(), ZeroPadding2D(((1, 2), (0, 3))), ZeroPadding2D(2),
    GlobalAveragePooling2D(keepdims=True), GlobalMaxPooling2D(),
]


@pytest.mark.parametrize("layer", CONFIGURED, ids=repr)
def test_config_round_trip_gives_the_same_outputs(layer):
    x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
    expected = layer(x).value
    config = json.loads(json.dumps(layer.get_config()))  # JSON-serialisable
    rebuilt = type(layer).from_config(config)
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(x).value, expected)
    assert rebuilt.get_config() == layer.get_config()
    assert repr(rebuilt) == repr(layer)


def test_configs_use_keras_forms():
    assert ZeroPadding2D(1).get_config() == {"padding": ((1, 1), (1, 1))}
    assert ZeroPadding2D((1, 2)).get_config() == {"padding": ((1, 1), (2, 2))}
    assert UpSampling2D(2).get_config() == {"size": (2, 2), "interpolation": "nearest"}
    assert GlobalMaxPooling2D().get_config() == {"keepdims": False}
    assert Conv2DTranspose(4, 3).get_config()["kernel_size"] == (3, 3)
    assert repr(Conv2DTranspose(4, 3, strides=2)) == \
        "Conv2DTranspose(filters=4, kernel_size=(3, 3), strides=(2, 2))"


# ----- errors ----------------------------------------------------------------------------------
BAD_ARGS = [
    (lambda: Conv2DTranspose(0, 3), "filters"), (lambda: Conv2DTranspose(4, 0), "kernel_size"),
    (lambda: Conv2DTranspose(4, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2DTranspose(4, 3, strides=(1, 0)), "strides"),
    (lambda: Conv2DTranspose(4, 3, padding="full"), "padding"),
    (lambda: Conv2DTranspose(4, 3, activation="nope"), "activation"),
    (lambda: UpSampling2D(0), "size"), (lambda: UpSampling2D((2,)), "size"),
    (lambda: UpSampling2D(interpolation="bilinear"), "interpolation"),
    (lambda: ZeroPadding2D(-1), "padding=-1"), (lambda: ZeroPadding2D(1.5), "padding"),
    (lambda: ZeroPadding2D((1, 2, 3)), "padding"), (lambda: ZeroPadding2D("same"), "padding"),
    (lambda: ZeroPadding2D(((1, 2), (3, -1))), "padding"),
    (lambda: ZeroPadding2D(((1, 2), (3,))), "padding"), (lambda: ZeroPadding2D(True), "padding"),
    (lambda: GlobalAveragePooling2D(keepdims="yes"), "keepdims"),
    (lambda: GlobalMaxPooling2D(keepdims=1), "keepdims"),
    (lambda: ad.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((2, 2, 1, 2)), padding=1),
     "padding"),
    (lambda: ad.conv2d_transpose(np.ones((1, 3, 3, 2)), np.ones((2, 2, 1, 3))), r"\(2, 2, 1, 3\)"),
    (lambda: ad.conv2d_transpose(np.ones((3, 3, 2)), np.ones((2, 2, 1, 2))), "conv2d_transpose"),
    (lambda: ad.upsample2d(np.ones((3, 3, 2)), 2), "upsample2d"),
    (lambda: ad.upsample2d(np.ones((1, 3, 3, 2)), -2), "size"),
]


@pytest.mark.parametrize("make, words", BAD_ARGS, ids=[w for _, w in BAD_ARGS])
def test_bad_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


@pytest.mark.parametrize("make", [lambda: Conv2DTranspose(2, 3), lambda: UpSampling2D(),
                                  lambda: ZeroPadding2D(), lambda: GlobalAveragePooling2D(),
                                  lambda: GlobalMaxPooling2D()])
def test_wrong_input_rank(make):
    with pytest.raises(ValueError, match="expects inputs of shape"):
        make()(np.zeros((2, 5, 5), np.float32))


def test_conv2d_transpose_wrong_channels_after_build():
    layer = Conv2DTranspose(2, 3)
    layer(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="built for inputs of shape"):
        layer(np.zeros((1, 4, 4, 2), np.float32))
