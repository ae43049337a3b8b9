"""Resizing, CenterCrop and RandomCrop: values against float64 references
written from TF's half-pixel resize formulas, gradients by central
differences, configs, models and error messages."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.autodiff import grad_check
from zen.models import Input, Model, Sequential, load_model

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 7, 9, 3)).astype(np.float32)


def half_pixel_source(out_size, in_size):
    return (np.arange(out_size) + 0.5) * in_size / out_size - 0.5


def bilinear_reference(x, height, width):
    """TF's bilinear resize (half-pixel centres), four-neighbour form, float64."""
    x = x.astype(np.float64)
    _, h, w, _ = x.shape
    sy = np.maximum(half_pixel_source(height, h), 0)
    sx = np.maximum(half_pixel_source(width, w), 0)
    y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (sy - y0)[None, :, None, None], (sx - x0)[None, None, :, None]
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bottom = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


def nearest_reference(x, height, width):
    _, h, w, _ = x.shape
    rows = [min(int(np.floor((i + 0.5) * h / height)), h - 1) for i in range(height)]
    columns = [min(int(np.floor((j + 0.5) * w / width)), w - 1) for j in range(width)]
    return x[:, rows][:, :, columns]


def aspect_crop(x, height, width):
    h, w = x.shape[1:3]
    ch = max(min(h, int(w * height / width)), 1)
    cw = max(min(w, int(h * width / height)), 1)
    top, left = (h - ch) // 2, (w - cw) // 2
    return x[:, top:top + ch, left:left + cw]


@pytest.mark.parametrize("size", [(4, 5), (11, 13), (7, 4), (1, 1), (7, 9)])
def test_bilinear_matches_reference(size):
    out = nn.Resizing(*size)(X)
    assert out.dtype == np.float32 and out.shape == (2, *size, 3)
    np.testing.assert_allclose(out.value, bilinear_reference(X, *size), atol=1e-5)


@pytest.mark.parametrize("size", [(4, 5), (11, 13), (3, 20)])
def test_nearest_matches_reference(size):
    out = nn.Resizing(*size, interpolation="nearest")(X)
    np.testing.assert_array_equal(out.value, nearest_reference(X, *size))


def test_crop_to_aspect_ratio():
    out = nn.Resizing(5, 5, crop_to_aspect_ratio=True)(X)
    np.testing.assert_allclose(out.value, bilinear_reference(aspect_crop(X, 5, 5), 5, 5),
                               atol=1e-5)


def test_single_image_and_tensor_gradients():
    out = nn.Resizing(4, 5)(X[0])
    np.testing.assert_allclose(out.value, bilinear_reference(X[:1], 4, 5)[0], atol=1e-5)
    small = rng.normal(size=(1, 3, 4, 2))
    for layer in (nn.Resizing(5, 3), nn.Resizing(2, 6, "nearest"), nn.CenterCrop(2, 2),
                  nn.CenterCrop(5, 5), nn.RandomCrop(2, 3),
                  nn.Resizing(2, 2, crop_to_aspect_ratio=True)):
        grad_check(lambda t, layer=layer: layer(t), [small], eps=1e-5, rtol=1e-6, atol=1e-7)
    grad_check(lambda t: nn.RandomCrop(2, 3, seed=1)(t, training=True), [small],
               eps=1e-5, rtol=1e-6, atol=1e-7)


def test_center_crop():
    out = nn.CenterCrop(4, 5)(X)
    np.testing.assert_array_equal(out.value, X[:, 1:5, 2:7])
    small = nn.CenterCrop(8, 6)(X)  # taller than the image: smart resize
    np.testing.assert_allclose(small.value, bilinear_reference(aspect_crop(X, 8, 6), 8, 6),
                               atol=1e-5)


def test_random_crop_training_and_inference():
    zen.set_seed(3)
    layer = nn.RandomCrop(4, 5)
    out = layer(X, training=True).value
    windows = [X[:, i:i + 4, j:j + 5] for i in range(4) for j in range(5)]
    assert any(np.array_equal(out, w) for w in windows)
    seen = {layer(X, training=True).value.tobytes() for _ in range(30)}
    assert len(seen) > 1
    np.testing.assert_allclose(layer(X).value, bilinear_reference(aspect_crop(X, 4, 5), 4, 5),
                               atol=1e-5)
    a, b = nn.RandomCrop(4, 5, seed=7), nn.RandomCrop(4, 5, seed=7)
    np.testing.assert_array_equal(a(X, training=True).value, b(X, training=True).value)


def test_configs_and_models_round_trip(tmp_path):
    layers = [nn.Resizing(6, 6, "nearest", True), nn.CenterCrop(5, 5), nn.RandomCrop(4, 4, seed=2)]
    for layer in layers:
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()
    assert layers[0].get_config() == {"height": 6, "width": 6, "interpolation": "nearest",
                                      "crop_to_aspect_ratio": True}
    model = Sequential([Input((7, 9, 3)), *layers, nn.Flatten(), nn.Dense(2)])
    assert model.predict(X).shape == (2, 2)
    model.save(tmp_path / "m.zen")
    np.testing.assert_array_equal(load_model(tmp_path / "m.zen").predict(X), model.predict(X))
    inputs = Input((7, 9, 3))
    functional = Model(inputs, nn.Resizing(3, 4)(inputs))
    assert functional.predict(X).shape == (2, 3, 4, 3)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Resizing(0, 2), "`height`"),
    (lambda: nn.Resizing(2, 2.5), "`width`"),
    (lambda: nn.Resizing(2, 2, "bicubic"), "`interpolation`"),
    (lambda: nn.Resizing(2, 2, crop_to_aspect_ratio=1), "`crop_to_aspect_ratio`"),
    (lambda: nn.CenterCrop(-1, 2), "`height`"),
    (lambda: nn.RandomCrop(2, 2, seed=-1), "`seed`"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_input_rank():
    with pytest.raises(ValueError, match="expects images of shape"):
        nn.CenterCrop(2, 2)(np.zeros((4, 4)))
