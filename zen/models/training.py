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

The checks happen once, up front, so that a bad input fails with a message
about `x` or `y` rather than deep inside a layer:
- `x` and `y` must be numeric (strings and objects are a TypeError), non
  empty and all of the same length (the message names them);
- a built model checks the number of axes and the feature size of `x`;
  `x_val` must have the sample shape of `x`;
- `fit`, `evaluate` and `train_on_batch` refuse NaN and Inf in float
  inputs and targets (a ValueError with their count): one NaN would make
  every later loss and weight NaN. `predict` lets them through, row by row;
- float64 and integer inputs (uint8 images) are cast once to the model's
  dtype (float32), not batch by batch; integer inputs stay integers where
  an Input says so or the model holds an Embedding.
"""
import math
from numbers import Real

import numpy as np

from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE
from ..data import ArrayDataset, DataLoader
from ..nn import Embedding
from ..train.trainer import Trainer, predict_batches

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
    x, y = _arrays(model, x, y, "x", "y")
    if validation_data is not None:
        (x, y), validation = (x, y), _validation_data(model, validation_data, x)
        val_keys = _dict_keys(model, *validation_data)
    else:
        (x, y), validation = _split(x, y, validation_split)
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
    x, y = _arrays(model, x, y, "x", "y")
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
    x, y = _arrays(model, x, y, "x", "y")
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
    x, labels = _inputs(model, x, "x"), _labels(model, x, "x")
    _same_length(x, labels)
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
    x_keys = list(x) if isinstance(x, dict) and not _input_names(model) else None
    y_keys = list(y) if isinstance(y, dict) and not getattr(model, "output_names", None) \
        else None
    return x_keys, y_keys


def _input_names(model):
    return model.input_names if getattr(model, "inputs", None) else None


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


def _as_list(model, data, name, names):
    """`data` (one array, a list of arrays, a dict by name) as a list of
    (label, value) in the model's order; `names` are the model's input or
    output names (None where the model does not declare them)."""
    if isinstance(data, dict):
        if not names:  # the model takes the dict as it is (see `_dict_keys`)
            return [(f"{name}[{key!r}]", value) for key, value in data.items()]
        unknown = sorted(set(data) - set(names))
        missing = [n for n in names if n not in data]
        if unknown or missing:
            raise ValueError(f"`{name}` has unknown keys {unknown} and is missing {missing}; "
                             f"the model's names are {names}")
        return [(f"{name}[{n!r}]", data[n]) for n in names]
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(item, (np.ndarray, Tensor)) for item in data):
        if names and len(names) != len(data):
            raise ValueError(f"`{name}` is a list of {len(data)} arrays, but the model has "
                             f"{len(names)}: {names}")
        if len(data) == 1:
            return [(name, data[0])]
        return [(f"{name}[{i}]", item) for i, item in enumerate(data)]
    if names and len(names) > 1:
        raise ValueError(f"The model has {len(names)} {'inputs' if name.startswith('x') else 'outputs'} "
                         f"{names}: `{name}` must be a list of {len(names)} arrays or a dict "
                         f"by name")
    return [(name, data)]


def _keeps_integers(model, position):
    """Whether integer inputs at `position` stay integers: the Input says so,
    or (another kind of model) an Embedding reads them."""
    inputs = model.inputs if hasattr(model, "inputs") else None
    if inputs:
        return inputs[position].dtype.kind in "iu"
    return any(isinstance(layer, Embedding) for layer in model.all_layers())


def _inputs(model, x, name, finite=False) -> list:
    """The model inputs as a list in input order, each checked (against the
    Input it feeds, or a built model's input shape) and cast once (and,
    with `finite`, checked for NaN and Inf)."""
    names = _input_names(model)
    arrays = []
    for position, (label, value) in enumerate(_as_list(model, x, name, names)):
        array = _numeric(value, label)
        was_float = array.dtype.kind == "f"
        if was_float or not _keeps_integers(model, position):
            with np.errstate(over="ignore"):  # an overflow to Inf is reported just below
                array = array.astype(_model_dtype(model), copy=False)
        if finite and was_float:  # after the cast, which may overflow to Inf
            _check_finite(array, label)
        _check_sample_shape(model, position, array, label)
        arrays.append(array)
    return arrays


def _check_sample_shape(model, position, array, label):
    inputs = getattr(model, "inputs", None)
    if inputs:
        expected = inputs[position].shape
    elif getattr(model, "built", False) and isinstance(model.input_shape, tuple) \
            and not any(isinstance(layer, Embedding) for layer in model.all_layers()):
        expected = model.input_shape
    else:
        return
    if array.ndim != len(expected) or any(
            e is not None and n != e for n, e in zip(array.shape[1:], expected[1:])):
        raise ValueError(f"Input `{label}` has shape {array.shape}, but the model expects "
                         f"inputs of shape {tuple(expected)} (batch axis first)")


def _targets(model, y, name) -> list:
    names = getattr(model, "output_names", None)
    arrays = []
    for label, value in _as_list(model, y, name, names):
        array = _numeric(value, label)
        if array.dtype.kind == "f":  # labels stay integers; float targets take the model dtype
            with np.errstate(over="ignore"):
                array = array.astype(_model_dtype(model), copy=False)
            _check_finite(array, label)
        arrays.append(array)
    return arrays


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
    """(inputs, targets): lists of checked arrays, all of one length."""
    xs, ys = _inputs(model, x, x_name, finite=True), _targets(model, y, y_name)
    _same_length(xs + ys, _labels(model, x, x_name) + _labels(model, y, y_name))
    return xs, ys


def _labels(model, data, name):
    """The label of each array of `data` ("x", "x[1]", "x['image']"), in the
    order `_inputs` and `_targets` put the arrays."""
    names = _input_names(model) if name.startswith("x") else getattr(model, "output_names", None)
    return [label for label, _ in _as_list(model, data, name, names)]


def _same_length(arrays, labels=None):
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        labels = labels if labels and len(labels) == len(arrays) else \
            [f"array {i}" for i in range(len(arrays))]
        if len(labels) == 2 and labels == ["x", "y"]:
            raise ValueError(f"`x` and `y` must have the same number of samples. Received: "
                             f"x.shape={arrays[0].shape}, y.shape={arrays[1].shape}")
        sizes = ", ".join(f"{label}: {n}" for label, n in zip(labels, lengths))
        raise ValueError(f"All input and target arrays must have the same number of "
                         f"samples. Received: {sizes}")


def _validation_data(model, data, xs):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"a sequence of {len(data)} items" if isinstance(data, (tuple, list)) \
            else type(data).__name__
        raise ValueError(f"Received an invalid value for `validation_data`, expected a "
                         f"tuple (x_val, y_val). Received: {got}")
    x_vals, y_vals = _arrays(model, data[0], data[1], "x_val", "y_val")
    for x_val, x in zip(x_vals, xs):
        if x_val.shape[1:] != x.shape[1:]:  # an unbuilt model would fail only after an epoch
            raise ValueError(f"`x_val` must have the sample shape of `x`, {x.shape[1:]}. "
                             f"Received: x_val.shape={x_val.shape}, x.shape={x.shape}")
    if len(x_vals) != len(xs):
        raise ValueError(f"`x_val` has {len(x_vals)} arrays, `x` has {len(xs)}")
    return x_vals, y_vals


def _split(xs, ys, validation_split):
    """((x_train, y_train), (x_val, y_val) or None), each a list of arrays:
    the LAST fraction is held out, before any shuffling (Keras's rule)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, Real) \
            or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"Received an invalid value for `validation_split`, expected a "
                         f"number in [0, 1). Received: validation_split={validation_split!r}")
    if validation_split == 0:
        return (xs, ys), None
    n = len(xs[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"The data has {n} samples, which is not enough to split it "
                         f"into a training and a validation set with "
                         f"validation_split={validation_split}: one side would be empty. "
                         f"Provide more data or another `validation_split`.")
    return (([a[:split_at] for a in xs], [a[:split_at] for a in ys]),
            ([a[split_at:] for a in xs], [a[split_at:] for a in ys]))


def _batch_size(batch_size):
    return 32 if batch_size is None else batch_size  # Keras's default for None
