"""Atomic file writes: every file Zen writes goes through `atomic_write`, so a
crash at any moment leaves either the old file or the new one, never half."""
import os
import tempfile
from contextlib import contextmanager


class ZenFileError(ValueError):
    """A file Zen was asked to read is corrupt, truncated, foreign or from a
    newer format version."""


@contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file next to `path` for writing; on success it is
    flushed, synced and renamed over `path`; on any error it is removed.

    Example:
        with atomic_write("model.zen") as f:
            f.write(data)
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
