"""zen.metrics: the metric functions `compile(metrics=...)` takes by name or
as they are (the implementation lives with training, in zen/train/metrics.py).

Example:
    from zen.metrics import accuracy
    accuracy(y_true, y_pred)          # the batch's fraction classified right
"""
from .train.metrics import accuracy, get, mae, mse, name_of, values_of

__all__ = ["accuracy", "mae", "mse", "get", "name_of", "values_of"]
