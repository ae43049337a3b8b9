"""Keras's initializers: each distribution's mean, standard deviation and
bounds on large draws against the published definitions, the truncation
constant from its formula, orthogonality and identity, seeds, dtypes, the
functions and classes by every name, `get`/`serialize`/`deserialize`, and
the error for each bad argument."""
import json
import math

import numpy as np
import pytest

import zen
from zen.nn import initializers as I
from zen.nn.initializers import (Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
                                 Identity, LecunNormal, LecunUniform, Ones, Orthogonal,
                                 RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
                                 Zeros)

SHAPE = (500, 400)  # 200,000 draws: the sample std is within 0.5% with overwhelming odds
TOLERANCE = 0.02


def truncated_unit_std():
    """The standard deviation of N(0, 1) truncated to [-2, 2]:
    sqrt(1 - 2 * 2 phi(2) / (Phi(2) - Phi(-2)))."""
    phi = math.exp(-2.0) / math.sqrt(2 * math.pi)
    return math.sqrt(1 - 4 * phi / math.erf(2 / math.sqrt(2)))


def test_truncation_constant_is_the_truncated_normals_std():
    assert I.TRUNCATED_STDDEV == pytest.approx(truncated_unit_std(), rel=1e-14)


def check_moments(values, mean, std, low=None, high=None):
    values = values.astype(np.float64)
    assert values.mean() == pytest.approx(mean, abs=TOLERANCE * std + 1e-12)
    assert values.std() == pytest.approx(std, rel=TOLERANCE)
    if low is not None:
        assert values.min() >= low and values.max() <= high


# ----- the distributions ---------------------------------------------------------------
@pytest.mark.parametrize("init, mean, std, bounds", [
    (RandomNormal(), 0.0, 0.05, None),
    (RandomNormal(mean=0.3, stddev=2.0), 0.3, 2.0, None),
    (RandomUniform(), 0.0, 0.1 / math.sqrt(12), (-0.05, 0.05)),
    (RandomUniform(-1.0, 3.0), 1.0, 4 / math.sqrt(12), (-1.0, 3.0)),
    (TruncatedNormal(), 0.0, 0.05 * truncated_unit_std(), (-0.1, 0.1)),
    (TruncatedNormal(mean=1.0, stddev=0.5), 1.0, 0.5 * truncated_unit_std(), (0.0, 2.0)),
], ids=repr)
def test_plain_distributions(init, mean, std, bounds):
    check_moments(init(SHAPE), mean, std, *(bounds or ()))


FANS = {"fan_in": 500, "fan_out": 400, "fan_avg": 450}


@pytest.mark.parametrize("mode", FANS)
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling(mode, distribution):
    scale = 2.5
    std = math.sqrt(scale / FANS[mode])
    values = VarianceScaling(scale, mode, distribution)(SHAPE)
    limit = {"truncated_normal": 2 * std / truncated_unit_std(),
             "untruncated_normal": math.inf, "uniform": math.sqrt(3) * std}[distribution]
    check_moments(values, 0.0, std, -limit, limit)
    if distribution == "untruncated_normal":
        assert np.abs(values).max() > 3.5 * std  # not truncated


def test_variance_scaling_counts_convolution_fans_and_named_axes():
    shape = (3, 3, 16, 32)  # fan_in 9 * 16, fan_out 9 * 32
    check_moments(VarianceScaling(1.0, "fan_out", "uniform")(shape), 0, math.sqrt(1 / 288))
    assert I.compute_fans(shape) == (144, 288)
    assert I.compute_fans((7, 5, 2), input_axes=[0, 2], output_axes=[1]) == (14, 5)
    assert I.compute_fans((6,)) == (6, 6) and I.compute_fans(()) == (1, 1)
    named = VarianceScaling(1.0, "fan_in", "uniform", input_axes=[0], output_axes=[1, 2])
    check_moments(named((400, 20, 30)), 0, math.sqrt(1 / 400))


def test_variance_scaling_normal_is_keras_older_name_for_truncated():
    assert VarianceScaling(distribution="Normal").distribution == "truncated_normal"


@pytest.mark.parametrize("cls, scale, fan, uniform", [
    (GlorotUniform, 1.0, 450, True), (GlorotNormal, 1.0, 450, False),
    (HeNormal, 2.0, 500, False), (HeUniform, 2.0, 500, True),
    (LecunNormal, 1.0, 500, False), (LecunUniform, 1.0, 500, True),
])
def test_named_variance_scalings(cls, scale, fan, uniform):
    std = math.sqrt(scale / fan)
    limit = math.sqrt(3) * std if uniform else 2 * std / truncated_unit_std()
    check_moments(cls()(SHAPE), 0.0, std, -limit, limit)
    assert isinstance(I.get(cls.__name__), cls)


@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", GlorotUniform), ("glorot_normal", GlorotNormal),
    ("he_normal", HeNormal), ("he_uniform", HeUniform), ("lecun_normal", LecunNormal),
    ("lecun_uniform", LecunUniform), ("orthogonal", Orthogonal),
    ("random_normal", RandomNormal), ("random_uniform", RandomUniform),
    ("truncated_normal", TruncatedNormal), ("variance_scaling", VarianceScaling),
])
def test_functions_are_the_classes_at_their_defaults(name, cls):
    function = I.get(name)
    assert function.__name__ == name and getattr(I, name) is function
    zen.set_seed(12)
    a = function((30, 20))
    zen.set_seed(12)
    b = cls()((30, 20))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


# ----- orthogonal, identity, constants ----------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9), (3, 2, 5)])
def test_orthogonal(shape):
    q = Orthogonal(gain=1.5, seed=3)(shape, "float64")
    matrix = q.reshape(-1, shape[-1])
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    np.testing.assert_allclose(gram, 2.25 * np.eye(len(gram)), atol=1e-12)
    assert q.shape == shape


def test_orthogonal_is_uniform_over_signs():
    draws = np.stack([Orthogonal()((3, 3))[0, 0] for _ in range(400)])
    assert 0.35 < (draws > 0).mean() < 0.65


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_identity(shape):
    np.testing.assert_array_equal(Identity(gain=2.0)(shape), 2 * np.eye(*shape))
    np.testing.assert_array_equal(I.identity(shape), np.eye(*shape))


def test_constants():
    np.testing.assert_array_equal(Constant(0.7)((2, 3)), np.full((2, 3), 0.7, np.float32))
    np.testing.assert_array_equal(I.constant((2,)), [0.0, 0.0])
    assert Zeros()((2, 3)).sum() == 0 and Ones()((4,), "float64").dtype == np.float64
    assert I.zeros(3).shape == (3,) and I.ones((2, 2)).dtype == np.float32
    assert Zeros()((2,), "int32").dtype == np.int32  # Keras allows integer constants


# ----- dtypes and seeds ---------------------------------------------------------------------
@pytest.mark.parametrize("init", [RandomNormal(), RandomUniform(), TruncatedNormal(),
                                  VarianceScaling(), GlorotUniform(), Orthogonal(),
                                  Identity(), Constant(2.0), Zeros(), Ones()], ids=repr)
def test_dtypes(init):
    assert init((4, 4)).dtype == np.float32
    assert init((4, 4), "float64").dtype == np.float64
    assert init((4, 4), np.dtype(np.float16)).dtype == np.float16


@pytest.mark.parametrize("init", [RandomNormal(), RandomUniform(), TruncatedNormal(),
                                  HeNormal(), Orthogonal()], ids=repr)
def test_random_initializers_need_a_float_dtype(init):
    with pytest.raises(ValueError, match="`dtype`.*floating.*int32"):
        init((4, 4), "int32")


def test_a_seed_gives_the_same_draws_every_call_without_touching_zens_generator():
    zen.set_seed(1)
    state = zen.rng.get_state()
    first = RandomNormal(seed=7)((50,))
    np.testing.assert_array_equal(first, RandomNormal(seed=7)((50,)))
    np.testing.assert_array_equal(first, RandomNormal(seed=7)((50,)))
    assert zen.rng.get_state() == state
    assert not np.array_equal(first, RandomNormal(seed=8)((50,)))
    np.testing.assert_array_equal(HeUniform(seed=2)((5, 4)), HeUniform(seed=2)((5, 4)))


def test_unseeded_draws_follow_zen_set_seed():
    init = TruncatedNormal()
    zen.set_seed(3)
    a, b = init((20,)), init((20,))
    zen.set_seed(3)
    np.testing.assert_array_equal(a, init((20,)))
    assert not np.array_equal(a, b)


# ----- get, serialize, deserialize ------------------------------------------------------------
def test_get_by_snake_name_alias_class_name_class_instance_and_callable():
    assert I.get("normal") is I.random_normal and I.get("uniform") is I.random_uniform
    assert I.get("zero") is I.zeros and I.get("one") is I.ones
    assert isinstance(I.get("RandomNormal"), RandomNormal)
    assert isinstance(I.get("OrthogonalInitializer"), Orthogonal)
    assert isinstance(I.get(HeNormal), HeNormal)
    instance = RandomUniform(-1.0, 1.0)
    assert I.get(instance) is instance
    custom = lambda shape, dtype=None: np.full(shape, 3.0)  # noqa: E731
    assert I.get(custom) is custom


def test_get_by_config_dict():
    init = I.get({"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5,
                                                           "seed": 4}})
    assert isinstance(init, RandomNormal) and (init.mean, init.stddev, init.seed) == (1.0, 0.5, 4)
    keras_written = {"module": "keras.initializers", "class_name": "GlorotUniform",
                     "config": {"seed": None, "input_axes": None, "output_axes": None},
                     "registered_name": None}
    assert isinstance(I.get(keras_written), GlorotUniform)
    assert I.get({"class_name": "IdentityInitializer", "config": {"gain": 2.0}}).gain == 2.0


@pytest.mark.parametrize("bad, message", [
    ("nope", "Unknown initializer 'nope'"), ("Glorot_Uniform", "Unknown initializer"),
    (3, "`initializer`"), (None, "`initializer`"),
    ({"class_name": "Nope", "config": {}}, "Unknown initializer class 'Nope'"),
    ({"class_name": "zeros", "config": {}}, "Unknown initializer class 'zeros'"),
    ({"class_name": "RandomNormal"}, "expected {'class_name'"),
    ({"class_name": "RandomNormal", "config": {"stdev": 1.0}}, "stdev"),
])
def test_get_refuses_what_it_does_not_know(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        I.get(bad)


@pytest.mark.parametrize("init", [
    RandomNormal(mean=0.5, stddev=0.1, seed=1), RandomUniform(-0.2, 0.4), TruncatedNormal(),
    VarianceScaling(2.0, "fan_avg", "uniform", seed=3), GlorotUniform(seed=5), HeNormal(),
    LecunUniform(), Orthogonal(gain=0.5), Constant(3.5), Identity(gain=0.1), Zeros(), Ones(),
], ids=repr)
def test_serialize_round_trip_through_json(init):
    spec = json.loads(json.dumps(I.serialize(init)))
    assert spec["class_name"] == type(init).__name__
    rebuilt = I.deserialize(spec)
    assert type(rebuilt) is type(init) and rebuilt.get_config() == init.get_config()
    assert rebuilt.clone().get_config() == init.get_config()


def test_serialize_names_and_functions():
    assert I.serialize("he_normal") == "he_normal" and I.serialize(I.he_normal) == "he_normal"
    assert I.serialize(I.get("normal")) == "random_normal"
    assert I.serialize(HeNormal) == {"class_name": "HeNormal", "config": {
        "seed": None, "input_axes": None, "output_axes": None}}
    assert I.serialize({"class_name": "Constant", "config": {"value": 2}}) == {
        "class_name": "Constant", "config": {"value": 2.0}}
    assert I.deserialize("zeros") is I.zeros
    with pytest.raises(ValueError, match="Unknown initializer"):
        I.serialize("nope")
    with pytest.raises(ValueError, match="`initializer`"):
        I.serialize(3)


def test_repr_shows_the_config():
    assert repr(RandomNormal(stddev=0.1)) == "RandomNormal(mean=0.0, stddev=0.1, seed=None)"


def test_layers_take_initializer_objects_and_names():
    layer = zen.nn.Dense(3, kernel_initializer=Constant(0.5), bias_initializer="ones")
    layer(np.zeros((2, 4), np.float32))
    np.testing.assert_array_equal(layer.kernel.value, np.full((4, 3), 0.5))
    np.testing.assert_array_equal(layer.bias.value, np.ones(3))
    zen.nn.Dense(3, kernel_initializer="LecunNormal")(np.zeros((2, 4), np.float32))


# ----- argument errors --------------------------------------------------------------------------
BAD = [
    (lambda: RandomNormal(stddev=-1.0), "stddev"), (lambda: RandomNormal(mean="0"), "mean"),
    (lambda: RandomUniform(1.0, -1.0), "maxval"), (lambda: RandomUniform(math.nan), "minval"),
    (lambda: TruncatedNormal(stddev=-0.1), "stddev"),
    (lambda: VarianceScaling(scale=0.0), "scale"), (lambda: VarianceScaling(mode="fan"), "mode"),
    (lambda: VarianceScaling(distribution="cauchy"), "distribution"),
    (lambda: VarianceScaling(input_axes="0"), "input_axes"),
    (lambda: RandomNormal(seed=-1), "seed"), (lambda: GlorotUniform(seed=1.5), "seed"),
    (lambda: Orthogonal(gain=math.inf), "gain"), (lambda: Identity(gain=None), "gain"),
    (lambda: Constant("a"), "value"),
    (lambda: Orthogonal()((5,)), "shape"), (lambda: Identity()((2, 2, 2)), "shape"),
    (lambda: RandomNormal()((2, -1)), "shape"), (lambda: Zeros()("3"), "shape"),
    (lambda: HeNormal()((2.0, 3)), "shape"),
]


@pytest.mark.parametrize("make, argument", BAD, ids=[a for _, a in BAD])
def test_bad_arguments_name_themselves(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()
