"""zen.regularizers: Keras's weight penalties (the implementation lives with
the layers, in zen/nn/regularizers.py).

Example:
    zen.nn.Dense(64, kernel_regularizer=zen.regularizers.L2(1e-4))
"""
from .nn.regularizers import (L1, L1L2, L2, OrthogonalRegularizer, Regularizer, deserialize,
                              get, serialize)

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "serialize",
           "deserialize"]
