"""zen.models.keras_layers: Keras's op nodes, masks, and the layers that
hold layers (Bidirectional, TimeDistributed, RNN(cell), StackedRNNCells) or
sublayers of their own (MultiHeadAttention) in `.keras` files, both ways.

The fixtures in tests/fixtures/keras were written by Keras 3.15.1 (torch
backend) with tests/fixtures/make_keras_files.py, with Keras's predictions
beside them: those predictions are the reference.
"""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import zen
from zen import Input, Model, load_model
from zen.models import keras_format
from zen.models.keras_format import save_keras
from zen.nn import (GRU, LSTM, Bidirectional, Dense, Discretization, Embedding, GRUCell,
                    GlobalAveragePooling1D, Hashing, IntegerLookup, LSTMCell, Masking,
                    MultiHeadAttention, Normalization, RNN, SimpleRNN, SimpleRNNCell,
                    StackedRNNCells, StringLookup, TextVectorization, TimeDistributed)
from zen.nn.operators import TensorOperation

h5py = pytest.importorskip("h5py")

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "keras")
NAMES = ["masked_attention", "masked_rnn", "cells", "operations", "preprocessing",
         "vocabulary"]


def fixture(name):
    return os.path.join(FIXTURES, f"{name}.keras")


def inputs_and_outputs(name):
    arrays = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    xs = [arrays[key] for key in sorted(arrays.files) if key[0] == "x"]
    return (xs if len(xs) > 1 else xs[0]), [arrays[key] for key in sorted(arrays.files)
                                            if key[0] == "y"]


def predictions(model, x):
    out = model.predict(x, verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


def members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def config_of(path):
    return json.loads(members(path)["config.json"])


def h5_layout(path):
    """[(path, shape or None for a group)] of a file's weights."""
    found = []
    with h5py.File(io.BytesIO(members(path)["model.weights.h5"]), "r") as h5:
        h5.visititems(lambda name, obj: found.append((name, getattr(obj, "shape", None))))
    return sorted(found)


def rewritten(path, tmp_path, change):
    """A copy of the .keras file at `path` with its config changed by `change(dict)`."""
    parts = members(path)
    document = json.loads(parts["config.json"])
    change(document)
    parts["config.json"] = json.dumps(document).encode()
    out = tmp_path / "changed.keras"
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in parts.items():
            archive.writestr(member, data)
    return out


def entry(path, name):
    return next(e for e in config_of(path)["config"]["layers"] if e["name"] == name)


# ----- Keras's files in Zen -------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_keras_fixture_loads_and_predicts_keras_values(name):
    x, expected = inputs_and_outputs(name)
    got = predictions(load_model(fixture(name)), x)
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        assert value.dtype.kind == reference.dtype.kind
        np.testing.assert_allclose(value, reference, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_keras_fixture_resaved_by_zen_has_keras_layout_and_predictions(tmp_path, name):
    x, _ = inputs_and_outputs(name)
    model = load_model(fixture(name))
    save_keras(model, tmp_path / "again.keras")
    assert h5_layout(tmp_path / "again.keras") == h5_layout(fixture(name))
    theirs = config_of(fixture(name))["config"]["layers"]
    ours = config_of(tmp_path / "again.keras")["config"]["layers"]
    assert sorted((e["module"], e["class_name"]) for e in ours) == sorted(
        (e["module"], e["class_name"]) for e in theirs)
    again = load_model(tmp_path / "again.keras")
    for value, reference in zip(predictions(again, x), predictions(model, x)):
        np.testing.assert_array_equal(value, reference)


def test_masking_ops_and_mask_keyword_are_rebuilt():
    model = load_model(fixture("masked_rnn"))
    kinds = {getattr(layer, "operation", None): layer for layer in model.layers}
    assert kinds["not_equal"].constant == 0.0 and kinds["not_equal"].reflected is False
    assert (kinds["any"].axis, kinds["any"].keepdims) == (-1, False)
    rnn_node = next(node for node in model._graph.nodes if isinstance(node.layer, SimpleRNN))
    assert rnn_node.kwargs["mask"].node.layer is kinds["any"]


def test_masked_steps_do_not_change_the_keras_fixture_predictions():
    x, expected = inputs_and_outputs("masked_rnn")
    model = load_model(fixture("masked_rnn"))
    changed = x.copy()
    changed[0, 3:] = 0.0  # already padded: the same
    np.testing.assert_array_equal(predictions(model, changed)[0], predictions(model, x)[0])
    ids, _ = inputs_and_outputs("masked_attention")
    attention = load_model(fixture("masked_attention"))
    tail = ids.copy()
    assert (tail[1, 2:] == 0).all()
    reference = predictions(attention, ids)[0]
    np.testing.assert_allclose(reference, inputs_and_outputs("masked_attention")[1][0],
                               atol=1e-5)


def test_keras_bidirectional_backward_layer_becomes_zen_backward_copy():
    model = load_model(fixture("masked_attention"))
    bidirectional = model.get_layer("bidirectional")
    keras_backward = entry(fixture("masked_attention"), "bidirectional")["config"][
        "backward_layer"]["config"]
    assert keras_backward["go_backwards"] is True
    assert bidirectional.backward_layer.go_backwards is False
    assert bidirectional.forward_layer.name == "forward_lstm"
    assert bidirectional.backward_layer.name == "backward_lstm"
    assert bidirectional.forward_layer.zero_output_for_mask is True


def test_keras_stacked_cells_are_rebuilt_in_order():
    rnn = load_model(fixture("cells")).get_layer("rnn")
    assert isinstance(rnn, RNN) and isinstance(rnn.cell, StackedRNNCells)
    assert [type(c) for c in rnn.cell.cells] == [GRUCell, LSTMCell]
    backwards = load_model(fixture("cells")).get_layer("rnn_1")
    assert isinstance(backwards.cell, SimpleRNNCell) and backwards.go_backwards is True


# ----- Zen's models for Keras -------------------------------------------------------------
def zen_masked_attention():
    zen.set_seed(11)
    tokens = Input((6,), dtype="int32", name="tokens")
    x = Embedding(12, 4, mask_zero=True)(tokens)
    x = Bidirectional(LSTM(3, return_sequences=True, name="lstm"), name="bidirectional")(x)
    x = MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    x = TimeDistributed(Dense(4, activation="tanh"))(x)
    return Model(tokens, GlobalAveragePooling1D()(x), name="masked_attention")


def zen_masked_rnn():
    zen.set_seed(12)
    steps = Input((5, 3), name="steps")
    return Model(steps, SimpleRNN(4)(Masking(0.0)(steps)), name="masked_rnn")


def zen_cells():
    zen.set_seed(13)
    steps = Input((5, 3), name="steps")
    x = RNN(StackedRNNCells([GRUCell(4), LSTMCell(3)]), return_sequences=True)(steps)
    return Model(steps, RNN(SimpleRNNCell(2), go_backwards=True)(x), name="cells")


def zen_operations():
    x = Input((4, 3), name="x")
    y = (x + 1.0) * x - 0.5
    first = -y[:, 0] / 2.0
    tail = abs(y[..., 1:3]) ** 2
    flags = TensorOperation("any", axis=-1)(x > 0.5)
    return Model(x, [first, tail, flags, 2.0 - x @ np.ones((3, 2), "float32")],
                 name="operations")


def zen_preprocessing():
    rng = np.random.default_rng(10)
    adapted, inverted = Normalization(), Normalization(invert=True)
    adapted.adapt(rng.normal(1.0, 2.0, size=(50, 3)).astype("float32"))
    inverted.adapt(rng.normal(-1.0, 0.5, size=(50, 3)).astype("float32"))
    x = Input((3,), name="x")
    return Model(x, [adapted(x), Normalization(mean=[1.0, 2.0, 3.0],
                                               variance=[1.0, 4.0, 9.0])(x),
                     inverted(x), Discretization(bin_boundaries=[-1.0, 0.0, 1.0])(x),
                     Discretization(bin_boundaries=[0.5], output_mode="count")(x)],
                 name="preprocessing")


def zen_vocabulary():
    letters, weighted = StringLookup(), StringLookup(output_mode="tf_idf")
    letters.adapt(np.array(["a", "b", "a", "c", "a", "b"]))
    weighted.adapt(np.array([["a", "b", "a"], ["c", "a", "b"]]))
    numbers = IntegerLookup()
    numbers.adapt(np.array([5, 6, 5, 7]))
    text = TextVectorization(max_tokens=10, output_sequence_length=5)
    text.adapt(np.array(["the cat sat", "the dog ran fast", "a cat"]))
    strings = Input((3,), dtype="string", name="letters")
    integers = Input((4,), dtype="int64", name="numbers")
    sentences = Input((1,), dtype="string", name="sentences")
    given = StringLookup(vocabulary=["x", "y"], mask_token="")
    return Model([strings, integers, sentences],
                 [letters(strings), given(strings), weighted(strings), numbers(integers),
                  IntegerLookup(vocabulary=list(range(20, 30)), invert=True)(integers),
                  text(sentences), Hashing(num_bins=5)(strings),
                  Hashing(num_bins=7, salt=[3, 4], mask_value="")(strings),
                  Hashing(num_bins=4, output_mode="multi_hot")(integers),
                  Hashing(num_bins=6, salt=11)(integers)], name="vocabulary")


def zen_variants():
    """Options the fixtures do not cover: merge modes, GRU, attention without
    biases and with value_dim and output_shape, reflected and array
    constants, every index kind, `all`, keepdims, an explicit `mask=`."""
    zen.set_seed(14)
    x = Input((5, 3), name="x")
    summed = Bidirectional(GRU(2, return_sequences=True), merge_mode="sum")(x)
    forward, backward = Bidirectional(LSTM(2), merge_mode=None)(summed)
    attended = MultiHeadAttention(3, 2, value_dim=4, use_bias=False, output_shape=5)(x, summed)
    stepwise = TimeDistributed(Dense(2))(attended)
    picked = stepwise[:, None, 1:4:2, ...] * np.array([2.0, -1.0], "float32")
    every = TensorOperation("all", axis=1, keepdims=True)(x <= 0.0)
    ratio = 1.0 / (abs(x) + 1.0) - x ** 2 + (x == 0.0)
    explicit = SimpleRNN(2)(x, mask=TensorOperation("any", axis=-1)(x != 0.0))
    return Model(x, [forward, backward, picked, every, ratio, -stepwise, explicit],
                 name="variants")


ZEN_MODELS = {"masked_attention": zen_masked_attention, "masked_rnn": zen_masked_rnn,
              "cells": zen_cells, "operations": zen_operations,
              "preprocessing": zen_preprocessing, "vocabulary": zen_vocabulary}


@pytest.mark.parametrize("name", sorted(ZEN_MODELS))
def test_zen_file_has_the_weights_layout_of_keras_own(tmp_path, name):
    ZEN_MODELS[name]().save(tmp_path / "zen.keras")
    assert h5_layout(tmp_path / "zen.keras") == h5_layout(fixture(name))
    ours = config_of(tmp_path / "zen.keras")["config"]["layers"]
    theirs = config_of(fixture(name))["config"]["layers"]
    layers = [e["class_name"] for e in theirs if e["module"] == "keras.layers"]
    assert [e["class_name"] for e in ours if e["module"] == "keras.layers"] == layers


@pytest.mark.parametrize("make", [*ZEN_MODELS.values(), zen_variants])
def test_zen_to_keras_file_to_zen_predicts_the_same(tmp_path, make):
    model = make()
    shape = model.inputs[0].shape[1:]
    if model.name == "vocabulary":
        x = inputs_and_outputs("vocabulary")[0]
    elif model.inputs[0].dtype.kind == "i":
        x = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 0, 0, 0, 0], [7, 8, 9, 10, 11, 1]], "int32")
    else:
        x = np.random.default_rng(0).normal(size=(3, *shape)).astype("float32")
        x[0, 3:] = 0.0
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    for ours, theirs in zip(predictions(loaded, x), predictions(model, x), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_zen_bidirectional_is_written_as_keras_writes_it(tmp_path):
    zen_masked_attention().save(tmp_path / "m.keras")
    ours = entry(tmp_path / "m.keras", "bidirectional")["config"]
    theirs = entry(fixture("masked_attention"), "bidirectional")["config"]
    assert set(ours) <= set(theirs)
    for direction in ("layer", "backward_layer"):
        assert ours[direction]["class_name"] == theirs[direction]["class_name"] == "LSTM"
        for key in ("name", "go_backwards", "return_sequences", "zero_output_for_mask"):
            assert ours[direction]["config"][key] == theirs[direction]["config"][key], key


def test_zen_operations_are_written_as_keras_op_nodes(tmp_path):
    zen_operations().save(tmp_path / "m.keras")
    ours = config_of(tmp_path / "m.keras")["config"]["layers"]
    theirs = config_of(fixture("operations"))["config"]["layers"]

    def ops(entries):
        return sorted((e["class_name"], json.dumps({k: v for k, v in e["config"].items()
                                                     if k != "name"}, sort_keys=True),
                       json.dumps([a for a in e["inbound_nodes"][0]["args"]
                                   if not (isinstance(a, dict) and "keras_history" in
                                           a.get("config", {}))]))
                      for e in entries if e["module"] == "keras.src.ops.numpy")
    assert ops(ours) == ops(theirs)


def test_zen_masking_model_needs_no_op_nodes(tmp_path):
    """Zen's masks ride on the tensors, as Keras's do: the file has no
    mask ops, and Keras (and Zen) find the masks again when they call it."""
    zen_masked_rnn().save(tmp_path / "m.keras")
    classes = [e["class_name"] for e in config_of(tmp_path / "m.keras")["config"]["layers"]]
    assert classes == ["InputLayer", "Masking", "SimpleRNN"]


# ----- TensorOperation's reductions -----------------------------------------------------
@pytest.mark.parametrize("operation, reference", [("any", np.any), ("all", np.all)])
@pytest.mark.parametrize("axis, keepdims", [(-1, False), (1, True), (None, False)])
def test_reductions_match_numpy(operation, reference, axis, keepdims):
    values = np.random.default_rng(0).normal(size=(3, 4, 2)) > 0.3
    got = TensorOperation(operation, axis=axis, keepdims=keepdims)(values)
    np.testing.assert_array_equal(np.asarray(got), reference(values, axis=axis,
                                                             keepdims=keepdims))


def test_reduction_on_symbolic_tensors_and_config_round_trip():
    x = Input((4, 3))
    flags = TensorOperation("any", axis=-1)(x != 0)
    assert flags.shape == (None, 4) and flags.dtype == np.bool_
    layer = flags.node.layer
    assert layer.get_config() == {"operation": "any", "axis": -1, "keepdims": False}
    again = TensorOperation.from_config(layer.get_config())
    data = np.array([[[0, 0, 0], [0, 1, 0], [0, 0, 0], [2, 2, 2]]], "float32")
    np.testing.assert_array_equal(np.asarray(again(data != 0)), [[False, True, False, True]])
    assert "axis=-1" in repr(layer)


@pytest.mark.parametrize("arguments, message", [
    ({"operation": "add", "axis": 1}, "`axis` and `keepdims` go with the reductions"),
    ({"operation": "add", "keepdims": True}, "`axis` and `keepdims` go with the reductions"),
    ({"operation": "any", "axis": "last"}, "invalid value for `axis`.*Received: axis='last'"),
    ({"operation": "any", "axis": 1.5}, "invalid value for `axis`.*Received: axis=1.5"),
    ({"operation": "all", "keepdims": "yes"}, "keepdims")])
def test_reduction_arguments_are_checked(arguments, message):
    with pytest.raises((TypeError, ValueError), match=message):
        TensorOperation(**arguments)


# ----- refusals -------------------------------------------------------------------------
def _op(document, name):
    return next(e for e in document["config"]["layers"] if e["name"] == name)


def test_unknown_keras_op_is_a_value_error_naming_it(tmp_path):
    def to_cast(document):
        op = _op(document, "any")
        op["class_name"] = op["registered_name"] = "Argmax"
    with pytest.raises(ValueError, match="Keras op 'Argmax'"):
        load_model(rewritten(fixture("masked_rnn"), tmp_path, to_cast))


def test_keras_op_option_zen_lacks_is_a_value_error(tmp_path):
    def add_option(document):
        _op(document, "not_equal_1")["config"]["dtype"] = "float16"
    with pytest.raises(ValueError, match="'not_equal_1'.*NotEqual.*dtype"):
        load_model(rewritten(fixture("masked_rnn"), tmp_path, add_option))


def test_keras_fancy_index_is_a_value_error(tmp_path):
    def fancy(document):
        op = next(e for e in document["config"]["layers"] if e["class_name"] == "GetItem")
        op["inbound_nodes"][0]["args"][1] = [{"class_name": "__slice__", "config": {
            "start": None, "stop": None, "step": None}}, [0, 2]]
    with pytest.raises(ValueError, match="basic indexing only.*\\[0, 2\\]"):
        load_model(rewritten(fixture("operations"), tmp_path, fancy))


def test_keyword_the_layer_does_not_take_is_a_value_error(tmp_path):
    def odd_keyword(document):
        rnn = _op(document, "simple_rnn")
        rnn["inbound_nodes"][0]["kwargs"]["query_mask"] = rnn["inbound_nodes"][0][
            "kwargs"]["mask"]
    with pytest.raises(ValueError, match="'simple_rnn' is called with query_mask="):
        load_model(rewritten(fixture("masked_rnn"), tmp_path, odd_keyword))


def test_keras_attention_option_zen_lacks_is_named(tmp_path):
    def gated(document):
        _op(document, "multi_head_attention")["config"]["use_gate"] = True
    with pytest.raises(ValueError, match="multi_head_attention.*use_gate=True"):
        load_model(rewritten(fixture("masked_attention"), tmp_path, gated))


def test_operation_called_twice_cannot_be_saved_as_keras(tmp_path):
    x = Input((3,))
    double = TensorOperation("multiply", constant=2.0, name="double")
    model = Model(x, double(double(x)))
    with pytest.raises(ValueError, match="'double' is called 2 times"):
        save_keras(model, tmp_path / "m.keras")


def test_layer_not_yet_translated_is_still_named(tmp_path):
    def to_resizing(document):
        _op(document, "masking")["class_name"] = "Resizing"
    with pytest.raises(ValueError, match="Resizing.*does not yet translate"):
        load_model(rewritten(fixture("masked_rnn"), tmp_path, to_resizing))


# ----- vocabularies -----------------------------------------------------------------------
def test_keras_adapted_vocabularies_come_from_the_assets():
    parts = members(fixture("vocabulary"))
    assert parts["assets/layers/string_lookup/vocabulary.txt"] == b"[UNK]\na\nb\nc"
    assert entry(fixture("vocabulary"), "string_lookup")["config"]["vocabulary"] is None
    model = load_model(fixture("vocabulary"))
    assert model.get_layer("string_lookup").get_vocabulary() == ["[UNK]", "a", "b", "c"]
    assert model.get_layer("string_lookup_3").get_vocabulary() == ["", "[UNK]", "x", "y"]
    assert model.get_layer("integer_lookup").get_vocabulary() == [-1, 5, 7, 6]
    assert model.get_layer("text_vectorization").get_vocabulary()[:3] == ["", "[UNK]", "the"]
    with h5py.File(io.BytesIO(parts["model.weights.h5"]), "r") as h5:
        idf = h5["layers/string_lookup_2/vars/idf_weights"][()]  # the 3rd in the file
    np.testing.assert_array_equal(model.get_layer("string_lookup_1").idf, idf)


def test_hashing_keeps_keras_int64_policy_both_ways(tmp_path):
    theirs = {e["name"]: e["config"]["dtype"]["config"]["name"]
              for e in config_of(fixture("vocabulary"))["config"]["layers"]
              if e["class_name"] == "Hashing"}
    assert sorted(theirs.values()) == ["float32", "int64", "int64", "int64"]
    zen_vocabulary().save(tmp_path / "m.keras")
    ours = [e["config"]["dtype"]["config"]["name"]
            for e in config_of(tmp_path / "m.keras")["config"]["layers"]
            if e["class_name"] == "Hashing"]
    assert sorted(ours) == sorted(theirs.values())


def test_zen_vocabularies_are_written_in_the_config_with_keras_idf_layout(tmp_path):
    zen_vocabulary().save(tmp_path / "m.keras")
    assert not [m for m in members(tmp_path / "m.keras") if m.startswith("assets/")]
    layers = {e["class_name"] + str(e["config"].get("output_mode")): e["config"]
              for e in config_of(tmp_path / "m.keras")["config"]["layers"]}
    weighted = layers["StringLookuptf_idf"]
    assert weighted["vocabulary"] == ["[UNK]", "a", "b", "c"]  # as long as its idf weights
    assert len(weighted["idf_weights"]) == weighted["vocabulary_size"] == 4
    assert weighted["oov_method"] == "floormod"


def _vocabulary_change(tmp_path, change_config=None, change_assets=None):
    parts = members(fixture("vocabulary"))
    if change_config is not None:
        document = json.loads(parts["config.json"])
        change_config(document)
        parts["config.json"] = json.dumps(document).encode()
    if change_assets is not None:
        change_assets(parts)
    out = tmp_path / "changed.keras"
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in parts.items():
            archive.writestr(member, data)
    return out


def test_integer_vocabulary_with_text_is_a_value_error(tmp_path):
    def text(parts):
        parts["assets/layers/integer_lookup/vocabulary.txt"] = b"-1\n5\nseven"
    with pytest.raises(ValueError, match="IntegerLookup 'integer_lookup'.*not an integer"):
        load_model(_vocabulary_change(tmp_path, change_assets=text))


def test_tf_idf_without_its_weights_is_a_value_error(tmp_path):
    def weightless(document):
        _op(document, "string_lookup")["config"]["output_mode"] = "tf_idf"
    with pytest.raises(ValueError, match="'string_lookup'.*tf_idf.*idf_weights"):
        load_model(_vocabulary_change(tmp_path, change_config=weightless))


def test_oversized_vocabulary_asset_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(keras_format, "_ASSET_LIMIT", 8)  # the asset holds 11 bytes
    with pytest.raises(ValueError, match="string_lookup/vocabulary.txt declares 11 bytes"):
        load_model(fixture("vocabulary"))


def test_discretization_is_written_without_trainable(tmp_path):
    zen_preprocessing().save(tmp_path / "m.keras")
    layers = config_of(tmp_path / "m.keras")["config"]["layers"]
    ours = next(e for e in layers if e["class_name"] == "Discretization")["config"]
    theirs = next(e for e in config_of(fixture("preprocessing"))["config"]["layers"]
                  if e["class_name"] == "Discretization")["config"]
    assert set(ours) == set(theirs) and ours["dtype"] == theirs["dtype"] == "float32"


def test_keras_normalization_state_is_read_from_the_weights():
    model = load_model(fixture("preprocessing"))
    with h5py.File(io.BytesIO(members(fixture("preprocessing"))["model.weights.h5"]),
                   "r") as h5:
        mean, variance = h5["layers/normalization/vars/0"][()], \
            h5["layers/normalization/vars/1"][()]
    adapted = model.get_layer("normalization")
    np.testing.assert_array_equal(adapted.mean.value, mean)
    np.testing.assert_array_equal(adapted.variance.value, variance)
    x, _ = inputs_and_outputs("preprocessing")
    expected = (x.astype(np.float64) - mean) / np.maximum(np.sqrt(variance), 1e-7)
    np.testing.assert_allclose(predictions(model, x)[0], expected, rtol=1e-6, atol=1e-6)
