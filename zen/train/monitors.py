"""The callbacks that watch one logged quantity (by default "val_loss") from
epoch to epoch: EarlyStopping, ModelCheckpoint and ReduceLROnPlateau.

`mode` says which direction is better: "min", "max", or "auto", which means,
as Keras's "auto": the direction of the compiled metric logged under that
name ("max" for an AUC, a precision, ...; read when training starts), else
"max" for names containing "acc" (accuracy) and "min" for everything else
(losses, errors). When the quantity is missing from
the logs (say "val_loss" without validation data) they warn, listing the
keys that are there, and do nothing that epoch.
"""
import math
import os
import warnings

import numpy as np

from ..validation import check_float, check_int, check_one_of
from .callbacks import Callback, get_lr, set_lr

__all__ = ["EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau"]


def resolve_mode(mode: str, monitor: str, trainer=None) -> str:
    """'min' or 'max' for the quantity `monitor` (with "auto": the direction
    of the metric `trainer` logs under that name, when it has one)."""
    mode = check_one_of(mode, "mode", ("auto", "min", "max"))
    if mode != "auto":
        return mode
    direction = _metric_direction(monitor.removeprefix("val_"), trainer)
    if direction is not None:
        return "max" if direction == "up" else "min"
    return "max" if "acc" in monitor else "min"


def settle_mode(callback) -> None:
    """At the first epoch's end, when every compiled metric exists (a model
    binds its metrics at its first batch), resolve "auto" again (Keras
    decides there too)."""
    if not getattr(callback, "_mode_settled", True):
        callback.mode = resolve_mode(callback._given_mode, callback.monitor, callback.trainer)
        callback._mode_settled = True


def _metric_direction(key, trainer):
    """"up" or "down" for the compiled metric logged as `key`, else None."""
    objective = getattr(trainer, "objective", None)
    for name, _, metric, _ in getattr(objective, "metric_entries", None) or ():
        if name == key:
            return getattr(metric, "_direction", None)
    return None


def monitored_value(logs, monitor: str, who: str):
    """logs[monitor] as a float, or None (with a warning) when it is missing."""
    logs = logs or {}
    if monitor not in logs:
        warnings.warn(f"{who} is conditioned on `{monitor}`, which is not available. "
                      f"Available keys are: {', '.join(sorted(logs)) or 'none'}",
                      RuntimeWarning, stacklevel=3)
        return None
    return float(logs[monitor])


def improved(current: float, best, mode: str, min_delta: float = 0.0) -> bool:
    """Whether `current` beats `best` by more than `min_delta` (NaN never does)."""
    if best is None:
        return not math.isnan(current)
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


def _copy_weights(model):
    """A copy of every weight (Sequential's get_weights, else a Layer's state_dict)."""
    if hasattr(model, "get_weights"):
        return [np.array(w, copy=True) for w in model.get_weights()]
    return model.state_dict()


def _put_weights(model, weights):
    if isinstance(weights, dict):
        model.load_state_dict(weights)
    else:
        model.set_weights(weights)


class EarlyStopping(Callback):
    """Stop training when the monitored quantity stops improving.

    An epoch improves when it beats the best value so far by more than
    `min_delta`; training stops once `patience` epochs in a row have not
    improved (patience=0 stops at the first epoch that does not improve).

    Args:
        monitor: the log key to watch (default "val_loss").
        patience: epochs without improvement before stopping (default 0).
        min_delta: the smallest change that counts as an improvement (default 0).
        mode: "auto", "min" or "max" (see the module docstring).
        restore_best_weights: at the end of training, put back the weights
            of the best epoch, whether or not training was stopped early
            (Keras 3) (default False).
        baseline: a value the quantity must beat for the patience count to
            reset (default None: none).
        verbose: print when stopping and restoring (default 0).

    Attributes after training: `stopped_epoch` (0-based, 0 if it never
    stopped), `best`, `best_epoch`.

    Example:
        stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        model.fit(x, y, epochs=100, validation_split=0.2, callbacks=[stop])
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False, baseline=None,
                 verbose: int = 0):
        self.monitor, self.patience = monitor, check_int(patience, "patience", 0)
        self.min_delta = abs(float(min_delta))
        self._given_mode = mode
        self.mode = resolve_mode(mode, monitor)
        self.restore_best_weights = bool(restore_best_weights)
        self.baseline, self.verbose = baseline, verbose

    def on_train_begin(self, logs=None):
        self.mode = resolve_mode(self._given_mode, self.monitor, self.trainer)
        self._mode_settled = False
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        settle_mode(self)
        current = monitored_value(logs, self.monitor, "Early stopping")
        if current is None:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = _copy_weights(self.model), epoch
        self.wait += 1
        if improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model)
            if self.baseline is None or improved(current, self.baseline, self.mode, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            _put_weights(self.model, self.best_weights)

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, mode={self.mode!r}, "
                f"restore_best_weights={self.restore_best_weights})")


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of epochs.

    Args:
        path: the file to write; it may hold `str.format` fields filled
            from the epoch (counted from 1) and the logs, e.g.
            "ckpt-{epoch:02d}-{val_loss:.3f}.zen".
        monitor: the log key deciding what "best" is (default "val_loss").
        save_best_only: save only when the monitored value improves on the
            best so far (default False: every epoch).
        save_weights_only: write `save_weights` files instead of whole
            models (default False).
        mode: "auto", "min" or "max".
        verbose: print a line for each save (default 0).

    Example:
        ModelCheckpoint("best.zen", monitor="val_accuracy", save_best_only=True)
    """

    main_process_only = True

    def __init__(self, path, monitor: str = "val_loss", save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", verbose: int = 0):
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self._given_mode = mode
        self.mode = resolve_mode(mode, monitor)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.mode = resolve_mode(self._given_mode, self.monitor, self.trainer)
        self._mode_settled = False
        self.best = None
        method = "save_weights" if self.save_weights_only else "save"
        if not callable(getattr(self.model, method, None)):
            raise TypeError(f"ModelCheckpoint saves through model.{method}(), which "
                            f"{type(self.model).__name__} does not have: train a zen.Model "
                            f"(subclass zen.Model rather than zen.nn.Layer)")

    def on_epoch_end(self, epoch, logs=None):
        settle_mode(self)
        logs = logs or {}
        if self.save_best_only:
            current = monitored_value(logs, self.monitor, "ModelCheckpoint (save_best_only)")
            if current is None or not improved(current, self.best, self.mode):
                return
            self.best = current
        self._save(self.path.format(epoch=epoch + 1, **logs), epoch)

    def _save(self, path, epoch):
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path, trainer=self.trainer)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")

    def __repr__(self):
        return (f"ModelCheckpoint(path={self.path!r}, monitor={self.monitor!r}, "
                f"save_best_only={self.save_best_only}, "
                f"save_weights_only={self.save_weights_only})")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when the monitored quantity has
    not improved for `patience` epochs (Keras's rule, cooldown included).

    Args:
        monitor: the log key to watch (default "val_loss").
        factor: the multiplier, in (0, 1) (default 0.1).
        patience: epochs without improvement before reducing (default 10).
        min_delta: the smallest change that counts as an improvement (default 1e-4).
        cooldown: epochs to wait after a reduction before counting again (default 0).
        min_lr: the rate never goes below this (default 0.0).
        mode: "auto", "min" or "max".
        verbose: print each reduction (default 0).

    The epoch logs gain "learning_rate" (the rate used in that epoch).

    Example:
        ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5)
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 mode: str = "auto", verbose: int = 0):
        factor = check_float(factor, "factor", 0, 1, low_open=True, high_open=True)
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.min_delta, self.cooldown = abs(float(min_delta)), cooldown
        self.min_lr, self.verbose = float(min_lr), verbose
        self._given_mode = mode
        self.mode = resolve_mode(mode, monitor)

    def on_train_begin(self, logs=None):
        self.mode = resolve_mode(self._given_mode, self.monitor, self.trainer)
        self._mode_settled = False
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        settle_mode(self)
        lr = get_lr(self.optimizer)
        if logs is not None:
            logs["learning_rate"] = lr
        current = monitored_value(logs, self.monitor, "Learning-rate reduction")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if improved(current, self.best, self.mode, self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                set_lr(self.optimizer, new_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                          f"to {new_lr}.")
                self.cooldown_counter, self.wait = self.cooldown, 0

    def __repr__(self):
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, min_delta={self.min_delta}, "
                f"cooldown={self.cooldown}, min_lr={self.min_lr})")
