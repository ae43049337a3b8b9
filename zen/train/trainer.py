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
from numbers import Integral

import numpy as np

from .. import metrics as zen_metrics
from .. import optim
from ..autodiff import Tensor
from ..nn import losses
from ..nn.layer import inference_mode, modes_restored
from .backup import BackupAndRestore
from .callbacks import Callback
from .history import History
from .progress import ProgressLogger, check_verbose, format_logs

__all__ = ["Trainer", "inference_mode", "predict_batches", "RunningMeans"]


class Trainer:
    """Trains `model` on batches from a loader.

    Args:
        model: a Layer (e.g. Sequential) called as `model(x) -> Tensor`.
        loss: a loss called as `loss(pred, target)` -> scalar Tensor, or its
            name ("mse", "sparse_categorical_crossentropy", ...) or class.
        optimizer: an Optimizer, its name ("adam", ...) or class.
        metrics: a list of metric names ("accuracy", "mae", ...) or callables
            `metric(y_true, y_pred) -> float` (default none).
        callbacks: Callbacks used by every `fit` (default none).

    Example:
        trainer = Trainer(model, "sparse_categorical_crossentropy", "adam", ["accuracy"])
        history = trainer.fit(DataLoader(train, 64, shuffle=True), epochs=5,
                              val_loader=DataLoader(test, 256))
        history.history["val_accuracy"]
    """

    def __init__(self, model, loss, optimizer, metrics=None, callbacks=None):
        if not callable(model):
            raise TypeError(f"Received an invalid value for `model`, expected a callable "
                            f"model such as Sequential. Received: {model!r}")
        self.model = model
        self.loss = losses.get(loss)
        self.optimizer = optim.get(optimizer)
        self.metric_specs = _metric_list(metrics)
        self.metrics = {zen_metrics.name_of(m): zen_metrics.get(m) for m in self.metric_specs}
        self.callbacks = _callback_list(callbacks, "callbacks")
        self.history = None
        self.initial_epoch = 0      # the running fit's first epoch (see fit)
        self.train_loader = None    # the running fit's train loader

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
            initial_epoch: int = 0, callbacks=None) -> History:
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
        params = {"epochs": epochs, "steps": _length(train_loader), "verbose": verbose,
                  "initial_epoch": initial_epoch}
        for hook in hooks:
            hook.set_trainer(self)
            hook.set_params(params)
        self.stop_training = False
        self.initial_epoch, self.train_loader = initial_epoch, train_loader
        try:
            with modes_restored(self.model):
                self._loop(hooks, train_loader, val_loader, epochs)
        finally:
            self.train_loader = None  # do not keep the data alive after fit
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
            loss, pred = self.train_step(x, y)
            means.add(self._batch_logs(loss, y, pred), len(x))
            _fire(hooks, "on_train_batch_end", batch, means.result())
            if self.stop_training:
                break
        if means.count == 0:
            raise ValueError("`train_loader` yielded no batches: nothing to train on")
        return means.result()

    def train_step(self, x, y):
        """One optimisation step on a batch; returns (loss as a float,
        predictions as an array)."""
        self.model.train_mode()
        pred = self.model(x)
        loss = _scalar_loss(self.loss(pred, y))
        params = self.model.parameters()  # after the call: the first call builds them
        loss.backward()
        self.optimizer.step(params)
        self.optimizer.zero_grad(params)
        return loss.item(), _values(pred)

    def _batch_logs(self, loss: float, y, pred) -> dict:
        logs = {"loss": loss}
        for name, metric in self.metrics.items():
            logs[name] = float(metric(y, pred))
        return logs

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
                pred = self.model(x)
                loss = _scalar_loss(self.loss(pred, y)).item()
                means.add(self._batch_logs(loss, y, _values(pred)), len(x))
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
    (x, y) or bare arrays x. Needs no compiled loss or optimizer."""
    _check_loader(loader, "loader")
    outputs = []
    with inference_mode(model):
        for data in _progress(loader, check_verbose(verbose), "Predict"):
            x = data[0] if isinstance(data, (tuple, list)) else data
            outputs.append(_values(model(x)))
    if not outputs:
        raise ValueError("The loader yielded no batches: nothing to predict")
    return np.concatenate(outputs, axis=0)


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


def _metric_list(metrics):
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    metrics = list(metrics)
    for metric in metrics:
        zen_metrics.get(metric)  # unknown names fail here, at compile time
    names = [zen_metrics.name_of(m) for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"Received duplicate metric names: {names}")
    return metrics


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


def _scalar_loss(loss):
    if not isinstance(loss, Tensor) or loss.size != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"The loss must return a scalar Tensor. Received: {shape}")
    return loss


def _values(pred):
    return pred.value if isinstance(pred, Tensor) else np.asarray(pred)


def _progress(loader, verbose, title):
    if verbose != 1:
        return loader
    from tqdm import tqdm
    return tqdm(loader, desc=title, total=_length(loader), unit="batch")
