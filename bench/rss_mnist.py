"""Resident memory of a long MNIST run: trains the MLP of
examples/mnist_mlp.py on the real MNIST (zen.data.mnist.load_data) with
fit(verbose=0) and prints the process's RSS (VmRSS from /proc/self/status)
after loading the data and at the end of every epoch, then the growth from
the end of epoch 1 to the end of the last epoch. A steady RSS means fit
keeps no graph, batch or log alive from one step to the next.

    python bench/rss_mnist.py                 # 20 epochs
    python bench/rss_mnist.py --epochs 2      # a quick check that it runs

Linux only (/proc). Do not run it beside tests or other jobs.
"""
import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.callbacks import LambdaCallback
from zen.data import mnist

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist_mlp.py"


def rss_mib() -> float:
    """The current resident set size (VmRSS) in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # the line is in kB
    raise RuntimeError("VmRSS not found in /proc/self/status (Linux only)")


def example_model():
    """build_model() of examples/mnist_mlp.py, loaded from the file itself."""
    spec = importlib.util.spec_from_file_location("mnist_mlp", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_model()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")

    zen.set_seed(args.seed)
    (x_train, y_train), _ = mnist.load_data()
    x_train = x_train.reshape(-1, 784).astype(np.float32)
    x_train /= np.float32(255)  # in place, as the example's division but without a copy
    print(f"after loading data: RSS {rss_mib():8.1f} MiB", flush=True)

    model = example_model()
    model.compile(optimizer=zen.optim.Adam(lr=1e-3),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    readings, start = [], time.perf_counter()

    def report(epoch, logs):
        readings.append(rss_mib())
        print(f"epoch {epoch + 1:3d}: RSS {readings[-1]:8.1f} MiB  loss {logs['loss']:.4f}  "
              f"val_accuracy {logs['val_accuracy']:.4f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)

    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              validation_split=1 / 12, verbose=0,
              callbacks=[LambdaCallback(on_epoch_end=report)])
    print(f"growth from epoch 1 to epoch {args.epochs}: {readings[-1] - readings[0]:+.1f} MiB")


if __name__ == "__main__":
    main()
