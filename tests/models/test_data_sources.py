"""`fit`, `evaluate` and `predict` on any data source, with Keras's steps:
each source gives the History that the same batches give as arrays."""
import warnings

import numpy as np
import pytest

import zen
from zen import nn
from zen.data import ArrayDataset, DataLoader, PyDataset

rng = np.random.default_rng(0)
X = rng.normal(size=(48, 4)).astype(np.float32)
Y = (X[:, 0] - X[:, 2] > 0).astype(np.int64)
W = np.linspace(0.5, 1.5, 48)
B = 16


def model():
    zen.set_seed(0)
    net = zen.Sequential([zen.Input((4,)), nn.Dense(8, activation="relu"), nn.Dense(2)])
    net.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"], weighted_metrics=["accuracy"])
    return net


class Batches(PyDataset):
    def __init__(self, weighted=False):
        super().__init__()
        self.weighted, self.epochs_ended = weighted, 0

    def __len__(self):
        return len(X) // B

    def __getitem__(self, index):
        part = slice(index * B, (index + 1) * B)
        return (X[part], Y[part], W[part]) if self.weighted else (X[part], Y[part])

    def on_epoch_end(self):
        self.epochs_ended += 1


def generator(epochs, weighted=False):
    for _ in range(epochs):
        for start in range(0, len(X), B):
            part = slice(start, start + B)
            yield (X[part], Y[part], W[part]) if weighted else (X[part], Y[part])


def reference(epochs=3, weighted=False, **kwargs):
    return model().fit(X, Y, batch_size=B, epochs=epochs, shuffle=False, verbose=0,
                       sample_weight=W if weighted else None, **kwargs).history


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("source", ["loader", "dataset", "pydataset", "generator"])
def test_each_source_gives_the_history_of_the_same_batches_as_arrays(source, weighted):
    data = {"loader": lambda: DataLoader(ArrayDataset(*((X, Y, W) if weighted else (X, Y))), B),
            "dataset": lambda: ArrayDataset(*((X, Y, W) if weighted else (X, Y))),
            "pydataset": lambda: Batches(weighted),
            "generator": lambda: generator(3, weighted)}[source]()
    kwargs = {"batch_size": B} if source == "dataset" else {}
    history = model().fit(data, epochs=3, shuffle=False, verbose=0,
                          steps_per_epoch=3 if source == "generator" else None, **kwargs)
    assert history.history == reference(weighted=weighted)


def test_evaluate_and_predict_take_the_sources_too():
    net = model()
    expected = net.evaluate(X, Y, batch_size=B, return_dict=True)
    assert net.evaluate(DataLoader(ArrayDataset(X, Y), B), return_dict=True) == expected
    assert net.evaluate(Batches(), return_dict=True) == expected
    assert net.evaluate(generator(1), return_dict=True) == expected
    assert net.evaluate(ArrayDataset(X, Y), batch_size=B, return_dict=True) == expected
    prediction = net.predict(X)
    np.testing.assert_array_equal(net.predict(generator(1)), prediction)
    np.testing.assert_array_equal(net.predict(x[None][0] for x in np.split(X, 3)), prediction)
    np.testing.assert_array_equal(net.predict(DataLoader(ArrayDataset(X), B)), prediction)
    np.testing.assert_array_equal(net.predict(Batches(), steps=2), prediction[:2 * B])


def test_a_generator_is_drawn_until_it_ends_then_training_stops_with_keras_warning():
    net = model()
    with pytest.warns(UserWarning, match="Your input ran out of data; interrupting training"):
        history = net.fit(generator(1), epochs=3, verbose=0)
    assert history.history == reference(epochs=1)
    assert history.epoch == [0]


def test_a_generator_with_steps_per_epoch_spreads_over_the_epochs():
    history = model().fit(generator(2), epochs=3, steps_per_epoch=2, verbose=0).history
    assert len(history["loss"]) == 3
    with pytest.warns(UserWarning, match="ran out of data"):
        short = model().fit(generator(1), epochs=3, steps_per_epoch=2, verbose=0).history
    assert len(short["loss"]) == 2  # 3 batches: epoch 2 ends short, and training stops


def test_steps_per_epoch_on_arrays_continues_the_pass_across_epochs():
    seen = []
    probe = zen.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    net = model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 2 steps of 3 batches: no epoch runs short here...
        net.fit(X, Y, batch_size=B, epochs=3, steps_per_epoch=3, shuffle=False, verbose=0,
                callbacks=[probe])
    assert seen == [0, 1, 2] * 3
    seen.clear()
    with pytest.warns(UserWarning, match="ran out of data"):  # ...but 2 of 3 does
        net.fit(X, Y, batch_size=B, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0,
                callbacks=[probe])
    assert seen == [0, 1, 0]  # the second epoch ends with the pass


def test_a_pydataset_is_shuffled_by_batch_and_told_each_epoch_end():
    data = Batches()
    zen.set_seed(1)
    model().fit(data, epochs=2, verbose=0)
    assert data.epochs_ended == 2
    shuffled = model().fit(Batches(), epochs=2, verbose=0, shuffle=True).history
    assert shuffled != model().fit(Batches(), epochs=2, verbose=0, shuffle=False).history


def test_validation_options():
    net = model()
    history = net.fit(X, Y, batch_size=B, epochs=4, validation_data=(X[:20], Y[:20]),
                      validation_freq=2, validation_steps=1, validation_batch_size=5,
                      verbose=0).history
    assert len(history["val_loss"]) == 2 and len(history["loss"]) == 4
    # one batch of 5 per validation, the pass going on from one to the next (as in Keras)
    expected = net.evaluate(X[5:10], Y[5:10], return_dict=True)["loss"]
    assert history["val_loss"][1] == pytest.approx(expected, rel=1e-6)
    listed = model().fit(X, Y, epochs=3, validation_data=Batches(), validation_freq=[1, 3],
                         verbose=0)
    assert len(listed.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        model().fit(X, Y, validation_data=(X, Y), validation_freq=0, verbose=0)


def test_initial_epoch_counts_history_and_callbacks_from_it():
    epochs = []
    probe = zen.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    history = model().fit(X, Y, epochs=5, initial_epoch=3, verbose=0, callbacks=[probe])
    assert epochs == [3, 4] and history.epoch == [3, 4]


@pytest.mark.parametrize("kwargs, message", [
    ({"y": Y}, "`y` should not be passed"),
    ({"sample_weight": W}, "`sample_weight` should not be passed"),
    ({"batch_size": 8}, "`batch_size` should not be passed"),
    ({"validation_split": 0.2}, "`validation_split` is only supported for arrays"),
])
@pytest.mark.parametrize("source", ["loader", "pydataset", "generator"])
def test_arguments_a_batching_source_carries_itself_are_value_errors(source, kwargs, message):
    data = {"loader": DataLoader(ArrayDataset(X, Y), B), "pydataset": Batches(),
            "generator": generator(1)}[source]
    with pytest.raises(ValueError, match=message):
        model().fit(data, verbose=0, **kwargs)


def test_fit_on_arrays_needs_targets_and_a_source_yields_pairs():
    with pytest.raises(ValueError, match="`fit` needs targets"):
        model().fit(X, verbose=0)
    with pytest.raises(ValueError, match=r"\(x, y\) or \(x, y, sample_weight\) batches"):
        model().fit((x for x in np.split(X, 3)), verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model().fit(X, Y, steps_per_epoch=0, verbose=0)


def test_dict_batches_reach_a_functional_model_with_named_inputs():
    a, b = zen.Input((2,), name="a"), zen.Input((2,), name="b")
    zen.set_seed(0)
    net = zen.Model([a, b], nn.Dense(2, name="out")(nn.Concatenate()([a, b])))
    net.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True))

    def batches():
        for start in range(0, len(X), B):
            part = slice(start, start + B)
            yield {"a": X[part, :2], "b": X[part, 2:]}, {"out": Y[part]}

    history = net.fit(batches(), verbose=0).history
    zen.set_seed(0)
    again = zen.Model([a, b], nn.Dense(2, name="out")(nn.Concatenate()([a, b])))
    again.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert history == again.fit([X[:, :2], X[:, 2:]], Y, batch_size=B, shuffle=False,
                                verbose=0).history
