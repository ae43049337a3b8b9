"""zen.metrics: hand-computed values for every target format, and bad inputs."""
import numpy as np
import pytest

from zen import metrics
from zen.autodiff import Tensor

SCORES = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])


@pytest.mark.parametrize("y_true, y_pred, expected", [
    (np.array([0, 1, 1, 0]), SCORES, 0.75),                        # sparse
    (np.array([[0], [1], [1], [0]]), SCORES, 0.75),                # sparse (n, 1)
    (np.eye(3)[[0, 1, 1, 0]], SCORES, 0.75),                       # one-hot
    (np.array([1, 0, 1, 1]), np.array([[0.8], [0.3], [0.4], [0.5]]), 0.5),  # binary, > 0.5
    (np.array([1.0, 0.0]), np.array([0.9, 0.2]), 1.0),             # binary, 1-D output
    (np.array([0, 2]), Tensor(SCORES[:2]), 0.5),                   # a Tensor prediction
])
def test_accuracy(y_true, y_pred, expected):
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(expected)
    assert isinstance(metrics.accuracy(y_true, y_pred), float)


@pytest.mark.parametrize("fn, expected", [(metrics.mae, 0.75), (metrics.mse, 0.625)])
def test_regression_metrics(fn, expected):
    assert fn(np.array([1.0, 2.0]), np.array([1.5, 1.0])) == pytest.approx(expected)
    # (n,) targets against (n, 1) predictions are aligned, not broadcast to (n, n)
    assert fn(np.array([1.0, 2.0]), np.array([[1.5], [1.0]])) == pytest.approx(expected)


@pytest.mark.parametrize("name, fn", [("accuracy", metrics.accuracy), ("acc", metrics.accuracy),
                                      ("mae", metrics.mae), ("mse", metrics.mse)])
def test_get_by_name(name, fn):
    assert metrics.get(name) is fn


def test_get_errors():
    with pytest.raises(ValueError, match="Unknown metric 'f1'"):
        metrics.get("f1")
    with pytest.raises(TypeError, match="metrics"):
        metrics.get(3)


@pytest.mark.parametrize("y_true, y_pred, error", [
    (np.array([0, 1, 2]), SCORES, ValueError),                   # lengths differ
    (np.zeros((4, 2)), SCORES, ValueError),                      # incompatible shapes
    (np.array(["a", "b", "c", "d"]), SCORES, TypeError),         # strings
    (np.array([]), np.zeros((0, 3)), ValueError),                # empty
])
def test_accuracy_bad_inputs(y_true, y_pred, error):
    with pytest.raises(error):
        metrics.accuracy(y_true, y_pred)


def test_mse_shape_mismatch():
    with pytest.raises(ValueError, match="y_true.shape=\\(3,\\)"):
        metrics.mse(np.zeros(3), np.zeros((3, 2)))
