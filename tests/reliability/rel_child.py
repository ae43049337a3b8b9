"""A training script that the resume tests run as a real subprocess.

It trains a small Dense-Dropout-Dense model for 6 epochs with shuffling,
validation and BackupAndRestore, then saves the model (weights and optimizer
state) to OUT/final.zen and the History to OUT/history.json. Run again with
the same command after a crash, it continues from the backup.

    python rel_child.py OUT BACKUP_DIR [--api fit|trainer]
        [--pause-at-epoch E --marker PATH]        # writes PATH, then sleeps at
                                                  # the start of epoch E
        [--pause-at-batch E B --marker PATH]      # the same after batch B of epoch E

A pause happens only while PATH does not exist yet, so the same command,
run again, trains straight through: the test kills the sleeping process
(SIGKILL between epochs, SIGINT inside an epoch) and starts it again.
"""
import argparse
import json
import os
import time

import numpy as np

import zen
from zen.callbacks import BackupAndRestore, LambdaCallback, LearningRateScheduler
from zen.data import ArrayDataset, DataLoader
from zen import Sequential
from zen.models import saving
from zen.nn import Dense, Dropout, losses
from zen.optim import Adam, schedules

EPOCHS = 6


def data():
    g = np.random.default_rng(123)
    x = g.normal(size=(320, 10)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def model():
    return Sequential([Dense(32, activation="relu"), Dropout(0.25), Dense(3)])


def pause(marker):
    """Signal the test, then wait to be killed."""
    if os.path.exists(marker):
        return
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
    raise SystemExit("rel_child: was not killed within 60 s")


def pause_callback(args):
    if args.pause_at_epoch is not None:
        return LambdaCallback(on_epoch_begin=lambda epoch, logs:
                              epoch == args.pause_at_epoch and pause(args.marker))
    if args.pause_at_batch is not None:
        epochs = []
        at_epoch, at_batch = args.pause_at_batch
        return LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs.append(epoch),
                              on_batch_end=lambda batch, logs: epochs[-1] == at_epoch
                              and batch == at_batch and pause(args.marker))
    return LambdaCallback()


def train_with_fit(net, x, y, callbacks):
    net.compile(Adam(lr=schedules.ExponentialDecay(0.01, decay_steps=20, decay_rate=0.8)),
                losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"])
    history = net.fit(x, y, epochs=EPOCHS, batch_size=16, validation_split=0.2,
                      shuffle=True, verbose=0, callbacks=callbacks)
    return history, None


def train_with_trainer(net, x, y, callbacks):
    # a loader with its own seeded generator, and a learning rate that a
    # callback changes from its current value every epoch
    trainer = zen.Trainer(net, losses.SparseCategoricalCrossentropy(from_logits=True),
                          Adam(lr=0.01), ["accuracy"])
    train = DataLoader(ArrayDataset(x[:256], y[:256]), 16, shuffle=True, seed=7)
    val = DataLoader(ArrayDataset(x[256:], y[256:]), 64)
    callbacks.append(LearningRateScheduler(lambda epoch, lr: lr * 0.7 if epoch else lr))
    history = trainer.fit(train, epochs=EPOCHS, val_loader=val, verbose=0, callbacks=callbacks)
    return history, trainer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("backup")
    parser.add_argument("--api", choices=("fit", "trainer"), default="fit")
    parser.add_argument("--pause-at-epoch", type=int)
    parser.add_argument("--pause-at-batch", type=int, nargs=2)
    parser.add_argument("--marker")
    args = parser.parse_args()

    zen.set_seed(0)
    x, y = data()
    net = model()
    callbacks = [pause_callback(args), BackupAndRestore(args.backup)]
    train = train_with_fit if args.api == "fit" else train_with_trainer
    history, trainer = train(net, x, y, callbacks)
    os.makedirs(args.out, exist_ok=True)
    saving.save_model(net, os.path.join(args.out, "final.zen"), trainer=trainer)
    with open(os.path.join(args.out, "history.json"), "w") as f:
        json.dump({"epoch": history.epoch, "history": history.history}, f)


if __name__ == "__main__":
    main()
