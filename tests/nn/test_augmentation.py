"""Image augmentation layers: the identity in inference (a new layer's
default, Keras's rule), active with training=True, train_mode() or an outer
training call; known transforms by hand (one-pixel shifts, flips, half and
quarter turns, zoom 0, pinned contrast), every fill mode, reproducibility
under zen.set_seed, float64 gradient checks through the sampling op, configs
and argument errors."""
import json

import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.nn import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from zen.nn import symbolic
from zen.nn.layer import inference_mode

rng = np.random.default_rng(0)
FILL_MODES = ["constant", "nearest", "reflect", "wrap"]


def images(shape=(2, 4, 5, 3), dtype=np.float32):
    return rng.uniform(0, 255, shape).astype(dtype)


@pytest.fixture(autouse=True)
def seed_zen():
    """Every test starts from the same draws, so none depends on luck."""
    zen.set_seed(0)


def described(make):
    return repr(make())


def seeded(layer, seed=0):
    """The layer as a function of its input, with the random draws repeated."""
    def run(x):
        zen.set_seed(seed)
        return layer(x, training=True)
    return run


LAYERS = [
    lambda: RandomTranslation(0.2, 0.3),
    lambda: RandomTranslation((-0.2, 0.1), 0.3, fill_mode="reflect", interpolation="nearest"),
    lambda: RandomRotation(0.2),
    lambda: RandomRotation((-0.1, 0.3), fill_mode="wrap", fill_value=1.0),
    lambda: RandomZoom(0.3),
    lambda: RandomZoom((-0.3, 0.2), (0.1, 0.4), fill_mode="nearest"),
    lambda: RandomFlip(),
    lambda: RandomFlip("horizontal_and_vertical"),
    lambda: RandomContrast(0.4),
    lambda: RandomContrast((0.1, 0.5), value_range=(-1, 300)),
]


# ----- modes, shapes, dtypes ------------------------------------------------------------
@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_inference_is_the_identity(make):
    """A new layer runs in inference (Keras's rule), as does one in eval_mode
    and any call with training=False, whatever the layer's mode."""
    x = images()
    t = Tensor(x)
    for layer in (make(), make().eval_mode()):
        assert layer(x) is x
        assert layer(t) is t
    for layer in (make(), make().eval_mode(), make().train_mode()):
        assert layer(x, training=False) is x
        assert layer(t, training=False) is t


@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_training_mode_by_argument_mode_and_outer_call(make):
    """training=True transforms even in eval_mode; train_mode() makes calls
    without `training` transform; an outer call's value reaches the layer."""
    x = images((8, 6, 6, 2))
    assert not np.allclose(make().eval_mode()(x, training=True).value, x)
    layer = make().train_mode()
    assert not np.allclose(layer(x).value, x)
    assert layer.eval_mode()(x) is x
    model = zen.Sequential([make()])
    assert not np.allclose(model(x, training=True).value, x)
    assert model(x) is x                                # a plain call: inference
    model.train_mode()
    assert not np.allclose(model(x).value, x)
    assert model(x, training=False) is x
    with inference_mode():
        assert make().train_mode()(x) is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_training_keeps_shape_and_dtype(make, dtype):
    x = images((3, 6, 7, 2), dtype)
    y = make()(x, training=True)
    assert y.shape == x.shape and y.dtype == dtype
    assert make().get_weights() == [] and make().count_params() == 0


@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_integer_images_become_float32(make):
    assert make()(images().astype(np.uint8), training=True).dtype == np.float32


@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_training_changes_images(make):
    x = images((8, 6, 6, 2))
    assert not np.allclose(make()(x, training=True).value, x)


@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_reproducible_under_set_seed(make):
    x = images((4, 6, 7, 2))
    first, second = seeded(make(), 5)(x).value, seeded(make(), 5)(x).value
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, seeded(make(), 6)(x).value)


@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_one_draw_per_image(make):
    x = np.repeat(images((1, 6, 6, 2)), 16, axis=0)     # 16 copies of one image
    y = make()(x, training=True).value
    assert not all(np.array_equal(y[0], y[i]) for i in range(1, 16))


@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_symbolic_call_keeps_the_shape(make):
    y = make()(symbolic.SymbolicTensor((None, 8, 9, 3)))
    assert isinstance(y, symbolic.SymbolicTensor) and tuple(y.shape) == (None, 8, 9, 3)


# ----- known transforms ------------------------------------------------------------------
def test_translation_by_one_pixel():
    x = images((2, 4, 4, 3))
    down = RandomTranslation((0.25, 0.25), 0.0)(x, training=True).value   # 0.25 * 4: a row down
    np.testing.assert_allclose(down[:, 1:], x[:, :-1])
    np.testing.assert_array_equal(down[:, 0], 0.0)
    left = RandomTranslation(0.0, (-0.25, -0.25), fill_value=7.0)(x, training=True).value
    np.testing.assert_allclose(left[:, :, :-1], x[:, :, 1:])
    np.testing.assert_array_equal(left[:, :, -1], 7.0)


@pytest.mark.parametrize("fill_mode, expected_first_rows", [
    ("constant", lambda x: np.zeros_like(x[:, :2])),
    ("nearest", lambda x: x[:, [0, 0]]),                  # a a | a b c d
    ("reflect", lambda x: x[:, [1, 0]]),                  # b a | a b c d
    ("wrap", lambda x: x[:, [-2, -1]]),                   # c d | a b c d
])
def test_fill_modes_on_a_two_pixel_shift(fill_mode, expected_first_rows):
    x = images((2, 4, 3, 2))
    y = RandomTranslation((0.5, 0.5), 0.0, fill_mode=fill_mode)(x, training=True).value
    np.testing.assert_allclose(y[:, 2:], x[:, :2])
    np.testing.assert_allclose(y[:, :2], expected_first_rows(x))


def test_half_pixel_shift_is_the_mean_of_neighbours():
    x = images((2, 4, 4, 1))
    y = RandomTranslation(0.0, (0.125, 0.125), fill_mode="nearest")(x, training=True).value
    np.testing.assert_allclose(y[:, :, 1:], (x[:, :, 1:] + x[:, :, :-1]) / 2, rtol=1e-6)
    nearest = RandomTranslation(0.0, (0.2, 0.2), interpolation="nearest")(  # 0.8 px
        x, training=True).value
    np.testing.assert_array_equal(nearest[:, :, 1:], x[:, :, :-1])


def test_rotation_by_a_half_turn_is_rot90_twice():
    x = images((3, 5, 6, 2), np.float64)
    for factor in [(0.5, 0.5), (-0.5, -0.5)]:
        y = RandomRotation(factor)(x, training=True).value
        np.testing.assert_allclose(y, np.rot90(x, 2, axes=(1, 2)), atol=1e-9)


def test_rotation_by_a_quarter_turn_is_counter_clockwise():
    x = images((2, 5, 5, 1), np.float64)
    np.testing.assert_allclose(RandomRotation((0.25, 0.25))(x, training=True).value,
                               np.rot90(x, 1, axes=(1, 2)), atol=1e-9)
    np.testing.assert_allclose(RandomRotation((-0.25, -0.25))(x, training=True).value,
                               np.rot90(x, -1, axes=(1, 2)), atol=1e-9)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_zoom_factor_zero_is_the_identity(fill_mode):
    x = images((3, 5, 6, 2))
    for layer in (RandomZoom(0.0, fill_mode=fill_mode), RandomRotation(0.0, fill_mode=fill_mode),
                  RandomTranslation(0.0, 0.0, fill_mode=fill_mode)):
        np.testing.assert_array_equal(layer(x, training=True).value, x)


def test_zoom_in_and_out_about_the_centre():
    """Bilinear sampling of a linear ramp is exact: zooming in by half reads
    the ramp at centre + (p - centre) / 2 ... (the map is p -> c + z (p - c))."""
    h, w = 5, 7
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    ramp = (10.0 * rows + cols)[None, :, :, None]
    zoomed_in = RandomZoom((-0.5, -0.5))(ramp, training=True).value[0, :, :, 0]       # z = 0.5
    expected = 10.0 * (2 + 0.5 * (rows - 2)) + (3 + 0.5 * (cols - 3))
    np.testing.assert_allclose(zoomed_in, expected, atol=1e-12)
    wide = RandomZoom((0.0, 0.0), (1.0, 1.0), fill_mode="nearest")(
        ramp, training=True).value[0, :, :, 0]
    np.testing.assert_allclose(wide, 10.0 * rows + np.clip(3 + 2 * (cols - 3), 0, w - 1))


def test_horizontal_flip():
    x = images((32, 3, 4, 2))
    y = RandomFlip("horizontal")(x, training=True).value
    flipped = [np.array_equal(y[i], x[i, :, ::-1]) for i in range(32)]
    kept = [np.array_equal(y[i], x[i]) for i in range(32)]
    assert all(f or k for f, k in zip(flipped, kept)) and 4 < sum(flipped) < 28


def test_vertical_and_both_flips():
    x = images((64, 3, 4, 1))
    y = RandomFlip("vertical")(x, training=True).value
    assert all(np.array_equal(y[i], x[i]) or np.array_equal(y[i], x[i, ::-1]) for i in range(64))
    y = RandomFlip("horizontal_and_vertical")(x, training=True).value
    outcomes = [[np.array_equal(y[i], v) for v in (x[i], x[i, :, ::-1], x[i, ::-1],
                                                  x[i, ::-1, ::-1])] for i in range(64)]
    assert all(sum(o) == 1 for o in outcomes)
    assert all(sum(column) > 4 for column in zip(*outcomes))    # all four happen


def test_contrast_with_a_pinned_factor():
    x = images((3, 4, 5, 2), np.float64)
    mean = x.mean(axis=(1, 2), keepdims=True)
    for factor, c in [((0.5, -0.5), 0.5), ((-0.5, 0.5), 1.5), ((0.0, 0.0), 1.0)]:
        y = RandomContrast(factor)(x, training=True).value
        np.testing.assert_allclose(y, np.clip((x - mean) * c + mean, 0, 255))
    y = RandomContrast((-0.5, 0.5), value_range=(50, 200))(x, training=True).value
    np.testing.assert_allclose(y, np.clip((x - mean) * 1.5 + mean, 50, 200))
    assert y.min() == 50 and y.max() == 200


def test_contrast_factor_range_per_image_and_channel():
    x = images((64, 4, 4, 3), np.float64)
    mean = x.mean(axis=(1, 2), keepdims=True)
    y = RandomContrast(0.3, value_range=(-1e6, 1e6))(x, training=True).value
    c = (y - mean) / (x - mean)
    np.testing.assert_allclose(c, c[:, :1, :1, :1] * np.ones_like(c))   # one factor per image
    assert 0.7 <= c.min() < 0.8 and 1.2 < c.max() <= 1.3


def test_contrast_on_sequences():
    x = images((2, 6, 3), np.float64)                       # (batch, time, channels)
    mean = x.mean(axis=1, keepdims=True)
    y = RandomContrast((0.5, -0.5), value_range=(-1e6, 1e6))(x, training=True).value
    np.testing.assert_allclose(y, (x - mean) * 0.5 + mean)


# ----- gradients ------------------------------------------------------------------------------
GRADIENT_LAYERS = [
    *[lambda mode=mode: RandomRotation(0.2, fill_mode=mode, fill_value=2.0)
      for mode in FILL_MODES],
    lambda: RandomTranslation(0.4, 0.4, fill_mode="reflect"),
    lambda: RandomZoom((-0.4, 0.6), fill_mode="constant"),
    lambda: RandomZoom(0.5, 0.2, fill_mode="wrap", interpolation="nearest"),
    lambda: RandomFlip("horizontal_and_vertical"),
    lambda: RandomContrast(0.5, value_range=(-10, 10)),
]


@pytest.mark.parametrize("make", GRADIENT_LAYERS, ids=described)
def test_gradients(make):
    layer = make()
    grad_check(seeded(layer), [rng.normal(size=(3, 4, 5, 2))])


def test_gradient_reaches_earlier_layers():
    x = rng.normal(size=(2, 5, 5, 1))
    kernel = rng.normal(size=(2, 2, 1, 2))
    layers = [RandomTranslation(0.3, 0.3), RandomRotation(0.3), RandomZoom(0.3)]

    def model(x, kernel):
        y = zen.autodiff.conv2d(x, kernel, padding="same")
        zen.set_seed(1)
        for layer in layers:
            y = layer(y, training=True)
        return y

    grad_check(model, [x, kernel])


# ----- configs and errors ---------------------------------------------------------------------
@pytest.mark.parametrize("make", LAYERS, ids=described)
def test_config_round_trip(make):
    layer = make()
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    assert clone.get_config() == layer.get_config()
    x = images((3, 6, 6, 2))
    np.testing.assert_array_equal(seeded(clone, 3)(x).value, seeded(layer, 3)(x).value)


def test_defaults_and_repr():
    assert RandomTranslation(0.1, 0.2).get_config() == {
        "height_factor": 0.1, "width_factor": 0.2, "fill_mode": "constant",
        "interpolation": "bilinear", "fill_value": 0.0}
    assert RandomZoom(0.2).get_config()["width_factor"] is None
    assert RandomFlip().get_config() == {"mode": "horizontal"}
    assert RandomContrast(0.2).get_config() == {"factor": 0.2, "value_range": (0, 255)}
    assert repr(RandomRotation(0.1, fill_mode="reflect")) == \
        "RandomRotation(factor=0.1, fill_mode='reflect')"
    assert RandomZoom(0.1).name.startswith("random_zoom")


BAD_ARGUMENTS = [
    (lambda: RandomTranslation(1.5, 0.1), "height_factor"),
    (lambda: RandomTranslation(0.1, (0.3, -0.2)), "width_factor"),    # lower > upper
    (lambda: RandomTranslation(0.1, (0.1, 0.2, 0.3)), "width_factor"),
    (lambda: RandomTranslation("0.1", 0.1), "height_factor"),
    (lambda: RandomTranslation(0.1, 0.1, fill_mode="mirror"), "fill_mode"),
    (lambda: RandomTranslation(0.1, 0.1, interpolation="bicubic"), "interpolation"),
    (lambda: RandomTranslation(0.1, 0.1, fill_value="black"), "fill_value"),
    (lambda: RandomRotation(2.0), "factor"),
    (lambda: RandomRotation((0.2, 0.1)), "factor"),
    (lambda: RandomRotation((0.1, 1.1)), "factor"),
    (lambda: RandomRotation(float("nan")), "factor"),
    (lambda: RandomRotation(True), "factor"),
    (lambda: RandomZoom(-1.0), "height_factor"),                      # zoom factors in (-1, 1]
    (lambda: RandomZoom((-1.0, 0.5)), "height_factor"),
    (lambda: RandomZoom(0.2, (0.5, 0.1)), "width_factor"),
    (lambda: RandomZoom(0.2, fill_value=float("inf")), "fill_value"),
    (lambda: RandomFlip("diagonal"), "mode"),
    (lambda: RandomFlip(None), "mode"),
    (lambda: RandomContrast(-0.2), "factor"),                         # floats in [0, 1]
    (lambda: RandomContrast(1.5), "factor"),
    (lambda: RandomContrast((0.5, -0.6)), "factor"),                  # empty range
    (lambda: RandomContrast((0.5, 1.5)), "factor"),
    (lambda: RandomContrast(0.2, value_range=(255, 0)), "value_range"),
    (lambda: RandomContrast(0.2, value_range=255), "value_range"),
]


@pytest.mark.parametrize("make, argument", BAD_ARGUMENTS)
def test_bad_arguments_raise(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}="):
        make()


@pytest.mark.parametrize("make, shape", [
    (lambda: RandomTranslation(0.1, 0.1), (2, 28, 28)),
    (lambda: RandomRotation(0.1), (2, 28, 28, 1, 1)),
    (lambda: RandomZoom(0.1), (28, 28)),
    (lambda: RandomFlip(), (2, 28)),
    (lambda: RandomContrast(0.1), (2, 28)),
])
def test_bad_input_shapes_raise(make, shape):
    for training in (True, None):       # in training and in inference alike
        layer = make()
        with pytest.raises(ValueError, match=type(layer).__name__ + r".*" + re_shape(shape)):
            layer(np.zeros(shape, np.float32), training=training)


def test_inputs_of_another_size_after_the_first_call():
    layer = RandomRotation(0.1)
    layer(np.zeros((2, 8, 8, 1), np.float32), training=True)
    assert layer(np.zeros((1, 5, 7, 3), np.float32), training=True).shape == (1, 5, 7, 3)
    assert layer(np.zeros((1, 5, 7, 3), np.float32)).shape == (1, 5, 7, 3)
    with pytest.raises(ValueError, match="RandomRotation"):
        layer(np.zeros((1, 5, 7), np.float32), training=True)
    with pytest.raises(ValueError, match="RandomRotation"):
        layer(np.zeros((1, 5, 7), np.float32))


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")
