"""The Hashing layer and the two string hashes TensorFlow gives Keras's
Hashing: FarmHash's Fingerprint64 (`tf.strings.to_hash_bucket_fast`) and
SipHash-2-4 (`tf.strings.to_hash_bucket_strong`), in plain Python over the
UTF-8 bytes (64-bit arithmetic by masking), so bins match Keras's without
TensorFlow and never depend on Python's salted `hash`.

Each distinct input value is hashed once (hashing a string is sequential
work); the bins then map back to the whole array at once.
"""
import numpy as np

from ...validation import check_bool, check_int, check_one_of, invalid, is_int
from ..layer import Layer
from .categorical import ENCODINGS, as_array, encode

MASK = (1 << 64) - 1
K0, K1, K2 = 0xc3a5c85c97cb3127, 0xb492b66fbe98f273, 0x9ae16a3b2f90404f


# ----- FarmHash Fingerprint64 (farmhashna::Hash64) ---------------------------------------
def _fetch64(data, i):
    return int.from_bytes(data[i:i + 8], "little")


def _fetch32(data, i):
    return int.from_bytes(data[i:i + 4], "little")


def _rotate(value, shift):
    return ((value >> shift) | (value << (64 - shift))) & MASK if shift else value


def _shift_mix(value):
    return value ^ (value >> 47)


def _hash_len16(u, v, mul):
    a = ((u ^ v) * mul) & MASK
    a ^= a >> 47
    b = ((v ^ a) * mul) & MASK
    b ^= b >> 47
    return (b * mul) & MASK


def _hash_len0to16(data, n):
    if n >= 8:
        mul = K2 + n * 2
        a = (_fetch64(data, 0) + K2) & MASK
        b = _fetch64(data, n - 8)
        c = (_rotate(b, 37) * mul + a) & MASK
        d = ((_rotate(a, 25) + b) * mul) & MASK
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        return _hash_len16((n + (_fetch32(data, 0) << 3)) & MASK, _fetch32(data, n - 4), mul)
    if n > 0:
        y = data[0] + (data[n >> 1] << 8)
        z = n + (data[n - 1] << 2)
        return (_shift_mix(((y * K2) ^ (z * K0)) & MASK) * K2) & MASK
    return K2


def _hash_len17to32(data, n):
    mul = K2 + n * 2
    a = (_fetch64(data, 0) * K1) & MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, n - 8) * mul) & MASK
    d = (_fetch64(data, n - 16) * K2) & MASK
    return _hash_len16((_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK,
                       (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)


def _hash_len33to64(data, n):
    mul = K2 + n * 2
    a = (_fetch64(data, 0) * K2) & MASK
    b = _fetch64(data, 8)
    c = (_fetch64(data, n - 8) * mul) & MASK
    d = (_fetch64(data, n - 16) * K2) & MASK
    y = (_rotate((a + b) & MASK, 43) + _rotate(c, 30) + d) & MASK
    z = _hash_len16(y, (a + _rotate((b + K2) & MASK, 18) + c) & MASK, mul)
    e = (_fetch64(data, 16) * mul) & MASK
    f = _fetch64(data, 24)
    g = ((y + _fetch64(data, n - 32)) * mul) & MASK
    h = ((z + _fetch64(data, n - 24)) * mul) & MASK
    return _hash_len16((_rotate((e + f) & MASK, 43) + _rotate(g, 30) + h) & MASK,
                       (e + _rotate((f + a) & MASK, 18) + g) & MASK, mul)


def _weak_hash_len32(data, i, a, b):
    w, x, y, z = (_fetch64(data, i + k) for k in (0, 8, 16, 24))
    a = (a + w) & MASK
    b = _rotate((b + a + z) & MASK, 21)
    c = a
    a = (a + x + y) & MASK
    b = (b + _rotate(a, 44)) & MASK
    return (a + z) & MASK, (b + c) & MASK


def _hash_long(data, n):
    x, y = 81, (81 * K1 + 113) & MASK
    z = (_shift_mix((y * K2 + 113) & MASK) * K2) & MASK
    v, w = (0, 0), (0, 0)
    x = (x * K2 + _fetch64(data, 0)) & MASK
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    for s in range(0, end, 64):
        x = (_rotate((x + y + v[0] + _fetch64(data, s + 8)) & MASK, 37) * K1) & MASK
        y = (_rotate((y + v[1] + _fetch64(data, s + 48)) & MASK, 42) * K1) & MASK
        x ^= w[1]
        y = (y + v[0] + _fetch64(data, s + 40)) & MASK
        z = (_rotate((z + w[0]) & MASK, 33) * K1) & MASK
        v = _weak_hash_len32(data, s, (v[1] * K1) & MASK, (x + w[0]) & MASK)
        w = _weak_hash_len32(data, s + 32, (z + w[1]) & MASK, (y + _fetch64(data, s + 16)) & MASK)
        z, x = x, z
    mul = K1 + ((z & 0xff) << 1)
    s = last64
    w = ((w[0] + ((n - 1) & 63)) & MASK, w[1])
    v = ((v[0] + w[0]) & MASK, v[1])
    w = ((w[0] + v[0]) & MASK, w[1])
    x = (_rotate((x + y + v[0] + _fetch64(data, s + 8)) & MASK, 37) * mul) & MASK
    y = (_rotate((y + v[1] + _fetch64(data, s + 48)) & MASK, 42) * mul) & MASK
    x ^= (w[1] * 9) & MASK
    y = (y + v[0] * 9 + _fetch64(data, s + 40)) & MASK
    z = (_rotate((z + w[0]) & MASK, 33) * mul) & MASK
    v = _weak_hash_len32(data, s, (v[1] * mul) & MASK, (x + w[0]) & MASK)
    w = _weak_hash_len32(data, s + 32, (z + w[1]) & MASK, (y + _fetch64(data, s + 16)) & MASK)
    z, x = x, z
    return _hash_len16((_hash_len16(v[0], w[0], mul) + _shift_mix(y) * K0 + z) & MASK,
                       (_hash_len16(v[1], w[1], mul) + x) & MASK, mul)


def fingerprint64(data: bytes) -> int:
    """FarmHash's Fingerprint64 of `data` (TensorFlow's `Fingerprint64`).

    Args:
        data: the bytes to hash.
    """
    n = len(data)
    if n <= 16:
        return _hash_len0to16(data, n)
    if n <= 32:
        return _hash_len17to32(data, n)
    return _hash_len33to64(data, n) if n <= 64 else _hash_long(data, n)


# ----- SipHash-2-4 --------------------------------------------------------------------------
def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & MASK
    v1 = _rotate(v1, 64 - 13) ^ v0
    v0 = _rotate(v0, 64 - 32)
    v2 = (v2 + v3) & MASK
    v3 = _rotate(v3, 64 - 16) ^ v2
    v0 = (v0 + v3) & MASK
    v3 = _rotate(v3, 64 - 21) ^ v0
    v2 = (v2 + v1) & MASK
    v1 = _rotate(v1, 64 - 17) ^ v2
    v2 = _rotate(v2, 64 - 32)
    return v0, v1, v2, v3


def siphash(key, data: bytes) -> int:
    """SipHash-2-4 of `data` with the 128-bit key (k0, k1).

    Args:
        key: a pair of unsigned 64-bit integers.
        data: the bytes to hash.
    """
    k0, k1 = key
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d,
         k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]
    n = len(data)
    tail = data[n - n % 8:] + bytes(7 - n % 8) + bytes([n & 0xff])
    for block in [data[i:i + 8] for i in range(0, n - n % 8, 8)] + [tail]:
        m = int.from_bytes(block, "little")
        v[3] ^= m
        v = list(_sip_round(*_sip_round(*v)))
        v[0] ^= m
    v[2] ^= 0xff
    for _ in range(4):
        v = list(_sip_round(*v))
    return v[0] ^ v[1] ^ v[2] ^ v[3]


# ----- the layer ----------------------------------------------------------------------------
def as_strings(values: np.ndarray) -> np.ndarray:
    """The strings TensorFlow hashes: strings as they are, integers in
    decimal, floats truncated to integers first (`tf.as_string`)."""
    if values.dtype.kind in "US":
        return values.astype(str)
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    return values.astype(np.int64).astype(str)


def check_salt(salt):
    """None, or the SipHash key [k0, k1] (an integer s stands for [s, s])."""
    if salt is None:
        return None
    pair = [salt, salt] if is_int(salt) else list(salt) if isinstance(salt, (list, tuple)) \
        else None
    if pair is None or len(pair) != 2 or not all(is_int(s) and 0 <= s <= MASK for s in pair):
        raise invalid("salt", "None, an unsigned integer or a pair of them", salt)
    return [int(s) for s in pair]


class Hashing(Layer):
    """Hash values (strings or integers) into `num_bins` bins, as Keras's
    `Hashing`: bin = Fingerprint64(value) % bins (FarmHash, TensorFlow's
    `to_hash_bucket_fast`), or SipHash-2-4 keyed by `salt`
    (`to_hash_bucket_strong`). Integers hash as their decimal strings, floats
    as their integer part. Not differentiable; returns int64 arrays ("int")
    or float32 encodings.

    Args:
        num_bins: the number of bins, the mask's bin included.
        mask_value: a value mapped to bin 0 (the others to 1 ... num_bins - 1),
            or None (the default: no mask bin).
        salt: None (FarmHash), or an unsigned integer s (SipHash with key
            [s, s]) or a pair of them (the key).
        output_mode: "int" (default), "one_hot", "multi_hot" or "count"
            (as CategoryEncoding, with num_bins categories).
        sparse: must be False (Zen has no sparse outputs).
        name: the layer's name.

    Shapes: "int": any -> the same; else as CategoryEncoding.

    Example:
        Hashing(3)(np.array([["A"], ["B"], ["C"]]))        # [[1], [0], [1]]
    """

    checks_input_shape = False

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode: str = "int",
                 sparse: bool = False, name: str = None):
        super().__init__(name)
        self.num_bins = check_int(num_bins, "num_bins", 1)
        self.mask_value = mask_value
        self.salt = check_salt(salt)
        self.output_mode = check_one_of(output_mode, "output_mode", ("int",) + ENCODINGS)
        if check_bool(sparse, "sparse"):
            raise invalid("sparse", "False (Zen has no sparse tensors)", sparse)
        self.sparse = False

    def hash_bins(self, values: np.ndarray, bins: int) -> np.ndarray:
        """The bin in [0, bins) of each value (int64, the shape of `values`)."""
        distinct, inverse = np.unique(as_strings(values), return_inverse=True)
        hashed = [siphash(self.salt, s.encode()) if self.salt else fingerprint64(s.encode())
                  for s in distinct]
        return (np.array(hashed, dtype=np.uint64) % np.uint64(bins)).astype(
            np.int64)[inverse].reshape(values.shape)

    def call(self, x):
        values = as_array(x)
        if self.mask_value is None or self.num_bins == 1:
            indices = self.hash_bins(values, self.num_bins)
        else:
            indices = np.where(values == self.mask_value, 0,
                               self.hash_bins(values, self.num_bins - 1) + 1)
        return encode(indices, self.output_mode, self.num_bins)

    def get_config(self):
        return {"num_bins": self.num_bins, "mask_value": self.mask_value, "salt": self.salt,
                "output_mode": self.output_mode, "sparse": self.sparse}
