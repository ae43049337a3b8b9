"""The array module and the dtype policy, kept in one place.

Every array Zen creates goes through `xp` and `DEFAULT_DTYPE`, so that a
later backend (CuPy) can switch the array module here and nowhere else.
"""
import numpy as np

xp = np
DEFAULT_DTYPE = np.float32


def as_float_array(value, dtype=None):
    """Return `value` as a float ndarray.

    Floating arrays keep their dtype (float64 stays float64); Python numbers,
    lists, bool and integer arrays become DEFAULT_DTYPE. Strings and objects
    raise TypeError.
    """
    array = xp.asarray(value)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(DEFAULT_DTYPE)
    raise TypeError(
        f"expected numbers, received an array of dtype {array.dtype} "
        f"(e.g. {array.flat[0]!r})" if array.size else
        f"expected numbers, received an array of dtype {array.dtype}")
