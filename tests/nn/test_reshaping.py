"""Reshape, Permute, RepeatVector, Activation and Identity: output shapes as
Keras 3 gives them, values against numpy, float64 gradient checks, configs,
and every bad argument or input shape raising a ValueError that names it."""
import json
import re

import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import Activation, Identity, Permute, RepeatVector, Reshape
from zen.nn.symbolic import SymbolicTensor

rng = np.random.default_rng(0)


def normal(*shape, dtype=np.float64):
    return rng.normal(size=shape).astype(dtype)


# ----- output shapes ---------------------------------------------------------------
SHAPES = [  # layer, input shape, output shape (Keras 3's)
    (Reshape((3, 4)), (2, 12), (2, 3, 4)),
    (Reshape((-1, 2, 2)), (2, 12), (2, 3, 2, 2)),           # the Keras docs example
    (Reshape((12,)), (2, 3, 4), (2, 12)),
    (Reshape([-1]), (5, 2, 3, 4), (5, 24)),
    (Reshape((2, -1, 3)), (1, 4, 3), (1, 2, 2, 3)),
    (Permute((2, 1)), (2, 10, 64), (2, 64, 10)),            # the Keras docs example
    (Permute((1, 3, 2)), (2, 3, 4, 5), (2, 3, 5, 4)),
    (Permute((3, 1, 2)), (2, 3, 4, 5), (2, 5, 3, 4)),
    (Permute((1,)), (2, 3), (2, 3)),
    (RepeatVector(3), (2, 32), (2, 3, 32)),
    (RepeatVector(1), (4, 5), (4, 1, 5)),
    (Activation("relu"), (2, 3, 4), (2, 3, 4)),
    (Activation("softmax"), (2, 5), (2, 5)),
    (Identity(), (2, 3, 4), (2, 3, 4)),
]


@pytest.mark.parametrize("layer, input_shape, expected", SHAPES)
def test_output_shape(layer, input_shape, expected):
    assert layer(np.zeros(input_shape, np.float32)).shape == expected


@pytest.mark.parametrize("layer, input_shape, expected", SHAPES)
def test_no_weights(layer, input_shape, expected):
    layer(np.zeros(input_shape, np.float32))
    assert layer.get_weights() == [] and layer.count_params() == 0


SYMBOLIC = [  # layer, symbolic input shape, output shape
    (Reshape((-1, 2)), (None, 12), (None, 6, 2)),
    (Reshape((-1, 2)), (None, None, 4), (None, None, 2)),
    (Permute((2, 1)), (None, 10, 64), (None, 64, 10)),
    (RepeatVector(3), (None, 32), (None, 3, 32)),
    (Activation("tanh"), (None, 7), (None, 7)),
    (Identity(), (None, None, 3), (None, None, 3)),
]


@pytest.mark.parametrize("layer, input_shape, expected", SYMBOLIC)
def test_symbolic_shapes(layer, input_shape, expected):
    assert layer(SymbolicTensor(input_shape)).shape == expected


def test_default_names_are_kerass():
    assert RepeatVector(2).name.startswith("repeat_vector")
    assert Reshape((2,)).name.startswith("reshape")


# ----- values ----------------------------------------------------------------------------
def test_reshape_and_permute_values():
    x = normal(2, 3, 4)
    np.testing.assert_array_equal(Reshape((4, -1))(x).value, x.reshape(2, 4, 3))
    np.testing.assert_array_equal(Permute((2, 1))(x).value, x.transpose(0, 2, 1))
    y = normal(2, 3, 4, 5)
    np.testing.assert_array_equal(Permute((3, 1, 2))(y).value, y.transpose(0, 3, 1, 2))


def test_repeat_vector_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(RepeatVector(3)(x).value,
                                  [[[1, 2]] * 3, [[3, 4]] * 3])


ACTIVATIONS = [  # name, numpy reference
    ("relu", lambda x: np.maximum(x, 0)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("linear", lambda x: x),
    (None, lambda x: x),
]


@pytest.mark.parametrize("name, reference", ACTIVATIONS)
def test_activation_values(name, reference):
    x = normal(3, 5)
    np.testing.assert_allclose(Activation(name)(x).value, reference(x), rtol=1e-12, atol=1e-15)


def test_activation_takes_a_callable():
    x = normal(2, 3)
    np.testing.assert_array_equal(Activation(ad.relu)(x).value, np.maximum(x, 0))
    assert Activation(ad.relu).get_config() == {"activation": "relu"}


def test_identity_returns_its_input():
    t = Tensor(normal(2, 3))
    assert Identity()(t) is t
    np.testing.assert_array_equal(Identity()(t.value).value, t.value)
    a, b = Identity()([t, t.value])
    assert a is t and isinstance(b, Tensor)


def test_shapes_are_checked_on_every_call_not_fixed_at_build():
    layer, permute = Reshape((-1,)), Permute((2, 1))
    assert layer(np.zeros((2, 3, 4))).shape == (2, 12)
    assert layer(np.zeros((5, 3, 5))).shape == (5, 15)
    assert permute(np.zeros((2, 3, 4))).shape == (2, 4, 3)
    assert permute(np.zeros((2, 5, 6))).shape == (2, 6, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer, input_shape, expected", SHAPES)
def test_dtype_is_kept(layer, input_shape, expected, dtype):
    assert layer(np.ones(input_shape, dtype)).dtype == dtype


# ----- gradients (float64 central differences) ------------------------------------------
GRADIENTS = [
    (Reshape((-1, 2)), (2, 3, 4)),
    (Permute((3, 1, 2)), (2, 3, 2, 2)),
    (RepeatVector(3), (2, 4)),
    (Activation("tanh"), (2, 3)),
    (Activation("softmax"), (2, 4)),
    (Identity(), (2, 3)),
]


@pytest.mark.parametrize("layer, input_shape", GRADIENTS)
def test_gradients(layer, input_shape):
    grad_check(layer, [normal(*input_shape)])


def test_repeat_vector_gradient_sums_the_copies():
    x = Tensor(np.ones((2, 3)))
    RepeatVector(4)(x).sum().backward()
    np.testing.assert_array_equal(x.gradient, np.full((2, 3), 4.0))


# ----- configs -------------------------------------------------------------------------------
CONFIGS = [
    (Reshape((3, -1)), {"target_shape": (3, -1)}, (2, 12)),
    (Reshape([2, 6]), {"target_shape": (2, 6)}, (2, 12)),
    (Permute((2, 1)), {"dims": (2, 1)}, (2, 3, 4)),
    (Permute(np.array([1, 3, 2])), {"dims": (1, 3, 2)}, (2, 3, 4, 5)),
    (RepeatVector(3), {"n": 3}, (2, 4)),
    (Activation("softmax"), {"activation": "softmax"}, (2, 4)),
    (Activation(None), {"activation": None}, (2, 4)),
    (Identity(), {}, (2, 4)),
]


@pytest.mark.parametrize("layer, config, input_shape", CONFIGS)
def test_config_round_trip(layer, config, input_shape):
    assert layer.get_config() == config
    rebuilt = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    assert rebuilt.get_config() == config
    x = normal(*input_shape)
    layer(x), rebuilt(x)  # built, as set_weights requires
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(x).value, layer(x).value)


def test_repr():
    assert repr(Reshape((3, -1))) == "Reshape(target_shape=(3, -1))"
    assert repr(Activation("relu")) == "Activation(activation='relu')"
    assert repr(Identity()) == "Identity()"


# ----- errors ----------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    (Reshape, "target_shape", (-1, -1)),
    (Reshape, "target_shape", (3, -2)),
    (Reshape, "target_shape", (3, 0)),
    (Reshape, "target_shape", (2.0, 3)),
    (Reshape, "target_shape", (True, 3)),
    (Reshape, "target_shape", 12),
    (Reshape, "target_shape", "12"),
    (Permute, "dims", (1, 3)),
    (Permute, "dims", (0, 1)),
    (Permute, "dims", (1, 1)),
    (Permute, "dims", ()),
    (Permute, "dims", 2),
    (Permute, "dims", (1.0, 2.0)),
    (RepeatVector, "n", 0),
    (RepeatVector, "n", -2),
    (RepeatVector, "n", 2.5),
    (RepeatVector, "n", "3"),
    (Activation, "activation", "swishy"),
    (Activation, "activation", 3),
    (Activation, "activation", ["relu"]),
]


@pytest.mark.parametrize("layer_class, argument, value", BAD_ARGUMENTS)
def test_bad_arguments(layer_class, argument, value):
    with pytest.raises(ValueError, match=re.escape(f"`{argument}`") + ".*" +
                       re.escape(f"{argument}={value!r}")):
        layer_class(value)


BAD_INPUTS = [  # layer, input shape, what the message names
    (Reshape((5, 3)), (2, 12), ["target_shape=(5, 3)", "(2, 12)"]),
    (Reshape((5, -1)), (2, 12), ["target_shape=(5, -1)", "(2, 12)"]),
    (Permute((2, 1)), (2, 3), ["dims=(2, 1)", "(2, 3)"]),
    (Permute((2, 1)), (2, 3, 4, 5), ["dims=(2, 1)", "(2, 3, 4, 5)"]),
    (RepeatVector(2), (2, 3, 4), ["(batch, features)", "(2, 3, 4)"]),
    (RepeatVector(2), (3,), ["(batch, features)", "(3,)"]),
]


@pytest.mark.parametrize("layer, input_shape, names", BAD_INPUTS)
def test_bad_input_shapes(layer, input_shape, names):
    with pytest.raises(ValueError) as info:
        layer(np.zeros(input_shape))
    message = str(info.value)
    assert layer.name in message
    for name in names:
        assert name in message


def test_bad_symbolic_input_raises_at_the_call():
    with pytest.raises(ValueError, match="target_shape"):
        Reshape((5, -1))(SymbolicTensor((None, 12)))
