"""model.compile / fit / train_on_batch / evaluate / predict on arrays."""
import numpy as np
import pytest

import zen
from zen.callbacks import LambdaCallback
from zen import Sequential
from zen.nn import Dense, Dropout, Embedding, Flatten, Layer
from zen.nn.losses import MSE, SparseCategoricalCrossentropy
from zen_train_helpers import blobs, compiled, mlp, weights_equal


class Spy(Layer):
    """The identity, recording the dtype and batch size of what it sees."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def call(self, x):
        self.seen.append((x.dtype, x.shape[0]))
        return x


def test_compile_and_fit_learn_three_classes():
    zen.set_seed(0)
    x, y = blobs(450, seed=2)
    model = Sequential([Dense(32, activation="relu"), Dense(3, activation="softmax")])
    model.compile(zen.optim.Adam(lr=0.01), "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.95
    assert model.evaluate(x, y)[1] >= 0.95


def test_binary_problem_with_sigmoid_output():
    zen.set_seed(0)
    x, y = blobs(300, classes=2, seed=3)
    model = Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")])
    model.compile(zen.optim.Adam(lr=0.02), "binary_crossentropy", ["accuracy"])
    model.fit(x, y.astype(np.float32), epochs=10, verbose=0)
    assert model.evaluate(x, y)[1] >= 0.95


def test_validation_split_holds_out_the_last_fraction():
    x, y = blobs(100)
    model = compiled()
    spy = LambdaCallback()  # a no-op that receives the fit params
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[spy])
    assert spy.params["steps"] == 5  # 75 training samples in batches of 16
    last = model.evaluate(x[75:], y[75:], return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(last["loss"], rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(last["accuracy"])


@pytest.mark.parametrize("n, split, match", [
    (100, 1.0, r"\[0, 1\)"), (100, -0.1, r"\[0, 1\)"), (100, 1.5, r"\[0, 1\)"),
    (100, "0.2", r"\[0, 1\)"), (100, True, r"\[0, 1\)"),
    (1, 0.5, "not enough"), (50, 0.99, "not enough"),
])
def test_validation_split_errors(n, split, match):
    x, y = blobs(n)
    with pytest.raises(ValueError, match=match):
        compiled().fit(x, y, validation_split=split, verbose=0)


def test_validation_data_replaces_the_split():
    x, y = blobs(60)
    model = compiled()
    history = model.fit(x[:40], y[:40], validation_data=(x[40:], y[40:]), validation_split=0.5,
                        verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[40:], y[40:])[0],
                                                           rel=1e-6)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=(x, y, y, y), verbose=0)


def test_same_seed_same_run():
    x, y = blobs(64)
    runs = []
    for _ in range(2):
        model = compiled(dropout=0.3)
        zen.set_seed(7)
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # shuffled, with dropout
        runs.append(model)
    assert weights_equal(*runs)


def test_inputs_are_cast_once_to_the_model_dtype():
    x, y = blobs(20, dtype=np.float64)
    for inputs in (x, (x * 10).astype(np.uint8)):
        spy = Spy()
        model = Sequential([spy, Dense(3)])
        model.compile("sgd", SparseCategoricalCrossentropy(from_logits=True))
        model.fit(inputs, y, batch_size=8, verbose=0)
        assert {dtype for dtype, _ in spy.seen} == {np.dtype(np.float32)}


def test_embedding_models_keep_integer_inputs():
    zen.set_seed(0)
    x = np.arange(40).reshape(20, 2) % 7
    model = Sequential([Embedding(7, 4), Flatten(), Dense(2)])
    model.compile("adam", SparseCategoricalCrossentropy(from_logits=True), ["accuracy"])
    model.fit(x, x[:, 0] % 2, epochs=1, verbose=0)
    assert model.predict(x).shape == (20, 2)


@pytest.mark.parametrize("x, y, error, match", [
    (np.zeros((10, 2)), np.zeros(9), ValueError, r"same number of samples.*\(10, 2\).*\(9,\)"),
    (np.array([["a", "b"]] * 4), np.zeros(4), TypeError, "`x`.*numeric"),
    (np.zeros((4, 2)), np.array([None] * 4), TypeError, "`y`.*numeric"),
    (np.zeros((10, 3)), np.zeros(10), ValueError, r"\(10, 3\).*\(None, 2\)"),
    (np.zeros((10, 2, 1)), np.zeros(10), ValueError, r"\(10, 2, 1\).*\(None, 2\)"),
    (np.zeros((0, 2)), np.zeros(0), ValueError, "non-empty"),
    (np.float32(1.0), np.zeros(1), ValueError, "non-empty"),
    (np.zeros((4, 2)), np.array([0, 1, 2, 3]), ValueError, "out of range"),
])
def test_bad_inputs(x, y, error, match):
    model = compiled()
    with pytest.raises(error, match=match):
        model.fit(x, y, verbose=0)


def test_bad_inputs_in_evaluate_and_predict():
    model = compiled()
    with pytest.raises(ValueError, match=r"\(None, 2\)"):
        model.evaluate(np.zeros((4, 5)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(None, 2\)"):
        model.predict(np.zeros((4, 5)))
    with pytest.raises(TypeError, match="numeric"):
        model.predict(np.array(["x"]))


@pytest.mark.parametrize("call", [
    lambda m, x, y: m.fit(x, y, verbose=0), lambda m, x, y: m.evaluate(x, y),
    lambda m, x, y: m.train_on_batch(x, y),
])
def test_compile_comes_first(call):
    x, y = blobs(8)
    with pytest.raises(ValueError, match=r"compile\(optimizer, loss\)"):
        call(mlp(), x, y)


def test_predict_needs_no_compile():
    x, _ = blobs(8)
    model = mlp()
    np.testing.assert_array_equal(model.predict(x), model(x).value)


@pytest.mark.parametrize("metrics, expected_type", [([], float), (["accuracy", "mae"], list)])
def test_train_on_batch_returns_like_keras(metrics, expected_type):
    x, y = blobs(16)
    model = Sequential([Dense(1)])
    model.compile("sgd", "mse", metrics)
    result = model.train_on_batch(x, y.astype(np.float32))
    assert isinstance(result, expected_type)
    if metrics:
        assert len(result) == 3
    logs = zen.models.training.train_on_batch(model, x, y, return_dict=True)
    assert list(logs) == ["loss"] + metrics


def test_train_on_batch_takes_one_step():
    x, y = blobs(16)
    model = compiled(optimizer=zen.optim.SGD(lr=0.1))
    before = model.get_weights()
    expected = model.evaluate(x, y, return_dict=True)  # no dropout: the same forward pass as training
    loss, accuracy = model.train_on_batch(x, y)
    assert (loss, accuracy) == pytest.approx((expected["loss"], expected["accuracy"]), rel=1e-6)
    assert model.optimizer.iterations == 1
    assert not all(np.array_equal(u, v) for u, v in zip(before, model.get_weights()))


def test_evaluate_and_predict_run_in_inference_mode_in_batches():
    x, y = blobs(10)
    spy = Spy()
    zen.set_seed(0)
    model = Sequential([Dense(16, activation="relu"), Dropout(0.5), spy, Dense(3)])
    model.compile("sgd", SparseCategoricalCrossentropy(from_logits=True), ["accuracy"])
    model(x)
    model.train_mode()
    spy.seen.clear()
    pred = model.predict(x, batch_size=4)
    assert [n for _, n in spy.seen] == [4, 4, 2]
    model.eval_mode()
    reference = model(x).value
    model.train_mode()
    np.testing.assert_array_equal(pred, reference)  # Dropout was off
    loss, _ = model.evaluate(x, y, batch_size=3)
    expected = SparseCategoricalCrossentropy(from_logits=True)(y, zen.Tensor(reference)).item()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert model.training and model.layers[1].training  # the default mode is left alone


def test_evaluate_restores_eval_mode_too():
    x, y = blobs(10)
    model = compiled(dropout=0.5)
    model.eval_mode()
    model.evaluate(x, y)
    model.predict(x)
    assert model.training is False


def test_compile_accepts_names_classes_and_instances():
    x, y = blobs(32)
    y = y.astype(np.float32)
    for optimizer, loss in [("sgd", "mse"), (zen.optim.Adam, MSE), (zen.optim.RMSProp(), MSE())]:
        model = Sequential([Dense(1)])
        model.compile(optimizer, loss, metrics=["mae", "mse"])
        history = model.fit(x, y, epochs=1, verbose=0)
        assert set(history.history) == {"loss", "mae", "mse"}
        assert isinstance(model.loss, MSE)


def test_fit_argument_errors():
    x, y = blobs(16)
    model = compiled()
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="shuffle"):
        model.fit(x, y, shuffle="yes", verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=-2, verbose=0)
