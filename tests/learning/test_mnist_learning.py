"""Real learning on the real MNIST: a subset, a few seconds."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.data import mnist


@pytest.fixture(scope="module")
def digits():
    try:
        return mnist.load_data()
    except (OSError, ValueError) as error:  # no copy of MNIST on this machine and no network
        pytest.skip(f"MNIST is not available here ({error}); `make data` fetches it")


def test_mlp_reaches_90_percent_on_the_test_set_after_10000_images(digits):
    (x_train, y_train), (x_test, y_test) = digits
    x_train = x_train[:10_000].reshape(-1, 784).astype(np.float32) / 255
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255
    zen.set_seed(0)
    model = zen.Sequential([nn.Dense(128, activation="relu"), nn.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x_train, y_train[:10_000], epochs=2, batch_size=64, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=1000)   # [loss, *metrics]
    assert accuracy >= 0.90 and loss < history.history["loss"][0]


def test_convnet_reaches_90_percent_after_3000_images(digits):
    (x_train, y_train), (x_test, y_test) = digits
    x_train = x_train[:3000, :, :, None].astype(np.float32) / 255
    x_test = x_test[:2000, :, :, None].astype(np.float32) / 255
    zen.set_seed(0)
    model = zen.Sequential([nn.Conv2D(16, 3, activation="relu"), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(10)])
    model.compile(optimizer=zen.optim.Adam(lr=5e-3), metrics=["accuracy"],
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train[:3000], epochs=3, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test[:2000], batch_size=500,
                          return_dict=True)["accuracy"] >= 0.90
