"""The share of a training step's wall time spent inside BLAS calls.

blas_time.c is compiled here with the system C compiler, preloaded
(LD_PRELOAD) into the worker processes of the numpy-based versions, and
read in them with ctypes. Every step of the way can fail on another machine
(no compiler, a numpy whose BLAS symbols are named otherwise); each failure
raises NotMeasured with the reason, and the figure is then `n/a`.

Example:
    path = build()                      # in the parent
    with preloaded(path):
        process.start()                 # a multiprocessing spawn worker
    clock = attach(path)                # in the worker
    before = clock.seconds(); step(); clock.seconds() - before
"""
import ctypes
import hashlib
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

SOURCE = Path(__file__).with_name("blas_time.c")


class NotMeasured(Exception):
    """BLAS time cannot be measured here; the message says why."""


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zen" / "bench"


def build(directory=None) -> str:
    """Compile blas_time.c into `directory` (default ~/.cache/zen/bench) once
    per version of the source; returns the library's path."""
    compiler = shutil.which("cc")
    if compiler is None:
        raise NotMeasured("no C compiler (cc) to build bench/blas_time.c")
    source = SOURCE.read_bytes()
    directory = Path(directory or _cache_dir())
    library = directory / f"blas_time-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if any(separator in str(library) for separator in " :"):
        raise NotMeasured(f"LD_PRELOAD cannot hold a path with spaces or colons: {library}")
    if library.exists():
        return str(library)
    partial = library.with_name(f"{library.name}.{os.getpid()}.tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        run = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(partial),
                              str(SOURCE), "-ldl"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NotMeasured(f"cannot build bench/blas_time.c: {error}") from None
    if run.returncode != 0:
        partial.unlink(missing_ok=True)
        last = (run.stderr.strip().splitlines() or ["no message"])[-1]
        raise NotMeasured(f"cc failed on bench/blas_time.c: {last}")
    os.replace(partial, library)  # atomic: a parallel build never sees half a file
    return str(library)


@contextmanager
def preloaded(library):
    """LD_PRELOAD `library` in the processes started inside the block: a
    multiprocessing spawn worker inherits this process's environment."""
    old = os.environ.get("LD_PRELOAD")
    os.environ["LD_PRELOAD"] = f"{library} {old}" if old else library
    try:
        yield
    finally:
        if old is None:
            del os.environ["LD_PRELOAD"]
        else:
            os.environ["LD_PRELOAD"] = old


class BlasClock:
    """The shim's counters: seconds spent in BLAS calls and their number,
    since the process started."""

    def __init__(self, library):
        self._library = ctypes.CDLL(library)
        for name in ("blas_time_ns", "blas_calls"):
            getattr(self._library, name).restype = ctypes.c_uint64

    def seconds(self) -> float:
        return self._library.blas_time_ns() / 1e9

    def calls(self) -> int:
        return self._library.blas_calls()


def attach(library) -> BlasClock:
    """The clock of the preloaded `library`, once one float32 matmul of numpy
    has been seen to count as exactly one BLAS call."""
    import numpy as np

    try:
        clock = BlasClock(library)
    except OSError as error:
        raise NotMeasured(f"cannot load {library}: {error}") from None
    a = np.ones((2, 2), np.float32)
    before = clock.calls()
    a @ a
    counted = clock.calls() - before
    if counted != 1:
        raise NotMeasured(f"one numpy float32 matmul counted {counted} BLAS calls, not 1 "
                          f"(not preloaded, or numpy {np.__version__}'s BLAS is not the "
                          f"scipy_cblas_*64_ of numpy 2.x wheels)")
    return clock
