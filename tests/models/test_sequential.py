"""Sequential: building, Keras's parameter counts and summary, weights as
lists of arrays, config round trips, modes and errors."""
import json

import numpy as np
import pytest

import zen
from zen import Model, Sequential
from zen.autodiff import Tensor
from zen.nn import (BatchNorm, Conv2D, Dense, Dropout, Embedding, Flatten, LayerNorm,
                    MaxPool2D, ReLU)

rng = np.random.default_rng(0)


def mlp():
    return Sequential([Dense(128, activation="relu"), Dropout(0.2),
                       Dense(10, activation="softmax")])


def cnn():
    return Sequential([Conv2D(32, 3, activation="relu"), BatchNorm(), MaxPool2D(),
                       Flatten(), Dense(10)])


def test_sequential_is_a_model_and_lives_in_zen_models():
    assert issubclass(Sequential, Model) and zen.models.Model is Model
    assert zen.models.Sequential is Sequential and zen.models.load_model is zen.load_model
    with pytest.raises(AttributeError, match=r"'zen.nn' has no attribute 'Sequential'"):
        zen.nn.Sequential


@pytest.mark.parametrize("make, input_shape, total, trainable, output_shape", [
    (mlp, (None, 784), 101_770, 101_770, (None, 10)),
    (cnn, (None, 28, 28, 1), 54_538, 54_474, (None, 10)),   # 320 + 128 + 54,090
    (lambda: Sequential([Embedding(1000, 64), LayerNorm(), Dense(3)]), (None, 12),
     64_323, 64_323, (None, 12, 3)),
])
def test_build_counts_and_output_shapes(make, input_shape, total, trainable, output_shape):
    model = make()
    model.build(input_shape)
    assert model.built and model.count_params() == total
    assert sum(t.size for t in model.parameters()) == trainable
    assert model._output_shapes[-1] == output_shape
    x = np.zeros((3,) + input_shape[1:], np.float32)
    assert model(x).shape == (3,) + output_shape[1:]


def test_build_keeps_modes_statistics_and_random_stream():
    model = cnn()
    model.layers[1].train_mode()         # a default the build's inference probe overrules
    zen.set_seed(5)
    model.build((None, 8, 8, 1))
    after_build = zen.rng.generator().random()
    zen.set_seed(5)                      # the initialisers alone, in the same order
    Conv2D(32, 3).build((None, 8, 8, 1))
    Dense(10).build((None, 3 * 3 * 32))
    assert zen.rng.generator().random() == after_build
    bn = model.layers[1]
    np.testing.assert_array_equal(bn.moving_mean.value, 0)
    np.testing.assert_array_equal(bn.moving_variance.value, 1)
    assert [layer.training for layer in model.layers] == [False, True, False, False, False]
    assert model.layers[0].input_shape == (None, 8, 8, 1)


def test_built_by_calling_on_data():
    model = mlp()
    assert not model.built
    y = model(rng.normal(size=(5, 20)))
    assert y.shape == (5, 10) and y.dtype == np.float32
    assert model.input_shape == (None, 20)
    assert model.count_params() == 20 * 128 + 128 + 1290


def test_summary_text(capsys):
    model = Sequential([Dense(128, activation="relu", name="dense"), BatchNorm(name="batch_norm"),
                        Dense(10, name="dense_1")], name="mlp")
    model.build((None, 784))
    model.summary()
    text = capsys.readouterr().out
    for expected in ['Model: "mlp"', "Layer (type)", "Output Shape", "Param #",
                     "dense (Dense)", "batch_norm (BatchNorm)", "dense_1 (Dense)",
                     "(None, 128)", "(None, 10)", "100,480", "1,290",
                     "Total params: 102,282", "Trainable params: 102,026",
                     "Non-trainable params: 256"]:
        assert expected in text, expected
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("dense_1"))
    assert row.split()[-1] == "1,290"


def test_summary_print_fn():
    model = cnn()
    model.build((None, 28, 28, 1))
    captured = []
    model.summary(print_fn=captured.append)
    conv, pool = model.layers[0].name, model.layers[2].name
    assert f"{conv} (Conv2D)" in captured[0] and "(None, 26, 26, 32)" in captured[0]
    assert f"{pool} (MaxPool2D)" in captured[0] and "(None, 5408)" in captured[0]


@pytest.mark.parametrize("method", ["summary", "count_params"])
def test_unbuilt_model_raises(method):
    with pytest.raises(ValueError, match=r"build\(input_shape\).*calling the model"):
        getattr(mlp(), method)()


def test_add_before_and_after_build():
    model = Sequential()
    model.add(Dense(4))
    model.build((None, 3))
    model.add(ReLU())
    model.add(Dense(2))
    assert model._output_shapes == [(None, 4), (None, 4), (None, 2)]
    assert model.count_params() == 16 + 10
    assert model(np.ones((2, 3))).shape == (2, 2)


def test_add_a_layer_that_does_not_fit():
    model = Sequential([Dense(4)])
    model.build((None, 3))
    with pytest.raises(ValueError, match="Conv2D expects inputs"):
        model.add(Conv2D(2, 3))
    assert len(model.layers) == 1 and model.count_params() == 16


@pytest.mark.parametrize("make", [lambda: Sequential().add("dense"),
                                  lambda: Sequential([Dense(2), np.zeros(3)])])
def test_non_layers_are_a_type_error(make):
    with pytest.raises(TypeError, match="Layer"):
        make()


@pytest.mark.parametrize("shape", [None, ()])
def test_build_without_a_shape(shape):
    with pytest.raises(ValueError, match="batch axis"):
        mlp().build(shape)


def test_wrong_input_width_after_build():
    model = mlp()
    model.build((None, 784))
    with pytest.raises(ValueError, match=r"built for inputs of shape \(None, 784\)"):
        model(np.zeros((2, 785), np.float32))


def test_sequences_may_change_length():
    model = Sequential([Embedding(10, 4), Dense(3)])
    assert model(np.zeros((2, 5), int)).shape == (2, 5, 3)
    assert model(np.ones((2, 7), int)).shape == (2, 7, 3)


def test_gradients_reach_every_parameter():
    model = cnn()
    model(rng.normal(size=(4, 8, 8, 1))).sum().backward()
    assert all(p.gradient is not None and p.gradient.shape == p.shape
               for p in model.parameters())
    assert len(model.parameters()) == 6


def test_modes_propagate():
    model = mlp()
    model.build((None, 6))
    x = rng.normal(size=(50, 6)).astype(np.float32)
    model.eval_mode()
    assert not any(layer.training for layer in model.layers)
    np.testing.assert_array_equal(model(x).value, model(x).value)  # Dropout is idle
    model.train_mode()
    assert all(layer.training for layer in model.layers)
    assert not np.array_equal(model(x).value, model(x).value)


# ----- weights ----------------------------------------------------------------------
def test_get_and_set_weights_round_trip():
    source, target = cnn(), cnn()
    source.build((None, 6, 6, 1))
    source(rng.normal(size=(4, 6, 6, 1)))            # moves BatchNorm's statistics
    target.build((None, 6, 6, 1))
    weights = source.get_weights()
    assert len(weights) == 8                          # conv 2, batchnorm 4, dense 2
    assert [w.shape for w in weights] == [t.shape for _, t in target.named_tensors()]
    target.set_weights(weights)
    for a, b in zip(target.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    weights[0][...] = 0                               # get_weights hands out copies
    assert source.get_weights()[0].any()
    source.eval_mode(), target.eval_mode()
    x = rng.normal(size=(2, 6, 6, 1))
    np.testing.assert_array_equal(source(x).value, target(x).value)


def test_set_weights_keeps_tensor_ids():
    model = mlp()
    model.build((None, 3))
    ids = [p.id for p in model.parameters()]
    model.set_weights([np.ones_like(w) for w in model.get_weights()])
    assert [p.id for p in model.parameters()] == ids
    assert model.parameters()[0].value.dtype == np.float32


@pytest.mark.parametrize("change, message", [
    (lambda ws: ws[:-1], "has 4 weights, received a list of 3"),
    (lambda ws: ws + [np.zeros(1)], "received a list of 5"),
    (lambda ws: [ws[0], ws[1], ws[2].T, ws[3]], r"weight 2 \('2.kernel'\) has shape \(5, 2\)"),
])
def test_set_weights_errors_write_nothing(change, message):
    model = Sequential([Dense(5), Dropout(0.1), Dense(2)])
    model.build((None, 3))
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.set_weights(change([np.ones_like(w) for w in before]))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_set_weights_on_unbuilt_model():
    with pytest.raises(ValueError, match="not yet been built"):
        mlp().set_weights([])


# ----- config -------------------------------------------------------------------------
@pytest.mark.parametrize("make, input_shape", [
    (mlp, (None, 12)), (cnn, (None, 8, 8, 1)),
    (lambda: Sequential([Sequential([Dense(3), LayerNorm()], name="inner"), Dense(2)]),
     (None, 4)),
])
def test_config_round_trip_rebuilds_and_builds(make, input_shape):
    model = make()
    model.build(input_shape)
    config = json.loads(json.dumps(model.get_config()))
    assert config["build_input_shape"] == list(input_shape)
    rebuilt = Sequential.from_config(config)
    assert rebuilt.built and rebuilt.count_params() == model.count_params()
    assert json.loads(json.dumps(rebuilt.get_config())) == config
    rebuilt.set_weights(model.get_weights())
    model.eval_mode(), rebuilt.eval_mode()
    x = rng.normal(size=(2,) + input_shape[1:])
    np.testing.assert_array_equal(model(x).value, rebuilt(x).value)


def test_config_of_unbuilt_model():
    config = mlp().get_config()
    assert config["build_input_shape"] is None
    assert [entry["class_name"] for entry in config["layers"]] == ["Dense", "Dropout", "Dense"]
    assert not Sequential.from_config(config).built


def test_from_config_unknown_layer():
    config = {"name": "m", "layers": [{"class_name": "Nope", "config": {}}]}
    with pytest.raises(ValueError, match="Unknown layer class 'Nope'"):
        Sequential.from_config(config)


def test_repr_lists_layers():
    model = Sequential([Dropout(0.5)], name="m")
    assert repr(model) == "Sequential([Dropout(rate=0.5)], name='m')"


def test_list_input_and_tensor_input():
    model = Sequential([Dense(2)])
    assert model([[1.0, 2.0, 3.0]]).shape == (1, 2)
    x = Tensor(np.ones((1, 3), np.float32))
    model(x).sum().backward()
    assert x.gradient.shape == (1, 3)
