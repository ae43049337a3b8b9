"""zen.constraints: Keras's weight constraints, applied after every
optimizer step (the implementation lives with the layers, in
zen/nn/constraints.py).

Example:
    zen.nn.Dense(64, kernel_constraint=zen.constraints.MaxNorm(3))
"""
from .nn.constraints import (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm, deserialize,
                             get, serialize)

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize",
           "deserialize"]
