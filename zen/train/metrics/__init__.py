"""Metrics: Keras's stateful `Metric` classes, and the metric functions.

A metric is a small state machine (Keras's `keras.metrics.Metric`):
`update_state(y_true, y_pred, sample_weight=None)` adds a batch to its
state, `result()` reads the value of everything seen since the last
`reset_state()`. An epoch's precision, AUC or mean is then computed on all
its samples at once, never as a mean of per-batch values, and processes
that trained on different shards add their states to get the job's
(`zen.train.strategy`: `reduce_metrics`). The state is numpy arrays made by
`add_variable`, counts and sums in float64; metrics never build a graph.

Every class has Keras's name, arguments, defaults and string names
(`get("auc")`, `get("AUC")`). The functions `accuracy`, `mae` and `mse`
(`metric(y_true, y_pred) -> float`, the batch mean) are Zen's own: the
string "accuracy" ("acc") reads the target format from the shapes, as Zen
always did, and "mae"/"mse" name them.

Where things are (each module below the ones it imports; this package
re-exports their names, and `zen.metrics` the public ones):
- `arrays`: the arrays metrics take and give (checks, Keras's alignment of
  ranks, a safe division, results as Keras's scalar or array);
- `functions`: Zen's functions `accuracy`, `mae`, `mse` and their per-sample
  forms, and `FUNCTIONS`, the functions a wrapper's config may name;
- `metric`: the base class `Metric` and its state (`add_variable`,
  `AGGREGATIONS`);
- `reduction`: `Mean`, `Sum`, `MeanMetricWrapper(fn)` (the mean of a
  per-sample function: Keras's `fn(y_true, y_pred) -> values`);
- `accuracy_metrics`: `Accuracy`, `BinaryAccuracy`, `CategoricalAccuracy`,
  `SparseCategoricalAccuracy`, `TopKCategoricalAccuracy`,
  `SparseTopKCategoricalAccuracy` and Keras's per-sample functions
  `binary_accuracy`, ...;
- `confusion`: the confusion matrix at thresholds, `TruePositives`,
  `FalsePositives`, `TrueNegatives`, `FalseNegatives`, `Precision`, `Recall`;
- `auc`: `AUC`;
- `f_score`: `FBetaScore`, `F1Score`;
- `regression`: `MeanSquaredError`, `MeanAbsoluteError`,
  `MeanAbsolutePercentageError`, `MeanSquaredLogarithmicError`,
  `RootMeanSquaredError`, `CosineSimilarity`, `LogCoshError`, `R2Score`;
- `probabilistic`: losses as metrics, `BinaryCrossentropy`,
  `CategoricalCrossentropy`, `SparseCategoricalCrossentropy`, `KLDivergence`,
  `Poisson`, `Hinge`, `SquaredHinge`, `CategoricalHinge` (zen.nn.losses'
  per-sample functions);
- `names`: the registry `METRICS` and `get`, `compiled_metric`, `serialize`,
  `deserialize`, `name_of`, `values_of`.

Example:
    auc = AUC()
    auc.update_state([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.3])
    auc.update_state([1, 0], [0.9, 0.6])
    auc.result()                          # the AUC of the six samples
    model.compile("adam", "binary_crossentropy", metrics=[AUC(), Precision(), "accuracy"])
"""
from .arrays import EPSILON
from .functions import FUNCTIONS, accuracy, accuracy_values, mae, mae_values, mse, mse_values
from .metric import AGGREGATIONS, Metric
from .reduction import Mean, MeanMetricWrapper, Sum
from .accuracy_metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                               SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                               TopKCategoricalAccuracy, binary_accuracy, categorical_accuracy,
                               sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                               top_k_categorical_accuracy)
from .confusion import (NEG_INF, FalseNegatives, FalsePositives, Precision, Recall,
                        TrueNegatives, TruePositives)
from .auc import AUC
from .f_score import F1Score, FBetaScore
from .regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                         MeanAbsolutePercentageError, MeanSquaredError,
                         MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError)
from .probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge,
                            KLDivergence, Poisson, SparseCategoricalCrossentropy, SquaredHinge)
from .names import (CLASSES, METRICS, compiled_metric, deserialize, get, name_of, serialize,
                    values_of)

# `__all__` is the public API (zen.metrics re-exports it); the other names above are
# what Zen's own modules use (`METRICS`, `compiled_metric`, ...), named here as before.
__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
    "Recall", "AUC", "FBetaScore", "F1Score",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "RootMeanSquaredError", "CosineSimilarity",
    "LogCoshError", "R2Score",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "accuracy", "mae", "mse", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "get", "serialize", "deserialize", "name_of", "values_of"]
