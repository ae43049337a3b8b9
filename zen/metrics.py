"""zen.metrics: Keras's stateful metrics and Zen's metric functions, which
`compile(metrics=...)` takes as objects or by name (the implementation lives
with training, in the package zen/train/metrics/, whose docstring says which
module holds what).

A `Metric` accumulates a state over batches (`update_state`), reads its
value on everything seen (`result`) and starts again (`reset_state`); `fit`
resets the compiled metrics at each epoch's start, so an epoch's AUC or
precision is computed on all its samples.

Example:
    from zen.metrics import AUC, Precision, accuracy
    model.compile("adam", "binary_crossentropy", metrics=[AUC(), Precision(), "accuracy"])
    accuracy(y_true, y_pred)          # the batch's fraction classified right
"""
from .train.metrics import *  # noqa: F403 (the public names, one list: its __all__)
from .train.metrics import __all__  # noqa: F401
