"""Does `model.fit` hold its memory steady? Trains the MNIST-sized MLP
(784-256-128-10, Adam, batch 128) for 5 epochs with `fit(verbose=0)` and
reports the process's resident memory: after loading the data, at the end
of every epoch (a LambdaCallback reading VmRSS), the peak (VmHWM), and the
growth from the end of epoch 1 to the end of the last epoch, which should be
about zero: the graph is released after each step.

    python bench/memory_fit.py                  # random data of MNIST's shape
    python bench/memory_fit.py --mnist          # real MNIST (zen.data.mnist)
    python bench/memory_fit.py --samples 5000 --epochs 2   # a quick look

Exits with status 1 when the growth exceeds --max-growth MiB.
"""
import argparse
import sys

import numpy as np

from machine import memory_mib


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", action="store_true",
                        help="train on real MNIST (zen.data.mnist.load_data) instead of "
                             "random data of its shape")
    parser.add_argument("--samples", type=int, default=60000,
                        help="random samples (default 60000, MNIST's training set)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-growth", type=float, default=10.0,
                        help="MiB of RSS growth from epoch 1 to the last tolerated (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    if options.samples < 1 or options.epochs < 2 or options.batch_size < 1:
        parser.error("--samples and --batch-size must be >= 1 and --epochs >= 2 "
                     "(growth is measured from epoch 1 to the last)")
    return options


def load(options):
    """(x float32 (n, 784), integer labels (n,)) and a line saying what they are."""
    if options.mnist:
        from zen.data import mnist
        (x, y), _ = mnist.load_data()
        x = x.reshape(len(x), -1).astype(np.float32)
        x /= np.float32(255)  # in place: no second 180 MiB array
        return x, y, f"MNIST, {len(x)} training images"
    rng = np.random.default_rng(options.seed)
    x = rng.random((options.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, options.samples)
    return x, y, f"random data of MNIST's shape, {options.samples} x 784 float32"


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so that the peak read
    later is that of training alone, not of loading; False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    import zen
    from zen import nn
    from zen.callbacks import LambdaCallback

    zen.set_seed(options.seed)
    start = memory_mib()["rss"]
    x, y, what = load(options)
    loaded, load_peak = memory_mib()["rss"], memory_mib()["peak"]
    print(f"data: {what} ({x.nbytes / 2**20:.1f} MiB of inputs)")
    print(f"RSS after imports {start:.1f} MiB, after loading the data {loaded:.1f} MiB "
          f"(+{loaded - start:.1f}; peak while loading {load_peak:.1f})")
    fit_only = reset_peak()

    model = zen.Sequential([nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"),
                           nn.Dense(10)])
    model.compile(zen.optim.Adam(lr=1e-3),
                  nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    epoch_rss = []

    def record(epoch, logs):
        epoch_rss.append(memory_mib()["rss"])
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f}, RSS {epoch_rss[-1]:.1f} MiB",
              flush=True)

    model.fit(x, y, epochs=options.epochs, batch_size=options.batch_size, verbose=0,
              callbacks=[LambdaCallback(on_epoch_end=record)])
    peak = memory_mib()["peak"]
    growth = epoch_rss[-1] - epoch_rss[0]
    during = "during fit" if fit_only else "of the whole run (VmHWM could not be reset)"
    print(f"peak RSS (VmHWM) {during}: {peak:.1f} MiB, {peak - loaded:+.1f} above the "
          f"loaded data")
    verdict = "OK" if growth <= options.max_growth else "TOO MUCH"
    print(f"RSS growth from epoch 1 to epoch {len(epoch_rss)}: {growth:+.1f} MiB "
          f"(limit {options.max_growth:g} MiB): {verdict}")
    if growth > options.max_growth:
        sys.exit(1)


if __name__ == "__main__":
    main()
