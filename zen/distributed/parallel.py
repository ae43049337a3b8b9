"""`DataParallel`: `fit` on N processes, each training on its shard of every
global batch, with gradients averaged before every optimizer step.

Data parallelism is three moves (Horovod, ChainerMN, PyTorch DDP):
1. start every process from rank 0's state: weights, optimizer state, the
   epoch-order generator;
2. shard the data: rank r takes samples r, r+N, r+2N, ... of every epoch's
   order (`sharding.ShardedLoader`);
3. average the gradients before each step, one allreduce per bucket,
   started during backward (`buckets.GradientBuckets`).
Everything else keeps the processes in step: the metrics' states are
summed at each epoch's end (so an epoch's AUC or precision is the job's,
and History and the callbacks that read it agree everywhere), a stop asked
by a callback on any process stops all of them, BatchNorm's moving
statistics are averaged each epoch, and only rank 0 prints and writes.

Randomness: the epoch orders come from rank 0's generator (a copy, the same
on every process); dropout and augmentation must differ between processes,
so at the start of every epoch each process reseeds Zen's generator from
(a number drawn once from rank 0's generator at the start of fit, the
epoch, its rank). After `zen.set_seed(s)` a run repeats exactly, and a run
resumed by BackupAndRestore continues with the same streams.
"""
from contextlib import contextmanager

import numpy as np

from .. import rng
from ..nn.normalization import BatchNorm
from ..train.backup import BackupAndRestore
from ..train.strategy import Strategy
from ..validation import check_bool, check_float, is_number
from . import comm
from .buckets import GradientBuckets
from .callbacks import EpochSync, SharedBackup
from .faults import SetupError, abort_on_error, check_same
from .sharding import ShardedLoader, shared_generator

__all__ = ["DataParallel"]


class DataParallel(Strategy):
    """Data-parallel training over MPI, for `fit(..., distribute=...)`.

    Launch the same script on N processes (`mpiexec -n N python train.py`);
    each gives `fit` the whole dataset and `batch_size` is per process, so
    the global batch is `batch_size * N`: with no dropout, N processes at
    batch B reach the weights of one process at batch N*B (float rounding
    apart).

    Args:
        bucket_mb: the size of a gradient bucket in megabytes (default 4):
            one allreduce per bucket, started as soon as backward has
            finished its gradients. Smaller buckets start earlier and
            overlap more; larger ones pay the per-message latency less often.
        sync_batchnorm: normalise with the batch statistics of all
            processes (default False: each process uses its own batch, as
            DDP does; the moving statistics are averaged every epoch).

    What `fit` does on each process: see the module docstring. A model not
    built yet is built on its first sample before training, as a
    one-process fit builds it, so the two start from the same weights.
    `train_on_batch`, `evaluate` and `predict` stay per process. Run one
    backward pass per training step (the Trainer does).

    After `fit`, `stats` holds the gradient traffic: steps, buckets and
    bytes per step, buckets started during backward, seconds spent waiting
    for allreduces.

    Example:
        import zen.distributed as dist
        zen.set_seed(0)
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        model.fit(x, y, epochs=5, batch_size=64, validation_split=0.1,
                  distribute=dist.DataParallel())
        if dist.is_main():
            model.save("model.zen")   # once, by rank 0
    """

    def __init__(self, bucket_mb: float = 4, sync_batchnorm: bool = False):
        self.bucket_mb = check_float(bucket_mb, "bucket_mb", 0, low_open=True)
        self.sync_batchnorm = check_bool(sync_batchnorm, "sync_batchnorm")
        self.stats = {}
        self._run = None
        comm.init()  # from here on, a failure on any process ends the job

    # ----- the Strategy's points (zen.train.strategy) ---------------------------------------
    @property
    def is_main_process(self) -> bool:
        """Whether this is rank 0, which prints and writes for the job."""
        return comm.is_main()

    def prepare(self, trainer, train_loader, val_loader, hooks):
        """Called by `Trainer.fit` before training: checks that every process
        has the same model and data, copies rank 0's state to all, and
        returns (this process's train loader, its validation loader, the
        callbacks it runs)."""
        with abort_on_error(comm.world()):
            self._run = _Run(self, trainer, train_loader, val_loader)
            return self._run.train, self._run.val, self._run.hooks(self, hooks)

    @contextmanager
    def running(self):
        """The training loop's context: gradient hooks on, any exception
        aborts the job; everything undone at the end."""
        run = self._run
        remove_hooks = run.buckets.attach()
        try:
            with abort_on_error(comm.world()):
                yield
        finally:
            remove_hooks()
            run.close()
            self.stats = dict(run.buckets.stats)
            self._run = None

    def synchronize(self, params) -> None:
        """Called by `Trainer.train_step` between backward and the optimizer
        step: every gradient becomes the average over the processes."""
        self._run.buckets.synchronize()

    def agree_to_stop(self, stop: bool) -> bool:
        """True everywhere when `stop` is true on any process (a callback
        stopped it there), so that every process stops after the same step."""
        flag = np.array([int(bool(stop))], np.int32)
        comm.max_in_place(flag, self._run.control)
        return bool(flag[0])

    def reduce_metrics(self, metrics: list) -> None:
        """Called by `Trainer.fit` at each epoch's end: every metric's state
        (loss trackers included) becomes the job's, in place, with one
        allreduce of a float64 buffer holding all the variables: summed
        ("sum", the default), averaged ("mean") or rank 0's
        ("only_first_replica"); "none" stays per process.

        Args:
            metrics: the epoch's Metrics, in the same order on every process.
        """
        variables = [(v, aggregation) for metric in metrics
                     for v, aggregation in zip(metric.variables, metric.aggregations)
                     if aggregation != "none"]
        main = comm.is_main()
        buffer = np.concatenate([np.ravel(v if main or aggregation != "only_first_replica"
                                          else np.zeros_like(v)).astype(np.float64)
                                 for v, aggregation in variables] or [np.zeros(0)])
        _check_same_size(buffer.size, self._run.control)
        comm.sum_in_place(buffer, self._run.control)
        offset = 0
        for v, aggregation in variables:
            part = buffer[offset:offset + v.size].reshape(v.shape)
            v[...] = part / comm.size() if aggregation == "mean" else part
            offset += v.size

    def __repr__(self):
        return f"DataParallel(bucket_mb={self.bucket_mb:g}, sync_batchnorm={self.sync_batchnorm})"


class _Run:
    """The state of one distributed `fit`: communicators, loaders, buckets."""

    def __init__(self, options, trainer, train_loader, val_loader):
        self.trainer, self.model = trainer, trainer.model
        self.rank, self.size = comm.rank(), comm.size()
        self.sync_batchnorm = options.sync_batchnorm
        self._check(train_loader, val_loader)
        self.batchnorms = [layer for layer in self.model.all_layers()
                           if isinstance(layer, BatchNorm)]
        if self.sync_batchnorm:
            _check_synchronisable(self.batchnorms, ShardedLoader(train_loader, self.rank,
                                                                 self.size))
        # separate communicators: the gradient allreduces in flight never
        # meet the control traffic (metric states, stop flags, BatchNorm sums)
        self.control, self.gradients = comm.world().Dup(), comm.world().Dup()
        self.params = self.model.parameters()
        order = self._share_start_state(train_loader)
        self.buckets = GradientBuckets(self.params, self.gradients,
                                       int(options.bucket_mb * 2 ** 20))
        self.train = ShardedLoader(train_loader, self.rank, self.size, order,
                                   weigh=self.buckets.arm)
        self.val = None if val_loader is None else ShardedLoader(val_loader, self.rank,
                                                                 self.size)
        for layer in self.batchnorms if self.sync_batchnorm else ():
            layer.sync_group = _Group(self.control, self.buckets)
        self.synced = False

    def _check(self, train_loader, val_loader) -> None:
        """Raise, alike on every process, what would make the processes
        diverge (the Trainer has built the model). Changes nothing."""
        _check_loader(train_loader, "train_loader")
        if val_loader is not None:
            _check_loader(val_loader, "val_loader")
        check_same(comm.world(), _facts(self.trainer, train_loader, val_loader),
                   "model and data")

    def _share_start_state(self, train_loader):
        """Rank 0's weights and optimizer state everywhere; sets the seed of
        the per-process random streams (drawn from a jumped-ahead copy of rank
        0's Zen generator) and returns the generator of the epoch orders (rank
        0's loader or Zen generator, a copy on every process)."""
        comm.broadcast_weights(self.model)
        _broadcast_optimizer(self.trainer.optimizer, self.params)
        shared = comm.broadcast_object({"zen": rng.get_state(),
                                        "loader": train_loader.state_dict()})
        self.stream_seed = int(np.random.Generator(
            shared_generator(shared["zen"]).bit_generator.jumped()).integers(2 ** 63))
        return shared_generator(shared["loader"].get("generator", shared["zen"]))

    def hooks(self, strategy, hooks) -> list:
        """The callbacks of this process: the `main_process_only` ones only
        on rank 0, BackupAndRestore shared, and the one that keeps the
        processes in step first."""
        kept = [SharedBackup(hook, self.control) if isinstance(hook, BackupAndRestore) else hook
                for hook in strategy.callbacks_here(hooks)]
        return [EpochSync(self)] + kept

    # ----- in step ---------------------------------------------------------------------
    def reseed(self, epoch: int) -> None:
        """This process's dropout and augmentation stream for `epoch`."""
        seed = np.random.SeedSequence([self.stream_seed, epoch, self.rank])
        rng.set_seed(int(seed.generate_state(1, np.uint64)[0]))

    def sync_state(self) -> None:
        """Once per epoch, before validation (or at its end without one): BatchNorm's moving statistics
        averaged (they followed each process's batches), every other
        non-trainable weight from rank 0, so that all processes hold the
        same model."""
        if self.synced:
            return
        averaged = {id(t) for layer in self.batchnorms if not self.sync_batchnorm
                    for t in (layer.moving_mean, layer.moving_variance)}
        fixed = [t for _, t in self.model.named_tensors() if not t.trainable]
        for t in fixed:
            if id(t) in averaged:
                comm.sum_in_place(t.value, self.control)
                t.value /= self.size
            else:
                self.control.Bcast(t.value, root=0)
        self.synced = True

    def close(self) -> None:
        for layer in self.batchnorms:
            layer.sync_group = None
        self.control.Free()
        self.gradients.Free()


class _Group:
    """What a synchronised BatchNorm asks of the processes: element-wise sums
    of small arrays, and this process's share of the global batch."""

    def __init__(self, control, buckets):
        self.control, self.buckets = control, buckets

    def sum(self, array):
        return comm.sum_in_place(np.array(array), self.control)

    @property
    def weight(self) -> float:
        return self.buckets.weight


# ----- checks and the start state ---------------------------------------------------------
def _check_same_size(size: int, control) -> None:
    """Raise alike on every process unless all hold metric states of `size`
    numbers (a metric whose state is built at its first batch, e.g.
    AUC(multi_label=True) without num_labels, that one process never fed)."""
    extremes = comm.max_in_place(np.array([size, -size], np.int64), control)
    if extremes[0] != -extremes[1]:
        raise SetupError(f"The metrics' states differ in size between processes (from "
                         f"{-extremes[1]} to {extremes[0]} numbers): a metric built at its "
                         f"first batch was not fed on every process; give it its shape "
                         f"(e.g. AUC(num_labels=...))")


def _check_synchronisable(batchnorms, shards) -> None:
    for layer in batchnorms:
        if layer._axis != len(layer.input_shape) - 1:
            raise SetupError(f"sync_batchnorm=True needs channels-last BatchNorm layers; "
                             f"{layer.name!r} normalises axis {layer.axis} of inputs "
                             f"{layer.input_shape}")
    last = shards.shares(len(shards) - 1)
    if batchnorms and min(last) == 0:
        raise SetupError(f"sync_batchnorm=True needs a sample on every process in every "
                         f"step, but the last global batch of {sum(last)} samples leaves "
                         f"some of the {len(last)} processes without one; drop it "
                         f"(DataLoader(drop_last=True)) or change batch_size")


def _check_loader(loader, name):
    if not all(hasattr(loader, a) for a in ("dataset", "batch_size", "shuffle", "drop_last")):
        raise TypeError(f"DataParallel shards a zen.data.DataLoader's dataset; "
                        f"`{name}` is a {type(loader).__name__}. Wrap the data in "
                        f"DataLoader(dataset, batch_size, shuffle=...)")


def _facts(trainer, train_loader, val_loader) -> dict:
    """What must be the same on every process."""
    weights = trainer.model.named_tensors()
    return {"the number of weights": len(weights),
            **{f"weight {name!r}": f"{t.shape} {t.dtype}{'' if t.trainable else ' (fixed)'}"
               for name, t in weights},
            "optimizer": type(trainer.optimizer).__name__,
            "training samples": len(train_loader.dataset),
            "validation samples": None if val_loader is None else len(val_loader.dataset),
            "batch_size": train_loader.batch_size,
            "shuffle": train_loader.shuffle, "drop_last": train_loader.drop_last}


def _broadcast_optimizer(optimizer, params) -> None:
    """Rank 0's optimizer state (moments, step counts, `iterations`) and, when
    a number, its learning rate, on every process."""
    lr = optimizer.lr if is_number(optimizer.lr) else None
    state, lr = comm.broadcast_object((optimizer.state_dict(params), lr) if comm.is_main()
                                      else None)
    if not comm.is_main():
        optimizer.load_state_dict(state, params)
        if lr is not None:
            optimizer.lr = lr
