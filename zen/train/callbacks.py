"""Callbacks: objects whose hooks the Trainer calls at fixed points of `fit`.

The hook points, in the order `fit` reaches them (Keras's):

    on_train_begin(logs)
      on_epoch_begin(epoch, logs)
        on_train_batch_begin(batch, logs)   (by default calls on_batch_begin)
        on_train_batch_end(batch, logs)     (by default calls on_batch_end)
      on_epoch_end(epoch, logs)
    on_train_end(logs)

`logs` is a plain dict: after a batch it holds the running means of the loss
and metrics over the epoch so far; after an epoch the epoch means and their
"val_" versions. A callback stops training by setting
`self.model.stop_training = True` (training stops after the current batch).
Every callback resets its state in `on_train_begin`, so one instance can
serve several `fit` calls.

This file holds the base class and the callbacks that need no monitored
value; the monitoring ones (EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau) live in `monitors.py`.
"""
import csv
import inspect
import io
import math
import numbers
import os
import warnings

from ..fileio import atomic_write
from ..validation import is_number

__all__ = ["Callback", "LambdaCallback", "TerminateOnNaN", "CSVLogger",
           "LearningRateScheduler", "get_lr", "set_lr"]


class Callback:
    """Base class: every hook is a no-op; override the ones you need.

    Attributes set by the Trainer before `on_train_begin`: `model`,
    `trainer` (which holds the optimizer, loss and metrics) and `params`
    (`{"epochs", "steps", "verbose", "initial_epoch"}`).

    `main_process_only` (a class attribute, default False): a callback that
    writes files or prints for the whole job sets it, and a fit over several
    processes runs it on the main process only (see `zen.train.strategy`);
    elsewhere `self.trainer.is_main_process` answers the same question.

    Example:
        class PrintLoss(Callback):
            def on_epoch_end(self, epoch, logs=None):
                print(epoch, logs["loss"])
    """

    model = None
    trainer = None
    params: dict = {}
    main_process_only = False

    def set_model(self, model) -> None:
        """Attach the model being trained (`self.model`)."""
        self.model = model

    def set_trainer(self, trainer) -> None:
        """Attach the Trainer running `fit` (`self.trainer`) and its model."""
        self.trainer = trainer
        self.set_model(trainer.model)

    def set_params(self, params: dict) -> None:
        """Attach `fit`'s parameters (`self.params`)."""
        self.params = params

    @property
    def optimizer(self):
        """The optimizer being trained with (the trainer's, else the model's)."""
        if self.trainer is not None:
            return self.trainer.optimizer
        return getattr(self.model, "optimizer", None)

    def on_train_begin(self, logs=None):
        """Called once when `fit` starts, before the first epoch."""

    def on_train_end(self, logs=None):
        """Called once when `fit` ends, after the last epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each epoch; `epoch` counts from 0 (or `initial_epoch`)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each epoch and its validation, with the epoch's means in `logs`."""

    def on_batch_begin(self, batch, logs=None):
        """Called before each training batch (`batch`: its index in the epoch)."""

    def on_batch_end(self, batch, logs=None):
        """Called after each training batch, with the epoch's running means in `logs`."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before each training batch; by default calls `on_batch_begin`."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after each training batch; by default calls `on_batch_end`."""
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        """Called before the validation of an epoch in `fit`."""

    def on_test_end(self, logs=None):
        """Called after the validation of an epoch in `fit`, with its means."""

    def on_test_batch_begin(self, batch, logs=None):
        """Called before each validation batch in `fit`."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after each validation batch in `fit`, with the running means."""

    def __repr__(self):
        return f"{type(self).__name__}()"


def get_lr(optimizer) -> float:
    """The optimizer's learning rate as a float (its `lr` must be a number,
    not a schedule: a callback cannot both follow and change a schedule)."""
    lr = getattr(optimizer, "lr", None)
    if is_number(lr):
        return float(lr)
    raise TypeError(f"This callback needs an optimizer whose `lr` is a number. "
                    f"Received: {type(optimizer).__name__} with lr={lr!r}")


def set_lr(optimizer, lr: float) -> None:
    get_lr(optimizer)  # same check: never overwrite a schedule
    optimizer.lr = float(lr)


# ----- callbacks that watch the batches --------------------------------------------
class LambdaCallback(Callback):
    """A callback from plain functions, for one-off hooks (Keras's arguments).

    Args:
        on_epoch_begin: `f(epoch, logs)`.
        on_epoch_end: `f(epoch, logs)`.
        on_train_begin: `f(logs)`.
        on_train_end: `f(logs)`.
        on_train_batch_begin: `f(batch, logs)`.
        on_train_batch_end: `f(batch, logs)`.
        **hooks: any other hook of `Callback` by its name, e.g.
            `on_batch_end=f` or `on_test_end=f`.

    Example:
        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **hooks):
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **hooks)
        for hook, function in given.items():
            if not (hook.startswith("on_") and callable(getattr(Callback, hook, None))):
                raise TypeError(f"LambdaCallback got an unexpected keyword argument {hook!r}: "
                                f"not a hook of zen.callbacks.Callback")
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"Received an invalid value for `{hook}`, expected a "
                                f"callable or None. Received: {hook}={function!r}")
            setattr(self, hook, function)  # the instance attribute shadows the no-op

    def __repr__(self):
        hooks = [hook for hook in vars(self) if hook.startswith("on_")]
        return f"LambdaCallback({', '.join(hooks)})"


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss becomes NaN or infinite.

    It warns (RuntimeWarning) naming the epoch and batch; the batch that
    produced the bad loss has already updated the weights, as in Keras.

    Example:
        model.fit(x, y, callbacks=[TerminateOnNaN()])
    """

    def on_train_begin(self, logs=None):
        self.stopped_at = None  # (epoch, batch), both counted from 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.stopped_at = (self._epoch, batch)
            warnings.warn(f"TerminateOnNaN: invalid loss {loss} at batch {batch} of epoch "
                          f"{self._epoch + 1}, terminating training", RuntimeWarning,
                          stacklevel=2)
            self.model.stop_training = True


# ----- callbacks that act on epochs ------------------------------------------------------
class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file: `epoch` then the log
    keys in sorted order (fixed by the first epoch; a missing value is "NA").

    Each epoch rewrites the whole file atomically, so a crash leaves the
    file as it was after the last completed epoch, never a half row.

    Args:
        path: the CSV file.
        separator: the column separator (default ",").
        append: keep the rows of an existing file (default False: start anew).

    Example:
        model.fit(x, y, validation_split=0.2, callbacks=[CSVLogger("log.csv")])
    """

    main_process_only = True

    def __init__(self, path, separator: str = ",", append: bool = False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append

    def on_train_begin(self, logs=None):
        self.keys = None
        self._text = ""
        if self.append and os.path.exists(self.path):
            with open(self.path, newline="") as f:
                self._text = f.read()
            if self._text and not self._text.endswith("\n"):
                self._text += "\n"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.separator, lineterminator="\n")
        if self.keys is None:
            self.keys = sorted(logs)
            if not self._text:  # a new file gets a header; an appended one has it
                writer.writerow(["epoch"] + self.keys)
        writer.writerow([epoch] + [_csv_value(logs.get(key, "NA")) for key in self.keys])
        self._text += buffer.getvalue()
        with atomic_write(self.path, "w") as f:
            f.write(self._text)

    def __repr__(self):
        return f"CSVLogger(path={self.path!r}, append={self.append})"


def _csv_value(value):
    # repr of a Python float is its shortest exact form; numpy scalars become floats.
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        return repr(float(value))
    return value


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch.

    Args:
        schedule: `schedule(epoch, lr) -> new lr` (Keras's signature, epoch
            counted from 0, lr the current rate) or `schedule(epoch) -> lr`.
        verbose: print the new rate each epoch (default 0).

    The epoch logs gain "learning_rate" (the rate used in that epoch).

    Example:
        LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch >= 2 else lr)
    """

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError(f"Received an invalid value for `schedule`, expected a callable "
                            f"schedule(epoch, lr) or schedule(epoch). Received: {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _positional_count(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        lr = get_lr(self.optimizer)
        new = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        if not is_number(new, finite=True):
            raise ValueError(f"The output of the `schedule` function should be a finite "
                             f"float. Received: {new!r} at epoch {epoch}")
        set_lr(self.optimizer, new)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_lr(self.optimizer)

    def __repr__(self):
        return f"LearningRateScheduler(schedule={self.schedule!r})"


def _positional_count(function) -> int:
    """How many positional arguments `function` accepts (2 for *args)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return 2
    kinds = [p.kind for p in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return 2
    return sum(kind in (inspect.Parameter.POSITIONAL_ONLY,
                        inspect.Parameter.POSITIONAL_OR_KEYWORD) for kind in kinds)
