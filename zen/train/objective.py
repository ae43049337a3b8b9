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

Metrics are Keras's stateful metrics (`zen.train.metrics.Metric`): a name,
class or function becomes one (`compiled_metric`), named as Keras names
them (a key taken twice gets "_1", "_2", ...; a weighted metric whose key
is taken becomes "weighted_<name>"). `RunningMetrics` holds the loss
trackers (Keras's: a `Mean` of each loss weighted by the batch size) and
the metrics of one pass over batches, and gives the logs.
"""
import copy

import numpy as np

from .. import tree
from ..autodiff import Tensor
from ..validation import is_number
from ..nn import losses
from . import metrics as zen_metrics

__all__ = ["Objective", "RunningMetrics", "as_output_list", "weights_per_output"]


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
                _check_metric(metric)  # an unknown name fails at compile time
            if not isinstance(spec, dict) and not _is_nested(spec):
                _metric_list(spec)  # and so do duplicate names
        self.names = None
        self._mirror = None

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
        plain, weighted = ([[zen_metrics.compiled_metric(m) for m in _metric_list(spec)]
                            for spec in _metrics_per_output(specs, names)]
                           for specs in (self.metric_spec, self.weighted_metric_spec))
        _distinct(plain + weighted)
        self.metric_entries = _metric_entries(names, plain, weighted)
        self.names, self._mirror = names, None
        return self

    @property
    def loss_keys(self) -> list:
        """The log keys of the losses: "loss", and each output's for several."""
        return ["loss"] + ([f"{name}_loss" for name in self.names] if self.multi_output
                           else [])

    def mirrored_entries(self) -> list:
        """`metric_entries` with a fresh copy of each metric, for validation
        during `fit` (the compiled metrics hold the epoch's training state)."""
        if self._mirror is None:
            self._mirror = [(key, output, _fresh_copy(metric), weighted)
                            for key, output, metric, weighted in self.metric_entries]
        return self._mirror

    @property
    def log_names(self) -> list:
        """The keys of a batch's logs, in order: "loss", each output's loss
        (several outputs), then the metrics (Keras's `metrics_names`)."""
        return self.loss_keys + [key for key, *_ in self.metric_entries]

    @property
    def multi_output(self) -> bool:
        return self.names is not None and len(self.names) > 1

    # ----- computing ---------------------------------------------------------------------
    def __call__(self, preds: list, targets: list, sample_weights: list = None,
                 added_losses=()):
        """(total loss as a scalar Tensor, {"loss": ..., "<output>_loss": ...})
        for lists of predictions, targets and sample weights (or None) in
        output order. `added_losses` (the model's `losses`: `add_loss`
        values and weight penalties) join the total and "loss", as in Keras."""
        sample_weights = sample_weights or [None] * len(preds)
        parts = [_scalar_loss(losses.compute(loss, target, pred, weight), name)
                 for loss, pred, target, weight, name
                 in zip(self.losses, preds, targets, sample_weights, self.names)]
        total = parts[0] if self.weights[0] == 1.0 else parts[0] * self.weights[0]
        for part, weight in zip(parts[1:], self.weights[1:]):
            total = total + (part if weight == 1.0 else part * weight)
        for loss in added_losses:
            total = total + loss.sum()
        logs = {"loss": float(total.item())}
        if self.multi_output:
            logs.update({f"{name}_loss": float(part.item())
                         for name, part in zip(self.names, parts)})
        return total, logs


class RunningMetrics:
    """The running state of one pass over batches (a training epoch, a
    validation, an evaluation): a `Mean` tracker of each loss, weighted by
    the batch size (Keras's loss tracker), and the compiled metrics, each
    with its log key. Made at the pass's start, it resets them all.

    Args:
        objective: the Objective whose losses and metrics to track (bound
            at the first batch when its output names are not known yet).
        mirrored: use `objective.mirrored_entries()` (fit's validation)
            instead of the compiled metrics themselves.

    Example:
        running = RunningMetrics(objective)
        running.update(loss_logs, targets, preds, sample_weights, batch_size)
        running.result()                        # {"loss": ..., "accuracy": ...}
    """

    def __init__(self, objective: Objective, mirrored: bool = False):
        self.objective, self.mirrored = objective, mirrored
        self.trackers, self.entries = [], None
        if objective.names is not None:
            self._bind()

    def _bind(self):
        self.trackers = [(key, zen_metrics.Mean(name=key)) for key in self.objective.loss_keys]
        self.entries = self.objective.mirrored_entries() if self.mirrored \
            else self.objective.metric_entries
        for metric in self.metrics:
            metric.reset_state()

    @property
    def metrics(self) -> list:
        """Every Metric: the loss trackers, then the compiled metrics."""
        return [tracker for _, tracker in self.trackers] + \
            [metric for _, _, metric, _ in self.entries or ()]

    @property
    def samples(self) -> float:
        """How many samples the losses have seen (the "loss" tracker's count)."""
        return float(self.trackers[0][1].count) if self.trackers else 0.0

    def update(self, loss_logs: dict, targets: list, preds: list, sample_weights: list,
               size: int, masks: list = None) -> None:
        """Add a batch to every loss tracker and metric.

        Args:
            loss_logs: {"loss": ..., "<output>_loss": ...}, means over the batch.
            targets: the targets, in output order.
            preds: the predictions as arrays, in output order.
            sample_weights: the sample weights in output order, or None.
            size: the number of samples in the batch (the losses' weight).
            masks: the predictions' masks in output order (None for an
                output without one), or None: every metric weighs the
                masked-out steps 0 (Keras's mask as sample weight).
        """
        if self.entries is None:
            self._bind()
        for key, tracker in self.trackers:
            if key in loss_logs:
                tracker.update_state(loss_logs[key], sample_weight=size)
        for _, output, metric, weighted in self.entries:
            weight = sample_weights[output] if weighted and sample_weights else None
            if masks and masks[output] is not None:
                weight = losses.apply_mask(weight, masks[output], "sum")
            metric.update_state(targets[output], preds[output], sample_weight=weight)

    def result(self, prefix: str = "") -> dict:
        """{prefix + key: value} of every loss and metric, in log order:
        Python floats (a list of them for a metric with one value per class
        or threshold).

        Args:
            prefix: put before each key (e.g. "val_"; default none).
        """
        logs = {prefix + key: tracker.result() for key, tracker in self.trackers}
        for key, _, metric, _ in self.entries or ():
            logs[prefix + key] = _log_value(metric.result())
        return logs


def _metric_entries(names, plain, weighted) -> list:
    """(History key, output index, Metric, weighted) for each metric, output
    by output, its plain metrics then its weighted ones, named as Keras names
    them: "<output>_<name>" for several outputs, a key taken already gets
    "_1", "_2", ...; a weighted metric whose key a plain one took becomes
    "weighted_<name>"."""
    prefixes = [f"{name}_" if len(names) > 1 else "" for name in names]
    taken = set()
    plain_keys = [[_free(prefix + m.name, taken) for m in metrics]
                  for prefix, metrics in zip(prefixes, plain)]
    weighted_keys = [[_free(prefix + m.name if prefix + m.name not in taken
                            else f"{prefix}weighted_{m.name}", taken) for m in metrics]
                     for prefix, metrics in zip(prefixes, weighted)]
    entries = []
    for output in range(len(names)):
        entries += [(key, output, m, False) for key, m in zip(plain_keys[output], plain[output])]
        entries += [(key, output, m, True)
                    for key, m in zip(weighted_keys[output], weighted[output])]
    return entries


def _free(key, taken) -> str:
    """`key`, or the first of key_1, key_2, ... not taken yet (then taken)."""
    found, count = key, 0
    while found in taken:
        count += 1
        found = f"{key}_{count}"
    taken.add(found)
    return found


def _distinct(metric_lists) -> None:
    """A copy of each Metric met a second time (one list given for every
    output, one object among metrics and weighted_metrics): each key has its
    own state."""
    seen = set()
    for metrics in metric_lists:
        for i, metric in enumerate(metrics):
            if id(metric) in seen:
                metrics[i] = _fresh_copy(metric)
            seen.add(id(metrics[i]))


def _fresh_copy(metric):
    """A copy of `metric` (its configuration and name) with an empty state;
    the functions it holds (a wrapper's `fn`, perhaps a model's method) are
    shared, not copied."""
    shared = {id(value): value for value in vars(metric).values()
              if callable(value) and not isinstance(value, zen_metrics.Metric)}
    twin = copy.deepcopy(metric, shared)
    twin.reset_state()
    return twin


def _log_value(value):
    """A metric's result as logs hold it: a float, or a list of floats."""
    value = np.asarray(value, dtype=np.float64)
    return float(value) if value.ndim == 0 else value.tolist()


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
    """The metrics of one output as a list. The same name or function given
    twice is a mistake (a ValueError); Metric objects of one name get keys
    made unique instead, as Keras makes them."""
    if spec is None:
        return []
    specs = [spec] if isinstance(spec, str) or callable(spec) else list(spec)
    names = [zen_metrics.name_of(m) for m in specs if not isinstance(m, zen_metrics.Metric)]
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


def _check_metric(spec):
    """A ValueError for an unknown name, a TypeError for what is no metric
    (nothing is made: a class named here is instantiated once, at resolve)."""
    if isinstance(spec, str):
        zen_metrics.METRICS.lookup(spec)
    elif not callable(spec):
        zen_metrics.get(spec)


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
