"""DataLoader's prefetch thread and worker processes: the same batches as
without them, errors raised where the batch is asked for, nothing left
running after an abandoned epoch, reproducible worker seeds, and a dead
worker reported instead of waited for."""
import gc
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import zen
from zen.data import ArrayDataset, DataLoader, Dataset, get_worker_info


# ----- datasets (module level, so that "spawn" workers can import them) -------------------
class Structured(Dataset):
    """Sample i: ({"x": [i, i + 0.5], "ids": (i, 2 i)}, i) - a dict and a tuple inside."""

    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.array([i, i + 0.5], np.float32), "ids": (np.int64(i), np.int64(2 * i))}, i


class Failing(Structured):
    """Like Structured, but sample `bad` raises a ValueError."""

    def __init__(self, n=23, bad=13):
        super().__init__(n)
        self.bad = bad

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"cannot decode sample {i}")
        return super().__getitem__(i)


class NeedsTwoArguments(Exception):
    def __init__(self, code, detail):
        super().__init__(code, detail)


class FailingOddly(Structured):
    """Raises an exception whose class cannot be built from a message."""

    def __getitem__(self, i):
        raise NeedsTwoArguments(7, f"sample {i}")


class RandomDraws(Dataset):
    """Sample i: i, the worker's id and seed, and one draw from each of
    Python's random, numpy's global generator and zen.rng."""

    def __len__(self):
        return 24

    def __getitem__(self, i):
        info = get_worker_info()
        return (i, -1 if info is None else info.id, -1 if info is None else info.seed,
                random.random(), np.random.random(), zen.rng.generator().random())


class Dies(Structured):
    """The worker that reads sample `fatal` exits at once, as if killed."""

    def __init__(self, fatal, n=40):
        super().__init__(n)
        self.fatal = fatal

    def __getitem__(self, i):
        if i == self.fatal:
            os._exit(3)
        return super().__getitem__(i)


class Slow(Structured):
    """Each sample takes a little while (so that a worker is busy when killed)."""

    def __getitem__(self, i):
        time.sleep(0.02)
        return super().__getitem__(i)


class ThreadNames(Structured):
    """Sample i records the name of the thread that read it."""

    def __getitem__(self, i):
        return threading.current_thread().name


def first_and_second(samples):
    """A collate_fn: (first fields stacked, second fields as a list)."""
    return np.stack([s[0]["x"] for s in samples]), [s[1] for s in samples]


# ----- helpers ------------------------------------------------------------------------------
@pytest.fixture
def deadline():
    """Fail a test that would hang, instead of hanging the suite."""
    def expire(signum, frame):
        raise TimeoutError("the DataLoader did not answer within 60 s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def leftovers(timeout=5.0):
    """Prefetch threads and child processes still alive after `timeout` s."""
    stop = time.monotonic() + timeout
    while True:
        threads = [t for t in threading.enumerate() if t.name.startswith("zen-data")]
        children = multiprocessing.active_children()
        if not (threads or children) or time.monotonic() > stop:
            return threads + children
        time.sleep(0.02)


def assert_same_batches(expected, actual):
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        assert type(a) is type(b)
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            assert_same_batches(list(a.values()), list(b.values()))
        elif isinstance(a, (tuple, list)):
            assert_same_batches(a, b)
        else:
            np.testing.assert_array_equal(a, b)
            assert np.asarray(a).dtype == np.asarray(b).dtype


def epochs(loader, count=2):
    return [list(loader) for _ in range(count)]


SETTINGS = [dict(prefetch=0), dict(prefetch=2), dict(prefetch=1, num_workers=2),
            dict(prefetch=0, num_workers=2), dict(prefetch=2, num_workers=3)]


# ----- same batches -------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle, drop_last", [(False, False), (True, False), (True, True),
                                                (False, True)])
@pytest.mark.parametrize("setting", SETTINGS)
def test_same_batches_with_or_without_prefetch_and_workers(setting, shuffle, drop_last, deadline):
    reference = epochs(DataLoader(Structured(23), 5, shuffle=shuffle, drop_last=drop_last,
                                  seed=4, prefetch=0))
    got = epochs(DataLoader(Structured(23), 5, shuffle=shuffle, drop_last=drop_last, seed=4,
                            **setting))
    assert [len(batch[1]) for batch in got[0]] == ([5] * 4 if drop_last else [5] * 4 + [3])
    assert_same_batches(reference, got)
    if shuffle:
        assert not np.array_equal(got[0][0][1], got[1][0][1])   # a new order each epoch


@pytest.mark.parametrize("setting", SETTINGS)
def test_without_seed_the_batches_follow_zen_set_seed(setting, deadline):
    def two_epochs(**kwargs):
        zen.set_seed(8)
        return epochs(DataLoader(Structured(17), 4, shuffle=True, **kwargs))
    assert_same_batches(two_epochs(prefetch=0), two_epochs(**setting))


@pytest.mark.parametrize("setting", SETTINGS)
def test_same_batches_with_a_collate_fn(setting, deadline):
    loader = DataLoader(Structured(11), 4, shuffle=True, seed=1, collate_fn=first_and_second,
                        **setting)
    reference = DataLoader(Structured(11), 4, shuffle=True, seed=1,
                           collate_fn=first_and_second, prefetch=0)
    assert_same_batches(epochs(reference), epochs(loader))


def test_array_dataset_with_workers_stays_in_process():
    x, y = np.arange(60, dtype=np.float32).reshape(30, 2), np.arange(30)
    loader = DataLoader(ArrayDataset(x, y), 8, shuffle=True, seed=2, num_workers=2)
    iterator = iter(loader)
    first = next(iterator)
    assert multiprocessing.active_children() == []
    rest = list(iterator)
    reference = list(DataLoader(ArrayDataset(x, y), 8, shuffle=True, seed=2, prefetch=0))
    assert_same_batches(reference, [first] + rest)


def test_prefetch_makes_batches_in_a_background_thread():
    names = list(DataLoader(ThreadNames(6), 2, prefetch=2))
    assert {name for batch in names for name in batch[0]} == {"zen-data-prefetch"}
    names = list(DataLoader(ThreadNames(6), 2, prefetch=0))
    assert {name for batch in names for name in batch[0]} == {"MainThread"}


def test_spawned_workers_give_the_same_batches(deadline):
    loader = DataLoader(Structured(10), 3, shuffle=True, seed=6, num_workers=2,
                        multiprocessing_context="spawn")
    reference = DataLoader(Structured(10), 3, shuffle=True, seed=6, prefetch=0)
    assert_same_batches(list(reference), list(loader))


# ----- errors -------------------------------------------------------------------------------
def test_prefetch_raises_the_original_exception_at_its_batch():
    loader = DataLoader(Failing(23, bad=13), 5, prefetch=2)
    iterator = iter(loader)
    assert [next(iterator)[1].tolist() for _ in range(2)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(ValueError, match="cannot decode sample 13") as caught:
        next(iterator)
    assert "__getitem__" in [entry.name for entry in caught.traceback]
    assert leftovers() == []


@pytest.mark.parametrize("num_workers", [1, 2])
def test_a_worker_exception_is_raised_with_its_traceback(num_workers, deadline):
    iterator = iter(DataLoader(Failing(23, bad=13), 5, num_workers=num_workers))
    assert [next(iterator)[1].tolist() for _ in range(2)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(ValueError) as caught:
        next(iterator)
    message = str(caught.value)
    assert f"Caught ValueError in DataLoader worker {2 % num_workers} while making batch 2" \
        in message
    assert "ValueError: cannot decode sample 13" in message
    assert "in __getitem__" in message      # the worker's traceback
    assert leftovers() == []


def test_a_worker_exception_of_an_unusual_class_becomes_a_runtime_error(deadline):
    with pytest.raises(RuntimeError, match=r"Caught NeedsTwoArguments(.|\n)*sample 0"):
        list(DataLoader(FailingOddly(5), 2, num_workers=1))
    assert leftovers() == []


def test_a_batch_that_cannot_be_sent_back_is_an_error(deadline):
    with pytest.raises(Exception, match=r"Caught \w+ in DataLoader worker 0(.|\n)*pickle"):
        list(DataLoader(Structured(4), 2, num_workers=1, collate_fn=lambda samples: lambda: 0))
    assert leftovers() == []


def test_a_worker_that_exits_is_an_error_not_a_hang(deadline):
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) exited "
                                           r"unexpectedly with exit code 3 while making batch 1"):
        list(DataLoader(Dies(fatal=7, n=40), 5, num_workers=2))
    assert leftovers() == []


def test_a_worker_killed_mid_run_is_an_error_not_a_hang(deadline):
    iterator = iter(DataLoader(Slow(40), 4, num_workers=2, prefetch=1))
    next(iterator)
    victim = multiprocessing.active_children()[0]
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"exited unexpectedly \(killed by signal SIGKILL\)"):
        for _ in iterator:
            pass
    assert leftovers() == []


# ----- nothing left running ---------------------------------------------------------------------
@pytest.mark.parametrize("setting", [dict(prefetch=2), dict(num_workers=2)])
def test_breaking_out_early_stops_the_thread_or_the_workers(setting, deadline):
    for batch in DataLoader(Slow(40), 4, **setting):
        assert leftovers(timeout=0) != []    # they are running now
        break
    assert leftovers() == []


@pytest.mark.parametrize("setting", [dict(prefetch=2), dict(num_workers=2)])
def test_a_dropped_iterator_stops_the_thread_or_the_workers(setting, deadline):
    iterator = iter(DataLoader(Structured(40), 4, **setting))
    next(iterator)
    del iterator
    gc.collect()
    assert leftovers() == []


def test_an_iterator_never_started_starts_nothing():
    iterator = iter(DataLoader(Structured(40), 4, num_workers=2))
    assert leftovers(timeout=0) == []
    del iterator


# ----- worker seeds ---------------------------------------------------------------------------
def draws(loader, epochs_count=2):
    """Per epoch: the samples' (index, worker id, seed, draws) rows."""
    return [np.concatenate([np.stack(batch, axis=1) for batch in loader])
            for _ in range(epochs_count)]


def test_worker_seeds_are_reproducible_from_the_loader_seed(deadline):
    first = draws(DataLoader(RandomDraws(), 4, num_workers=2, seed=11))
    again = draws(DataLoader(RandomDraws(), 4, num_workers=2, seed=11))
    np.testing.assert_array_equal(first, again)
    rows = first[0]
    np.testing.assert_array_equal(rows[:, 0], np.arange(24))
    np.testing.assert_array_equal(rows[:, 1], np.arange(24) // 4 % 2)   # batch i -> worker i % 2
    seeds = {int(worker): seed for worker, seed in rows[:, 1:3]}
    assert seeds[1] == seeds[0] + 1            # base seed + worker id
    for column in (3, 4, 5):                   # random, numpy.random, zen.rng: seeded per worker
        assert len(np.unique(rows[:, column])) == 24
    assert not np.array_equal(first[0][:, 2:], first[1][:, 2:])    # a new base seed each epoch
    other = draws(DataLoader(RandomDraws(), 4, num_workers=2, seed=12), 1)
    assert not np.array_equal(first[0][:, 2:], other[0][:, 2:])


def test_worker_seeds_follow_zen_set_seed_without_a_loader_seed(deadline):
    def run():
        zen.set_seed(5)
        return draws(DataLoader(RandomDraws(), 6, shuffle=True, num_workers=2))
    np.testing.assert_array_equal(run(), run())


def test_get_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None
    rows = draws(DataLoader(RandomDraws(), 6, prefetch=2), 1)[0]
    assert set(rows[:, 1]) == {-1}


# ----- arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, value, expected", [
    ("prefetch", -1, "an integer >= 0"), ("prefetch", 1.5, "an integer >= 0"),
    ("prefetch", True, "an integer >= 0"), ("prefetch", "2", "an integer >= 0"),
    ("num_workers", -2, "an integer >= 0"), ("num_workers", 2.0, "an integer >= 0"),
    ("num_workers", None, "an integer >= 0"),
    ("multiprocessing_context", "threads", "one of"),
])
def test_rejects_bad_prefetch_num_workers_and_context(name, value, expected):
    with pytest.raises(ValueError, match=f"`{name}`, expected {expected}.*"
                                         f"Received: {name}={value!r}"):
        DataLoader(Structured(4), 2, **{name: value})


def test_repr_shows_prefetch_and_workers():
    assert "prefetch=2, num_workers=3" in repr(DataLoader(Structured(4), 2, num_workers=3))


def test_a_dataset_that_cannot_go_to_spawned_workers_leaves_nothing_behind(deadline):
    loader = DataLoader(Structured(8), 2, num_workers=2, multiprocessing_context="spawn",
                        collate_fn=lambda samples: samples)
    with pytest.raises(Exception, match="pickle"):
        next(iter(loader))
    assert leftovers() == []


@pytest.mark.parametrize("setting", ["prefetch=2", "num_workers=2"])
def test_an_iterator_alive_at_interpreter_exit_does_not_hang_it(setting, tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(
        "import numpy as np\n"
        "from zen.data import DataLoader, Dataset\n"
        "class Numbers(Dataset):\n"
        "    def __len__(self): return 100\n"
        "    def __getitem__(self, i): return np.float32(i)\n"
        f"batches = iter(DataLoader(Numbers(), 4, {setting}))\n"
        "print(next(batches)[0].tolist())\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=60, cwd=Path(zen.__file__).parents[1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0.0, 1.0, 2.0, 3.0]"
    assert result.stderr == ""
