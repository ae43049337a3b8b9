"""Hashing: FarmHash Fingerprint64 and SipHash-2-4 against published test
vectors, bins against Keras's documented examples, masks, integer inputs,
encodings, configs, models and error messages."""
import numpy as np
import pytest

from zen import nn
from zen.models import Input, Sequential, load_model
from zen.nn.preprocessing.hashing import fingerprint64, siphash

LETTERS = np.array([["A"], ["B"], ["C"], ["D"], ["E"]])
SIP_KEY = (0x0706050403020100, 0x0f0e0d0c0b0a0908)  # the SipHash paper's key 00 01 ... 0f


def test_fingerprint64_vector():
    assert fingerprint64(b"abc") == 2640714258260161385  # pyfarmhash's documented value
    assert fingerprint64(b"") == 0x9ae16a3b2f90404f       # k2, FarmHash's empty-input value


@pytest.mark.parametrize("length, expected", [
    (0, 0x726fdb47dd0e0e31), (8, 0x93f5f5799a932462), (15, 0xa129ca6149be45e5)])
def test_siphash_reference_vectors(length, expected):
    assert siphash(SIP_KEY, bytes(range(length))) == expected


def test_fingerprint_is_deterministic_at_every_length():
    data = bytes(range(256)) * 2
    hashes = [fingerprint64(data[:n]) for n in range(0, 300, 7)]
    assert hashes == [fingerprint64(data[:n]) for n in range(0, 300, 7)]
    assert len(set(hashes)) == len(hashes)


@pytest.mark.parametrize("kwargs, inputs, expected", [  # Keras's documented examples
    ({}, LETTERS, [1, 0, 1, 1, 2]),
    ({"mask_value": ""}, np.array([["A"], ["B"], [""], ["C"], ["D"]]), [1, 1, 0, 2, 2]),
    ({"salt": [133, 137]}, LETTERS, [1, 2, 1, 0, 2]),
    ({"salt": 133}, LETTERS, [0, 0, 2, 1, 0]),
])
def test_keras_documented_bins(kwargs, inputs, expected):
    out = nn.Hashing(3, **kwargs)(inputs)
    assert out.dtype == np.int64 and out.shape == (5, 1)
    np.testing.assert_array_equal(out.ravel(), expected)


def test_bins_follow_the_formula():
    words = np.array([["cat", "dog"], ["a much longer string than sixteen bytes", ""]])
    expected = [[fingerprint64(w.encode()) % 7 for w in row] for row in words]
    np.testing.assert_array_equal(nn.Hashing(7)(words), expected)
    salted = [[siphash((5, 9), w.encode()) % 7 for w in row] for row in words]
    np.testing.assert_array_equal(nn.Hashing(7, salt=(5, 9))(words), salted)


def test_integer_and_float_inputs_hash_as_decimal_strings():
    ints = np.array([[3, -12], [0, 12345]])
    np.testing.assert_array_equal(nn.Hashing(11)(ints), nn.Hashing(11)(ints.astype(str)))
    truncated = ints + np.sign(ints) * 0.7  # floats hash as their integer part
    np.testing.assert_array_equal(nn.Hashing(11)(truncated), nn.Hashing(11)(ints))
    masked = nn.Hashing(5, mask_value=0)(ints)
    assert masked[1, 0] == 0
    kept = ints[ints != 0]
    np.testing.assert_array_equal(masked[ints != 0],
                                  [fingerprint64(str(v).encode()) % 4 + 1 for v in kept])


def test_encodings():
    bins = nn.Hashing(3)(LETTERS)
    np.testing.assert_array_equal(nn.Hashing(3, output_mode="one_hot")(LETTERS),
                                  np.eye(3, dtype=np.float32)[bins[:, 0]])
    row = np.array([["A", "B", "C"]])
    np.testing.assert_array_equal(nn.Hashing(3, output_mode="count")(row), [[1, 2, 0]])
    np.testing.assert_array_equal(nn.Hashing(3, output_mode="multi_hot")(row), [[1, 1, 0]])


def test_config_and_model(tmp_path):
    layer = nn.Hashing(4, mask_value=0, salt=3, output_mode="multi_hot")
    assert layer.get_config() == {"num_bins": 4, "mask_value": 0, "salt": [3, 3],
                                  "output_mode": "multi_hot", "sparse": False}
    again = nn.Hashing.from_config(layer.get_config())
    x = np.array([[1, 2, 0], [5, 5, 7]])
    np.testing.assert_array_equal(again(x), layer(x))
    model = Sequential([Input((3,)), layer, nn.Dense(2)])
    model.save(tmp_path / "m.zen")
    np.testing.assert_array_equal(load_model(tmp_path / "m.zen").predict(x), model.predict(x))


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Hashing(0), "`num_bins`"),
    (lambda: nn.Hashing(3, salt=-1), "`salt`"),
    (lambda: nn.Hashing(3, salt=[1, 2, 3]), "`salt`"),
    (lambda: nn.Hashing(3, output_mode="tf_idf"), "`output_mode`"),
    (lambda: nn.Hashing(3, sparse=True), "`sparse`"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
