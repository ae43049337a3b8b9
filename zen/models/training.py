"""Keras's model API on arrays: `compile`, `fit`, `train_on_batch`,
`evaluate` and `predict`, each taking the model first.

`Model`'s methods of the same names are thin calls into these. The work is
done by a `Trainer` that `compile` attaches to the model (`model._trainer`);
these functions check the arrays, turn them into DataLoaders and hand over.

`x` is one array, a list of arrays in the model's input order, or a dict by
input name; `y` likewise by output (see `Model.input_names` and
`output_names`). Dicts are put in order here, once, so the Trainer sees a
list (or, for one input or output, the array itself); a model that does not
name its inputs or outputs (a subclassed model) gets a dict as it is.
The arrays are checked first, once (`zen.models.arrays`).
"""
import numpy as np

from ..data import ArrayDataset, DataLoader
from ..train.trainer import Trainer, predict_batches
from .arrays import (checked_arrays, input_names, labels_of, model_inputs, same_length,
                     split_off_validation, validation_arrays)

__all__ = ["compile", "fit", "train_on_batch", "evaluate", "predict"]


def compile(model, optimizer, loss, metrics=None, loss_weights=None) -> None:
    """Configure `model` for training.

    Args:
        model: the model (e.g. a Sequential).
        optimizer: an Optimizer, or a name: "sgd", "adam", "adamw",
            "rmsprop", "adagrad" (default settings).
        loss: a Loss instance or class, a name ("mse",
            "sparse_categorical_crossentropy", ...), or a callable
            `loss(pred, target) -> scalar Tensor`.
        metrics: names ("accuracy"/"acc", "mae", "mse") or callables
            `metric(y_true, y_pred) -> float`; logged under the name given
            (a callable under its __name__).
        loss_weights: for several outputs, the weight of each output's loss
            in the total (a number, a list or a dict by output name).

    With several outputs, `loss` and `metrics` may also be a list in output
    order or a dict by output name (see `zen.train.objective`).

    Example:
        compile(model, "adam", "sparse_categorical_crossentropy", ["accuracy"])
    """
    if loss is None:
        raise ValueError("compile needs a loss, e.g. model.compile('adam', 'mse')")
    trainer = Trainer(model, loss, optimizer, metrics, loss_weights=loss_weights)
    model._trainer = trainer
    model.optimizer, model.loss = trainer.optimizer, trainer.loss  # as Keras exposes them


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
        validation_data=None, shuffle: bool = True, callbacks=None, verbose=1,
        initial_epoch: int = 0, distribute=None):
    """Train `model` on arrays; returns a History.

    Args:
        x, y: inputs (batch, ...) and targets of the same length.
        epochs: train until this epoch (default 1).
        batch_size: samples per gradient step (default 32).
        validation_split: the fraction of the data, taken from the END of
            `x` and `y` before any shuffling (as Keras does), held out for
            validation; in [0, 1), and it must leave samples on both sides.
        validation_data: `(x_val, y_val)`, used instead of validation_split.
        shuffle: reshuffle the training samples every epoch (default True),
            drawing from Zen's generator, so `zen.set_seed` repeats a run.
        callbacks: a list of Callbacks.
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        initial_epoch: the epoch to start at (to resume a run).
        distribute: train on several processes, e.g.
            `zen.distributed.DataParallel()` (default None: this one only);
            `batch_size` is then per process.

    Raises:
        TypeError: `x` or `y` (or the validation data) is not numeric.
        ValueError: they are empty, of different lengths, do not fit the
            built model's input shape, or hold NaN or Inf (float arrays
            are checked with `np.isfinite` once per call, before training;
            the message gives the counts).

    Example:
        history = fit(model, x, y, epochs=10, validation_split=0.2)
    """
    trainer = _trainer_of(model, "fit")
    keys = _dict_keys(model, x, y)
    x, y = checked_arrays(model, x, y, "x", "y")
    if validation_data is not None:
        (x, y), validation = (x, y), validation_arrays(model, validation_data, x)
        val_keys = _dict_keys(model, *validation_data)
    else:
        (x, y), validation = split_off_validation(x, y, validation_split)
        val_keys = keys
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"Received an invalid value for `shuffle`, expected True or False. "
                         f"Received: shuffle={shuffle!r}")
    loader = DataLoader(ModelData(x, y, keys), _batch_size(batch_size), shuffle=bool(shuffle))
    val_loader = None
    if validation is not None:
        val_loader = DataLoader(ModelData(*validation, val_keys), _batch_size(batch_size))
    return trainer.fit(loader, epochs=epochs, val_loader=val_loader, verbose=verbose,
                       initial_epoch=initial_epoch, callbacks=callbacks,
                       distribute=distribute)


def train_on_batch(model, x, y, return_dict: bool = False):
    """One optimisation step on one batch, in training mode.

    Returns (as Keras does): the loss as a float when the model has no
    metrics, otherwise the list `[loss, metric_1, ...]` in compile order;
    with `return_dict=True`, always the dict `{"loss": ..., metric: ...}`.

    Example:
        loss = train_on_batch(model, x[:32], y[:32])
    """
    trainer = _trainer_of(model, "train_on_batch")
    x_keys, y_keys = _dict_keys(model, x, y)
    x, y = checked_arrays(model, x, y, "x", "y")
    x, y = _packed(x, x_keys), _packed(y, y_keys)
    losses, preds = trainer.train_step(x, y)
    logs = trainer._batch_logs(losses, y, preds)
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())


def evaluate(model, x, y, batch_size: int = 32, verbose=0) -> dict:
    """The loss and metrics on `x`, `y` as means over the samples, computed
    in inference mode (Dropout off) without a graph; the model's previous
    mode is restored.

    Example:
        evaluate(model, x_test, y_test)      # {"loss": 0.08, "accuracy": 0.976}
    """
    trainer = _trainer_of(model, "evaluate")
    keys = _dict_keys(model, x, y)
    x, y = checked_arrays(model, x, y, "x", "y")
    loader = DataLoader(ModelData(x, y, keys), _batch_size(batch_size))
    return trainer.evaluate(loader, verbose=verbose)


def predict(model, x, batch_size: int = 32, verbose=0):
    """The model's outputs for `x` as one ndarray (a list or dict of them
    for several outputs), computed batch by batch in inference mode without
    a graph (no compile needed).

    Example:
        probabilities = predict(model, x_test)     # (n, classes)
    """
    keys = _dict_keys(model, x, None)
    x, labels = model_inputs(model, x, "x"), labels_of(model, x, "x")
    same_length(x, labels)
    loader = DataLoader(ModelData(x, keys=keys), _batch_size(batch_size))
    return predict_batches(model, loader, verbose)


class ModelData(ArrayDataset):
    """Input arrays and (optionally) target arrays, each a list in the
    model's order; a batch is `(x, y)` (or `(x,)`), each the array itself
    for one input or output, else a list of arrays, or a dict where `keys`
    (x's keys, y's keys; see `_dict_keys`) says so."""

    def __init__(self, xs: list, ys: list = None, keys=(None, None)):
        super().__init__(*xs, *(ys or []))
        self.num_inputs, self.keys = len(xs), keys

    def get_batch(self, indices) -> tuple:
        arrays = super().get_batch(indices)
        x, y = arrays[:self.num_inputs], arrays[self.num_inputs:]
        x_keys, y_keys = self.keys
        return (_packed(x, x_keys), _packed(y, y_keys)) if y else (_packed(x, x_keys),)


def _packed(arrays, keys=None):
    arrays = list(arrays)
    if keys is not None:
        return dict(zip(keys, arrays))
    return arrays[0] if len(arrays) == 1 else arrays


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
