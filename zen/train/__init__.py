"""zen.train: the Trainer, History, callbacks, metrics bookkeeping and
training-curve plots.

Example:
    trainer = zen.Trainer(model, "sparse_categorical_crossentropy", "adam", ["accuracy"])
    history = trainer.fit(train_loader, epochs=5, val_loader=test_loader)
    zen.plot_history(history, "curves.png")
"""
from .callbacks import Callback
from .history import History
from .plotting import plot_history
from .strategy import Strategy
from .trainer import Trainer

__all__ = ["Trainer", "History", "Callback", "Strategy", "plot_history"]
