"""Weight regularizers (Keras's `keras.regularizers`): penalties on a
weight, added to the training loss.

A regularizer is a callable `Tensor -> scalar Tensor` computed from the
weight itself, so its gradient reaches the weight. Layers take them as
`kernel_regularizer=`, `bias_regularizer=`, `activity_regularizer=` (on the
layer's output, divided by the batch size as Keras 3 does), and
`Layer.add_weight(regularizer=...)`; `model.losses` lists the penalties and
`fit` adds them to the loss it reports and minimises.

Example:
    Dense(64, kernel_regularizer=L2(1e-4))
    Dense(64, kernel_regularizer="l1")         # L1(0.01)
"""
import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..registry import Registry
from ..validation import check_float

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "serialize",
           "deserialize", "REGULARIZERS"]


class Regularizer:
    """Base class: `__call__(weight)` returns the penalty, a scalar Tensor;
    `get_config()` the constructor's arguments.

    Example:
        class SumOfSquares(Regularizer):
            def __call__(self, x):
                return 0.5 * (x * x).sum()
    """

    def __call__(self, x):
        return _zero(x)

    def get_config(self) -> dict:
        """The constructor's arguments, to rebuild the regularizer."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        """A new regularizer from `get_config()`'s dict."""
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class L1(Regularizer):
    """`l1 * sum(|x|)`.

    Args:
        l1: the factor (default 0.01).
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = check_float(l1, "l1", 0)

    def __call__(self, x):
        return self.l1 * ad.abs(x).sum()

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x ** 2)` (no factor 1/2, as in Keras).

    Args:
        l2: the factor (default 0.01).
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = check_float(l2, "l2", 0)

    def __call__(self, x):
        return self.l2 * (x * x).sum()

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x ** 2)`.

    Args:
        l1: the L1 factor (default 0.0).
        l2: the L2 factor (default 0.0).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = check_float(l1, "l1", 0)
        self.l2 = check_float(l2, "l2", 0)

    def __call__(self, x):
        terms = ([self.l1 * ad.abs(x).sum()] if self.l1 else []) + \
                ([self.l2 * (x * x).sum()] if self.l2 else [])
        return sum(terms[1:], terms[0]) if terms else _zero(x)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight towards orthogonality:
    `factor * mean |<u_i, u_j>|` over the pairs i < j of unit-normalised rows
    (`mode="rows"`) or columns (`mode="columns"`), Keras's formula.

    Args:
        factor: the factor (default 0.01).
        mode: "rows" (default) or "columns".
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = check_float(factor, "factor", 0)
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of '
                             f'{{"rows", "columns"}}. Received: mode={mode!r}')
        self.mode = mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. "
                             f"Received: inputs.shape={x.shape}")
        vectors = x if self.mode == "rows" else ad.transpose(x)
        norms = ad.maximum((vectors * vectors).sum(axis=1, keepdims=True).sqrt(), 1e-7)
        unit = vectors / norms
        size = unit.shape[0]
        off_diagonal = (unit @ ad.transpose(unit)) * (1.0 - np.eye(size, dtype=x.dtype))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * ad.abs(off_diagonal).sum() / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def _zero(x):
    """A penalty of zero in x's dtype."""
    return Tensor(np.zeros((), x.dtype), trainable=False)


REGULARIZERS = Registry("regularizer")
"""Regularizer classes by class name and Keras's snake_case names."""
for _cls, _names in ((L1, ("l1",)), (L2, ("l2",)), (L1L2, ("l1_l2", "l1l2")),
                     (OrthogonalRegularizer, ("orthogonal_regularizer",))):
    REGULARIZERS.add(_cls, _cls.__name__, *_names)


def get(identifier):
    """A regularizer from None (none), a name ("l2": `L2()` with its default
    factor), a class, a `serialize` dict, or a callable (kept as it is)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return REGULARIZERS.lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret regularizer identifier, expected None, a name, a "
                    f"Regularizer or a callable. Received: {identifier!r}")


def serialize(regularizer):
    """`{"class_name", "config"}` for one of Zen's regularizers (None stays None)."""
    return None if regularizer is None else REGULARIZERS.serialize(regularizer)


def deserialize(spec: dict):
    """The regularizer a `serialize` dict describes."""
    return REGULARIZERS.deserialize(spec)
