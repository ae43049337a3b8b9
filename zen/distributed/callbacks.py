"""The callbacks `DataParallel` adds to a fit, to keep the processes in step.

- `EpochSync` runs first at every epoch hook: it reseeds this process's
  random stream when an epoch begins, and when it ends makes the model the
  same everywhere (moving statistics) and replaces the epoch logs by their
  means over all processes, before any other callback reads them.
- `StopAgreement` runs last: a stop asked by a callback on any process
  (TerminateOnNaN on this process's loss, a user's time limit) stops every
  process after the same batch or epoch; otherwise the others would wait in
  the next allreduce forever.
- `SharedBackup` stands for a BackupAndRestore: rank 0 reads the backup and
  sends it to every process, which all restore it; only rank 0 writes and,
  at the end, deletes it.
"""
import os

import numpy as np
from mpi4py import MPI

from ..train.backup import read_backup, restore_backup, write_backup
from ..train.callbacks import Callback
from . import comm

__all__ = ["EpochSync", "StopAgreement", "SharedBackup"]


class EpochSync(Callback):
    """Reseeds at each epoch's start; at its end syncs the model's
    non-trainable state and averages the logs (see `parallel._Run`)."""

    def __init__(self, run):
        self.run = run

    def on_epoch_begin(self, epoch, logs=None):
        self.run.reseed(epoch)
        self.run.synced = False

    def on_epoch_end(self, epoch, logs=None):
        self.run.sync_state()  # done already, before validation, when there is one
        if logs is not None:
            self.run.mean_logs(logs)


class StopAgreement(Callback):
    """Makes `model.stop_training` true everywhere when it is true anywhere."""

    def __init__(self, control):
        self.control = control

    def agree(self, model) -> None:
        flag = np.array([int(bool(getattr(model, "stop_training", False)))], np.int32)
        self.control.Allreduce(MPI.IN_PLACE, flag, op=MPI.MAX)
        if flag[0]:
            model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        self.agree(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.agree(self.model)


class SharedBackup(Callback):
    """A BackupAndRestore for a job: restored on every process from rank 0's
    file (read once, then broadcast: no shared file system needed), written
    and deleted by rank 0 only."""

    def __init__(self, backup, control):
        self.backup, self.control = backup, control

    def on_train_begin(self, logs=None):
        self.backup.restored_epoch = None
        found = None
        if comm.is_main() and os.path.exists(self.backup.path):
            try:
                found = read_backup(self.backup.path)
            except (OSError, ValueError) as error:
                found = error
        found = comm.broadcast_object(found, self.control)
        if isinstance(found, BaseException):
            raise found
        if found is not None:
            self.backup.restored_epoch = restore_backup(found, self.trainer, self.backup.path)

    def on_epoch_end(self, epoch, logs=None):
        if comm.is_main():
            write_backup(self.backup.path, self.trainer, epoch)

    def on_train_end(self, logs=None):
        if comm.is_main():
            self.backup.on_train_end(logs)

    def __repr__(self):
        return f"SharedBackup({self.backup!r})"
