"""`Trainer`: the training loop, one flat `fit` with named hook points.

    fit:  on_train_begin
          for each epoch:      on_epoch_begin
              for each batch:  on_train_batch_begin, train_step, on_train_batch_end
              validation (inference mode, no graph)
                               on_epoch_end(epoch, logs)
          on_train_end

A step is the whole algorithm of training: forward pass in training mode,
loss, backward pass, optimiser update, gradients reset. Logs are plain
dicts of Python floats: "loss" and each metric as means over the samples
seen (each batch mean weighted by the batch size), and "val_" versions.
"""
from contextlib import nullcontext
from numbers import Integral

import numpy as np

from .. import optim
from ..autodiff import Tensor
from ..nn.layer import inference_mode, modes_restored
from ..tree import flatten
from .backup import BackupAndRestore
from .callbacks import Callback
from .history import History
from .objective import Objective, as_output_list
from .progress import ProgressLogger, check_verbose, format_logs, interactive_output

__all__ = ["Trainer", "inference_mode", "predict_batches", "RunningMeans"]


class Trainer:
    """Trains `model` on batches from a loader.

    Args:
        model: a Layer (e.g. Sequential) called as `model(x) -> Tensor`.
        loss: a loss called as `loss(pred, target)` -> scalar Tensor, or its
            name ("mse", "sparse_categorical_crossentropy", ...) or class;
            for a model with several outputs also a list (output order) or
            a dict by output name (see `zen.train.objective`).
        optimizer: an Optimizer, its name ("adam", ...) or class.
        metrics: a list of metric names ("accuracy", "mae", ...) or callables
            `metric(y_true, y_pred) -> float` (default none); per output as
            a list of lists or a dict by output name.
        callbacks: Callbacks used by every `fit` (default none).
        loss_weights: the weight of each output's loss in the total (a
            number, a list or a dict by output name; default 1 each).
        distribute: how `fit` trains on several processes, e.g.
            `zen.distributed.DataParallel()` (default None: this process only).

    Batches are (x, y): x one array or a list/dict of arrays (one per model
    input), y one array or a list/dict (one per output).

    Example:
        trainer = Trainer(model, "sparse_categorical_crossentropy", "adam", ["accuracy"])
        history = trainer.fit(DataLoader(train, 64, shuffle=True), epochs=5,
                              val_loader=DataLoader(test, 256))
        history.history["val_accuracy"]
    """

    def __init__(self, model, loss, optimizer, metrics=None, callbacks=None, loss_weights=None,
                 distribute=None):
        if not callable(model):
            raise TypeError(f"Received an invalid value for `model`, expected a callable "
                            f"model such as Sequential. Received: {model!r}")
        self.model = model
        self.objective = Objective(loss, metrics, loss_weights)
        if getattr(model, "output_names", None):  # else resolved at the first batch
            self.objective.resolve(model.output_names)
        self.optimizer = optim.get(optimizer)
        self.callbacks = _callback_list(callbacks, "callbacks")
        self.history = None
        self.initial_epoch = 0      # the running fit's first epoch (see fit)
        self.train_loader = None    # the running fit's train loader
        self.distribute = distribute
        self._distribute = None     # the running fit's (see train_step)

    # ----- the compiled loss and metrics ------------------------------------------------
    @property
    def loss(self):
        """The loss (one output) or the list of losses in output order."""
        objective = self.objective
        if objective.names is None or not objective.multi_output:
            single = getattr(objective, "single_loss", None)
            if single is not None:
                return single
            # a list or dict of losses not yet bound to the outputs: as compiled
            return objective.losses[0] if objective.names else objective.loss_spec
        return list(objective.losses)

    @loss.setter
    def loss(self, loss):
        if loss is self.loss or (isinstance(loss, list) and loss == self.loss):
            return
        old = self.objective
        self.objective = Objective(loss, old.metric_spec, old.weight_spec)
        if old.names is not None:
            self.objective.resolve(old.names)

    @property
    def metrics(self) -> dict:
        """{log name: metric function} of a one-output model ({} for several)."""
        objective = self.objective
        if objective.names is None:  # not bound to outputs yet: read the flat list
            objective = Objective(objective.loss_spec, objective.metric_spec).resolve(
                ["output"])
        return {} if objective.multi_output else dict(objective.metric_fns[0])

    def _outputs(self, pred) -> list:
        """The model's outputs as a list in output order (fixing the output
        names at the first batch for models that did not declare them)."""
        if self.objective.names is None:
            if isinstance(pred, dict):
                names = list(pred)
            elif isinstance(pred, (list, tuple)):
                names = [f"output_{i + 1}" for i in range(len(pred))] if len(pred) > 1 \
                    else ["output"]
            else:
                names = ["output"]
            self.objective.resolve(names)
        return as_output_list(pred, self.objective.names, "model's output")

    # A callback stops training by setting model.stop_training (Keras's way);
    # trainer.stop_training reads and writes that same flag.
    @property
    def stop_training(self) -> bool:
        return bool(getattr(self.model, "stop_training", False))

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.model.stop_training = bool(value)

    # ----- fit --------------------------------------------------------------------
    def fit(self, train_loader, epochs: int = 1, val_loader=None, verbose=1,
            initial_epoch: int = 0, callbacks=None, distribute=None) -> History:
        """Train for epochs `initial_epoch .. epochs - 1` and return the History.

        Args:
            train_loader: an iterable of (x, y) batches, re-iterated each
                epoch (a DataLoader).
            epochs: the epoch to stop at (default 1); with `initial_epoch`
                that is `epochs - initial_epoch` epochs, as in Keras.
            val_loader: (x, y) batches evaluated after each epoch (optional).
            verbose: 0 silent, 1 a progress bar per epoch, 2 a line per epoch.
            initial_epoch: the epoch to start from (to resume a run); a
                callback may move it in `on_train_begin` (BackupAndRestore
                does, setting `trainer.initial_epoch`).
            callbacks: more Callbacks for this call only.
            distribute: for this call instead of the Trainer's `distribute`
                (see zen.distributed.DataParallel).

        During the call `trainer.train_loader` is `train_loader` (a
        BackupAndRestore saves and restores its generator state).
        """
        _check_loader(train_loader, "train_loader")
        if val_loader is not None:
            _check_loader(val_loader, "val_loader")
        epochs = _check_int(epochs, "epochs", 0)
        initial_epoch = _check_int(initial_epoch, "initial_epoch", 0)
        verbose = check_verbose(verbose)
        self.history = History()
        hooks = _ordered(self.callbacks + _callback_list(callbacks, "callbacks"), self.history)
        if verbose:
            hooks.append(ProgressLogger(verbose))
        distribute = self.distribute if distribute is None else distribute
        if distribute is not None:  # shard the data, start from rank 0's state
            train_loader, val_loader, hooks = distribute.prepare(
                self, train_loader, val_loader, hooks)
        params = {"epochs": epochs, "steps": _length(train_loader), "verbose": verbose,
                  "initial_epoch": initial_epoch}
        for hook in hooks:
            hook.set_trainer(self)
            hook.set_params(params)
        self.stop_training = False
        self.initial_epoch, self.train_loader = initial_epoch, train_loader
        self._distribute = distribute
        running = distribute.running() if distribute is not None else nullcontext()
        try:
            with modes_restored(self.model), running:
                self._loop(hooks, train_loader, val_loader, epochs)
        finally:
            self.train_loader = None  # do not keep the data alive after fit
            self._distribute = None
        return self.history

    def _loop(self, hooks, train_loader, val_loader, epochs):
        logs = {}
        _fire(hooks, "on_train_begin", logs)
        # read after on_train_begin: a callback restoring a backup moves it
        for epoch in range(self.initial_epoch, epochs):
            _fire(hooks, "on_epoch_begin", epoch, {})
            logs = self._train_epoch(hooks, train_loader)
            if val_loader is not None:
                validation = self.evaluate(val_loader)
                logs.update({f"val_{key}": value for key, value in validation.items()})
            _fire(hooks, "on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        _fire(hooks, "on_train_end", logs)

    def _train_epoch(self, hooks, loader) -> dict:
        means = RunningMeans()
        for batch, data in enumerate(loader):
            _fire(hooks, "on_train_batch_begin", batch, {})
            x, y = _unpack(data, "train_loader")
            losses, preds = self.train_step(x, y)
            means.add(self._batch_logs(losses, y, preds), batch_length(x))
            _fire(hooks, "on_train_batch_end", batch, means.result())
            if self.stop_training:
                break
        if means.count == 0:
            raise ValueError("`train_loader` yielded no batches: nothing to train on")
        return means.result()

    def train_step(self, x, y):
        """One optimisation step on a batch; returns (the loss logs: "loss"
        and, with several outputs, "<output>_loss"; the predictions as a list
        of arrays in output order)."""
        self.model.train_mode()
        preds = self._outputs(self.model(x))
        targets = as_output_list(y, self.objective.names, "targets")
        loss, logs = self.objective(preds, targets)
        params = self.model.parameters()  # after the call: the first call builds them
        loss.backward()
        if self._distribute is not None:  # average the gradients over the processes
            self._distribute.synchronize(params)
        self.optimizer.step(params)
        self.optimizer.zero_grad(params)
        return logs, [_values(pred) for pred in preds]

    def _batch_logs(self, loss_logs: dict, y, preds: list) -> dict:
        targets = as_output_list(y, self.objective.names, "targets")
        return {**loss_logs, **self.objective.metric_logs(targets, preds)}

    # ----- evaluate and predict -------------------------------------------------------
    def evaluate(self, loader, verbose=0) -> dict:
        """Loss and metrics over all batches of `loader` (means over samples),
        in inference mode without recording a graph.

        Example:
            trainer.evaluate(DataLoader(test, batch_size=256))  # {"loss": ..., "accuracy": ...}
        """
        _check_loader(loader, "loader")
        verbose = check_verbose(verbose)
        means = RunningMeans()
        with inference_mode(self.model):
            for data in _progress(loader, verbose, "Evaluate"):
                x, y = _unpack(data, "loader")
                preds = self._outputs(self.model(x))
                _, loss_logs = self.objective(preds, as_output_list(
                    y, self.objective.names, "targets"))
                means.add(self._batch_logs(loss_logs, y, [_values(p) for p in preds]),
                          batch_length(x))
        if means.count == 0:
            raise ValueError("The loader yielded no batches: nothing to evaluate")
        result = means.result()
        if verbose == 2:
            print(format_logs(result), flush=True)
        return result

    def predict(self, loader, verbose=0) -> np.ndarray:
        """The model's outputs for every batch of `loader`, concatenated, in
        inference mode (see `predict_batches`)."""
        return predict_batches(self.model, loader, verbose)

    def __repr__(self):
        return (f"Trainer(model={type(self.model).__name__}, loss={self.loss!r}, "
                f"optimizer={self.optimizer!r}, metrics={list(self.metrics)})")


def predict_batches(model, loader, verbose=0) -> np.ndarray:
    """`model`'s outputs for every batch of `loader`, concatenated along the
    batch axis, in inference mode without a graph. Batches may be (x,),
    (x, y) or bare arrays x. Needs no compiled loss or optimizer. A model
    with several outputs gives a list (or dict) of arrays, as Keras does."""
    _check_loader(loader, "loader")
    outputs = []
    with inference_mode(model):
        for data in _progress(loader, check_verbose(verbose), "Predict"):
            x = data[0] if isinstance(data, tuple) else data
            outputs.append(model(x))
    if not outputs:
        raise ValueError("The loader yielded no batches: nothing to predict")
    first = outputs[0]
    if isinstance(first, dict):
        return {key: np.concatenate([_values(o[key]) for o in outputs]) for key in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([_values(o[i]) for o in outputs]) for i in range(len(first))]
    return np.concatenate([_values(o) for o in outputs], axis=0)


class RunningMeans:
    """Means over samples of logged batch means: each batch counts by its size."""

    def __init__(self):
        self.sums, self.count = {}, 0

    def add(self, logs: dict, size: int) -> None:
        for key, value in logs.items():
            self.sums[key] = self.sums.get(key, 0.0) + value * size
        self.count += size

    def result(self) -> dict:
        return {key: total / self.count for key, total in self.sums.items()}


# ----- small checks ----------------------------------------------------------------------
def _fire(hooks, name, *args):
    for hook in hooks:
        getattr(hook, name)(*args)


def _ordered(callbacks, history):
    """The hooks in firing order: the user's callbacks, then History, then
    BackupAndRestore, which saves the epoch History just recorded (and the
    learning rate other callbacks just set) and restores a History that
    History.on_train_begin would otherwise reset."""
    backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
    return [c for c in callbacks if not isinstance(c, BackupAndRestore)] + [history] + backups


def _callback_list(callbacks, name):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"Received an invalid value for `{name}`, expected a list of "
                            f"zen.callbacks.Callback instances. Received: {callback!r}")
    return callbacks


def _check_loader(loader, name):
    if isinstance(loader, (np.ndarray, Tensor)) or not hasattr(loader, "__iter__"):
        raise TypeError(f"Received an invalid value for `{name}`, expected an iterable of "
                        f"(x, y) batches such as a zen.data.DataLoader (use model.fit for "
                        f"arrays). Received: {type(loader).__name__}")


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"Received an invalid value for `{name}`, expected an integer "
                         f">= {low}. Received: {name}={value!r}")
    return int(value)


def _length(loader):
    try:
        return len(loader)
    except TypeError:
        return None


def _unpack(data, name):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        got = f"a tuple of {len(data)} items" if isinstance(data, (tuple, list)) \
            else type(data).__name__
        raise ValueError(f"`{name}` must yield (x, y) batches. Received: {got}")
    return data


def batch_length(x) -> int:
    """The number of samples in a batch: one array, or a list/dict of them."""
    return len(flatten(x)[0])


def _values(pred):
    return pred.value if isinstance(pred, Tensor) else np.asarray(pred)


def _progress(loader, verbose, title):
    if verbose != 1 or not interactive_output():
        return loader
    from tqdm import tqdm
    return tqdm(loader, desc=title, total=_length(loader), unit="batch")
