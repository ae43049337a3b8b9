"""A small Transformer learns to write Python, one character at a time, from
the Python standard library's own source files.

Data. The text is read from the running interpreter's `Lib` folder
(`sysconfig.get_paths()["stdlib"]`), so every machine has it offline: the
top-level modules Lib/<name>.py named in TRAIN_MODULES (about 2.5 million
characters) and VALIDATION_MODULES (about 100,000) below: fixed lists of
files that every CPython from 3.10 on has (their contents change a little
between versions, so compare figures made on one version). The split is by file: the models
are scored on modules they never saw. Each character is one token of a fixed
vocabulary: newline and the 95 printable ASCII characters, plus <unk>
(index 0) for anything else (tabs, non-ASCII). A training example is a
window of CONTEXT + 1 characters at a random offset in the training text:
the model reads the first CONTEXT and predicts the next character at every
position. Each epoch draws fresh windows; the validation text is cut into
consecutive windows.

Models. A decoder-only Transformer: token Embedding + PositionEmbedding, two
pre-norm blocks (LayerNorm -> causal MultiHeadAttention -> residual add;
LayerNorm -> Dense(4 d, gelu) -> Dense(d) -> residual add), a final LayerNorm
and a Dense to the vocabulary's logits. The baseline: Embedding -> LSTM
(return_sequences) -> Dense, with the number of LSTM units chosen to give
about the same parameter count. d_model is 128 with 4 heads (32 with 2 heads
and one block with --quick). Both train with Adam (gradients clipped to norm
1) on batches of 32 windows, epochs of 8192 windows, for the same wall-clock
time (--minutes each, evaluation not counted), or for the same number of
epochs with --epochs (then a run repeats exactly under zen.set_seed). Their
learning rate warms up to 3e-3 over the first 2% of the training and then
follows a cosine down to 3e-4 at its end, measured in training time (in
steps with --epochs).

It prints the validation loss in bits per character (cross-entropy in nats
/ ln 2) of a unigram model (the training text's character frequencies), of
the Transformer and of the LSTM, and a sample the Transformer writes after
"def " (temperature 0.8); it writes both models' validation curves to
<out>/curves.png and the Transformer to <out>/transformer.zen. The default
run takes about 14 minutes on two cores; --quick trains tiny models briefly.

Run: python examples/char_transformer.py [--minutes 6] [--quick] [--out runs/char_transformer]
"""
import argparse
import math
import sysconfig
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn

TRAIN_MODULES = (
    "argparse", "ast", "base64", "bisect", "calendar", "cmd", "code", "codecs",
    "colorsys", "configparser", "contextlib", "copy", "dataclasses", "difflib",
    "dis", "enum", "filecmp", "fnmatch", "fractions", "ftplib", "functools",
    "getopt", "gettext", "glob", "gzip", "hashlib", "heapq", "hmac", "imaplib",
    "inspect", "ipaddress", "keyword", "linecache", "locale", "mailbox",
    "mimetypes", "numbers", "operator", "optparse", "pdb", "pickle", "platform",
    "plistlib", "pprint", "pstats", "queue", "random", "reprlib", "sched",
    "secrets", "selectors", "shlex", "shutil", "smtplib", "socket",
    "socketserver", "stat", "statistics", "subprocess", "tarfile", "tempfile",
    "textwrap", "threading", "timeit", "tokenize", "trace", "traceback", "types",
    "typing", "uuid", "warnings", "weakref",
)
VALIDATION_MODULES = ("bdb", "csv", "netrc", "poplib", "quopri", "wave")

CONTEXT = 64
VOCAB = "\n" + "".join(map(chr, range(32, 127)))  # token i + 1 is VOCAB[i]; 0 is <unk>
CLASSES = len(VOCAB) + 1
LN2 = math.log(2)


# ----- data --------------------------------------------------------------------------
def read_modules(names) -> str:
    """The source of Lib/<name>.py for each name, joined by blank lines."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    return "\n\n".join((lib / f"{name}.py").read_text(encoding="utf-8") for name in names)


def encode(text: str) -> np.ndarray:
    """Characters -> int32 tokens: 1 + the position in VOCAB, 0 (<unk>) if absent."""
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    table = np.zeros(128, np.int32)
    table[[ord(c) for c in VOCAB]] = np.arange(1, CLASSES)
    return table[np.minimum(codes, 127)]  # 127 (DEL) is not in VOCAB: non-ASCII -> 0


def decode(tokens) -> str:
    return "".join(VOCAB[t - 1] if t else "\N{REPLACEMENT CHARACTER}" for t in tokens)


def random_windows(tokens, count, rng):
    """`count` windows at random offsets: inputs (count, CONTEXT) and their
    next characters (count, CONTEXT), with one fancy index each."""
    starts = rng.integers(0, len(tokens) - CONTEXT, size=count)
    index = starts[:, None] + np.arange(CONTEXT)
    return tokens[index], tokens[index + 1]


def consecutive_windows(tokens, limit=None):
    """The text cut into consecutive windows (the first `limit` of them)."""
    count = (len(tokens) - 1) // CONTEXT
    count = count if limit is None else min(count, limit)
    index = np.arange(count)[:, None] * CONTEXT + np.arange(CONTEXT)
    return tokens[index], tokens[index + 1]


def unigram_bpc(train_tokens, targets) -> float:
    """Bits per character of the training text's character frequencies (plus
    one for every class, so that no character has probability 0)."""
    counts = np.bincount(train_tokens, minlength=CLASSES) + 1.0
    return float(-np.mean(np.log2(counts / counts.sum())[targets]))


# ----- models ------------------------------------------------------------------------
def build_transformer(d_model, layers, heads):
    """Decoder-only, pre-norm: every position sees itself and the ones before."""
    tokens = zen.Input((CONTEXT,), name="tokens", dtype="int32")
    x = nn.Embedding(CLASSES, d_model)(tokens)
    x = nn.Add()([x, nn.PositionEmbedding(CONTEXT)(x)])
    for _ in range(layers):
        h = nn.LayerNorm()(x)
        x = nn.Add()([x, nn.MultiHeadAttention(heads, d_model // heads)(
            h, h, use_causal_mask=True)])
        h = nn.Dense(4 * d_model, activation="gelu")(nn.LayerNorm()(x))
        x = nn.Add()([x, nn.Dense(d_model)(h)])
    logits = nn.Dense(CLASSES, name="next_char")(nn.LayerNorm()(x))
    return zen.Model(tokens, logits, name="char_transformer")


def build_lstm(embed_dim, target_params):
    """Embedding -> LSTM -> Dense with the units that come closest to
    `target_params` parameters."""
    # parameters: CLASSES*e + 4*(u*(e + u) + u) + u*CLASSES + CLASSES; solve for u
    b, c = 4 * embed_dim + 4 + CLASSES, CLASSES * (embed_dim + 1) - target_params
    units = max(1, round((-b + math.sqrt(b * b - 16 * c)) / 8))
    return zen.Sequential([nn.Embedding(CLASSES, embed_dim),
                           nn.LSTM(units, return_sequences=True),
                           nn.Dense(CLASSES)], name="char_lstm")


PEAK_LR, FINAL_LR, WARMUP = 3e-3, 3e-4, 0.02


class TrainingClock:
    """Seconds of training so far: the time inside `fit`, evaluation not counted."""

    def __init__(self):
        self.before, self.started = 0.0, None

    def start(self):
        self.started = time.perf_counter()

    def stop(self):
        self.before, self.started = self.seconds(), None

    def seconds(self) -> float:
        running = 0.0 if self.started is None else time.perf_counter() - self.started
        return self.before + running


class WarmupCosine:
    """The learning rate as a function of the share of training done (0 to 1,
    from `done(step)`): linear from 0 to PEAK_LR over the first WARMUP, then a
    cosine from PEAK_LR down to FINAL_LR at the end."""

    def __init__(self, done):
        self.done = done

    def __call__(self, step) -> float:
        done = min(1.0, self.done(step))
        if done < WARMUP:
            return PEAK_LR * done / WARMUP
        cosine = 0.5 * (1 + math.cos(math.pi * (done - WARMUP) / (1 - WARMUP)))
        return FINAL_LR + (PEAK_LR - FINAL_LR) * cosine


def learning_rate(settings, clock) -> WarmupCosine:
    """The schedule over the time budget, or over the steps with --epochs."""
    if settings.epochs:
        steps = settings.epochs * math.ceil(settings.windows_per_epoch / settings.batch_size)
        return WarmupCosine(lambda step: step / steps)
    return WarmupCosine(lambda step: clock.seconds() / settings.budget)


def compile_model(model, lr):
    model.compile(optimizer=zen.optim.Adam(lr=lr, clipnorm=1.0),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.build((None, CONTEXT))
    return model


# ----- training ----------------------------------------------------------------------
class StopAt(zen.callbacks.Callback):
    """Stops training after the batch that ends past `deadline` (perf_counter)."""

    def __init__(self, deadline):
        self.deadline = deadline

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() >= self.deadline:
            self.model.stop_training = True


def bits_per_char(model, validation) -> float:
    return model.evaluate(*validation, batch_size=256) / LN2


def train(model, train_tokens, validation, settings, clock, rng, label):
    """Epochs of fresh windows until `settings.budget` seconds of training
    (or `settings.epochs` epochs) are spent on `clock`. Returns the curve: a
    list of (minutes trained, validation bpc), one point per epoch."""
    curve, epoch = [], 0
    while (epoch < settings.epochs) if settings.epochs else (clock.seconds() < settings.budget):
        x, y = random_windows(train_tokens, settings.windows_per_epoch, rng)
        clock.start()
        stop = [] if settings.epochs else [
            StopAt(time.perf_counter() + settings.budget - clock.seconds())]
        model.fit(x, y, batch_size=settings.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                  callbacks=stop, verbose=0)
        clock.stop()
        epoch += 1
        curve.append((clock.seconds() / 60, bits_per_char(model, validation)))
        if settings.verbose:
            print(f"  {label} epoch {epoch}: {clock.seconds():.1f} s trained, validation "
                  f"{curve[-1][1]:.3f} bpc", flush=True)
    return curve


def generate(model, prompt, length, temperature, rng) -> str:
    """Sample `length` characters after `prompt`, one at a time. The model
    takes CONTEXT tokens; being causal, its output at position t ignores
    what comes after t, so a shorter context is padded on the right."""
    tokens = list(encode(prompt))
    window = np.zeros((1, CONTEXT), np.int32)
    for _ in range(length):
        context = tokens[-CONTEXT:]
        window[0, :len(context)] = context
        logits = model.predict(window)[0, len(context) - 1].astype(np.float64)
        logits[0] = -np.inf  # never write <unk>
        p = np.exp((logits - logits.max()) / temperature)
        tokens.append(int(rng.choice(CLASSES, p=p / p.sum())))
    return decode(tokens)


def plot_curves(curves: dict, unigram: float, path):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4))
    axes = figure.add_subplot()
    for label, curve in curves.items():
        minutes, bpc = zip(*curve)
        axes.plot(minutes, bpc, "o-", label=label, markersize=4)
    axes.axhline(unigram, linestyle="--", color="gray", label="unigram")
    axes.set_xlabel("minutes of training")
    axes.set_ylabel("validation bits per character")
    axes.set_title("character-level language models on the stdlib's source")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


# ----- the run -----------------------------------------------------------------------
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None,
                        help="training time of each model (default 6, 0.1 with --quick)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train each model this many epochs instead of for --minutes")
    parser.add_argument("--quick", action="store_true",
                        help="tiny models, small epochs and validation set: a smoke test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/char_transformer"))
    parser.add_argument("--verbose", type=int, default=1, help="0: only the results; "
                        "1: a line per epoch")
    args = parser.parse_args()
    if args.minutes is None:
        args.minutes = 0.1 if args.quick else 6.0
    if args.minutes <= 0 or (args.epochs is not None and args.epochs < 1):
        parser.error("--minutes and --epochs must be positive")
    args.budget = 60 * args.minutes
    args.d_model, args.layers, args.heads = (32, 1, 2) if args.quick else (128, 2, 4)
    args.windows_per_epoch = 512 if args.quick else 8192
    args.validation_windows = 128 if args.quick else None
    args.batch_size = 32
    return args


def main():
    args = parse_args()
    zen.set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_tokens = encode(read_modules(TRAIN_MODULES))
    validation = consecutive_windows(encode(read_modules(VALIDATION_MODULES)),
                                     args.validation_windows)
    unigram = unigram_bpc(train_tokens, validation[1])
    print(f"{len(train_tokens):,} training and {validation[1].size:,} validation "
          f"characters, {CLASSES} classes")

    clocks = {"Transformer": TrainingClock(), "LSTM": TrainingClock()}
    transformer = compile_model(build_transformer(args.d_model, args.layers, args.heads),
                                learning_rate(args, clocks["Transformer"]))
    lstm = compile_model(build_lstm(args.d_model, transformer.count_params()),
                         learning_rate(args, clocks["LSTM"]))
    plan = f"{args.epochs} epochs" if args.epochs else f"{args.minutes:g} minutes"
    curves, results = {}, []
    for label, model in (("Transformer", transformer), ("LSTM", lstm)):
        print(f"training the {label} ({model.count_params():,} parameters) for {plan}",
              flush=True)
        curves[label] = train(model, train_tokens, validation, args, clocks[label], rng, label)
        results.append((label, model.count_params(), 60 * curves[label][-1][0],
                        curves[label][-1][1]))

    print("validation bits per character:")
    print(f"  unigram      {unigram:.3f}")
    for label, params, seconds, bpc in results:
        print(f"  {label:<12} {bpc:.3f} ({params:,} parameters, {seconds:.0f} s of training)")
    sample = generate(transformer, "def ", 300, 0.8, rng)
    print("Transformer sample (temperature 0.8):\n" + sample)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_curves(curves, unigram, args.out / "curves.png")
    transformer.optimizer.lr = FINAL_LR  # where the schedule ended: a rate a file can hold
    transformer.save(args.out / "transformer.zen")
    print(f"saved {args.out / 'curves.png'} and {args.out / 'transformer.zen'}")


if __name__ == "__main__":
    main()
