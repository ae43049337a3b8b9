"""zen.nn.losses, Keras 3's other losses: focal cross-entropies, KL divergence,
Poisson, cosine similarity, log-cosh, the hinges, MAPE and MSLE, label
smoothing on the cross-entropies, and the `reduction` argument. Values are
checked against float64 references written here from Keras's published
formulas; gradients against central differences in float64."""
import json
import math

import numpy as np
import pytest

import zen
from zen import Tensor
from zen.autodiff import grad_check
from zen.nn import Dense
from zen.nn import losses as L

EPS = 1e-7  # Keras's backend epsilon
rng = np.random.default_rng(7)
N, C = 6, 4


# ----- float64 references, from Keras's formulas ------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def smooth_binary(t, ls):
    return t * (1 - ls) + 0.5 * ls


def smooth_categorical(t, ls):
    return t * (1 - ls) + ls / t.shape[-1]


def ref_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = smooth_binary(t, label_smoothing)
    if from_logits:  # -[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
        return (np.logaddexp(0, p) - p * t).mean(axis=axis)
    q = np.clip(p, EPS, 1 - EPS)
    return (-(t * np.log(q) + (1 - t) * np.log(1 - q))).mean(axis=axis)


def ref_bfce(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
             label_smoothing=0.0, axis=-1):
    t = smooth_binary(t, label_smoothing)
    p = sigmoid(p) if from_logits else p
    q = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    p_t = t * p + (1 - t) * (1 - p)
    focal = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
    return focal.mean(axis=axis)


def ref_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = smooth_categorical(t, label_smoothing)
    if from_logits:  # log-softmax
        log_p = p - p.max(axis=axis, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(axis=axis, keepdims=True))
    else:
        log_p = np.log(np.clip(p / p.sum(axis=axis, keepdims=True), EPS, 1 - EPS))
    return -(t * log_p).sum(axis=axis)


def ref_cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    t = smooth_categorical(t, label_smoothing)
    p = softmax(p, axis) if from_logits else p
    p = np.clip(p / p.sum(axis=axis, keepdims=True), EPS, 1 - EPS)
    return (np.asarray(alpha) * (1 - p) ** gamma * -t * np.log(p)).sum(axis=axis)


def ref_kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return (t * np.log(t / p)).sum(axis=-1)


def ref_poisson(t, p):
    return (p - t * np.log(p + EPS)).mean(axis=-1)


def ref_cosine(t, p, axis=-1):
    def unit(x):
        norm = np.sqrt((x * x).sum(axis=axis, keepdims=True))
        return np.where(norm > 0, x / np.where(norm > 0, norm, 1), 0)
    return -(unit(t) * unit(p)).sum(axis=axis)


def ref_log_cosh(t, p):
    return np.log(np.cosh(p - t)).mean(axis=-1)


def hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def ref_hinge(t, p):
    return np.maximum(1 - hinge_labels(t) * p, 0).mean(axis=-1)


def ref_squared_hinge(t, p):
    return (np.maximum(1 - hinge_labels(t) * p, 0) ** 2).mean(axis=-1)


def ref_categorical_hinge(t, p):
    positive = (t * p).sum(axis=-1)
    negative = ((1 - t) * p).max(axis=-1)
    return np.maximum(negative - positive + 1, 0)


def ref_mape(t, p):
    return 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(axis=-1)


def ref_msle(t, p):
    return ((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(t, EPS))) ** 2).mean(axis=-1)


# ----- data: predictions away from every kink and clipping bound ----------------------
binary = rng.integers(0, 2, size=(N, C)).astype(float)
binary[0] = [0, 1, 0, 1]  # both classes present
signs = 2 * binary - 1
probabilities = rng.uniform(0.05, 0.95, size=(N, C))
logits = rng.normal(size=(N, C)) * 2
one_hot = np.eye(C)[rng.permutation(np.arange(N) % C)]
distributions = softmax(rng.normal(size=(N, C)))
targets_dist = rng.dirichlet(np.ones(C), size=N)
counts = rng.poisson(2.0, size=(N, C)).astype(float)
rates = rng.uniform(0.2, 3.0, size=(N, C))
vectors = rng.normal(size=(N, C))
other_vectors = rng.normal(size=(N, C))
regression = rng.normal(size=(N, C))
# hinge predictions with margins 1 - y * p of +-[0.1, 1]: away from the kink at 0
margins = rng.uniform(0.1, 1.0, size=(N, C)) * rng.choice([-1, 1], size=(N, C))
hinge_pred = signs * (1 - margins)
mape_true = rng.uniform(0.5, 3.0, size=(N, C)) * rng.choice([-1, 1], size=(N, C))
positive = rng.uniform(0.1, 4.0, size=(N, C))
positive_true = rng.uniform(0.1, 4.0, size=(N, C))

# (id, loss, target, prediction, float64 reference of the per-sample values)
CASES = [
    ("bfce", L.BinaryFocalCrossentropy(), binary, probabilities, ref_bfce(binary, probabilities)),
    ("bfce_balanced", L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=3.0),
     binary, probabilities, ref_bfce(binary, probabilities, True, 0.4, 3.0)),
    ("bfce_logits", L.BinaryFocalCrossentropy(from_logits=True, gamma=1.5), binary, logits,
     ref_bfce(binary, logits, gamma=1.5, from_logits=True)),
    ("bfce_smoothed", L.BinaryFocalCrossentropy(from_logits=True, label_smoothing=0.2,
                                                apply_class_balancing=True), binary, logits,
     ref_bfce(binary, logits, True, from_logits=True, label_smoothing=0.2)),
    ("bfce_gamma0", L.BinaryFocalCrossentropy(gamma=0.0), binary, probabilities,
     ref_bce(binary, probabilities)),
    ("cfce", L.CategoricalFocalCrossentropy(), one_hot, distributions,
     ref_cfce(one_hot, distributions)),
    ("cfce_logits", L.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.5, from_logits=True),
     one_hot, logits, ref_cfce(one_hot, logits, 0.5, 1.5, from_logits=True)),
    ("cfce_alpha_list", L.CategoricalFocalCrossentropy(alpha=[0.1, 0.2, 0.3, 0.4],
                                                       label_smoothing=0.1),
     one_hot, distributions, ref_cfce(one_hot, distributions, [0.1, 0.2, 0.3, 0.4],
                                      label_smoothing=0.1)),
    ("cfce_gamma0", L.CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0, from_logits=True),
     one_hot, logits, ref_cce(one_hot, logits, from_logits=True)),
    ("kld", L.KLDivergence(), targets_dist, distributions, ref_kld(targets_dist, distributions)),
    ("poisson", L.Poisson(), counts, rates, ref_poisson(counts, rates)),
    ("cosine", L.CosineSimilarity(), vectors, other_vectors, ref_cosine(vectors, other_vectors)),
    ("log_cosh", L.LogCosh(), regression, vectors, ref_log_cosh(regression, vectors)),
    ("hinge_01", L.Hinge(), binary, hinge_pred, ref_hinge(binary, hinge_pred)),
    ("hinge_pm1", L.Hinge(), signs, hinge_pred, ref_hinge(signs, hinge_pred)),
    ("squared_hinge", L.SquaredHinge(), binary, hinge_pred, ref_squared_hinge(binary, hinge_pred)),
    ("categorical_hinge", L.CategoricalHinge(), one_hot, regression,
     ref_categorical_hinge(one_hot, regression)),
    ("mape", L.MeanAbsolutePercentageError(), mape_true, regression,
     ref_mape(mape_true, regression)),
    ("msle", L.MeanSquaredLogarithmicError(), positive_true, positive,
     ref_msle(positive_true, positive)),
    ("bce_smoothed", L.BinaryCrossentropy(label_smoothing=0.1), binary, probabilities,
     ref_bce(binary, probabilities, label_smoothing=0.1)),
    ("bce_smoothed_logits", L.BinaryCrossentropy(from_logits=True, label_smoothing=0.3),
     binary, logits, ref_bce(binary, logits, True, 0.3)),
    ("cce_smoothed", L.CategoricalCrossentropy(label_smoothing=0.1), one_hot, distributions,
     ref_cce(one_hot, distributions, label_smoothing=0.1)),
    ("cce_smoothed_logits", L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.25),
     one_hot, logits, ref_cce(one_hot, logits, True, 0.25)),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("name, loss, target, pred, per_sample", CASES, ids=IDS)
def test_value(name, loss, target, pred, per_sample):
    out = loss(target, Tensor(pred))
    assert out.shape == () and out.dtype == np.float64
    assert out.item() == pytest.approx(per_sample.mean(), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name, loss, target, pred, per_sample", CASES, ids=IDS)
def test_gradient(name, loss, target, pred, per_sample):
    grad_check(lambda p: loss(target, p), [pred], eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name, loss, target, pred, per_sample", CASES, ids=IDS)
def test_weighted_gradient(name, loss, target, pred, per_sample):
    weights = rng.uniform(0.2, 2.0, size=N)
    grad_check(lambda p: loss(target, p, sample_weight=weights), [pred],
               eps=1e-6, atol=1e-7, rtol=1e-5)


# ----- reductions and sample weights --------------------------------------------------
def reduced(per_sample, weights, reduction):
    """Keras's reduce_weighted_values, by hand."""
    weighted = per_sample if weights is None else weights * per_sample
    if reduction in ("none", None):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return weighted.sum() / weights.sum() if weights.sum() else 0.0
    return weighted.sum() / weighted.size


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum",
                                       "mean_with_sample_weight", "none", None])
@pytest.mark.parametrize("name, loss, target, pred, per_sample", CASES, ids=IDS)
def test_reduction_and_sample_weight(name, loss, target, pred, per_sample, reduction):
    config = {**loss.get_config(), "reduction": reduction}
    reducing = type(loss)(**config)
    weights = rng.uniform(0, 2, size=N)
    for w in (None, weights, weights[:, None]):
        flat = None if w is None else w.reshape(-1)
        out = reducing(target, Tensor(pred), sample_weight=w)
        np.testing.assert_allclose(out.value, reduced(per_sample, flat, reduction),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", [L.Poisson(reduction="mean_with_sample_weight"),
                                  L.LogCosh(reduction="mean_with_sample_weight")])
def test_mean_with_sample_weight_of_zero_weights_is_zero(loss):
    pred = Tensor(rates)
    out = loss(counts, pred, sample_weight=np.zeros(N))
    out.backward()
    assert out.item() == 0.0 and np.all(pred.gradient == 0)


@pytest.mark.parametrize("reduction, expected", [
    ("sum", lambda r, w: (w * r).sum()),
    ("mean_with_sample_weight", lambda r, w: (w * r).sum() / w.sum()),
    ("sum_over_batch_size", lambda r, w: (w * r).sum() / r.size),
])
def test_reductions_of_sequences(reduction, expected):
    """(batch, time, features): one value per timestep, (batch, time) weights."""
    target, pred = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    weights = rng.uniform(0, 2, size=(2, 3))
    loss = L.LogCosh(reduction=reduction)
    out = loss(target, Tensor(pred), sample_weight=weights)
    assert out.item() == pytest.approx(expected(ref_log_cosh(target, pred), weights), rel=1e-10)
    grad_check(lambda p: loss(target, p, sample_weight=weights), [pred],
               eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight", "none", None])
@pytest.mark.parametrize("weighted", [False, True])
def test_reduction_of_the_fused_sparse_crossentropy(reduction, weighted):
    """Sparse cross-entropy on logits takes its fused op for every reduction
    but "none"; the numbers are those of the unfused form."""
    labels = one_hot.argmax(axis=-1)
    weights = rng.uniform(0, 2, size=N) if weighted else None
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    per_sample = -log_p[np.arange(N), labels]
    loss = L.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
    out = loss(labels, Tensor(logits), sample_weight=weights)
    np.testing.assert_allclose(out.value, reduced(per_sample, weights, reduction), rtol=1e-10)
    grad_check(lambda p: loss(labels, p, sample_weight=weights), [logits],
               eps=1e-6, atol=1e-7, rtol=1e-5)


# ----- label smoothing ------------------------------------------------------------------
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("from_logits", [False, True])
def test_label_smoothing(label_smoothing, from_logits):
    pred = logits if from_logits else probabilities
    bce = L.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    assert bce(binary, Tensor(pred)).item() == pytest.approx(
        ref_bce(binary, pred, from_logits, label_smoothing).mean(), rel=1e-10)
    pred = logits if from_logits else distributions
    cce = L.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    assert cce(one_hot, Tensor(pred)).item() == pytest.approx(
        ref_cce(one_hot, pred, from_logits, label_smoothing).mean(), rel=1e-10)
    grad_check(lambda p: cce(one_hot, p), [pred], eps=1e-6, atol=1e-7, rtol=1e-5)


def test_label_smoothing_by_hand():
    # targets 1, 0 smoothed by 0.2 become 0.9, 0.1; at logit 0 the loss is log 2 each
    bce = L.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)
    assert bce(np.array([[1, 0]]), Tensor([[0.0, 0.0]])).item() == pytest.approx(math.log(2))
    # one-hot (0, 1) over 2 classes smoothed by 0.2 is (0.1, 0.9)
    cce = L.CategoricalCrossentropy(label_smoothing=0.2)
    expected = -(0.1 * math.log(0.25) + 0.9 * math.log(0.75))
    assert cce(np.array([[0, 1]]), Tensor([[0.25, 0.75]])).item() == pytest.approx(expected)


@pytest.mark.parametrize("cls, target, pred", [
    (L.BinaryCrossentropy, np.moveaxis(binary.reshape(2, 3, 4), 1, 2),
     np.moveaxis(logits.reshape(2, 3, 4), 1, 2)),
    (L.BinaryFocalCrossentropy, np.moveaxis(binary.reshape(2, 3, 4), 1, 2),
     np.moveaxis(logits.reshape(2, 3, 4), 1, 2)),
    (L.CategoricalCrossentropy, np.moveaxis(one_hot.reshape(2, 3, 4), 1, 2),
     np.moveaxis(logits.reshape(2, 3, 4), 1, 2)),
    (L.CategoricalFocalCrossentropy, np.moveaxis(one_hot.reshape(2, 3, 4), 1, 2),
     np.moveaxis(logits.reshape(2, 3, 4), 1, 2)),
])
def test_axis(cls, target, pred):
    """axis=1 on (batch, classes, time): the same numbers as axis=-1 on the
    transposed arrays (no label smoothing, whose class count Keras takes
    from the last axis)."""
    along_1 = cls(from_logits=True, axis=1, reduction="none")(target, Tensor(pred))
    last = cls(from_logits=True, reduction="none")(np.moveaxis(target, 1, -1),
                                                   Tensor(np.moveaxis(pred, 1, -1)))
    assert along_1.shape == (2, 3)
    np.testing.assert_allclose(along_1.value, last.value, rtol=1e-12)
    # (grad_check perturbs a C-ordered copy: a transposed view would read as a zero gradient)
    grad_check(lambda p: cls(from_logits=True, axis=1)(target, p), [np.ascontiguousarray(pred)],
               eps=1e-6, atol=1e-7, rtol=1e-5)


def test_cosine_similarity_axis():
    target, pred = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    out = L.CosineSimilarity(axis=1, reduction="none")(target, Tensor(pred))
    np.testing.assert_allclose(out.value, ref_cosine(target, pred, axis=1), rtol=1e-12)


# ----- the edges ----------------------------------------------------------------------
def test_hinge_label_conversion():
    pred = Tensor([[0.5, -0.5, 2.0]])
    # 0/1 labels become -1/1: max(1 - 0.5, 0), max(1 - 0.5, 0), max(1 + 2, 0)
    assert L.Hinge()(np.array([[1, 0, 0]]), pred).item() == pytest.approx((0.5 + 0.5 + 3) / 3)
    # -1/1 labels, and labels that are not all 0 or 1, stay as they are
    assert L.Hinge()(np.array([[1, -1, -1]]), pred).item() == pytest.approx((0.5 + 0.5 + 3) / 3)
    assert L.Hinge()(np.array([[1, 0, -1]]), pred).item() == pytest.approx((0.5 + 1 + 3) / 3)
    # all ones: still 0/1 labels (1 stays 1)
    assert L.SquaredHinge()(np.ones((1, 3)), pred).item() == pytest.approx((0.25 + 2.25) / 3)


def test_cosine_similarity_of_zero_vectors_is_zero_with_a_finite_gradient():
    pred = Tensor(np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]]))
    out = L.CosineSimilarity(reduction="none")(np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]]),
                                               pred)
    np.testing.assert_allclose(out.value, [0, 0, -1], atol=1e-12)
    out.sum().backward()
    assert np.all(np.isfinite(pred.gradient))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_and_errors_stay_finite(dtype):
    x = Tensor(np.array([[1000.0, -1000.0, 30.0, -30.0]], dtype))
    target = np.array([[1, 1, 0, 0]])
    low, high = float(dtype(EPS)), float(dtype(1 - EPS))  # the clipping bounds in dtype
    for loss, expected in [
        # targets 1: p = 1 has a focal factor of 0; p = 0 is clipped to 1e-7, factor 1.
        # targets 0: p = sigmoid(30) is clipped to 1 - 1e-7, factor 1; p = sigmoid(-30)
        # has a factor of 1e-26
        (L.BinaryFocalCrossentropy(from_logits=True, gamma=2.0),
         (-math.log(low) - math.log(1 - high)) / 4),
        # errors 999, -1001, 30, -30: log cosh x = |x| - log 2 (to e^-60)
        (L.LogCosh(), (999 + 1001 + 30 + 30 - 4 * math.log(2)) / 4),
    ]:
        x.zero_grad()
        out = loss(target, x)
        out.backward()
        assert np.isfinite(out.item()) and np.all(np.isfinite(x.gradient))
        assert out.item() == pytest.approx(expected, rel=1e-6, abs=1e-6), type(loss).__name__


def test_log_cosh_by_hand():
    # log(cosh(1)) and log(cosh(0)) = 0
    out = L.LogCosh()(np.zeros((1, 2)), Tensor(np.array([[1.0, 0.0]])))
    assert out.item() == pytest.approx(math.log(math.cosh(1)) / 2, rel=1e-12)


@pytest.mark.parametrize("name, loss, target, pred, per_sample", CASES, ids=IDS)
def test_float32_stays_float32(name, loss, target, pred, per_sample):
    x = Tensor(pred.astype(np.float32))
    out = loss(target.astype(np.int64) if name.startswith("hinge") else target, x,
               sample_weight=np.ones(N))
    out.backward()
    assert out.dtype == np.float32 and x.gradient.dtype == np.float32
    assert out.item() == pytest.approx(per_sample.mean(), rel=1e-5, abs=1e-6)


# ----- functions ------------------------------------------------------------------------
FUNCTIONS = [
    (L.binary_focal_crossentropy, dict(apply_class_balancing=True, gamma=3.0, from_logits=True),
     L.BinaryFocalCrossentropy, binary, logits),
    (L.categorical_focal_crossentropy, dict(alpha=0.5, label_smoothing=0.1),
     L.CategoricalFocalCrossentropy, one_hot, distributions),
    (L.binary_crossentropy, dict(from_logits=True, label_smoothing=0.2), L.BinaryCrossentropy,
     binary, logits),
    (L.categorical_crossentropy, dict(label_smoothing=0.2), L.CategoricalCrossentropy,
     one_hot, distributions),
    (L.sparse_categorical_crossentropy, dict(from_logits=True), L.SparseCategoricalCrossentropy,
     one_hot.argmax(axis=-1), logits),
    (L.kl_divergence, {}, L.KLDivergence, targets_dist, distributions),
    (L.poisson, {}, L.Poisson, counts, rates),
    (L.cosine_similarity, dict(axis=-1), L.CosineSimilarity, vectors, other_vectors),
    (L.log_cosh, {}, L.LogCosh, regression, vectors),
    (L.hinge, {}, L.Hinge, binary, hinge_pred),
    (L.squared_hinge, {}, L.SquaredHinge, binary, hinge_pred),
    (L.categorical_hinge, {}, L.CategoricalHinge, one_hot, regression),
    (L.mean_absolute_percentage_error, {}, L.MeanAbsolutePercentageError, mape_true, regression),
    (L.mean_squared_logarithmic_error, {}, L.MeanSquaredLogarithmicError, positive_true,
     positive),
    (L.mean_squared_error, {}, L.MSE, regression, vectors),
    (L.mean_absolute_error, {}, L.MAE, regression, vectors),
    (L.huber, dict(delta=0.5), L.Huber, regression, vectors),
]


@pytest.mark.parametrize("fn, kwargs, cls, target, pred", FUNCTIONS,
                         ids=[f[0].__name__ for f in FUNCTIONS])
def test_function_is_the_per_sample_loss(fn, kwargs, cls, target, pred):
    values = fn(target, Tensor(pred), **kwargs)
    assert values.shape == (N,)
    assert np.mean(values.value) == pytest.approx(cls(**kwargs)(target, Tensor(pred)).item(),
                                                  rel=1e-12)
    assert fn(target, pred, **kwargs).shape == (N,)   # an array prediction too
    if not kwargs:  # a plain function given to `compute` is called (y_true, y_pred)
        assert L.compute(fn, target, Tensor(pred)).item() == \
            pytest.approx(np.mean(values.value), rel=1e-12)
    assert L.get(fn) is fn and L.serialize(fn) == fn.__name__
    assert type(L.get(L.serialize(fn))) is cls


def test_function_arguments_are_checked():
    with pytest.raises(ValueError, match="`gamma`.*gamma=-1"):
        L.binary_focal_crossentropy(binary, probabilities, gamma=-1)
    with pytest.raises(ValueError, match="`label_smoothing`.*label_smoothing=2"):
        L.categorical_crossentropy(one_hot, distributions, label_smoothing=2)


def test_a_function_that_is_not_zens_does_not_serialize():
    def poisson(y_true, y_pred):  # a user's function of a Zen name
        return y_pred
    with pytest.raises(ValueError, match="Only Zen's loss classes"):
        L.serialize(poisson)


# ----- names and configs ------------------------------------------------------------------
NAMES = [
    ("binary_focal_crossentropy", L.BinaryFocalCrossentropy),
    ("BinaryFocalCrossentropy", L.BinaryFocalCrossentropy),
    ("categorical_focal_crossentropy", L.CategoricalFocalCrossentropy),
    ("CategoricalFocalCrossentropy", L.CategoricalFocalCrossentropy),
    ("kl_divergence", L.KLDivergence), ("KLDivergence", L.KLDivergence),
    ("kld", L.KLDivergence), ("KLD", L.KLDivergence),
    ("poisson", L.Poisson), ("Poisson", L.Poisson),
    ("cosine_similarity", L.CosineSimilarity), ("CosineSimilarity", L.CosineSimilarity),
    ("log_cosh", L.LogCosh), ("LogCosh", L.LogCosh),
    ("hinge", L.Hinge), ("Hinge", L.Hinge), ("squared_hinge", L.SquaredHinge),
    ("SquaredHinge", L.SquaredHinge), ("categorical_hinge", L.CategoricalHinge),
    ("CategoricalHinge", L.CategoricalHinge),
    ("mean_absolute_percentage_error", L.MeanAbsolutePercentageError),
    ("MeanAbsolutePercentageError", L.MeanAbsolutePercentageError),
    ("mape", L.MeanAbsolutePercentageError), ("MAPE", L.MeanAbsolutePercentageError),
    ("mean_squared_logarithmic_error", L.MeanSquaredLogarithmicError),
    ("MeanSquaredLogarithmicError", L.MeanSquaredLogarithmicError),
    ("msle", L.MeanSquaredLogarithmicError), ("MSLE", L.MeanSquaredLogarithmicError),
    ("bce", L.BinaryCrossentropy), ("BCE", L.BinaryCrossentropy),
]


@pytest.mark.parametrize("name, cls", NAMES)
def test_get_by_name_and_class(name, cls):
    assert type(L.get(name)) is cls and type(L.get(cls)) is cls


CONFIGS = [
    (L.BinaryFocalCrossentropy(True, 0.4, 3.0, True, 0.1, 1, reduction="sum"),
     {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0, "from_logits": True,
      "label_smoothing": 0.1, "axis": 1, "reduction": "sum"}),
    (L.CategoricalFocalCrossentropy(alpha=[0.5, 0.5], gamma=1),
     {"alpha": [0.5, 0.5], "gamma": 1.0, "from_logits": False, "label_smoothing": 0.0,
      "axis": -1}),
    (L.BinaryCrossentropy(label_smoothing=0.2),
     {"from_logits": False, "label_smoothing": 0.2, "axis": -1}),
    (L.CategoricalCrossentropy(True, 0.1, reduction=None),
     {"from_logits": True, "label_smoothing": 0.1, "axis": -1, "reduction": None}),
    (L.CosineSimilarity(axis=1), {"axis": 1}),
    (L.KLDivergence(reduction="mean_with_sample_weight"),
     {"reduction": "mean_with_sample_weight"}),
    (L.Poisson(), {}), (L.LogCosh(reduction="none"), {"reduction": "none"}), (L.Hinge(), {}),
    (L.SquaredHinge(), {}), (L.CategoricalHinge(), {}), (L.MeanAbsolutePercentageError(), {}),
    (L.MeanSquaredLogarithmicError(reduction="sum"), {"reduction": "sum"}),
    (L.Huber(2.0, reduction="sum"), {"delta": 2.0, "reduction": "sum"}),
    (L.SparseCategoricalCrossentropy(reduction="sum"), {"from_logits": False, "reduction": "sum"}),
    (L.MSE(reduction="sum"), {"reduction": "sum"}),
]


@pytest.mark.parametrize("loss, config", CONFIGS, ids=[type(c[0]).__name__ for c in CONFIGS])
def test_config_round_trip(loss, config):
    assert loss.get_config() == config
    spec = json.loads(json.dumps(L.serialize(loss)))
    again = L.get(spec)
    assert type(again) is type(loss) and again.get_config() == config
    assert repr(loss).startswith(type(loss).__name__ + "(")


def test_defaults_are_keras():
    focal = L.BinaryFocalCrossentropy()
    assert (focal.apply_class_balancing, focal.alpha, focal.gamma, focal.from_logits,
            focal.label_smoothing, focal.axis, focal.reduction) == \
        (False, 0.25, 2.0, False, 0.0, -1, "sum_over_batch_size")
    focal = L.CategoricalFocalCrossentropy()
    assert (focal.alpha, focal.gamma, focal.from_logits, focal.label_smoothing, focal.axis) == \
        (0.25, 2.0, False, 0.0, -1)
    assert L.CosineSimilarity().axis == -1
    assert repr(L.Poisson()) == "Poisson()"


@pytest.mark.parametrize("loss", [L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True,
                                                            label_smoothing=0.1),
                                  L.log_cosh, "kld"])
def test_compile_fit_and_save(loss, tmp_path):
    zen.set_seed(0)
    model = zen.Sequential([zen.Input((3,)), Dense(2)])
    model.compile("sgd", loss=loss)
    x, y = rng.normal(size=(16, 3)).astype(np.float32), np.eye(2)[rng.integers(0, 2, 16)]
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    model.save(tmp_path / "m.zen")
    loaded = zen.load_model(tmp_path / "m.zen")
    assert loaded.evaluate(x, y) == pytest.approx(model.evaluate(x, y), rel=1e-6)


# ----- bad arguments and inputs -----------------------------------------------------------
BAD = [
    (lambda: L.BinaryFocalCrossentropy(gamma=-1.0), "`gamma`.*gamma=-1.0"),
    (lambda: L.BinaryFocalCrossentropy(alpha=1.5), "`alpha`.*alpha=1.5"),
    (lambda: L.BinaryFocalCrossentropy(alpha=-0.1), "`alpha`.*alpha=-0.1"),
    (lambda: L.BinaryFocalCrossentropy(apply_class_balancing=1),
     "`apply_class_balancing`.*True or False"),
    (lambda: L.BinaryFocalCrossentropy(label_smoothing=1.5), "`label_smoothing`.*\\[0, 1\\]"),
    (lambda: L.BinaryFocalCrossentropy(from_logits="yes"), "`from_logits`.*'yes'"),
    (lambda: L.BinaryFocalCrossentropy(axis=1.0), "`axis`.*axis=1.0"),
    (lambda: L.CategoricalFocalCrossentropy(gamma=-0.5), "`gamma`.*gamma=-0.5"),
    (lambda: L.CategoricalFocalCrossentropy(gamma=float("nan")), "`gamma`.*nan"),
    (lambda: L.CategoricalFocalCrossentropy(alpha=-1), "`alpha`.*alpha=-1"),
    (lambda: L.CategoricalFocalCrossentropy(alpha=[0.2, -0.1]), "`alpha`.*-0.1"),
    (lambda: L.CategoricalFocalCrossentropy(alpha=[]), "`alpha`.*alpha=\\[\\]"),
    (lambda: L.CategoricalFocalCrossentropy(alpha="0.25"), "`alpha`.*'0.25'"),
    (lambda: L.CategoricalFocalCrossentropy(label_smoothing=-0.1), "`label_smoothing`.*-0.1"),
    (lambda: L.BinaryCrossentropy(label_smoothing=1.1), "`label_smoothing`.*1.1"),
    (lambda: L.BinaryCrossentropy(label_smoothing="0.1"), "`label_smoothing`.*'0.1'"),
    (lambda: L.CategoricalCrossentropy(label_smoothing=-0.5), "`label_smoothing`.*-0.5"),
    (lambda: L.CategoricalCrossentropy(axis=True), "`axis`.*axis=True"),
    (lambda: L.CosineSimilarity(axis="last"), "`axis`.*'last'"),
    (lambda: L.Huber(reduction="avg"), "`reduction`.*'avg'"),
    (lambda: L.SparseCategoricalCrossentropy(reduction="mean_over_batch"), "`reduction`"),
]


@pytest.mark.parametrize("make, message", BAD)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("cls", [L.KLDivergence, L.Poisson, L.LogCosh, L.Hinge, L.SquaredHinge,
                                 L.CategoricalHinge, L.MeanAbsolutePercentageError,
                                 L.MeanSquaredLogarithmicError, L.CosineSimilarity,
                                 L.BinaryFocalCrossentropy, L.CategoricalFocalCrossentropy])
def test_every_loss_checks_reduction_and_shapes(cls):
    with pytest.raises(ValueError, match="`reduction`.*'batch'"):
        cls(reduction="batch")
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        cls()(np.zeros((4, 3)), Tensor(np.full((4, 2), 0.5)))


@pytest.mark.parametrize("loss", [L.BinaryCrossentropy(axis=2), L.CosineSimilarity(axis=-3),
                                  L.CategoricalFocalCrossentropy(axis=5)])
def test_axis_out_of_range(loss):
    with pytest.raises(ValueError, match=r"`axis`.*\(4, 3\)"):
        loss(np.zeros((4, 3)), Tensor(np.full((4, 3), 0.5)))
