"""Losses by name: the registries `LOSSES` (Keras's names and class names
-> Loss classes) and `FUNCTIONS` (the per-sample functions), `get` (a loss
from a name, class, instance, dict or callable) and `serialize`.
"""
from ...registry import Registry
from .base import Loss
from .crossentropy import (BinaryCrossentropy, CategoricalCrossentropy, KLDivergence,
                           SparseCategoricalCrossentropy, binary_crossentropy,
                           categorical_crossentropy, kl_divergence,
                           sparse_categorical_crossentropy)
from .focal import (BinaryFocalCrossentropy, CategoricalFocalCrossentropy,
                    binary_focal_crossentropy, categorical_focal_crossentropy)
from .hinges import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from .regression import (MAE, MSE, CosineSimilarity, Huber, LogCosh,
                         MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Poisson,
                         cosine_similarity, huber, log_cosh, mean_absolute_error,
                         mean_absolute_percentage_error, mean_squared_error,
                         mean_squared_logarithmic_error, poisson)


LOSSES = Registry("loss")  # Keras's names and class names -> Loss classes
"""Loss classes by Keras's names and by class name, for `get`, `serialize` and `deserialize`."""
for _cls in (MSE, MAE, Huber, BinaryCrossentropy, CategoricalCrossentropy,
             SparseCategoricalCrossentropy, BinaryFocalCrossentropy,
             CategoricalFocalCrossentropy, KLDivergence, Poisson, CosineSimilarity, LogCosh,
             Hinge, SquaredHinge, CategoricalHinge, MeanAbsolutePercentageError,
             MeanSquaredLogarithmicError):
    LOSSES.add(_cls, _cls.name, _cls.__name__)
LOSSES.add(MSE, "mean_squared_error", "MeanSquaredError")
LOSSES.add(MAE, "mean_absolute_error", "MeanAbsoluteError")
LOSSES.add(BinaryCrossentropy, "bce", "BCE")
LOSSES.add(KLDivergence, "kld", "KLD")
LOSSES.add(MeanAbsolutePercentageError, "mape", "MAPE")
LOSSES.add(MeanSquaredLogarithmicError, "msle", "MSLE")

FUNCTIONS = Registry("loss function")
"""The loss functions by their names (Keras's), for `serialize`."""
for _fn in (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
            mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity,
            binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
            categorical_focal_crossentropy, sparse_categorical_crossentropy, kl_divergence,
            poisson, hinge, squared_hinge, categorical_hinge):
    FUNCTIONS.add(_fn)


def get(identifier):
    """A loss from its name ("mse", "categorical_crossentropy", ...), its class,
    an instance, a `serialize` dict, or any callable `(y_true, y_pred) -> Tensor`
    (returned as is).

    Example:
        loss = get("sparse_categorical_crossentropy")
        loss = get({"class_name": "Huber", "config": {"delta": 2.0}})
    """
    if isinstance(identifier, str):
        return LOSSES.lookup(identifier)()
    if isinstance(identifier, dict):
        return LOSSES.deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Unknown loss {identifier!r}; expected a name such as 'mse', a "
                     f"Loss class or instance, or a callable (y_true, y_pred) -> Tensor")


def serialize(loss):
    """{"class_name": ..., "config": ...} for a Loss, or the name of one of
    Zen's loss functions (e.g. "poisson"); `get` turns either back into the
    loss (a function's name gives the loss class of that name).

    Args:
        loss: a Zen Loss, or one of the loss functions of zen.nn.losses.
    """
    name = getattr(loss, "__name__", None)
    if not isinstance(loss, Loss) and FUNCTIONS.get(name) is loss:
        return name
    return LOSSES.serialize(loss)
