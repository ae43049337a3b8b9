"""Losses as metrics: the mean of one of zen.nn.losses' per-sample functions
over everything seen. Keras's probabilistic metrics (`BinaryCrossentropy`,
`CategoricalCrossentropy`, `SparseCategoricalCrossentropy`, `KLDivergence`,
`Poisson`) and hinge metrics (`Hinge`, `SquaredHinge`, `CategoricalHinge`).
"""
import numpy as np

from ...autodiff import no_grad
from ...nn import losses
from ...validation import check_bool, check_float, check_int
from .arrays import _numbers
from .functions import _loss_values
from .reduction import Mean, _KerasWrapper, _LossMetric


class BinaryCrossentropy(_KerasWrapper):
    """The mean binary cross-entropy over everything seen (Keras's metric
    `BinaryCrossentropy`; zen.nn.losses.binary_crossentropy per sample).

    Args:
        name: the metric's name (default "binary_crossentropy").
        dtype: Keras's dtype (default None: "float32").
        from_logits: whether y_pred holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    _config = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)
        super().__init__(_loss_values(losses.binary_crossentropy), name=name, dtype=dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing)


class CategoricalCrossentropy(_KerasWrapper):
    """The mean categorical cross-entropy (one-hot targets) over everything
    seen (Keras's metric `CategoricalCrossentropy`).

    Args:
        name: the metric's name (default "categorical_crossentropy").
        dtype: Keras's dtype (default None: "float32").
        from_logits: whether y_pred holds logits (default False).
        label_smoothing: in [0, 1] (default 0).
        axis: the class axis (default -1).
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    _config = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        self.from_logits = check_bool(from_logits, "from_logits")
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)
        self.axis = check_int(axis, "axis")
        super().__init__(_loss_values(losses.categorical_crossentropy), name=name, dtype=dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                         axis=self.axis)


class SparseCategoricalCrossentropy(Mean):
    """The mean cross-entropy of integer labels over everything seen (Keras's
    metric `SparseCategoricalCrossentropy`).

    Args:
        name: the metric's name (default "sparse_categorical_crossentropy").
        dtype: Keras's dtype (default None: "float32").
        from_logits: whether y_pred holds logits (default False).
        ignore_class: a label whose samples are left out (default None).
        axis: the class axis of y_pred (default -1).
    """

    _direction = "down"  # better when lower (Keras's, for monitors)

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = check_bool(from_logits, "from_logits")
        self.ignore_class = None if ignore_class is None else check_int(ignore_class,
                                                                         "ignore_class")
        self.axis = check_int(axis, "axis")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the batch's cross-entropies (ignored labels weigh 0).

        Args:
            y_true: integer labels, y_pred's shape without the class axis (or with it as 1).
            y_pred: probabilities or logits.
            sample_weight: a weight per sample, or None.
        """
        y_pred = np.moveaxis(_numbers(y_pred, "y_pred"), self.axis, -1)
        labels = _numbers(y_true, "y_true")
        if self.ignore_class is not None:
            kept = labels != self.ignore_class
            labels = np.where(kept, labels, 0)
            mask = kept[..., 0] if kept.ndim == y_pred.ndim else kept
            sample_weight = mask if sample_weight is None else \
                mask * losses.aligned_weights(sample_weight, mask.shape, np.float64)
        with no_grad():
            values = losses.sparse_categorical_crossentropy(labels, y_pred, self.from_logits)
        super().update_state(values.value, sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class KLDivergence(_LossMetric):
    """The mean Kullback-Leibler divergence, sum(y_true * log(y_true / y_pred)),
    over everything seen (Keras's metric `KLDivergence`).

    Args:
        name: the metric's name (default "kl_divergence").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.kl_divergence), "kl_divergence"


class Poisson(_LossMetric):
    """The mean Poisson loss, y_pred - y_true * log(y_pred), over everything
    seen (Keras's metric `Poisson`).

    Args:
        name: the metric's name (default "poisson").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.poisson), "poisson"


class Hinge(_LossMetric):
    """The mean hinge loss, max(1 - y_true * y_pred, 0), over everything
    seen (Keras's metric `Hinge`).

    Args:
        name: the metric's name (default "hinge").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.hinge), "hinge"


class SquaredHinge(_LossMetric):
    """The mean squared hinge loss, max(1 - y_true * y_pred, 0)^2, over
    everything seen (Keras's metric `SquaredHinge`).

    Args:
        name: the metric's name (default "squared_hinge").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.squared_hinge), "squared_hinge"


class CategoricalHinge(_LossMetric):
    """The mean categorical hinge loss over everything seen (Keras's metric
    `CategoricalHinge`).

    Args:
        name: the metric's name (default "categorical_hinge").
        dtype: Keras's dtype (default None: "float32").
    """

    loss, default_name = staticmethod(losses.categorical_hinge), "categorical_hinge"
