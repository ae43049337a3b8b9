"""Real learning on small problems: each must reach its target in seconds."""
import numpy as np

import zen
from zen import nn


def test_two_layer_mlp_fits_xor():
    zen.set_seed(0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    model = zen.Sequential([nn.Dense(8, activation="tanh"), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer=zen.optim.Adam(lr=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=300, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < 0.05 < history.history["loss"][0]
    np.testing.assert_array_equal(model.predict(x) > 0.5, y > 0.5)


def test_convnet_tells_horizontal_from_vertical_stripes():
    """Horizontal against vertical stripes, with noise: a task only a layer
    that sees 2-D neighbourhoods solves from few samples."""
    zen.set_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 256)
    images = rng.normal(0, 0.3, (256, 12, 12, 1)).astype(np.float32)
    stripes = (np.arange(12) % 4 < 2).astype(np.float32)
    images[labels == 0] += stripes[None, :, None, None]
    images[labels == 1] += stripes[None, None, :, None]
    model = zen.Sequential([nn.Conv2D(4, 3, activation="relu"), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(2)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images[:192], labels[:192], epochs=15, batch_size=32, verbose=0)
    assert model.metrics_names == ["loss", "accuracy"]
    loss, accuracy = model.evaluate(images[192:], labels[192:])       # [loss, *metrics]
    assert accuracy >= 0.95
