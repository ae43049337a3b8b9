"""Two inputs, two outputs, one shared encoder: the sum of two MNIST digits.

Each sample is a pair of real MNIST images. One encoder (the same layers,
so the same weights, called on both images) turns each image into 64
features; the model then predicts two things:
- "digit": the class of the first image (10 classes),
- "sum": the sum of the two digits (19 classes, 0 to 18), from both images'
  features concatenated.
The losses are weighted (sum 1.0, digit 0.5), and History holds the total
"loss" and each output's "<output>_loss" and "<output>_accuracy".

Run: python examples/two_headed.py [--epochs 8] [--out runs/two_headed]
"""
import argparse
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.data import mnist


def build_model():
    first = zen.Input((784,), name="first")
    second = zen.Input((784,), name="second")
    encoder = zen.Sequential([nn.Dense(256, activation="relu"), nn.Dropout(0.2),
                              nn.Dense(64, activation="relu")], name="encoder")
    a, b = encoder(first), encoder(second)               # one encoder, called twice
    digit = nn.Dense(10, name="digit")(a)
    both = nn.Concatenate()([a, b])
    total = nn.Dense(19, name="sum")(nn.Dense(128, activation="relu")(both))
    return zen.Model([first, second], {"digit": digit, "sum": total}, name="two_headed")


def pairs(images, labels, seed):
    """Each image with another one drawn at random: (x1, x2, digit, sum)."""
    partner = np.random.default_rng(seed).permutation(len(images))
    x = images.reshape(len(images), -1).astype(np.float32) / 255
    return x, x[partner], labels, labels + labels[partner]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/two_headed"))
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args()

    zen.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x1, x2, digit, total = pairs(x_train, y_train, seed=1)
    t1, t2, test_digit, test_total = pairs(x_test, y_test, seed=2)

    model = build_model()
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=zen.optim.Adam(lr=1e-3), loss={"digit": loss, "sum": loss},
                  loss_weights={"digit": 0.5, "sum": 1.0}, metrics=["accuracy"])
    model.summary()
    start = time.perf_counter()
    history = model.fit({"first": x1, "second": x2}, {"digit": digit, "sum": total},
                        epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=0.1, verbose=args.verbose)
    seconds = time.perf_counter() - start
    print("History keys:", ", ".join(history.history))

    result = model.evaluate([t1, t2], [test_digit, test_total], batch_size=1000,
                            return_dict=True)
    print(f"test: digit accuracy {result['digit_accuracy']:.2%}, sum accuracy "
          f"{result['sum_accuracy']:.2%} (a sum needs both digits read right); "
          f"{seconds / args.epochs:.1f} s per epoch")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zen")
    zen.plot_history(history, args.out / "curves.png")
    print(f"saved {args.out / 'model.zen'} and {args.out / 'curves.png'}")


if __name__ == "__main__":
    main()
