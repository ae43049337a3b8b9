"""`Epochs`: the batches of each epoch from a data source, Keras's way.

A source is re-iterable (a DataLoader, a PyDataset's batches: each `iter`
is a new pass over the data) or one-shot (a generator or iterator: drawn
once, never restarted).

- Without `steps`, an epoch is one whole pass; a one-shot source is drawn
  until it ends, and an epoch that finds it ended warns that the input ran
  out of data and yields nothing (the Trainer then stops).
- With `steps`, an epoch is that many batches; the pass continues from one
  epoch to the next and a new pass starts when one ends. An epoch cut short
  by the end of a pass, or of a one-shot source, warns as Keras does.
"""
import warnings

__all__ = ["Epochs", "RAN_OUT", "length_of"]

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset "
           "or generator can generate at least `steps_per_epoch * epochs` batches. You may "
           "need to use the `.repeat()` function when building your dataset.")


class Epochs:
    """Iterate once per epoch: `for batch in epochs` yields one epoch.

    Args:
        source: the batches (re-iterable or one-shot, see the module).
        steps: batches per epoch (default None: a whole pass).

    Example:
        epochs = Epochs(loader, steps=100)
        for epoch in range(3):
            for batch in epochs: ...
    """

    def __init__(self, source, steps: int = None):
        self.source, self.steps = source, steps
        self.one_shot = iter(source) is source
        self._iterator = None
        self._seen = 0        # batches drawn from the current pass

    def __len__(self) -> int:
        if self.steps is not None:
            return self.steps
        return len(self.source)  # TypeError for a generator: unknown

    def __iter__(self):
        iterator = self._epoch_iterator()
        drawn = 0
        while self.steps is None or drawn < self.steps:
            try:
                batch = next(iterator)
            except StopIteration:
                self._iterator = None
                if self.steps is not None or (self.one_shot and drawn == 0):
                    warnings.warn(RAN_OUT, UserWarning, stacklevel=2)
                return
            drawn += 1
            self._seen += 1
            yield batch

    def _epoch_iterator(self):
        if self.one_shot:
            return self.source
        length = length_of(self.source)
        if self.steps is None or self._iterator is None or (
                length is not None and self._seen >= length):
            self._iterator, self._seen = iter(self.source), 0
        return self._iterator


def length_of(source):
    """`len(source)`, or None for a source of unknown length (a generator)."""
    try:
        return len(source)
    except TypeError:
        return None
