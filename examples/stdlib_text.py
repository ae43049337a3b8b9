"""Which standard-library package is this function from? A masked
Bidirectional LSTM reads the raw source text of one function and names its
package; the text is vectorized inside the model.

Data. Six packages of the running interpreter's `Lib` folder
(`sysconfig.get_paths()["stdlib"]`, so it is there offline), present in
every CPython from 3.10 on: PACKAGES below, one class each (their tests
left out). Every function and method defined at the top level of a module
or of a top-level class (nested ones stay inside their parent) is a
sample: its source text, decorators and docstring included, of any length
(median about 20 words). The samples are written as text files
`<out>/data/{train,test}/<package>/<module>.<line>.txt` (replaced on each
run), split by source file: per package, modules drawn at random (with
`--seed`) go wholly to the test side until it holds a fifth of the
package's functions, so no module has functions on both sides. `zen.data.text_dataset_from_directory` reads
the two trees back (`class_names` fixes the label order).

Model. Raw strings in: `Input(shape=(), dtype="string")` ->
TextVectorization (Keras's default standardization, split on whitespace,
at most MAX_TOKENS tokens adapted on the training text, the first `--length`
tokens, padded with 0 at the end) -> Embedding(MAX_TOKENS, 64,
mask_zero=True) -> Dropout(0.5) -> Bidirectional(LSTM(32)) -> Dropout(0.5)
-> Dense(6). The same model is then trained again with `mask_zero=False`:
its LSTMs also read the padding of short functions (the backward one reads
it first). Adam, sparse cross-entropy on logits.

It prints the test accuracy of both after each epoch (nothing is tuned on
the test set) next to the majority-class baseline (always answering the
most common training package), writes the masked model to
<out>/model.zen, loads it back and lets it name the package of a few code
snippets given as plain strings. A default run takes about a minute and a
half on two cores. Masking mostly speeds learning up: the masked model
leads after the first epoch, and after six the unmasked one, which has
learnt to carry its state through the padding, is within a few points.

Run: python examples/stdlib_text.py [--epochs 6] [--length 128] [--out runs/stdlib_text]
"""
import argparse
import ast
import sysconfig
import shutil
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.data import text_dataset_from_directory

PACKAGES = ("asyncio", "email", "importlib", "multiprocessing", "unittest", "xml")
TEST_FRACTION = 0.2
MAX_TOKENS = 20_000
LENGTH = 128
SNIPPETS = (
    'async def serve(host, port):\n'
    '    """Start a server and wait until the event loop is closed."""\n'
    '    server = await start_server(handle, host, port)\n'
    '    await server.serve_forever()',
    'def subject(msg):\n'
    '    """Return the Subject header of the message, decoded."""\n'
    '    return decode_header(msg["Subject"])',
    'def test_split(self):\n'
    '    """The test case fails unless split gives two parts."""\n'
    '    self.assertEqual(len(parts), 2)',
)


def package_modules(package) -> list:
    """The source files of Lib/<package>, tests left out, sorted."""
    root = Path(sysconfig.get_paths()["stdlib"]) / package
    return sorted(path for path in root.rglob("*.py")
                  if not any(part.startswith("test") for part in path.relative_to(root).parts))


def function_sources(path) -> list:
    """(first line, source) of each function defined at the top level of the
    module at `path` or of one of its top-level classes."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    bodies = [tree.body] + [node.body for node in tree.body if isinstance(node, ast.ClassDef)]
    functions = [node for body in bodies for node in body
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    starts = [min([node.lineno] + [d.lineno for d in node.decorator_list]) for node in functions]
    return [(start, "\n".join(lines[start - 1:node.end_lineno]))
            for start, node in zip(starts, functions)]


def write_folders(root: Path, seed: int, train_size=None) -> None:
    """Write each function of PACKAGES as a text file under root/train or
    root/test: per package, modules drawn at random go to the test side
    until it holds TEST_FRACTION of the package's functions. With
    `train_size`, only that many training functions (drawn at random) are
    written."""
    rng = np.random.default_rng(seed)
    shutil.rmtree(root, ignore_errors=True)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = {"train": [], "test": []}
    for package in PACKAGES:
        modules = [(path, function_sources(path)) for path in package_modules(package)]
        total = sum(len(functions) for _, functions in modules)
        tested = 0
        for index in rng.permutation(len(modules)):
            path, functions = modules[index]
            side = "test" if tested < TEST_FRACTION * total else "train"
            tested += len(functions) if side == "test" else 0
            module = ".".join(path.with_suffix("").relative_to(stdlib).parts)
            files[side] += [(root / side / package / f"{module}.{start}.txt", source)
                            for start, source in functions]
    if train_size is not None:
        keep = rng.permutation(len(files["train"]))[:train_size]
        files["train"] = [files["train"][i] for i in sorted(keep)]
    for path, source in files["train"] + files["test"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def texts_and_labels(dataset):
    """All (texts, labels) of a folder dataset, as two arrays."""
    batches = list(dataset)
    return (np.concatenate([texts for texts, _ in batches]),
            np.concatenate([labels for _, labels in batches]))


def build_model(vectorizer, mask_zero=True, dropout=0.5):
    """Raw source text in, one logit per package out.

    Args:
        vectorizer: the adapted TextVectorization (strings -> index sequences).
        mask_zero: index 0 (padding) masks its time step, so the LSTMs skip it.
        dropout: the rate of the Dropout after the embedding and after the LSTMs.
    """
    text = zen.Input(shape=(), dtype="string", name="source")
    x = nn.Embedding(MAX_TOKENS, 64, mask_zero=mask_zero)(vectorizer(text))
    x = nn.Dropout(dropout)(x)
    x = nn.Bidirectional(nn.LSTM(32))(x)
    x = nn.Dropout(dropout)(x)
    logits = nn.Dense(len(PACKAGES))(x)
    return zen.Model(text, logits, name="masked" if mask_zero else "unmasked")


def train(vectorizer, mask_zero, train_data, test_data, args):
    """Fit a fresh model (the "val_" curves are the test set after each
    epoch; nothing is tuned on them); return it, its history and seconds."""
    zen.set_seed(args.seed)
    model = build_model(vectorizer, mask_zero)
    model.compile(optimizer=zen.optim.Adam(lr=2e-3),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(train_data, epochs=args.epochs, validation_data=test_data,
                        verbose=args.verbose)
    return model, history, time.perf_counter() - start


def show_predictions(model, snippets) -> None:
    """Print the package `model` names for each code snippet (a plain str)."""
    logits = model.predict(list(snippets), verbose=0)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    for snippet, row in zip(snippets, probabilities):
        best = int(row.argmax())
        print(f"  {PACKAGES[best]:<15} {row[best]:4.0%}  <- {snippet.splitlines()[0]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=LENGTH,
                        help="tokens read from each function (padded or cut)")
    parser.add_argument("--train-size", type=int, default=None,
                        help="write and train on this many functions, drawn at random "
                             "(default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/stdlib_text"))
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    data = args.out / "data"
    write_folders(data, args.seed, args.train_size)
    train_data = text_dataset_from_directory(data / "train", class_names=list(PACKAGES),
                                             batch_size=args.batch_size, seed=args.seed)
    test_data = text_dataset_from_directory(data / "test", class_names=list(PACKAGES),
                                            batch_size=256, shuffle=False)
    x_train, y_train = texts_and_labels(train_data)
    _, y_test = texts_and_labels(test_data)
    print(f"{len(y_train):,} training and {len(y_test):,} test functions from "
          f"{', '.join(PACKAGES)} (text files under {data})")

    vectorizer = nn.TextVectorization(max_tokens=MAX_TOKENS, output_sequence_length=args.length)
    vectorizer.adapt(x_train)
    accuracy = {}
    for mask_zero in (True, False):
        model, history, seconds = train(vectorizer, mask_zero, train_data, test_data, args)
        curve = history.history["val_accuracy"]
        accuracy[model.name] = curve[-1]
        print(f"{model.name}: test accuracy {curve[-1]:.2%} (by epoch: "
              f"{' '.join(f'{a:.1%}' for a in curve)}); {model.count_params():,} "
              f"parameters, {seconds:.0f} s of training")
        if mask_zero:
            model.save(args.out / "model.zen")
    majority = np.bincount(y_train, minlength=len(PACKAGES)).argmax()
    baseline = np.mean(y_test == majority)
    print(f"test accuracy: masked {accuracy['masked']:.2%}, unmasked "
          f"{accuracy['unmasked']:.2%}, majority-class baseline {baseline:.2%} "
          f"(always {PACKAGES[majority]})")

    loaded = zen.load_model(args.out / "model.zen")
    print(f"saved the masked model to {args.out / 'model.zen'}; loaded back, it reads:")
    show_predictions(loaded, SNIPPETS)
    print(f"{time.perf_counter() - start:.0f} s in all")

if __name__ == "__main__":
    main()
