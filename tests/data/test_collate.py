"""The default collate keeps each sample's structure; `collate_fn` replaces it."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.data import ArrayDataset, DataLoader, Dataset, collate


class Samples(Dataset):
    """A dataset over a list of ready-made samples."""

    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        return self.samples[index]


def two_inputs(n=6):
    """Sample i: ((xa_i, xb_i), y_i) with xa_i = [i, i+1], xb_i = [10 i], y_i = i % 2."""
    return [((np.array([i, i + 1], np.float32), np.array([10.0 * i], np.float32)), i % 2)
            for i in range(n)]


def test_flat_tuple_samples_give_a_tuple_of_stacked_fields():
    xs, ys = collate([(np.array([1, 2]), 0), (np.array([3, 4]), 1)])
    np.testing.assert_array_equal(xs, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(ys, [0, 1])


def test_a_single_array_sample_gives_a_one_tuple():
    (batch,) = collate([np.zeros(3), np.ones(3)])
    np.testing.assert_array_equal(batch, [[0, 0, 0], [1, 1, 1]])


def test_nested_tuple_samples_keep_their_structure():
    (xa, xb), y = collate(two_inputs(3))
    np.testing.assert_array_equal(xa, [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_array_equal(xb, [[0], [10], [20]])
    np.testing.assert_array_equal(y, [0, 1, 0])
    assert xa.dtype == np.float32 and xb.dtype == np.float32 and xa.dtype != object


def test_a_dict_sample_gives_a_one_tuple_of_a_dict():
    (batch,) = collate([{"a": np.array([1, 2]), "b": 5}, {"a": np.array([3, 4]), "b": 6}])
    assert set(batch) == {"a", "b"}
    np.testing.assert_array_equal(batch["a"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(batch["b"], [5, 6])


def test_dict_and_target_samples():
    x, y = collate([({"a": np.array([1.0]), "b": np.array([[2.0]])}, 1),
                    ({"a": np.array([3.0]), "b": np.array([[4.0]])}, 0)])
    np.testing.assert_array_equal(x["a"], [[1.0], [3.0]])
    np.testing.assert_array_equal(x["b"], [[[2.0]], [[4.0]]])
    np.testing.assert_array_equal(y, [1, 0])


def test_mixed_structures_are_errors_that_name_them():
    with pytest.raises(ValueError, match="sequences of 2 fields.*Received: a tuple of 3 fields"):
        collate([(1, 2), (1, 2, 3)])
    with pytest.raises(ValueError, match=r"keys \['a'\].*Received: a dict with keys \['b'\]"):
        collate([{"a": 1}, {"b": 1}])
    with pytest.raises(ValueError, match="Received: a int"):
        collate([({"a": 1},), (1,)])
    with pytest.raises(ValueError, match="empty list"):
        collate([])


def test_the_loader_batches_nested_samples_in_structure():
    loader = DataLoader(Samples(two_inputs(5)), batch_size=2)
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    (xa, xb), y = batches[-1]
    np.testing.assert_array_equal(xa, [[4, 5]])
    np.testing.assert_array_equal(xb, [[40]])
    np.testing.assert_array_equal(y, [0])


def test_collate_fn_replaces_the_default_and_gets_the_samples():
    received = []

    def summed(samples):
        received.append(samples)
        return np.sum([s[1] for s in samples])

    loader = DataLoader(ArrayDataset(np.zeros((5, 2)), np.arange(5)), batch_size=2,
                        collate_fn=summed)
    assert list(loader) == [1, 5, 4]
    assert [len(s) for s in received] == [2, 2, 1]
    x0, y0 = received[0][0]
    np.testing.assert_array_equal(x0, [0, 0])
    assert y0 == 0


def test_collate_fn_must_be_callable():
    with pytest.raises(TypeError, match="`collate_fn`, expected None or a callable. Received: 3"):
        DataLoader(ArrayDataset(np.zeros(4)), collate_fn=3)


def test_fit_a_two_input_model_from_a_loader_of_nested_samples():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    y = (x[:, 0] > x[:, 3]).astype(np.int64)
    samples = [((x[i, :2], x[i, 2:]), y[i]) for i in range(24)]

    def network():
        zen.set_seed(0)
        a, b = zen.Input((2,), name="a"), zen.Input((2,), name="b")
        net = zen.Model([a, b], nn.Dense(2)(nn.Concatenate()([a, b])))
        net.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return net

    history = network().fit(DataLoader(Samples(samples), batch_size=8), epochs=2,
                            verbose=0).history
    expected = network().fit([x[:, :2], x[:, 2:]], y, batch_size=8, epochs=2, shuffle=False,
                             verbose=0).history
    assert history == expected
    dict_samples = [({"a": x[i, :2], "b": x[i, 2:]}, y[i]) for i in range(24)]
    assert network().fit(DataLoader(Samples(dict_samples), batch_size=8), epochs=2,
                         verbose=0).history == expected
