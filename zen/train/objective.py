"""`Objective`: what training minimises and reports, for models with one
output or several.

A model with one output has one loss and its metrics, logged as "loss",
"accuracy", ... A model with several outputs (a functional model with a
list or dict of outputs) has a loss per output, combined as the weighted
sum `loss = sum(loss_weight_i * loss_i)`, and logs, as Keras does:
"loss" (the weighted total), "<output>_loss" and "<output>_<metric>".

`loss`, `loss_weights`, `metrics` and `weighted_metrics` each come as one
value (applied to every output), a list in output order, or a dict by
output name. For metrics, "one value" is one metric or a flat list of
metrics; a list with a list (or None) per output, or a dict, is per output.

Sample weights (one array for every output, or one per output) weigh the
losses as Keras does (sum(weight * loss) / batch size) and the
`weighted_metrics` (sum(weight * value) / sum(weight)); plain `metrics`
ignore them.
"""
import numpy as np

from .. import tree
from ..autodiff import Tensor
from ..validation import is_number
from ..nn import losses
from . import metrics as zen_metrics

__all__ = ["Objective", "as_output_list", "weights_per_output"]


class Objective:
    """The compiled losses, loss weights and metrics of a model.

    Args:
        loss: a loss (name, class, instance or callable), a list of them in
            output order, or a dict {output name: loss}.
        metrics: None, a metric or a flat list of metrics (every output), a
            list of lists in output order, or a dict {output name: metrics}.
        loss_weights: None (all 1), a number (every output), a list or a
            dict {output name: weight}.

    `resolve(names)` fixes the output names (a functional model knows them
    at compile time; other models at their first batch); until then only
    the structure of the arguments is checked.

    Example:
        objective = Objective({"digit": "sparse_categorical_crossentropy",
                               "parity": "binary_crossentropy"},
                              metrics={"digit": ["accuracy"]},
                              loss_weights={"digit": 1.0, "parity": 0.5})
        objective.resolve(["digit", "parity"])
        total, logs = objective(preds, targets)
    """

    def __init__(self, loss, metrics=None, loss_weights=None, weighted_metrics=None):
        self.loss_spec, self.metric_spec, self.weight_spec = loss, metrics, loss_weights
        self.weighted_metric_spec = weighted_metrics
        _check_structure(loss, "loss")
        _check_structure(loss_weights, "loss_weights")
        if not isinstance(loss, (list, tuple, dict)):
            self.single_loss = losses.get(loss)  # an unknown name fails at compile time
        for spec in (metrics, weighted_metrics):
            for metric in _metric_leaves(spec):
                zen_metrics.get(metric)  # an unknown name fails at compile time
            if not isinstance(spec, dict) and not _is_nested(spec):
                _metric_list(spec)  # and so do duplicate names
        self.names = None

    # ----- the output names --------------------------------------------------------------
    def resolve(self, names) -> "Objective":
        """Bind every loss, weight and metric to an output; a list of the
        wrong length or a dict with unknown or missing names is a ValueError."""
        names = list(names)
        if self.names == names:
            return self
        self.losses = [losses.get(spec) for spec in _per_output(self.loss_spec, names, "loss")]
        weights = _per_output(1.0 if self.weight_spec is None else self.weight_spec,
                              names, "loss_weights", default=1.0)
        self.weights = [_check_weight(w, name) for w, name in zip(weights, names)]
        self.metric_specs = [_metric_list(spec) for spec in _metrics_per_output(
            self.metric_spec, names)]
        self.metric_fns = [{zen_metrics.name_of(m): zen_metrics.get(m) for m in specs}
                           for specs in self.metric_specs]
        weighted = [_metric_list(spec) for spec in _metrics_per_output(
            self.weighted_metric_spec, names)]
        self.metric_entries = _metric_entries(names, self.metric_fns, weighted)
        self.names = names
        return self

    @property
    def log_names(self) -> list:
        """The keys of a batch's logs, in order: "loss", each output's loss
        (several outputs), then the metrics (Keras's `metrics_names`)."""
        names = ["loss"] + ([f"{name}_loss" for name in self.names] if self.multi_output
                            else [])
        return names + [key for key, *_ in self.metric_entries]

    @property
    def multi_output(self) -> bool:
        return self.names is not None and len(self.names) > 1

    # ----- computing ---------------------------------------------------------------------
    def __call__(self, preds: list, targets: list, sample_weights: list = None):
        """(total loss as a scalar Tensor, {"loss": ..., "<output>_loss": ...})
        for lists of predictions, targets and sample weights (or None) in
        output order."""
        sample_weights = sample_weights or [None] * len(preds)
        parts = [_scalar_loss(losses.compute(loss, target, pred, weight), name)
                 for loss, pred, target, weight, name
                 in zip(self.losses, preds, targets, sample_weights, self.names)]
        total = parts[0] if self.weights[0] == 1.0 else parts[0] * self.weights[0]
        for part, weight in zip(parts[1:], self.weights[1:]):
            total = total + (part if weight == 1.0 else part * weight)
        logs = {"loss": float(total.item())}
        if self.multi_output:
            logs.update({f"{name}_loss": float(part.item())
                         for name, part in zip(self.names, parts)})
        return total, logs

    def metric_sums(self, targets: list, preds: list, sample_weights: list = None) -> dict:
        """{History key: (sum of values, their weight)} of each metric on a
        batch of arrays: the batch's value is sum / weight, and an epoch's
        the sum of sums over the sum of weights."""
        sums = {}
        for key, output, fn, weighted in self.metric_entries:
            weight = sample_weights[output] if weighted and sample_weights else None
            sums[key] = _weighted_sum(fn(targets[output], preds[output]), weight,
                                      len(preds[output]))
        return sums


def _metric_entries(names, metric_fns, weighted_specs) -> list:
    """(History key, output index, per-sample function, weighted) for each
    metric, output by output, its plain metrics then its weighted ones,
    named as Keras names them: "<output>_<metric>" for several outputs, and
    a weighted metric whose name is taken "weighted_<metric>"."""
    multi = len(names) > 1
    taken = {f"{name}_{key}" if multi else key
             for name, fns in zip(names, metric_fns) for key in fns}
    entries = []
    for i, (name, fns, specs) in enumerate(zip(names, metric_fns, weighted_specs)):
        prefix = f"{name}_" if multi else ""
        entries += [(prefix + key, i, zen_metrics.values_of(fn), False)
                    for key, fn in fns.items()]
        for spec in specs:
            key = zen_metrics.name_of(spec)
            full = prefix + key if prefix + key not in taken else f"{prefix}weighted_{key}"
            taken.add(full)
            entries.append((full, i, zen_metrics.values_of(zen_metrics.get(spec)), True))
    return entries


def _weighted_sum(values, sample_weight, batch):
    """(sum, weight) of a metric's values on a batch: per-sample values
    summed (weighted), or a batch mean counted as `batch` samples."""
    values = np.asarray(getattr(values, "value", values), dtype=np.float64)
    if values.ndim == 0:
        weight = batch if sample_weight is None else float(np.sum(sample_weight))
        return float(values) * weight, weight
    if sample_weight is None:
        return float(values.sum()), values.size
    weights = np.broadcast_to(losses.aligned_weights(sample_weight, values.shape, np.float64),
                              values.shape)
    return float((values * weights).sum()), float(weights.sum())


def weights_per_output(sample_weight, names) -> list:
    """Sample weights as a list in output order (None entries for none): one
    array serves every output (Keras); else a list or a dict by output name."""
    if sample_weight is None:
        return None
    if tree.holds_one_per_name(sample_weight, names):
        return tree.as_list(sample_weight, names, "sample weights")
    return [sample_weight] * len(names)


def as_output_list(structure, names, what):
    """A prediction or target structure (one array, a list, a dict by output
    name) as a list in output order; the wrong count or unknown names are a
    ValueError naming them."""
    return tree.as_list(structure, names, f"The {what}", "outputs")


# ----- checks -------------------------------------------------------------------------------
def _check_structure(spec, what):
    if isinstance(spec, (list, tuple)) and not spec:
        raise ValueError(f"Received an invalid value for `{what}`: an empty list")
    if isinstance(spec, dict) and not spec:
        raise ValueError(f"Received an invalid value for `{what}`: an empty dict")


def _per_output(spec, names, what, default=None):
    """One entry per output from a single value, a list or a dict (where an
    output left out gets `default`; `loss` must name every output)."""
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ValueError(f"Received `{what}` for unknown outputs {unknown}; the model's "
                             f"outputs are {names}")
        missing = [name for name in names if name not in spec]
        if missing and what == "loss":
            raise ValueError(f"`loss` has no entry for the outputs {missing}; give a loss "
                             f"for each of {names}")
        return [spec.get(name, default) for name in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != len(names):
            raise ValueError(f"`{what}` is a list of {len(spec)}, but the model has "
                             f"{len(names)} output(s) {names}")
        return list(spec)
    return [spec] * len(names)


def _metrics_per_output(spec, names):
    if spec is None:
        return [[] for _ in names]
    if isinstance(spec, dict):
        return _per_output(spec, names, "metrics")
    if _is_nested(spec):
        return _per_output(spec, names, "metrics")
    return [spec] * len(names)


def _is_nested(spec):
    """Whether a metrics list holds a list (or None) per output."""
    return isinstance(spec, (list, tuple)) and any(
        isinstance(item, (list, tuple)) or item is None for item in spec)


def _metric_list(spec):
    if spec is None:
        return []
    specs = [spec] if isinstance(spec, str) or callable(spec) else list(spec)
    names = [zen_metrics.name_of(m) for m in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"Received duplicate metric names: {names}")
    return specs


def _metric_leaves(spec):
    if spec is None:
        return []
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, str) or callable(spec):
        return [spec]
    leaves = []
    for item in spec:
        leaves.extend(_metric_leaves(item))
    return leaves


def _check_weight(weight, name):
    if not is_number(weight, finite=True):
        raise ValueError(f"Received an invalid value for `loss_weights` of output {name!r}, "
                         f"expected a number. Received: {weight!r}")
    return float(weight)


def _scalar_loss(loss, name):
    if not isinstance(loss, Tensor) or loss.size != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"The loss of output {name!r} must return a scalar Tensor. "
                         f"Received: {shape}")
    return loss
