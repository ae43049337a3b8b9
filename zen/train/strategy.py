"""`Strategy`: the one seam between the training loop and a way of training
on several processes.

`Trainer.fit` hands over at three named points and nowhere else:

1. `prepare(trainer, train_loader, val_loader, callbacks)`, once before
   training: the strategy may wrap the data (each process its shard) and
   the callbacks (the ones that write files kept on one process, the ones
   that keep the processes in step added, epoch logs reduced over them);
2. `running()`, a context around the whole loop: set up and torn down
   (gradient hooks, communicators), and the place to turn an exception on
   one process into the end of the job;
3. `synchronize(params)`, in every training step after the backward pass
   and before the optimizer step: the gradients of `params` become the
   job's.

The base class trains in this process alone: every point does nothing.
`zen.distributed.DataParallel` is the strategy Zen ships.

Example:
    class Logged(Strategy):
        def synchronize(self, params):
            print(sum(float((p.gradient ** 2).sum()) for p in params))
"""
from contextlib import nullcontext

__all__ = ["Strategy"]


class Strategy:
    """How `fit` trains: in this process alone (this class), or over several
    (a subclass such as `zen.distributed.DataParallel`)."""

    def prepare(self, trainer, train_loader, val_loader, callbacks):
        """Before training: returns (train loader, validation loader or None,
        callbacks) as this process should use them."""
        return train_loader, val_loader, callbacks

    def running(self):
        """The context the training loop runs in."""
        return nullcontext()

    def synchronize(self, params) -> None:
        """Between backward and the optimizer step: make the gradients of
        `params` those of the whole job."""

    def __repr__(self):
        return f"{type(self).__name__}()"
