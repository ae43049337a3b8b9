"""A recurrent network learns sin(x) * cos(x): from a window of 50 values,
predict the next one (the blog series' RNN task).

Trains SimpleRNN(32)-Dense(1) with Adam, its learning rate decaying on a
cosine, prints the validation MSE and plots prediction against truth.

Run: python examples/rnn_sincos.py [--epochs 30] [--out runs/rnn_sincos]
"""
import argparse
from pathlib import Path

import numpy as np

import zen
from zen import nn

WINDOW = 50


def make_windows(n_points=3000, step=0.1):
    """Sliding windows over sin(x)cos(x): x (N, 50, 1), y (N, 1) the next value."""
    series = np.sin(np.arange(n_points) * step) * np.cos(np.arange(n_points) * step)
    index = np.arange(WINDOW)[None, :] + np.arange(n_points - WINDOW)[:, None]
    x = series[index][:, :, None].astype(np.float32)
    y = series[WINDOW:][:, None].astype(np.float32)
    return x, y


def plot_prediction(truth, prediction, path):
    from matplotlib.figure import Figure

    shown = slice(0, 200)  # about six periods: enough to see the fit
    figure = Figure(figsize=(9, 3.5))
    axes = figure.add_subplot()
    axes.plot(truth[shown], label="sin(x) cos(x)", linewidth=3, alpha=0.6)
    axes.plot(prediction[shown], "--", label="RNN prediction", linewidth=1.5, color="black")
    axes.set_xlabel("validation step")
    axes.set_title("next value predicted from the previous 50")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/rnn_sincos"))
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args()

    zen.set_seed(args.seed)
    x, y = make_windows()
    split = int(0.8 * len(x))
    model = zen.Sequential([nn.SimpleRNN(32), nn.Dense(1)])
    steps = args.epochs * -(-split // 32)
    schedule = zen.optim.schedules.CosineDecay(3e-3, decay_steps=steps, alpha=0.01)
    model.compile(optimizer=zen.optim.Adam(lr=schedule), loss="mse")  # settles as lr falls
    model.fit(x[:split], y[:split], epochs=args.epochs, batch_size=32,
              validation_data=(x[split:], y[split:]), verbose=args.verbose)
    mse = model.evaluate(x[split:], y[split:])
    print(f"validation MSE: {mse:.2e}")
    args.out.mkdir(parents=True, exist_ok=True)
    plot_prediction(y[split:, 0], model.predict(x[split:])[:, 0], args.out / "prediction.png")
    print(f"saved {args.out / 'prediction.png'}")


if __name__ == "__main__":
    main()
