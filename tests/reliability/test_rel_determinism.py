"""Determinism: `zen.set_seed(n)` seeds every random draw Zen makes
(initialisers, Dropout, shuffling, random_split), so two runs with one seed
are bitwise identical and two seeds differ; Zen never touches numpy's or
Python's global random state."""
import random

import numpy as np
import pytest

import zen
from zen import nn
from zen.data import ArrayDataset, DataLoader, random_split
from zen.optim import Adam, schedules

G = np.random.default_rng(11)
X = G.normal(size=(120, 6)).astype(np.float32)
Y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
LOSS = nn.losses.SparseCategoricalCrossentropy(from_logits=True)


def keras_run(seed):
    """fit with Dropout, shuffling and a validation split; (weights, history)."""
    zen.set_seed(seed)
    model = zen.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.4), nn.Dense(2)])
    model.compile(Adam(lr=schedules.ExponentialDecay(0.01, 5, 0.9)), LOSS, ["accuracy"])
    history = model.fit(X, Y, epochs=3, batch_size=16, validation_split=0.25, shuffle=True,
                        verbose=0)
    return model.get_weights(), history.history


def trainer_run(seed):
    """Trainer.fit on a DataLoader(shuffle=True, seed=None) and a random_split."""
    zen.set_seed(seed)
    train, val = random_split(ArrayDataset(X, Y), [0.75, 0.25])
    model = zen.Sequential([nn.Dense(8, activation="tanh"), nn.Dropout(0.2), nn.Dense(2)])
    trainer = zen.Trainer(model, LOSS, "adam", ["accuracy"])
    history = trainer.fit(DataLoader(train, 16, shuffle=True), epochs=2,
                          val_loader=DataLoader(val, 64), verbose=0)
    return model.get_weights(), history.history


def every_layer(seed):
    """Weights of one layer of each initialiser kind, freshly built."""
    zen.set_seed(seed)
    layers = [(nn.Dense(4), (None, 3)), (nn.Conv2D(2, 3), (None, 5, 5, 1)),
              (nn.Embedding(10, 3), (None, 4)), (nn.SimpleRNN(3), (None, 2, 3)),
              (nn.LSTM(3), (None, 2, 3)), (nn.GRU(3), (None, 2, 3)),
              (nn.Dense(4, kernel_initializer="he_normal"), (None, 3))]
    weights = []
    for layer, shape in layers:
        layer.build(shape)
        weights += [t.value.copy() for _, t in layer.named_tensors()]
    return weights, {}


def bitwise_equal(a, b):
    weights_a, history_a = a
    weights_b, history_b = b
    return (all(u.dtype == v.dtype and u.tobytes() == v.tobytes()
                for u, v in zip(weights_a, weights_b)) and history_a == history_b)


@pytest.mark.parametrize("run", [keras_run, trainer_run, every_layer])
def test_same_seed_same_bits_other_seed_other_bits(run):
    first = run(7)
    np.random.seed(1)       # the global states Zen must not depend on
    random.seed(1)
    assert bitwise_equal(first, run(7))
    others = zip(first[0], run(8)[0])
    random_weights = [(u, v) for u, v in others if len(np.unique(u)) > 2]  # not biases
    assert random_weights and not any(np.array_equal(u, v) for u, v in random_weights)


def test_zen_leaves_the_global_random_states_alone():
    np_state, py_state = np.random.get_state(), random.getstate()
    keras_run(0)
    trainer_run(0)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after))
    assert random.getstate() == py_state


def test_dropout_and_shuffling_draw_from_zen_rng():
    zen.set_seed(3)
    state = zen.rng.get_state()
    layer = nn.Dropout(0.5)
    first = layer(np.ones((4, 5), np.float32), training=True).value
    assert (first == 0).any() and (first != 0).any()   # a drawn mask
    order = list(DataLoader(ArrayDataset(np.arange(10)), 10, shuffle=True))[0][0]
    zen.rng.set_state(state)   # the same state gives the same draws
    assert np.array_equal(layer(np.ones((4, 5), np.float32), training=True).value, first)
    assert np.array_equal(list(DataLoader(ArrayDataset(np.arange(10)), 10, shuffle=True))[0][0],
                          order)


def test_validation_split_takes_the_last_samples_without_randomness():
    """Keras's rule: the last fraction before shuffling, whatever the seed."""
    seen = []

    def check(epoch, logs):
        seen.append((logs["val_loss"], model.evaluate(X[90:], Y[90:])))  # no metrics: the loss
    zen.set_seed(1)
    model = zen.Sequential([nn.Dense(2)])
    model.compile("sgd", LOSS)
    model.fit(X, Y, epochs=2, validation_split=0.25, verbose=0,
              callbacks=[zen.callbacks.LambdaCallback(on_epoch_end=check)])
    assert [pytest.approx(a, rel=1e-6) == b for a, b in seen] == [True, True]


def test_a_loader_seed_is_independent_of_zen_rng():
    orders = []
    for global_seed in (0, 1):
        zen.set_seed(global_seed)
        loader = DataLoader(ArrayDataset(np.arange(20)), 20, shuffle=True, seed=5)
        orders.append([batch[0].tolist() for batch in loader])
    assert orders[0] == orders[1]
