"""TextVectorization: Keras's documented examples, standardization,
splitting and n-grams against references written in the test, the
vocabulary order, encodings, configs, models and error messages."""
from collections import Counter

import numpy as np
import pytest

import zen

from zen import nn
from zen.models import Sequential, load_model

TEXTS = np.array(["The cat, sat!", "the dog sat", "A DOG; a Cat."])
PUNCTUATION = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\''


def reference_tokens(text, ngrams=1):
    text = "".join(c.lower() if "A" <= c <= "Z" else c for c in text)
    words = "".join(c for c in text if c not in PUNCTUATION).split()
    return [" ".join(words[i:i + n]) for n in range(1, ngrams + 1)
            for i in range(len(words) - n + 1)]


def reference_vocabulary(texts, ngrams=1):
    counts = Counter(t for text in texts for t in reference_tokens(text, ngrams))
    return sorted(counts, key=lambda t: (counts[t], t), reverse=True)


def test_documented_examples():
    layer = nn.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(np.array(["foo bar", "bar baz", "baz bada boom"]))
    np.testing.assert_array_equal(layer(np.array([["foo qux bar"], ["qux baz"]])),
                                  [[4, 1, 3, 0], [1, 2, 0, 0]])
    given = nn.TextVectorization(output_sequence_length=4,
                                 vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


def test_standardize_split_and_ngrams():
    layer = nn.TextVectorization(ngrams=2)
    layer.adapt(TEXTS)
    assert layer.get_vocabulary() == ["", "[UNK]"] + reference_vocabulary(TEXTS, 2)
    out = layer(TEXTS)
    index = {t: i for i, t in enumerate(layer.get_vocabulary())}
    for row, text in zip(out, TEXTS):
        tokens = reference_tokens(text, 2)
        np.testing.assert_array_equal(row[:len(tokens)], [index[t] for t in tokens])
        assert (row[len(tokens):] == 0).all()
    assert out.shape == (3, max(len(reference_tokens(t, 2)) for t in TEXTS))
    chars = nn.TextVectorization(standardize=None, split="character", vocabulary=["a", "B"])
    np.testing.assert_array_equal(chars(np.array(["aB!"])), [[2, 3, 1]])
    whole = nn.TextVectorization(standardize="lower", split=None, vocabulary=["a b."])
    np.testing.assert_array_equal(whole(np.array(["A B.", "x"])), [[2], [1]])
    assert nn.TextVectorization().tokenize(np.array(["ÉA  b!"])) == [["Éa", "b"]]  # ASCII lower


def test_sequence_length_cuts_and_pads():
    layer = nn.TextVectorization(output_sequence_length=2, vocabulary=["a", "b", "c"])
    np.testing.assert_array_equal(layer(np.array(["a b c", "c"])), [[2, 3], [4, 0]])


def test_encodings():
    multi = nn.TextVectorization(output_mode="multi_hot")
    multi.adapt(TEXTS)
    vocabulary = multi.get_vocabulary()
    assert vocabulary == ["[UNK]"] + reference_vocabulary(TEXTS)
    queries = np.array(["cat sat sat", "a bird"])
    counts = np.array([[Counter(reference_tokens(q))[t] for t in vocabulary] for q in queries])
    counts[:, 0] = [sum(t not in vocabulary for t in reference_tokens(q)) for q in queries]
    np.testing.assert_array_equal(multi(queries), counts > 0)
    count = nn.TextVectorization(output_mode="count", vocabulary=vocabulary[1:])
    np.testing.assert_array_equal(count(queries), counts)
    tf_idf = nn.TextVectorization(output_mode="tf_idf")
    tf_idf.adapt(TEXTS)
    documents = np.array([sum(t in reference_tokens(x) for x in TEXTS) for t in vocabulary[1:]])
    idf = np.log(1 + len(TEXTS) / (1 + documents))
    idf = np.concatenate([[idf.mean()], idf])
    np.testing.assert_allclose(tf_idf(queries), counts * idf, rtol=1e-6)


def test_config_and_model(tmp_path):
    layer = nn.TextVectorization(max_tokens=6, output_mode="count", ngrams=(1, 2))
    layer.adapt(TEXTS)
    assert len(layer.get_vocabulary()) == 6
    again = nn.TextVectorization.from_config(layer.get_config())
    assert again.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(again(TEXTS), layer(TEXTS))
    vectorize = nn.TextVectorization(output_sequence_length=5)
    vectorize.adapt(TEXTS)
    model = Sequential([vectorize, nn.Embedding(vectorize.vocabulary_size(), 3),
                        nn.Flatten(), nn.Dense(1)])
    x = TEXTS[:, None]  # called directly: `predict` takes numeric arrays only
    model(x)
    model.save(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen")
    assert loaded.layers[0].get_vocabulary() == vectorize.get_vocabulary()
    np.testing.assert_array_equal(loaded(x).value, model(x).value)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.TextVectorization(standardize="upper"), "`standardize`"),
    (lambda: nn.TextVectorization(split="comma"), "`split`"),
    (lambda: nn.TextVectorization(ngrams=0), "`ngrams`"),
    (lambda: nn.TextVectorization(output_mode="one_hot"), "`output_mode`"),
    (lambda: nn.TextVectorization(output_mode="count", output_sequence_length=3),
     "`output_sequence_length`"),
    (lambda: nn.TextVectorization(output_sequence_length=0), "`output_sequence_length`"),
    (lambda: nn.TextVectorization(ragged=True), "`ragged`"),
    (lambda: nn.TextVectorization(max_tokens=1), "`max_tokens`"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs():
    layer = nn.TextVectorization(vocabulary=["a"])
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layer(np.array([["a", "b"]]))


# ----- functions for standardize and split (Keras takes callables) -------------------------------
@zen.models.register_serializable(package="text_tests")
def identifier_words(strings):
    """Lowercase, with "_" and "." as spaces: source code into words."""
    return np.char.lower(np.char.replace(np.char.replace(strings, "_", " "), ".", " "))


@zen.models.register_serializable(package="text_tests")
def on_commas(strings):
    return [s.split(",") for s in strings]


def test_standardize_and_split_functions_work_on_the_batch_and_save(tmp_path):
    layer = nn.TextVectorization(standardize=identifier_words)
    assert layer.tokenize(np.array(["self._Loop.call_soon"])) == [["self", "loop", "call",
                                                                   "soon"]]
    commas = nn.TextVectorization(standardize=None, split=on_commas)
    assert commas.tokenize(np.array(["a b,c", "d"])) == [["a b", "c"], ["d"]]
    layer.adapt(np.array(["self.loop.run", "self.x"]))
    inputs = zen.Input(shape=(), dtype="string")
    model = zen.Model(inputs, layer(inputs))
    model.save(tmp_path / "t.zen")
    again = zen.load_model(tmp_path / "t.zen")
    text = np.array(["SELF.run_x"])
    np.testing.assert_array_equal(again.predict(text, verbose=0), model.predict(text, verbose=0))
    assert model.predict(text, verbose=0).tolist() == [[2, 4, 3]]


def test_bad_standardize_and_split_functions_are_named():
    with pytest.raises(ValueError, match="`standardize` function must return the batch"):
        nn.TextVectorization(standardize=lambda s: s[:1]).tokenize(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="`split` function must return one list"):
        nn.TextVectorization(split=lambda s: [1, 2]).tokenize(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="cannot be saved"):
        nn.TextVectorization(split=lambda s: [x.split() for x in s]).get_config()
    with pytest.raises(ValueError, match="expected one of"):
        nn.TextVectorization(split="commas")
