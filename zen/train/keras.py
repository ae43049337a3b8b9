"""Keras's model API on arrays: `compile`, `fit`, `train_on_batch`,
`evaluate` and `predict`, each taking the model first.

`Sequential`'s methods of the same names are thin calls into these. The
work is done by a `Trainer` that `compile` attaches to the model
(`model._trainer`); these functions check the arrays, turn them into
DataLoaders and hand over. The checks happen once, up front, so that a
bad input fails with a message about `x` or `y` rather than deep inside
a layer:
- `x` and `y` must be numeric (strings and objects are a TypeError), non
  empty and of the same length;
- a built model checks the number of axes and the feature size of `x`;
  `x_val` must have the sample shape of `x`;
- `fit`, `evaluate` and `train_on_batch` refuse NaN and Inf in float
  inputs and targets (a ValueError with their count): one NaN would make
  every later loss and weight NaN. `predict` lets them through, row by row;
- float64 and integer inputs (uint8 images) are cast once to the model's
  dtype (float32), not batch by batch; a model starting with an Embedding
  keeps integer inputs.
"""
import math
from numbers import Real

import numpy as np

from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE
from ..data import ArrayDataset, DataLoader
from ..nn import Embedding
from .trainer import Trainer, predict_batches

__all__ = ["compile", "fit", "train_on_batch", "evaluate", "predict"]


def compile(model, optimizer, loss, metrics=None) -> None:
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

    Example:
        compile(model, "adam", "sparse_categorical_crossentropy", ["accuracy"])
    """
    trainer = Trainer(model, loss, optimizer, metrics)
    model._trainer = trainer
    model.optimizer, model.loss = trainer.optimizer, trainer.loss  # as Keras exposes them


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
        validation_data=None, shuffle: bool = True, callbacks=None, verbose=1,
        initial_epoch: int = 0):
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
    x, y = _arrays(model, x, y, "x", "y")
    if validation_data is not None:
        (x, y), validation = (x, y), _validation_data(model, validation_data, x)
    else:
        (x, y), validation = _split(x, y, validation_split)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"Received an invalid value for `shuffle`, expected True or False. "
                         f"Received: shuffle={shuffle!r}")
    loader = DataLoader(ArrayDataset(x, y), _batch_size(batch_size), shuffle=bool(shuffle))
    val_loader = None
    if validation is not None:
        val_loader = DataLoader(ArrayDataset(*validation), _batch_size(batch_size))
    return trainer.fit(loader, epochs=epochs, val_loader=val_loader, verbose=verbose,
                       initial_epoch=initial_epoch, callbacks=callbacks)


def train_on_batch(model, x, y, return_dict: bool = False):
    """One optimisation step on one batch, in training mode.

    Returns (as Keras does): the loss as a float when the model has no
    metrics, otherwise the list `[loss, metric_1, ...]` in compile order;
    with `return_dict=True`, always the dict `{"loss": ..., metric: ...}`.

    Example:
        loss = train_on_batch(model, x[:32], y[:32])
    """
    trainer = _trainer_of(model, "train_on_batch")
    x, y = _arrays(model, x, y, "x", "y")
    loss, pred = trainer.train_step(x, y)
    logs = trainer._batch_logs(loss, y, pred)
    if return_dict:
        return logs
    return loss if len(logs) == 1 else list(logs.values())


def evaluate(model, x, y, batch_size: int = 32, verbose=0) -> dict:
    """The loss and metrics on `x`, `y` as means over the samples, computed
    in inference mode (Dropout off) without a graph; the model's previous
    mode is restored.

    Example:
        evaluate(model, x_test, y_test)      # {"loss": 0.08, "accuracy": 0.976}
    """
    trainer = _trainer_of(model, "evaluate")
    x, y = _arrays(model, x, y, "x", "y")
    loader = DataLoader(ArrayDataset(x, y), _batch_size(batch_size))
    return trainer.evaluate(loader, verbose=verbose)


def predict(model, x, batch_size: int = 32, verbose=0) -> np.ndarray:
    """The model's outputs for `x` as one ndarray, computed batch by batch in
    inference mode without a graph (no compile needed).

    Example:
        probabilities = predict(model, x_test)     # (n, classes)
    """
    x = _inputs(model, x, "x")
    loader = DataLoader(ArrayDataset(x), _batch_size(batch_size))
    return predict_batches(model, loader, verbose)


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


def _numeric(value, name):
    """`value` as a non-empty numeric ndarray with a batch axis."""
    try:
        array = value.value if isinstance(value, Tensor) else np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(f"Received an invalid value for `{name}`, expected a numeric "
                         f"array of one shape. Received a {type(value).__name__} numpy "
                         f"cannot turn into one: {error}") from None
    if array.dtype.kind not in "biuf":
        got = f"dtype {array.dtype}" if isinstance(value, (np.ndarray, Tensor)) \
            else f"{type(value).__name__} (dtype {array.dtype} as an array)"
        raise TypeError(f"Received an invalid value for `{name}`, expected a numeric "
                        f"array. Received: {name} of {got}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"Received an invalid value for `{name}`, expected a non-empty "
                         f"array with the samples along the first axis. Received: "
                         f"{name}.shape={array.shape}")
    return array


def _model_dtype(model):
    params = model.parameters() if getattr(model, "built", False) else []
    return params[0].dtype if params else DEFAULT_DTYPE


def _first_layer(model):
    layers = getattr(model, "layers", None)
    return layers[0] if layers else None


def _inputs(model, x, name, finite=False):
    """The model inputs, checked against a built model and cast once (and,
    with `finite`, checked for NaN and Inf)."""
    x = _numeric(x, name)
    takes_indices = isinstance(_first_layer(model), Embedding)
    was_float = x.dtype.kind == "f"
    if was_float or not takes_indices:
        with np.errstate(over="ignore"):  # an overflow to Inf is reported just below
            x = x.astype(_model_dtype(model), copy=False)
    if finite and was_float:  # after the cast, which may overflow to Inf
        _check_finite(x, name)
    expected = getattr(model, "input_shape", None) if getattr(model, "built", False) else None
    if expected and not takes_indices:
        if x.ndim != len(expected) or (expected[-1] is not None and x.shape[-1] != expected[-1]):
            raise ValueError(f"Input `{name}` has shape {x.shape}, but the model was built "
                             f"for inputs of shape {tuple(expected)} (batch axis first)")
    return x


def _targets(model, y, name):
    y = _numeric(y, name)
    if y.dtype.kind == "f":  # labels stay integers; float targets take the model dtype
        with np.errstate(over="ignore"):
            y = y.astype(_model_dtype(model), copy=False)
        _check_finite(y, name)
    return y


def _check_finite(array, name, chunk=1 << 20):
    """ValueError naming the counts when the float `array` holds NaN or Inf.
    Checked in chunks of about `chunk` values: the temporary stays small."""
    rows = max(1, chunk // max(1, array[0].size))
    if all(np.isfinite(array[i:i + rows]).all() for i in range(0, len(array), rows)):
        return
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    first = int(np.argmin(np.isfinite(array).reshape(len(array), -1).all(axis=1)))
    raise ValueError(f"Received an invalid value for `{name}`, expected finite numbers. "
                     f"Received: {name} with {nan} NaN and {inf} infinite values (of "
                     f"{array.size}; the first in sample {first}). Remove or impute them: "
                     f"a single NaN turns the loss and then every weight into NaN.")


def _arrays(model, x, y, x_name, y_name):
    x, y = _inputs(model, x, x_name, finite=True), _targets(model, y, y_name)
    if len(x) != len(y):
        raise ValueError(f"`{x_name}` and `{y_name}` must have the same number of samples. "
                         f"Received: {x_name}.shape={x.shape}, {y_name}.shape={y.shape}")
    return x, y


def _validation_data(model, data, x):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"a sequence of {len(data)} items" if isinstance(data, (tuple, list)) \
            else type(data).__name__
        raise ValueError(f"Received an invalid value for `validation_data`, expected a "
                         f"tuple (x_val, y_val). Received: {got}")
    x_val, y_val = _arrays(model, data[0], data[1], "x_val", "y_val")
    if x_val.shape[1:] != x.shape[1:]:  # an unbuilt model would fail only after an epoch
        raise ValueError(f"`x_val` must have the sample shape of `x`, {x.shape[1:]}. "
                         f"Received: x_val.shape={x_val.shape}, x.shape={x.shape}")
    return x_val, y_val


def _split(x, y, validation_split):
    """((x_train, y_train), (x_val, y_val) or None): the LAST fraction is
    held out, before any shuffling (Keras's rule)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, Real) \
            or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"Received an invalid value for `validation_split`, expected a "
                         f"number in [0, 1). Received: validation_split={validation_split!r}")
    if validation_split == 0:
        return (x, y), None
    split_at = int(math.floor(len(x) * (1.0 - validation_split)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(f"The data has {len(x)} samples, which is not enough to split it "
                         f"into a training and a validation set with "
                         f"validation_split={validation_split}: one side would be empty. "
                         f"Provide more data or another `validation_split`.")
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def _batch_size(batch_size):
    return 32 if batch_size is None else batch_size  # Keras's default for None
