"""StringLookup and IntegerLookup: Keras's documented examples (values and
vocabulary order), adapt's order and idf weights against references
computed in the test, masks, OOV indices, invert, encodings, configs,
models and error messages."""
from collections import Counter

import numpy as np
import pytest

from zen import nn
from zen.models import Input, Sequential, load_model
from zen.nn.preprocessing.hashing import fingerprint64

VOCAB = ["a", "b", "c", "d"]
DATA = np.array([["a", "c", "d"], ["d", "z", "b"]])
DOCS = np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]])
INT_VOCAB = [12, 36, 1138, 42]
INT_DATA = np.array([[12, 1138, 42], [42, 1000, 36]])


def keras_order(data, mask=None, oov=None):
    """Count descending, ties: the larger token first."""
    counts = Counter(np.ravel(data).tolist())
    counts.pop(mask, None)
    counts.pop(oov, None)
    return sorted(counts, key=lambda t: (counts[t], t), reverse=True)


# ----- Keras's documented examples --------------------------------------------------------
def test_string_documented_examples():
    np.testing.assert_array_equal(nn.StringLookup(vocabulary=VOCAB)(DATA), [[1, 3, 4], [4, 0, 2]])
    adapted = nn.StringLookup()
    adapted.adapt(DATA)
    assert adapted.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(adapted(DATA), [[5, 3, 1], [1, 2, 4]])
    two_oov = nn.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    np.testing.assert_array_equal(two_oov(np.array([["a", "c", "d"], ["m", "z", "b"]])),
                                  [[2, 4, 5], [0, 1, 3]])
    np.testing.assert_array_equal(
        nn.StringLookup(vocabulary=VOCAB, invert=True)(np.array([[1, 3, 4], [4, 0, 2]])),
        [["a", "c", "d"], ["d", "[UNK]", "b"]])


def test_string_documented_encodings():
    np.testing.assert_array_equal(
        nn.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(np.array(VOCAB + ["z"])),
        np.eye(5)[[1, 2, 3, 4, 0]])
    np.testing.assert_array_equal(nn.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DOCS),
                                  [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    np.testing.assert_array_equal(nn.StringLookup(vocabulary=VOCAB, output_mode="count")(DOCS),
                                  [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    layer = nn.StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(layer(DOCS), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)
    layer.set_vocabulary(["[UNK]"] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(layer(DOCS), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]],
                               rtol=1e-6)


def test_integer_documented_examples():
    np.testing.assert_array_equal(nn.IntegerLookup(vocabulary=INT_VOCAB)(INT_DATA),
                                  [[1, 3, 4], [4, 0, 2]])
    adapted = nn.IntegerLookup()
    adapted.adapt(INT_DATA)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(adapted(INT_DATA), [[5, 2, 1], [1, 3, 4]])
    two_oov = nn.IntegerLookup(vocabulary=INT_VOCAB, num_oov_indices=2)
    np.testing.assert_array_equal(two_oov(np.array([[12, 1138, 42], [37, 1000, 36]])),
                                  [[2, 4, 5], [1, 0, 3]])
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    floormod = nn.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4)
    farmhash = nn.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4, oov_method="farmhash")
    np.testing.assert_array_equal(floormod(oov), oov % 4)
    np.testing.assert_array_equal(farmhash(oov), [3, 3, 2, 2, 0, 1])
    np.testing.assert_array_equal(farmhash(oov), [fingerprint64(str(v).encode()) % 4 for v in oov])
    inverse = nn.IntegerLookup(vocabulary=INT_VOCAB, invert=True)(np.array([[1, 3, 4], [4, 0, 2]]))
    np.testing.assert_array_equal(inverse, [[12, 1138, 42], [42, -1, 36]])


# ----- adapt ---------------------------------------------------------------------------
def test_adapt_order_max_tokens_and_mask():
    data = np.random.default_rng(0).choice(list("abcdefgh"), size=(20, 6))
    layer = nn.StringLookup(max_tokens=5, mask_token="a")
    layer.adapt(data)
    assert layer.get_vocabulary() == ["a", "[UNK]"] + keras_order(data, mask="a")[:3]
    assert layer.vocabulary_size() == 5
    out = layer(data)
    expected = {t: i for i, t in enumerate(layer.get_vocabulary())}
    np.testing.assert_array_equal(out, [[expected.get(t, 1) for t in row] for row in data])
    assert (out[data == "a"] == 0).all()
    ints = np.random.default_rng(1).integers(0, 9, size=(10, 4))
    lookup = nn.IntegerLookup(num_oov_indices=0)
    lookup.adapt(ints)
    assert lookup.get_vocabulary() == keras_order(ints, oov=-1)


def test_adapt_tf_idf():
    layer = nn.StringLookup(output_mode="tf_idf")
    layer.adapt(DOCS)
    tokens = layer.get_vocabulary(include_special_tokens=False)
    documents = np.array([sum(t in row for row in DOCS.tolist()) for t in tokens])
    idf = np.log(1 + len(DOCS) / (1 + documents))
    idf = np.concatenate([[idf.mean()], idf])
    counts = np.array([[Counter(row)[t] for t in layer.get_vocabulary()] for row in DOCS.tolist()])
    counts[:, 0] = [sum(t not in tokens for t in row) for row in DOCS.tolist()]
    np.testing.assert_allclose(layer(DOCS), counts * idf, rtol=1e-6)


def test_pad_to_max_tokens_and_mask_in_encodings():
    layer = nn.StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="multi_hot",
                            max_tokens=6, pad_to_max_tokens=True)
    np.testing.assert_array_equal(layer(np.array([["a", ""], ["q", "b"]])),
                                  [[0, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0]])


# ----- configs, models, errors ------------------------------------------------------------
def test_configs_and_models(tmp_path):
    layer = nn.StringLookup(output_mode="tf_idf")
    layer.adapt(DOCS)
    again = nn.StringLookup.from_config(layer.get_config())
    assert again.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(again(DOCS), layer(DOCS))
    lookup = nn.IntegerLookup(output_mode="multi_hot", mask_token=0)
    lookup.adapt(INT_DATA)
    model = Sequential([Input((3,)), lookup, nn.Dense(2)])
    model.save(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen")
    np.testing.assert_array_equal(loaded.predict(INT_DATA), model.predict(INT_DATA))
    assert loaded.layers[0].get_vocabulary() == lookup.get_vocabulary()


@pytest.mark.parametrize("make, message", [
    (lambda: nn.StringLookup(max_tokens=1), "`max_tokens`"),
    (lambda: nn.StringLookup(num_oov_indices=-1), "`num_oov_indices`"),
    (lambda: nn.StringLookup(output_mode="binary"), "`output_mode`"),
    (lambda: nn.StringLookup(invert=True, output_mode="count"), "`output_mode`"),
    (lambda: nn.StringLookup(pad_to_max_tokens=True), "`max_tokens`"),
    (lambda: nn.StringLookup(idf_weights=[1.0]), "`idf_weights`"),
    (lambda: nn.StringLookup(vocabulary=VOCAB, output_mode="tf_idf"), "`idf_weights`"),
    (lambda: nn.StringLookup(vocabulary=["a", "a"]), "repeated"),
    (lambda: nn.StringLookup(vocabulary=["a", ""], mask_token=""), "mask token"),
    (lambda: nn.StringLookup(vocabulary=VOCAB, max_tokens=3), "larger than the maximum"),
    (lambda: nn.StringLookup(vocabulary=[]), "`vocabulary`"),
    (lambda: nn.StringLookup(encoding="latin-1"), "`encoding`"),
    (lambda: nn.IntegerLookup(oov_method="mod"), "`oov_method`"),
    (lambda: nn.IntegerLookup(vocabulary_dtype="float32"), "`vocabulary_dtype`"),
    (lambda: nn.IntegerLookup(salt=-2), "`salt`"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_calls():
    with pytest.raises(ValueError, match="adapt"):
        nn.StringLookup()(DATA)
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        nn.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(DATA)
