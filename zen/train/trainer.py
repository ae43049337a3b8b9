"""`Trainer`: the training loop, one flat `fit` with named hook points.

    fit:  on_train_begin
          for each epoch:      on_epoch_begin
              for each batch:  on_train_batch_begin, train_step, on_train_batch_end
              validation (inference mode, no graph)
                               on_epoch_end(epoch, logs)
          on_train_end

A step is the whole algorithm of training: forward pass in training mode
(`training=True`), loss, backward pass, optimiser update, gradients reset.
Batches are `(x, y)` or `(x, y, sample_weight)`. Logs are plain dicts of
Python floats: "loss" as the mean over the samples seen and each metric's
`result()` on everything seen since the epoch began (Keras's stateful
metrics, reset at each epoch's start and before each evaluation; weighted
metrics weigh each sample by its sample weight), and "val_" versions.
"""
import warnings

import numpy as np

from .. import optim
from ..autodiff import Tensor, no_grad
from ..data.dataset import get_batch
from ..nn.layer import Layer, inference_mode, training_scope
from ..nn.masking import get_mask
from ..tree import batch_length
from ..validation import check_int, invalid, is_int
from .backup import BackupAndRestore
from .callbacks import Callback
from .epochs import Epochs, length_of
from .history import History
from .objective import Objective, RunningMetrics, as_output_list, weights_per_output
from .progress import ProgressLogger, check_verbose, format_logs, interactive_output
from .strategy import Strategy

LOCAL = Strategy()  # training in this process alone

__all__ = ["Trainer", "inference_mode", "predict_batches", "batch_length"]


class Trainer:
    """Trains `model` on batches from a loader.

    Args:
        model: a Layer (e.g. Sequential) called as `model(x) -> Tensor`.
        loss: a loss called as `loss(y_true, y_pred)` -> Tensor, or its
            name ("mse", "sparse_categorical_crossentropy", ...) or class;
            for a model with several outputs also a list (output order) or
            a dict by output name (see `zen.train.objective`).
        optimizer: an Optimizer, its name ("adam", ...) or class.
        metrics: a list of metrics (default none): Metric objects
            (`zen.metrics.AUC()`, ...), names ("accuracy", "mae", "auc",
            ...) or functions `metric(y_true, y_pred)`; per output as a
            list of lists or a dict by output name.
        callbacks: Callbacks used by every `fit` (default none).
        loss_weights: the weight of each output's loss in the total (a
            number, a list or a dict by output name; default 1 each).
        weighted_metrics: metrics weighted by the batches' sample weights.
        distribute: a `Strategy` for training on several processes, e.g.
            `zen.distributed.DataParallel()` (default None: this process
            only); see `zen.train.strategy` for where the loop hands over.

    Batches are (x, y) or (x, y, sample_weight): x one array or a list/dict
    of arrays (one per model input), y one array or a list/dict (one per
    output), sample_weight one array (every output) or one per output.

    Example:
        trainer = Trainer(model, "sparse_categorical_crossentropy", "adam", ["accuracy"])
        history = trainer.fit(DataLoader(train, 64, shuffle=True), epochs=5,
                              val_loader=DataLoader(test, 256))
        history.history["val_accuracy"]
    """

    def __init__(self, model, loss, optimizer, metrics=None, callbacks=None, loss_weights=None,
                 distribute=None, weighted_metrics=None):
        if not callable(model):
            raise TypeError(f"Received an invalid value for `model`, expected a callable "
                            f"model such as Sequential. Received: {model!r}")
        self.model = model
        self.objective = Objective(loss, metrics, loss_weights, weighted_metrics)
        if getattr(model, "output_names", None):  # else resolved at the first batch
            self.objective.resolve(model.output_names)
        self.optimizer = optim.get(optimizer)
        self.callbacks = _callback_list(callbacks, "callbacks")
        self.history = None
        self.initial_epoch = 0      # the running fit's first epoch (see fit)
        self.train_loader = None    # the running fit's train loader
        self.distribute = distribute
        self._distribute = LOCAL    # the running fit's strategy (see train_step)

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
        self.objective = Objective(loss, old.metric_spec, old.weight_spec,
                                   old.weighted_metric_spec)
        if old.names is not None:
            self.objective.resolve(old.names)

    @property
    def metrics(self) -> dict:
        """{log name: Metric} of the plain metrics of a one-output model ({}
        for several)."""
        objective = self.objective
        if objective.names is None:  # not bound to outputs yet: read the flat list
            objective = Objective(objective.loss_spec, objective.metric_spec).resolve(
                ["output"])
        return {} if objective.multi_output else \
            {key: metric for key, _, metric, weighted in objective.metric_entries
             if not weighted}

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
        """Whether training stops after the current batch (the model's `stop_training` flag)."""
        return bool(getattr(self.model, "stop_training", False))

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.model.stop_training = bool(value)

    @property
    def is_main_process(self) -> bool:
        """Whether this process prints and writes files for the job: always
        outside a fit over several processes, only on the main one inside
        (the running fit's strategy answers)."""
        return self._distribute.is_main_process

    # ----- fit --------------------------------------------------------------------
    def fit(self, train_loader, epochs: int = 1, val_loader=None, verbose=1,
            initial_epoch: int = 0, callbacks=None, distribute=None, steps_per_epoch=None,
            validation_steps=None, validation_freq=1) -> History:
        """Train for epochs `initial_epoch .. epochs - 1` and return the History.

        Args:
            train_loader: the batches, `(x, y)` or `(x, y, sample_weight)`:
                a DataLoader (re-iterated each epoch) or a generator (drawn
                until it ends; see `zen.train.epochs`).
            epochs: the epoch to stop at (default 1); with `initial_epoch`
                that is `epochs - initial_epoch` epochs, as in Keras.
            val_loader: batches evaluated after each epoch (optional).
            verbose: 0 silent, 1 a progress bar per epoch, 2 a line per epoch.
            initial_epoch: the epoch to start from (to resume a run); a
                callback may move it in `on_train_begin` (BackupAndRestore
                does, setting `trainer.initial_epoch`).
            callbacks: more Callbacks for this call only.
            distribute: for this call instead of the Trainer's `distribute`
                (see zen.distributed.DataParallel).
            steps_per_epoch: batches per epoch (default: one pass).
            validation_steps: validation batches per validation (default all).
            validation_freq: validate every this many epochs, or after the
                epochs (counted from 1) of a list (default 1).

        A model not built yet is built on the first sample before the first
        epoch's order is drawn. The fit's strategy stays in
        `model.distribute_strategy` (None for this process alone). During the call `trainer.train_loader` is
        `train_loader` (a BackupAndRestore saves and restores its state).
        """
        _check_loader(train_loader, "train_loader")
        if val_loader is not None:
            _check_loader(val_loader, "val_loader")
        epochs = check_int(epochs, "epochs", 0)
        initial_epoch = check_int(initial_epoch, "initial_epoch", 0)
        steps_per_epoch = _check_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = _check_steps(validation_steps, "validation_steps")
        validate_after = _validation_epochs(validation_freq)
        verbose = check_verbose(verbose)
        build_on_first_sample(self.model, train_loader)
        self.history = History()
        hooks = _ordered(self.callbacks + _callback_list(callbacks, "callbacks"), self.history)
        if verbose:
            hooks.append(ProgressLogger(verbose))
        distribute = distribute or self.distribute or LOCAL
        train_loader, val_loader, hooks = distribute.prepare(self, train_loader, val_loader,
                                                             hooks)
        self._distribute = distribute
        # what the model's files ask after the fit (zen.train.strategy.writes_files)
        self.model.distribute_strategy = None if distribute is LOCAL else distribute
        batches = Epochs(train_loader, steps_per_epoch)
        validation = None if val_loader is None else Epochs(val_loader, validation_steps)
        params = {"epochs": epochs, "steps": length_of(batches), "verbose": verbose,
                  "initial_epoch": initial_epoch}
        for hook in hooks:
            hook.set_trainer(self)
            hook.set_params(params)
        self.stop_training = False
        self.initial_epoch, self.train_loader = initial_epoch, train_loader
        try:
            with distribute.running():
                self._loop(hooks, batches, validation, epochs, validate_after, distribute)
        finally:
            self.train_loader = None  # do not keep the data alive after fit
            self._distribute = LOCAL
            if isinstance(self.model, Layer):
                self.model.eval_mode()  # a fitted model infers, whatever it was set to
        return self.history

    def _loop(self, hooks, batches, validation, epochs, validate_after, distribute):
        logs = {}
        _fire(hooks, "on_train_begin", logs)
        # read after on_train_begin: a callback restoring a backup moves it
        for epoch in range(self.initial_epoch, epochs):
            _fire(hooks, "on_epoch_begin", epoch, {})
            running = self._train_epoch(hooks, batches)
            if running.samples == 0:  # a generator that had run out (it warned): Keras stops
                break
            validated = None
            if validation is not None and validate_after(epoch + 1):
                validated = self._validate(hooks, validation)
            # the job's state (summed over processes) before any result is read
            distribute.reduce_metrics(running.metrics + (validated.metrics if validated else []))
            logs = running.result()
            if validated is not None and validated.samples:  # a run-out generator adds nothing
                logs.update(validated.result(prefix="val_"))
            _fire(hooks, "on_epoch_end", epoch, logs)
            if self._stop_agreed():
                break
        if epochs > 0:  # Keras: with use_ema the averages become the weights
            self.optimizer.finalize_variable_values(self.model.parameters())
        _fire(hooks, "on_train_end", logs)

    def _train_epoch(self, hooks, batches) -> RunningMetrics:
        """The epoch's losses and metrics (reset first; nothing seen when a
        one-shot source had run out)."""
        running = RunningMetrics(self.objective)
        reads_batch_logs = _read_by_any(hooks, "on_train_batch_end", "on_batch_end")
        for batch, data in enumerate(batches):
            x, y, sample_weight = unpack_batch(data, "train_loader")
            size = batch_length(x)
            if size == 0:  # a process's share of a short last global batch
                self.train_step(x, y, sample_weight)  # steps alike, seen by no callback
            else:
                _fire(hooks, "on_train_batch_begin", batch, {})
                losses, preds, masks = self._train_batch(x, y, sample_weight)
                self._update(running, losses, y, preds, sample_weight, size, masks)
                _fire(hooks, "on_train_batch_end", batch,
                      running.result() if reads_batch_logs else {})
            if self._stop_agreed():
                break
        if running.samples == 0 and not batches.one_shot:
            raise ValueError("`train_loader` yielded no batches: nothing to train on")
        return running

    def _stop_agreed(self) -> bool:
        """Whether the job stops here: asked by a callback on this process or
        (the strategy's `agree_to_stop`) on any other."""
        if self._distribute.agree_to_stop(self.stop_training):
            self.stop_training = True
        return self.stop_training

    def _validate(self, hooks, batches) -> RunningMetrics:
        """An epoch's validation, between `on_test_begin` and `on_test_end`,
        on copies of the metrics (the compiled ones hold the epoch's
        training state until the epoch's logs are read)."""
        _fire(hooks, "on_test_begin", {})
        running = self._evaluate_batches(batches, hooks=hooks, mirrored=True)
        _fire(hooks, "on_test_end", running.result())
        return running

    def train_step(self, x, y, sample_weight=None):
        """One optimisation step on a batch; returns (the loss logs: "loss"
        and, with several outputs, "<output>_loss"; the predictions as a list
        of arrays in output order).

        A batch of no samples (a process's share of a short last global
        batch) is a step with zero gradients: it logs nothing but takes part
        in the strategy's `synchronize`, so every process steps alike."""
        logs, preds, _ = self._train_batch(x, y, sample_weight)
        return logs, preds

    def _train_batch(self, x, y, sample_weight=None):
        """`train_step`, also returning the predictions' masks (None for an
        output without one; see zen.nn.masking), which weigh the metrics."""
        if batch_length(x) == 0:
            params = self.model.parameters()
            for p in params:
                p.gradient = np.zeros_like(p.value)
            self._step(params)
            return {}, [], []
        preds = self._outputs(call_model(self.model, x, training=True))
        targets = as_output_list(y, self.objective.names, "targets")
        weights = weights_per_output(sample_weight, self.objective.names)
        loss, logs = self.objective(preds, targets, weights, _added_losses(self.model))
        params = self.model.parameters()  # after the call: the first call builds them
        masks = [get_mask(pred) for pred in preds]
        if not params and self._distribute is LOCAL:  # all frozen: Keras warns and goes on
            warnings.warn("The model does not have any trainable weights.", UserWarning,
                          stacklevel=2)
            return logs, [_values(pred) for pred in preds], masks
        loss.backward()
        self._step(params)
        return logs, [_values(pred) for pred in preds], masks

    def _step(self, params) -> None:
        self._distribute.synchronize(params)  # e.g. averaged over the processes
        self.optimizer.step(params)
        self.optimizer.zero_grad(params)

    def _update(self, running, loss_logs: dict, y, preds: list, sample_weight, size,
                masks=None) -> None:
        """Add a batch's losses and arrays (and the predictions' masks) to `running`."""
        names = self.objective.names
        running.update(loss_logs, as_output_list(y, names, "targets"), preds,
                       weights_per_output(sample_weight, names), size, masks)

    def _batch_logs(self, loss_logs: dict, y, preds: list, sample_weight=None,
                    masks=None) -> dict:
        """The logs of one batch: its loss and metrics (the metrics reset first)."""
        running = RunningMetrics(self.objective)
        self._update(running, loss_logs, y, preds, sample_weight, len(preds[0]), masks)
        return running.result()

    # ----- evaluate and predict -------------------------------------------------------
    def evaluate(self, loader, verbose=0, steps=None) -> dict:
        """Loss and metrics over all batches of `loader` (means over samples),
        in inference mode without recording a graph.

        Example:
            trainer.evaluate(DataLoader(test, batch_size=256))  # {"loss": ..., "accuracy": ...}
        """
        _check_loader(loader, "loader")
        verbose = check_verbose(verbose)
        running = self._evaluate_batches(Epochs(loader, _check_steps(steps, "steps")), verbose)
        if running.samples == 0:
            raise ValueError("The loader yielded no batches: nothing to evaluate")
        result = running.result()
        if verbose == 2:
            print(format_logs(result), flush=True)
        return result

    def _evaluate_batches(self, batches, verbose=0, hooks=(), mirrored=False) -> RunningMetrics:
        """The loss and metrics over `batches` (firing the test-batch hooks of
        `hooks`): the compiled metrics, reset first, or copies of them
        (`mirrored`, for fit's validation)."""
        running = RunningMetrics(self.objective, mirrored)
        reads_batch_logs = _read_by_any(hooks, "on_test_batch_end")
        with inference_mode():
            for batch, data in enumerate(_progress(batches, verbose, "Evaluate")):
                x, y, sample_weight = unpack_batch(data, "loader")
                if batch_length(x) == 0:  # a process's empty share of a last batch
                    continue
                _fire(hooks, "on_test_batch_begin", batch, {})
                preds = self._outputs(call_model(self.model, x, training=False))
                targets = as_output_list(y, self.objective.names, "targets")
                weights = weights_per_output(sample_weight, self.objective.names)
                _, loss_logs = self.objective(preds, targets, weights,
                                              _added_losses(self.model))
                self._update(running, loss_logs, y, [_values(p) for p in preds],
                             sample_weight, batch_length(x), [get_mask(p) for p in preds])
                _fire(hooks, "on_test_batch_end", batch,
                      running.result() if reads_batch_logs else {})
        return running

    def predict(self, loader, verbose=0) -> np.ndarray:
        """The model's outputs for every batch of `loader`, concatenated, in
        inference mode (see `predict_batches`)."""
        return predict_batches(self.model, loader, verbose)

    def __repr__(self):
        return (f"Trainer(model={type(self.model).__name__}, loss={self.loss!r}, "
                f"optimizer={self.optimizer!r}, metrics={list(self.metrics)})")


def predict_batches(model, loader, verbose=0, steps=None) -> np.ndarray:
    """`model`'s outputs for every batch of `loader`, concatenated along the
    batch axis, in inference mode without a graph. Batches may be (x,),
    (x, y), (x, y, sample_weight) or bare inputs x. Needs no compiled loss
    or optimizer. A model with several outputs gives a list (or dict) of
    arrays, as Keras does."""
    _check_loader(loader, "loader")
    outputs = []
    with inference_mode():
        for data in _progress(Epochs(loader, _check_steps(steps, "steps")),
                              check_verbose(verbose), "Predict"):
            x = data[0] if isinstance(data, tuple) else data
            outputs.append(call_model(model, x, training=False))
    if not outputs:
        raise ValueError("The loader yielded no batches: nothing to predict")
    first = outputs[0]
    if isinstance(first, dict):
        return {key: np.concatenate([_values(o[key]) for o in outputs]) for key in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([_values(o[i]) for o in outputs]) for i in range(len(first))]
    return np.concatenate([_values(o) for o in outputs], axis=0)


# ----- small checks ----------------------------------------------------------------------
def _added_losses(model) -> list:
    """The model's `losses` (Keras's: `add_loss` values and weight penalties)."""
    return model.losses if isinstance(model, Layer) else []


def _read_by_any(hooks, *names) -> bool:
    """Whether any of `hooks` may read the logs a batch hook is given: it (or
    its class) overrides one of `names` (e.g. `on_train_batch_end` and
    `on_batch_end`, which Callback's calls). Where none does, they get empty
    logs, which spares a read of every metric each batch."""
    return any(getattr(getattr(hook, name), "__func__", None) is not getattr(Callback, name)
               for hook in hooks for name in names)


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


def call_model(model, x, training: bool):
    """`model(x)` with Keras's explicit `training`: given to a Layer, or
    reaching the layers a plain callable calls."""
    if isinstance(model, Layer):
        return model(x, training=training)
    with training_scope(training):
        return model(x)


def build_on_first_sample(model, loader) -> None:
    """Build a Layer that is not built yet on the first sample of `loader`'s
    dataset (in inference mode, without a graph), so that its weights are
    drawn before anything else: a one-process and a data-parallel `fit`
    then start alike. Other sources build at their first batch."""
    dataset = getattr(loader, "dataset", None)
    if not isinstance(model, Layer) or model.built or dataset is None or not len(dataset):
        return
    batch = get_batch(dataset, np.arange(1))
    with no_grad():
        call_model(model, batch[0] if isinstance(batch, tuple) else batch, training=False)


def unpack_batch(data, name) -> tuple:
    """(x, y, sample_weight or None) from an `(x, y)` or `(x, y, sample_weight)` batch."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        got = f"a tuple of {len(data)} items" if isinstance(data, (tuple, list)) \
            else type(data).__name__
        raise ValueError(f"`{name}` must yield (x, y) or (x, y, sample_weight) batches. "
                         f"Received: {got}")
    return (data[0], data[1], data[2] if len(data) == 3 else None)


def _check_loader(loader, name):
    if isinstance(loader, (np.ndarray, Tensor)) or not hasattr(loader, "__iter__"):
        raise TypeError(f"Received an invalid value for `{name}`, expected an iterable of "
                        f"(x, y) batches such as a zen.data.DataLoader (use model.fit for "
                        f"arrays). Received: {type(loader).__name__}")


def _check_steps(steps, name):
    """None (as many batches as the data gives) or an integer >= 1."""
    return None if steps is None else check_int(steps, name, 1)


def _validation_epochs(freq):
    """A test `validate(epoch)` for epochs counted from 1: every `freq`-th
    epoch (an int), or the epochs listed (Keras's validation_freq)."""
    if is_int(freq) and freq >= 1:
        return lambda epoch: epoch % int(freq) == 0
    if isinstance(freq, (list, tuple, set, range)) and all(map(is_int, freq)):
        listed = set(freq)
        return lambda epoch: epoch in listed
    raise invalid("validation_freq", "a positive integer or a list of epochs", freq)


def _values(pred):
    return pred.value if isinstance(pred, Tensor) else np.asarray(pred)


def _progress(loader, verbose, title):
    if verbose != 1 or not interactive_output():
        return loader
    from tqdm import tqdm
    return tqdm(loader, desc=title, total=length_of(loader), unit="batch")
