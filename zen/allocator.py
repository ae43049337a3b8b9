"""glibc's malloc tuned for training: freed memory kept for reuse.

Every training step allocates the same large temporaries (im2col matrices,
activations, gradients). By default glibc returns freed blocks to the
operating system and the next step page-faults them back in, which about
doubles the time of a convnet step. The first backward pass of a process
therefore raises malloc's trim threshold to 1 GiB and its mmap threshold to
32 MiB, so blocks of up to 32 MiB are recycled inside the process (RSS then
stays at the peak working set).

The switch: `zen.allocator.enabled = False` before the first backward pass
leaves malloc as it is.
"""
import ctypes
import sys

__all__ = ["enabled", "keep_freed_memory", "tuned"]

enabled = True  # set to False before the first backward pass to opt out
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
_done = False


def tuned() -> bool:
    """Whether `keep_freed_memory` has run in this process (applied or not)."""
    return _done


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse, once per process
    (later calls return at once). Returns whether it applied: only with
    `enabled` and on glibc (Linux)."""
    global _done
    if _done:
        return enabled and sys.platform.startswith("linux")
    _done = True
    if not enabled or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)) and \
            bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20))
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return False
