"""plot_history and what `import zen` loads."""
import os
import subprocess
import sys

import pytest

from zen import History, plot_history
from zen_train_helpers import blobs, compiled

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_history_writes_a_png(tmp_path):
    x, y = blobs(60)
    history = compiled().fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    path = tmp_path / "curves.png"
    assert plot_history(history, path) == path
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert history.plot(tmp_path / "again.png") == tmp_path / "again.png"
    assert (tmp_path / "again.png").read_bytes()[:8] == PNG_MAGIC


def test_plot_history_returns_a_figure_with_one_panel_per_quantity():
    figure = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8],
                           "val_accuracy": [0.4, 0.7], "learning_rate": [0.1]})
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["loss", "accuracy", "learning_rate"]
    assert [len(ax.lines) for ax in visible] == [2, 2, 1]


def test_plot_history_errors():
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())
    with pytest.raises(TypeError, match="history"):
        plot_history([1.0, 2.0])


def test_import_zen_loads_neither_matplotlib_nor_tqdm_and_plots_without_pyplot(tmp_path):
    code = (
        "import sys, zen\n"
        "assert 'matplotlib' not in sys.modules and 'tqdm' not in sys.modules\n"
        "for name in ['Tensor', 'no_grad', 'set_seed', 'Trainer', 'History', 'plot_history',\n"
        "             'autodiff', 'nn', 'optim', 'data', 'callbacks', 'metrics']:\n"
        "    getattr(zen, name)\n"
        f"zen.plot_history({{'loss': [1.0, 0.5]}}, {str(tmp_path / 'p.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC
