"""Metric names to objects. `METRICS` files Zen's functions and every class
under Keras's names; `get` makes a metric of what `compile(metrics=...)`
takes and `compiled_metric` the Metric that compile keeps of it;
`serialize` and `deserialize` write and read one in files; `name_of` gives
its log key and `values_of` a function's per-sample form.
"""
import json

from ...nn.layer import snake_case
from ...registry import Registry
from .accuracy_metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                               SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                               TopKCategoricalAccuracy)
from .auc import AUC
from .confusion import (FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives,
                        TruePositives)
from .f_score import F1Score, FBetaScore
from .functions import accuracy, accuracy_values, mae, mae_values, mse, mse_values
from .metric import Metric
from .probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge,
                            KLDivergence, Poisson, SparseCategoricalCrossentropy, SquaredHinge)
from .reduction import Mean, MeanMetricWrapper, Sum
from .regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                         MeanAbsolutePercentageError, MeanSquaredError,
                         MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError)


CLASSES = (Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
           SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
           TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
           FBetaScore, F1Score, MeanSquaredError, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError,
           CosineSimilarity, LogCoshError, R2Score, BinaryCrossentropy,
           CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
           SquaredHinge, CategoricalHinge)

# Zen's functions keep their names ("accuracy" reads the target format from
# the shapes; a model logs a metric under the name it was compiled with, so
# "acc" stays "acc"); every class is filed under its name and Keras's
# snake_case of it, with Keras's short aliases.
METRICS = Registry("metric")
"""Metric names -> Zen's functions and the classes, for `get`, `serialize`, `deserialize`."""
METRICS.add(accuracy, "accuracy", "acc")
METRICS.add(mae, "mae", "mean_absolute_error")
METRICS.add(mse, "mse", "mean_squared_error")
for _cls in CLASSES:
    METRICS.add(_cls, _cls.__name__)
    METRICS.setdefault(snake_case(_cls.__name__), _cls)
for _alias, _cls in (("bce", BinaryCrossentropy), ("BCE", BinaryCrossentropy),
                     ("MSE", MeanSquaredError), ("MAE", MeanAbsoluteError),
                     ("mape", MeanAbsolutePercentageError), ("MAPE", MeanAbsolutePercentageError),
                     ("msle", MeanSquaredLogarithmicError), ("MSLE", MeanSquaredLogarithmicError)):
    METRICS.add(_cls, _alias)

_VALUES = {accuracy: accuracy_values, mae: mae_values, mse: mse_values}


def get(identifier):
    """A metric from what `compile(metrics=...)` takes: one of Zen's
    functions by name ("accuracy"/"acc", "mae", "mse"), a new instance of a
    class by Keras's names ("auc", "AUC", "f1_score", ...) or from a class or
    a `serialize` dict; a Metric or any callable `metric(y_true, y_pred)` as
    it is; None for None.

    Args:
        identifier: a name, a class, a config dict, a Metric or a callable.

    Example:
        get("acc") is accuracy                              # True
        get("auc")                                          # AUC(name='auc', ...)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        found = METRICS.lookup(identifier)
        return found() if isinstance(found, type) else found
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Received an invalid value for `metrics`, expected a metric name, a "
                    f"Metric or a callable metric(y_true, y_pred). Received: {identifier!r}")


def compiled_metric(identifier) -> Metric:
    """The Metric that `compile` makes of `identifier` (Keras's compile):
    a Metric as it is; a name gives a new one named by that name (Zen's
    functions wrapped in a MeanMetricWrapper, "accuracy" reading the target
    format from the shapes); a class a new one; a function a MeanMetricWrapper
    named by the function.

    Args:
        identifier: what `get` takes.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        found = METRICS.lookup(identifier)
        return found(name=identifier) if isinstance(found, type) else \
            MeanMetricWrapper(values_of(found), name=identifier)
    found = get(identifier)
    if isinstance(found, Metric):
        return found
    return MeanMetricWrapper(values_of(found), name=name_of(found))


def serialize(metric):
    """How a file names a metric: a name stays a name, one of Zen's functions
    gives its name, an instance of Zen's classes `{"class_name", "config"}`;
    anything else (a user's function or Metric class, a wrapper of one) is a
    ValueError, as nothing in a file could rebuild it.

    Args:
        metric: what `compile(metrics=...)` was given.

    Example:
        serialize(AUC(curve="PR"))   # {'class_name': 'AUC', 'config': {'name': 'auc', ...}}
    """
    if isinstance(metric, str):
        METRICS.lookup(metric)
        return metric
    if isinstance(metric, Metric):
        spec = METRICS.serialize(metric)
        try:
            json.dumps(spec, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError(f"the config of metric {metric.name!r} holds something a file "
                             f"cannot: {spec['config']!r}"[:300]) from None
        return spec
    name = name_of(metric)
    if METRICS.get(name) is not metric:
        raise ValueError(f"custom metric {name!r}")
    return name


def deserialize(spec):
    """The metric that `serialize` described: a name or a config dict.

    Args:
        spec: a name or `{"class_name": ..., "config": {...}}`.
    """
    if isinstance(spec, dict):
        return METRICS.deserialize(spec)
    return get(spec)


def values_of(metric):
    """The per-sample form of a metric function: the built-ins' own; a
    user's function as it is (it may return per-sample values, as Keras's
    do, or the batch mean).

    Args:
        metric: a metric function.
    """
    return _VALUES.get(metric, metric)


def name_of(identifier) -> str:
    """The log key of a metric: its name as given, a Metric's `name`, or the
    function's name.

    Args:
        identifier: a name, a Metric or a function.
    """
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, Metric):
        return identifier.name
    if isinstance(identifier, type):
        return snake_case(identifier.__name__)
    return getattr(identifier, "__name__", type(identifier).__name__)
