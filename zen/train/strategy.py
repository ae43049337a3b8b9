"""`Strategy`: the one seam between the training loop and a way of training
on several processes.

`Trainer.fit` hands over at these named points and nowhere else:

1. `prepare(trainer, train_loader, val_loader, callbacks)`, once before
   training: the strategy may wrap the data (each process its shard) and
   the callbacks (keep the ones in `main_process_only` on the main process,
   add its own that keep the processes in step);
2. `running()`, a context around the whole loop: set up and torn down
   (gradient hooks, communicators), and the place to turn an exception on
   one process into the end of the job;
3. `synchronize(params)`, in every training step after the backward pass
   and before the optimizer step: the gradients of `params` become the
   job's (a step whose batch holds no sample comes here too, with zero
   gradients, so that every process makes the same steps);
4. `agree_to_stop(stop)`, after every training step and every epoch:
   whether the job stops, when a callback on this process (`stop`) or on
   another asked it, so that all processes stop after the same step;
5. `reduce_metrics(metrics)`, at every epoch's end before any result is
   read (after the validation, when there is one): the state of every
   metric of the epoch (`zen.train.metrics.Metric`: the loss trackers, the
   compiled metrics and their validation copies) becomes the job's, so
   that `result()` is the epoch's value over every process's samples (an
   AUC, a precision, a mean: never a mean of per-process results);
6. `is_main_process`, read whenever something would be written or printed
   once for the whole job: by `callbacks_here` in `prepare`, by callbacks
   through `Trainer.is_main_process`, and after the fit by `writes_files`
   (`fit` leaves its strategy in `model.distribute_strategy`, so that
   `model.save` and `plot_history(history)` write once for the job).

The base class trains in this process alone: every point leaves things as
they are. `zen.distributed.DataParallel` is the strategy Zen ships.

Example:
    class Logged(Strategy):
        def synchronize(self, params):
            print(sum(float((p.gradient ** 2).sum()) for p in params))
"""
from contextlib import nullcontext

__all__ = ["Strategy", "writes_files"]


class Strategy:
    """How `fit` trains: in this process alone (this class), or over several
    (a subclass such as `zen.distributed.DataParallel`)."""

    @property
    def is_main_process(self) -> bool:
        """Whether this process prints and writes files for the job (True
        here: a job of one process)."""
        return True

    def prepare(self, trainer, train_loader, val_loader, callbacks):
        """Before training: returns (train loader, validation loader or None,
        callbacks) as this process should use them; here the loaders as
        given and the callbacks this process runs (`callbacks_here`)."""
        return train_loader, val_loader, self.callbacks_here(callbacks)

    def callbacks_here(self, callbacks) -> list:
        """The callbacks this process runs: a callback whose
        `main_process_only` is true (progress, CSV logs, checkpoints) only
        on the main process."""
        return [c for c in callbacks if self.is_main_process or not c.main_process_only]

    def running(self):
        """The context the training loop runs in."""
        return nullcontext()

    def synchronize(self, params) -> None:
        """Between backward and the optimizer step: make the gradients of
        `params` those of the whole job."""

    def agree_to_stop(self, stop: bool) -> bool:
        """After a step or an epoch: whether the job stops (`stop`: whether
        this process's callbacks asked it)."""
        return stop

    def reduce_metrics(self, metrics: list) -> None:
        """At an epoch's end: make the state of each of `metrics` (their
        `variables`, each combined as its `aggregations` entry says) that of
        the whole job, in place. Here it is already: one process.

        Args:
            metrics: the epoch's Metrics (loss trackers, compiled metrics and
                their validation copies), in the same order on every process.
        """

    def __repr__(self):
        return f"{type(self).__name__}()"


def writes_files(model) -> bool:
    """Whether this process writes `model`'s files: yes, unless the model's
    last fit ran over several processes and this is not the main one (they
    all hold the same model, which the main process writes)."""
    strategy = getattr(model, "distribute_strategy", None)
    return strategy is None or strategy.is_main_process
