"""zen.distributed's pieces in one process: the shards of an epoch, the
buckets, synchronised batch-norm maths, the arguments, a job of one
process (which must train exactly as plain `fit`), and the import rules."""
import subprocess
import sys
import threading

import numpy as np
import pytest

import zen
from zen import nn
from zen.autodiff import Tensor
from zen.autodiff.normalization import batch_normalize, channel_moments
from zen.callbacks import CSVLogger
from zen.data import ArrayDataset, DataLoader

try:
    import zen.distributed as dist
    from zen.distributed.buckets import split_into_buckets
    from zen.distributed.sharding import ShardedLoader, shared_generator
except ImportError:  # no mpi4py: only the import tests below run
    dist = None

needs_mpi = pytest.mark.skipif(dist is None, reason='mpi4py is not installed (zen[mpi])')


# ----- imports -------------------------------------------------------------------------------
def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_import_zen_never_imports_mpi4py():
    result = run_python("import sys, zen, zen.models, zen.train\n"
                        "assert 'mpi4py' not in sys.modules, 'mpi4py was imported'")
    assert result.returncode == 0, result.stderr


def test_without_mpi4py_zen_distributed_names_the_extra_to_install():
    result = run_python("import sys\nsys.modules['mpi4py'] = None\nimport zen.distributed")
    assert result.returncode != 0
    assert 'ImportError: zen.distributed needs mpi4py' in result.stderr
    assert 'pip install "zen[mpi]"' in result.stderr


# ----- the shards of an epoch ------------------------------------------------------------------
def shards(n, batch_size, size, seed=5, drop_last=False):
    """`size` ShardedLoaders over samples 0..n-1 (x = the sample's number),
    and one process's DataLoader at the global batch, all in one state."""
    dataset = ArrayDataset(np.arange(n, dtype=np.float32))
    single = DataLoader(dataset, batch_size * size, shuffle=True, seed=seed, drop_last=drop_last)
    state = single.state_dict()["generator"]
    events = [[] for _ in range(size)]
    loaders = [ShardedLoader(DataLoader(dataset, batch_size, shuffle=True, drop_last=drop_last),
                             rank, size, shared_generator(state), weigh=events[rank].append)
               for rank in range(size)]
    return loaders, single, events


@needs_mpi
@pytest.mark.parametrize("n, batch_size, size", [(24, 4, 2), (23, 4, 3), (25, 4, 3),
                                                 (9, 4, 2), (7, 1, 4)])
def test_the_shards_of_a_step_are_one_batch_of_one_process_at_the_global_batch(
        n, batch_size, size):
    loaders, single, events = shards(n, batch_size, size)
    for _ in range(2):  # two epochs: a new order each
        epochs = [list(loader) for loader in loaders]
        expected = [batch[0] for batch in single]
        assert all(len(loader) == len(expected) for loader in loaders)
        for step, batch in enumerate(expected):
            parts = [epoch[step][0] for epoch in epochs if step < len(epoch)]
            assert sorted(np.concatenate(parts)) == sorted(batch)
        for rank, epoch in enumerate(epochs):  # rank r: positions r, r+N, ... of the order
            assert loaders[rank].samples == sum(len(b[0]) for b in epoch)
    everything = np.concatenate([b[0] for epoch in epochs for b in epoch])
    assert sorted(everything) == list(range(n))  # every sample once


@needs_mpi
def test_each_batch_comes_with_its_share_and_an_empty_part_is_a_batch_of_no_samples():
    loaders, _, events = shards(n=9, batch_size=4, size=2)  # steps of 8, then 1 sample
    epochs = [list(loader) for loader in loaders]
    assert events[0] == [0.5, 1.0] and events[1] == [0.5, 0.0]
    assert [len(b[0]) for b in epochs[1]] == [4, 0] and epochs[1][1][0].dtype == np.float32
    assert loaders[0].shares(1) == [1, 0] and [l.shard_size() for l in loaders] == [5, 4]


@needs_mpi
def test_drop_last_drops_the_last_global_batch():
    loaders, single, _ = shards(n=21, batch_size=4, size=2, drop_last=True)
    assert [len(loader) for loader in loaders] == [2, 2] == [len(single)] * 2
    assert sum(loader.shard_size() for loader in loaders) == 16


@needs_mpi
def test_the_order_generator_state_round_trips_for_resume():
    (loader, *_), _, _ = shards(n=10, batch_size=2, size=2)
    state = loader.state_dict()
    first = [b[0].tolist() for b in loader]
    loader.load_state_dict(state)
    assert [b[0].tolist() for b in loader] == first


# ----- buckets -------------------------------------------------------------------------------
@needs_mpi
def test_buckets_hold_runs_of_one_dtype_up_to_the_size():
    params = [Tensor(np.zeros(n, dtype)) for n, dtype in
              [(100, np.float32), (100, np.float32), (300, np.float32), (10, np.float64),
               (10, np.float32)]]
    buckets = split_into_buckets(params, bucket_bytes=800)
    assert [[p.size for p in b.params] for b in buckets] == [[100, 100], [300], [10], [10]]
    assert [b.buffer.dtype for b in buckets] == [np.float32] * 2 + [np.float64, np.float32]
    assert [b.buffer.size for b in buckets] == [200, 300, 10, 10]


# ----- synchronised batch norm ---------------------------------------------------------------
class ThreadReplicas:
    """Processes simulated by threads: `sum` adds every thread's array."""

    def __init__(self, slots, barrier, rank, weight):
        self.slots, self.barrier, self.rank, self.weight = slots, barrier, rank, weight

    def sum(self, array):
        self.slots[self.rank] = np.array(array)
        self.barrier.wait()
        total = sum(self.slots)
        self.barrier.wait()
        return total


def test_synchronised_batch_norm_is_batch_norm_over_every_process_batch():
    """Two processes with 6 and 4 rows, each loss a mean over its own rows,
    weighted 0.6 and 0.4: the statistics, the gradients of x (scaled by the
    weight) and the summed gradients of gamma and beta are those of one
    batch norm over the 10 rows (float64)."""
    g = np.random.default_rng(0)
    x, c = g.normal(size=(10, 3)), g.normal(size=(10, 3))
    gamma, beta = g.normal(size=3), g.normal(size=3)
    parts = [slice(0, 6), slice(6, 10)]

    def step(rows, replicas=None):
        xt, gt, bt = Tensor(x[rows].copy()), Tensor(gamma.copy()), Tensor(beta.copy())
        mean, var = channel_moments(xt.value, replicas)
        out = batch_normalize(xt, gt, bt, mean, var, 1e-3, replicas)
        ((out * c[rows]).sum(axis=1)).mean().backward()
        return mean, var, xt.gradient, gt.gradient, bt.gradient

    whole = step(slice(0, 10))
    results, slots, barrier = [None, None], [None, None], threading.Barrier(2, timeout=20)

    def process(rank):
        weight = (parts[rank].stop - parts[rank].start) / 10
        results[rank] = step(parts[rank], ThreadReplicas(slots, barrier, rank, weight))

    threads = [threading.Thread(target=process, args=(rank,)) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for rank in (0, 1):
        np.testing.assert_allclose(results[rank][0], whole[0], rtol=1e-12)
        np.testing.assert_allclose(results[rank][1], whole[1], rtol=1e-12)
        np.testing.assert_allclose(results[rank][2] * (0.6, 0.4)[rank], whole[2][parts[rank]],
                                   rtol=1e-10, atol=1e-14)
    for i in (3, 4):  # d_gamma, d_beta: the weighted sum over processes
        np.testing.assert_allclose(0.6 * results[0][i] + 0.4 * results[1][i], whole[i],
                                   rtol=1e-10)


# ----- DataParallel in a job of one process ----------------------------------------------------
@pytest.fixture
def job(monkeypatch):
    """zen.distributed.init() installs an excepthook; undo it after the test."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)


@needs_mpi
@pytest.mark.parametrize("kwargs, message", [
    ({"bucket_mb": 0}, "bucket_mb=0"), ({"bucket_mb": -1.5}, "bucket_mb=-1.5"),
    ({"bucket_mb": True}, "bucket_mb=True"), ({"bucket_mb": "4"}, "bucket_mb='4'"),
    ({"bucket_mb": float("inf")}, "bucket_mb=inf"),
    ({"sync_batchnorm": "yes"}, "sync_batchnorm='yes'"),
])
def test_bad_arguments_raise_value_errors_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=f"invalid value for `{next(iter(kwargs))}`") as info:
        dist.DataParallel(**kwargs)
    assert message in str(info.value)


@needs_mpi
def test_a_job_of_one_process(job):
    assert (dist.rank(), dist.size(), dist.is_main()) == (0, 1, True)
    dist.barrier()
    np.testing.assert_array_equal(dist.allreduce_mean(np.array([1, 2])), [1.0, 2.0])
    model = zen.Sequential([nn.Dense(2)])
    model.build((None, 3))
    before = model.get_weights()
    dist.broadcast_weights(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert repr(dist.DataParallel(bucket_mb=2)) == \
        "DataParallel(bucket_mb=2, sync_batchnorm=False)"


def blobs(n=90):
    g = np.random.default_rng(3)
    x = g.normal(size=(n, 5)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def trained(distribute, api="fit", model=None, built=True):
    zen.set_seed(1)
    model = model or zen.Sequential([nn.Dense(8, activation="relu"), nn.BatchNorm(), nn.Dense(2)])
    if built:
        model.build((None, 5))
    x, y = blobs()
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    if api == "fit":
        model.compile("adam", loss, ["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0,
                            distribute=distribute)
    else:
        trainer = zen.Trainer(model, loss, "sgd", distribute=distribute)
        history = trainer.fit(DataLoader(ArrayDataset(x, y), 16, shuffle=True, seed=2),
                              epochs=3, verbose=0)
    return model.get_weights(), history.history


@needs_mpi
@pytest.mark.parametrize("api", ["fit", "trainer"])
def test_one_process_trains_exactly_as_plain_fit(job, api):
    distribute = dist.DataParallel(bucket_mb=1e-4)
    weights, history = trained(distribute, api)
    plain_weights, plain_history = trained(None, api)
    for a, b in zip(weights, plain_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert history == plain_history
    steps = 3 * (5 if api == "fit" else 6)  # 72 or 90 samples at batch 16
    assert distribute.stats["steps"] == steps and distribute.stats["buckets"] > 1


@needs_mpi
@pytest.mark.parametrize("api", ["fit", "trainer"])
def test_one_process_trains_exactly_as_plain_fit_with_the_defaults(job, api):
    """An unbuilt model and shuffle on: both builds draw the weights before
    the first epoch's order."""
    weights, history = trained(dist.DataParallel(), api, built=False)
    plain_weights, plain_history = trained(None, api, built=False)
    for a, b in zip(weights, plain_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert history == plain_history


@needs_mpi
def test_a_loader_that_is_not_a_dataloader_is_a_type_error(job):
    model = zen.Sequential([nn.Dense(2)])
    trainer = zen.Trainer(model, "mse", "sgd", distribute=dist.DataParallel())
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(TypeError, match="DataParallel shards a zen.data.DataLoader"):
        trainer.fit([(x, x[:, :2])], epochs=1, verbose=0)


@needs_mpi
def test_sync_batchnorm_needs_channels_last(job):
    model = zen.Sequential([nn.BatchNorm(axis=1), nn.Flatten(), nn.Dense(2)])
    model.build((None, 4, 3))
    model.compile("sgd", "mse")
    with pytest.raises(dist.SetupError, match="'batch_norm.*' normalises axis 1"):
        model.fit(np.zeros((8, 4, 3)), np.zeros((8, 2)), verbose=0,
                  distribute=dist.DataParallel(sync_batchnorm=True))
    assert model.layers[0].sync_group is None


class NotMain(zen.train.strategy.Strategy):
    """A process of a job that is not its main one (its data and steps its own)."""
    is_main_process = False


def test_a_process_that_is_not_the_main_one_writes_no_file(tmp_path):
    """The callbacks that write are dropped, and after the fit the model's
    files and curves are left to the main process; a later fit in this
    process alone writes again."""
    model = zen.Sequential([nn.Dense(2)])
    model.compile("sgd", "mse")
    x, y = np.zeros((8, 3), np.float32), np.zeros((8, 2), np.float32)
    history = model.fit(x, y, epochs=2, verbose=0, distribute=NotMain(), callbacks=[
        CSVLogger(tmp_path / "log.csv"), zen.callbacks.ModelCheckpoint(tmp_path / "c.zen")],
        validation_split=0.25)
    model.save(tmp_path / "model.zen")
    model.save_weights(tmp_path / "weights.zen")
    zen.plot_history(history, tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == [] and len(history.history["loss"]) == 2
    history = model.fit(x, y, verbose=0)
    model.save(tmp_path / "model.zen")
    zen.plot_history(history, tmp_path / "curves.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "model.zen"]
