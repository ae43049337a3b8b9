"""Which standard-library module does this line of code come from? A Conv1D
network reads one line, character by character, and names its module.

Data. Six large top-level modules of the running interpreter's `Lib` folder
(`sysconfig.get_paths()["stdlib"]`, so it is there offline), present in
every CPython from 3.10 on: MODULES below, one class each. Every line of at
least MIN_CHARS characters (leading and trailing spaces stripped) is a
sample, e.g. `parser.add_argument('--foo', help='foo help')` -> argparse.
The split is by file part: the first 80% of each module's lines train, the
last 20% test (whole stretches of code never seen in training). A line
becomes LENGTH integers: each ASCII character its code (1-127; non-ASCII
ones 127), truncated or padded with 0 on the right.

Model. Embedding(128, 32) -> Conv1D(128, 5, relu) -> MaxPool1D(2) ->
Conv1D(128, 5, relu) -> GlobalMaxPooling1D -> Dropout(0.3) -> Dense(6):
character n-gram detectors (`self.`, `turtle`, `TarInfo`, `_T_co`...)
found anywhere on the line. Adam, sparse cross-entropy on logits.

It prints the test accuracy next to the majority-class baseline (always
answering the most common training module) and the accuracy per module,
and writes the curves (the "val_" ones are the test set after each epoch;
nothing is tuned on them) to <out>/curves.png and the model to
<out>/model.zen. A default run takes about half a minute on two cores.

Run: python examples/which_module.py [--epochs 8] [--out runs/which_module]
"""
import argparse
import sysconfig
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn

MODULES = ("argparse", "difflib", "ipaddress", "tarfile", "turtle", "typing")
MIN_CHARS = 20
LENGTH = 80
TRAIN_FRACTION = 0.8


def module_lines(name) -> list:
    """The stripped lines of Lib/<name>.py with at least MIN_CHARS characters."""
    path = Path(sysconfig.get_paths()["stdlib"]) / f"{name}.py"
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if len(line) >= MIN_CHARS]


def encode(lines) -> np.ndarray:
    """Lines -> (len(lines), LENGTH) int32 character codes, 0 for padding."""
    padded = "".join(line[:LENGTH].ljust(LENGTH, "\0") for line in lines)
    codes = np.frombuffer(padded.encode("utf-32-le"), np.uint32).reshape(len(lines), LENGTH)
    return np.minimum(codes, 127).astype(np.int32)


def load_data():
    """(x_train, y_train), (x_test, y_test): each module's first
    TRAIN_FRACTION of lines train, the rest test; labels index MODULES."""
    train, test = ([], []), ([], [])
    for label, name in enumerate(MODULES):
        lines = module_lines(name)
        cut = int(TRAIN_FRACTION * len(lines))
        for (x, y), part in ((train, lines[:cut]), (test, lines[cut:])):
            x.extend(part)
            y.extend([label] * len(part))
    return [(encode(x), np.array(y, np.int32)) for x, y in (train, test)]


def build_model(dropout=0.3):
    return zen.Sequential([
        nn.Embedding(128, 32),
        nn.Conv1D(128, 5, activation="relu"),
        nn.MaxPool1D(2),
        nn.Conv1D(128, 5, activation="relu"),
        nn.GlobalMaxPooling1D(),
        nn.Dropout(dropout),
        nn.Dense(len(MODULES)),
    ], name="which_module")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on this many lines, drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/which_module"))
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args()

    zen.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data()
    if args.train_size is not None:
        keep = np.random.default_rng(args.seed).permutation(len(x_train))[:args.train_size]
        x_train, y_train = x_train[keep], y_train[keep]
    print(f"{len(x_train):,} training and {len(x_test):,} test lines from "
          f"{', '.join(MODULES)}")

    model = build_model()
    model.compile(optimizer=zen.optim.Adam(lr=1e-3),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test), verbose=args.verbose)
    seconds = time.perf_counter() - start

    majority = np.bincount(y_train, minlength=len(MODULES)).argmax()
    baseline = np.mean(y_test == majority)
    predicted = model.predict(x_test, batch_size=256).argmax(axis=1)
    accuracy = np.mean(predicted == y_test)
    print(f"test accuracy: {accuracy:.2%} (majority-class baseline {baseline:.2%}, "
          f"always {MODULES[majority]}); {model.count_params():,} parameters, "
          f"{seconds:.0f} s of training")
    for label, name in enumerate(MODULES):
        mine = y_test == label
        print(f"  {name:<10} {np.mean(predicted[mine] == label):6.1%} of {mine.sum()} lines")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zen")
    zen.plot_history(history, args.out / "curves.png")
    print(f"saved {args.out / 'model.zen'} and {args.out / 'curves.png'}")


if __name__ == "__main__":
    main()
