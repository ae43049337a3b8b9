"""The array module and the dtype policy, kept in one place.

Every array Zen creates goes through `xp` and `DEFAULT_DTYPE`, so that a
later backend (CuPy) can switch the array module here and nowhere else.
"""
import ctypes
import sys

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


# ----- the allocator ------------------------------------------------------------------
KEEP_FREED_MEMORY = True  # set to False before the first backward pass to opt out
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
_allocator_tuned = False


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse (once per process).

    Every training step allocates the same large temporaries (im2col matrices,
    activations, gradients). By default glibc returns freed blocks to the
    operating system and the next step page-faults them back in, which about
    doubles the time of a convnet step. Raising malloc's trim threshold to
    1 GiB and its mmap threshold to 32 MiB recycles blocks of up to 32 MiB
    inside the process instead (RSS then stays at the peak working set).
    The first backward pass calls this unless KEEP_FREED_MEMORY is False.
    Returns whether it applied (only on glibc, i.e. Linux).
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    _allocator_tuned = True
    if not KEEP_FREED_MEMORY or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)) and \
            bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20))
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False
