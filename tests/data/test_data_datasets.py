"""ArrayDataset, Subset, random_split and one_hot."""
import numpy as np
import pytest

import zen
from zen.data import ArrayDataset, Dataset, Subset, one_hot, random_split


def test_array_dataset_int_index_gives_one_sample_per_array():
    x, y = np.arange(12).reshape(6, 2), np.arange(6) * 10
    ds = ArrayDataset(x, y)
    assert len(ds) == 6
    xs, ys = ds[4]
    np.testing.assert_array_equal(xs, [8, 9])
    assert ys == 40


def test_array_dataset_index_array_gives_one_batch_per_array():
    x, y = np.arange(12).reshape(6, 2), np.arange(6) * 10
    xb, yb = ArrayDataset(x, y)[np.array([5, 0, 2])]
    np.testing.assert_array_equal(xb, [[10, 11], [0, 1], [4, 5]])
    np.testing.assert_array_equal(yb, [50, 0, 20])


@pytest.mark.parametrize("arrays, match", [
    ((np.zeros(3), np.zeros(4)), r"same length.*\[3, 4\]"),
    ((np.zeros((5, 2)), np.zeros(5), np.zeros(2)), r"\[5, 5, 2\]"),
    ((), "at least one array"),
    ((np.float32(1.0),), "0-d array"),
])
def test_array_dataset_rejects_bad_arrays(arrays, match):
    with pytest.raises(ValueError, match=match):
        ArrayDataset(*arrays)


def test_dataset_base_requires_len_and_getitem():
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


@pytest.mark.parametrize("indices, error, match", [
    ([[0, 1]], ValueError, "1-D array of integers"),
    ([0.5], ValueError, "1-D array of integers"),
    ([0, 10], IndexError, "index 10 is out of range for a dataset of 10"),
    ([-1], IndexError, "index -1"),
])
def test_subset_rejects_bad_indices(indices, error, match):
    with pytest.raises(error, match=match):
        Subset(ArrayDataset(np.arange(10)), indices)


@pytest.mark.parametrize("n, lengths, sizes", [
    (10, [7, 3], [7, 3]),
    (10, [10, 0], [10, 0]),
    (10, [0.5, 0.5], [5, 5]),
    (10, [0.33, 0.33, 0.34], [4, 3, 3]),     # floors 3, 3, 3; the leftover goes first
    (7, (0.5, 0.5), [4, 3]),
    (5, np.array([2, 3]), [2, 3]),
])
def test_random_split_sizes_are_disjoint_and_cover(n, lengths, sizes):
    parts = random_split(ArrayDataset(np.arange(n)), lengths, seed=0)
    assert [len(p) for p in parts] == sizes
    together = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(together), np.arange(n))
    for part in parts:     # each part reads the parent's samples at its indices
        if len(part):
            np.testing.assert_array_equal(part.get_batch(np.arange(len(part)))[0], part.indices)


def test_random_split_is_reproducible_from_seed_or_set_seed():
    ds = ArrayDataset(np.arange(50))
    first = [p.indices for p in random_split(ds, [30, 20], seed=3)]
    again = [p.indices for p in random_split(ds, [30, 20], seed=3)]
    other = [p.indices for p in random_split(ds, [30, 20], seed=4)]
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    zen.set_seed(11)
    a = random_split(ds, [0.5, 0.5])[0].indices
    zen.set_seed(11)
    np.testing.assert_array_equal(a, random_split(ds, [0.5, 0.5])[0].indices)


@pytest.mark.parametrize("lengths, match", [
    ([6, 3], r"sum to the dataset's 10 samples.*sum 9"),
    ([11, -1], "non-negative"),
    ([0.5, 0.4], "fractions must sum to 1"),
    ([0.5, 5], "all integers or all fractions"),
    ([1.5, -0.5], "all integers or all fractions"),
    ([True, False], "all integers or all fractions"),
    ([], "non-empty list"),
    ("ab", "non-empty list"),
])
def test_random_split_rejects_bad_lengths(lengths, match):
    with pytest.raises(ValueError, match=match):
        random_split(ArrayDataset(np.arange(10)), lengths)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_random_split_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="`seed`"):
        random_split(ArrayDataset(np.arange(10)), [5, 5], seed=seed)


@pytest.mark.parametrize("labels, num_classes, expected", [
    ([0, 2, 1], 3, [[1, 0, 0], [0, 0, 1], [0, 1, 0]]),
    (np.array([1], np.uint8), 2, [[0, 1]]),
    ([3.0, 0.0], 4, [[0, 0, 0, 1], [1, 0, 0, 0]]),       # whole-number floats are labels
    ([[0], [1]], 2, [[[1, 0]], [[0, 1]]]),                # any shape S gives S + (C,)
    ([], 3, np.zeros((0, 3))),
])
def test_one_hot_values(labels, num_classes, expected):
    out = one_hot(labels, num_classes)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("labels, num_classes, match", [
    ([0, 3], 3, r"num_classes=3: label 3 \(labels must be in \[0, 2\]\)"),
    ([-1, 0], 10, r"num_classes=10: label -1"),
    ([0.5], 3, "integer class labels"),
    (["a"], 3, "integer class labels"),
    ([0], 0, "`num_classes`.*num_classes=0"),
    ([0], 2.0, "`num_classes`"),
    ([0], True, "`num_classes`"),
])
def test_one_hot_rejects_bad_input(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        one_hot(labels, num_classes)
