"""Weights in the safetensors format: `save_weights`/`load_weights` on a
path ending in ".safetensors", keyed by `named_tensors()` names."""
import json
import struct

import numpy as np
import pytest

safetensors_numpy = pytest.importorskip("safetensors.numpy")

import zen
from zen import Input, Sequential
from zen.models.saving import load_weights, save_weights
from zen.nn import BatchNorm, Dense

X = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)


class TwoDense(zen.Model):
    """A subclassed model with two named sub-layers."""

    def __init__(self):
        super().__init__()
        self.encoder = Dense(4, activation="relu")
        self.head = Dense(2)

    def call(self, x):
        return self.head(self.encoder(x))


def sequential():
    return Sequential([Dense(4, activation="relu"), BatchNorm(), Dense(2)])


def functional():
    inputs = Input((5,))
    hidden = Dense(4, activation="relu", name="hidden")(inputs)
    return zen.Model(inputs, Dense(2, name="out")(hidden))


def subclassed():
    return TwoDense()


def built(make, seed):
    """`make()` built on X, every weight set to distinct positive values
    (positive: BatchNorm's moving variance stays a variance)."""
    model = make()
    model(X)
    for i, (_, tensor) in enumerate(model.named_tensors()):
        tensor.value[...] = np.random.default_rng(seed * 100 + i).uniform(
            0.1, 1.0, size=tensor.shape).astype(tensor.value.dtype)
    return model


@pytest.mark.parametrize("make", [sequential, functional, subclassed])
def test_round_trip_is_bitwise(tmp_path, make):
    path = tmp_path / "w.safetensors"
    model, other = built(make, 1), built(make, 2)
    model.save_weights(path)
    other.load_weights(path)
    for (name, a), (other_name, b) in zip(model.named_tensors(), other.named_tensors()):
        assert name == other_name and a.value.dtype == b.value.dtype
        assert a.value.tobytes() == b.value.tobytes()
    np.testing.assert_array_equal(model.predict(X, verbose=0), other.predict(X, verbose=0))


@pytest.mark.parametrize("make", [sequential, functional, subclassed])
def test_the_file_is_plain_safetensors_keyed_by_named_tensors(tmp_path, make):
    path = tmp_path / "w.safetensors"
    model = built(make, 3)
    save_weights(model, path)
    arrays = safetensors_numpy.load_file(str(path))
    named = model.named_tensors()
    assert sorted(arrays) == sorted(name for name, _ in named)
    for name, tensor in named:
        assert arrays[name].shape == tuple(tensor.shape)
        assert arrays[name].dtype == np.float32
        np.testing.assert_array_equal(arrays[name], tensor.value)


def test_names_follow_attribute_paths(tmp_path):
    model = built(subclassed, 4)
    save_weights(model, tmp_path / "w.safetensors")
    keys = set(safetensors_numpy.load_file(str(tmp_path / "w.safetensors")))
    assert keys == {"encoder.kernel", "encoder.bias", "head.kernel", "head.bias"}


def test_a_file_written_by_another_tool_loads(tmp_path):
    model = built(subclassed, 5)
    arrays = {name: np.full(tensor.shape, i, np.float32)
              for i, (name, tensor) in enumerate(model.named_tensors())}
    safetensors_numpy.save_file(arrays, str(tmp_path / "ext.safetensors"))
    load_weights(model, tmp_path / "ext.safetensors")
    for i, (_, tensor) in enumerate(model.named_tensors()):
        assert np.all(tensor.value == i)


def test_an_unbuilt_model_is_built_from_the_recorded_input_shape(tmp_path):
    model = built(sequential, 6)
    model.save_weights(tmp_path / "w.safetensors")
    fresh = sequential()
    fresh.load_weights(tmp_path / "w.safetensors")
    for (_, a), (_, b) in zip(model.named_tensors(), fresh.named_tensors()):
        assert a.value.tobytes() == b.value.tobytes()


def test_the_zen_format_is_unchanged(tmp_path):
    model, other = built(sequential, 7), built(sequential, 8)
    model.save_weights(tmp_path / "w.zen")
    assert (tmp_path / "w.zen").read_bytes()[:2] == b"PK"
    other.load_weights(tmp_path / "w.zen")
    for (_, a), (_, b) in zip(model.named_tensors(), other.named_tensors()):
        assert a.value.tobytes() == b.value.tobytes()


def test_only_the_file_is_left_in_the_folder(tmp_path):
    built(sequential, 9).save_weights(tmp_path / "w.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


# ----- errors ---------------------------------------------------------------------------
def _external(tmp_path, model, change):
    arrays = {name: np.array(tensor.value) for name, tensor in model.named_tensors()}
    change(arrays)
    path = tmp_path / "bad.safetensors"
    safetensors_numpy.save_file(arrays, str(path))
    return path


def test_a_missing_weight_is_named(tmp_path):
    model = built(subclassed, 10)
    path = _external(tmp_path, model, lambda a: a.pop("head.bias"))
    with pytest.raises(ValueError, match=r"has no weight 'head.bias'"):
        model.load_weights(path)


def test_an_unexpected_weight_is_named(tmp_path):
    model = built(subclassed, 11)
    path = _external(tmp_path, model, lambda a: a.update(extra=np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match=r"holds weight 'extra'"):
        model.load_weights(path)


def test_a_wrong_shape_is_named(tmp_path):
    model = built(subclassed, 12)
    path = _external(tmp_path, model,
                     lambda a: a.update({"head.bias": np.zeros(3, np.float32)}))
    with pytest.raises(ValueError, match=r"'head.bias' has shape \(3,\).*shape \(2,\)"):
        model.load_weights(path)


def test_a_wrong_dtype_is_named(tmp_path):
    model = built(subclassed, 13)
    path = _external(tmp_path, model,
                     lambda a: a.update({"head.bias": np.zeros(2, np.float64)}))
    with pytest.raises(ValueError, match=r"'head.bias'.*dtype float64.*dtype float32"):
        model.load_weights(path)


def test_a_failed_load_leaves_the_weights_alone(tmp_path):
    model = built(subclassed, 14)
    before = [np.array(t.value) for _, t in model.named_tensors()]
    path = _external(tmp_path, model, lambda a: a.pop("head.bias"))
    with pytest.raises(ValueError):
        model.load_weights(path)
    for value, (_, tensor) in zip(before, model.named_tensors()):
        np.testing.assert_array_equal(value, tensor.value)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        built(sequential, 15).load_weights(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x08" + b"\x00" * 7 + b"{not json",
                                     struct.pack("<Q", 10 ** 12) + b"{}"])
def test_a_corrupt_file_is_a_value_error(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="could not be read as a safetensors file"):
        built(sequential, 16).load_weights(path)


def test_a_truncated_file_is_a_value_error(tmp_path):
    path = tmp_path / "w.safetensors"
    built(sequential, 17).save_weights(path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match="could not be read as a safetensors file"):
        built(sequential, 18).load_weights(path)


def test_a_bad_input_shape_metadata_is_a_value_error(tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file({"a": np.zeros(1, np.float32)}, str(path),
                                metadata={"zen_input_shape": "{oops"})
    with pytest.raises(ValueError, match="zen_input_shape"):
        sequential().load_weights(path)


def test_an_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        sequential().save_weights(tmp_path / "w.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_the_metadata_records_the_input_shape(tmp_path):
    path = tmp_path / "w.safetensors"
    built(sequential, 19).save_weights(path)
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + length])["__metadata__"]
    assert json.loads(metadata["zen_input_shape"]) == [None, 5]


def test_import_zen_does_not_import_safetensors():
    import subprocess
    import sys
    code = "import sys, zen, zen.callbacks; print('safetensors' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
