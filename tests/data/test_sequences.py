"""pad_sequences and timeseries_dataset_from_array, against expectations written here."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.data import pad_sequences, timeseries_dataset_from_array

SEQUENCES = [[1], [2, 3], [4, 5, 6]]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
    ({"value": -1}, [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]),
    ({"padding": "post"}, [[1, 0, 0], [2, 3, 0], [4, 5, 6]]),
    ({"maxlen": 2}, [[0, 1], [2, 3], [5, 6]]),
    ({"maxlen": 2, "truncating": "post"}, [[0, 1], [2, 3], [4, 5]]),
    ({"maxlen": 2, "truncating": "post", "padding": "post"}, [[1, 0], [2, 3], [4, 5]]),
    ({"maxlen": 4, "padding": "post", "value": 9}, [[1, 9, 9, 9], [2, 3, 9, 9], [4, 5, 6, 9]]),
    ({"maxlen": 0}, np.zeros((3, 0))),
])
def test_pad_sequences_as_keras_documents(kwargs, expected):
    padded = pad_sequences(SEQUENCES, **kwargs)
    assert padded.dtype == np.int32
    np.testing.assert_array_equal(padded, np.asarray(expected).reshape(padded.shape))
    assert padded.shape == np.asarray(expected).shape


def test_pad_sequences_with_empty_sequences_dtype_and_items():
    padded = pad_sequences([[], [1.5, 2.5], []], dtype="float32", value=0.25)
    assert padded.dtype == np.float32
    np.testing.assert_array_equal(padded, [[0.25, 0.25], [1.5, 2.5], [0.25, 0.25]])
    np.testing.assert_array_equal(pad_sequences([[1.7, -2.2]], maxlen=3), [[0, 1, -2]])
    items = pad_sequences([np.ones((1, 2)), np.arange(6).reshape(3, 2)], maxlen=2, padding="post")
    np.testing.assert_array_equal(items, [[[1, 1], [0, 0]], [[2, 3], [4, 5]]])
    assert pad_sequences([]).shape == (0, 0)
    strings = pad_sequences([["a"], ["b", "c"]], dtype=object, value="")
    assert strings.tolist() == [["", "a"], ["b", "c"]]


def test_pad_sequences_errors_name_the_argument():
    with pytest.raises(ValueError, match="`padding`.*Received: padding='middle'"):
        pad_sequences(SEQUENCES, padding="middle")
    with pytest.raises(ValueError, match="`truncating`.*Received: truncating='both'"):
        pad_sequences(SEQUENCES, truncating="both")
    with pytest.raises(ValueError, match="`maxlen`.*Received: maxlen=-1"):
        pad_sequences(SEQUENCES, maxlen=-1)
    with pytest.raises(ValueError, match="Found non-iterable: 3 at position 1"):
        pad_sequences([[1], 3])
    with pytest.raises(ValueError, match="`sequences`.*Received: sequences=5"):
        pad_sequences(5)
    with pytest.raises(ValueError, match="set `dtype=object`"):
        pad_sequences(SEQUENCES, value="x")
    with pytest.raises(ValueError, match=r"Shape of sample \(3,\) of sequence at position 1"):
        pad_sequences([np.ones((2, 2)), np.ones((2, 3))])


def windows(data, starts, length, rate):
    return np.stack([[data[s + k * rate] for k in range(length)] for s in starts])


def test_timeseries_windows_and_targets():
    data = np.arange(100).reshape(50, 2).astype(np.float32)
    targets = np.arange(50) * 10
    ds = timeseries_dataset_from_array(data, targets, sequence_length=4, sequence_stride=3,
                                       sampling_rate=2, batch_size=5, start_index=2,
                                       end_index=40)
    # windows start at 2, 5, ..., 32: the last, 32 + 3 * 2 = 38 < 40
    starts = np.arange(2, 33, 3)
    batches = list(ds)
    assert len(ds) == len(batches) == 3
    assert [len(x) for x, _ in batches] == [5, 5, 1]
    x = np.concatenate([x for x, _ in batches])
    y = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(x, windows(data, starts, 4, 2))
    np.testing.assert_array_equal(y, starts * 10)
    assert x.dtype == np.float32


def test_timeseries_keras_docstring_example_and_no_targets():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    ((x, y),) = list(ds)
    np.testing.assert_array_equal(x[0], np.arange(10))
    np.testing.assert_array_equal(y[0], 10)
    assert x.shape == (81, 10)
    alone = timeseries_dataset_from_array(data, None, 5, sequence_stride=5, batch_size=None)
    assert len(alone) == 20
    np.testing.assert_array_equal(next(iter(alone)), np.arange(5))
    assert sum(1 for _ in alone) == 20


def test_timeseries_targets_limit_the_window_count():
    ds = timeseries_dataset_from_array(np.arange(20), np.arange(6), 3, batch_size=100)
    ((x, y),) = list(ds)
    np.testing.assert_array_equal(y, np.arange(6))
    np.testing.assert_array_equal(x[:, 0], np.arange(6))


def test_timeseries_shuffle_covers_every_window_and_reshuffles_each_pass():
    data = np.arange(60)
    ds = timeseries_dataset_from_array(data, data, 4, batch_size=7, shuffle=True, seed=3)
    passes = [np.concatenate([y for _, y in ds]) for _ in range(3)]
    for order in passes:
        np.testing.assert_array_equal(np.sort(order), np.arange(57))
        for x, y in ds:
            np.testing.assert_array_equal(x, y[:, None] + np.arange(4))
    assert not np.array_equal(passes[0], passes[1])
    again = timeseries_dataset_from_array(data, data, 4, batch_size=7, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([y for _, y in again]), passes[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"start_index": -1}, "`start_index` must be 0 or greater. Received: start_index=-1"),
    ({"start_index": 10}, "`start_index` must be lower than the length of the data"),
    ({"start_index": 5, "end_index": 5}, "`end_index` must be higher than `start_index`"),
    ({"end_index": 10}, "`end_index` must be lower than the length of the data"),
    ({"end_index": 0}, "`end_index` must be higher than 0"),
    ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0. Received: sampling_rate=0"),
    ({"sampling_rate": 10}, "`sampling_rate` must be lower than the length"),
    ({"sequence_stride": 0}, "`sequence_stride` must be higher than 0"),
    ({"sequence_stride": 12}, "`sequence_stride` must be lower than the length"),
    ({"sequence_length": 0}, "`sequence_length`.*Received: sequence_length=0"),
    ({"batch_size": 0}, "`batch_size`.*Received: batch_size=0"),
    ({"shuffle": "yes"}, "`shuffle`.*Received: shuffle='yes'"),
])
def test_timeseries_errors(kwargs, message):
    arguments = {"sequence_length": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(np.arange(10), None, **arguments)


def test_fit_takes_a_timeseries_dataset():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(40, 1)).astype(np.float32)
    targets = series[:, 0]

    def network():
        zen.set_seed(0)
        net = zen.Sequential([zen.Input((5, 1)), nn.Flatten(), nn.Dense(1)])
        net.compile("sgd", "mse")
        return net

    ds = timeseries_dataset_from_array(series, targets, 5, batch_size=8)
    history = network().fit(ds, epochs=2, shuffle=False, verbose=0).history
    x = np.stack([series[s:s + 5] for s in range(36)])
    expected = network().fit(x, targets[:36], batch_size=8, epochs=2, shuffle=False,
                             verbose=0).history
    assert history == expected
    assert network().predict(ds, verbose=0).shape == (36, 1)
