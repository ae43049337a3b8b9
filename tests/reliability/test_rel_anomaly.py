"""NaN end to end: `detect_anomaly` names the op, its input shapes and the
user's line when a loss turns NaN inside `fit`; TerminateOnNaN stops `fit`
and says at which batch."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.autodiff import anomaly, detect_anomaly
from zen.callbacks import LambdaCallback, TerminateOnNaN

X = np.random.default_rng(2).normal(size=(64, 3)).astype(np.float32)
Y = np.ones((64, 1), np.float32)


def log_loss(y_true, y_pred):           # Keras's order: the targets first
    return (y_pred - 100.0).log().mean()  # log of a negative number: NaN


def sqrt_loss(y_true, y_pred):
    return (y_pred * 0.0).sqrt().mean()   # finite forward, infinite gradient at 0


def model(loss):
    zen.set_seed(0)
    net = zen.Sequential([nn.Dense(4, activation="relu"), nn.Dense(1)])
    net.compile("sgd", loss)
    return net


@pytest.mark.parametrize("loss, message", [
    (log_loss, r"Log forward produced NaN or Inf in its output \(input shapes \(16, 1\)\); "
               r"created at .*test_rel_anomaly\.py:\d+: return \(y_pred - 100\.0\)\.log\(\)"),
    (sqrt_loss, r"Sqrt backward produced NaN or Inf in the gradient of input 0 \(input "
                r"shapes \(16, 1\)\); created at .*test_rel_anomaly\.py:\d+: "
                r"return \(y_pred \* 0\.0\)\.sqrt\(\)"),
])
def test_detect_anomaly_names_the_op_the_shapes_and_the_user_line(loss, message):
    net = model(loss)
    before = net.get_weights()
    with np.errstate(invalid="ignore", divide="ignore"), detect_anomaly():
        with pytest.raises(FloatingPointError, match=message):
            net.fit(X, Y, batch_size=16, verbose=0)
    assert not anomaly.enabled()   # switched off again on the way out
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))  # no update


def test_without_detect_anomaly_the_nan_only_shows_in_the_logs():
    with np.errstate(invalid="ignore"):
        history = model(log_loss).fit(X, Y, batch_size=16, epochs=2, verbose=0)
    assert np.isnan(history.history["loss"]).all()


def test_terminate_on_nan_stops_fit_and_names_the_batch():
    net = model("mse")
    batches = []

    def poison(batch, logs):  # weights turn NaN before the fourth batch of epoch 2
        if len(batches) == 4 + 3:
            net.layers[1].kernel.value[...] = np.nan
        batches.append(batch)
    stop = TerminateOnNaN()
    with pytest.warns(RuntimeWarning, match=r"^TerminateOnNaN: invalid loss nan at batch 3 "
                                            r"of epoch 2, terminating training$"):
        history = net.fit(X, Y, batch_size=16, epochs=5, shuffle=False, verbose=0,
                          callbacks=[LambdaCallback(on_batch_begin=poison), stop])
    assert stop.stopped_at == (1, 3)          # (epoch, batch), counted from 0
    assert batches == [0, 1, 2, 3, 0, 1, 2, 3] and history.epoch == [0, 1]
    assert np.isnan(history.history["loss"][1]) and np.isfinite(history.history["loss"][0])
    assert net.stop_training
