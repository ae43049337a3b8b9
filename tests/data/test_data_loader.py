"""DataLoader: batching, coverage, shuffling reproducibility, validation."""
import numpy as np
import pytest

import zen
from zen.data import ArrayDataset, DataLoader, Dataset, random_split


def epoch_labels(loader):
    """The label batches of one epoch (labels are the sample indices)."""
    return [batch[-1] for batch in loader]


def epoch_order(loader):
    return np.concatenate(epoch_labels(loader))


def numbered(n):
    """x[i] = (i, i + 0.5) float32, y[i] = i."""
    x = np.stack([np.arange(n), np.arange(n) + 0.5], axis=1).astype(np.float32)
    return ArrayDataset(x, np.arange(n))


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (1, 5, False, [1]),
    (10, 10, True, [10]),
    (10, 32, False, [10]),
])
def test_batch_sizes_and_len(n, batch_size, drop_last, sizes):
    for shuffle in (False, True):
        loader = DataLoader(numbered(n), batch_size, shuffle=shuffle, drop_last=drop_last, seed=1)
        batches = list(loader)
        assert len(loader) == len(sizes)
        assert [len(b[0]) for b in batches] == sizes
        assert all(len(b[1]) == len(b[0]) for b in batches)


def test_batches_are_tuples_of_arrays_with_the_sample_shapes():
    x = np.zeros((10, 4, 2), np.float32)
    y = np.arange(10, dtype=np.int64)
    xb, yb = next(iter(DataLoader(ArrayDataset(x, y), batch_size=4)))
    assert (xb.shape, xb.dtype, yb.shape, yb.dtype) == ((4, 4, 2), np.float32, (4,), np.int64)


def test_unshuffled_epoch_is_in_order():
    np.testing.assert_array_equal(epoch_order(DataLoader(numbered(10), 4)), np.arange(10))


@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_epochs_cover_every_sample_once_and_differ(drop_last):
    loader = DataLoader(numbered(40), 8, shuffle=True, drop_last=drop_last, seed=5)
    orders = [epoch_order(loader) for _ in range(3)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(40))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_shuffle_is_reproducible_from_seed():
    def three_epochs(seed):
        loader = DataLoader(numbered(30), 7, shuffle=True, seed=seed)
        return [epoch_order(loader) for _ in range(3)]
    np.testing.assert_array_equal(three_epochs(2), three_epochs(2))
    assert not np.array_equal(three_epochs(2)[0], three_epochs(3)[0])


def test_shuffle_without_seed_follows_zen_set_seed():
    loader = DataLoader(numbered(30), 7, shuffle=True)
    zen.set_seed(21)
    first = [epoch_order(loader) for _ in range(2)]
    zen.set_seed(21)
    again = [epoch_order(loader) for _ in range(2)]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[0], first[1])


def test_state_dict_replays_the_next_epoch():
    loader = DataLoader(numbered(30), 7, shuffle=True, seed=0)
    state = loader.state_dict()
    first = epoch_order(loader)
    loader.load_state_dict(state)
    np.testing.assert_array_equal(first, epoch_order(loader))
    assert DataLoader(numbered(3), shuffle=True).state_dict() == {}


def test_array_dataset_batch_is_one_fancy_index():
    class Counting(ArrayDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)
    loader = DataLoader(Counting(np.arange(100), np.arange(100)), 10, shuffle=True, seed=0)
    list(loader)
    assert Counting.calls == len(loader) == 10


def test_subset_batches_come_from_the_parent_dataset():
    train, _ = random_split(numbered(20), [15, 5], seed=0)
    xb, yb = next(iter(DataLoader(train, batch_size=15)))
    np.testing.assert_array_equal(yb, train.indices)
    np.testing.assert_array_equal(xb[:, 1], train.indices + 0.5)


def test_general_dataset_samples_are_stacked():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, i, np.float32), i * i

    class Plain(Squares):
        def __getitem__(self, i):
            return np.float32(i)
    xb, yb = list(DataLoader(Squares(), batch_size=3))[1]
    np.testing.assert_array_equal(xb, [[3, 3], [4, 4]])
    np.testing.assert_array_equal(yb, [9, 16])
    (only,) = next(iter(DataLoader(Plain(), batch_size=2)))
    np.testing.assert_array_equal(only, [0, 1])
    # any sized, indexable object works, not only zen Datasets
    (pairs_x, pairs_y), = [b for b in DataLoader([(1, 2), (3, 4)], batch_size=2)]
    np.testing.assert_array_equal(pairs_x, [1, 3])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4", None])
def test_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"`batch_size`.*batch_size={batch_size!r}"):
        DataLoader(numbered(10), batch_size=batch_size)


@pytest.mark.parametrize("seed", [-1, 0.5, "0"])
def test_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="`seed`"):
        DataLoader(numbered(10), shuffle=True, seed=seed)


def test_rejects_empty_dataset_and_a_drop_last_that_leaves_nothing():
    with pytest.raises(ValueError, match="empty dataset"):
        DataLoader(ArrayDataset(np.zeros((0, 3))))
    with pytest.raises(ValueError, match="drop_last=True with batch_size=8.*only 5 samples"):
        DataLoader(numbered(5), batch_size=8, drop_last=True)
    with pytest.raises(TypeError, match="`dataset`.*int"):
        DataLoader(5)
