"""The Trainer: the loop, its hooks, logs, History, verbosity and modes."""
import re

import numpy as np
import pytest

import zen
from zen.callbacks import Callback, LambdaCallback
from zen.data import ArrayDataset, DataLoader
from zen import Sequential
from zen.nn import Dense
from zen.nn.losses import MSE, SparseCategoricalCrossentropy
from zen.train import Trainer
from zen_train_helpers import blobs, mlp

LOSS = SparseCategoricalCrossentropy(from_logits=True)


def loaders(n=120, batch_size=32, shuffle=False):
    x, y = blobs(n)
    train = DataLoader(ArrayDataset(x[:90], y[:90]), batch_size, shuffle=shuffle)
    val = DataLoader(ArrayDataset(x[90:], y[90:]), batch_size)
    return train, val


def top_score(y_true, y_pred):
    return float(y_pred.max(axis=1).mean())


@pytest.mark.parametrize("metrics, validate, keys", [
    (None, False, ["loss"]),
    (["accuracy"], False, ["loss", "accuracy"]),
    (["accuracy", top_score], True, ["loss", "accuracy", "top_score", "val_loss",
                                     "val_accuracy", "val_top_score"]),
    (None, True, ["loss", "val_loss"]),
])
def test_history_keys_and_lengths(metrics, validate, keys):
    train, val = loaders()
    trainer = Trainer(mlp(), LOSS, "adam", metrics=metrics)
    history = trainer.fit(train, epochs=3, val_loader=val if validate else None, verbose=0)
    assert list(history.history) == keys
    assert all(len(values) == 3 for values in history.history.values())
    assert all(isinstance(v, float) for values in history.history.values() for v in values)
    assert history.epoch == [0, 1, 2]
    assert trainer.model.history is history


def test_trainer_with_dataloaders_learns():
    zen.set_seed(1)
    x, y = blobs(600, seed=1)
    train = DataLoader(ArrayDataset(x[:500], y[:500]), batch_size=32, shuffle=True)
    val = DataLoader(ArrayDataset(x[500:], y[500:]), batch_size=64)
    trainer = Trainer(mlp(), LOSS, zen.optim.Adam(lr=0.01), metrics=["accuracy"])
    history = trainer.fit(train, epochs=8, val_loader=val, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.95
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert trainer.evaluate(val)["accuracy"] == pytest.approx(history.history["val_accuracy"][-1])


def test_epoch_loss_is_a_mean_over_samples_not_batches():
    """With lr=0 the model is fixed: the epoch loss over uneven batches (7, 7, 6)
    must equal the loss of one batch holding every sample."""
    x, y = blobs(20)
    model = mlp()
    trainer = Trainer(model, LOSS, zen.optim.SGD(lr=0.0), metrics=["accuracy"])
    history = trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=7), verbose=0)
    full = trainer.evaluate(DataLoader(ArrayDataset(x, y), batch_size=20))
    assert history.history["loss"][0] == pytest.approx(full["loss"], rel=1e-6)
    assert history.history["accuracy"][0] == pytest.approx(full["accuracy"])


def test_batch_logs_are_running_means():
    x, y = blobs(20)
    seen = []
    trainer = Trainer(mlp(), LOSS, zen.optim.SGD(lr=0.0))
    catch = LambdaCallback(on_batch_end=lambda batch, logs: seen.append(dict(logs)))
    history = trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=7), callbacks=[catch],
                          verbose=0)
    sizes = np.array([7, 7, 6])
    running = np.array([logs["loss"] for logs in seen])
    batch_losses = np.diff(np.concatenate([[0], running * np.cumsum(sizes)])) / sizes
    expected = np.cumsum(batch_losses * sizes) / np.cumsum(sizes)
    np.testing.assert_allclose(running, expected)
    assert seen[-1]["loss"] == pytest.approx(history.history["loss"][0])


class BatchLogs(Callback):
    """Records the logs of each batch through `on_batch_end` alone."""

    def __init__(self):
        self.seen = []

    def on_batch_end(self, batch, logs=None):
        self.seen.append(dict(logs))


@pytest.mark.parametrize("how", ["subclass", "instance attribute", "on_train_batch_end"])
def test_every_way_of_hooking_the_batch_end_gets_the_running_logs(how):
    """The trainer skips reading the metrics each batch only for hooks that
    cannot see them: an override of on_batch_end or on_train_batch_end, in a
    class or on an instance, still gets the running loss and accuracy."""
    x, y = blobs(20)
    seen = []
    if how == "subclass":
        hook = BatchLogs()
        seen = hook.seen
    else:
        hook = Callback()
        setattr(hook, "on_batch_end" if how == "instance attribute" else "on_train_batch_end",
                lambda batch, logs=None: seen.append(dict(logs)))
    trainer = Trainer(mlp(), LOSS, zen.optim.SGD(lr=0.0), metrics=["accuracy"])
    history = trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=7), callbacks=[hook],
                          verbose=0)
    assert len(seen) == 3 and all(set(logs) == {"loss", "accuracy"} for logs in seen)
    assert seen[-1] == pytest.approx({key: values[0] for key, values in history.history.items()})


def test_a_test_batch_hook_gets_the_running_validation_logs():
    """on_test_batch_end, overridden, gets the validation's running loss and
    metrics, ending at the epoch's val_ values."""
    class TestBatchLogs(Callback):
        def __init__(self):
            self.seen = []

        def on_test_batch_end(self, batch, logs=None):
            self.seen.append(dict(logs))

    train, val = loaders(n=120, batch_size=16)
    hook = TestBatchLogs()
    trainer = Trainer(mlp(), LOSS, "sgd", metrics=["accuracy"])
    history = trainer.fit(train, val_loader=val, callbacks=[hook], verbose=0)
    assert len(hook.seen) == 2 and all(set(logs) == {"loss", "accuracy"} for logs in hook.seen)
    assert hook.seen[-1] == pytest.approx({"loss": history.history["val_loss"][0],
                                           "accuracy": history.history["val_accuracy"][0]})


def test_fit_on_arrays_gathers_batches_on_the_training_thread():
    """`fit` on in-memory arrays starts no prefetch thread (a fancy index per
    batch costs less than the handover); a DataLoader keeps its own default."""
    import threading
    x, y = blobs(40)
    model = mlp()
    model.compile("sgd", LOSS)
    names = []
    spy = LambdaCallback(on_batch_end=lambda batch, logs: names.extend(
        t.name for t in threading.enumerate()))
    model.fit(x, y, batch_size=1, verbose=0, callbacks=[spy])
    assert names and "zen-data-prefetch" not in names
    assert DataLoader(ArrayDataset(x, y), 7).prefetch == 2


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None): self.calls.append("train_begin")
    def on_epoch_begin(self, epoch, logs=None): self.calls.append(f"epoch_begin {epoch}")
    def on_train_batch_begin(self, batch, logs=None): self.calls.append(f"batch_begin {batch}")
    def on_batch_end(self, batch, logs=None): self.calls.append(f"batch_end {batch}")
    def on_epoch_end(self, epoch, logs=None): self.calls.append(f"epoch_end {epoch}")
    def on_train_end(self, logs=None): self.calls.append("train_end")


def test_hook_order_and_params():
    x, y = blobs(8)
    recorder = Recorder()
    trainer = Trainer(mlp(), LOSS, "sgd", callbacks=[recorder])
    trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=4), epochs=2, verbose=0)
    assert recorder.calls == [
        "train_begin",
        "epoch_begin 0", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1",
        "epoch_end 0",
        "epoch_begin 1", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1",
        "epoch_end 1",
        "train_end"]
    assert recorder.params == {"epochs": 2, "steps": 2, "verbose": 0, "initial_epoch": 0}
    assert recorder.model is trainer.model and recorder.trainer is trainer


@pytest.mark.parametrize("flag_owner", ["model", "trainer"])
def test_a_callback_stops_training_after_the_current_batch(flag_owner):
    x, y = blobs(40)
    trainer = Trainer(mlp(), LOSS, "sgd")
    batches = []

    def stop(batch, logs):
        batches.append(batch)
        if batch == 2:
            setattr(trainer.model if flag_owner == "model" else trainer, "stop_training", True)

    history = trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=4), epochs=5,
                          callbacks=[LambdaCallback(on_batch_end=stop)], verbose=0)
    assert batches == [0, 1, 2]
    assert history.epoch == [0]
    assert trainer.stop_training and trainer.model.stop_training


def test_initial_epoch_resumes_numbering(capsys):
    train, _ = loaders()
    history = Trainer(mlp(), LOSS, "sgd").fit(train, epochs=3, initial_epoch=1, verbose=2)
    assert history.epoch == [1, 2]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 2/3", "Epoch 3/3"]


def test_verbose_0_prints_nothing(capfd):
    train, val = loaders()
    trainer = Trainer(mlp(), LOSS, "adam", metrics=["accuracy"])
    trainer.fit(train, epochs=2, val_loader=val, verbose=0)
    trainer.evaluate(val)
    trainer.predict(val)
    assert capfd.readouterr() == ("", "")


def test_verbose_2_one_line_per_epoch(capfd):
    train, val = loaders()
    Trainer(mlp(), LOSS, "adam", metrics=["accuracy"]).fit(train, epochs=3, val_loader=val,
                                                            verbose=2)
    out, err = capfd.readouterr()
    lines = out.splitlines()
    number = r"-?\d+\.\d{4}"
    pattern = (rf"Epoch (\d)/3 - loss: {number} - accuracy: {number} - "
               rf"val_loss: {number} - val_accuracy: {number}")
    assert len(lines) == 3 and err == ""
    assert [re.fullmatch(pattern, line).group(1) for line in lines] == ["1", "2", "3"]


def test_verbose_1_draws_a_bar_per_epoch_in_a_terminal(capfd, monkeypatch):
    monkeypatch.setattr(zen.train.progress, "interactive_output", lambda: True)
    train, val = loaders()
    Trainer(mlp(), LOSS, "adam", metrics=["accuracy"]).fit(train, epochs=2, val_loader=val,
                                                            verbose=1)
    out, err = capfd.readouterr()
    text = out + err
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert "3/3" in text  # three batches per epoch
    assert "val_accuracy" in text and "loss:" in text


def test_verbose_1_prints_a_line_per_epoch_into_a_log(capfd, monkeypatch):
    monkeypatch.setattr(zen.train.progress, "interactive_output", lambda: False)
    train, val = loaders()
    Trainer(mlp(), LOSS, "adam", metrics=["accuracy"]).fit(train, epochs=2, val_loader=val,
                                                            verbose=1)
    Trainer(mlp(), LOSS, "adam").evaluate(val, verbose=1)
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert err == "" and len(lines) == 2  # no bar redraws, nothing for evaluate's bar
    assert lines[0].startswith("Epoch 1/2 - loss: ") and "val_accuracy" in lines[1]


def test_output_is_interactive_in_a_terminal_or_a_notebook(monkeypatch):
    import io
    import sys
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert zen.train.progress.interactive_output() is False
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    assert zen.train.progress.interactive_output() is True


class TrainingSpy(zen.nn.Layer):
    """The identity, recording the `training` value each call receives."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def call(self, x, training=False):
        self.seen.append(training)
        return x


def spied_mlp():
    zen.set_seed(0)
    model = Sequential([Dense(16, activation="relu"), TrainingSpy(), Dense(3)])
    model.build((None, 2))
    return model, model.layers[1]


def test_fit_trains_with_training_true_and_validates_with_false_leaving_modes_alone():
    train, val = loaders()
    model, spy = spied_mlp()
    spy.seen.clear()  # the build's probe
    Trainer(model, LOSS, "sgd").fit(train, epochs=1, val_loader=val, verbose=0)
    assert spy.seen == [True, True, True, False]  # 3 steps, then 1 validation batch
    assert model.training is False and spy.training is False  # a fitted model infers


class SwitchesModes(Callback):
    """Flips the model's default mode after each step."""

    def on_train_batch_end(self, batch, logs=None):
        self.model.eval_mode() if batch % 2 else self.model.train_mode()


def test_the_modes_a_callback_sets_do_not_change_the_training_steps():
    train, _ = loaders()
    model, spy = spied_mlp()
    spy.seen.clear()
    Trainer(model, LOSS, "sgd").fit(train, epochs=2, callbacks=[SwitchesModes()], verbose=0)
    assert spy.seen == [True] * 6


def test_a_weight_thawed_mid_epoch_is_trained_from_the_next_step():
    x, y = blobs(40)
    model = mlp()
    kernel = model.layers[0].kernel
    kernel.trainable = False
    before = kernel.value.copy()

    def thaw(batch, logs):
        if batch == 1:
            assert np.array_equal(kernel.value, before)  # frozen for batches 0 and 1
            kernel.trainable = True

    Trainer(model, LOSS, zen.optim.SGD(lr=0.1)).fit(
        DataLoader(ArrayDataset(x, y), batch_size=8), verbose=0,
        callbacks=[LambdaCallback(on_batch_end=thaw)])
    assert not np.array_equal(kernel.value, before)  # batches 2 to 4 moved it


class ExtraForSmallBatches(zen.models.Model):
    """Passes small batches through one more layer, built by the first of them."""

    def __init__(self):
        super().__init__()
        self.body, self.extra = Dense(3), Dense(3)

    def call(self, x):
        out = self.body(x)
        return self.extra(out) if len(x) < 8 else out


def test_a_layer_first_reached_late_in_an_epoch_is_trained_at_once():
    x, y = blobs(20)
    model = ExtraForSmallBatches()
    trainer = Trainer(model, LOSS, "adam")
    trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=8), verbose=0)  # 8, 8, then 4
    assert model.extra.built
    state = trainer.optimizer.state
    assert all(t.id in state and state[t.id]["step"] == 1 for t in model.extra.parameters())
    assert state[model.body.kernel.id]["step"] == 3


def test_train_step_uses_dropout_and_evaluate_does_not():
    x, y = blobs(64)
    model = mlp(dropout=0.9)
    model.train_mode()  # a default that the Trainer's explicit `training` overrules
    trainer = Trainer(model, LOSS, zen.optim.SGD(lr=0.0))
    loader = DataLoader(ArrayDataset(x, y), batch_size=64)
    first, second = trainer.evaluate(loader), trainer.evaluate(loader)
    assert first == second  # inference mode is deterministic
    model.eval_mode()
    zen.set_seed(3)
    train_losses = {trainer.train_step(x, y)[0]["loss"] for _ in range(3)}
    assert len(train_losses) == 3  # dropout active while training
    assert model.training is False


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(epochs=2.0), ValueError, "epochs"),
    (dict(verbose=3), ValueError, "verbose"),
    (dict(initial_epoch=-1), ValueError, "initial_epoch"),
    (dict(callbacks=[print]), TypeError, "callbacks"),
    (dict(val_loader=np.zeros(3)), TypeError, "val_loader"),
])
def test_fit_argument_errors(kwargs, error, match):
    train, _ = loaders()
    with pytest.raises(error, match=match):
        Trainer(mlp(), LOSS, "sgd").fit(train, **kwargs)


def test_loader_errors():
    trainer = Trainer(mlp(), LOSS, "sgd")
    x, y = blobs(8)
    with pytest.raises(TypeError, match="DataLoader"):
        trainer.fit(x)
    with pytest.raises(ValueError, match=r"\(x, y\) or \(x, y, sample_weight\) batches"):
        trainer.fit(DataLoader(ArrayDataset(x, y, y, y), batch_size=4), verbose=0)
    with pytest.raises(ValueError, match="no batches"):
        trainer.fit([], verbose=0)


@pytest.mark.parametrize("kwargs, error", [
    (dict(loss="nope"), ValueError), (dict(optimizer="nope"), ValueError),
    (dict(metrics=["f1"]), ValueError), (dict(metrics=["acc", "acc"]), ValueError),
    (dict(callbacks=["stop"]), TypeError),
])
def test_constructor_errors(kwargs, error):
    args = dict(loss=LOSS, optimizer="sgd")
    args.update(kwargs)
    with pytest.raises(error):
        Trainer(mlp(), **args)


def test_a_loss_function_returning_per_sample_values_is_reduced_to_their_mean():
    x, y = blobs(8)
    model = mlp()
    per_sample = Trainer(model, lambda y_true, y_pred: (y_pred * y_pred).sum(axis=-1), "sgd")
    logs, preds = per_sample.train_step(x, y)
    assert logs["loss"] == pytest.approx(float((preds[0] ** 2).sum(axis=-1).mean()), rel=1e-6)


def test_a_loss_function_returning_no_tensor_is_a_type_error():
    x, y = blobs(8)
    trainer = Trainer(mlp(), lambda y_true, y_pred: np.zeros(3), "sgd")
    with pytest.raises(TypeError, match="must return a Tensor"):
        trainer.train_step(x, y)


def test_regression_with_mse_and_predict():
    zen.set_seed(0)
    g = np.random.default_rng(0)
    x = g.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3)
    model = Sequential([Dense(1)])
    trainer = Trainer(model, MSE(), zen.optim.SGD(lr=0.1), metrics=["mae"])
    history = trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=20, shuffle=True),
                          epochs=20, verbose=0)
    assert history.history["loss"][-1] < 1e-4
    pred = trainer.predict(DataLoader(ArrayDataset(x), batch_size=64))
    assert pred.shape == (200, 1) and pred.dtype == np.float32
    np.testing.assert_allclose(pred, y, atol=0.02)


@zen.models.register_serializable(package="tests")
class TwoDense(zen.Model):
    """A subclassed model, registered so that ModelCheckpoint can save it."""

    def __init__(self, hidden=8):
        super().__init__()
        self.hidden = hidden
        self.first, self.second = Dense(hidden, activation="tanh"), Dense(3)

    def call(self, x):
        return self.second(self.first(x))

    def get_config(self):
        return {"hidden": self.hidden}


def test_a_subclassed_model_with_checkpoint_and_early_stopping(tmp_path):
    from zen.callbacks import EarlyStopping, ModelCheckpoint
    zen.set_seed(0)
    train, val = loaders()
    model = TwoDense()
    trainer = Trainer(model, LOSS, zen.optim.Adam(lr=0.01), metrics=["accuracy"])
    stop = EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True)
    check = ModelCheckpoint(tmp_path / "best.zen", monitor="val_accuracy", save_best_only=True)
    history = trainer.fit(train, epochs=4, val_loader=val, callbacks=[stop, check], verbose=0)
    loaded = zen.load_model(tmp_path / "best.zen")
    assert isinstance(loaded, TwoDense) and loaded.hidden == 8
    x, _ = blobs(10)
    np.testing.assert_array_equal(loaded(x).value, model(x).value)  # both hold the best epoch
    assert loaded.optimizer.get_config() == trainer.optimizer.get_config()
    assert max(history.history["val_accuracy"]) == stop.best


def test_a_checkpoint_of_a_plain_layer_says_to_use_a_model(tmp_path):
    from zen.callbacks import ModelCheckpoint

    class Plain(zen.nn.Layer):
        def __init__(self):
            super().__init__()
            self.dense = Dense(3)

        def call(self, x):
            return self.dense(x)

    train, _ = loaders()
    trainer = Trainer(Plain(), LOSS, "sgd")
    with pytest.raises(TypeError, match="model.save.*subclass zen.Model"):
        trainer.fit(train, epochs=1, verbose=0, callbacks=[ModelCheckpoint(tmp_path / "m")])
