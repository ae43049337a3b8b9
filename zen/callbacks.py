"""zen.callbacks: objects whose hooks `fit` calls (see zen/train/callbacks.py
for the hook points and the base class).

Example:
    from zen.callbacks import EarlyStopping, CSVLogger
    model.fit(x, y, epochs=50, validation_split=0.2,
              callbacks=[EarlyStopping(patience=3), CSVLogger("log.csv")])
"""
from .train.callbacks import (CSVLogger, Callback, LambdaCallback, LearningRateScheduler,
                              TerminateOnNaN)
from .train.backup import BackupAndRestore
from .train.history import History
from .train.monitors import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from .train.tensorboard import TensorBoard

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
           "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
           "BackupAndRestore", "TensorBoard"]
