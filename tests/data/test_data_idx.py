"""The IDX reader against files written byte by byte from the format's spec."""
import gzip
import hashlib

import numpy as np
import pytest

from zen.data.idx import encode_idx, gunzip, idx_sha256, parse_idx, read_idx, write_idx
from zen.fileio import ZenFileError

# A 2x3 uint8 IDX file written by hand: 00 00 08 02, dims 2 and 3, six values.
HAND_WRITTEN = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 251, 252])


@pytest.mark.parametrize("gz", [False, True])
def test_reads_a_hand_written_file(tmp_path, gz):
    path = tmp_path / ("m.idx.gz" if gz else "m.idx")
    path.write_bytes(gzip.compress(HAND_WRITTEN) if gz else HAND_WRITTEN)
    array = read_idx(path)
    assert array.dtype == np.uint8
    np.testing.assert_array_equal(array, [[1, 2, 3], [250, 251, 252]])


def test_big_endian_values_and_digest_match_the_file_bytes():
    # int32 type 0x0C, one dimension of 2: values 1 and -2, big-endian
    data = bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE])
    array = parse_idx(data)
    np.testing.assert_array_equal(array, [1, -2])
    assert array.dtype.isnative
    assert encode_idx(array) == data
    assert idx_sha256(array) == hashlib.sha256(data).hexdigest()
    assert idx_sha256(parse_idx(HAND_WRITTEN)) == hashlib.sha256(HAND_WRITTEN).hexdigest()


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / ("a" + suffix), array)
    back = read_idx(tmp_path / ("a" + suffix))
    assert back.dtype == array.dtype and back.flags.writeable
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("data, match", [
    (b"\x01\x02\x08\x01" + bytes(5), "not an IDX file: magic number 0x01020801"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 9]), "not an IDX file"),
    (b"\x00\x00", "truncated: 2 bytes"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated: its header needs 16 bytes"),
    (HAND_WRITTEN[:-2], r"truncated: shape \(2, 3\) needs 6 bytes of values, found 4"),
    (HAND_WRITTEN + b"\x00", "unexpected trailing bytes"),
    (gzip.compress(HAND_WRITTEN, mtime=0)[:-12], "not valid gzip data"),
    (b"\x1f\x8b" + bytes(20), "not valid gzip data"),
])
def test_bad_files_raise_a_clear_error(data, match):
    with pytest.raises(ZenFileError, match=match):
        parse_idx(data, "some.idx")


def test_gunzip_limit_and_unstorable_dtype():
    with pytest.raises(ZenFileError, match="more than 100 bytes"):
        gunzip(gzip.compress(bytes(1000)), "bomb", limit=100)
    assert gunzip(gzip.compress(b"abc"), limit=3) == b"abc"
    with pytest.raises(ValueError, match="cannot store dtype bool"):
        encode_idx(np.zeros(2, bool))
