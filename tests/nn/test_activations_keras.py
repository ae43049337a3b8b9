"""Keras's activations: every function against its published formula in
float64 (math module, element by element), float32 in -> float32 out,
central-difference gradients away from kinks, the stable forms at extreme
inputs, Keras's default arguments, `get`/`serialize`, and the activation
layers (ReLU's arguments, LeakyReLU's negative_slope, PReLU, ELU)."""
import inspect
import json
import math

import numpy as np
import pytest

from zen.autodiff import Tensor, grad_check
from zen.nn import ELU, Dense, LeakyReLU, PReLU, ReLU, Softmax, activations, initializers
from zen.nn.layer import LAYERS

A = activations
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
KINKS = (0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0)


def away_from_kinks(x):
    """`x` with values within 0.05 of a kink moved 0.1 past it, so that the
    central differences (step 1e-3) never straddle one."""
    x = np.array(x, dtype=np.float64)
    for kink in KINKS:
        near = np.abs(x - kink) < 0.05
        x[near] = kink + 0.1
    return x


X = away_from_kinks(np.linspace(-9.0, 9.0, 181) + 0.013)


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def softplus(v):
    return max(v, 0) + math.log1p(math.exp(-abs(v)))


# elementwise: name -> formula for one float (the published definition)
ELEMENTWISE = {
    "relu": lambda v: max(v, 0.0),
    "leaky_relu": lambda v: v if v > 0 else 0.2 * v,
    "relu6": lambda v: min(max(v, 0.0), 6.0),
    "celu": lambda v: v if v >= 0 else math.expm1(v),
    "elu": lambda v: v if v > 0 else math.expm1(v),
    "selu": lambda v: SELU_SCALE * (v if v > 0 else SELU_ALPHA * math.expm1(v)),
    "softplus": lambda v: math.log(1 + math.exp(v)),
    "softsign": lambda v: v / (abs(v) + 1),
    "squareplus": lambda v: (v + math.sqrt(v * v + 4)) / 2,
    "soft_shrink": lambda v: v - 0.5 if v > 0.5 else v + 0.5 if v < -0.5 else 0.0,
    "sparse_plus": lambda v: 0.0 if v <= -1 else v if v >= 1 else (v + 1) ** 2 / 4,
    "silu": lambda v: v * sigmoid(v),
    "swish": lambda v: v * sigmoid(v),
    "gelu": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "tanh": math.tanh,
    "tanh_shrink": lambda v: v - math.tanh(v),
    "sigmoid": sigmoid,
    "sparse_sigmoid": lambda v: 0.0 if v <= -1 else 1.0 if v >= 1 else 0.5 * (v + 1),
    "exponential": math.exp,
    "hard_sigmoid": lambda v: min(max(v + 3, 0.0), 6.0) / 6,
    "hard_silu": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    "hard_swish": lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    "hard_tanh": lambda v: min(max(v, -1.0), 1.0),
    "hard_shrink": lambda v: v if abs(v) > 0.5 else 0.0,
    "linear": lambda v: v,
    "mish": lambda v: v * math.tanh(math.log1p(math.exp(v))),
    "log_sigmoid": lambda v: -math.log1p(math.exp(-v)),
}


def sparsemax_row(z):
    """Martins & Astudillo's algorithm for one vector, written plainly."""
    ranked = sorted(z, reverse=True)
    k, total = 0, 0.0
    for i, v in enumerate(ranked, 1):
        if 1 + i * v > total + v:
            k, total = i, total + v
        else:
            break
    tau = (total - 1) / k
    return [max(v - tau, 0.0) for v in z]


def along_last(row_fn):
    return lambda x: np.array([row_fn(list(r)) for r in x.reshape(-1, x.shape[-1])]).reshape(x.shape)


def softmax_row(r):
    m = max(r)
    e = [math.exp(v - m) for v in r]
    return [v / sum(e) for v in e]


def glu_reference(x):
    half = x.shape[-1] // 2
    return x[..., :half] * np.vectorize(sigmoid)(x[..., half:])


# along an axis: name -> reference on a whole (rows, features) array
AXIS = {
    "softmax": along_last(softmax_row),
    "log_softmax": along_last(lambda r: [math.log(v) for v in softmax_row(r)]),
    "sparsemax": along_last(sparsemax_row),
    "glu": glu_reference,
}


def test_every_keras_name_is_filed():
    keras_names = {"relu", "leaky_relu", "relu6", "softmax", "celu", "elu", "selu", "softplus",
                   "softsign", "squareplus", "soft_shrink", "sparse_plus", "silu", "swish",
                   "gelu", "glu", "tanh", "tanh_shrink", "threshold", "sigmoid",
                   "sparse_sigmoid", "exponential", "hard_sigmoid", "hard_silu", "hard_swish",
                   "hard_tanh", "hard_shrink", "linear", "mish", "log_softmax", "log_sigmoid",
                   "sparsemax"}
    assert keras_names == set(A.ACTIVATIONS)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_values_in_float64(name):
    got = A.get(name)(X)
    assert got.dtype == np.float64
    expected = [ELEMENTWISE[name](v) for v in X]
    np.testing.assert_allclose(got.value, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", AXIS)
def test_axis_values_in_float64(name):
    x = away_from_kinks(np.random.default_rng(1).normal(0, 2, (5, 6)))
    np.testing.assert_allclose(A.get(name)(x).value, AXIS[name](x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(set(ELEMENTWISE) | set(AXIS)))
def test_float32_in_float32_out(name):
    x = X[:180].reshape(30, 6)
    x32 = x.astype(np.float32)
    got = A.get(name)(x32)
    assert got.dtype == np.float32
    reference = A.get(name)(x32.astype(np.float64)).value
    np.testing.assert_allclose(got.value, reference, rtol=2e-6, atol=1e-6)
    assert A.get(name)(Tensor(x32)).dtype == np.float32


GRADIENTS = {name: A.get(name) for name in ELEMENTWISE if name != "linear"}
GRADIENTS.update({
    "softmax_axis0": lambda t: A.softmax(t, axis=0),
    "log_softmax": A.log_softmax,
    "sparsemax": A.sparsemax, "sparsemax_axis0": lambda t: A.sparsemax(t, axis=0),
    "glu": A.glu, "glu_axis0": lambda t: A.glu(t, axis=0),
    "elu_alpha": lambda t: A.elu(t, alpha=0.4), "celu_alpha": lambda t: A.celu(t, alpha=2.5),
    "leaky_relu_slope": lambda t: A.leaky_relu(t, negative_slope=0.05),
    "squareplus_b": lambda t: A.squareplus(t, b=0.3),
    "soft_shrink_threshold": lambda t: A.soft_shrink(t, threshold=1.5),
    "hard_shrink_threshold": lambda t: A.hard_shrink(t, threshold=1.5),
    "threshold": lambda t: A.threshold(t, 1.5, -2.0),
    "relu_slope": lambda t: A.relu(t, negative_slope=0.1),
    "relu_cap": lambda t: A.relu(t, max_value=2.5),
    "relu_threshold": lambda t: A.relu(t, threshold=1.5),
    "relu_all": lambda t: A.relu(t, negative_slope=0.3, max_value=4.5, threshold=1.5),
})


@pytest.mark.parametrize("name", GRADIENTS)
def test_gradients_against_central_differences(name):
    x = away_from_kinks(np.random.default_rng(2).uniform(-7, 7, (4, 6)))
    x = np.where(np.abs(np.abs(x) - 1.5) < 0.05, x + 0.1, x)  # the thresholds above
    x = np.where(np.abs(x - 2.5) < 0.05, x + 0.1, x)
    x = np.where(np.abs(x - 4.5) < 0.05, x + 0.1, x)
    grad_check(GRADIENTS[name], [x], eps=1e-5, rtol=1e-6, atol=1e-7)


def test_sparsemax_gradient_where_the_support_changes_shape():
    x = np.array([[0.1, 0.3, 0.25, -2.0], [5.0, 0.0, 0.0, 0.0], [0.2, 0.21, 0.22, 0.23]])
    grad_check(A.sparsemax, [x], eps=1e-5, rtol=1e-6, atol=1e-7)


# ----- relu's arguments -----------------------------------------------------------------------
RELU_CASES = [  # Keras's documented examples, and the formula for the combinations
    ({}, [0, 0, 0, 5, 10]),
    ({"negative_slope": 0.5}, [-5, -2.5, 0, 5, 10]),
    ({"max_value": 5.0}, [0, 0, 0, 5, 5]),
    ({"threshold": 5.0}, [0, 0, 0, 0, 10]),
    ({"negative_slope": 0.5, "threshold": 5.0}, [-7.5, -5, -2.5, 0, 10]),
    ({"negative_slope": 0.1, "max_value": 6.0, "threshold": 1.0}, [-1.1, -0.6, -0.1, 5, 6]),
]


@pytest.mark.parametrize("kwargs, expected", RELU_CASES)
def test_relu_arguments(kwargs, expected):
    x = np.array([-10, -5, 0.0, 5, 10])
    np.testing.assert_allclose(A.relu(x, **kwargs).value, expected, rtol=1e-15)
    np.testing.assert_allclose(ReLU(**kwargs)(x).value, expected, rtol=1e-15)


def test_relu_formula_on_a_grid():
    slope, cap, cut = 0.3, 4.5, 1.5
    got = A.relu(X, negative_slope=slope, max_value=cap, threshold=cut).value
    expected = [min(v, cap) if v > cut else slope * (v - cut) for v in X]
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


# ----- stable forms --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_neither_overflow_nor_lose_digits(dtype):
    big = np.array([-1000.0, -60.0, 60.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        outputs = {name: A.get(name)(big).value for name in
                   ("softplus", "log_sigmoid", "elu", "selu", "celu", "mish", "silu",
                    "squareplus", "sigmoid", "softsign", "hard_silu")}
        t = Tensor(big)
        sum(A.get(name)(t).sum() for name in ("softplus", "log_sigmoid", "elu", "mish",
                                              "squareplus")).backward()
    assert all(np.isfinite(v).all() for v in outputs.values())
    assert np.isfinite(t.gradient).all()
    np.testing.assert_allclose(outputs["softplus"], [0, math.exp(-60), 60, 1000], rtol=1e-6)
    np.testing.assert_allclose(outputs["log_sigmoid"], [-1000, -60, -math.exp(-60), 0],
                               rtol=1e-6)
    np.testing.assert_allclose(outputs["mish"][2:], [60, 1000], rtol=1e-6)


def test_stable_forms_keep_their_digits_in_float64():
    assert A.softplus(np.array([-50.0])).value[0] == pytest.approx(math.exp(-50), rel=1e-14)
    assert A.elu(np.array([-1e-10])).value[0] == pytest.approx(-1e-10, rel=1e-14)
    # squareplus for x << 0 is b / (4|x|) (1 - b / (4 x^2) + ...): the plain formula gives 0
    x = -1e6
    assert A.squareplus(np.array([x])).value[0] == pytest.approx(1 / -x * (1 - 1e-12), rel=1e-14)
    np.testing.assert_allclose(A.log_softmax(np.array([1000.0, 0.0, -1000.0])).value,
                               [0.0, -1000.0, -2000.0], rtol=1e-15)


def test_squareplus_with_b_zero_is_relu_and_has_a_gradient():
    x = Tensor(np.array([-2.0, 0.0, 3.0]))
    y = A.squareplus(x, b=0)
    y.sum().backward()
    np.testing.assert_array_equal(y.value, [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(x.gradient, [0.0, 0.0, 1.0])


def test_sparsemax_is_a_distribution_with_zeros():
    x = np.random.default_rng(3).normal(0, 3, (50, 7))
    y = A.sparsemax(x).value
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-14)
    assert (y >= 0).all() and (y == 0).any()
    pair = A.sparsemax(np.array([[1.0, 1.0], [0.2, 0.4], [3.0, 0.0]])).value
    np.testing.assert_allclose(pair, [[0.5, 0.5], [0.4, 0.6], [1.0, 0.0]], rtol=1e-15)


# ----- Keras's defaults and argument errors --------------------------------------------------
@pytest.mark.parametrize("fn, defaults", [
    (A.relu, {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}),
    (A.leaky_relu, {"negative_slope": 0.2}), (A.elu, {"alpha": 1.0}), (A.celu, {"alpha": 1.0}),
    (A.squareplus, {"b": 4}), (A.soft_shrink, {"threshold": 0.5}),
    (A.hard_shrink, {"threshold": 0.5}), (A.glu, {"axis": -1}), (A.softmax, {"axis": -1}),
    (A.log_softmax, {"axis": -1}), (A.sparsemax, {"axis": -1}),
    (LeakyReLU, {"negative_slope": 0.3}), (ELU, {"alpha": 1.0}),
    (ReLU, {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}),
    (PReLU, {"alpha_initializer": "zeros", "shared_axes": None}),
])
def test_keras_defaults(fn, defaults):
    parameters = inspect.signature(fn).parameters
    assert {name: parameters[name].default for name in defaults} == defaults


BAD_CALLS = [
    (lambda: A.elu(X, alpha="big"), "alpha"), (lambda: A.celu(X, alpha=0), "alpha"),
    (lambda: A.squareplus(X, b=-1), "b"), (lambda: A.soft_shrink(X, threshold=-1), "threshold"),
    (lambda: A.hard_shrink(X, threshold=None), "threshold"),
    (lambda: A.relu(X, max_value="6"), "max_value"),
    (lambda: A.relu(X, negative_slope=math.nan), "negative_slope"),
    (lambda: A.leaky_relu(X, negative_slope=None), "negative_slope"),
    (lambda: A.sparsemax(X, axis=1.0), "axis"), (lambda: A.glu(X, axis=2), "axis"),
    (lambda: A.threshold(X, "1", 0.0), "threshold"),
    (lambda: ReLU(max_value=-1.0), "max_value"), (lambda: ReLU(negative_slope=-0.1),
                                                  "negative_slope"),
    (lambda: ReLU(threshold=-1.0), "threshold"), (lambda: LeakyReLU(-0.3), "negative_slope"),
    (lambda: LeakyReLU(alpha=-1.0), "negative_slope"), (lambda: ELU(alpha=None), "alpha"),
    (lambda: PReLU(shared_axes=0), "shared_axes"), (lambda: PReLU(shared_axes=[1.5]),
                                                    "shared_axes"),
    (lambda: PReLU(alpha_initializer="nope"), "initializer"),
]


@pytest.mark.parametrize("call, argument", BAD_CALLS, ids=[a for _, a in BAD_CALLS])
def test_bad_arguments_name_themselves(call, argument):
    with pytest.raises(ValueError, match=f"`{argument}`|initializer"):
        call()


def test_glu_needs_an_even_axis():
    with pytest.raises(ValueError, match=r"even size.*\(2, 3\)"):
        A.glu(np.zeros((2, 3)))


# ----- get, serialize, deserialize ---------------------------------------------------------------
def test_get_resolves_names_aliases_and_objects():
    assert A.get("swish") is A.silu and A.get("hard_swish") is A.hard_silu
    assert A.get(None) is A.linear and A.get("exponential") is A.exponential
    assert A.get(math.tanh) is math.tanh
    layer = ReLU(max_value=6.0)
    assert A.get(layer) is layer
    assert isinstance(A.get(ELU), ELU)
    rebuilt = A.get({"class_name": "LeakyReLU", "config": {"negative_slope": 0.1}})
    assert isinstance(rebuilt, LeakyReLU) and rebuilt.negative_slope == 0.1


@pytest.mark.parametrize("bad, message", [("nope", "Unknown activation 'nope'"),
                                          (3, "activation"), ("Swish", "Unknown activation")])
def test_get_refuses_what_it_does_not_know(bad, message):
    with pytest.raises(ValueError, match=message):
        A.get(bad)


def test_serialize_gives_names_and_layer_configs():
    assert A.serialize(A.get("swish")) == "silu"
    assert A.serialize("hard_swish") == "hard_swish"
    assert A.serialize(None) == "linear"
    assert A.serialize(A.get("gelu")) == "gelu"
    spec = A.serialize(ReLU(max_value=6.0))
    assert spec == {"class_name": "ReLU", "config": {"max_value": 6.0, "negative_slope": 0.0,
                                                      "threshold": 0.0}}
    assert A.deserialize(json.loads(json.dumps(spec))).max_value == 6.0
    assert A.deserialize("mish") is A.mish
    with pytest.raises(ValueError, match="activation"):
        A.serialize(42)
    with pytest.raises(ValueError, match="Unknown activation"):
        A.serialize("nope")


def test_dense_takes_every_name():
    x = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    for name in sorted(A.ACTIVATIONS):
        if name == "threshold":  # needs its arguments
            continue
        layer = Dense(6, activation=name)
        assert layer(x).dtype == np.float32 and layer(x).shape == (3, 3 if name == "glu" else 6)
        assert layer.get_config()["activation"] == name


# ----- the layers ---------------------------------------------------------------------------------
def test_relu_layer_config_round_trip():
    layer = ReLU(max_value=6, negative_slope=0.1, threshold=0.5)
    config = layer.get_config()
    assert config == {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}
    assert ReLU.from_config(json.loads(json.dumps(config))).get_config() == config
    assert ReLU.from_config({}).get_config()["max_value"] is None  # an old config


def test_leaky_relu_layer_follows_keras_3_and_keeps_alpha():
    x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
    np.testing.assert_allclose(LeakyReLU()(x).value, [-3, -1.5, 0, 5, 10], rtol=1e-15)
    np.testing.assert_allclose(LeakyReLU(negative_slope=0.5)(x).value, [-5, -2.5, 0, 5, 10])
    old = LeakyReLU.from_config({"alpha": 0.01})  # configs written before the rename
    assert old.negative_slope == 0.01 and old.alpha == 0.01
    assert old.get_config() == {"negative_slope": 0.01}
    assert repr(LeakyReLU(alpha=0.1)) == "LeakyReLU(negative_slope=0.1)"


def test_elu_layer():
    x = away_from_kinks(np.linspace(-4, 4, 41))
    layer = ELU(alpha=0.7)
    np.testing.assert_allclose(layer(x).value, [v if v > 0 else 0.7 * math.expm1(v) for v in x],
                               rtol=1e-14)
    assert ELU.from_config(layer.get_config()).alpha == 0.7


def test_prelu_weight_shapes_and_values():
    x = np.random.default_rng(5).normal(size=(4, 3, 5, 2))
    layer = PReLU(alpha_initializer=initializers.Constant(0.25), shared_axes=[1, 2])
    y = layer(x)
    assert layer.alpha.shape == (1, 1, 2) and layer.alpha.dtype == np.float32
    assert layer.get_weights()[0].shape == (1, 1, 2) and layer.count_params() == 2
    np.testing.assert_allclose(y.value, np.where(x >= 0, x, 0.25 * x), rtol=1e-6)
    full = PReLU()
    full(x)
    assert full.alpha.shape == (3, 5, 2)
    np.testing.assert_array_equal(full.alpha.value, 0)
    assert PReLU(shared_axes=3)(x) is not None


def test_prelu_gradients_reach_alpha_and_input():
    x = away_from_kinks(np.random.default_rng(6).normal(size=(3, 4, 2)))
    alpha = np.random.default_rng(7).uniform(0.1, 0.5, (1, 2))

    def prelu(inputs, slopes):
        layer = PReLU(shared_axes=[1])
        layer.build((None, 4, 2))
        layer.alpha = slopes
        return layer(inputs)
    grad_check(prelu, [x, alpha], eps=1e-5, rtol=1e-6, atol=1e-7)


def test_prelu_trains_its_alpha():
    layer = PReLU()
    x = Tensor(np.array([[-2.0, 1.0]]), trainable=False)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.alpha.gradient, [-2.0, 0.0])
    assert layer.parameters() == [layer.alpha]


def test_prelu_config_round_trip_is_json():
    layer = PReLU(alpha_initializer=initializers.RandomNormal(stddev=0.1, seed=2),
                  shared_axes=(1,))
    config = json.loads(json.dumps(layer.get_config()))
    assert config == {"alpha_initializer": {"class_name": "RandomNormal", "config": {
        "mean": 0.0, "stddev": 0.1, "seed": 2}}, "shared_axes": [1]}
    rebuilt = LAYERS.deserialize({"class_name": "PReLU", "config": config})
    rebuilt.build((None, 3, 4))
    layer.build((None, 3, 4))
    np.testing.assert_array_equal(rebuilt.alpha.value, layer.alpha.value)  # same seed


def test_prelu_needs_known_sizes_on_axes_it_does_not_share():
    with pytest.raises(ValueError, match="shared_axes"):
        PReLU().build((None, None, 4))
    PReLU(shared_axes=[1]).build((None, None, 4))
    with pytest.raises(ValueError, match="shared_axes"):
        PReLU(shared_axes=[3]).build((None, 5, 4))


def test_softmax_layer_keeps_its_axis():
    x = np.random.default_rng(8).normal(size=(2, 3))
    np.testing.assert_allclose(Softmax(axis=0)(x).value.sum(axis=0), 1.0, rtol=1e-15)
