"""What do the recurrent layers' Keras options cost? Times one training step
(forward, loss, backward, Adam) of the bench's LSTM and GRU workloads
(64 units, 50 steps, batch 32, 8 features) with each option, alternating
the variants round by round in one process, and prints each median as a
ratio to the default layer's:

- the fused scan (`zen.autodiff.lstm_scan`/`gru_scan`): the default, input
  `dropout`, `go_backwards`, `stateful`;
- step by step: `recurrent_dropout` in training, `GRU(reset_after=False)`,
  and `RNN(LSTMCell(64))` / `RNN(GRUCell(64))`.

    python bench/recurrent_options.py                 # 7 rounds
    python bench/recurrent_options.py --rounds 11
"""
import argparse
import statistics
import time

import numpy as np

import zen
from zen import nn

UNITS, STEPS, BATCH, FEATURES = 64, 50, 32, 8

VARIANTS = {
    "LSTM(64)": lambda: nn.LSTM(UNITS),
    "LSTM dropout=0.2": lambda: nn.LSTM(UNITS, dropout=0.2),
    "LSTM go_backwards": lambda: nn.LSTM(UNITS, go_backwards=True),
    "LSTM stateful": lambda: nn.LSTM(UNITS, stateful=True),
    "LSTM recurrent_dropout=0.2": lambda: nn.LSTM(UNITS, recurrent_dropout=0.2),
    "RNN(LSTMCell(64))": lambda: nn.RNN(nn.LSTMCell(UNITS)),
    "GRU(64)": lambda: nn.GRU(UNITS),
    "GRU reset_after=False": lambda: nn.GRU(UNITS, reset_after=False),
    "RNN(GRUCell(64))": lambda: nn.RNN(nn.GRUCell(UNITS)),
}


def step_of(make_layer, x, y):
    """One training step of `make_layer()` then Dense(1), MSE and Adam."""
    zen.set_seed(0)
    model = zen.Sequential([make_layer(), nn.Dense(1)])
    model.build((BATCH, STEPS, FEATURES))
    loss, optimizer = nn.losses.MSE(), zen.optim.Adam(1e-3)
    params = model.parameters()

    def step():
        loss(y, model(x, training=True)).backward()
        optimizer.step(params)
        optimizer.zero_grad(params)
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="steps per timing (default 10)")
    options = parser.parse_args(argv)
    g = np.random.default_rng(0)
    x = g.normal(size=(BATCH, STEPS, FEATURES)).astype(np.float32)
    y = g.normal(size=(BATCH, 1)).astype(np.float32)
    steps = {name: step_of(make, x, y) for name, make in VARIANTS.items()}
    for step in steps.values():  # warm up
        step()
    times = {name: [] for name in steps}
    for _ in range(options.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(options.steps):
                step()
            times[name].append((time.perf_counter() - start) / options.steps * 1e3)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{'variant':30} {'ms/step':>8} {'ratio':>7}")
    for name, ms in medians.items():
        base = medians["GRU(64)" if name.startswith(("GRU", "RNN(GRU")) else "LSTM(64)"]
        print(f"{name:30} {ms:8.2f} {ms / base:6.2f}x")


if __name__ == "__main__":
    main()
