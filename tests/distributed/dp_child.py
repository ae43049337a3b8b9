"""The training script that the MPI tests launch with `mpiexec -n 2`.

    python dp_child.py OUT SCENARIO

Scenarios:
- "equivalence": every case of CASES with DataParallel at batch B; each
  rank writes OUT/<case>_rank<r>.npz (weights) and .json (History, a random
  draw made at each epoch's start; for "seq_metrics", Keras's stateful
  metrics, the rank's own running AUC at its last batch of each epoch
  instead). The "files" case also writes through
  every rank-0-only path, into OUT/files with the rank in each name; the
  "stop" run has rank 1 alone stop training after batch 2 of epoch 1.
- "raise", "kill": rank 1 raises (or SIGKILLs itself) at the start of epoch 1.
- "raise_before_fit": rank 1 raises before training, in a script that never
  calls `dist.init()` (importing zen.distributed is enough to end the job).
- "model_mismatch", "data_mismatch": rank 1 builds a wider model (or drops
  samples): every rank must raise SetupError before training.
- "sync_bn_empty_step": synchronised batch norm where rank 1 would have an
  empty step: a SetupError on every rank too.
- "backup": the "seq_sgd" case with BackupAndRestore in OUT/backup; with a
  file OUT/fail present, rank 1 raises at the start of epoch 2 (the backup
  of epoch 1 written), and the test runs it again to resume.

The tests compute the one-process references with `train_case` in-process.
"""
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.callbacks import BackupAndRestore, Callback, CSVLogger, LambdaCallback, ModelCheckpoint
from zen.data import ArrayDataset, DataLoader
from zen.nn import losses

B = 8  # batch per rank
EPOCHS = 4
LOSS = losses.SparseCategoricalCrossentropy(from_logits=True)


def data(n, features=6, seed=7):
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] + x[:, 2] > 0.5).astype(np.int64)
    return x, y


def sequential(width=16):
    model = zen.Sequential([nn.Dense(width, activation="relu"), nn.Dense(3)])
    model.build((None, 6))
    return model


def functional():
    inputs = zen.Input((6,))
    relu = nn.Dense(8, activation="relu")(inputs)
    tanh = nn.Dense(8, activation="tanh")(inputs)
    outputs = nn.Dense(3)(nn.Concatenate()([relu, tanh]))
    return zen.Model(inputs, outputs)


def unbuilt():
    return zen.Sequential([nn.Dense(16, activation="relu"), nn.Dense(3)])


def batchnorm():
    model = zen.Sequential([nn.Dense(16), nn.BatchNorm(momentum=0.9), nn.ReLU(), nn.Dense(3)])
    model.build((None, 6))
    return model


def dropout():
    model = zen.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.5), nn.Dense(3)])
    model.build((None, 6))
    return model


def binary():
    model = zen.Sequential([nn.Dense(16, activation="relu"), nn.Dense(1, activation="sigmoid")])
    model.build((None, 6))
    return model


def sgd():
    return zen.optim.SGD(lr=0.1, momentum=0.9)


def adam():
    return zen.optim.Adam(lr=0.01)


# name: (model, optimizer, samples (122 leaves 97 to train: the last global
# batch holds one sample, so rank 1 has an empty step), api)
CASES = {
    "seq_sgd": (sequential, sgd, 122, "fit"),
    "seq_adam": (sequential, adam, 122, "fit"),
    "seq_unbuilt": (unbuilt, adam, 122, "fit"),
    "seq_weighted": (sequential, adam, 122, "fit"),
    "fun_sgd": (functional, sgd, 122, "fit"),
    "fun_adam": (functional, adam, 122, "fit"),
    "trainer_seeded": (sequential, adam, 100, "trainer"),
    "sync_bn": (batchnorm, sgd, 120, "fit"),
    "local_bn": (batchnorm, sgd, 120, "fit"),
    "dropout": (dropout, adam, 120, "fit"),
    "seq_metrics": (binary, adam, 122, "metrics"),
}


def train_case(name, batch_size, distribute=None, callbacks=(), model=None, samples=None):
    """Train case `name` from `zen.set_seed(0)`; returns (model, History, the
    random draws made at each epoch's start, or for "seq_metrics" the running
    AUC at each epoch's last batch)."""
    build, optimizer, n, api = CASES[name]
    zen.set_seed(0)
    model = build() if model is None else model
    x, y = data(samples or n)
    draws = []
    hooks = [LambdaCallback(on_epoch_begin=lambda epoch, logs: draws.append(
        float(zen.rng.generator().random())))] if name == "dropout" else []
    if api == "metrics":  # each rank's own running AUC at its last batch of each epoch
        hooks = [LambdaCallback(on_epoch_begin=lambda epoch, logs: draws.append(None),
                                on_train_batch_end=lambda batch, logs: draws.__setitem__(
                                    -1, logs["auc"]))]
    hooks += list(callbacks)
    if api == "metrics":  # an epoch's AUC, precision, weighted AUC: the job's, summed states
        model.compile(optimizer(), "binary_crossentropy",
                      [zen.metrics.AUC(name="auc"), zen.metrics.AUC(curve="PR", name="pr_auc"),
                       zen.metrics.Precision(name="precision"),
                       zen.metrics.Recall(name="recall")],
                      weighted_metrics=[zen.metrics.AUC(name="auc"), "accuracy"])
        history = model.fit(x, (y > 0).astype(np.float32), epochs=EPOCHS,
                            batch_size=batch_size, validation_split=0.2, verbose=0,
                            callbacks=hooks, distribute=distribute,
                            sample_weight=np.linspace(0.2, 2.0, len(x)))
    elif api == "trainer":
        trainer = zen.Trainer(model, LOSS, optimizer(), ["accuracy"], distribute=distribute)
        history = trainer.fit(DataLoader(ArrayDataset(x[:80], y[:80]), batch_size,
                                         shuffle=True, seed=3), epochs=EPOCHS,
                              val_loader=DataLoader(ArrayDataset(x[80:], y[80:]), 16),
                              verbose=0, callbacks=hooks)
    else:
        weighted = name == "seq_weighted"  # sample weights and a weighted metric
        model.compile(optimizer(), LOSS, ["accuracy"],
                      weighted_metrics=["accuracy"] if weighted else None)
        history = model.fit(x, y, epochs=EPOCHS, batch_size=batch_size, validation_split=0.2,
                            verbose=2 if name == "seq_sgd" else 0, callbacks=hooks,
                            distribute=distribute,
                            sample_weight=np.linspace(0.2, 2.0, len(x)) if weighted else None)
    return model, history, draws


def save(out, name, rank, model, history, draws, stats=None):
    np.savez(out / f"{name}_rank{rank}.npz", *model.get_weights())
    (out / f"{name}_rank{rank}.json").write_text(json.dumps(
        {"history": history.history, "epoch": history.epoch, "draws": draws,
         "stats": stats}))


def equivalence(out, dist):
    rank = dist.rank()
    mean = dist.allreduce_mean(np.array([rank, 10 * rank + 1], np.float32))
    model = zen.Sequential([nn.Dense(2)])
    model.build((None, 3))
    model.set_weights([np.full((3, 2), rank, np.float32), np.full(2, -rank, np.float32)])
    dist.broadcast_weights(model, root=1)
    dist.barrier()
    (out / f"api_rank{rank}.json").write_text(json.dumps(
        {"mean": mean.tolist(), "dtype": str(mean.dtype), "is_main": dist.is_main(),
         "size": dist.size(), "weights": [w.tolist() for w in model.get_weights()]}))
    for name in CASES:
        options = {"sync_batchnorm": name == "sync_bn",
                   "bucket_mb": 1e-6 if name.startswith("fun") else 4}  # fun: a bucket per weight
        distribute = dist.DataParallel(**options)
        model, history, draws = train_case(name, B, distribute)
        save(out, name, rank, model, history, draws, distribute.stats)
    files = out / "files"
    callbacks = [CSVLogger(files / f"log_{rank}.csv"),
                 ModelCheckpoint(files / f"checkpoint_{rank}.zen", monitor="val_loss"),
                 BackupAndRestore(files / f"backup_{rank}", delete_checkpoint=False)]
    model, history, _ = train_case("seq_adam", B, dist.DataParallel(), callbacks)
    model.save(files / f"model_{rank}.zen")
    model.save_weights(files / f"weights_{rank}.zen")
    zen.plot_history(history, files / f"curves_{rank}.png")
    stopper = Stopper(rank == 1)
    model, history, draws = train_case("seq_sgd", B, dist.DataParallel(), [stopper])
    save(out, "stop", rank, model, history, draws, {"batches": stopper.batches})


class Stopper(Callback):
    """On one rank only, stops training after batch 2 of epoch 1."""

    def __init__(self, active):
        self.active, self.batches = active, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.active and (self.epoch, batch) == (1, 2):
            self.model.stop_training = True


def fail_at(epoch, action):
    def hook(current, logs):
        if current == epoch and zen.distributed.rank() == 1:
            action()
    return LambdaCallback(on_epoch_begin=hook)


def raise_error():
    raise RuntimeError("rank 1 could not go on")


def main():
    out, scenario = Path(sys.argv[1]), sys.argv[2]
    import zen.distributed as dist  # the reference side of the tests runs without MPI

    if scenario == "raise_before_fit":  # no init(): the README's one-argument script
        if dist.rank() == 1:
            raise_error()
        train_case("seq_sgd", B, dist.DataParallel())
        return
    dist.init()
    if scenario == "equivalence":
        equivalence(out, dist)
    elif scenario in ("raise", "kill"):
        action = raise_error if scenario == "raise" else \
            lambda: os.kill(os.getpid(), signal.SIGKILL)
        train_case("seq_sgd", B, dist.DataParallel(), [fail_at(1, action)])
    elif scenario == "model_mismatch":
        train_case("seq_sgd", B, dist.DataParallel(),
                   model=sequential(17 if dist.rank() == 1 else 16))
    elif scenario == "data_mismatch":
        train_case("seq_sgd", B, dist.DataParallel(), samples=112 if dist.rank() == 1 else None)
    elif scenario == "sync_bn_empty_step":
        train_case("sync_bn", B, dist.DataParallel(sync_batchnorm=True), samples=122)
    elif scenario == "backup":
        fail = [fail_at(2, raise_error)] if (out / "fail").exists() else []
        model, history, draws = train_case("seq_sgd", B, dist.DataParallel(),
                                           [BackupAndRestore(out / "backup")] + fail)
        save(out, "backup", dist.rank(), model, history, draws)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")


if __name__ == "__main__":
    main()
