"""`TensorBoard`: Keras's callback that writes the training curves (and, if
asked, weight histograms) as TensorBoard event files.

The files are written by the optional `tensorboardX` package (`pip install
tensorboardX`, or `zen[tensorboard]`), imported when training begins, so
`import zen` does not need it. Event files are append-only logs that
TensorBoard reads while they grow; they are written by `tensorboardX`, not
through `zen.fileio.atomic_write`.
"""
import itertools
import numbers
import os

from ..validation import check_bool, check_int, invalid, is_int
from .callbacks import Callback

__all__ = ["TensorBoard"]

_OWNER = "TensorBoard"
# tensorboardX names a file by second and host and opens it "wb": a suffix of
# the process and a count keeps two fits within one second from overwriting
_WRITER_COUNT = itertools.count()


class TensorBoard(Callback):
    """Log the loss, the metrics and the learning rate for TensorBoard
    (Keras's `keras.callbacks.TensorBoard`).

    In `log_dir/train`: a scalar `epoch_<key>` per epoch for every training
    key of the logs (the History keys without "val_") and
    `epoch_learning_rate`, at step `epoch`; with an integer `update_freq`,
    also `batch_<key>` every `update_freq` batches, at step the number of
    batches trained in this fit. In `log_dir/validation`: `epoch_<key>` for
    each "val_<key>" of the logs. Every `histogram_freq` epochs (counted
    from epoch 0), a histogram `<layer>/<weight>/histogram` of each weight in
    `log_dir/train`. Run with `tensorboard --logdir logs`.

    Only the main process of a job over several processes writes
    (`main_process_only`).

    Args:
        log_dir: the folder the event files go under (default "logs").
        histogram_freq: write weight histograms every this many epochs
            (default 0: never).
        write_graph: accepted for Keras compatibility; Zen has no graph to
            write, so it writes none (default True, Keras's).
        update_freq: "epoch" (default) writes scalars once per epoch;
            "batch" or an integer N also writes the running batch logs
            every N batches ("batch" is 1).

    Example:
        model.fit(x, y, epochs=10, validation_split=0.2,
                  callbacks=[zen.callbacks.TensorBoard("logs", histogram_freq=1)])
    """

    main_process_only = True

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True,
                 update_freq="epoch"):
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = check_int(histogram_freq, "histogram_freq", low=0, owner=_OWNER)
        self.write_graph = check_bool(write_graph, "write_graph", owner=_OWNER)
        self.update_freq = _update_freq(update_freq)
        self._writers = None

    def on_train_begin(self, logs=None):
        """Open a writer in `log_dir/train` and one in `log_dir/validation`."""
        writer_class = _summary_writer_class()
        suffix = f".{os.getpid()}.{next(_WRITER_COUNT)}.v2"
        self._writers = {kind: writer_class(log_dir=os.path.join(self.log_dir, kind),
                                            filename_suffix=suffix)
                         for kind in ("train", "validation")}
        self._global_train_batch = 0

    def on_train_batch_end(self, batch, logs=None):
        """Every `update_freq` batches, write the running batch logs."""
        self._global_train_batch += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        self._write_scalars("train", "batch_", logs or {}, self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        """Write the epoch's scalars and, when due, the weight histograms."""
        logs = logs or {}
        train = {key: value for key, value in logs.items() if not key.startswith("val_")}
        lr = getattr(self.optimizer, "current_lr", None)
        if isinstance(lr, numbers.Real):
            train["learning_rate"] = float(lr)
        self._write_scalars("train", "epoch_", train, epoch)
        validation = {key[4:]: value for key, value in logs.items() if key.startswith("val_")}
        self._write_scalars("validation", "epoch_", validation, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_histograms(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        """Close the event files."""
        for writer in (self._writers or {}).values():
            writer.close()
        self._writers = None

    def _write_scalars(self, kind, prefix, logs, step):
        writer = self._writers[kind]
        for key, value in logs.items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                writer.add_scalar(prefix + key, float(value), global_step=step)

    def _write_histograms(self, epoch):
        writer = self._writers["train"]
        for name, tensor in self.model.named_tensors():
            tag = name.replace(".", "/") + "/histogram"
            writer.add_histogram(tag, tensor.value, global_step=epoch)

    def __repr__(self):
        return (f"TensorBoard(log_dir={self.log_dir!r}, histogram_freq={self.histogram_freq}, "
                f"update_freq={self.update_freq!r})")


def _update_freq(value):
    """"epoch", or the number of batches between batch-level writes."""
    if value == "epoch" and isinstance(value, str):
        return "epoch"
    if value == "batch" and isinstance(value, str):
        return 1
    if isinstance(value, str) or not is_int(value) or value < 1:
        raise invalid("update_freq", "'epoch', 'batch' or a positive integer", value,
                      owner=_OWNER)
    return int(value)


def _summary_writer_class():
    """`tensorboardX.SummaryWriter`, or an ImportError saying how to install it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("The TensorBoard callback needs the `tensorboardX` package: pip "
                          "install tensorboardX (or zen[tensorboard])") from None
    return SummaryWriter
