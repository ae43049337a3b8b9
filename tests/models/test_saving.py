"""zen.models.saving: round trips (bitwise) and every way a file can be wrong."""
import io
import json
import pickle

import numpy as np
import pytest

import zen
from zen.fileio import ZenFileError
from zen import Sequential, load_model
from zen.nn import BatchNorm, Dense, Dropout
from zen.models.saving import load_weights, save_model, save_weights
from zen_train_helpers import blobs, compiled, mlp, weights_equal

X, Y = blobs(64)


def trained_model(optimizer=None):
    zen.set_seed(0)
    model = Sequential([Dense(16, activation="relu"), BatchNorm(), Dropout(0.3), Dense(3)])
    model.compile(optimizer or zen.optim.Adam(lr=0.01),
                  zen.nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  ["accuracy", "acc"])
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    return model


@pytest.mark.parametrize("optimizer", [None, zen.optim.SGD(lr=0.05, momentum=0.9),
                                       zen.optim.RMSProp(lr=zen.optim.StepDecay(0.01, 3))])
def test_round_trip_and_continued_training_are_bitwise_identical(tmp_path, optimizer):
    model = trained_model(optimizer)
    model.save(tmp_path / "model.zen")
    loaded = load_model(tmp_path / "model.zen")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert repr(loaded.optimizer) == repr(model.optimizer)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 8
    assert list(loaded._trainer.metrics) == ["accuracy", "acc"]
    histories = []
    for m in (model, loaded):
        zen.set_seed(11)  # same shuffling and dropout masks for both
        histories.append(m.fit(X, Y, epochs=2, batch_size=16, verbose=0).history)
    assert weights_equal(model, loaded)
    assert histories[0] == histories[1]


def test_the_file_is_exactly_at_path_and_has_no_pickle(tmp_path):
    path = tmp_path / "model.bin"
    trained_model().save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]
    with np.load(path, allow_pickle=False) as npz:
        config = json.loads(npz["zen_config"].tobytes())
        assert npz["zen_config"].dtype == np.uint8
    assert config["format"] == "zen.model" and config["version"] == 1
    assert [layer["class_name"] for layer in config["model"]["config"]["layers"]] == \
        ["Dense", "BatchNorm", "Dropout", "Dense"]
    assert config["compile"]["metrics"] == ["accuracy", "acc"]


def test_loading_does_not_touch_the_random_stream(tmp_path):
    trained_model().save(tmp_path / "m.zen")
    zen.set_seed(3)
    expected = zen.rng.generator().random()
    zen.set_seed(3)
    load_model(tmp_path / "m.zen")
    assert zen.rng.generator().random() == expected


def test_uncompiled_and_unbuilt_models(tmp_path):
    model = mlp()
    save_model(model, tmp_path / "a.zen")
    loaded = load_model(tmp_path / "a.zen")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="compile"):
        loaded.fit(X, Y, verbose=0)
    save_model(Sequential([Dense(2)]), tmp_path / "b.zen")
    assert load_model(tmp_path / "b.zen").built is False


def test_custom_loss_saves_without_compile_settings(tmp_path):
    model = mlp()
    model.compile("sgd", lambda pred, target: (pred * pred).mean())
    with pytest.warns(UserWarning, match="without its compile settings"):
        model.save(tmp_path / "m.zen")
    assert not hasattr(load_model(tmp_path / "m.zen"), "_trainer")


def test_save_and_load_weights(tmp_path):
    model = trained_model()
    model.save_weights(tmp_path / "w.zen")
    zen.set_seed(4)
    fresh = Sequential([Dense(16, activation="relu"), BatchNorm(), Dropout(0.3), Dense(3)])
    fresh.load_weights(tmp_path / "w.zen")  # unbuilt: built from the file's input shape
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    model.save(tmp_path / "full.zen")
    load_weights(fresh, tmp_path / "full.zen")  # a model file holds weights too
    with pytest.raises(ValueError, match="do not fit the model"):
        mlp(hidden=8).load_weights(tmp_path / "w.zen")
    with pytest.raises(ValueError, match="not built"):
        save_weights(Sequential([Dense(2)]), tmp_path / "x.zen")


def rewrite_config(source, target, change):
    with np.load(source, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    config = json.loads(arrays["zen_config"].tobytes())
    change(config)
    arrays["zen_config"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    np.savez(target, **arrays)


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


CORRUPTIONS = {
    "empty": (lambda good: b"", "not an npz"),
    "random bytes": (lambda good: np.random.default_rng(0).bytes(500), "not an npz"),
    "truncated": (lambda good: good[:len(good) // 2], "corrupt or truncated"),
    "truncated end": (lambda good: good[:-10], "corrupt or truncated"),
    "pickle": (lambda good: pickle.dumps({"weights": [1, 2]}), "not an npz"),
    "npy": (lambda good: npy_bytes(), "not an npz"),
    "foreign npz": (lambda good: npz_bytes(a=np.zeros(3)), "no 'zen_config'"),
    "object array": (lambda good: npz_bytes(zen_config=np.array([{}], dtype=object)),
                     "corrupt"),
    "bad json": (lambda good: npz_bytes(zen_config=np.frombuffer(b"{nope", np.uint8)),
                 "not valid JSON"),
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corrupt_files_raise_zen_file_error(tmp_path, name):
    good_path = tmp_path / "good.zen"
    trained_model().save(good_path)
    make, match = CORRUPTIONS[name]
    bad = tmp_path / "bad.zen"
    bad.write_bytes(make(good_path.read_bytes()))
    for load in (load_model, lambda p: mlp().load_weights(p)):
        with pytest.raises(ZenFileError, match=match) as info:
            load(bad)
        assert isinstance(info.value, ValueError) and info.value.__cause__ is None


@pytest.mark.parametrize("change, match", [
    (lambda c: c.update(version=99), "format version 99, newer"),
    (lambda c: c.update(format="keras"), "format 'keras'"),
    (lambda c: c["model"]["config"]["layers"][0].update(class_name="Nope"),
     "Unknown layer class 'Nope'"),
    (lambda c: c["model"]["config"]["layers"][0].update(class_name="Merge"),
     "Unknown layer class 'Merge'"),  # a base class is never rebuilt
    (lambda c: c["model"]["config"]["layers"][0].update(class_name="WeightedLayer"),
     "Unknown layer class 'WeightedLayer'"),
    (lambda c: c["model"]["config"]["layers"][0]["config"].update(units="many"),
     "cannot rebuild the model"),
    (lambda c: c["weights"].append({"name": "x", "shape": [1]}), "weight 8"),
    (lambda c: c["compile"]["optimizer"].update(class_name="Nope"), "compile settings"),
    (lambda c: c.pop("model"), "no valid 'model'"),
])
def test_bad_configs_raise_zen_file_error(tmp_path, change, match):
    good = tmp_path / "good.zen"
    trained_model().save(good)
    rewrite_config(good, tmp_path / "bad.npz", change)
    with pytest.raises(ZenFileError, match=match):
        load_model(tmp_path / "bad.npz")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing.zen")
    with pytest.raises(FileNotFoundError):
        mlp().load_weights(tmp_path / "nothing.zen")


def test_a_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.zen"
    model = compiled()
    model.save(path)
    before = path.read_bytes()
    model.layers[0].activation = object()  # get_config now holds an unserialisable value
    model.layers[0].get_config = lambda: {"activation": object()}
    with pytest.raises(ValueError, match="JSON"):
        model.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.zen"]


def test_weights_are_named_by_attribute_path_and_load_by_name(tmp_path):
    class Encoder(zen.Model):
        def __init__(self, swap=False):
            super().__init__()
            first, second = zen.nn.Dense(3, name="first"), zen.nn.Dense(2, name="second")
            if swap:  # the same attributes, assigned in the other order
                self.second, self.first = second, first
            else:
                self.first, self.second = first, second

        def call(self, x):
            return self.second(self.first(x))

    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    model = Encoder()
    model(x)
    assert [name for name, _ in model.named_tensors()] == [
        "first.kernel", "first.bias", "second.kernel", "second.bias"]
    model.save_weights(tmp_path / "w.zen")
    swapped = Encoder(swap=True)
    swapped(x)
    assert [name for name, _ in swapped.named_tensors()][0] == "second.kernel"
    swapped.load_weights(tmp_path / "w.zen")
    np.testing.assert_array_equal(swapped(x).value, model(x).value)
