"""Each process's share of every epoch (PyTorch's DistributedSampler, with
the batch cut of one process at the global batch).

Every process draws the same epoch order from a generator that starts from
rank 0's state (so one seed gives one order everywhere). Rank r of N takes
the positions r, r+N, r+2N, ... of that order and cuts them into batches of
`batch_size`. Its i-th batch then lies within positions
[i*N*B, (i+1)*N*B) of the order: together the N i-th batches are exactly
the i-th batch of one process at batch N*B, and the shards of an epoch
cover every sample once.

When the number of samples is not a multiple of N*B, the last global batch
is smaller and the processes' parts of it differ by one sample, or are
empty for some processes when fewer than N samples are left. Each batch
comes with this process's share of its global batch (its size over the
global batch's size), the weight of its gradient in the average; a process
with no sample in a step gets a batch of no samples, which the Trainer
still steps on (with zero gradients, see `Trainer.train_step`), so that
all processes make the same number of optimizer steps.
"""
import math

import numpy as np

from ..data.dataset import get_batch
from ..tree import map_structure

__all__ = ["ShardedLoader", "shared_generator"]


def shared_generator(state: dict) -> np.random.Generator:
    """A new numpy Generator in `state` (a bit generator's state dict)."""
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    return generator


class ShardedLoader:
    """This process's batches of a `zen.data.DataLoader`'s epochs.

    Args:
        loader: the DataLoader every process was given (the whole dataset;
            its batch_size is the batch per process).
        rank, size: this process and the number of processes.
        generator: draws the epoch orders when the loader shuffles; it must
            start in the same state on every process.
        weigh: `weigh(share)` is called before each batch is handed out.

    `samples` counts the samples handed out in the current epoch.
    """

    def __init__(self, loader, rank: int, size: int, generator=None, weigh=None):
        self.dataset, self.batch_size = loader.dataset, loader.batch_size
        self.shuffle, self.drop_last = loader.shuffle, loader.drop_last
        self.rank, self.size = rank, size
        self.generator = generator
        self.weigh = weigh
        self.samples = 0
        global_batch = self.batch_size * size
        n = len(self.dataset)
        self.used = n // global_batch * global_batch if self.drop_last else n

    def __len__(self) -> int:
        """Steps per epoch, the same on every process."""
        return math.ceil(self.used / (self.batch_size * self.size))

    def shard_size(self, rank: int = None) -> int:
        """How many samples `rank` (default this process) gets per epoch."""
        rank = self.rank if rank is None else rank
        return len(range(rank, self.used, self.size))

    def shares(self, step: int) -> list:
        """Each process's number of samples in global batch `step`."""
        start = step * self.batch_size * self.size
        stop = min(start + self.batch_size * self.size, self.used)
        return [len(range(start + r, stop, self.size)) for r in range(self.size)]

    def __iter__(self):
        order = self.generator.permutation(len(self.dataset)) if self.shuffle \
            else np.arange(len(self.dataset))
        mine = order[:self.used][self.rank::self.size]
        self.samples = 0
        for step in range(len(self)):
            indices = mine[step * self.batch_size:(step + 1) * self.batch_size]
            if self.weigh is not None:
                self.weigh(len(indices) / sum(self.shares(step)))
            self.samples += len(indices)
            yield get_batch(self.dataset, indices) if len(indices) else self._no_samples()

    def _no_samples(self):
        """A batch of no samples (only ever the last step's), shaped as the others."""
        return map_structure(lambda a: np.asarray(a)[:0], get_batch(self.dataset, np.arange(1)))

    def state_dict(self) -> dict:
        """The order generator's state (for BackupAndRestore's exact resume)."""
        return {"generator": self.generator.bit_generator.state} if self.shuffle else {}

    def load_state_dict(self, state: dict) -> None:
        if "generator" in state:
            self.generator.bit_generator.state = state["generator"]

    def __repr__(self):
        return (f"ShardedLoader(rank={self.rank}, size={self.size}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"shard={self.shard_size()} of {len(self.dataset)} samples)")
