"""zen.nn.losses: values against hand-computed numbers, float64 gradients,
stability at huge logits, bad inputs, and lookup by name. Losses are called
as Keras calls them, `loss(y_true, y_pred, sample_weight=None)`; sample
weights follow Keras's arithmetic, sum(w * per-sample loss) / number of
per-sample values."""
import math

import numpy as np
import pytest

from zen import Tensor
from zen import autodiff as ad
from zen.autodiff import grad_check
from zen.nn import losses as L

LOG2 = math.log(2)


def softplus(x):
    return math.log1p(math.exp(x))


# (loss, pred, target, expected value), each worked out by hand; called as
# loss(target, pred)
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
    out = loss(np.array(target), Tensor(np.array(pred, dtype=np.float64)))
    assert out.shape == ()
    assert out.item() == pytest.approx(expected, rel=1e-7)


def test_sparse_equals_categorical_on_sequences():
    rng = np.random.default_rng(0)
    logits = Tensor(rng.normal(size=(2, 3, 4)))
    labels = rng.integers(0, 4, size=(2, 3))
    one_hot = np.eye(4)[labels]
    for from_logits, pred in ((True, logits), (False, Tensor(np.exp(logits.value)))):
        sparse = L.SparseCategoricalCrossentropy(from_logits)(labels, pred).item()
        dense = L.CategoricalCrossentropy(from_logits)(one_hot, pred).item()
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
    grad_check(lambda p: loss(target, p), [pred], eps=1e-6, atol=1e-7, rtol=1e-5)


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
    out = loss(np.array(target), x)
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
    out = loss(np.array(target), x)
    out.backward()
    assert out.item() == pytest.approx(-math.log(L.EPSILON), rel=1e-6)
    assert np.all(np.isfinite(x.gradient))


@pytest.mark.parametrize("loss", [L.MSE(), L.Huber(), L.BinaryCrossentropy(from_logits=True),
                                  L.CategoricalCrossentropy(from_logits=True)])
@pytest.mark.parametrize("target_dtype", [np.float64, np.int64, np.uint8, bool])
def test_float32_stays_float32(loss, target_dtype):
    x = Tensor(np.zeros((2, 3), np.float32))
    out = loss(np.eye(3)[[0, 2]].astype(target_dtype), x)
    out.backward()
    assert out.dtype == np.float32 and x.gradient.dtype == np.float32


def test_sparse_float32_and_label_dtypes():
    x = Tensor(np.zeros((3, 4), np.float32))
    for labels in (np.array([0, 3, 1], np.uint8), np.array([0.0, 3.0, 1.0]), [0, 3, 1]):
        out = L.SparseCategoricalCrossentropy(from_logits=True)(labels, x)
        assert out.dtype == np.float32 and out.item() == pytest.approx(math.log(4))


@pytest.mark.parametrize("labels, bad", [([0, 3], "3"), ([-1, 0], "-1"), ([[0], [7]], "7")])
def test_sparse_labels_out_of_range(labels, bad):
    with pytest.raises(ValueError, match=rf"label {bad}\b.*3 classes"):
        L.SparseCategoricalCrossentropy()(np.array(labels), Tensor(np.full((2, 3), 1 / 3)))


@pytest.mark.parametrize("labels, error", [
    (np.array([0.5, 1.0]), ValueError), (np.array([0, np.nan]), ValueError),
    (np.array([True, False]), TypeError), (np.array(["a", "b"]), TypeError)])
def test_sparse_labels_not_integers(labels, error):
    with pytest.raises(error, match="label|numeric"):
        L.SparseCategoricalCrossentropy()(labels, Tensor(np.full((2, 3), 1 / 3)))


@pytest.mark.parametrize("loss, pred_shape, target_shape", [
    (L.MSE(), (4, 2), (4, 3)), (L.MAE(), (4, 1), (5,)), (L.Huber(), (4, 2), (4,)),
    (L.BinaryCrossentropy(), (4, 1), (1, 4)), (L.CategoricalCrossentropy(), (4, 3), (4, 2)),
    (L.SparseCategoricalCrossentropy(), (4, 3), (5,)),
    (L.SparseCategoricalCrossentropy(), (4, 3), (4, 3)),
])
def test_shape_mismatch(loss, pred_shape, target_shape):
    with pytest.raises(ValueError, match=rf"{pred_shape}.*{target_shape}".replace("(", r"\(")
                       .replace(")", r"\)")):
        loss(np.zeros(target_shape), Tensor(np.full(pred_shape, 0.5)))


def test_other_bad_inputs():
    with pytest.raises(TypeError, match="numeric"):
        L.MSE()(np.array(["a", "b"]), Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="empty"):
        L.MSE()(np.zeros((0, 2)), Tensor(np.zeros((0, 2))))



# ----- sample weights -----------------------------------------------------------
def log_sum_exp(values):
    return math.log(sum(math.exp(v) for v in values))


# (loss, pred, target, sample_weight, expected value), worked out by hand as
# sum(w_i * loss_i) / number of per-sample values, loss_i the mean over the
# last axis for the elementwise losses
WEIGHTED = [
    # per-sample means (0 + 4 + 0) / 3 and (16 + 0 + 36) / 3
    (L.MSE(), [[1, 2, 3], [4, 5, 6]], [[1, 0, 3], [0, 5, 0]], [2, 0.5],
     (2 * 4 / 3 + 0.5 * 52 / 3) / 2),
    # per-sample means (0 + 2 + 0) / 3 and (4 + 0 + 6) / 3
    (L.MAE(), [[1, 2, 3], [4, 5, 6]], [[1, 0, 3], [0, 5, 0]], [2, 0.5],
     (2 * 2 / 3 + 0.5 * 10 / 3) / 2),
    # elementwise 0.125, 2.5 and 1.5, 0.02
    (L.Huber(), [[0.5, 3.0], [-2.0, 0.2]], [[0, 0], [0, 0]], [1, 3],
     (1 * (0.125 + 2.5) / 2 + 3 * (1.5 + 0.02) / 2) / 2),
    # delta 2: elementwise 0.125, 2 * (3 - 1) and 0.5 * 1.5 ** 2
    (L.Huber(delta=2.0), [[0.5, -3.0], [1.5, 0.0]], [[0, 0], [0, 0]], [0.5, 2],
     (0.5 * (0.125 + 4) / 2 + 2 * (1.125 + 0) / 2) / 2),
    (L.BinaryCrossentropy(), [[0.9, 0.2], [0.6, 0.3]], [[1, 0], [0, 1]], [0.5, 2],
     (0.5 * -(math.log(0.9) + math.log(0.8)) / 2
      + 2 * -(math.log(0.4) + math.log(0.3)) / 2) / 2),
    # softplus(x) - x * y: log 2, softplus(2); softplus(-1) + 1, softplus(3) - 3
    (L.BinaryCrossentropy(from_logits=True), [[0.0, 2.0], [-1.0, 3.0]], [[1, 0], [1, 1]],
     [3, 1], (3 * (LOG2 + softplus(2)) / 2 + (softplus(1) + softplus(-3)) / 2) / 2),
    # a zero weight drops a sample, but it still counts in the divisor
    (L.CategoricalCrossentropy(), [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], [[0, 1, 0], [0, 0, 1]],
     [2, 0], (2 * -math.log(0.7) + 0) / 2),
    (L.CategoricalCrossentropy(from_logits=True), [[1, 2, 3], [0, 0, 0]],
     [[0, 0, 1], [1, 0, 0]], [0.5, 1.5],
     (0.5 * (log_sum_exp([1, 2, 3]) - 3) + 1.5 * math.log(3)) / 2),
    (L.SparseCategoricalCrossentropy(), [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], [1, 2], [2, 1],
     (2 * -math.log(0.7) + 1 * -math.log(0.25)) / 2),
    (L.SparseCategoricalCrossentropy(from_logits=True), [[1, 2, 3], [0, 0, 0]], [2, 0],
     [0.5, 1.5], (0.5 * (log_sum_exp([1, 2, 3]) - 3) + 1.5 * math.log(3)) / 2),
    # three samples of one output each: (N,) weights for (N, 1) predictions
    (L.MSE(), [[1], [3], [-2]], [[0], [1], [0]], [1, 2, 0.5], (1 * 1 + 2 * 4 + 0.5 * 4) / 3),
]


@pytest.mark.parametrize("loss, pred, target, weights, expected", WEIGHTED)
def test_sample_weight_values(loss, pred, target, weights, expected):
    x = Tensor(np.array(pred, dtype=np.float64))
    out = loss(np.array(target), x, sample_weight=np.array(weights, dtype=np.float64))
    assert out.shape == ()
    assert out.item() == pytest.approx(expected, rel=1e-7)
    # the keyword is also the third positional argument, as in Keras
    assert loss(np.array(target), x, np.array(weights)).item() == pytest.approx(expected, rel=1e-7)
    # a column (N, 1) of weights is the same as (N,)
    column = np.array(weights, dtype=np.float64)[:, None]
    assert loss(np.array(target), x, sample_weight=column).item() == \
        pytest.approx(expected, rel=1e-7)
    # weights of one are no weights, a scalar weight scales the loss
    ones = loss(np.array(target), x, sample_weight=np.ones(len(pred))).item()
    assert ones == pytest.approx(loss(np.array(target), x).item(), rel=1e-12)
    assert loss(np.array(target), x, sample_weight=2.5).item() == \
        pytest.approx(2.5 * loss(np.array(target), x).item(), rel=1e-12)


@pytest.mark.parametrize("loss, pred, target, weights, expected", WEIGHTED)
def test_sample_weight_gradient(loss, pred, target, weights, expected):
    pred = np.array(pred, dtype=np.float64)
    if isinstance(loss, (L.MAE, L.Huber)):  # away from the kinks at 0 and +-delta
        pred = pred + 0.05
    grad_check(lambda p: loss(np.array(target), p, sample_weight=np.array(weights)), [pred],
               eps=1e-6, atol=1e-7, rtol=1e-5)


def test_weight_per_timestep():
    """(batch, time, features) predictions: one loss per timestep, so weights
    (batch, time), or (batch, time, 1), weight each timestep; (batch,) weights
    weight every timestep of a sample; the divisor is batch * time."""
    rng = np.random.default_rng(4)
    pred, target = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    weights = rng.uniform(0, 2, size=(2, 3))
    per_step = ((pred - target) ** 2).mean(axis=-1)           # (2, 3)
    expected = (weights * per_step).sum() / 6
    mse = L.MSE()
    assert mse(target, Tensor(pred), sample_weight=weights).item() == \
        pytest.approx(expected, rel=1e-12)
    assert mse(target, Tensor(pred), sample_weight=weights[..., None]).item() == \
        pytest.approx(expected, rel=1e-12)
    by_sample = (np.array([0.5, 2.0])[:, None] * per_step).sum() / 6
    assert mse(target, Tensor(pred), sample_weight=np.array([0.5, 2.0])).item() == \
        pytest.approx(by_sample, rel=1e-12)
    # the same per-timestep weights through the cross-entropies
    logits = rng.normal(size=(2, 3, 4))
    labels = rng.integers(0, 4, size=(2, 3))
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]   # (2, 3)
    expected = (weights * picked).sum() / 6
    for loss, classes in ((L.SparseCategoricalCrossentropy(from_logits=True), labels),
                          (L.CategoricalCrossentropy(from_logits=True), np.eye(4)[labels])):
        assert loss(classes, Tensor(logits), sample_weight=weights).item() == \
            pytest.approx(expected, rel=1e-12)
    grad_check(lambda p: L.MSE()(target, p, sample_weight=weights),
               [rng.normal(size=(2, 3, 4))], eps=1e-6, atol=1e-7, rtol=1e-5)


def test_float32_stays_float32_with_weights():
    x = Tensor(np.full((2, 3), 1 / 3, np.float32))
    for loss, target in ((L.MSE(), np.eye(3)[[0, 2]]),
                         (L.CategoricalCrossentropy(from_logits=True), np.eye(3)[[0, 2]]),
                         (L.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 2])),
                         (L.SparseCategoricalCrossentropy(), np.array([0, 2]))):
        x.zero_grad()
        out = loss(target, x, sample_weight=np.array([1.0, 3.0]))
        out.backward()
        assert out.dtype == np.float32 and x.gradient.dtype == np.float32


@pytest.mark.parametrize("shape, labels_shape, weights_shape", [
    ((5, 4), (5,), (5,)), ((5, 4), (5, 1), (5, 1)), ((2, 3, 4), (2, 3), (2, 3))])
def test_fused_sparse_crossentropy_with_weights(monkeypatch, shape, labels_shape,
                                                weights_shape):
    """Sparse cross-entropy on logits is one fused op, weights included; it
    equals the unfused form on softmax probabilities, and its closed-form
    gradient matches central differences."""
    rng = np.random.default_rng(5)
    logits = rng.normal(size=shape)
    labels = rng.integers(0, shape[-1], size=labels_shape)
    weights = rng.uniform(0, 2, size=weights_shape)
    fused_calls = []
    fused_op = ad.sparse_softmax_cross_entropy
    monkeypatch.setattr(ad, "sparse_softmax_cross_entropy",
                        lambda *args, **kwargs: fused_calls.append(1) or fused_op(*args, **kwargs))
    fused = L.SparseCategoricalCrossentropy(from_logits=True)
    out = fused(labels, Tensor(logits), sample_weight=weights)
    assert fused_calls, "the weighted loss on logits did not take the fused op"
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    unfused = L.SparseCategoricalCrossentropy(from_logits=False)(
        labels, Tensor(probabilities), sample_weight=weights)
    assert out.item() == pytest.approx(unfused.item(), rel=1e-10)
    # the same numbers by hand
    flat_labels = labels.reshape(-1)
    log_p = np.log(probabilities).reshape(-1, shape[-1])
    picked = -log_p[np.arange(flat_labels.size), flat_labels]
    expected = (weights.reshape(-1) * picked).sum() / flat_labels.size
    assert out.item() == pytest.approx(expected, rel=1e-12)
    # the gradient of the unfused form, and central differences
    x, p = Tensor(logits), Tensor(logits)
    fused(labels, x, sample_weight=weights).backward()
    L.SparseCategoricalCrossentropy(from_logits=False)(
        labels, ad.softmax(p, axis=-1), sample_weight=weights).backward()
    np.testing.assert_allclose(x.gradient, p.gradient, rtol=1e-6, atol=1e-12)
    grad_check(lambda z: fused(labels, z, sample_weight=weights), [logits],
               eps=1e-6, atol=1e-8, rtol=1e-6)


def test_bad_sample_weight():
    pred = Tensor(np.full((3, 2), 0.5))
    for loss, target in ((L.MSE(), np.zeros((3, 2))),
                         (L.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 1, 0])),
                         (L.SparseCategoricalCrossentropy(), np.array([0, 1, 0]))):
        with pytest.raises(ValueError, match=r"`sample_weight` of shape \(4,\).*\(3,\)"):
            loss(target, pred, sample_weight=np.ones(4))
        with pytest.raises(TypeError, match="`sample_weight`.*expected numbers"):
            loss(target, pred, sample_weight=np.array(["a", "b", "c"]))


# ----- a user's losses ----------------------------------------------------------
def test_plain_function_gets_the_targets_first():
    """`losses.compute` calls a plain function as Keras does, fn(y_true,
    y_pred): the targets (an array cast to the prediction's dtype) first, the
    prediction Tensor second; per-sample values are reduced with the weights."""
    seen = []

    def difference(y_true, y_pred):  # asymmetric: y_pred - 2 * y_true
        seen.append((y_true, y_pred))
        return ad.reduce_mean(y_pred - 2 * y_true, axis=-1)

    target = np.array([[1, 2], [3, 4]])                     # int: cast to float32
    pred = Tensor(np.array([[10, 20], [30, 40]], np.float32))
    out = L.compute(difference, target, pred)
    assert out.item() == pytest.approx(((10 - 2 + 20 - 4) / 2 + (30 - 6 + 40 - 8) / 2) / 2)
    y_true, y_pred = seen[0]
    assert y_pred is pred
    assert isinstance(y_true, np.ndarray) and y_true.dtype == np.float32
    np.testing.assert_array_equal(y_true, target)
    weighted = L.compute(difference, target, pred, sample_weight=np.array([3.0, 0.5]))
    assert weighted.item() == pytest.approx((3 * 12 + 0.5 * 28) / 2)
    weighted.backward()
    np.testing.assert_allclose(pred.gradient, [[0.75, 0.75], [0.125, 0.125]])
    # a Loss goes through compute unchanged
    assert L.compute(L.MAE(), target, pred, np.array([1.0, 0.0])).item() == \
        pytest.approx((9 + 18) / 2 / 2)


def test_plain_function_must_return_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor"):
        L.compute(lambda y_true, y_pred: 1.0, np.zeros(2), Tensor(np.zeros(2)))


class SquaredLogError(L.Loss):
    """A user's loss that defines only call(y_true, y_pred)."""

    def call(self, y_true, y_pred):
        self.received = (y_true, y_pred)
        return ad.reduce_mean((ad.log(1 + y_pred) - np.log1p(y_true)) ** 2, axis=-1)


def test_loss_subclass_defining_only_call():
    loss = SquaredLogError()
    target = np.array([[0, 1], [3, 0]])
    pred = Tensor(np.array([[1.0, 1.0], [0.0, 3.0]]))
    # per sample: (log 2 - 0) ** 2 / 2 + 0 and (0 - log 4) ** 2 / 2 + (log 4) ** 2 / 2
    per_sample = [LOG2 ** 2 / 2, math.log(4) ** 2]
    assert loss(target, pred).item() == pytest.approx(sum(per_sample) / 2, rel=1e-12)
    # call receives the targets first, as an array of the prediction's dtype
    y_true, y_pred = loss.received
    assert y_pred is pred and isinstance(y_true, np.ndarray) and y_true.dtype == np.float64
    np.testing.assert_array_equal(y_true, target)
    out = loss(target, pred, sample_weight=np.array([2.0, 0.25]))
    assert out.item() == pytest.approx((2 * per_sample[0] + 0.25 * per_sample[1]) / 2, rel=1e-12)
    assert L.compute(loss, target, pred, np.array([2.0, 0.25])).item() == \
        pytest.approx(out.item(), rel=1e-12)
    grad_check(lambda p: loss(target, p, sample_weight=np.array([2.0, 0.25])),
               [np.array([[1.0, 0.5], [0.2, 3.0]])], eps=1e-6, atol=1e-7, rtol=1e-5)
    assert repr(loss) == "SquaredLogError()" and loss.get_config() == {}
    assert L.get(loss) is loss


def test_loss_subclass_without_call():
    class Nothing(L.Loss):
        pass

    with pytest.raises(NotImplementedError, match=r"Nothing must define call\(y_true, y_pred\)"):
        Nothing()(np.zeros(2), Tensor(np.zeros(2)))

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
    def custom(y_true, y_pred):
        return ((y_pred - y_true) ** 4).mean()
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
