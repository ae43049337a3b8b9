"""The callbacks `DataParallel` adds to a fit, to keep the processes in step.

- `EpochSync` runs first at every epoch hook: it reseeds this process's
  random stream when an epoch begins, and makes the model the same
  everywhere (moving statistics) before the epoch's validation, or at its
  end without one. (The epoch logs are the job's already: the Trainer has
  the metrics' states summed by `DataParallel.reduce_metrics` first.)
- `SharedBackup` stands for a BackupAndRestore: rank 0 reads the backup and
  sends it to every process, which all restore it; only rank 0 writes and,
  at the end, deletes it.
"""
import os

from ..train.backup import read_backup, restore_backup, write_backup
from ..train.callbacks import Callback
from . import comm

__all__ = ["EpochSync", "SharedBackup"]


class EpochSync(Callback):
    """Reseeds at each epoch's start; before validation, or at the epoch's
    end, syncs the model's non-trainable state (see `parallel._Run`)."""

    def __init__(self, run):
        self.run = run

    def on_epoch_begin(self, epoch, logs=None):
        self.run.reseed(epoch)
        self.run.synced = False

    def on_test_begin(self, logs=None):
        self.run.sync_state()

    def on_epoch_end(self, epoch, logs=None):
        self.run.sync_state()  # done already, before validation, when there is one


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
