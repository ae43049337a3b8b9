"""zen.nn.losses: values against hand-computed numbers, float64 gradients,
stability at huge logits, bad inputs, and lookup by name."""
import math

import numpy as np
import pytest

from zen import Tensor
from zen.autodiff import grad_check
from zen.nn import losses as L

LOG2 = math.log(2)


def softplus(x):
    return math.log1p(math.exp(x))


# (loss, pred, target, expected value), each worked out by hand
VALUES = [
    (L.MSE(), [[1, 2], [3, 4]], [[1, 0], [0, 4]], (0 + 4 + 9 + 0) / 4),
    (L.MAE(), [[1, 2], [3, 4]], [[1, 0], [0, 4]], (0 + 2 + 3 + 0) / 4),
    (L.MSE(), [[1], [3]], [0, 1], (1 + 4) / 2),  # (N,) target for (N, 1) pred, as Keras
    (L.Huber(), [0.5, 3.0], [0, 0], (0.5 * 0.25 + (3 - 0.5)) / 2),
    (L.Huber(delta=2.0), [0.5, -3.0], [0, 0], (0.125 + 2 * (3 - 1)) / 2),
    (L.BinaryCrossentropy(), [0.9, 0.2], [1, 0], -(math.log(0.9) + math.log(0.8)) / 2),
    (L.BinaryCrossentropy(from_logits=True), [0.0, 2.0], [1, 0], (LOG2 + softplus(2)) / 2),
    (L.BinaryCrossentropy(from_logits=True), [[-3.0]], [[1]], softplus(3)),
    (L.CategoricalCrossentropy(), [[0.2, 0.7, 0.1]], [[0, 1, 0]], -math.log(0.7)),
    (L.CategoricalCrossentropy(), [[1, 2, 1]], [[0, 1, 0]], LOG2),  # rescaled to sum 1
    (L.CategoricalCrossentropy(from_logits=True), [[1, 2, 3], [0, 0, 0]], [[0, 0, 1], [1, 0, 0]],
     ((math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3) + math.log(3)) / 2),
    (L.SparseCategoricalCrossentropy(), [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], [1, 2],
     -(math.log(0.7) + math.log(0.25)) / 2),
    (L.SparseCategoricalCrossentropy(), [[0.2, 0.7, 0.1]], [[1]], -math.log(0.7)),
    (L.SparseCategoricalCrossentropy(from_logits=True), [[1, 2, 3]], [2.0],
     math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3),
]


@pytest.mark.parametrize("loss, pred, target, expected", VALUES)
def test_value(loss, pred, target, expected):
    out = loss(Tensor(np.array(pred, dtype=np.float64)), np.array(target))
    assert out.shape == ()
    assert out.item() == pytest.approx(expected, rel=1e-7)


def test_sparse_equals_categorical_on_sequences():
    rng = np.random.default_rng(0)
    logits = Tensor(rng.normal(size=(2, 3, 4)))
    labels = rng.integers(0, 4, size=(2, 3))
    one_hot = np.eye(4)[labels]
    for from_logits, pred in ((True, logits), (False, Tensor(np.exp(logits.value)))):
        sparse = L.SparseCategoricalCrossentropy(from_logits)(pred, labels).item()
        dense = L.CategoricalCrossentropy(from_logits)(pred, one_hot).item()
        assert sparse == pytest.approx(dense, rel=1e-12)


def _positive(shape, seed=0):
    return np.random.default_rng(seed).uniform(0.1, 0.9, shape)


GRADIENTS = [  # (loss, pred, target): pred values away from every kink
    (L.MSE(), np.random.default_rng(1).normal(size=(3, 2)), np.zeros((3, 2))),
    (L.MAE(), np.array([[0.3, -0.7], [1.2, -2.0]]), np.zeros((2, 2))),
    (L.Huber(delta=1.0), np.array([[0.3, -0.7], [1.5, -2.0]]), np.zeros((2, 2))),
    (L.BinaryCrossentropy(), _positive((3, 2)), np.array([[1, 0], [0, 1], [1, 1]])),
    (L.BinaryCrossentropy(from_logits=True), np.array([[0.0, -2.5], [3.0, 0.4]]),
     np.array([[1, 0], [0.3, 1]])),
    (L.CategoricalCrossentropy(), _positive((2, 3)), np.array([[0, 1, 0], [1, 0, 0]])),
    (L.CategoricalCrossentropy(from_logits=True), np.random.default_rng(2).normal(size=(2, 3)),
     np.array([[0, 1, 0], [0.2, 0, 0.8]])),
    (L.SparseCategoricalCrossentropy(), _positive((3, 4)), np.array([3, 0, 3])),
    (L.SparseCategoricalCrossentropy(from_logits=True),
     np.random.default_rng(3).normal(size=(3, 4)), np.array([1, 1, 2])),
]


@pytest.mark.parametrize("loss, pred, target", GRADIENTS)
def test_gradient(loss, pred, target):
    grad_check(lambda p: loss(p, target), [pred], eps=1e-6, atol=1e-7, rtol=1e-5)


# (loss, logits, target, limit value, limit gradient): at |x| = 1000 every
# exp() in a naive formula overflows; the stable forms give the exact limits
HUGE = [
    (L.BinaryCrossentropy(from_logits=True), [[1000.0, -1000.0]], [[1, 1]],
     1000 / 2, [[0, -0.5]]),
    (L.BinaryCrossentropy(from_logits=True), [[1000.0, -1000.0]], [[0, 0]],
     1000 / 2, [[0.5, 0]]),
    (L.CategoricalCrossentropy(from_logits=True), [[1000.0, -1000.0]], [[0, 1]],
     2000, [[1, -1]]),
    (L.CategoricalCrossentropy(from_logits=True), [[1000.0, -1000.0]], [[1, 0]], 0, [[0, 0]]),
    (L.SparseCategoricalCrossentropy(from_logits=True), [[1000.0, -1000.0], [-1000.0, 1000.0]],
     [1, 1], 2000 / 2, [[0.5, -0.5], [0, 0]]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss, logits, target, value, gradient", HUGE)
def test_huge_logits(loss, logits, target, value, gradient, dtype):
    x = Tensor(np.array(logits, dtype=dtype))
    out = loss(x, np.array(target))
    out.backward()
    assert np.isfinite(out.item()) and np.all(np.isfinite(x.gradient))
    assert out.item() == pytest.approx(value, abs=1e-3)
    np.testing.assert_allclose(x.gradient, gradient, atol=1e-6)


@pytest.mark.parametrize("loss, pred, target", [
    (L.BinaryCrossentropy(), [1.0, 0.0], [0, 1]),
    (L.CategoricalCrossentropy(), [[1.0, 0.0]], [[0, 1]]),
    (L.SparseCategoricalCrossentropy(), [[1.0, 0.0]], [1]),
])
def test_certain_wrong_probabilities_are_clipped(loss, pred, target):
    x = Tensor(np.array(pred))
    out = loss(x, np.array(target))
    out.backward()
    assert out.item() == pytest.approx(-math.log(L.EPSILON), rel=1e-6)
    assert np.all(np.isfinite(x.gradient))


@pytest.mark.parametrize("loss", [L.MSE(), L.Huber(), L.BinaryCrossentropy(from_logits=True),
                                  L.CategoricalCrossentropy(from_logits=True)])
@pytest.mark.parametrize("target_dtype", [np.float64, np.int64, np.uint8, bool])
def test_float32_stays_float32(loss, target_dtype):
    x = Tensor(np.zeros((2, 3), np.float32))
    out = loss(x, np.eye(3)[[0, 2]].astype(target_dtype))
    out.backward()
    assert out.dtype == np.float32 and x.gradient.dtype == np.float32


def test_sparse_float32_and_label_dtypes():
    x = Tensor(np.zeros((3, 4), np.float32))
    for labels in (np.array([0, 3, 1], np.uint8), np.array([0.0, 3.0, 1.0]), [0, 3, 1]):
        out = L.SparseCategoricalCrossentropy(from_logits=True)(x, labels)
        assert out.dtype == np.float32 and out.item() == pytest.approx(math.log(4))


@pytest.mark.parametrize("labels, bad", [([0, 3], "3"), ([-1, 0], "-1"), ([[0], [7]], "7")])
def test_sparse_labels_out_of_range(labels, bad):
    with pytest.raises(ValueError, match=rf"label {bad}\b.*3 classes"):
        L.SparseCategoricalCrossentropy()(Tensor(np.full((2, 3), 1 / 3)), np.array(labels))


@pytest.mark.parametrize("labels, error", [
    (np.array([0.5, 1.0]), ValueError), (np.array([0, np.nan]), ValueError),
    (np.array([True, False]), TypeError), (np.array(["a", "b"]), TypeError)])
def test_sparse_labels_not_integers(labels, error):
    with pytest.raises(error, match="label|numeric"):
        L.SparseCategoricalCrossentropy()(Tensor(np.full((2, 3), 1 / 3)), labels)


@pytest.mark.parametrize("loss, pred_shape, target_shape", [
    (L.MSE(), (4, 2), (4, 3)), (L.MAE(), (4, 1), (5,)), (L.Huber(), (4, 2), (4,)),
    (L.BinaryCrossentropy(), (4, 1), (1, 4)), (L.CategoricalCrossentropy(), (4, 3), (4, 2)),
    (L.SparseCategoricalCrossentropy(), (4, 3), (5,)),
    (L.SparseCategoricalCrossentropy(), (4, 3), (4, 3)),
])
def test_shape_mismatch(loss, pred_shape, target_shape):
    with pytest.raises(ValueError, match=rf"{pred_shape}.*{target_shape}".replace("(", r"\(")
                       .replace(")", r"\)")):
        loss(Tensor(np.full(pred_shape, 0.5)), np.zeros(target_shape))


def test_other_bad_inputs():
    with pytest.raises(TypeError, match="numeric"):
        L.MSE()(Tensor(np.zeros(2)), np.array(["a", "b"]))
    with pytest.raises(ValueError, match="empty"):
        L.MSE()(Tensor(np.zeros((0, 2))), np.zeros((0, 2)))


@pytest.mark.parametrize("make", [lambda: L.Huber(delta=0), lambda: L.Huber(delta=-1.0),
                                  lambda: L.Huber(delta="1"), lambda: L.Huber(delta=True)])
def test_bad_delta(make):
    with pytest.raises(ValueError, match="`delta`"):
        make()


@pytest.mark.parametrize("cls", [L.BinaryCrossentropy, L.CategoricalCrossentropy,
                                 L.SparseCategoricalCrossentropy])
def test_bad_from_logits(cls):
    with pytest.raises(ValueError, match="`from_logits`.*'yes'"):
        cls(from_logits="yes")


NAMES = [("mse", L.MSE), ("mean_squared_error", L.MSE), ("mae", L.MAE),
         ("mean_absolute_error", L.MAE), ("huber", L.Huber),
         ("binary_crossentropy", L.BinaryCrossentropy),
         ("categorical_crossentropy", L.CategoricalCrossentropy),
         ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy),
         ("SparseCategoricalCrossentropy", L.SparseCategoricalCrossentropy)]


@pytest.mark.parametrize("name, cls", NAMES)
def test_get_by_name_and_class(name, cls):
    assert type(L.get(name)) is cls
    assert type(L.get(cls)) is cls
    loss = cls()
    assert L.get(loss) is loss


def test_get_other_forms():
    def custom(pred, target):
        return ((pred - target) ** 4).mean()
    assert L.get(custom) is custom
    loss = L.get({"class_name": "Huber", "config": {"delta": 2.5}})
    assert isinstance(loss, L.Huber) and loss.delta == 2.5


@pytest.mark.parametrize("bad", ["msee", "", None, 3, {"class_name": "os.system"},
                                 {"class_name": "Huber", "config": {"nope": 1}}])
def test_get_bad_identifier(bad):
    with pytest.raises((ValueError, TypeError), match="loss|Huber|nope"):
        L.get(bad)


@pytest.mark.parametrize("loss, text", [
    (L.MSE(), "MSE()"), (L.Huber(delta=2.0), "Huber(delta=2.0)"),
    (L.SparseCategoricalCrossentropy(from_logits=True),
     "SparseCategoricalCrossentropy(from_logits=True)")])
def test_repr_config_and_serialize_round_trip(loss, text):
    assert repr(loss) == text
    again = L.get(L.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
