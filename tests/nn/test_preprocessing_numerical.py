"""Rescaling and Normalization: values against float64 references from
their formulas, adapt, gradients by central differences, weights saved
with the model, configs and error messages."""
import numpy as np
import pytest

from zen import nn
from zen.autodiff import grad_check
from zen.models import Input, Model, Sequential, load_model

rng = np.random.default_rng(0)
X = rng.normal(2.0, 3.0, size=(16, 5, 3)).astype(np.float32)


def test_rescaling_values_and_gradient():
    out = nn.Rescaling(1 / 255, offset=-1.0)(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.value, X.astype(np.float64) / 255 - 1, rtol=1e-6, atol=1e-6)
    per_channel = nn.Rescaling([1.0, 2.0, 3.0], [0.0, 0.5, 1.0])(X)
    np.testing.assert_allclose(per_channel.value,
                               X * np.array([1, 2, 3.0]) + np.array([0, 0.5, 1.0]), rtol=1e-6)
    grad_check(lambda t: nn.Rescaling(0.5, 2.0)(t), [rng.normal(size=(2, 3))],
               eps=1e-5, rtol=1e-6, atol=1e-7)
    assert nn.Rescaling([1, 2], 3).get_config() == {"scale": [1.0, 2.0], "offset": 3.0}


@pytest.mark.parametrize("axis, kept", [(-1, (2,)), ((1, -1), (1, 2)), (None, ()), (1, (1,))])
def test_normalization_adapt(axis, kept):
    layer = nn.Normalization(axis=axis)
    layer.adapt(X)
    x64 = X.astype(np.float64)
    reduce = tuple(a for a in range(3) if a not in kept)
    mean, variance = x64.mean(axis=reduce, keepdims=True), x64.var(axis=reduce, keepdims=True)
    np.testing.assert_allclose(layer(X).value, (x64 - mean) / np.sqrt(variance), atol=1e-5)
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [tuple(X.shape[a] for a in kept)] * 2 + [()]
    assert weights[2] == np.prod([X.shape[a] for a in reduce])
    assert all(not t.trainable for t in layer.weights)


def test_normalization_given_statistics_and_invert():
    mean, variance = np.array([1.0, 2.0, 3.0]), np.array([4.0, 0.0, 9.0])
    out = nn.Normalization(mean=mean, variance=variance)(X).value
    deviation = np.maximum(np.sqrt(variance), 1e-7)
    np.testing.assert_allclose(out, (X - mean) / deviation, rtol=1e-5)
    back = nn.Normalization(mean=mean, variance=variance, invert=True)(X).value
    np.testing.assert_allclose(back, mean + X * deviation, rtol=1e-6)
    assert nn.Normalization(mean=mean, variance=variance).weights == []
    scalar = nn.Normalization(mean=2.0, variance=4.0)(X).value
    np.testing.assert_allclose(scalar, (X - 2) / 2, rtol=1e-6)


def test_normalization_gradient():
    layer = nn.Normalization()
    layer.adapt(X[:, 0])
    grad_check(lambda t: layer(t), [rng.normal(size=(4, 3))], eps=1e-5, rtol=1e-6, atol=1e-7)


def test_saved_with_the_model(tmp_path):
    norm = nn.Normalization()
    norm.adapt(X)
    model = Sequential([Input((5, 3)), nn.Rescaling(2.0, 1.0), norm, nn.Dense(2)])
    model.save(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    inputs = Input((5, 3))
    fixed = Model(inputs, nn.Normalization(axis=None, mean=1.0, variance=4.0, invert=True)(inputs))
    fixed.save(tmp_path / "f.zen")
    np.testing.assert_array_equal(load_model(tmp_path / "f.zen").predict(X), fixed.predict(X))
    config = nn.Normalization(axis=(1, 2), mean=[1.0], variance=[2.0]).get_config()
    assert config == {"axis": [1, 2], "mean": [1.0], "variance": [2.0], "invert": False}


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Rescaling("a"), "`scale`"),
    (lambda: nn.Rescaling(1.0, [1.0, float("nan")]), "`offset`"),
    (lambda: nn.Normalization(axis=1.5), "`axis`"),
    (lambda: nn.Normalization(mean=1.0), "both `mean` and `variance`"),
    (lambda: nn.Normalization(invert="yes"), "`invert`"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="range"):
        nn.Normalization(axis=3).adapt(X)
    layer = nn.Normalization()
    layer.adapt(X)
    with pytest.raises(ValueError, match="was built for inputs"):
        layer(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="cannot adapt"):
        nn.Normalization(mean=0.0, variance=1.0).adapt(X)
