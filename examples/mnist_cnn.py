"""Handwritten digits with a small convnet, on the real MNIST (>= 99% test accuracy).

Conv2D(32, 3)-MaxPool-Conv2D(64, 3)-MaxPool-Dense(128)-Dense(10), channels-last
images (N, 28, 28, 1), Adam. Prints the time per epoch and the test accuracy.

Run: python examples/mnist_cnn.py [--epochs 6] [--out runs/mnist_cnn]
"""
import argparse
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.data import mnist


def build_model():
    return zen.Sequential([
        nn.Conv2D(32, 3, activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Dense(128, activation="relu"),
        nn.Dropout(0.25),
        nn.Dense(10),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/mnist_cnn"))
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()

    zen.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train[:args.train_size, :, :, None].astype(np.float32) / 255
    y_train = y_train[:args.train_size]
    x_test = x_test[:, :, :, None].astype(np.float32) / 255

    model = build_model()
    model.compile(optimizer="adam",
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    epoch_times = []
    timer = zen.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_times.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: print(
            f"epoch {epoch + 1}: {time.perf_counter() - epoch_times[-1]:.1f} s"))
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test), callbacks=[timer],
                        verbose=args.verbose)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500)
    print(f"test accuracy: {accuracy:.2%} (loss {loss:.4f})")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zen")
    zen.plot_history(history, args.out / "curves.png")
    print(f"saved {args.out / 'model.zen'} and {args.out / 'curves.png'}")


if __name__ == "__main__":
    main()
