"""Each callback's behaviour. Monitored values are scripted: a LambdaCallback
placed first overwrites logs["val_loss"], so every decision is hand-checkable."""
import csv
import os

import numpy as np
import pytest

import zen
from zen.callbacks import (Callback, CSVLogger, EarlyStopping, LambdaCallback,
                           LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                           TerminateOnNaN)
from zen.fileio import ZenFileError
from zen_train_helpers import blobs, compiled

X, Y = blobs(48)


def scripted(values, key="val_loss", snapshots=None, model=None):
    """A callback writing values[epoch] into logs[key] (and keeping weights)."""
    def on_epoch_end(epoch, logs):
        logs[key] = values[epoch]
        if snapshots is not None:
            snapshots.append(model.get_weights())
    return LambdaCallback(on_epoch_end=on_epoch_end)


def fit(model, callbacks, epochs, **kwargs):
    return model.fit(X, Y, epochs=epochs, batch_size=16, callbacks=callbacks, verbose=0,
                     **kwargs)


# ----- EarlyStopping ---------------------------------------------------------------
@pytest.mark.parametrize("values, kwargs, stopped", [
    ([1.0, 0.9, 0.95, 0.94, 0.93, 0.5], dict(patience=2), 3),
    ([1.0, 0.9, 0.95, 0.94, 0.93, 0.5], dict(patience=0), 2),
    ([1.0, 0.95, 0.91, 0.9], dict(patience=1, min_delta=0.1), 1),
    ([1.0, 0.8, 0.6, 0.4], dict(patience=0), None),                       # always improving
    ([0.5, 0.6, 0.55, 0.7], dict(monitor="val_accuracy", patience=1), 2),  # "auto": max
    ([0.5, 0.6, 0.55, 0.7], dict(patience=1, mode="max"), 2),
    ([1.0, 0.9, 0.9, 0.9], dict(patience=2, baseline=0.5), 2),
    ([1.0, 0.9, 0.9, 0.9], dict(patience=2), 3),
])
def test_early_stopping_stops_at_the_right_epoch(values, kwargs, stopped):
    key = kwargs.get("monitor", "val_loss")
    stop = EarlyStopping(**kwargs)
    history = fit(compiled(), [scripted(values, key), stop], epochs=len(values))
    last = len(values) - 1 if stopped is None else stopped
    assert history.epoch == list(range(last + 1))
    assert stop.stopped_epoch == (stopped or 0)


@pytest.mark.parametrize("values, best", [
    ([1.0, 0.5, 0.7, 0.8, 0.9], 1),   # stops at epoch 3, restores epoch 1
    ([1.0, 0.5, 0.7, 0.6, 0.55], 1),  # never triggers, still restores (Keras 3)
])
def test_early_stopping_restores_best_weights(values, best):
    model, snapshots = compiled(), []
    stop = EarlyStopping(patience=2 if values[-1] > 0.8 else 10, restore_best_weights=True)
    fit(model, [scripted(values, snapshots=snapshots, model=model), stop], epochs=len(values))
    assert stop.best_epoch == best and stop.best == values[best]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[best]))
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[-1]))


def test_early_stopping_warns_about_a_missing_key_and_resets():
    stop = EarlyStopping(patience=0)
    with pytest.warns(RuntimeWarning, match="val_loss.*Available keys are: accuracy, loss"):
        history = fit(compiled(), [stop], epochs=2)
    assert history.epoch == [0, 1]
    fit(compiled(), [scripted([1.0, 2.0, 3.0]), stop], epochs=3)
    assert stop.stopped_epoch == 1
    history = fit(compiled(), [scripted([3.0, 2.0, 1.0]), stop], epochs=3)  # reused: reset
    assert stop.stopped_epoch == 0 and history.epoch == [0, 1, 2]


def test_early_stopping_argument_errors():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


# ----- ModelCheckpoint -------------------------------------------------------------------
def test_checkpoint_save_best_only_writes_on_improvement(tmp_path):
    values = [1.0, 0.8, 0.9, 0.7]
    path = str(tmp_path / "ckpt-{epoch}.zen")
    fit(compiled(), [scripted(values), ModelCheckpoint(path, save_best_only=True)], epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-1.zen", "ckpt-2.zen", "ckpt-4.zen"]


def test_checkpoint_holds_the_best_model(tmp_path):
    model, snapshots = compiled(), []
    path = tmp_path / "best.zen"
    callbacks = [scripted([1.0, 0.5, 0.9], snapshots=snapshots, model=model),
                 ModelCheckpoint(path, save_best_only=True)]
    fit(model, callbacks, epochs=3)
    saved = zen.load_model(path)
    assert all(np.array_equal(a, b) for a, b in zip(saved.get_weights(), snapshots[1]))


def test_checkpoint_every_epoch_and_weights_only(tmp_path):
    path = str(tmp_path / "w-{epoch:02d}-{loss:.2f}.zen")
    model = compiled()
    history = fit(model, [ModelCheckpoint(path, save_weights_only=True)], epochs=2)
    names = sorted(os.listdir(tmp_path))
    assert [n[:5] for n in names] == ["w-01-", "w-02-"]
    assert names[1] == f"w-02-{history.history['loss'][1]:.2f}.zen"
    other = compiled(seed=5)
    other.load_weights(tmp_path / names[1])
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    with pytest.raises(ZenFileError, match="zen.weights"):
        zen.load_model(tmp_path / names[1])


# ----- learning-rate callbacks ------------------------------------------------------------
@pytest.mark.parametrize("schedule, expected", [
    (lambda epoch, lr: lr * 0.5, [0.05, 0.025, 0.0125]),
    (lambda epoch: 0.1 / (epoch + 1), [0.1, 0.05, 0.1 / 3]),
])
def test_learning_rate_scheduler_sets_the_rate(schedule, expected):
    model = compiled(optimizer=zen.optim.SGD(lr=0.1))
    rates = []
    probe = LambdaCallback(on_epoch_begin=lambda e, logs: rates.append(model.optimizer.lr))
    history = fit(model, [LearningRateScheduler(schedule), probe], epochs=3)
    assert rates == pytest.approx(expected)
    assert history.history["learning_rate"] == pytest.approx(expected)


def test_learning_rate_scheduler_rate_is_used():
    model = compiled(optimizer=zen.optim.SGD(lr=0.1))
    before = model.get_weights()
    fit(model, [LearningRateScheduler(lambda epoch: 0.0)], epochs=2)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_learning_rate_scheduler_errors():
    with pytest.raises(TypeError, match="schedule"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="float"):
        fit(compiled(), [LearningRateScheduler(lambda epoch: "fast")], epochs=1)
    model = compiled(optimizer=zen.optim.SGD(lr=zen.optim.StepDecay(0.1, 10)))
    with pytest.raises(TypeError, match="lr"):
        fit(model, [LearningRateScheduler(lambda epoch: 0.1)], epochs=1)


@pytest.mark.parametrize("kwargs, rates, final", [
    (dict(patience=2), [0.1, 0.1, 0.1, 0.05, 0.05, 0.025], 0.025),
    (dict(patience=2, min_lr=0.08), [0.1, 0.1, 0.1, 0.08, 0.08, 0.08], 0.08),
    (dict(patience=2, cooldown=2), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05], 0.025),
    (dict(patience=1), [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625], 0.003125),
])
def test_reduce_lr_on_plateau(kwargs, rates, final):
    model = compiled(optimizer=zen.optim.SGD(lr=0.1))
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    history = fit(model, [scripted(values), ReduceLROnPlateau(factor=0.5, **kwargs)], epochs=6)
    assert history.history["learning_rate"] == pytest.approx(rates)
    assert model.optimizer.lr == pytest.approx(final)


def test_reduce_lr_on_plateau_waits_while_improving():
    model = compiled(optimizer=zen.optim.SGD(lr=0.1))
    fit(model, [scripted([1.0, 0.9, 0.8, 0.7]), ReduceLROnPlateau(patience=1)], epochs=4)
    assert model.optimizer.lr == 0.1
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


# ----- CSVLogger -----------------------------------------------------------------------------
def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    rows_seen = []
    count_rows = LambdaCallback(
        on_epoch_end=lambda epoch, logs: rows_seen.append(len(path.read_text().splitlines())))
    history = fit(compiled(), [CSVLogger(path), count_rows], epochs=3, validation_split=0.25)
    assert rows_seen == [2, 3, 4]  # each epoch is on disk when the epoch ends
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    for epoch, row in enumerate(rows[1:]):
        assert row[0] == str(epoch)
        assert [float(v) for v in row[1:]] == [history.history[k][epoch] for k in rows[0][1:]]
    assert os.listdir(tmp_path) == ["log.csv"]  # no temporary file left behind


def test_csv_logger_append_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    fit(compiled(), [CSVLogger(path)], epochs=2)
    fit(compiled(), [CSVLogger(path, append=True)], epochs=1)
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,") and lines[3].startswith("0,")
    fit(compiled(), [CSVLogger(path)], epochs=1)
    assert len(path.read_text().splitlines()) == 2


# ----- TerminateOnNaN and LambdaCallback --------------------------------------------------------
def test_terminate_on_nan_stops_at_the_bad_batch():
    x, y = X, Y  # (fit refuses NaN inputs, so a weight turns NaN before batch 2)
    batches = []
    model = compiled()

    def poison(batch, logs):
        if batch == 2:
            model.layers[0].kernel.value[...] = np.nan
    with pytest.warns(RuntimeWarning, match="batch 2 of epoch 1"):
        history = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0,
                            callbacks=[TerminateOnNaN(), LambdaCallback(
                                on_batch_begin=poison,
                                on_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0, 1, 2]
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])


def test_lambda_callback_calls_every_hook():
    calls = {}

    def hook(name):
        return lambda *args: calls.__setitem__(name, calls.get(name, 0) + 1)

    names = ["on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end",
             "on_epoch_end", "on_train_end"]
    fit(compiled(), [LambdaCallback(**{n: hook(n) for n in names})], epochs=2)  # 3 batches
    assert calls == {"on_train_begin": 1, "on_epoch_begin": 2, "on_batch_begin": 6,
                     "on_batch_end": 6, "on_epoch_end": 2, "on_train_end": 1}
    with pytest.raises(TypeError, match="on_epoch_end"):
        LambdaCallback(on_epoch_end=3)


def test_base_callback_sees_model_params_and_optimizer():
    seen = {}

    class Probe(Callback):
        def on_train_begin(self, logs=None):
            seen.update(model=self.model, params=self.params, optimizer=self.optimizer)

    model = compiled()
    fit(model, [Probe()], epochs=2)
    assert seen["model"] is model and seen["optimizer"] is model.optimizer
    assert seen["params"]["epochs"] == 2 and seen["params"]["steps"] == 3


def test_lambda_callback_takes_keras_arguments_and_any_hook_by_name():
    calls = []
    callback = LambdaCallback(on_train_batch_end=lambda b, logs: calls.append(("batch", b)),
                              on_test_end=lambda logs: calls.append("test"))
    callback.on_train_batch_end(3, {})
    callback.on_test_end({})
    assert calls == [("batch", 3), "test"]
    assert repr(callback) == "LambdaCallback(on_train_batch_end, on_test_end)"
    with pytest.raises(TypeError, match="'on_epoch_ended'.*not a hook"):
        LambdaCallback(on_epoch_ended=print)


@pytest.mark.parametrize("monitor, metric, mode", [
    ("val_auc", "auc", "max"), ("precision", zen.metrics.Precision, "max"),
    ("val_mean_squared_error", zen.metrics.MeanSquaredError, "min"), ("val_loss", None, "min")])
def test_auto_mode_follows_the_compiled_metrics_direction(monitor, metric, mode, tmp_path):
    """Keras's "auto": an AUC or a precision improves upwards, whatever its name."""
    x, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    model = zen.Sequential([zen.nn.Dense(1, activation="sigmoid")])
    if isinstance(metric, type):  # made here: a metric's default name counts its class's
        metric = metric(name=monitor.removeprefix("val_"))  # instances, as in Keras
    model.compile("sgd", "binary_crossentropy", metrics=[metric] if metric else None)
    callbacks = [EarlyStopping(monitor, patience=5),
                 zen.callbacks.ModelCheckpoint(tmp_path / "best.zen", monitor=monitor,
                                               save_best_only=True),
                 zen.callbacks.ReduceLROnPlateau(monitor)]
    assert [c.mode for c in callbacks] == ["min"] * 3  # before training: the names alone
    model.fit(x, y, epochs=1, validation_split=0.25, verbose=0, callbacks=callbacks)
    assert [c.mode for c in callbacks] == [mode] * 3


def test_auto_mode_finds_the_metrics_a_subclassed_model_binds_at_its_first_batch():
    class Net(zen.Model):
        def __init__(self):
            super().__init__()
            self.out = zen.nn.Dense(1, activation="sigmoid")

        def call(self, x):
            return self.out(x)

    x, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    model = Net()
    model.compile("sgd", "binary_crossentropy", metrics=[zen.metrics.AUC(name="score")])
    stop = EarlyStopping("val_score", patience=5)
    model.fit(x, y, epochs=1, validation_split=0.25, verbose=0, callbacks=[stop])
    assert stop.mode == "max"
