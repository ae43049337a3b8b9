"""What `fit(verbose=...)` shows: a tqdm bar per epoch (verbose=1) or one
line per epoch (verbose=2). verbose=0 adds no logger at all, so nothing is
printed. tqdm is imported only when a bar is drawn.

A bar redraws itself hundreds of times an epoch: fine in a terminal or a
notebook, noise in a log file. So, as Keras does, verbose=1 draws bars only
when standard output is a terminal or the code runs in a Jupyter kernel, and
otherwise prints one line per epoch, as verbose=2 does.
"""
import math
import numbers
import sys

from ..validation import check_one_of
from .callbacks import Callback


def check_verbose(verbose) -> int:
    """0, 1 or 2 ("auto" is 1, as in Keras)."""
    verbose = check_one_of(verbose, "verbose", (0, 1, 2, "auto"))
    return 1 if verbose == "auto" else verbose


def interactive_output() -> bool:
    """Whether progress bars can redraw in place: standard output is a
    terminal, or this is a Jupyter (IPython) kernel."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdout
        return False


def format_value(value) -> str:
    """4 decimals, or scientific notation for values too small or large for them."""
    if not isinstance(value, numbers.Real):
        return str(value)
    value = float(value)
    if value == 0 or not math.isfinite(value) or 1e-3 <= abs(value) < 1e6:
        return f"{value:.4f}"
    return f"{value:.4e}"


def format_logs(logs) -> str:
    return " - ".join(f"{key}: {format_value(value)}" for key, value in logs.items())


class ProgressLogger(Callback):
    """Shows training progress; added by the Trainer for verbose 1 and 2.

    Args:
        verbose: 1 for a tqdm bar per epoch with the running loss and
            metrics, closed at the epoch's end with the validation values
            (where output is not interactive, one line per epoch instead);
            2 for one line per epoch, e.g.
            "Epoch 3/10 - loss: 0.1234 - accuracy: 0.9612 - val_loss: 0.1502".
        bars: draw bars for verbose=1 (default None: when
            `interactive_output()` says so).
    """

    main_process_only = True

    def __init__(self, verbose: int = 1, bars: bool = None):
        self.verbose = check_verbose(verbose)
        self.bars = interactive_output() if bars is None else bool(bars)
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._title = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        if self.verbose == 1 and self.bars:
            from tqdm import tqdm
            self.bar = tqdm(total=self.params.get("steps"), desc=self._title, unit="batch",
                            leave=True)

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(format_logs(logs or {}), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.verbose == 2 or not self.bars:
            print(f"{self._title} - {format_logs(logs)}" if logs else self._title, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:  # training ended inside an epoch (an error)
            self.bar.close()
            self.bar = None
