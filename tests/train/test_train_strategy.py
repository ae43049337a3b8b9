"""The Strategy seam: where `Trainer.fit` hands over to a distribution
strategy, in what order, and what it does with the answers."""
import numpy as np
import pytest

import zen
from zen.callbacks import Callback, CSVLogger
from zen.data import ArrayDataset, DataLoader
from zen.nn import Dense
from zen.train import Trainer
from zen.train.strategy import Strategy, writes_files
from zen_train_helpers import blobs, mlp


class Recorder(Strategy):
    """Records every hand-over; optionally a process that is not the main one,
    or one whose peers ask to stop after a given step."""

    def __init__(self, main=True, stop_after=None):
        self.main, self.stop_after = main, stop_after
        self.events, self.steps = [], 0

    @property
    def is_main_process(self):
        return self.main

    def prepare(self, trainer, train_loader, val_loader, callbacks):
        self.events.append("prepare")
        return super().prepare(trainer, train_loader, val_loader, callbacks)

    def running(self):
        outer = self

        class Context:
            def __enter__(self):
                outer.events.append("enter")

            def __exit__(self, *error):
                outer.events.append("exit")
        return Context()

    def synchronize(self, params):
        self.steps += 1
        self.events.append("synchronize")
        for p in params:  # the gradient is there: after backward, before the step
            assert p.gradient is not None

    def agree_to_stop(self, stop):
        self.events.append("agree")
        return stop or self.steps == self.stop_after

    def reduce_metrics(self, metrics):
        self.events.append("reduce")
        self.counts = [(m.name, float(m.count)) for m in metrics]  # the loss trackers here
        for m in metrics:  # every mean 100 higher, as if other processes had added theirs
            m.total += 100 * m.count


def data():
    x, y = blobs(120)
    return (DataLoader(ArrayDataset(x[:90], y[:90]), 32),
            DataLoader(ArrayDataset(x[90:], y[90:]), 32))


def test_the_loop_hands_over_at_its_named_points_in_order():
    strategy, (train, val) = Recorder(), data()
    trainer = Trainer(mlp(), "sparse_categorical_crossentropy", "sgd")
    history = trainer.fit(train, epochs=2, val_loader=val, verbose=0, distribute=strategy)
    epoch = ["synchronize", "agree"] * 3 + ["reduce", "agree"]
    assert strategy.events == ["prepare", "enter"] + epoch * 2 + ["exit"]
    assert all(loss > 100 for loss in history.history["val_loss"])  # the reduced logs
    assert strategy.counts == [("loss", 90), ("loss", 30)]  # what each mean is over:
    # the epoch's training, then its validation
    assert trainer.model.distribute_strategy is strategy


def test_a_stop_agreed_elsewhere_stops_after_that_step():
    strategy, (train, _) = Recorder(stop_after=4), data()
    trainer = Trainer(mlp(), "sparse_categorical_crossentropy", "sgd")
    history = trainer.fit(train, epochs=5, verbose=0, distribute=strategy)
    assert strategy.steps == 4 and len(history.history["loss"]) == 2
    assert trainer.model.stop_training


def test_callbacks_for_the_main_process_run_there_only(tmp_path):
    seen = []

    class Mine(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.trainer.is_main_process)

    train, val = data()
    model = mlp()
    trainer = Trainer(model, "sparse_categorical_crossentropy", "sgd")
    trainer.fit(train, epochs=1, val_loader=val, verbose=2, distribute=Recorder(main=False),
                callbacks=[Mine(), CSVLogger(tmp_path / "log.csv")])
    assert seen == [False] and not (tmp_path / "log.csv").exists()
    assert not writes_files(model) and trainer.is_main_process  # outside the fit: alone
    trainer.fit(train, epochs=1, verbose=0, callbacks=[Mine(), CSVLogger(tmp_path / "log.csv")])
    assert seen == [False, True] and (tmp_path / "log.csv").exists()
    assert writes_files(model) and model.distribute_strategy is None


def test_a_batch_of_no_samples_steps_with_zero_gradients_unseen_by_callbacks():
    """A process's empty share of a short last global batch: the strategy
    synchronises and the optimizer steps (momentum moves the weights), but no
    callback sees a batch and the logs count no sample."""
    x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
    batches = [(x, y), (x[:0], y[:0])]
    model = zen.Sequential([Dense(1)])
    model.build((None, 3))
    seen, strategy = [], Recorder()
    trainer = Trainer(model, "mse", zen.optim.SGD(0.1, momentum=0.9))
    first_loss = trainer.evaluate([(x, y)])["loss"]
    trainer.fit(batches, epochs=1, verbose=0, distribute=strategy,
                callbacks=[zen.callbacks.LambdaCallback(
                    on_train_batch_end=lambda batch, logs: seen.append(batch))])
    assert strategy.steps == 2 and seen == [0]
    assert trainer.optimizer.iterations == 2
    # the epoch's loss is the first batch's alone, then reduced (+100)
    assert trainer.history.history["loss"] == pytest.approx([first_loss + 100], rel=1e-6)


def test_validation_in_fit_fires_the_test_hooks():
    calls = []

    class Watch(Callback):
        def on_test_begin(self, logs=None):
            calls.append("begin")

        def on_test_batch_end(self, batch, logs=None):
            calls.append(batch)

        def on_test_end(self, logs=None):
            calls.append(sorted(logs))

    train, val = data()
    Trainer(mlp(), "sparse_categorical_crossentropy", "sgd").fit(
        train, epochs=1, val_loader=val, verbose=0, callbacks=[Watch()])
    assert calls == ["begin", 0, ["loss"]]  # 30 validation samples: one batch
