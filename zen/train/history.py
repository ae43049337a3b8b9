"""`History`: the per-epoch record that `fit` returns."""
from .callbacks import Callback
from .plotting import plot_history


class History(Callback):
    """Records each epoch's logs; `fit` returns it (and sets `model.history`).

    Attributes:
        history: dict of lists, one entry per epoch: "loss", each metric,
            their "val_" versions when validating, and anything a callback
            added to the logs (e.g. "learning_rate").
        epoch: the epoch numbers recorded (counted from 0, so a run resumed
            with initial_epoch=3 starts at 3).
        params: the fit parameters (epochs, steps, verbose, initial_epoch).

    Example:
        history = model.fit(x, y, epochs=5, validation_split=0.2)
        history.history["val_loss"]        # five floats
        history.plot("curves.png")
    """

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

    def plot(self, path=None):
        """Draw the curves (see `zen.train.plot_history`); returns the figure,
        or `path` once the PNG is written there."""
        return plot_history(self, path)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
