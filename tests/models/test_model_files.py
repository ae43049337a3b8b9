"""Model files for every kind of model: functional and registered
subclassed models round-trip (graph, weights, compile settings, optimizer
state) bitwise; user classes never replace built-ins; unregistered classes
save, and loading them without custom_objects says how to supply them
(more in test_cloning_json.py); files in the format Zen
wrote before functional models still load; and every layer kind survives a
round trip inside a functional model."""
import json

import numpy as np
import pytest

import zen
from zen import nn
from zen.fileio import ZenFileError
from zen.models import Input, Model, Sequential, load_model, register_serializable
from zen.nn import (LSTM, Add, BatchNorm, Concatenate, Dense, Dropout, Flatten, Layer,
                    serialization)
from zen.nn.losses import SparseCategoricalCrossentropy
from zen.tree import flatten

rng = np.random.default_rng(0)
N = 32
X = rng.normal(size=(N, 4)).astype(np.float32)
XB = rng.normal(size=(N, 2)).astype(np.float32)
Y_CLS = np.arange(N) % 3
Y_REG = rng.normal(size=(N, 1)).astype(np.float32)


def read_config(path):
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["zen_config"].tobytes())


def assert_weights_identical(a, b):
    assert len(a.get_weights()) == len(b.get_weights())
    for u, v in zip(a.get_weights(), b.get_weights()):
        assert u.dtype == v.dtype and np.array_equal(u, v)


def train_side_by_side(original, loaded, x, y, epochs=1):
    histories = []
    for model in (original, loaded):
        zen.set_seed(11)                        # the same shuffles and dropout masks
        histories.append(model.fit(x, y, epochs=epochs, batch_size=8, verbose=0).history)
    assert histories[0] == histories[1]
    assert_weights_identical(original, loaded)


def assert_round_trip(model, path, x, y):
    """Saved and loaded: the same predictions bitwise, the same optimizer
    state, and one more epoch leaves both with bitwise identical weights."""
    model.save(path)
    loaded = load_model(path)
    assert type(loaded) is type(model)
    out, again = model.predict(x), loaded.predict(x)
    for a, b in zip(flatten(out), flatten(again)):
        assert np.array_equal(a, b)
    assert repr(loaded.optimizer) == repr(model.optimizer)
    assert loaded.optimizer.iterations == model.optimizer.iterations > 0
    train_side_by_side(model, loaded, x, y)
    return loaded


# ----- functional models ----------------------------------------------------------------------
def functional_classifier():
    zen.set_seed(0)
    inputs = Input((4,), name="features")
    shared = Dense(8, activation="relu", name="shared")
    hidden = Concatenate()([shared(inputs), shared(inputs)])     # a shared layer
    hidden = Dropout(0.3)(BatchNorm()(hidden))
    model = Model(inputs, Dense(3, name="logits")(hidden), name="classifier")
    model.compile(zen.optim.Adam(lr=0.01), SparseCategoricalCrossentropy(from_logits=True),
                  ["accuracy"])
    model.fit(X, Y_CLS, epochs=2, batch_size=8, verbose=0)
    return model


def test_a_functional_model_round_trips_bitwise(tmp_path):
    model = functional_classifier()
    loaded = assert_round_trip(model, tmp_path / "model.zen", X, Y_CLS)
    assert loaded.name == "classifier" and loaded.input_names == ["features"]
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.count_params() == model.count_params() == 40 + 64 + 51
    shared = [layer for layer in loaded.layers if layer.name == "shared"]
    assert len(shared) == 1 and len(loaded.get_weights()) == len(model.get_weights())
    assert list(loaded._trainer.metrics) == ["accuracy"]
    config = read_config(tmp_path / "model.zen")
    nodes = config["model"]["config"]["nodes"]
    assert [node["layer"] for node in nodes][:2] == [1, 1]    # the shared layer, called twice


def test_a_functional_model_with_keyword_arguments_round_trips(tmp_path):
    zen.set_seed(0)
    sequence, h0, c0 = Input((5, 3), name="sequence"), Input((4,), name="h0"), Input((4,))
    output = Dense(1)(LSTM(4)(sequence, initial_state=[h0, c0]))
    model = Model([sequence, h0, c0], output)
    model.compile("sgd", "mse")
    x = [rng.normal(size=(N,) + shape).astype(np.float32) for shape in ((5, 3), (4,), (4,))]
    model.fit(x, Y_REG, epochs=1, batch_size=8, verbose=0)
    assert_round_trip(model, tmp_path / "lstm.zen", x, Y_REG)


def test_a_nested_model_round_trips_inside_a_functional_model(tmp_path):
    zen.set_seed(0)
    inner_input = Input((4,))
    encoder = Model(inner_input, Dense(3, activation="tanh")(inner_input), name="encoder")
    x = Input((4,))
    model = Model(x, Dense(3)(Add()([encoder(x), encoder(x)])))
    model.compile("adam", SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X, Y_CLS, epochs=1, batch_size=8, verbose=0)
    loaded = assert_round_trip(model, tmp_path / "nested.zen", X, Y_CLS)
    assert loaded.count_params() == model.count_params() == 15 + 12
    assert isinstance(loaded.layers[1], Model) and loaded.layers[1].name == "encoder"


def test_multi_output_compile_settings_survive_save_and_load(tmp_path):
    zen.set_seed(0)
    a, b = Input((4,), name="a"), Input((2,), name="b")
    hidden = Dense(8, activation="relu")(Concatenate()([a, b]))
    model = Model({"a": a, "b": b}, {"cls": Dense(3)(hidden), "reg": Dense(1)(hidden)})
    model.compile(zen.optim.RMSProp(lr=0.01),
                  loss={"cls": SparseCategoricalCrossentropy(from_logits=True), "reg": "mae"},
                  loss_weights={"cls": 0.5, "reg": 2.0},
                  metrics={"cls": ["accuracy"], "reg": ["mse", "mae"]})
    x, y = {"a": X, "b": XB}, {"cls": Y_CLS, "reg": Y_REG}
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    loaded = assert_round_trip(model, tmp_path / "multi.zen", x, y)
    settings = read_config(tmp_path / "multi.zen")["compile"]
    assert settings["loss"] == {"cls": {"class_name": "SparseCategoricalCrossentropy",
                                        "config": {"from_logits": True}},
                                "reg": {"class_name": "MAE", "config": {}}}
    assert settings["loss_weights"] == {"cls": 0.5, "reg": 2.0}
    assert settings["metrics"] == {"cls": ["accuracy"], "reg": ["mse", "mae"]}
    logs = loaded.evaluate(x, y, return_dict=True)
    assert logs == model.evaluate(x, y, return_dict=True)
    assert loaded.evaluate(x, y) == [logs[name] for name in loaded.metrics_names]
    assert sorted(logs) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae",
                            "reg_mse"]
    assert logs["loss"] == pytest.approx(0.5 * logs["cls_loss"] + 2.0 * logs["reg_loss"],
                                         abs=1e-6)


def test_save_weights_and_load_weights_of_a_functional_model(tmp_path):
    model = functional_classifier()
    model.save_weights(tmp_path / "weights.zen")
    other = functional_classifier()
    other.set_weights([w * 0 for w in other.get_weights()])
    other.load_weights(tmp_path / "weights.zen")
    assert_weights_identical(model, other)
    np.testing.assert_array_equal(other.predict(X), model.predict(X))


# ----- registered subclassed models -----------------------------------------------------------
@register_serializable(package="tests")
class Residual(Model):
    """x + out(drop(hidden(x))), then a head: a subclassed model with a config."""

    def __init__(self, units, classes=3, name=None):
        super().__init__(name=name)
        self.units, self.classes = units, classes
        self.hidden = Dense(units, activation="relu")
        self.drop = Dropout(0.2)
        self.back = Dense(4)
        self.head = Dense(classes)

    def call(self, x):
        return self.head(x + self.back(self.drop(self.hidden(x))))

    def get_config(self):
        return {"units": self.units, "classes": self.classes}


def test_a_registered_subclassed_model_round_trips_bitwise(tmp_path):
    zen.set_seed(0)
    model = Residual(8, name="res")
    model.compile(zen.optim.SGD(lr=0.05, momentum=0.9),
                  SparseCategoricalCrossentropy(from_logits=True), ["accuracy"])
    model.fit(X, Y_CLS, epochs=2, batch_size=8, verbose=0)
    loaded = assert_round_trip(model, tmp_path / "residual.zen", X, Y_CLS)
    assert loaded.units == 8 and loaded.classes == 3 and loaded.name == "res"
    config = read_config(tmp_path / "residual.zen")
    assert config["model"] == {"class_name": "tests>Residual", "name": "res",
                               "config": {"units": 8, "classes": 3}}


def test_a_registered_model_inside_a_functional_model_round_trips(tmp_path):
    zen.set_seed(0)
    x = Input((4,))
    model = Model(x, Residual(6, classes=2)(x))
    model.compile("adam", SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X, Y_CLS % 2, epochs=1, batch_size=8, verbose=0)
    loaded = assert_round_trip(model, tmp_path / "inside.zen", X, Y_CLS % 2)
    assert isinstance(loaded.layers[1], Residual) and loaded.layers[1].units == 6


def _make_user_dense():
    @register_serializable(package="tests")
    class Dense(Layer):  # the user's class shares its name with zen.nn.Dense
        def __init__(self, units, name=None):
            super().__init__(name)
            self.units = units

        def build(self, input_shape):
            self.weight = zen.Tensor(np.full((input_shape[-1], self.units), 0.5, np.float32))

        def call(self, x):
            return x @ self.weight

        def get_config(self):
            return {"units": self.units}
    return Dense


UserDense = _make_user_dense()


def test_a_user_class_named_like_a_built_in_never_replaces_it(tmp_path):
    assert UserDense.__name__ == "Dense" and UserDense is not nn.Dense
    zen.set_seed(0)
    x = Input((4,))
    model = Model(x, UserDense(2, name="mine")(nn.Dense(3, name="builtin")(x)))
    model.save(tmp_path / "both.zen")
    names = [entry["class_name"] for entry in
             read_config(tmp_path / "both.zen")["model"]["config"]["layers"]]
    assert names == ["InputLayer", "Dense", "tests>Dense"]
    loaded = load_model(tmp_path / "both.zen")
    assert type(loaded.layers[1]) is nn.Dense and type(loaded.layers[2]) is UserDense
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))

    zen.set_seed(0)
    plain = Sequential([nn.Dense(2)])                    # saved after the user's registration
    plain.build((None, 4))
    plain.save(tmp_path / "plain.zen")
    assert type(load_model(tmp_path / "plain.zen").layers[0]) is nn.Dense
    assert serialization.layer_class("Dense") is nn.Dense
    assert serialization.layer_class("tests>Dense") is UserDense


def test_an_unregistered_class_saves_and_loading_it_says_how_to_supply_it(
        tmp_path, monkeypatch):
    class Doubler(Layer):
        def call(self, x):
            return 2 * x

    zen.set_seed(0)
    x = Input((4,))
    model = Model(x, Dense(2)(Doubler()(x)))
    model.save(tmp_path / "m.zen")
    entry = read_config(tmp_path / "m.zen")["model"]["config"]["layers"][1]
    assert entry == {"class_name": "Doubler", "name": "doubler", "config": {},
                     "module": __name__}
    with pytest.raises(ZenFileError, match=r"'Doubler'.*custom_objects=\{'Doubler': Doubler\}"
                                           r".*@zen\.models\.register_serializable\(package="):
        load_model(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen", custom_objects={"Doubler": Doubler})
    assert type(loaded.layers[1]) is Doubler
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    monkeypatch.setattr(serialization, "_CUSTOM", dict(serialization._CUSTOM))
    register_serializable(package="tests")(Doubler)          # registered by the time it loads
    assert type(load_model(tmp_path / "m.zen").layers[1]) is Doubler

    class Unregistered(Model):
        def call(self, x):
            return x

    Unregistered().save(tmp_path / "s.zen")
    assert type(load_model(tmp_path / "s.zen", custom_objects={
        "Unregistered": Unregistered})) is Unregistered


def test_loading_a_file_that_names_an_unregistered_class_says_how_to_register_it(
        tmp_path, monkeypatch):
    @register_serializable(package="tests")
    class Forgotten(Layer):
        def call(self, x):
            return -x

    x = Input((4,))
    Model(x, Dense(2)(Forgotten()(x))).save(tmp_path / "m.zen")
    zen.set_seed(0)
    Residual(4).save(tmp_path / "r.zen")
    monkeypatch.delitem(serialization._CUSTOM, "tests>Forgotten")
    monkeypatch.delitem(serialization._CUSTOM, "tests>Residual")
    for path, name in ((tmp_path / "m.zen", "Forgotten"), (tmp_path / "r.zen", "Residual")):
        with pytest.raises(ZenFileError, match=rf"'tests>{name}'.*class {name} of package "
                                               rf"'tests' is not registered.*"
                                               rf"register_serializable\(package='tests'\)"):
            load_model(path)


# ----- files written before zen.models existed --------------------------------------------------
OLD_SEQUENTIAL = {  # as Zen 0.1 wrote it: layers as {"class_name", "config"}, no names
    "format": "zen.model", "version": 1, "zen_version": "0.1.0", "input_shape": [None, 4],
    "weights": [{"name": "0.kernel", "shape": [4, 8], "dtype": "float32"},
                {"name": "0.bias", "shape": [8], "dtype": "float32"},
                {"name": "1.gamma", "shape": [8], "dtype": "float32"},
                {"name": "1.beta", "shape": [8], "dtype": "float32"},
                {"name": "1.moving_mean", "shape": [8], "dtype": "float32"},
                {"name": "1.moving_variance", "shape": [8], "dtype": "float32"},
                {"name": "3.kernel", "shape": [8, 3], "dtype": "float32"},
                {"name": "3.bias", "shape": [3], "dtype": "float32"}],
    "model": {"class_name": "Sequential", "config": {
        "name": "sequential",
        "layers": [
            {"class_name": "Dense", "config": {"units": 8, "activation": "relu",
                                               "use_bias": True,
                                               "kernel_initializer": "glorot_uniform",
                                               "bias_initializer": "zeros"}},
            {"class_name": "BatchNorm", "config": {"momentum": 0.99, "epsilon": 0.001,
                                                   "axis": -1}},
            {"class_name": "Dropout", "config": {"rate": 0.2}},
            {"class_name": "Dense", "config": {"units": 3, "activation": None,
                                               "use_bias": True,
                                               "kernel_initializer": "glorot_uniform",
                                               "bias_initializer": "zeros"}}],
        "build_input_shape": [None, 4]}},
    "compile": {"optimizer": {"class_name": "Adam", "config": {
        "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-08, "weight_decay": 0.0,
        "clipnorm": None, "clipvalue": None, "global_clipnorm": None}},
        "loss": {"class_name": "SparseCategoricalCrossentropy",
                 "config": {"from_logits": True}},
        "metrics": ["accuracy"]},
}


def test_a_sequential_file_in_the_old_format_still_loads(tmp_path):
    zen.set_seed(0)
    model = Sequential([Dense(8, activation="relu"), BatchNorm(), Dropout(0.2), Dense(3)])
    model.compile(zen.optim.Adam(lr=0.01), SparseCategoricalCrossentropy(from_logits=True),
                  ["accuracy"])
    model.fit(X, Y_CLS, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "new.zen")
    with np.load(tmp_path / "new.zen", allow_pickle=False) as npz:   # the same arrays
        arrays = {name: npz[name] for name in npz.files if name != "zen_config"}
    arrays["zen_config"] = np.frombuffer(json.dumps(OLD_SEQUENTIAL).encode(), np.uint8)
    with open(tmp_path / "old.zen", "wb") as f:
        np.savez(f, **arrays)

    old = load_model(tmp_path / "old.zen")
    assert isinstance(old, Sequential) and old.name == "sequential"
    assert [type(layer).__name__ for layer in old.layers] == \
        ["Dense", "BatchNorm", "Dropout", "Dense"]
    assert list(old._trainer.metrics) == ["accuracy"]
    assert old.optimizer.iterations == model.optimizer.iterations == 4
    np.testing.assert_array_equal(old.predict(X), model.predict(X))
    train_side_by_side(model, old, X, Y_CLS)


# ----- every layer kind inside a functional model -----------------------------------------------
def merge(cls, **kwargs):
    return [(4,), (4,)], lambda a, b: cls(**kwargs)([a, b])


def single(shape, make):
    return [shape], lambda x: make()(x)


LAYERS = {
    "Add": merge(nn.Add), "Subtract": merge(nn.Subtract), "Multiply": merge(nn.Multiply),
    "Average": merge(nn.Average), "Maximum": merge(nn.Maximum), "Minimum": merge(nn.Minimum),
    "Concatenate": merge(nn.Concatenate, axis=1),
    "Reshape": single((6,), lambda: nn.Reshape((2, 3))),
    "Permute": single((2, 3), lambda: nn.Permute((2, 1))),
    "RepeatVector": single((3,), lambda: nn.RepeatVector(4)),
    "Activation": single((4,), lambda: nn.Activation("tanh")),
    "Identity": single((4,), nn.Identity),
    "GlobalAveragePooling2D": single((4, 4, 2), nn.GlobalAveragePooling2D),
    "GlobalMaxPooling2D": single((4, 4, 2), nn.GlobalMaxPooling2D),
    "UpSampling2D": single((3, 3, 2), lambda: nn.UpSampling2D(2)),
    "ZeroPadding2D": single((3, 3, 2), lambda: nn.ZeroPadding2D(1)),
    "Conv2DTranspose": single((4, 4, 2), lambda: nn.Conv2DTranspose(3, 3, strides=2,
                                                                    padding="same")),
    "RandomTranslation": single((6, 6, 1), lambda: nn.RandomTranslation(0.2, 0.2)),
    "RandomRotation": single((6, 6, 1), lambda: nn.RandomRotation(0.2)),
    "RandomZoom": single((6, 6, 1), lambda: nn.RandomZoom(0.2)),
    "RandomFlip": single((6, 6, 1), lambda: nn.RandomFlip("horizontal_and_vertical")),
    "RandomContrast": single((6, 6, 1), lambda: nn.RandomContrast(0.3)),
    "Conv1D": single((8, 2), lambda: nn.Conv1D(3, 3, padding="causal", dilation_rate=2)),
    "MaxPool1D": single((8, 2), lambda: nn.MaxPool1D(2)),
    "AvgPool1D": single((8, 2), lambda: nn.AvgPool1D(3, strides=2, padding="same")),
    "GlobalAveragePooling1D": single((8, 2), nn.GlobalAveragePooling1D),
    "GlobalMaxPooling1D": single((8, 2), nn.GlobalMaxPooling1D),
    "TimeDistributed": single((5, 3), lambda: nn.TimeDistributed(nn.Dense(2))),
    "Bidirectional": single((5, 3), lambda: nn.Bidirectional(nn.LSTM(3, return_sequences=True))),
}
AUGMENTATION = {"RandomTranslation", "RandomRotation", "RandomZoom", "RandomFlip",
                "RandomContrast"}


@pytest.mark.parametrize("kind", LAYERS)
def test_every_layer_kind_round_trips_inside_a_functional_model(kind, tmp_path):
    shapes, call = LAYERS[kind]
    zen.set_seed(0)
    inputs = [Input(shape) for shape in shapes]
    middle = call(*inputs)
    layer = middle.node.layer
    model = Model(inputs, Dense(2)(Flatten()(middle)))
    x = [rng.normal(size=(3,) + shape).astype(np.float32) for shape in shapes]
    model.save(tmp_path / "model.zen")
    loaded = load_model(tmp_path / "model.zen")
    twin = loaded.layers[len(shapes)]
    assert type(twin).__name__ == kind and twin.get_config() == layer.get_config()
    assert loaded.count_params() == model.count_params()
    assert np.array_equal(loaded.predict(x), model.predict(x))
    if kind in AUGMENTATION:                           # the identity in predict
        np.testing.assert_array_equal(Model(inputs, middle).predict(x), x[0])


def test_loading_a_functional_model_does_not_touch_the_random_stream(tmp_path):
    functional_classifier().save(tmp_path / "m.zen")
    zen.set_seed(3)
    expected = zen.rng.generator().random()
    zen.set_seed(3)
    load_model(tmp_path / "m.zen")
    assert zen.rng.generator().random() == expected
