"""bench/blas_time: the preloaded C shim that times numpy's BLAS calls for
the benchmark's "BLAS %" column. It must build, load, count one call per
matmul and forward every call's arguments and result unchanged."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
_spec = importlib.util.spec_from_file_location("blas_time", BENCH / "blas_time.py")
blas_time = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blas_time)

needs_cc = pytest.mark.skipif(shutil.which("cc") is None,
                              reason="no C compiler (cc): bench/blas_time.c cannot be built")
needs_scipy_openblas = pytest.mark.skipif(
    np.__config__.CONFIG["Build Dependencies"]["blas"]["name"] != "scipy-openblas",
    reason="the shim wraps the scipy_cblas_*64_ symbols of numpy 2.x wheels; this numpy "
           "links another BLAS")

# In a process started with the shim preloaded: for each operation, the
# BLAS calls it made and whether its result matches a BLAS-free reference.
COUNTING = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from blas_time import attach
clock = attach(sys.argv[2])
rng = np.random.default_rng(0)
a32, v32 = rng.random((40, 30), np.float32), rng.random(30, np.float32)
a64, v64 = a32.astype(np.float64), v32.astype(np.float64)
sum_product = lambda spec, *arrays: np.einsum(spec, *arrays)  # einsum: no BLAS
cases = {
    "float32 matmul": (lambda: a32 @ a32.T, lambda: sum_product("ik,jk->ij", a32, a32)),
    "float64 matmul": (lambda: a64.T @ a64, lambda: sum_product("ki,kj->ij", a64, a64)),
    "float32 matrix @ vector": (lambda: a32 @ v32, lambda: sum_product("ik,k->i", a32, v32)),
    "float64 matrix @ vector": (lambda: a64 @ v64, lambda: sum_product("ik,k->i", a64, v64)),
    "float32 dot": (lambda: v32 @ v32, lambda: sum_product("k,k->", v32, v32)),
    "float64 dot": (lambda: v64 @ v64, lambda: sum_product("k,k->", v64, v64)),
}
report = {}
for name, (blas, reference) in cases.items():
    before, seconds = clock.calls(), clock.seconds()
    result = blas()
    report[name] = {"calls": clock.calls() - before, "seconds": clock.seconds() - seconds,
                    "matches": bool(np.allclose(result, reference(), rtol=1e-5))}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return blas_time.build(tmp_path_factory.mktemp("blas_time"))


@needs_cc
def test_build_compiles_once_per_source(library):
    assert Path(library).is_file()
    mtime = os.stat(library).st_mtime_ns
    assert blas_time.build(Path(library).parent) == library
    assert os.stat(library).st_mtime_ns == mtime


def test_build_without_a_compiler_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(blas_time.shutil, "which", lambda name: None)
    with pytest.raises(blas_time.NotMeasured, match="no C compiler"):
        blas_time.build(tmp_path)


@needs_cc
@needs_scipy_openblas
def test_each_matmul_is_one_timed_blas_call_with_the_right_result(library):
    with blas_time.preloaded(library):
        run = subprocess.run([sys.executable, "-c", COUNTING, str(BENCH), library],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    for name, figures in report.items():
        assert figures["calls"] == 1 and figures["matches"], (name, figures)
        assert figures["seconds"] > 0, (name, figures)


@needs_cc
def test_without_preloading_numpy_calls_are_not_seen(library):
    with pytest.raises(blas_time.NotMeasured, match="counted 0 BLAS calls"):
        blas_time.attach(library)


def test_preloaded_restores_the_environment(monkeypatch):
    monkeypatch.setenv("LD_PRELOAD", "/other.so")
    with blas_time.preloaded("/shim.so"):
        assert os.environ["LD_PRELOAD"] == "/shim.so /other.so"
    assert os.environ["LD_PRELOAD"] == "/other.so"
    monkeypatch.delenv("LD_PRELOAD")
    with blas_time.preloaded("/shim.so"):
        assert os.environ["LD_PRELOAD"] == "/shim.so"
    assert "LD_PRELOAD" not in os.environ
