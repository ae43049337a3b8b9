"""`BackupAndRestore`: exact resume of a `fit` that was killed or interrupted.

At the end of every epoch the callback writes one file,
`<backup_dir>/backup.zen`, atomically (`zen.fileio.atomic_write`), in the
npz-plus-JSON container of `zen.fileio` (format name "zen.backup", never
pickled). It holds everything the next epoch depends on:

- the model's weights (`weight_<i>`, trainable or not);
- the optimizer's state by parameter position (`optimizer/<key>`, from
  `optimizer.state_dict(params)`, with `iterations`, so a learning-rate
  schedule continues where it was) and its current float learning rate
  (a callback such as ReduceLROnPlateau may have changed it);
- the epoch just finished, Zen's random generator state
  (`zen.rng.get_state()`: Dropout masks and shuffling continue exactly),
  the train loader's own generator state (`DataLoader.state_dict()`, when
  it was given a `seed`), and the History so far.

When `fit` starts and the file exists, all of that is restored and training
continues at the next epoch; the History returned includes the restored
epochs. A fit that completes deletes the file. The result is bitwise the
run that was never interrupted, as long as the script builds the same model,
optimizer and data in the same way (e.g. after the same `zen.set_seed`).

The Trainer runs this callback after History (so the saved History has the
epoch just finished, and the restored History is not reset) and after the
other callbacks (so a learning rate they change at an epoch's end is saved).
Other callbacks' own counters (EarlyStopping's patience, ...) are not saved,
as in Keras: they start afresh on resume.
"""
import os

import numpy as np

from .. import rng
from .. import fileio
from ..fileio import ZenFileError
from ..nn.layer import build_for_shape
from ..validation import is_int, is_number
from .callbacks import Callback

__all__ = ["BackupAndRestore", "write_backup", "read_backup", "restore_backup"]

FORMAT = "zen.backup"
FILE_NAME = "backup.zen"


class BackupAndRestore(Callback):
    """Back up the training state every epoch; resume from it after a crash.

    Args:
        backup_dir: the directory for the backup file (`backup.zen`); it is
            created when needed. Use one directory per training run.
        delete_checkpoint: delete the backup when `fit` completes (default
            True). A fit interrupted by an error, Ctrl-C or a kill never
            reaches that point, so its backup stays for the next run.

    Example:
        zen.set_seed(0)
        model = build_model(); model.compile("adam", "mse")
        # run this script again after a crash: it continues where it stopped
        model.fit(x, y, epochs=20, callbacks=[BackupAndRestore("runs/backup")])
    """

    def __init__(self, backup_dir: "str | os.PathLike", delete_checkpoint: bool = True):
        if backup_dir is None or not os.fspath(backup_dir):
            raise ValueError(f"Received an invalid value for `backup_dir`, expected a "
                             f"directory path. Received: backup_dir={backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def path(self) -> str:
        """The backup file."""
        return os.path.join(self.backup_dir, FILE_NAME)

    def on_train_begin(self, logs=None):
        self.restored_epoch = None  # the epoch the backup held, when one was restored
        if os.path.exists(self.path):
            self.restored_epoch = restore_backup(read_backup(self.path), self.trainer,
                                                 self.path)

    def on_epoch_end(self, epoch, logs=None):
        write_backup(self.path, self.trainer, epoch)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)  # only if now empty: never the user's other files
            except OSError:
                pass

    def __repr__(self):
        return (f"BackupAndRestore(backup_dir={self.backup_dir!r}, "
                f"delete_checkpoint={self.delete_checkpoint})")


# ----- writing ------------------------------------------------------------------------
def write_backup(path, trainer, epoch: int) -> None:
    """Write the training state of `trainer` after `epoch` to `path`."""
    model, optimizer = trainer.model, trainer.optimizer
    config = fileio.base_config(model, FORMAT)
    lr = optimizer.lr
    config["backup"] = {
        "epoch": int(epoch),
        "optimizer": type(optimizer).__name__,
        "lr": float(lr) if is_number(lr) else None,  # a schedule follows `iterations`
        "rng": rng.get_state(),
        "loader": _loader_state(getattr(trainer, "train_loader", None)),
        "history": _history_state(trainer.history),
    }
    arrays = fileio.weight_arrays(model)
    arrays.update(fileio.optimizer_arrays(optimizer, model))
    fileio.write_file(path, config, arrays)


def _loader_state(loader) -> dict:
    return dict(loader.state_dict()) if hasattr(loader, "state_dict") else {}


def _history_state(history) -> dict:
    def plain(value):  # numpy scalars a callback put into the logs
        return value.item() if isinstance(value, np.generic) else value
    return {"epoch": [int(e) for e in history.epoch],
            "history": {key: [plain(v) for v in values]
                        for key, values in history.history.items()}}


# ----- reading ------------------------------------------------------------------------
def read_backup(path) -> dict:
    """The backup at `path`, checked for consistency but not yet applied:
    {"epoch", "optimizer", "lr", "rng", "loader", "history", "weights",
    "optimizer_state", "input_shape"}.

    Raises FileNotFoundError for a missing file and `ZenFileError` (a
    ValueError) for anything wrong in it; it never unpickles.
    """
    path = os.fspath(path)
    config, arrays = fileio.read_file(path, (FORMAT,))
    weights = fileio.file_weights(config, arrays, path)
    backup = config.get("backup")
    if not isinstance(backup, dict):
        raise ZenFileError(f"{path!r}: the backup has no 'backup' section")
    state = fileio.optimizer_state(arrays)
    return {"epoch": _checked_int(backup.get("epoch"), "epoch", path),
            "optimizer": _checked_str(backup.get("optimizer"), "optimizer", path),
            "lr": _checked_lr(backup.get("lr"), path),
            "rng": _checked_dict(backup.get("rng"), "rng", path),
            "loader": _checked_dict(backup.get("loader"), "loader", path),
            "history": _checked_history(backup.get("history"), path),
            "weights": weights, "names": fileio.weight_names(config),
            "optimizer_state": _checked_optimizer_state(state, path),
            "input_shape": config.get("input_shape")}


def _bad(path, what):
    return ZenFileError(f"{path!r}: the backup's {what}")


def _checked_int(value, name, path):
    if not is_int(value) or value < 0:
        raise _bad(path, f"{name!r} must be a non-negative integer, not {value!r}")
    return value


def _checked_str(value, name, path):
    if not isinstance(value, str):
        raise _bad(path, f"{name!r} must be a string, not {value!r}")
    return value


def _checked_dict(value, name, path):
    if not isinstance(value, dict):
        raise _bad(path, f"{name!r} must be a JSON object, not {type(value).__name__}")
    return value


def _checked_lr(value, path):
    if value is not None and (not is_number(value, finite=True) or value < 0):
        raise _bad(path, f"learning rate must be a non-negative number or null, not {value!r}")
    return value


def _checked_history(value, path):
    value = _checked_dict(value, "history", path)
    epochs, curves = value.get("epoch"), value.get("history")
    if not isinstance(epochs, list) or not all(map(is_int, epochs)):
        raise _bad(path, "history has no list of epoch numbers")
    if not isinstance(curves, dict) or not all(
            isinstance(v, list) and len(v) <= len(epochs) for v in curves.values()):
        raise _bad(path, "history must map each log key to at most one value per epoch")
    return {"epoch": list(epochs), "history": {k: list(v) for k, v in curves.items()}}


def _checked_optimizer_state(state, path):
    iterations = state.get("iterations")
    if iterations is None or iterations.ndim != 0 or iterations.dtype.kind not in "iu" \
            or int(iterations) < 0:
        raise _bad(path, f"optimizer state has no valid 'iterations' count "
                         f"(received {iterations!r})")
    return state


# ----- restoring ----------------------------------------------------------------------
def restore_backup(backup: dict, trainer, path="the backup") -> int:
    """Put the state `read_backup` returned into `trainer` (its model,
    optimizer, History and train loader) and Zen's generator, and make the
    running fit continue after the backed-up epoch; returns that epoch.
    Everything is checked before anything changes (except that an unbuilt
    model is first built for the backup's input shape).
    """
    model, optimizer = trainer.model, trainer.optimizer
    if not getattr(model, "built", False) and backup["input_shape"]:
        state = rng.get_state()  # building draws initial weights: keep the stream as it was
        try:
            build_for_shape(model, backup["input_shape"])
        except fileio.REBUILD_ERRORS as error:
            raise _bad(path, f"input shape {backup['input_shape']!r} does not build the "
                             f"model: {error}") from None
        finally:
            rng.set_state(state)
    backup["weights"] = fileio.in_model_order(model, backup["weights"], backup["names"])
    fileio.check_weights_match(model, backup["weights"], path, ZenFileError)
    if backup["optimizer"] != type(optimizer).__name__:
        raise _bad(path, f"optimizer is {backup['optimizer']}, but this fit trains with "
                         f"{type(optimizer).__name__}")
    if (backup["lr"] is None) != (not is_number(optimizer.lr)):
        raise _bad(path, f"learning rate {backup['lr']!r} does not match this optimizer's "
                         f"lr={optimizer.lr!r} (a float with a float, null with a schedule)")
    _check_generator_state(backup["rng"], rng.get_state(), "random generator state", path)
    loader = getattr(trainer, "train_loader", None)
    _check_loader_state(backup["loader"], _loader_state(loader), path)
    try:  # the last step that can fail: it checks the whole state before changing any
        optimizer.load_state_dict(backup["optimizer_state"], model.parameters())
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        raise _bad(path, f"optimizer state does not fit the model: {error}") from None
    _apply(backup, trainer, loader)
    return backup["epoch"]


def _check_generator_state(state, live, what, path):
    """Raise ZenFileError unless `state` can be set on a generator of the live kind."""
    kind = getattr(np.random, live["bit_generator"])  # from the live generator: trusted
    try:
        kind().state = state
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        raise _bad(path, f"{what} is not valid: {type(error).__name__}: {error}") from None


def _check_loader_state(state, live, path):
    if set(state) != set(live):
        raise _bad(path, f"train loader state has entries {sorted(state)}, but this fit's "
                         f"train loader has {sorted(live)} (was its `seed` changed?)")
    if "generator" in state:
        _check_generator_state(state["generator"], live["generator"],
                               "train loader generator state", path)


def _apply(backup, trainer, loader):
    model, optimizer = trainer.model, trainer.optimizer
    for (_, tensor), value in zip(model.named_tensors(), backup["weights"]):
        tensor.value[...] = value  # in place: the optimizer's state keys (Tensor ids) stay
    if backup["lr"] is not None:
        optimizer.lr = backup["lr"]
    rng.set_state(backup["rng"])
    if backup["loader"]:
        loader.load_state_dict(backup["loader"])
    history, saved = trainer.history, backup["history"]
    history.epoch = list(saved["epoch"])
    history.history = {key: list(values) for key, values in saved["history"].items()}
    model.history = history
    trainer.initial_epoch = backup["epoch"] + 1
