"""The examples run as a user runs them."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_example(name, *args, timeout=120):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args],
                            capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_autodiff_basics_prints_the_blog_numbers():
    lines = run_example("autodiff_basics.py").splitlines()
    assert lines[0] == "500.0 1000.0"
    assert lines[1].startswith("w = 3.000, b = 2.000")


def test_rnn_sincos_reaches_a_small_validation_error(tmp_path):
    out = run_example("rnn_sincos.py", "--epochs", "5", "--verbose", "0", "--out", str(tmp_path))
    mse = float(out.split("validation MSE:")[1].split()[0])
    assert mse < 1e-3
    assert (tmp_path / "prediction.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
