"""The README's Python examples run as written."""
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run(tmp_path):
    code = "\n".join(re.findall(r"```python\n(.*?)```", README.read_text(), re.S))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "500.0 1000.0" in result.stdout
    assert (tmp_path / "curves.png").exists() and (tmp_path / "mnist.zen").exists()
