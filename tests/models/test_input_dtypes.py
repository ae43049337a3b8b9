"""`zen.Input(shape, dtype=...)` with float, integer, bool and "string"
dtypes, as Keras: a functional model that starts with preprocessing layers
builds from a string Input, predicts, fits and evaluates on raw text (an
array of str or a list of Python strings), and saves and loads; integer and
bool inputs keep their dtype until the first layer."""
import numpy as np
import pytest

import zen
from zen.models import Input, Model, load_model
from zen.nn import (Dense, Embedding, GlobalAveragePooling1D, Hashing, IntegerLookup, Layer,
                    StringLookup, TextVectorization)

TEXTS = np.array(["the cat sat", "a dog ran fast", "the dog", "cat ran"])
TARGETS = np.arange(4.0, dtype=np.float32).reshape(4, 1)


class DtypeProbe(Layer):
    """Passes its input through and records the dtypes it was called on."""

    def __init__(self, name=None):
        super().__init__(name)
        self.seen = []

    def call(self, x):
        self.seen.append(np.asarray(x).dtype)
        return x


def text_model():
    vectorize = TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=4)
    vectorize.adapt(TEXTS)
    text = Input(shape=(), dtype="string")
    hidden = GlobalAveragePooling1D()(Embedding(20, 3)(vectorize(text)))
    model = Model(text, Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse")
    return model


# ----- Input ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "bool"])
def test_numeric_and_bool_dtypes_are_kept_on_the_input(dtype):
    tensor = Input((3,), dtype=dtype)
    assert tensor.dtype == np.dtype(dtype)
    assert tensor.node.layer.get_config()["dtype"] == dtype


def test_string_input_is_numpy_str_and_saves_as_string():
    tensor = Input(shape=(), dtype="string")
    assert tensor.shape == (None,) and tensor.dtype.kind == "U"
    assert tensor.node.layer.get_config() == {"shape": [], "dtype": "string"}


def test_dtype_none_is_float32_as_keras():
    assert Input((2,), dtype=None).dtype == np.float32


@pytest.mark.parametrize("dtype", ["complex64", "nope", "object", "U8", "str"])
def test_unknown_dtype_is_refused_with_its_name(dtype):
    with pytest.raises(ValueError, match=r"`dtype` of Input.*'string'. Received: "
                                         rf"dtype={dtype!r}"):
        Input((1,), dtype=dtype)


def test_string_placeholder_is_an_array_of_empty_strings():
    from zen.nn.symbolic import placeholder
    probe = placeholder(Input(shape=(None,), dtype="string"), free_size=3)
    assert probe.shape == (1, 3) and probe.dtype.kind == "U" and (probe == "").all()


# ----- preprocessing layers on a string Input -------------------------------------------
def test_preprocessing_layers_build_from_string_input():
    text = Input(shape=(1,), dtype="string")
    lookup = StringLookup(vocabulary=["a", "b", "c"])(text)
    hashed = Hashing(num_bins=5)(text)
    assert lookup.shape == (None, 1) and lookup.dtype.kind == "i"
    assert hashed.shape == (None, 1) and hashed.dtype.kind == "i"
    vectorized = TextVectorization(vocabulary=["x", "y"], output_sequence_length=4)(
        Input(shape=(), dtype="string"))
    assert vectorized.shape == (None, 4)


def test_integer_lookup_builds_from_integer_input():
    ids = Input(shape=(1,), dtype="int64")
    model = Model(ids, IntegerLookup(vocabulary=[5, 7])(ids))
    # IntegerLookup: index 0 for out of vocabulary, then the vocabulary in order
    np.testing.assert_array_equal(model.predict(np.array([[7], [5], [9]]), verbose=0),
                                  [[2], [1], [0]])


def test_string_lookup_predicts_from_array_and_lists_of_strings():
    text = Input(shape=(1,), dtype="string")
    model = Model(text, StringLookup(vocabulary=["a", "b", "c"])(text))
    expected = [[1], [3], [0]]  # index 0 for out of vocabulary
    np.testing.assert_array_equal(model.predict(np.array([["a"], ["c"], ["zz"]]), verbose=0),
                                  expected)
    np.testing.assert_array_equal(model.predict([["a"], ["c"], ["zz"]], verbose=0), expected)
    np.testing.assert_array_equal(
        model.predict(np.array([["a"], ["c"], ["zz"]], dtype=object), verbose=0), expected)
    np.testing.assert_array_equal(
        model.predict(np.array([[b"a"], [b"c"], [b"zz"]]), verbose=0), expected)


def test_text_model_predicts_from_array_and_list_of_strings():
    model = text_model()
    from_array = model.predict(TEXTS, verbose=0)
    assert from_array.shape == (4, 1) and from_array.dtype == np.float32
    np.testing.assert_array_equal(model.predict(list(TEXTS), verbose=0), from_array)
    np.testing.assert_allclose(model.predict(TEXTS, batch_size=3, verbose=0), from_array,
                               rtol=1e-6, atol=1e-7)


def test_text_model_fits_and_evaluates_on_strings():
    model = text_model()
    first = model.evaluate(TEXTS, TARGETS, verbose=0)
    history = model.fit(TEXTS, TARGETS, epochs=20, batch_size=2, verbose=0,
                        validation_data=(list(TEXTS), TARGETS))
    assert len(history.history["loss"]) == 20 and "val_loss" in history.history
    assert model.evaluate(list(TEXTS), TARGETS, verbose=0) < first


def test_text_model_saves_and_loads_and_predicts_from_text(tmp_path):
    model = text_model()
    model.fit(TEXTS, TARGETS, epochs=2, verbose=0)
    path = tmp_path / "text.zen"
    model.save(path)
    loaded = load_model(path)
    assert loaded.inputs[0].dtype.kind == "U"
    np.testing.assert_array_equal(loaded.predict(TEXTS, verbose=0),
                                  model.predict(TEXTS, verbose=0))
    np.testing.assert_array_equal(loaded.predict(["the cat"], verbose=0),
                                  model.predict(["the cat"], verbose=0))


# ----- integer and bool inputs keep their dtype ---------------------------------------
@pytest.mark.parametrize("dtype, given", [("bool", np.array([[True, False], [False, True]])),
                                          ("int32", np.array([[1, 2], [3, 0]])),
                                          ("int64", np.array([[1, 2], [3, 0]], np.int32))])
def test_integer_and_bool_inputs_reach_the_first_layer_in_their_dtype(dtype, given):
    probe = DtypeProbe()
    inputs = Input((2,), dtype=dtype)
    model = Model(inputs, probe(inputs))
    out = model.predict(given, verbose=0)
    assert probe.seen and set(probe.seen) == {np.dtype(dtype)}
    np.testing.assert_array_equal(out, given.astype(dtype))


def test_embedding_reads_integer_input_without_a_float_cast():
    ids = Input((3,), dtype="int32")
    embedding = Embedding(10, 2)
    model = Model(ids, embedding(ids))
    given = np.array([[9, 0, 3]])
    expected = embedding.embeddings.value.astype(np.float64)[given]
    np.testing.assert_allclose(model.predict(given, verbose=0), expected, rtol=1e-6)


def test_float_input_still_casts_to_float32():
    probe = DtypeProbe()
    inputs = Input((2,))
    model = Model(inputs, probe(inputs))
    assert model.predict(np.array([[1, 2]]), verbose=0).dtype == np.float32


# ----- errors ---------------------------------------------------------------------------
def test_strings_given_to_a_float_input_name_the_input_dtype():
    inputs = Input((1,))
    model = Model(inputs, Dense(1)(inputs))
    with pytest.raises(TypeError, match=r"`x`, expected a numeric array \(it feeds an Input "
                                        r"of dtype float32\). Received: x of dtype <U1"):
        model.predict(np.array([["a"]]), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=r"Input of dtype float32\). Received: x of list \(dtype <U1 as an array\)"):
        model.fit(["a", "b"], np.zeros((2, 1)), verbose=0)


def test_numbers_given_to_a_string_input_are_refused():
    text = Input(shape=(1,), dtype="string")
    model = Model(text, StringLookup(vocabulary=["a"])(text))
    with pytest.raises(TypeError, match=r"`x`, expected strings .*dtype string\). "
                                        r"Received: x of dtype float64"):
        model.predict(np.array([[1.0]]), verbose=0)
    with pytest.raises(TypeError, match=r"Received: x of dtype int64"):
        model.predict(np.array([[1]]), verbose=0)


def test_empty_string_batch_is_refused():
    text = Input(shape=(), dtype="string")
    model = Model(text, StringLookup(vocabulary=["a"])(text))
    with pytest.raises(ValueError, match=r"expected a non-empty array"):
        model.predict(np.array([], dtype=str), verbose=0)


def test_string_input_of_the_wrong_shape_is_refused():
    text = Input(shape=(1,), dtype="string")
    model = Model(text, StringLookup(vocabulary=["a"])(text))
    with pytest.raises(ValueError, match=r"has shape \(2,\), but the model expects inputs "
                                         r"of shape \(None, 1\)"):
        model.predict(["a", "b"], verbose=0)
