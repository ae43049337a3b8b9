"""`PyDataset`: Keras's base class for a dataset that hands out whole batches.

Subclass it with `__len__` (the number of batches) and `__getitem__(index)`
returning batch `index` as `x`, `(x, y)` or `(x, y, sample_weight)`; give
it to `fit`, `evaluate` or `predict` as `x`. Batches may be built on the fly
(read from disk, augmented), so the whole dataset never has to fit in memory.
"""
from ..validation import check_positive_int

__all__ = ["PyDataset"]


class PyDataset:
    """Base class: batches by index.

    Args:
        workers: accepted for Keras compatibility; Zen reads the batches
            in the calling thread.
        use_multiprocessing: accepted for Keras compatibility, as `workers`.
        max_queue_size: accepted for Keras compatibility, as `workers`.

    `on_epoch_end()` is called after every epoch (e.g. to reshuffle).

    Example:
        class Batches(zen.data.PyDataset):
            def __init__(self, x, y, batch_size):
                super().__init__()
                self.x, self.y, self.batch_size = x, y, batch_size

            def __len__(self):
                return -(-len(self.x) // self.batch_size)

            def __getitem__(self, index):
                part = slice(index * self.batch_size, (index + 1) * self.batch_size)
                return self.x[part], self.y[part]

        model.fit(Batches(x, y, 64), epochs=3)
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self.workers = check_positive_int(workers, "workers")
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = check_positive_int(max_queue_size, "max_queue_size")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number "
                                  f"of batches)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) "
                                  f"returning a batch")

    @property
    def num_batches(self) -> int:
        """The number of batches, `len(self)` (Keras's name)."""
        return len(self)

    def on_epoch_end(self) -> None:
        """Called after every epoch (subclass hook)."""
