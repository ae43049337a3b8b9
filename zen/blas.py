"""numpy's OpenBLAS, for two things: its threads told to sleep as soon as
their work is done, and its matrix product for compiled loops.

`gemm(dtype)` hands zen.kernels numpy's own `cblas_sgemm` or `cblas_dgemm`
as a ctypes function, so that a loop with a small product in each turn (a
recurrent layer's steps, attention's heads) runs in one compiled call with
the products numpy would make: the same library, the same arguments, the
same bits.

After each multi-threaded product OpenBLAS's threads keep spinning on their
cores, by default for about 2**28 clock ticks (a tenth of a second), in
case another product follows. In a training step a product follows every
few milliseconds, so they never stop, and zen.parallel's threads, which
split the passes between the products, find no free core: splitting then
gained nothing (bench/README.md). `quiet_threads()` sets OpenBLAS's
timeout to its minimum, 2**4 ticks, the same as `OPENBLAS_THREAD_TIMEOUT=4`
before numpy is imported: each product then wakes the threads it needs,
and they sleep again after it (no slower on one Zen thread, 0.99-1.02x).

The library is the OpenBLAS that numpy loaded, found as threadpoolctl finds
it: among the mapped libraries on Linux, among numpy's bundled libraries
elsewhere. With another BLAS (MKL, Accelerate), or where the user set
`OPENBLAS_THREAD_TIMEOUT`, nothing is changed.
"""
import ctypes
import glob
import os
import threading

import numpy as np

__all__ = ["quiet_threads", "QUIET_TIMEOUT", "gemm"]

QUIET_TIMEOUT = 4
"""OpenBLAS's smallest thread timeout: threads spin 2**4 clock ticks, then sleep."""

_LOCK = threading.Lock()
_STATE = {"quiet": None, "gemm": None}

# cblas's names in numpy's bundled OpenBLAS (64-bit integers: numpy 2's
# wheels), in a plain OpenBLAS with 64-bit integers, and with 32-bit ones
_GEMM_NAMES = (("scipy_cblas_{}gemm64_", ctypes.c_int64), ("cblas_{}gemm64_", ctypes.c_int64),
               ("cblas_{}gemm", ctypes.c_int))
ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE = 101, 111, 112
"""cblas's CblasRowMajor, CblasNoTrans and CblasTrans."""


def _library_paths():
    if os.path.exists("/proc/self/maps"):
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
        return sorted(p for p in paths if ".so" in p)
    package = os.path.dirname(np.__file__)
    return sorted(glob.glob(os.path.join(os.path.dirname(package), "numpy.libs", "*openblas*"))
                  + glob.glob(os.path.join(package, ".dylibs", "*openblas*")))


def _libraries():
    """The libraries of `_library_paths` that load, as ctypes.CDLL objects."""
    for path in _library_paths():
        try:
            yield ctypes.CDLL(path)
        except OSError:
            continue


def _openblas():
    """numpy's OpenBLAS with the three calls that restart its threads, or None."""
    calls = ("openblas_read_env", "blas_thread_shutdown_", "blas_thread_init",
             "openblas_thread_timeout")
    for library in _libraries():
        if all(hasattr(library, name) for name in calls):
            return library
    return None


def quiet_threads() -> bool:
    """Make OpenBLAS's threads sleep right after each product (see the module
    docstring); done once per process. Whether OpenBLAS's threads now run
    with `QUIET_TIMEOUT`.

    Called by zen.parallel before it first splits a pass over threads; call
    it only while no other thread is inside BLAS: OpenBLAS's threads are
    stopped and started again.
    """
    with _LOCK:
        if _STATE["quiet"] is None:
            _STATE["quiet"] = _restart_with_short_timeout()
        return _STATE["quiet"]


def _restart_with_short_timeout():
    if os.environ.get("OPENBLAS_THREAD_TIMEOUT", "").strip():
        return False  # the user's choice stands
    library = _openblas()
    if library is None:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(QUIET_TIMEOUT)
    try:
        library.openblas_read_env()       # OpenBLAS reads its variables again,
        library.blas_thread_shutdown_()   # and its threads start again with the new timeout
        library.blas_thread_init()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]  # child processes get numpy's default
    return int(library.openblas_thread_timeout()) == QUIET_TIMEOUT


def gemm(dtype):
    """numpy's cblas_sgemm (float32) or cblas_dgemm (float64) as a ctypes
    function, or None: for another dtype, or where numpy's BLAS is not an
    OpenBLAS this finds.

    The function computes C = alpha op(A) op(B) + beta C:
        gemm(ROW_MAJOR, NO_TRANSPOSE or TRANSPOSE, the same for B, m, n, k,
             alpha, A address, lda, B address, ldb, beta, C address, ldc)
    on row-major matrices, op(A) (m, k), op(B) (k, n) and C (m, n), as
    numpy's matmul calls it.
    """
    kind = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}.get(np.dtype(dtype))
    if kind is None:
        return None
    with _LOCK:
        if _STATE["gemm"] is None:
            _STATE["gemm"] = _find_gemms()
        return _STATE["gemm"].get(kind)


def _find_gemms():
    """{"s": sgemm, "d": dgemm} from numpy's OpenBLAS, or {}."""
    for library in _libraries():
        for pattern, integer in _GEMM_NAMES:
            if all(hasattr(library, pattern.format(kind)) for kind in "sd"):
                return {kind: _gemm_function(getattr(library, pattern.format(kind)), integer, real)
                        for kind, real in (("s", ctypes.c_float), ("d", ctypes.c_double))}
    return {}


def _gemm_function(symbol, integer, real):
    pointer = ctypes.c_void_p
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer,
                                 integer, real, pointer, integer, pointer, integer, real, pointer,
                                 integer)
    return prototype(ctypes.cast(symbol, pointer).value)
