"""Input validation at the public surface: fit, evaluate, train_on_batch and
predict refuse bad arrays up front, with a message naming the argument, what
was expected and what came."""
import numpy as np
import pytest

import zen
from zen import nn

X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
Y = np.arange(20) % 2


def model(built=True):
    zen.set_seed(0)
    net = zen.Sequential([nn.Dense(4, activation="relu"), nn.Dense(2)])
    if built:
        net.build((None, 3))
    net.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return net


def with_value(array, index, value):
    array = np.array(array, dtype=np.float64 if isinstance(value, float) else array.dtype)
    array[index] = value
    return array


NAN_X = with_value(X, ([5, 7], [1, 0]), np.nan)       # x[5, 1] and x[7, 0]
INF_Y = with_value(Y.astype(np.float32), 3, np.inf)

FIT_CASES = [
    # (kwargs for fit, error, message)
    (dict(x=np.array([["a", "b", "c"]] * 20)), TypeError, r"`x`, expected a numeric array"
                                                          r".*Received: x of dtype <U1"),
    (dict(y=np.array([None] * 20)), TypeError, r"`y`, expected a numeric.*dtype object"),
    (dict(x=None), TypeError, r"`x`, expected a numeric array. Received: x of NoneType"),
    (dict(x=[[1.0, 2.0, 3.0], [1.0]] * 10), ValueError, r"`x`, expected a numeric array of "
                                                        r"one shape. Received a list"),
    (dict(y=Y[:19]), ValueError, r"`x` and `y` must have the same number of samples. "
                                 r"Received: x.shape=\(20, 3\), y.shape=\(19,\)"),
    (dict(x=X[:, :2]), ValueError, r"`x` has shape \(20, 2\), but the model expects "
                                   r"inputs of shape \(None, 3\)"),
    (dict(x=X[:, :, None]), ValueError, r"\(20, 3, 1\).*\(None, 3\)"),
    (dict(x=X[:0], y=Y[:0]), ValueError, r"`x`, expected a non-empty array.*\(0, 3\)"),
    (dict(x=NAN_X), ValueError, r"`x`, expected finite numbers. Received: x with 2 NaN and "
                                r"0 infinite values \(of 60; the first in sample 5\)"),
    (dict(y=INF_Y), ValueError, r"`y`, expected finite.*0 NaN and 1 infinite.*sample 3"),
    (dict(x=with_value(X, 0, 1e39)), ValueError,  # finite float64, infinite as float32
     r"`x`, expected finite.*0 NaN and 3 infinite"),
    (dict(validation_data=(NAN_X, Y)), ValueError, r"`x_val`, expected finite.*2 NaN"),
    (dict(validation_data=(X, Y[:5])), ValueError, r"same number of samples. Received: x_val: 20, y_val: 5"),
    (dict(validation_data=(X,)), ValueError, r"`validation_data`, expected a tuple \(x_val, "
                                             r"y_val\) or \(x_val, y_val, val_sample_weight\)\. "
                                             r"Received: a sequence of 1 items"),
    (dict(validation_data=(X, Y, np.ones(20), 1)), ValueError,
     r"`validation_data`, expected a tuple.*Received: a sequence of 4 items"),
    (dict(validation_data=(X, Y, np.ones(5))), ValueError,
     r"`val_sample_weight` must have one weight per sample: 20 samples, received 5"),
    (dict(validation_data=(X, Y, np.full(20, np.nan))), ValueError,
     r"`val_sample_weight`, expected finite numbers.*20 NaN"),
    (dict(validation_data=(X, Y, np.array(["a"] * 20))), TypeError,
     r"`val_sample_weight`, expected a numeric array"),
    (dict(sample_weight=np.ones(5)), ValueError,
     r"`sample_weight` must have one weight per sample: 20 samples, received 5"),
    (dict(sample_weight=with_value(np.ones(20), 4, np.inf)), ValueError,
     r"`sample_weight`, expected finite numbers.*0 NaN and 1 infinite.*sample 4"),
    (dict(sample_weight=np.array(["a"] * 20)), TypeError,
     r"`sample_weight`, expected a numeric array"),
    (dict(class_weight={-1: 1.0}), ValueError, r"`class_weight`, expected a dict \{class index >= 0"),
    (dict(validation_split=0.99), ValueError, r"20 samples.*one side would be empty"),
    (dict(validation_split=1.0), ValueError, r"`validation_split`, expected a number in "
                                             r"\[0, 1\)"),
    (dict(batch_size=0), ValueError, r"`batch_size`, expected a positive integer"),
    (dict(epochs=-1), ValueError, r"`epochs`, expected an integer >= 0. Received: epochs=-1"),
    (dict(shuffle="yes"), ValueError, r"`shuffle`, expected True or False"),
]


@pytest.mark.parametrize("kwargs, error, message", FIT_CASES)
def test_fit_refuses_bad_inputs_with_a_clear_message(kwargs, error, message):
    net = model()
    before = net.get_weights()
    arguments = {"x": X, "y": Y, "verbose": 0, **kwargs}
    with pytest.raises(error, match=message):
        net.fit(**arguments)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))


def test_validation_data_takes_sample_weights():
    """`validation_data=(x, y, sample_weight)`: the validation loss is the
    weighted one, the same number `evaluate` gives with those weights."""
    weights = np.linspace(0.0, 2.0, 20)
    net = model()
    history = net.fit(X, Y, validation_data=(X, Y, weights), verbose=0)
    weighted = net.evaluate(X, Y, sample_weight=weights)
    assert history.history["val_loss"][0] == pytest.approx(weighted, rel=1e-6)
    assert weighted != pytest.approx(net.evaluate(X, Y), rel=1e-3)


def test_an_unbuilt_model_checks_validation_data_against_x():
    with pytest.raises(ValueError, match=r"`x_val` must have the sample shape of `x`, \(3,\). "
                                         r"Received: x_val.shape=\(20, 4\), x.shape=\(20, 3\)"):
        model(built=False).fit(X, Y, validation_data=(np.zeros((20, 4)), Y), verbose=0)
    assert not model(built=False).built


@pytest.mark.parametrize("call", [
    lambda net, x, y: net.evaluate(x, y),
    lambda net, x, y: net.train_on_batch(x, y),
])
@pytest.mark.parametrize("x, y, error, message", [
    (NAN_X, Y, ValueError, r"`x`, expected finite.*2 NaN"),
    (X, INF_Y, ValueError, r"`y`, expected finite.*1 infinite"),
    (X[:, :2], Y, ValueError, r"\(20, 2\).*\(None, 3\)"),
    (X, Y[:3], ValueError, r"same number of samples"),
    (np.array(["a"] * 20), Y, TypeError, r"`x`, expected a numeric array"),
])
def test_evaluate_and_train_on_batch_check_too(call, x, y, error, message):
    with pytest.raises(error, match=message):
        call(model(), x, y)


def test_predict_checks_types_and_shapes_but_passes_nan_rows_through():
    net = model()
    out = net.predict(NAN_X)
    assert np.isnan(out[[5, 7]]).all() and np.isfinite(np.delete(out, [5, 7], axis=0)).all()
    with pytest.raises(ValueError, match=r"\(20, 2\).*\(None, 3\)"):
        net.predict(X[:, :2])
    with pytest.raises(TypeError, match=r"`x`, expected a numeric array"):
        net.predict([{"a": 1}])
    with pytest.raises(ValueError, match=r"`x`, expected a non-empty"):
        net.predict(np.zeros((0, 3)))


def test_integer_inputs_are_not_scanned_and_train():
    images = np.random.default_rng(1).integers(0, 256, (20, 3), dtype=np.uint8)
    history = model().fit(images, Y, verbose=0)
    assert np.isfinite(history.history["loss"][0])
