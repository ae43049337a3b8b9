"""BackupAndRestore in one process: what is saved, when it is restored and
deleted, and the clear errors when a backup does not fit the run."""
import os
import re

import numpy as np
import pytest

import zen
from zen import rng
from zen.callbacks import (BackupAndRestore, EarlyStopping, LambdaCallback,
                           ReduceLROnPlateau)
from zen.data import ArrayDataset, DataLoader
from zen.fileio import ZenFileError
from zen import Sequential
from zen.nn import Dense, Dropout, losses
from zen.optim import SGD, Adam, schedules
from zen.train.backup import FILE_NAME, read_backup

G = np.random.default_rng(5)
X = G.normal(size=(96, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
LOSS = losses.SparseCategoricalCrossentropy(from_logits=True)


class Stop(Exception):
    """Raised by a callback to interrupt a fit."""


def net(build=True, units=16):
    zen.set_seed(0)
    model = Sequential([Dense(units, activation="relu"), Dropout(0.3), Dense(2)])
    if build:
        model.build((None, 4))
    return model


def stop_at(epoch, batch=2):
    """A callback that interrupts the fit at `batch` of `epoch`."""
    epochs = []
    return LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e),
                          on_batch_end=lambda b, logs: _raise(epochs[-1] == epoch and b == batch))


def _raise(flag):
    if flag:
        raise Stop()


def trainer_run(backup_dir, extra=(), seed=3, optimizer=None, build=True, epochs=5):
    """Trainer.fit on a loader with its own seed; returns (model, history)."""
    model = net(build)
    trainer = zen.Trainer(model, LOSS, optimizer or Adam(lr=0.01), ["accuracy"])
    loader = DataLoader(ArrayDataset(X, Y), 16, shuffle=True, seed=seed)
    history = trainer.fit(loader, epochs=epochs, verbose=0,
                          callbacks=[BackupAndRestore(backup_dir), *extra])
    return model, history


def fit_run(backup_dir, extra=(), delete=True, epochs=5, lr=None):
    model = net()
    model.compile(Adam(lr=lr or schedules.CosineDecay(0.02, 30)), LOSS, ["accuracy"])
    history = model.fit(X, Y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[BackupAndRestore(backup_dir, delete_checkpoint=delete),
                                   *extra])
    return model, history


def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("run", [trainer_run, fit_run])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, run):
    reference, ref_history = run(tmp_path / "a")
    with pytest.raises(Stop):
        run(tmp_path / "b", [stop_at(3)])
    assert read_backup(tmp_path / "b" / FILE_NAME)["epoch"] == 2
    resumed, history = run(tmp_path / "b")
    assert same_weights(reference, resumed)
    assert history.history == ref_history.history and history.epoch == [0, 1, 2, 3, 4]
    assert resumed.history is history
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("skipped, run", [
    ("zen.rng", fit_run),                       # Dropout masks and shuffling
    ("loader", trainer_run),                    # the seeded loader's own generator
    ("optimizer", fit_run),                     # Adam's moments and step counts
])
def test_each_restored_part_is_needed(tmp_path, monkeypatch, skipped, run):
    """Controls: leave one part out of the restore and the run differs."""
    reference, _ = run(tmp_path / "a")
    with pytest.raises(Stop):
        run(tmp_path / "b", [stop_at(3)])
    if skipped == "zen.rng":
        monkeypatch.setattr(rng, "set_state", lambda state: None)
    elif skipped == "loader":
        monkeypatch.setattr(DataLoader, "load_state_dict", lambda self, state: None)
    else:
        monkeypatch.setattr("zen.optim.optimizer.Optimizer.load_state_dict",
                            lambda self, state, params=None: None)
    resumed, _ = run(tmp_path / "b")
    assert not same_weights(reference, resumed)


def test_the_backup_holds_every_part(tmp_path):
    fit_run(tmp_path, delete=False, epochs=2)
    path = tmp_path / FILE_NAME
    with np.load(path, allow_pickle=False) as npz:   # plain npz, no pickle
        names = set(npz.files)
    assert {"zen_config", "weight_0", "optimizer/iterations", "optimizer/0/m"} <= names
    saved = read_backup(path)
    assert saved["epoch"] == 1 and saved["optimizer"] == "Adam" and saved["lr"] is None
    assert int(saved["optimizer_state"]["iterations"]) == 2 * 5  # 72 samples / 16
    assert saved["rng"]["bit_generator"] == "PCG64" and saved["loader"] == {}
    assert saved["history"]["epoch"] == [0, 1]
    assert set(saved["history"]["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert os.listdir(tmp_path) == [FILE_NAME]       # no temp files left


def test_learning_rate_changed_by_a_later_callback_is_saved(tmp_path):
    """ReduceLROnPlateau listed after BackupAndRestore still acts first."""
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    model, _ = fit_run(tmp_path, [plateau], delete=False, epochs=2, lr=0.01)
    assert model.optimizer.lr == 0.005  # epoch 0 sets the best, epoch 1 halves the rate
    assert read_backup(tmp_path / FILE_NAME)["lr"] == 0.005


def test_a_backup_of_the_last_epoch_finishes_at_once(tmp_path):
    """Killed after the last epoch's backup but before deleting it."""
    model, history = fit_run(tmp_path, delete=False, epochs=3)
    seen = []
    again, history_again = fit_run(tmp_path, [LambdaCallback(on_epoch_begin=lambda e, l:
                                                             seen.append(e))], epochs=3)
    assert seen == [] and history_again.history == history.history
    assert same_weights(model, again) and not tmp_path.exists()


def test_deleting_leaves_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    fit_run(tmp_path, epochs=1)
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_early_stopping_completes_the_fit_and_deletes(tmp_path):
    fit_run(tmp_path / "b", [EarlyStopping(monitor="loss", min_delta=10.0)], epochs=5)
    assert not (tmp_path / "b").exists()


def test_an_unbuilt_model_is_built_from_the_backup(tmp_path):
    reference, _ = trainer_run(tmp_path / "a", build=False)
    with pytest.raises(Stop):
        trainer_run(tmp_path / "b", [stop_at(2)], build=False)
    resumed, _ = trainer_run(tmp_path / "b", build=False)
    assert same_weights(reference, resumed)


def mismatch(tmp_path, **changes):
    """Interrupt a run, then resume it with `changes`; returns the error."""
    with pytest.raises(Stop):
        trainer_run(tmp_path, [stop_at(2)])
    model = net(units=changes.get("units", 16))
    before = model.get_weights()
    trainer = zen.Trainer(model, LOSS, changes.get("optimizer", Adam(lr=0.01)))
    loader = DataLoader(ArrayDataset(X, Y), 16, shuffle=True, seed=changes.get("seed", 3))
    state = rng.get_state()
    with pytest.raises(ZenFileError) as error:
        trainer.fit(loader, epochs=5, verbose=0, callbacks=[BackupAndRestore(tmp_path)])
    assert same_weights_list(model.get_weights(), before) and rng.get_state() == state
    return str(error.value)


def same_weights_list(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("changes, match", [
    (dict(units=8), "do not fit the model"),
    (dict(optimizer=SGD(lr=0.01)), "optimizer is Adam, but this fit trains with SGD"),
    (dict(optimizer=Adam(lr=schedules.CosineDecay(0.01, 10))), "learning rate 0.01"),
    (dict(seed=None), r"train loader state has entries \['generator'\].*seed"),
])
def test_a_backup_that_does_not_fit_the_run_changes_nothing(tmp_path, changes, match):
    assert re.search(match, mismatch(tmp_path, **changes))


@pytest.mark.parametrize("bad", ["", None])
def test_backup_dir_is_checked(bad):
    with pytest.raises((ValueError, TypeError), match="backup_dir"):
        BackupAndRestore(bad)
