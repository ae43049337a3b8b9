"""Losses, called as Keras calls them: `loss(y_true, y_pred, sample_weight=None)`
-> scalar Tensor (Keras 3's classes, functions, names, arguments and numbers).

Each loss is a class (configured in `__init__`, e.g. `Huber(delta=2.0)`),
a function of Keras's name returning the per-sample values (e.g.
`poisson(y_true, y_pred)`), and reachable by its Keras names through
`get("mse")`. A loss computes one value per sample (per timestep for
sequences) in `call(y_true, y_pred)`, as Keras's do, and reduces them as
Keras does (`reduction`): by default the mean, or with sample weights
sum(weight * value) / number of values. Targets are constants: numpy
arrays of any numeric dtype, cast to the prediction's dtype (a float32 model
stays float32). The cross-entropies are numerically stable for any logit
size: logits go through log-softmax / softplus, and probabilities are
clipped to [EPSILON, 1 - EPSILON] as Keras does.

Where things are (every name below is also a name of this package):

- `base`: `Loss`, the reductions (`REDUCTIONS`, `reduce_weighted_values`,
  `weighted_mean`, `aligned_weights`), `matched_target`, `per_sample`,
  `EPSILON` and `compute`.
- `regression`: `MSE`, `MAE`, `MeanAbsolutePercentageError`,
  `MeanSquaredLogarithmicError`, `Huber`, `LogCosh`, `CosineSimilarity`,
  `Poisson` and their functions.
- `crossentropy`: `BinaryCrossentropy`, `CategoricalCrossentropy`,
  `SparseCategoricalCrossentropy`, `KLDivergence` and their functions.
- `focal`: `BinaryFocalCrossentropy`, `CategoricalFocalCrossentropy` and
  their functions.
- `hinges`: `Hinge`, `SquaredHinge`, `CategoricalHinge` and their functions.
- `numerics`: the exact softplus and sigmoid the losses above use.
- `names`: the registries `LOSSES` and `FUNCTIONS`, `get` and `serialize`.
"""
# In reading order, not alphabetical: the API page lists the names in this order
from .base import (EPSILON, REDUCTIONS, Loss, matched_target, per_sample, weighted_mean,
                   reduce_weighted_values, aligned_weights, apply_mask, compute)
from .regression import (MSE, MAE, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
                         Huber, LogCosh, CosineSimilarity, Poisson, mean_squared_error,
                         mean_absolute_error, mean_absolute_percentage_error,
                         mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity,
                         poisson)
from .crossentropy import (BinaryCrossentropy, CategoricalCrossentropy,
                           SparseCategoricalCrossentropy, KLDivergence, binary_crossentropy,
                           categorical_crossentropy, sparse_categorical_crossentropy,
                           kl_divergence)
from .focal import (BinaryFocalCrossentropy, CategoricalFocalCrossentropy,
                    binary_focal_crossentropy, categorical_focal_crossentropy)
from .hinges import Hinge, SquaredHinge, CategoricalHinge, hinge, squared_hinge, categorical_hinge
from .names import LOSSES, FUNCTIONS, get, serialize

__all__ = [
    # base
    "EPSILON", "REDUCTIONS", "Loss", "matched_target", "per_sample", "weighted_mean",
    "reduce_weighted_values", "aligned_weights", "apply_mask", "compute",
    # regression
    "MSE", "MAE", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber",
    "LogCosh", "CosineSimilarity", "Poisson", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "log_cosh",
    "cosine_similarity", "poisson",
    # cross-entropies
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence",
    # focal cross-entropies
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    # hinge
    "Hinge", "SquaredHinge", "CategoricalHinge", "hinge", "squared_hinge", "categorical_hinge",
    # by name
    "LOSSES", "FUNCTIONS", "get", "serialize",
]
