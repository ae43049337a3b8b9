"""zen.metrics: Keras's stateful metrics and Zen's metric functions, which
`compile(metrics=...)` takes as objects or by name (the implementation lives
with training, in the package zen/train/metrics/, whose docstring says which
module holds what).

A `Metric` accumulates a state over batches (`update_state`), reads its
value on everything seen (`result`) and starts again (`reset_state`); `fit`
resets the compiled metrics at each epoch's start, so an epoch's AUC or
precision is computed on all its samples.

Example:
    from zen.metrics import AUC, Precision, accuracy
    model.compile("adam", "binary_crossentropy", metrics=[AUC(), Precision(), "accuracy"])
    accuracy(y_true, y_pred)          # the batch's fraction classified right
"""
from .train.metrics import (AUC, Accuracy, BinaryAccuracy, BinaryCrossentropy,
                            CategoricalAccuracy, CategoricalCrossentropy, CategoricalHinge,
                            CosineSimilarity, F1Score, FalseNegatives, FalsePositives,
                            FBetaScore, Hinge, KLDivergence, LogCoshError, Mean,
                            MeanAbsoluteError, MeanAbsolutePercentageError, MeanMetricWrapper,
                            MeanSquaredError, MeanSquaredLogarithmicError, Metric, Poisson,
                            Precision, R2Score, Recall, RootMeanSquaredError,
                            SparseCategoricalAccuracy, SparseCategoricalCrossentropy,
                            SparseTopKCategoricalAccuracy, SquaredHinge, Sum,
                            TopKCategoricalAccuracy, TrueNegatives, TruePositives, accuracy,
                            binary_accuracy, categorical_accuracy, deserialize, get, mae, mse,
                            name_of, serialize, sparse_categorical_accuracy,
                            sparse_top_k_categorical_accuracy, top_k_categorical_accuracy,
                            values_of)

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
