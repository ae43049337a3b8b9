"""The array module and the dtype policy, kept in one place.

Every array Zen creates goes through `xp` and `DEFAULT_DTYPE`, so that a
later backend (CuPy) can switch the array module here and nowhere else.
"""
import numpy as np

xp = np
DEFAULT_DTYPE = np.float32


def as_float_array(value, dtype=None):
    """Return `value` as a float ndarray.

    Floating ndarrays keep their dtype (float64 stays float64); Python numbers,
    lists, bool and integer arrays become DEFAULT_DTYPE. Strings and objects
    raise TypeError.
    """
    array = xp.asarray(value)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    kind = array.dtype.kind
    if kind == "f" and isinstance(value, (xp.ndarray, xp.generic)):
        return array  # an explicit float array keeps its precision
    if kind in "fbiu":
        return array.astype(DEFAULT_DTYPE)
    raise TypeError(f"expected numbers, received an array of dtype {array.dtype}")
