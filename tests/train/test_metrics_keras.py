"""Keras's stateful metrics (zen.metrics): each result against a float64
formula written here; an epoch's value is the value on all its samples at
once (uneven batches, through fit and evaluate); AUC within its
discretisation error of the exact areas; names, configs, files, errors."""
import json
import warnings

import numpy as np
import pytest

import zen
from zen import metrics
from zen.metrics import (AUC, F1Score, FBetaScore, Mean, MeanMetricWrapper, Metric, Precision,
                         Recall, Sum)
from zen.nn import Dense
from zen.train.objective import Objective

EPS = 1e-7
G = np.random.default_rng(3)
N = 20
BINARY_TRUE = (G.random((N, 1)) > 0.5).astype(np.float64)
BINARY_PRED = G.random((N, 1))
LABELS = G.integers(0, 4, N)
ONE_HOT = np.eye(4)[LABELS]
SCORES = G.random((N, 4))
PROBS = SCORES / SCORES.sum(axis=1, keepdims=True)
MULTI_TRUE = (G.random((N, 3)) > 0.5).astype(np.float64)
MULTI_PRED = G.random((N, 3))
REG_TRUE, REG_PRED = G.normal(size=(N, 3)), G.normal(size=(N, 3))
POS_TRUE, POS_PRED = G.random((N, 3)) + 0.1, G.random((N, 3)) + 0.1
WEIGHTS = G.random(N) * 2


# ----- the float64 references ----------------------------------------------------------------
def weighted_mean(values, w):
    values = values.reshape(len(values), -1).mean(axis=1)
    return np.sum(values * w) / np.sum(w)


def confusion(y, p, thresholds, w):
    """(tp, fp, tn, fn) at each threshold: a prediction above it is positive."""
    w = np.broadcast_to(w.reshape((-1,) + (1,) * (y.ndim - 1)), y.shape).ravel()
    y, p = y.ravel() > 0, p.ravel()
    above = p[None] > np.asarray(thresholds)[:, None]
    return ((above & y) @ w, (above & ~y) @ w, (~above & ~y) @ w, (~above & y) @ w)


def keras_thresholds(n):
    return [-EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + EPS]


def auc_reference(y, p, w, n=200, curve="ROC", summation="interpolation"):
    tp, fp, tn, fn = confusion(y, p, keras_thresholds(n), w)
    ratio = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b != 0)  # noqa: E731
    if curve == "PR" and summation == "interpolation":  # Davis & Goadrich's interpolation
        dtp, pos = tp[:-1] - tp[1:], tp + fp
        dp = pos[:-1] - pos[1:]
        slope = ratio(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pos[1:]
        both = (pos[:-1] > 0) & (pos[1:] > 0)
        log = np.log(np.where(both, ratio(pos[:-1], np.maximum(pos[1:], 0)), 1.0))
        return np.sum(ratio(slope * (dtp + intercept * log), tp[1:] + fn[1:]))
    recall = ratio(tp, tp + fn)
    x, y_ = (ratio(fp, fp + tn), recall) if curve == "ROC" else (recall, ratio(tp, tp + fp))
    heights = {"interpolation": (y_[:-1] + y_[1:]) / 2, "minoring": np.minimum(y_[:-1], y_[1:]),
               "majoring": np.maximum(y_[:-1], y_[1:])}[summation]
    return np.sum((x[:-1] - x[1:]) * heights)


def f_beta(y, p, w, beta=1.0, average=None, threshold=None):
    predicted = (p > threshold) if threshold is not None else \
        (p >= p.max(axis=1, keepdims=True)) & (np.abs(p) > 1e-9)
    w = w[:, None]
    axis = None if average == "micro" else 0
    tp = np.sum(predicted * y * w, axis=axis)
    fp = np.sum(predicted * (1 - y) * w, axis=axis)
    fn = np.sum((1 - predicted) * y * w, axis=axis)
    precision, recall = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    score = (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall + EPS)
    if average == "weighted":
        support = np.sum(y * w, axis=0)
        return np.sum(score * support / (support.sum() + EPS))
    return score.mean() if average else score


def top_k_hits(labels, scores, k):
    kth = -np.sort(-scores, axis=1)[:, k - 1]
    return scores[np.arange(len(labels)), labels] >= kth


def r2(y, p, w, aggregation="uniform_average"):
    w = w[:, None]
    mean = np.sum(w * y, axis=0) / np.sum(w, axis=0)
    scores = 1 - np.sum(w * (y - p) ** 2, axis=0) / np.sum(w * (y - mean) ** 2, axis=0)
    if aggregation == "variance_weighted_average":
        variances = np.sum(w * (y - mean) ** 2, axis=0)
        return np.sum(scores * variances) / variances.sum()
    return scores.mean() if aggregation else scores


def clipped(p):
    return np.clip(p, EPS, 1 - EPS)


def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), EPS)


# metric, (y_true, y_pred), reference(y_true, y_pred, weights)
CASES = [
    (metrics.Accuracy(), (BINARY_TRUE, np.round(BINARY_PRED)),
     lambda y, p, w: weighted_mean(y == p, w)),
    (metrics.BinaryAccuracy(), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: weighted_mean(y == (p > 0.5), w)),
    (metrics.BinaryAccuracy(threshold=0.8), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: weighted_mean(y == (p > 0.8), w)),
    (metrics.CategoricalAccuracy(), (ONE_HOT, PROBS),
     lambda y, p, w: weighted_mean(y.argmax(1) == p.argmax(1), w)),
    (metrics.SparseCategoricalAccuracy(), (LABELS[:, None], PROBS),
     lambda y, p, w: weighted_mean(y[:, 0] == p.argmax(1), w)),
    (metrics.TopKCategoricalAccuracy(k=2), (ONE_HOT, PROBS),
     lambda y, p, w: weighted_mean(top_k_hits(y.argmax(1), p, 2), w)),
    (metrics.SparseTopKCategoricalAccuracy(k=3), (LABELS, PROBS),
     lambda y, p, w: weighted_mean(top_k_hits(y, p, 3), w)),
    (metrics.TruePositives(), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: confusion(y, p, [0.5], w)[0][0]),
    (metrics.FalsePositives(thresholds=[0.2, 0.7]), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: confusion(y, p, [0.2, 0.7], w)[1]),
    (metrics.TrueNegatives(), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: confusion(y, p, [0.5], w)[2][0]),
    (metrics.FalseNegatives(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0]),
     (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: confusion(y, p, [0.0, 0.25, 0.5, 0.75, 1.0], w)[3]),
    (Precision(), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: (lambda c: c[0] / (c[0] + c[1]))(confusion(y, p, [0.5], w))[0]),
    (Precision(thresholds=[0.3, 0.6]), (MULTI_TRUE, MULTI_PRED),
     lambda y, p, w: (lambda c: c[0] / (c[0] + c[1]))(confusion(y, p, [0.3, 0.6], w))),
    (Precision(class_id=2), (ONE_HOT, SCORES),
     lambda y, p, w: (lambda c: c[0] / (c[0] + c[1]))(confusion(y[:, 2], p[:, 2], [0.5], w))[0]),
    (Precision(top_k=1), (ONE_HOT, PROBS),
     lambda y, p, w: weighted_mean(y.argmax(1) == p.argmax(1), w)),
    (Recall(), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: (lambda c: c[0] / (c[0] + c[3]))(confusion(y, p, [0.5], w))[0]),
    (Recall(top_k=2, class_id=1), (ONE_HOT, PROBS),
     lambda y, p, w: np.sum(w * (y[:, 1] > 0) * top_k_hits(np.ones(N, int), p, 2))
     / np.sum(w * (y[:, 1] > 0))),
    (AUC(), (BINARY_TRUE, BINARY_PRED), lambda y, p, w: auc_reference(y, p, w)),
    (AUC(num_thresholds=7), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: auc_reference(y, p, w, 7)),
    (AUC(curve="PR"), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: auc_reference(y, p, w, curve="PR")),
    (AUC(curve="PR", summation_method="majoring"), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: auc_reference(y, p, w, curve="PR", summation="majoring")),
    (AUC(summation_method="minoring"), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: auc_reference(y, p, w, summation="minoring")),
    (AUC(from_logits=True), (BINARY_TRUE, np.log(BINARY_PRED / (1 - BINARY_PRED))),
     lambda y, p, w: auc_reference(y, 1 / (1 + np.exp(-p)), w)),
    (AUC(multi_label=True, num_labels=3), (MULTI_TRUE, MULTI_PRED),
     lambda y, p, w: np.mean([auc_reference(y[:, i], p[:, i], w) for i in range(3)])),
    (AUC(multi_label=True, label_weights=[1.0, 3.0, 0.0]), (MULTI_TRUE, MULTI_PRED),
     lambda y, p, w: np.dot([auc_reference(y[:, i], p[:, i], w) for i in range(3)],
                            [1, 3, 0]) / 4),
    (F1Score(), (ONE_HOT, PROBS), lambda y, p, w: f_beta(y, p, w)),
    (F1Score(average="micro", threshold=0.3), (ONE_HOT, PROBS),
     lambda y, p, w: f_beta(y, p, w, average="micro", threshold=0.3)),
    (F1Score(average="weighted", threshold=0.5), (MULTI_TRUE, MULTI_PRED),
     lambda y, p, w: f_beta(y, p, w, average="weighted", threshold=0.5)),
    (FBetaScore(beta=2.0, average="macro", threshold=0.4), (MULTI_TRUE, MULTI_PRED),
     lambda y, p, w: f_beta(y, p, w, 2.0, "macro", 0.4)),
    (metrics.MeanSquaredError(), (REG_TRUE, REG_PRED),
     lambda y, p, w: weighted_mean((y - p) ** 2, w)),
    (metrics.MeanAbsoluteError(), (REG_TRUE, REG_PRED),
     lambda y, p, w: weighted_mean(np.abs(y - p), w)),
    (metrics.MeanAbsolutePercentageError(), (POS_TRUE, POS_PRED),
     lambda y, p, w: weighted_mean(100 * np.abs(y - p) / y, w)),
    (metrics.MeanSquaredLogarithmicError(), (POS_TRUE, POS_PRED),
     lambda y, p, w: weighted_mean((np.log1p(y) - np.log1p(p)) ** 2, w)),
    (metrics.RootMeanSquaredError(), (REG_TRUE, REG_PRED),
     lambda y, p, w: np.sqrt(weighted_mean((y - p) ** 2, w))),
    (metrics.LogCoshError(), (REG_TRUE, REG_PRED),
     lambda y, p, w: weighted_mean(np.log(np.cosh(p - y)), w)),
    (metrics.CosineSimilarity(), (REG_TRUE, REG_PRED),
     lambda y, p, w: weighted_mean(np.sum(unit(y) * unit(p), axis=1), w)),
    (metrics.R2Score(), (REG_TRUE, REG_PRED), lambda y, p, w: r2(y, p, w)),
    (metrics.R2Score(class_aggregation="variance_weighted_average"), (REG_TRUE, REG_PRED),
     lambda y, p, w: r2(y, p, w, "variance_weighted_average")),
    (metrics.R2Score(class_aggregation=None), (REG_TRUE, REG_PRED),
     lambda y, p, w: r2(y, p, w, None)),
    (metrics.BinaryCrossentropy(), (BINARY_TRUE, BINARY_PRED),
     lambda y, p, w: weighted_mean(-(y * np.log(clipped(p)) + (1 - y) * np.log(1 - clipped(p))),
                                   w)),
    (metrics.CategoricalCrossentropy(), (ONE_HOT, PROBS),
     lambda y, p, w: weighted_mean(-np.sum(y * np.log(clipped(p)), axis=1), w)),
    (metrics.CategoricalCrossentropy(from_logits=True), (ONE_HOT, SCORES),
     lambda y, p, w: weighted_mean(-np.sum(y * (p - np.log(np.exp(p).sum(1, keepdims=True))),
                                           axis=1), w)),
    (metrics.SparseCategoricalCrossentropy(), (LABELS, PROBS),
     lambda y, p, w: weighted_mean(-np.log(clipped(p[np.arange(N), y])), w)),
    (metrics.SparseCategoricalCrossentropy(ignore_class=1), (LABELS, PROBS),
     lambda y, p, w: weighted_mean(-np.log(clipped(p[np.arange(N), y])), w * (y != 1))),
    (metrics.KLDivergence(), (PROBS, np.roll(PROBS, 1, axis=0)),
     lambda y, p, w: weighted_mean(np.sum(y * np.log(y / p), axis=1), w)),
    (metrics.Poisson(), (POS_TRUE, POS_PRED),
     lambda y, p, w: weighted_mean(p - y * np.log(p + EPS), w)),
    (metrics.Hinge(), (MULTI_TRUE, REG_PRED),
     lambda y, p, w: weighted_mean(np.maximum(1 - (2 * y - 1) * p, 0), w)),
    (metrics.SquaredHinge(), (MULTI_TRUE, REG_PRED),
     lambda y, p, w: weighted_mean(np.maximum(1 - (2 * y - 1) * p, 0) ** 2, w)),
    (metrics.CategoricalHinge(), (ONE_HOT, SCORES),
     lambda y, p, w: weighted_mean(np.maximum(np.max((1 - y) * p, axis=1)
                                              - np.sum(y * p, axis=1) + 1, 0), w)),
]
IDS = [f"{type(m).__name__}-{i}" for i, (m, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("metric, data, reference", CASES, ids=IDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_each_result_against_its_formula(metric, data, reference, weighted):
    metric.reset_state()
    weights = WEIGHTS if weighted else None
    metric.update_state(*data, sample_weight=weights)
    expected = reference(*data, WEIGHTS if weighted else np.ones(N))
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("metric, data, reference", CASES, ids=IDS)
def test_batches_of_uneven_size_add_up_to_the_whole(metric, data, reference):
    metric.reset_state()
    for part in (slice(0, 7), slice(7, 14), slice(14, 20)):
        metric.update_state(*(d[part] for d in data), sample_weight=WEIGHTS[part])
    in_batches = metric.result()
    metric.reset_state()
    whole = metric(*data, sample_weight=WEIGHTS)  # __call__: update, then result
    np.testing.assert_allclose(in_batches, whole, rtol=1e-12, atol=1e-12)
    metric.reset_state()
    assert all(not v.any() for v in metric.variables)


def test_processes_summing_their_states_get_the_value_on_all_samples():
    """What DataParallel.reduce_metrics does: each process's state, summed."""
    halves = [AUC(curve="PR"), AUC(curve="PR")]
    for half, part in zip(halves, (slice(0, 9), slice(9, 20))):
        half.update_state(BINARY_TRUE[part], BINARY_PRED[part], sample_weight=WEIGHTS[part])
    assert halves[0].aggregations == ["sum"] * 4
    for mine, theirs in zip(halves[0].variables, halves[1].variables):
        mine += theirs
    whole = AUC(curve="PR")(BINARY_TRUE, BINARY_PRED, sample_weight=WEIGHTS)
    assert halves[0].result() == pytest.approx(whole, rel=1e-12)


# ----- the reduction metrics ------------------------------------------------------------------
def test_mean_and_sum_follow_keras_arithmetic():
    mean = Mean()
    mean.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert mean.result() == 2.0
    mean.update_state(6.0)  # a number counts once
    assert mean.result() == pytest.approx(10 / 3)
    mean.reset_state()
    mean.update_state(np.array([[1.0, 3.0], [5.0, 7.0]]))  # per sample first: 2, 6
    assert (mean.result(), float(mean.count)) == (4.0, 2.0)
    total = Sum()
    total.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert total.result() == 4.0 and Mean().result() == 0.0  # nothing seen: 0, not NaN


@pytest.mark.parametrize("value, weight", [
    (np.float32(0.1), 128), (0.3, None), (7, np.float64(2.5)), (np.int64(3), -1.0), (2.0, 0)])
def test_a_mean_of_numbers_is_the_mean_of_0_d_arrays(value, weight):
    """One number with a number as weight (a loss tracker's batch) takes a
    short path; it gives the same bits as the same number as a 0-d array."""
    numbers, arrays = Mean(), Mean()
    for _ in range(3):
        numbers.update_state(value, sample_weight=weight)
        arrays.update_state(np.array(value), sample_weight=None if weight is None
                            else np.array(weight))
    assert (float(numbers.total), float(numbers.count)) == (float(arrays.total),
                                                            float(arrays.count))
    assert numbers.result() == arrays.result()


def test_a_mean_of_hits_is_the_mean_of_ones_and_zeros():
    """A batch of booleans (accuracy's hits) is counted without a float copy;
    the same total and count as its 0/1 floats, with or without weights."""
    hits = np.random.default_rng(0).random(130) > 0.4
    booleans, floats = Mean(), Mean()
    for weight in (None, None, np.linspace(0, 1, 130)):
        booleans.update_state(hits, sample_weight=weight)
        floats.update_state(hits.astype(np.float64), sample_weight=weight)
    assert (float(booleans.total), float(booleans.count)) == (float(floats.total),
                                                              float(floats.count))


@pytest.mark.parametrize("bad", ["1.0", 1 + 2j, np.complex64(1)])
def test_a_mean_of_a_non_real_number_is_a_type_error(bad):
    with pytest.raises(TypeError, match="expected numbers"):
        Mean().update_state(bad, sample_weight=2)


def test_mean_metric_wrapper_of_a_function_and_of_a_batch_mean():
    wrapper = MeanMetricWrapper(lambda y, p, power: np.abs(y - p) ** power, name="err", power=2)
    wrapper.update_state(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    assert wrapper.result() == 2.5 and wrapper.name == "err"
    batch_mean = MeanMetricWrapper(lambda y, p: float(np.mean(p)), name="mean_p")
    batch_mean.update_state(np.zeros(3), np.full(3, 1.0))
    batch_mean.update_state(np.zeros(1), np.full(1, 5.0))  # counts once per sample
    assert batch_mean.result() == pytest.approx((3 * 1.0 + 5.0) / 4)


# ----- AUC against the exact areas ------------------------------------------------------------
def exact_roc_auc(y, p):
    """The Mann-Whitney statistic: the trapezoid area of the exact ROC curve."""
    order = np.argsort(p, kind="stable")
    _, inverse, counts = np.unique(p[order], return_inverse=True, return_counts=True)
    ranks = np.empty(len(p))
    ranks[order] = (np.cumsum(counts) - (counts - 1) / 2)[inverse]
    positives, negatives = y.sum(), len(y) - y.sum()
    return (ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def exact_pr_auc(y, p):
    """The trapezoid area of the exact precision-recall curve (a point per
    distinct score, from recall 0 at the first point's precision)."""
    order = np.argsort(-p, kind="stable")
    tp, fp = np.cumsum(y[order]), np.cumsum(1 - y[order])
    last = np.r_[p[order][1:] != p[order][:-1], True]
    recall, precision = np.r_[0, tp[last] / y.sum()], tp[last] / (tp[last] + fp[last])
    precision = np.r_[precision[0], precision]
    return np.sum((recall[1:] - recall[:-1]) * (precision[1:] + precision[:-1]) / 2)


def test_auc_is_within_its_discretisation_error_of_the_exact_area():
    """Keras's AUC approximates the curve at 200 thresholds: its value lies
    between the minoring and majoring sums (the bounds its docstring gives);
    for ROC the interpolation is within the error the buckets allow (half the
    positive-negative pairs that share a bucket); for PR within 1e-3, the
    tolerance of Keras's own tests."""
    g = np.random.default_rng(0)
    y = (g.random(20000) < 0.4).astype(np.float64)
    u = g.random(20000)
    p = np.where(y == 1, u ** 0.5, u ** 1.5)  # spread over [0, 1], positives higher
    for curve, exact in (("ROC", exact_roc_auc(y, p)), ("PR", exact_pr_auc(y, p))):
        low, mid, high = (AUC(curve=curve, summation_method=s)(y, p)
                          for s in ("minoring", "interpolation", "majoring"))
        assert low <= exact <= high, curve
        buckets = np.ceil(p * 199) - 1
        shared = sum(y[buckets == b].sum() * (1 - y[buckets == b]).sum() for b in range(200))
        tolerance = shared / (2 * y.sum() * (1 - y).sum()) if curve == "ROC" else 1e-3
        assert abs(mid - exact) <= tolerance, (curve, mid, exact, tolerance)


# ----- through fit and evaluate ---------------------------------------------------------------
def binary_model():
    zen.set_seed(0)
    model = zen.Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")])
    model.build((None, 3))
    return model


def test_epoch_values_are_the_values_on_all_samples_at_once():
    """lr=0 keeps the model fixed: History (batches of 7, 7, 6 and a
    validation of 7, 3) and evaluate equal the metrics computed on every
    prediction at once, and the loss keeps its mean over samples."""
    g = np.random.default_rng(1)
    x = g.normal(size=(30, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * g.normal(size=30) > 0).astype(np.float32)
    w = np.linspace(0.1, 2.0, 30)
    model = binary_model()
    model.compile(zen.optim.SGD(lr=0.0), "binary_crossentropy",
                  [AUC(name="auc"), AUC(curve="PR", name="pr"), Precision(name="precision"),
                   Recall(name="recall"), "accuracy"],
                  weighted_metrics=[AUC(name="auc")])
    history = model.fit(x[:20], y[:20], batch_size=7, epochs=2, verbose=0, sample_weight=w[:20],
                        validation_data=(x[20:], y[20:], w[20:])).history
    assert list(history) == ["loss", "auc", "pr", "precision", "recall", "accuracy",
                             "weighted_auc", "val_loss", "val_auc", "val_pr", "val_precision",
                             "val_recall", "val_accuracy", "val_weighted_auc"]
    pred = model.predict(x)
    for prefix, part in (("", slice(0, 20)), ("val_", slice(20, 30))):
        t, p = y[part], pred[part]
        expected = {"auc": AUC()(t, p), "pr": AUC(curve="PR")(t, p),
                    "precision": Precision()(t, p), "recall": Recall()(t, p),
                    "accuracy": np.mean((p[:, 0] > 0.5) == t),
                    "weighted_auc": AUC()(t, p, sample_weight=w[part])}
        for key, value in expected.items():
            assert history[prefix + key] == pytest.approx([value] * 2, rel=1e-12), prefix + key
    evaluated = model.evaluate(x[:20], y[:20], batch_size=6, sample_weight=w[:20],
                               return_dict=True)
    for key in ("auc", "pr", "precision", "recall", "accuracy", "weighted_auc"):
        assert evaluated[key] == pytest.approx(history[key][0], rel=1e-12)
    assert evaluated["loss"] == pytest.approx(history["loss"][0], rel=1e-6)


def test_the_metrics_start_again_at_each_epoch_and_a_users_metric_works_in_compile():
    class Seen(Metric):
        """The weighted number of samples seen, written as a Keras user would."""

        def __init__(self, name="seen", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_variable((), name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            weights = np.ones(len(y_pred)) if sample_weight is None else sample_weight
            self.count = self.count + np.sum(weights)  # assigned again: the same array

        def result(self):
            return float(self.count)

    x, y = np.ones((10, 3), np.float32), np.ones(10, np.float32)
    model = binary_model()
    model.compile("sgd", "binary_crossentropy", [Seen()], weighted_metrics=[Seen()])
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0, sample_weight=np.full(10, 0.5))
    assert history.history["seen"] == [10.0] * 3
    assert history.history["weighted_seen"] == [5.0] * 3
    assert model.evaluate(x, y, return_dict=True)["seen"] == 10.0


def test_per_batch_logs_hold_the_running_results():
    x, y = np.random.default_rng(2).normal(size=(12, 3)).astype(np.float32), np.tile([0, 1], 6)
    seen = []
    model = binary_model()
    model.compile(zen.optim.SGD(lr=0.0), "binary_crossentropy", [AUC(name="auc")])
    model.fit(x, y, batch_size=5, verbose=0, shuffle=False, callbacks=[
        zen.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs["auc"]))])
    pred = model.predict(x)
    assert seen == pytest.approx([AUC()(y[:n], pred[:n]) for n in (5, 10, 12)], rel=1e-12)


# ----- names -------------------------------------------------------------------------------
def test_names_are_made_unique_as_keras_makes_them():
    first, second = AUC(), AUC()  # Keras: "auc", then "auc_1", ... in a process
    taken = 0 if first.name == "auc" else int(first.name.removeprefix("auc_"))
    assert second.name == f"auc_{taken + 1}"
    objective = Objective("mse", [AUC(name="x"), AUC(name="x"), AUC(name="x_1")],
                          weighted_metrics=[AUC(name="x"), AUC(name="x"), "mae"])
    assert objective.resolve(["out"]).log_names == [
        "loss", "x", "x_1", "x_1_1", "weighted_x", "weighted_x_1", "mae"]
    two = Objective("mse", [Precision(name="p")], weighted_metrics=[Precision(name="p")])
    assert two.resolve(["a", "b"]).log_names == [
        "loss", "a_loss", "b_loss", "a_p", "a_weighted_p", "b_p", "b_weighted_p"]
    entries = two.metric_entries  # one object given for every output: a copy each
    assert len({id(metric) for _, _, metric, _ in entries}) == 4


def test_strings_name_the_metric_and_classes_resolve_by_keras_names():
    assert metrics.get("acc") is metrics.accuracy and metrics.get("mae") is metrics.mae
    assert isinstance(metrics.get("auc"), AUC) and isinstance(metrics.get("AUC"), AUC)
    assert isinstance(metrics.get("f1_score"), F1Score)
    assert type(metrics.get("bce")) is metrics.BinaryCrossentropy
    model = binary_model()
    model.compile("sgd", "binary_crossentropy", ["auc", "precision", "acc"])
    assert model.metrics_names == ["loss", "auc", "precision", "acc"]
    # which way is better, as Keras records it for monitors
    assert [m._direction for m in (AUC(), metrics.MeanSquaredError(), Mean(),
                                   MeanMetricWrapper(zen.nn.losses.poisson))] == \
        ["up", "down", None, "down"]


# ----- configs and files -------------------------------------------------------------------
CONFIGURED = [
    AUC(num_thresholds=50, curve="PR", summation_method="minoring", name="pr",
        multi_label=True, num_labels=3, label_weights=[1, 2, 3], from_logits=True),
    AUC(thresholds=[0.2, 0.6]), Precision(thresholds=[0.2, 0.7], class_id=1, name="p1"),
    Recall(top_k=2), F1Score(average="macro", threshold=0.4), FBetaScore(beta=0.5),
    metrics.BinaryAccuracy(threshold=0.7), metrics.TopKCategoricalAccuracy(k=3),
    metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
    metrics.R2Score(class_aggregation=None, num_regressors=2),
    metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, axis=-1),
    metrics.SparseCategoricalCrossentropy(ignore_class=0), metrics.CosineSimilarity(axis=-1),
    metrics.TruePositives(thresholds=0.3), Mean(name="m"), Sum(),
    MeanMetricWrapper(zen.nn.losses.poisson, name="pois"),
    MeanMetricWrapper(metrics.binary_accuracy, threshold=0.3),
]


@pytest.mark.parametrize("metric", CONFIGURED, ids=lambda m: type(m).__name__)
def test_configs_round_trip_through_json(metric):
    spec = json.loads(json.dumps(metrics.serialize(metric)))
    rebuilt = metrics.deserialize(spec)
    assert type(rebuilt) is type(metric) and rebuilt.get_config() == metric.get_config()
    assert type(metric).from_config(metric.get_config()).get_config() == metric.get_config()


def test_compile_settings_with_metric_objects_round_trip_through_a_model_file(tmp_path):
    x = np.random.default_rng(4).normal(size=(16, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = binary_model()
    model.compile("adam", "binary_crossentropy", [AUC(curve="PR", name="pr"), "accuracy"],
                  weighted_metrics=[Precision(thresholds=0.4, name="pr")])
    model.save(tmp_path / "m.zen")
    loaded = zen.load_model(tmp_path / "m.zen")
    assert loaded.metrics_names == ["loss", "pr", "accuracy", "weighted_pr"]
    assert loaded.evaluate(x, y, return_dict=True) == model.evaluate(x, y, return_dict=True)
    entries = loaded._trainer.objective.metric_entries
    assert entries[0][2].get_config() == model._trainer.objective.metric_entries[0][2].get_config()


def test_a_users_metric_is_saved_without_the_compile_settings_with_a_warning(tmp_path):
    class Custom(Mean):
        pass

    model = binary_model()
    model.compile("adam", "binary_crossentropy", [Custom(name="c")])
    with pytest.warns(UserWarning, match="saved without its compile settings"):
        model.save(tmp_path / "m.zen")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert zen.load_model(tmp_path / "m.zen").metrics_names == []
    with pytest.raises(ValueError, match="custom metric 'fn'"):
        metrics.serialize(lambda_metric)
    with pytest.raises(ValueError, match="holds something a file cannot"):
        metrics.serialize(MeanMetricWrapper(lambda_metric))


def lambda_metric(y_true, y_pred):
    return np.abs(y_true - y_pred)


lambda_metric.__name__ = "fn"


# ----- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda: AUC(num_thresholds=1), ValueError, r"`num_thresholds`, expected an integer >= 2"),
    (lambda: AUC(curve="XY"), ValueError, r"`curve`, expected one of 'ROC'.*curve='XY'"),
    (lambda: AUC(summation_method="left"), ValueError, r"`summation_method`.*'left'"),
    (lambda: AUC(num_labels=3), ValueError, r"`num_labels` is needed only when `multi_label`"),
    (lambda: AUC(label_weights=[1, -1]), ValueError, r"`label_weights`.*\[1, -1\]"),
    (lambda: AUC(thresholds=[0.5, 2]), ValueError, r"`thresholds`, expected a number in \[0, 1\]"),
    (lambda: Precision(thresholds=1.5), ValueError, r"`thresholds`.*thresholds=1.5"),
    (lambda: Precision(top_k=0), ValueError, r"`top_k`, expected an integer >= 1"),
    (lambda: Recall(class_id=-1), ValueError, r"`class_id`, expected an integer >= 0"),
    (lambda: F1Score(average="mean"), ValueError, r"`average`, expected one of.*'mean'"),
    (lambda: FBetaScore(beta=0), ValueError, r"`beta`, expected a positive number"),
    (lambda: F1Score(threshold=0.0), ValueError, r"`threshold`, expected a number in \(0, 1\]"),
    (lambda: metrics.R2Score(class_aggregation="x"), ValueError, r"`class_aggregation`"),
    (lambda: metrics.R2Score(num_regressors=-1), ValueError, r"`num_regressors`"),
    (lambda: metrics.TopKCategoricalAccuracy(k=0), ValueError, r"`k`, expected an integer >= 1"),
    (lambda: Mean(name=""), ValueError, r"`name` of Mean"),
    (lambda: Mean(dtype="int32"), ValueError, r"`dtype`, expected a float dtype"),
    (lambda: MeanMetricWrapper(3), ValueError, r"`fn`, expected a function"),
    (lambda: Mean().add_variable((), aggregation="max"), ValueError, r"`aggregation`"),
    (lambda: Mean().add_variable((-1,)), ValueError, r"`shape`"),
    (lambda: metrics.get("nope"), ValueError, r"Unknown metric 'nope'"),
    (lambda: metrics.get(3), TypeError, r"`metrics`"),
])
def test_bad_arguments_raise_naming_them(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("metric, data, match", [
    (F1Score(), (np.ones(3), np.ones(3)), r"F1Score expects 2D inputs"),
    (metrics.R2Score(), (np.ones(3), np.ones(4)), r"R2Score expects 2D inputs"),
    (AUC(multi_label=True), (np.ones((2, 2, 2)), np.ones((2, 2, 2))), r"must have rank 2"),
    (Precision(class_id=1), (np.ones(3), np.ones(3)), r"When class_id is provided"),
    (Precision(), (np.ones((3, 2)), np.ones((3, 4))), r"Metric shapes do not match"),
    (metrics.SparseTopKCategoricalAccuracy(k=1), (np.array([0, 7]), np.ones((2, 3))),
     r"label 7, which is not a class index in \[0, 3\)"),
    (Mean(), (np.array(["a"]),), r"`values`, expected numbers"),
    (Mean(), (np.ones(3), np.ones(2)), r"`sample_weight` of shape \(2,\) does not match"),
])
def test_bad_batches_raise_saying_what_is_wrong(metric, data, match):
    with pytest.raises((ValueError, TypeError), match=match):
        metric.update_state(*data)


def test_a_subclass_must_call_super_init_and_define_its_methods():
    class Forgot(Metric):
        def __init__(self):
            pass

    with pytest.raises(RuntimeError, match="forgot to call `super"):
        Forgot().add_variable(())
    with pytest.raises(NotImplementedError, match="must define update_state"):
        Metric(name="bare").update_state(1, 1)
    metric = Mean()
    with pytest.raises(ValueError, match=r"shape \(2,\) to the variable 'total'"):
        metric.total = np.ones(2)
