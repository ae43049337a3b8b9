"""A Sequential that starts with `zen.Input(shape, dtype=...)` keeps that
dtype, as in Keras: it builds on placeholders of the dtype (empty strings
for "string", integers for int dtypes), and `fit`, `predict`, `evaluate`,
`save` and `load_model` take raw text or integer indices."""
import numpy as np
import pytest

import zen
from zen.models import Input, Sequential, load_model
from zen.nn import Dense, Embedding, GlobalAveragePooling1D, Layer, TextVectorization

TEXTS = np.array(["the cat sat", "a dog ran fast", "the dog", "cat ran"])
TARGETS = np.arange(4.0, dtype=np.float32).reshape(4, 1)
INDICES = np.array([[1, 2, 3, 4], [0, 0, 5, 9], [7, 7, 7, 7]])


class DtypeProbe(Layer):
    """Passes its input through and records the dtypes it was called on."""

    def __init__(self, name=None):
        super().__init__(name)
        self.seen = []

    def call(self, x):
        self.seen.append(np.asarray(getattr(x, "value", x)).dtype)
        return x


def vectorizer():
    vectorize = TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=4)
    vectorize.adapt(TEXTS)
    return vectorize


def text_model(probe=None):
    layers = [Input(shape=(), dtype="string")] + ([probe] if probe else [])
    model = Sequential(layers + [vectorizer(), Embedding(20, 3), GlobalAveragePooling1D(),
                                 Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def text_reference(model, texts):
    """float64 forward pass: mean of the embedding rows of the token ids, then Dense."""
    vectorize, embedding, _, dense = model.layers[-4:]
    ids = np.asarray(vectorize(texts)).astype(np.int64)
    table = embedding.parameters()[0].value.astype(np.float64)
    kernel, bias = (p.value.astype(np.float64) for p in dense.parameters())
    return table[ids].mean(axis=1) @ kernel + bias


def int_model(probe=None):
    layers = [Input((4,), dtype="int32")] + ([probe] if probe else [])
    model = Sequential(layers + [Embedding(10, 2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


# ----- building ------------------------------------------------------------------------
def test_string_sequential_builds_on_empty_strings():
    probe = DtypeProbe()
    model = text_model(probe)
    assert model.built and model.input_dtype == "string"
    assert model.input_shape == (None,)
    assert probe.seen[0].kind == "U"
    assert model._output_shapes == [(None,), (None, 4), (None, 4, 3), (None, 3), (None, 1)]
    assert [dtype.kind for dtype in model._output_dtypes] == ["U", "i", "f", "f", "f"]
    assert model.inputs[0].dtype.kind == "U" and model.inputs[0].shape == (None,)


def test_int_sequential_builds_on_integers():
    probe = DtypeProbe()
    model = int_model(probe)
    assert model.input_dtype == "int32"
    assert probe.seen == [np.dtype("int32")]
    assert model._output_shapes == [(None, 4), (None, 4, 2)]


def test_layers_added_later_are_probed_with_the_previous_output_dtype():
    model = Sequential([Input(shape=(), dtype="string")])
    first = DtypeProbe()
    model.add(first)
    assert first.seen[0].kind == "U"
    model.add(vectorizer())
    probe = DtypeProbe()
    model.add(probe)
    assert probe.seen[0].kind == "i"
    model.add(Embedding(20, 3))
    assert model._output_shapes[-1] == (None, 4, 3)


def test_a_float_sequential_keeps_its_defaults():
    model = Sequential([Dense(2)])
    model.build((None, 3))
    assert model.input_dtype == "float32" and model.inputs is None
    assert "input_dtype" not in model.get_config()
    declared = Sequential([Input((3,)), Dense(2)])
    assert declared.input_dtype == "float32"
    assert declared.get_config()["input_dtype"] == "float32"


def test_rebuilding_keeps_the_input_dtype():
    probe = DtypeProbe()
    model = Sequential([Input((4,), dtype="int64")])
    model.build((None, 6))
    assert model.input_dtype == "int64" and model.inputs[0].shape == (None, 6)
    model.add(probe)
    assert probe.seen[-1] == np.dtype("int64")


# ----- predict, fit, evaluate ----------------------------------------------------------
@pytest.mark.parametrize("texts", [TEXTS, list(TEXTS), TEXTS.astype(object),
                                   np.char.encode(TEXTS, "utf-8")])
def test_string_sequential_predicts_from_text(texts):
    model = text_model()
    predicted = model.predict(texts, verbose=0)
    np.testing.assert_allclose(predicted, text_reference(model, TEXTS), rtol=1e-5, atol=1e-6)


def test_string_sequential_fits_and_evaluates_on_text():
    model = text_model()
    before = model.evaluate(TEXTS, TARGETS, verbose=0)
    expected = np.mean((text_reference(model, TEXTS) - TARGETS) ** 2)
    np.testing.assert_allclose(before, expected, rtol=1e-5)
    history = model.fit(TEXTS, TARGETS, epochs=20, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    after = model.evaluate(list(TEXTS), TARGETS, verbose=0)
    np.testing.assert_allclose(after, np.mean((text_reference(model, TEXTS) - TARGETS) ** 2),
                               rtol=1e-5)


def test_string_sequential_takes_validation_text():
    model = text_model()
    history = model.fit(TEXTS, TARGETS, epochs=2, validation_data=(TEXTS[:2], TARGETS[:2]),
                        verbose=0)
    assert len(history.history["val_loss"]) == 2


def test_int_sequential_feeds_integers_of_its_dtype():
    probe = DtypeProbe()
    model = int_model(probe)
    predicted = model.predict(INDICES.astype(np.int64), verbose=0)
    table = model.layers[-1].parameters()[0].value.astype(np.float64)
    np.testing.assert_allclose(predicted, table[INDICES], rtol=0, atol=0)
    assert probe.seen[-1] == np.dtype("int32")
    history = model.fit(INDICES, np.zeros((3, 4, 2), np.float32), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# ----- saving --------------------------------------------------------------------------
def test_string_sequential_saves_and_loads(tmp_path):
    model = text_model()
    model.fit(TEXTS, TARGETS, epochs=2, verbose=0)
    path = str(tmp_path / "text.zen")
    model.save(path)
    loaded = load_model(path)
    assert isinstance(loaded, Sequential) and loaded.input_dtype == "string"
    np.testing.assert_array_equal(loaded.predict(TEXTS, verbose=0),
                                  model.predict(TEXTS, verbose=0))
    loaded.fit(list(TEXTS), TARGETS, epochs=1, verbose=0)


def test_int_sequential_saves_and_loads(tmp_path):
    model = int_model()
    path = str(tmp_path / "ints.zen")
    model.save(path)
    loaded = load_model(path)
    assert loaded.input_dtype == "int32" and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(INDICES, verbose=0),
                                  model.predict(INDICES, verbose=0))


def test_config_round_trip_keeps_the_dtype():
    config = int_model().get_config()
    assert config["input_dtype"] == "int32"
    rebuilt = Sequential.from_config(config)
    assert rebuilt.input_dtype == "int32" and rebuilt.input_shape == (None, 4)


def test_a_config_without_input_dtype_loads_as_float():
    config = {"name": "old", "layers": [{"class_name": "Dense", "config": {"units": 2}}],
              "build_input_shape": [None, 3]}
    model = Sequential.from_config(config)
    assert model.input_dtype == "float32" and model.inputs is None


# ----- errors --------------------------------------------------------------------------
def test_numbers_for_a_string_sequential_are_refused():
    with pytest.raises(TypeError, match=r"expected strings .* dtype string\). Received: x "
                                        r"of dtype float64"):
        text_model().predict(np.zeros(4), verbose=0)


def test_text_for_an_int_sequential_is_refused():
    with pytest.raises(TypeError, match=r"`x`, expected a numeric array \(it feeds an Input "
                                        r"of dtype int32\)"):
        int_model().fit(np.array([["a"] * 4] * 3), np.zeros((3, 4, 2)), verbose=0)


def test_wrong_sample_shape_for_an_int_sequential_is_refused():
    with pytest.raises(ValueError, match=r"Input `x` has shape \(3, 5\), but the model "
                                         r"expects inputs of shape \(None, 4\)"):
        int_model().predict(np.zeros((3, 5), np.int32), verbose=0)


def test_a_bad_config_dtype_is_refused():
    config = dict(int_model().get_config(), input_dtype="complex64")
    with pytest.raises(ValueError, match=r"invalid value for `dtype` of Input.*"
                                         r"Received: dtype='complex64'"):
        Sequential.from_config(config)


def test_an_input_after_layers_is_still_refused():
    with pytest.raises(ValueError, match="An Input can only be the first item"):
        Sequential([Dense(2), Input((3,), dtype="int32")])


def test_zen_sequential_is_the_same_class():
    assert zen.Sequential is Sequential
