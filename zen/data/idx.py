"""The IDX file format of the MNIST distribution: read, write and hash.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian int32 per dimension, then the values in C
order. MNIST uses type 0x08 (unsigned byte). Files may be gzipped.
"""
import gzip
import hashlib
import io
import os
import zlib

import numpy as np

from ..fileio import ZenFileError, atomic_write

# type code -> big-endian dtype, as the format defines them
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode IDX bytes (plain or gzipped) into an array in native byte order.

    Raises ZenFileError naming `name` when the magic number is wrong or the
    data is truncated, corrupt or followed by extra bytes.
    """
    data = gunzip(data, name) if data[:2] == GZIP_MAGIC else data
    if len(data) < 4:
        raise ZenFileError(f"{name} is truncated: {len(data)} bytes, shorter than the 4-byte "
                           f"IDX magic number")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in IDX_TYPES:
        raise ZenFileError(f"{name} is not an IDX file: magic number 0x{data[:4].hex()}, "
                           f"expected 0x0000 then a type code (0x08 for MNIST) and a rank")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ZenFileError(f"{name} is truncated: its header needs {header} bytes for {ndim} "
                           f"dimensions, found {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        problem = "is truncated" if found < expected else "has unexpected trailing bytes"
        raise ZenFileError(f"{name} {problem}: shape {shape} needs {expected} bytes of "
                           f"values, found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))    # a native, writable copy


def read_idx(path) -> np.ndarray:
    """Read an IDX file (plain or gzipped, detected from its content)."""
    with open(path, "rb") as f:
        return parse_idx(f.read(), os.fspath(path))


def gunzip(data: bytes, name: str = "data", limit: int = None) -> bytes:
    """Decompress gzip `data`; ZenFileError if it is corrupt or decompresses to
    more than `limit` bytes (a guard against decompression bombs)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:  # BytesIO shares the bytes
            out = f.read() if limit is None else f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise ZenFileError(f"{name} is not valid gzip data ({error})") from error
    if limit is not None and len(out) > limit:
        raise ZenFileError(f"{name} decompresses to more than {limit} bytes")
    return out


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of `array` (its dtype must be one of IDX_TYPES)."""
    return _header(array) + _big_endian(array).tobytes()


def idx_sha256(array: np.ndarray) -> str:
    """SHA-256 (hex) of the uncompressed IDX file holding `array`: the same
    digest as `sha256sum train-images-idx3-ubyte`, from any source of the data."""
    digest = hashlib.sha256(_header(array))
    digest.update(np.ascontiguousarray(_big_endian(array)).data)
    return digest.hexdigest()


def write_idx(path, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzipped when `path` ends in .gz."""
    data = encode_idx(array)
    with atomic_write(path) as f:
        f.write(gzip.compress(data, mtime=0) if os.fspath(path).endswith(".gz") else data)


def _header(array: np.ndarray) -> bytes:
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; it stores "
                         f"{', '.join(str(d) for d in IDX_TYPES.values())}")
    return bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)


def _big_endian(array: np.ndarray) -> np.ndarray:
    return array.astype(array.dtype.newbyteorder(">"), copy=False)

