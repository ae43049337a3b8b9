"""Keras's model API: `compile`, `fit`, `evaluate`, `predict` and the
`*_on_batch` calls, each taking the model first.

`Model`'s methods of the same names are thin calls into these. The work is
done by a `Trainer` that `compile` attaches to the model (`model._trainer`);
these functions turn what the user gives into batches (`zen.models.sources`:
arrays, a Dataset, a DataLoader, a PyDataset or a generator) and hand over.

`x` is one array, a list of arrays in the model's input order, or a dict by
input name; `y` and `sample_weight` likewise by output (see
`Model.input_names` and `output_names`). Dicts are put in order here, once,
so the Trainer sees a list (or, for one input or output, the array itself);
a model that does not name its inputs or outputs (a subclassed model) gets
a dict as it is. Arrays are checked first, once (`zen.models.arrays`).
Results come back in Keras's forms (`keras_result`).
"""
from .. import tree
from ..data import DataLoader
from ..train.trainer import Trainer, predict_batches
from ..validation import check_bool
from .arrays import (checked_arrays, checked_weights, input_names, labels_of, model_inputs,
                     same_length, split_off_validation, validation_arrays)
from .sources import (ModelData, check_source_arguments, class_weights_for, kind_of,
                      source_batches)

__all__ = ["compile", "fit", "train_on_batch", "test_on_batch", "predict_on_batch",
           "evaluate", "predict", "keras_result"]


def compile(model, optimizer, loss, metrics=None, loss_weights=None,
            weighted_metrics=None) -> None:
    """Configure `model` for training.

    Args:
        model: the model (e.g. a Sequential).
        optimizer: an Optimizer, or a name: "sgd", "adam", "adamw",
            "rmsprop", "adagrad" (default settings).
        loss: a Loss instance or class, a name ("mse",
            "sparse_categorical_crossentropy", ...), or a function
            `loss(y_true, y_pred)` returning per-sample losses (or their mean).
        metrics: Keras's stateful metrics (`zen.metrics.AUC()`,
            `Precision(thresholds=0.7)`, a `zen.metrics.Metric` of your
            own), their names ("accuracy"/"acc", "mae", "mse", "auc",
            "precision", ...) or functions `metric(y_true, y_pred)`; logged
            under the name given (a Metric under its `name`, a function
            under its __name__), each epoch's value computed on all its
            samples.
        loss_weights: for several outputs, the weight of each output's loss
            in the total (a number, a list or a dict by output name).
        weighted_metrics: metrics weighted by the sample weights given to
            `fit`/`evaluate` (plain `metrics` ignore them); a name a plain
            metric took is logged as "weighted_<name>".

    With several outputs, `loss` and `metrics` may also be a list in output
    order or a dict by output name (see `zen.train.objective`).

    Example:
        compile(model, "adam", "sparse_categorical_crossentropy", ["accuracy"])
        compile(model, "adam", "binary_crossentropy", [zen.metrics.AUC(), "precision"])
    """
    if loss is None:
        raise ValueError("compile needs a loss, e.g. model.compile('adam', 'mse')")
    trainer = Trainer(model, loss, optimizer, metrics, loss_weights=loss_weights,
                      weighted_metrics=weighted_metrics)
    model._trainer = trainer
    model.optimizer, model.loss = trainer.optimizer, trainer.loss  # as Keras exposes them


def fit(model, x=None, y=None, batch_size=None, epochs: int = 1, verbose=1, callbacks=None,
        validation_split: float = 0.0, validation_data=None, shuffle: bool = True,
        class_weight=None, sample_weight=None, initial_epoch: int = 0, steps_per_epoch=None,
        validation_steps=None, validation_batch_size=None, validation_freq=1,
        distribute=None):
    """Train `model`; returns a History. The arguments are Keras's.

    Args:
        x, y: inputs and targets as arrays; or `x` alone as a Dataset,
            DataLoader, PyDataset or generator yielding `(x, y)` or
            `(x, y, sample_weight)` batches (see `zen.models.sources`).
        batch_size: samples per gradient step for arrays and Datasets
            (default 32); a ValueError with sources that batch themselves.
        epochs: train until this epoch (default 1).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        callbacks: a list of Callbacks.
        validation_split: the fraction of the arrays, taken from the END
            before any shuffling (as Keras does), held out for validation;
            in [0, 1), and it must leave samples on both sides.
        validation_data: `(x_val, y_val)`, `(x_val, y_val, val_weights)` or
            a source as for `x`; used instead of validation_split.
        shuffle: reshuffle the training samples (or a PyDataset's batches)
            every epoch (default True), drawing from Zen's generator.
        class_weight: {class index: weight}, each sample weighted by its
            class (one output).
        sample_weight: one weight per sample (or per timestep), or one array
            per output; the loss becomes sum(weight * loss) / batch size.
        initial_epoch: the epoch to start at (to resume a run).
        steps_per_epoch: batches per epoch (default: all of them).
        validation_steps: validation batches per validation (default all).
        validation_batch_size: the validation batch size (default batch_size).
        validation_freq: validate every this many epochs, or after the listed
            epochs (counted from 1).
        distribute: train on several processes, e.g.
            `zen.distributed.DataParallel()` (default None: this one only);
            `batch_size` is then per process.

    Raises:
        TypeError: `x` or `y` (or the validation data) is not numeric.
        ValueError: they are empty, of different lengths, do not fit the
            built model's input shape, or hold NaN or Inf (float arrays are
            checked once per call, before training; the message gives the
            counts); arguments a source cannot take (see above).

    Example:
        history = fit(model, x, y, epochs=10, validation_split=0.2)
    """
    trainer = _trainer_of(model, "fit")
    shuffle = check_bool(shuffle, "shuffle")
    kind = kind_of(x)
    check_source_arguments(kind, y, sample_weight, batch_size, validation_split)
    if kind != "arrays":
        loader = source_batches(x, kind, batch_size, shuffle, class_weight)
        val_loader = _validation_loader(model, validation_data, None,
                                        validation_batch_size or batch_size)
    else:
        train, validation = _training_arrays(model, x, y, sample_weight, class_weight,
                                             validation_split, validation_data)
        loader = _array_batches(train, batch_size, shuffle)
        val_loader = _validation_loader(model, validation_data, validation,
                                        validation_batch_size or batch_size,
                                        train.arrays[:train.counts[0]])
    return trainer.fit(loader, epochs=epochs, val_loader=val_loader, verbose=verbose,
                       initial_epoch=initial_epoch, callbacks=callbacks,
                       distribute=distribute, steps_per_epoch=steps_per_epoch,
                       validation_steps=validation_steps, validation_freq=validation_freq)


def _array_batches(data, batch_size, shuffle=False) -> DataLoader:
    """The batches of in-memory arrays (a ModelData), each gathered by one
    fancy index on the calling thread: handing it over from a prefetch
    thread cost more than it saved (an MNIST MLP's epoch in `fit` took
    1.16x the bare loop's time with the thread, 1.085x without)."""
    return DataLoader(data, _batch_size(batch_size), shuffle=shuffle, prefetch=0)


def _checked(model, x, y, sample_weight, class_weight, what):
    """(dict keys, inputs, targets, sample weights) of arrays, each a list in
    the model's order, checked once (`zen.models.arrays`)."""
    if y is None:
        raise ValueError(f"`{what}` needs targets: pass `y`, or give `x` as a source that "
                         f"yields (x, y) batches")
    keys = _dict_keys(model, x, y)
    xs, ys = checked_arrays(model, x, y, "x", "y")
    weights = checked_weights(model, sample_weight, len(xs[0]))
    if class_weight is not None:
        by_class = class_weights_for(ys[0] if len(ys) == 1 else ys, class_weight)
        weights = [by_class if not weights else weights[0] * by_class]
    return keys, xs, ys, weights


def _training_arrays(model, x, y, sample_weight, class_weight, split, validation_data):
    """(training ModelData, validation ModelData or None) from arrays."""
    keys, xs, ys, weights = _checked(model, x, y, sample_weight, class_weight, "fit")
    if validation_data is not None:
        return ModelData(xs, ys, weights, keys), None
    (xs, rest), held_out = split_off_validation(xs, ys + weights, split)
    train = ModelData(xs, rest[:len(ys)], rest[len(ys):], keys)
    if held_out is None:
        return train, None
    val_xs, val_rest = held_out
    return train, ModelData(val_xs, val_rest[:len(ys)], val_rest[len(ys):], keys)


def _validation_loader(model, validation_data, held_out, batch_size, xs=None):
    """The validation batches: held out by validation_split, or from
    `validation_data` (arrays `(x, y[, sample_weight])` or a source)."""
    if held_out is not None:
        return _array_batches(held_out, batch_size)
    if validation_data is None:
        return None
    kind = kind_of(validation_data)
    if kind != "arrays":
        return source_batches(validation_data, kind, batch_size)
    x_vals, y_vals, weights = validation_arrays(model, validation_data, xs)
    keys = _dict_keys(model, validation_data[0], validation_data[1])
    return _array_batches(ModelData(x_vals, y_vals, weights, keys), batch_size)


def evaluate(model, x=None, y=None, batch_size=None, verbose=0, sample_weight=None,
             steps=None, return_dict: bool = False):
    """The loss and metrics on `x`, `y` (arrays, or a source as for `fit`):
    the loss as the mean over the samples, each metric's result on all of
    them (reset first), computed in inference mode without a graph.

    Returns (as Keras does): the loss as a float when the model has no
    metrics, else the list `[loss, *metrics]` in `model.metrics_names`
    order; with `return_dict=True` the dict {name: value}.

    Example:
        loss, accuracy = evaluate(model, x_test, y_test)
    """
    trainer = _trainer_of(model, "evaluate")
    kind = kind_of(x)
    check_source_arguments(kind, y, sample_weight, batch_size)
    if kind != "arrays":
        loader = source_batches(x, kind, batch_size)
    else:
        keys, xs, ys, weights = _checked(model, x, y, sample_weight, None, "evaluate")
        loader = _array_batches(ModelData(xs, ys, weights, keys), batch_size)
    return keras_result(trainer, trainer.evaluate(loader, verbose=verbose, steps=steps),
                        return_dict)


def predict(model, x, batch_size=None, verbose=0, steps=None):
    """The model's outputs for `x` (arrays, or a source as for `fit`, whose
    batches may hold `x` alone) as one ndarray (a list or dict of them for
    several outputs), computed batch by batch in inference mode without a
    graph (no compile needed).

    Example:
        probabilities = predict(model, x_test)     # (n, classes)
    """
    kind = kind_of(x)
    check_source_arguments(kind, batch_size=batch_size)
    if kind != "arrays":
        return predict_batches(model, source_batches(x, kind, batch_size), verbose, steps)
    keys = _dict_keys(model, x, None)
    xs, labels = model_inputs(model, x, "x"), labels_of(model, x, "x")
    same_length(xs, labels)
    loader = _array_batches(ModelData(xs, keys=keys), batch_size)
    return predict_batches(model, loader, verbose, steps)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None,
                   return_dict: bool = False):
    """One optimisation step on one batch, in training mode; returns its loss
    and metrics in Keras's form (see `evaluate`).

    Example:
        loss = train_on_batch(model, x[:32], y[:32])
    """
    trainer = _trainer_of(model, "train_on_batch")
    x, y, weights = _one_batch(model, x, y, sample_weight, class_weight, "train_on_batch")
    losses, preds, masks = trainer._train_batch(x, y, weights)
    return keras_result(trainer, trainer._batch_logs(losses, y, preds, weights, masks),
                        return_dict)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict: bool = False):
    """The loss and metrics of one batch in inference mode (Keras's form)."""
    trainer = _trainer_of(model, "test_on_batch")
    x, y, weights = _one_batch(model, x, y, sample_weight, None, "test_on_batch")
    batch = (x, y) if weights is None else (x, y, weights)
    return keras_result(trainer, trainer.evaluate([batch]), return_dict)


def predict_on_batch(model, x):
    """The model's outputs for one batch, in inference mode, as arrays."""
    keys = _dict_keys(model, x, None)
    xs = model_inputs(model, x, "x")
    same_length(xs, labels_of(model, x, "x"))
    return predict_batches(model, [(tree.pack(xs, keys[0]),)])


def keras_result(trainer, logs: dict, return_dict: bool):
    """Keras's return forms: the dict with `return_dict`; else the values in
    `metrics_names` order, a float alone when there is only the loss."""
    if check_bool(return_dict, "return_dict"):
        return logs
    names = [name for name in trainer.objective.log_names if name in logs]
    values = [logs[name] for name in names] + [logs[key] for key in logs if key not in names]
    return values[0] if len(values) == 1 else values


def _one_batch(model, x, y, sample_weight, class_weight, what):
    """(x, y, sample weights) of one batch of arrays, checked and ordered."""
    (x_keys, y_keys), xs, ys, weights = _checked(model, x, y, sample_weight, class_weight,
                                                 what)
    packed = tree.pack(weights, y_keys if len(weights) > 1 else None) if weights else None
    return tree.pack(xs, x_keys), tree.pack(ys, y_keys), packed


def _dict_keys(model, x, y) -> tuple:
    """(x's keys, y's keys): the keys of `x` (`y`) where it is a dict that
    the model takes as it is, because it does not name its inputs (outputs):
    a subclassed model whose `call` reads a dict. None otherwise."""
    x_keys = list(x) if isinstance(x, dict) and not input_names(model) else None
    y_keys = list(y) if isinstance(y, dict) and not getattr(model, "output_names", None) \
        else None
    return x_keys, y_keys


# ----- checks -----------------------------------------------------------------------
def _trainer_of(model, what):
    trainer = getattr(model, "_trainer", None)
    if trainer is None:
        raise ValueError(f"You must call `compile(optimizer, loss)` on the model before "
                         f"`{what}`, e.g. model.compile('adam', 'mse').")
    # Keras lets users swap model.optimizer / model.loss after compile.
    trainer.optimizer = getattr(model, "optimizer", trainer.optimizer)
    trainer.loss = getattr(model, "loss", trainer.loss)
    return trainer


def _batch_size(batch_size):
    return 32 if batch_size is None else batch_size  # Keras's default for None
