"""Atomic files: every file Zen writes goes through `zen.fileio.atomic_write`,
so a write that fails midway (disk full, Ctrl-C) leaves the previous version
readable and no temporary file behind."""
import ast
import os
from pathlib import Path

import numpy as np
import pytest

import zen
import zen.fileio
from zen.callbacks import CSVLogger, ModelCheckpoint
from zen.data import idx, mnist
from zen import fileio
from zen import Sequential, load_model
from zen.nn import Dense
from zen.train.backup import read_backup, write_backup

ZEN_DIR = Path(zen.__file__).parent


class FailingFile:
    """A file that accepts `budget` bytes (or characters), writes part of the
    next chunk, then fails as a full disk (or a Ctrl-C) would."""

    def __init__(self, file, budget, error):
        self._file, self._left, self._error = file, budget, error

    def write(self, data):
        if len(data) >= self._left:
            self._file.write(data[:self._left])
            self._file.flush()
            self._left = 0
            raise self._error
        self._left -= len(data)
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


class FailingOS:
    """`os` for zen.fileio, whose fdopen hands out FailingFiles."""

    def __init__(self, budget, error):
        self.budget, self.error = budget, error

    def fdopen(self, fd, mode):
        return FailingFile(os.fdopen(fd, mode), self.budget, self.error)

    def __getattr__(self, name):
        return getattr(os, name)


def model(value):
    zen.set_seed(0)
    net = Sequential([Dense(3)])
    net.build((None, 2))
    net.compile("adam", "mse")
    net.set_weights([np.full(w.shape, value, np.float32) for w in net.get_weights()])
    return net


def checkpoint(path, value):
    callback = ModelCheckpoint(path)
    callback.set_trainer(model(value)._trainer)
    callback.on_train_begin()
    callback.on_epoch_end(0, {})


def backup(path, value):
    trainer = model(value)._trainer
    trainer.history = zen.History()
    write_backup(path, trainer, epoch=value)


def csv_log(path, value):
    logger = CSVLogger(path)
    logger.on_train_begin()
    for epoch in range(value):
        logger.on_epoch_end(epoch, {"loss": 1.5 * epoch})


# name: (write(path, version), read(path) -> a comparable value)
WRITERS = {
    "save_model": (lambda p, v: model(v).save(p), lambda p: load_model(p).get_weights()[0][0, 0]),
    "save_weights": (lambda p, v: model(v).save_weights(p),
                     lambda p: fileio.read_file(p, ("zen.weights",))[1]["weight_0"][0, 0]),
    "ModelCheckpoint": (checkpoint, lambda p: load_model(p).get_weights()[0][0, 0]),
    "BackupAndRestore": (backup, lambda p: read_backup(p)["epoch"]),
    "CSVLogger": (csv_log, lambda p: Path(p).read_text()),
    "plot_history": (lambda p, v: zen.plot_history({"loss": [1.0, v]}, p),
                     lambda p: Path(p).read_bytes()),
    "write_idx": (lambda p, v: idx.write_idx(p, np.full((v, 3), v, np.uint8)),
                  lambda p: idx.read_idx(p).tolist()),
}


@pytest.mark.parametrize("name", WRITERS)
@pytest.mark.parametrize("where, error", [
    (0.0, OSError(28, "No space left on device")),
    (0.01, OSError(28, "No space left on device")),
    (0.5, OSError(28, "No space left on device")),
    (0.99, OSError(28, "No space left on device")),
    (0.5, KeyboardInterrupt()),
])
def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch, name, where, error):
    write, read = WRITERS[name]
    path = tmp_path / "dir" / "file.out"
    write(path, 1)
    before = read(path)
    write(tmp_path / "size.out", 2)
    size = (tmp_path / "size.out").stat().st_size
    monkeypatch.setattr(zen.fileio, "os", FailingOS(int(size * where), error))
    with pytest.raises(type(error)):
        write(path, 2)
    monkeypatch.undo()
    assert read(path) == before
    assert os.listdir(path.parent) == ["file.out"]
    write(path, 2)                               # and the next write works
    assert read(path) != before


def test_a_failed_mnist_cache_write_leaves_no_cache(tmp_path, monkeypatch):
    r = np.random.default_rng(0)
    arrays = (r.integers(0, 256, (6, 28, 28), dtype=np.uint8), np.arange(6, dtype=np.uint8),
              r.integers(0, 256, (4, 28, 28), dtype=np.uint8), np.arange(4, dtype=np.uint8))
    monkeypatch.setenv("ZEN_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(mnist, "_read_first_source", lambda *args: (arrays, "a test"))
    with monkeypatch.context() as patch:
        patch.setattr(zen.fileio, "os", FailingOS(3000, OSError(28, "No space left")))
        with pytest.raises(OSError):
            mnist.load_data()
    assert os.listdir(tmp_path) == []
    (x_train, _), _ = mnist.load_data()
    assert os.listdir(tmp_path) == [mnist.CACHE_NAME] and np.array_equal(x_train, arrays[0])


WRITERS_BY_NAME = {"save", "savez", "savez_compressed", "savetxt", "savefig", "tofile",
                   "write_text", "write_bytes", "shutil.copy", "shutil.copyfile",
                   "shutil.copy2", "shutil.move", "json.dump", "pickle.dump"}


def _name(func):
    """'name' of f(), 'attr' of x.attr(), 'module.attr' of module.attr() too."""
    if isinstance(func, ast.Attribute):
        owner = getattr(func.value, "id", None)
        return f"{owner}.{func.attr}" if owner in ("shutil", "json", "pickle") else func.attr
    return getattr(func, "id", "")


def _writes(call):
    """Whether an ast.Call writes a file: a writer above, or open() in a write mode.
    `model.save(...)` is Zen's own saving (checked where it writes), not numpy's."""
    name = _name(call.func)
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Attribute) \
            and call.func.value.attr == "model":
        return False
    if name == "open":
        modes = [a.value for a in call.args[1:2] + [k.value for k in call.keywords
                                                     if k.arg == "mode"]
                 if isinstance(a, ast.Constant)]
        return any(isinstance(m, str) and set(m) & set("wax+") for m in modes)
    return name in WRITERS_BY_NAME


def write_calls(text):
    """[(line, guarded)] for each call in `text` that writes a file."""
    tree = ast.parse(text)
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call)
                and _name(item.context_expr.func) == "atomic_write" for item in node.items):
            guarded.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return [(node.lineno, id(node) in guarded) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _writes(node)]


def test_every_write_in_zen_goes_through_atomic_write():
    """Review by syntax tree: every call in zen/ that writes a file (open in
    a write mode, np.save*, savefig, tofile, ...) sits inside a
    `with atomic_write(...)` block."""
    found = [(source.name, line, guarded) for source in sorted(ZEN_DIR.rglob("*.py"))
             for line, guarded in write_calls(source.read_text())]
    assert {name for name, _, _ in found} >= {"fileio.py", "mnist.py", "plotting.py"}
    assert [entry for entry in found if not entry[2]] == []
    # and the review does see an unguarded write:
    assert write_calls("with open(p, 'wb') as f:\n    np.save(f, a)\n"
                       "with atomic_write(p) as f:\n    np.savez(f, a=a)\n"
                       "open(q).read()\n") == [(1, False), (2, False), (4, True)]
