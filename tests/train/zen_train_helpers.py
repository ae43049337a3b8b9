"""Small synthetic problems and models shared by the zen.train tests."""
import numpy as np

import zen
from zen import Sequential
from zen.nn import Dense, Dropout


def blobs(n=240, classes=3, seed=0, dtype=np.float32):
    """`classes` well-separated Gaussian blobs in 2-D: x (n, 2), integer labels (n,)."""
    g = np.random.default_rng(seed)
    y = np.arange(n) % classes
    g.shuffle(y)
    angles = 2 * np.pi * y / classes
    centres = 3.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = centres + g.normal(scale=0.6, size=(n, 2))
    return x.astype(dtype), y.astype(np.int64)


def mlp(classes=3, hidden=16, dropout=None, seed=0):
    """A small MLP giving logits; built for 2 features."""
    zen.set_seed(seed)
    layers = [Dense(hidden, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(classes))
    model = Sequential(layers)
    model.build((None, 2))
    return model


def compiled(classes=3, metrics=("accuracy",), optimizer="adam", **kwargs):
    model = mlp(classes, **kwargs)
    model.compile(optimizer, zen.nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  list(metrics))
    return model


def weights_equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
