"""CategoryEncoding and Discretization: values against references written
in the test from Keras's definitions, adapt's quantiles, configs, models
and error messages."""
import numpy as np
import pytest

from zen import nn
from zen.models import Input, Sequential, load_model

rng = np.random.default_rng(0)
INDICES = np.array([[1, 2, 2], [0, 0, 3]])


def one_hot_reference(indices, depth):
    out = np.zeros(indices.shape + (depth,), np.float32)
    for position in np.ndindex(indices.shape):
        out[position + (indices[position],)] = 1
    return out


def test_one_hot():
    layer = nn.CategoryEncoding(4, "one_hot")
    np.testing.assert_array_equal(layer(INDICES), one_hot_reference(INDICES, 4))
    np.testing.assert_array_equal(layer(np.array([[1], [2]])),
                                  one_hot_reference(np.array([1, 2]), 4))
    np.testing.assert_array_equal(layer(np.array([3, 0])), one_hot_reference(np.array([3, 0]), 4))
    assert layer(INDICES).dtype == np.float32


def test_multi_hot_and_count():
    expected_count = np.array([[0, 1, 2, 0], [2, 0, 0, 1]], np.float32)
    np.testing.assert_array_equal(nn.CategoryEncoding(4)(INDICES), expected_count > 0)
    np.testing.assert_array_equal(nn.CategoryEncoding(4, "count")(INDICES), expected_count)
    np.testing.assert_array_equal(nn.CategoryEncoding(4)(np.array([1, 2, 1])), [0, 1, 1, 0])
    np.testing.assert_array_equal(nn.CategoryEncoding(4, "count")(np.array([1, 2, 1])),
                                  [0, 2, 1, 0])
    weights = np.array([[0.5, 1, 2], [1, 1, 1]])
    np.testing.assert_array_equal(nn.CategoryEncoding(4, "count")(INDICES, count_weights=weights),
                                  [[0, 0.5, 3, 0], [2, 0, 0, 1]])


def quantile_reference(data, num_bins, epsilon):
    """Keras's summary and compression, written out in float64 steps."""
    values = np.sort(np.ravel(data).astype(np.float32))
    step = max(values.size * epsilon, 1)
    points = values[int(step) - 1::int(step)]
    weights = np.full(len(points), step)
    for eps in (epsilon, 1.0 / num_bins):
        if len(points) * eps < 1:
            continue
        targets = eps + np.arange(0.0, 1.0, eps)
        cumulative = np.cumsum(weights)
        points_new = np.interp(targets, cumulative / cumulative[-1], points)
        cumulative = np.interp(targets, cumulative / cumulative[-1], cumulative)
        points, weights = points_new.astype(np.float32), np.diff(cumulative, prepend=0)
    return points[:-1]


@pytest.mark.parametrize("num_bins, epsilon, data", [
    (4, 0.01, np.arange(10.0)), (3, 0.1, rng.normal(size=(50, 3))),
    (5, 0.01, rng.exponential(size=1000))])
def test_discretization_adapt(num_bins, epsilon, data):
    layer = nn.Discretization(num_bins=num_bins, epsilon=epsilon)
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, quantile_reference(data, num_bins, epsilon),
                               rtol=1e-6)
    assert len(layer.bin_boundaries) == num_bins - 1


def test_discretization_buckets_and_encodings():
    x = np.array([[-1.0, 0.0, 0.5], [1.0, 2.0, 1.0]])
    expected = np.array([[0, 1, 1], [2, 2, 2]])
    out = nn.Discretization([0.0, 1.0])(x)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(nn.Discretization([0.0, 1.0], output_mode="one_hot")(x),
                                  one_hot_reference(expected, 3))
    np.testing.assert_array_equal(nn.Discretization([0.0, 1.0], output_mode="count")(x),
                                  [[1, 2, 0], [0, 0, 3]])


def test_configs_and_models(tmp_path):
    layer = nn.Discretization(num_bins=3)
    layer.adapt(rng.normal(size=100))
    again = nn.Discretization.from_config(layer.get_config())
    assert again.bin_boundaries == layer.bin_boundaries and again.num_bins == 3
    encoding = nn.CategoryEncoding(5, "count")
    assert encoding.get_config() == {"num_tokens": 5, "output_mode": "count", "sparse": False}
    model = Sequential([Input((3,)), layer, nn.CategoryEncoding(3), nn.Dense(2)])
    x = rng.normal(size=(4, 3)).astype(np.float32)
    model.save(tmp_path / "m.zen")
    np.testing.assert_array_equal(load_model(tmp_path / "m.zen").predict(x), model.predict(x))


@pytest.mark.parametrize("make, message", [
    (lambda: nn.CategoryEncoding(), "`num_tokens`"),
    (lambda: nn.CategoryEncoding(0), "`num_tokens`"),
    (lambda: nn.CategoryEncoding(3, "binary_x"), "`output_mode`"),
    (lambda: nn.CategoryEncoding(3, sparse=True), "`sparse`"),
    (lambda: nn.Discretization(), "`bin_boundaries` or `num_bins`"),
    (lambda: nn.Discretization([1.0], num_bins=2), "Both `num_bins` and `bin_boundaries`"),
    (lambda: nn.Discretization([2.0, 1.0]), "`bin_boundaries`"),
    (lambda: nn.Discretization(num_bins=0), "`num_bins`"),
    (lambda: nn.Discretization(num_bins=2, epsilon=0), "`epsilon`"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_calls():
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        nn.CategoryEncoding(3)(np.array([0, 3]))
    with pytest.raises(ValueError, match="count_weights"):
        nn.CategoryEncoding(3)(np.array([0]), count_weights=np.array([1.0]))
    with pytest.raises(ValueError, match="Cannot adapt"):
        nn.Discretization([0.0]).adapt(np.zeros(3))
    with pytest.raises(ValueError, match="adapt"):
        nn.Discretization(num_bins=2)(np.zeros(3))
