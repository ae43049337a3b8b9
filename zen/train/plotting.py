"""Training curves: `plot_history` draws one panel per logged quantity.

matplotlib is imported here, inside the function, never at `import zen`.
The figure is a bare `matplotlib.figure.Figure` drawn by the Agg canvas:
pyplot is not involved, so no window opens and no global backend is
switched, whether or not a display is present.
"""
import math

from ..fileio import atomic_write
from .strategy import writes_files

__all__ = ["plot_history"]


def plot_history(history, path=None):
    """Plot loss and metric curves, training and validation, one panel per
    quantity ("loss", "accuracy", ...; "val_x" joins the panel of "x").

    Args:
        history: a History (from `fit`) or its `history` dict of lists.
        path: where to write the PNG (written atomically). None: write
            nothing and return the figure.

    Returns:
        `path` once the file is written, else the matplotlib Figure. The
        History of a fit over several processes is written by the main
        process only (see `zen.train.strategy.writes_files`).

    Example:
        history = model.fit(x, y, epochs=10, validation_split=0.2, verbose=0)
        plot_history(history, "curves.png")
    """
    curves, epochs = _curves(history)
    quantities = _quantities(curves)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(len(quantities), 3)
    rows = math.ceil(len(quantities) / columns)
    figure = Figure(figsize=(4.5 * columns, 3.4 * rows))
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, quantity in zip(axes, quantities):
        _draw(ax, curves, epochs, quantity)
    for ax in axes[len(quantities):]:
        ax.set_visible(False)
    figure.tight_layout()
    if path is None:
        return figure
    if not writes_files(getattr(history, "model", None)):
        return path
    with atomic_write(path, "wb") as f:
        figure.savefig(f, format="png", dpi=100)
    return path


def _curves(history):
    """({key: list of floats}, epoch numbers counted from 1)."""
    curves = getattr(history, "history", history)
    if not isinstance(curves, dict):
        raise TypeError(f"Received an invalid value for `history`, expected a History or "
                        f"a dict of lists. Received: {type(history).__name__}")
    curves = {key: list(values) for key, values in curves.items() if len(values)}
    if not curves:
        raise ValueError("The history is empty: there is nothing to plot (did fit run "
                         "any epoch?)")
    longest = max(len(values) for values in curves.values())
    recorded = list(getattr(history, "epoch", []))
    epochs = [e + 1 for e in recorded] if len(recorded) == longest else \
        list(range(1, longest + 1))
    return curves, epochs


def _quantities(curves):
    names = [key for key in curves if not key.startswith("val_")]
    names += [key[4:] for key in curves if key.startswith("val_") and key[4:] not in curves]
    return names


def _draw(ax, curves, epochs, quantity):
    for key, label in ((quantity, "training"), (f"val_{quantity}", "validation")):
        values = curves.get(key)
        if values:
            # a key that appeared late (e.g. from a callback) covers the last epochs
            ax.plot(epochs[-len(values):], values, marker="o" if len(values) <= 30 else None,
                    markersize=3, label=label)
    ax.set_title(quantity)
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.legend()
