"""zen.models.keras_format: Keras 3's `.keras` files both ways.

The fixtures in tests/fixtures/keras were written by Keras 3.15.1 (torch
backend) with tests/fixtures/make_keras_files.py, each with Keras's
predictions on fixed inputs beside it: those predictions are the reference.
"""
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import zen
from zen import Input, Model, Sequential, load_model
from zen.models.keras_format import is_keras_file, load_keras, save_keras
from zen.nn import (GRU, LSTM, Add, BatchNormalization, Concatenate, Conv2D, Dense, Dropout,
                    Embedding, Flatten, MaxPooling2D)

h5py = pytest.importorskip("h5py")

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "keras")
NAMES = ["mlp", "convnet", "recurrent", "two_outputs", "adam_trained"]
QUICK_S = 5.0  # a hostile file is refused within this (on a loaded 2-core machine)


def fixture(name):
    return os.path.join(FIXTURES, f"{name}.keras")


def inputs_and_outputs(name):
    arrays = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    xs = [arrays[key] for key in sorted(arrays.files) if key[0] == "x"]
    ys = [arrays[key] for key in sorted(arrays.files) if key[0] == "y"]
    return (xs if len(xs) > 1 else xs[0]), ys


def predictions(model, x):
    out = model.predict(x, verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def h5_layout(path):
    """[(path, shape or None for a group, attrs)] of a file's weights."""
    found = []
    with h5py.File(io.BytesIO(members(path)["model.weights.h5"]), "r") as h5:
        h5.visititems(lambda name, obj: found.append(
            (name, getattr(obj, "shape", None), dict(obj.attrs))))
    return sorted(found, key=lambda item: item[0])


def rewritten(path, tmp_path, config=None, weights=None, extra=(), name="hostile.keras"):
    """A copy of the .keras file at `path` with its config changed by
    `config(dict)`, its h5 by `weights(h5py.File)`, and `extra` members added."""
    parts = members(path)
    if config is not None:
        document = json.loads(parts["config.json"])
        config(document)
        parts["config.json"] = json.dumps(document).encode()
    if weights is not None:
        buffer = io.BytesIO(parts["model.weights.h5"])
        with h5py.File(buffer, "a") as h5:
            weights(h5)
        parts["model.weights.h5"] = buffer.getvalue()
    out = tmp_path / name
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in list(parts.items()) + list(extra):
            archive.writestr(member, data)
    return out


def refused(path, *words):
    """Loading `path` is a ValueError naming `words`, raised quickly."""
    start = time.perf_counter()
    with pytest.raises(ValueError) as error:
        load_model(path)
    assert time.perf_counter() - start < QUICK_S
    for word in words:
        assert word in str(error.value)
    return error.value


# ----- Keras's files in Zen -------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_keras_fixture_loads_and_predicts_keras_values(name):
    x, expected = inputs_and_outputs(name)
    model = load_model(fixture(name))
    got = predictions(model, x)
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=0, atol=1e-5)


def test_keras_fixture_keeps_names_types_and_structure():
    model = load_model(fixture("two_outputs"))
    assert isinstance(model, Model) and model.name == "two_outputs"
    trunk = model.get_layer("trunk")
    assert isinstance(trunk, Sequential) and [l.name for l in trunk.layers] == [
        "dense_4", "dense_5"]
    assert model.get_layer("label").get_config()["activation"] == "softmax"
    recurrent = load_model(fixture("recurrent"))
    assert recurrent.inputs[0].dtype.kind == "i"
    assert isinstance(recurrent.get_layer("lstm"), LSTM)
    assert recurrent.get_layer("lstm").get_config()["return_sequences"] is True
    assert isinstance(load_model(fixture("mlp")), Sequential)


def test_compiled_keras_fixture_restores_compile_settings_and_optimizer_state():
    arrays = np.load(os.path.join(FIXTURES, "adam_trained.npz"))
    model = load_model(fixture("adam_trained"))
    optimizer = model.optimizer
    assert isinstance(optimizer, zen.optim.Adam)
    config = optimizer.get_config()
    assert config["lr"] == pytest.approx(0.01) and config["epsilon"] == pytest.approx(1e-7)
    assert config["beta1"] == pytest.approx(0.9) and config["beta2"] == pytest.approx(0.999)
    assert optimizer.iterations == int(arrays["iterations"]) == 4
    with h5py.File(io.BytesIO(members(fixture("adam_trained"))["model.weights.h5"]),
                   "r") as h5:
        momentum, velocity = h5["optimizer/vars/2"][()], h5["optimizer/vars/3"][()]
    kernel = model.layers[0].kernel
    np.testing.assert_array_equal(optimizer.state[kernel.id]["m"], momentum)
    np.testing.assert_array_equal(optimizer.state[kernel.id]["v"], velocity)
    assert model.metrics_names == ["loss", "mae"] or "mae" in str(model.metrics_names)


def test_compiled_keras_fixture_continues_training_in_zen():
    arrays = np.load(os.path.join(FIXTURES, "adam_trained.npz"))
    x, y = arrays["x"], arrays["targets"]
    model = load_model(fixture("adam_trained"))
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, shuffle=False)
    assert model.optimizer.iterations == 4 + 5 * 4  # Keras's 4 steps, then Zen's 20
    assert model.evaluate(x, y, verbose=0)[0] < before


def test_load_keras_without_compile_gives_an_uncompiled_model():
    model = load_keras(fixture("adam_trained"), compile=False)
    assert getattr(model, "_trainer", None) is None
    same = load_model(fixture("adam_trained"), compile=False)
    assert getattr(same, "_trainer", None) is None


# ----- Zen's files for Keras --------------------------------------------------------------
def zen_mlp():
    zen.set_seed(1)
    return Sequential([Input((6,)), Dense(8, activation="relu"), Dropout(0.1),
                       Dense(3, activation="softmax")], name="mlp")


def zen_convnet():
    zen.set_seed(2)
    image = Input((8, 8, 3), name="image")
    x = Conv2D(4, 3, padding="same", activation="relu")(image)
    x = BatchNormalization()(x)
    x = Add()([x, Conv2D(4, 1)(image)])
    x = Flatten()(MaxPooling2D(2)(x))
    return Model(image, Dense(2, activation="softmax")(x), name="convnet")


def zen_recurrent():
    zen.set_seed(3)
    tokens = Input((5,), dtype="int32", name="tokens")
    x = GRU(5)(LSTM(6, return_sequences=True)(Embedding(20, 4)(tokens)))
    return Model(tokens, Dense(2)(x), name="recurrent")


def zen_two_outputs():
    zen.set_seed(4)
    a, b = Input((4,), name="a"), Input((3,), name="b")
    trunk = Sequential([Input((7,)), Dense(8, activation="tanh"),
                        Dense(6, activation="relu")], name="trunk")
    x = trunk(Concatenate()([a, b]))
    return Model([a, b], [Dense(1, name="value")(x),
                          Dense(3, activation="softmax", name="label")(x)],
                 name="two_outputs")


ZEN_MODELS = {"mlp": zen_mlp, "convnet": zen_convnet, "recurrent": zen_recurrent,
              "two_outputs": zen_two_outputs}


@pytest.mark.parametrize("name", sorted(ZEN_MODELS))
def test_zen_file_has_the_layout_of_keras_own(tmp_path, name):
    model = ZEN_MODELS[name]()
    model.save(tmp_path / "zen.keras")
    ours, theirs = members(tmp_path / "zen.keras"), members(fixture(name))
    assert set(ours) == set(theirs) == {"config.json", "metadata.json", "model.weights.h5"}
    assert set(json.loads(ours["metadata.json"])) >= {"keras_version", "date_saved"}
    mine, keras = json.loads(ours["config.json"]), json.loads(theirs["config.json"])
    assert set(mine) == set(keras)
    assert (mine["module"], mine["class_name"], mine["registered_name"]) == (
        keras["module"], keras["class_name"], keras["registered_name"])
    assert set(mine["config"]) == set(keras["config"])
    _same_layer_entries(mine["config"]["layers"], keras["config"]["layers"])
    ours_h5 = [(path, shape) for path, shape, _ in h5_layout(tmp_path / "zen.keras")]
    keras_h5 = [(path, shape) for path, shape, _ in h5_layout(fixture(name))]
    assert ours_h5 == keras_h5


def _same_layer_entries(mine, keras):
    assert [e["class_name"] for e in mine] == [e["class_name"] for e in keras]
    for ours, theirs in zip(mine, keras):
        assert set(ours) <= set(theirs) | {"build_config"}
        assert {"module", "class_name", "config", "registered_name"} <= set(ours)
        assert ours["module"] == theirs["module"]
        if "layers" in theirs["config"]:
            _same_layer_entries(ours["config"]["layers"], theirs["config"]["layers"])
            continue
        assert set(ours["config"]) <= set(theirs["config"]), ours["class_name"]
        if "dtype" in theirs["config"] and isinstance(theirs["config"]["dtype"], dict):
            policy = dict(theirs["config"]["dtype"])
            policy.pop("shared_object_id", None)
            assert ours["config"]["dtype"] == policy
        if "inbound_nodes" in theirs:
            assert _histories(ours["inbound_nodes"]) == _histories(theirs["inbound_nodes"])


def _histories(nodes):
    """The [node, tensor] indices of the tensors each call reads (the layer
    names differ: Zen and Keras number their automatic names apart)."""
    text = json.dumps([node["args"] for node in nodes])
    return [part.split("]")[0].split(",", 1)[1]
            for part in text.split('"keras_history": [')[1:]]


@pytest.mark.parametrize("name", sorted(ZEN_MODELS))
def test_zen_to_keras_file_to_zen_predicts_the_same(tmp_path, name):
    model = ZEN_MODELS[name]()
    x, _ = inputs_and_outputs(name)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    for ours, theirs in zip(predictions(loaded, x), predictions(model, x)):
        np.testing.assert_array_equal(ours, theirs)
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]


@pytest.mark.parametrize("name", NAMES)
def test_keras_fixture_resaved_by_zen_has_identical_weights_layout(tmp_path, name):
    save_keras(load_model(fixture(name)), tmp_path / "again.keras")
    assert h5_layout(tmp_path / "again.keras") == h5_layout(fixture(name))


@pytest.mark.parametrize("optimizer, slots", [
    (lambda: zen.optim.Adam(learning_rate=0.01, epsilon=1e-7), ("m", "v")),
    (lambda: zen.optim.SGD(learning_rate=0.05, momentum=0.9), ("momentum_buffer",)),
    (lambda: zen.optim.RMSProp(learning_rate=0.01), ("v",))])
def test_optimizer_state_round_trips_in_keras_layout(tmp_path, optimizer, slots):
    model = zen_mlp()
    model.compile(optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.integers(0, 3, 32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    config = json.loads(members(tmp_path / "m.keras")["config.json"])["compile_config"]
    assert config["loss"] == "sparse_categorical_crossentropy"
    assert config["metrics"] == ["accuracy"]
    layout = h5_layout(tmp_path / "m.keras")
    optimizer_vars = [shape for path, shape, _ in layout if path.startswith("optimizer/vars/")]
    assert len(optimizer_vars) == 2 + len(slots) * 4  # iterations, lr, slots of 4 weights
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.optimizer.iterations == model.optimizer.iterations == 4
    for ours, theirs in zip(loaded.layers[0].weights, model.layers[0].weights):
        for slot in slots:
            np.testing.assert_allclose(loaded.optimizer.state[ours.id][slot],
                                       model.optimizer.state[theirs.id][slot], rtol=1e-6)
    for m in (model, loaded):
        zen.set_seed(7)  # the same Dropout draws
        m.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for ours, theirs in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_keras_opens_zen_files_and_predicts_zen_values(tmp_path):
    keras = pytest.importorskip("keras")
    for name, make in sorted(ZEN_MODELS.items()):
        model = make()
        x, _ = inputs_and_outputs(name)
        model.save(tmp_path / f"{name}.keras")
        theirs = keras.saving.load_model(tmp_path / f"{name}.keras")
        out = theirs.predict(x, verbose=0)
        for value, ours in zip(out if isinstance(out, list) else [out],
                               predictions(model, x)):
            np.testing.assert_allclose(np.asarray(value), ours, rtol=0, atol=1e-5)


# ----- routing by name and content --------------------------------------------------------
def test_save_routes_by_extension_and_load_by_content(tmp_path):
    model = zen_mlp()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.zen")
    model.save(tmp_path / "m.other")
    assert is_keras_file(tmp_path / "m.keras")
    assert not is_keras_file(tmp_path / "m.zen") and not is_keras_file(tmp_path / "m.other")
    assert "zen_config.npy" in members(tmp_path / "m.zen")
    x, _ = inputs_and_outputs("mlp")
    for name in ("m.keras", "m.zen", "m.other"):
        np.testing.assert_array_equal(predictions(load_model(tmp_path / name), x),
                                      predictions(model, x))


def test_old_zen_files_named_keras_still_load(tmp_path):
    model = zen_mlp()
    model.compile("adam", "mse")
    model.save(tmp_path / "old.zen")
    os.replace(tmp_path / "old.zen", tmp_path / "old.keras")  # what older Zen wrote
    loaded = load_model(tmp_path / "old.keras")
    x, _ = inputs_and_outputs("mlp")
    np.testing.assert_array_equal(predictions(loaded, x), predictions(model, x))
    assert isinstance(loaded.optimizer, zen.optim.Adam)
    assert getattr(load_model(tmp_path / "old.keras", compile=False), "_trainer", None) is None


def test_import_zen_does_not_import_h5py():
    code = "import sys, zen; zen.load_model; print('h5py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ----- what Keras cannot hold, and what Zen cannot load -----------------------------------
def test_subclassed_model_cannot_be_saved_as_keras(tmp_path):
    class Twice(Model):
        def __init__(self):
            super().__init__()
            self.dense = Dense(2)

        def call(self, x):
            return self.dense(x) * 2

    model = Twice()
    model.build((None, 3))
    with pytest.raises(ValueError, match="subclassed model.*Save it as .zen"):
        model.save(tmp_path / "m.keras")
    assert not os.path.exists(tmp_path / "m.keras")


def test_zen_only_layer_cannot_be_saved_as_keras(tmp_path):
    model = Sequential([Input((3,)), Dense(2), zen.nn.Sigmoid(name="squash")])
    with pytest.raises(ValueError, match="'squash' \\(Sigmoid\\) has no Keras counterpart"):
        model.save(tmp_path / "m.keras")


def test_unknown_layer_class_is_a_value_error_naming_it(tmp_path):
    def rename(config):
        config["config"]["layers"][1]["class_name"] = "FancyDense"
    refused(rewritten(fixture("mlp"), tmp_path, config=rename), "FancyDense")


def test_lambda_layer_is_a_value_error_naming_it(tmp_path):
    def to_lambda(config):
        config["config"]["layers"][2] = {
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "lambda", "function": {"class_name": "__lambda__",
                                                      "config": {"code": "4wEAAAA="}}}}
    refused(rewritten(fixture("mlp"), tmp_path, config=to_lambda), "Lambda")


@pytest.mark.parametrize("option, value", [("groups", 2), ("data_format", "channels_first"),
                                           ("dilation_rate", [2, 2])])
def test_option_zen_lacks_is_a_value_error_naming_it(tmp_path, option, value):
    def change(config):
        config["config"]["layers"][1]["config"][option] = value
    refused(rewritten(fixture("convnet"), tmp_path, config=change), "conv2d", option)


def test_mixed_precision_policy_is_a_value_error(tmp_path):
    def change(config):
        config["config"]["layers"][1]["config"]["dtype"]["config"]["name"] = "mixed_float16"
    refused(rewritten(fixture("mlp"), tmp_path, config=change), "mixed_float16")


def test_unknown_optimizer_is_a_value_error_naming_it(tmp_path):
    def change(config):
        config["compile_config"]["optimizer"]["class_name"] = "Muon"
    refused(rewritten(fixture("adam_trained"), tmp_path, config=change), "Muon")


# ----- hostile files ----------------------------------------------------------------------
def test_non_zip_file_is_a_value_error(tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"not a zip at all" * 10)
    refused(tmp_path / "junk.keras")


def test_zip_without_keras_members_is_a_value_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    refused(tmp_path / "other.keras")


def test_zip_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "bomb.keras"
    parts = members(fixture("mlp"))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", parts["config.json"])
        archive.writestr("metadata.json", parts["metadata.json"])
        archive.writestr("model.weights.h5", b"\0" * (8 << 20),
                         compress_type=zipfile.ZIP_DEFLATED)
    refused(path, "zip bomb")


def test_member_path_outside_the_archive_is_refused(tmp_path):
    path = rewritten(fixture("mlp"), tmp_path, extra=[("../escape.txt", b"x")])
    refused(path, "outside the archive")


def test_huge_declared_hdf5_shape_is_refused_without_reading_it(tmp_path):
    def huge(h5):
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars"].create_dataset("0", shape=(10 ** 9, 10 ** 4),
                                               dtype="float32", chunks=(1, 8))
    refused(rewritten(fixture("mlp"), tmp_path, weights=huge), "(1000000000, 10000)")


def test_hdf5_link_to_another_file_is_refused(tmp_path):
    def external(h5):
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink("/etc/passwd", "/data")
    refused(rewritten(fixture("mlp"), tmp_path, weights=external), "link")


def test_missing_weights_are_a_value_error(tmp_path):
    def drop(h5):
        del h5["layers/dense_1/vars/1"]
    refused(rewritten(fixture("mlp"), tmp_path, weights=drop), "dense_1")


def test_config_cycle_is_refused(tmp_path):
    def cycle(config):
        layers = config["config"]["layers"]
        conv = next(layer for layer in layers if layer["name"] == "conv2d")
        conv["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["dense_2", 0, 0]
    refused(rewritten(fixture("convnet"), tmp_path, config=cycle), "cycle")


@pytest.mark.parametrize("depth", [300, 100_000])
def test_absurdly_deep_json_is_refused(tmp_path, depth):
    parts = members(fixture("mlp"))
    text = parts["config.json"].decode()
    deep = text[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    with zipfile.ZipFile(tmp_path / "deep.keras", "w") as archive:
        archive.writestr("config.json", deep)
        archive.writestr("model.weights.h5", parts["model.weights.h5"])
    refused(tmp_path / "deep.keras")


def test_models_nested_absurdly_deep_are_refused(tmp_path):
    def nest(config):
        inner = json.loads(json.dumps(config))
        for _ in range(40):
            inner = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                     "config": {"name": "s", "layers": [inner],
                                "build_input_shape": [None, 6]}}
        config["config"]["layers"] = [config["config"]["layers"][0], inner]
    refused(rewritten(fixture("mlp"), tmp_path, config=nest), "nests models")


# ----- flags and arguments ----------------------------------------------------------------
def test_frozen_layer_keeps_its_flag_and_stays_out_of_the_optimizer(tmp_path):
    model = zen_mlp()
    model.layers[0].trainable = False
    model.compile(zen.optim.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    model.fit(rng.normal(size=(16, 6)).astype("float32"), rng.integers(0, 3, 16),
              batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    config = json.loads(members(tmp_path / "m.keras")["config.json"])
    assert [entry["config"]["trainable"] for entry in config["config"]["layers"][1:]] == [
        False, True, True]
    optimizer_vars = [p for p, s, _ in h5_layout(tmp_path / "m.keras")
                      if p.startswith("optimizer/vars/")]
    assert len(optimizer_vars) == 2 + 2 * 2  # the last Dense's kernel and bias only
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.layers[0].trainable is False and loaded.layers[2].trainable is True
    assert loaded.optimizer.iterations == 2


def test_load_keras_checks_its_arguments():
    with pytest.raises(ValueError, match="`compile`, expected True or False. Received: "
                                         "compile='yes'"):
        load_keras(fixture("mlp"), compile="yes")
    with pytest.raises(TypeError, match="custom_objects"):
        load_keras(fixture("mlp"), custom_objects=["Dense"])
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_keras(os.path.join(FIXTURES, "missing.keras"))


def test_unbuilt_sequential_cannot_be_saved_as_keras(tmp_path):
    with pytest.raises(ValueError, match="'unbuilt' is not built"):
        Sequential([Dense(2)], name="unbuilt").save(tmp_path / "m.keras")


def test_keras_layer_zen_does_not_translate_yet_is_named(tmp_path):
    model = Sequential([Input((8, 8, 3)), zen.nn.Resizing(4, 4, name="smaller")])
    with pytest.raises(ValueError, match="'smaller'.*Resizing.*save it as .zen"):
        model.save(tmp_path / "m.keras")


def test_too_many_layer_calls_are_refused(tmp_path):
    def many(config):
        dense = config["config"]["layers"][-1]
        dense["inbound_nodes"] = dense["inbound_nodes"] * 20_000
    refused(rewritten(fixture("convnet"), tmp_path, config=many), "layer calls")


@pytest.mark.parametrize("cut", [0, 100, 4000])
def test_corrupt_or_truncated_hdf5_is_a_value_error(tmp_path, cut):
    parts = members(fixture("mlp"))
    weights = parts["model.weights.h5"]
    damaged = weights[:cut] if cut else bytes(b ^ 0x5A for b in weights)
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        archive.writestr("config.json", parts["config.json"])
        archive.writestr("model.weights.h5", damaged)
    refused(tmp_path / "bad.keras")
