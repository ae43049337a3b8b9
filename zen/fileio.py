"""Zen's files: atomic writes and the container every model, weights and
backup file uses.

Every file Zen writes goes through `atomic_write`, so a crash at any moment
leaves either the old file or the new one, never half.

The container is an uncompressed npz archive (`np.savez`) holding:
- `zen_config`: a JSON document stored as uint8 bytes, with the format name
  (e.g. "zen.model", "zen.weights") and version, the input shape the model
  was built for, the list of weights (name, shape, dtype) and whatever the
  format adds (a model's config, its compile settings, a backup's state);
- `weight_<i>`: the weights, in `named_tensors` order;
- any other arrays the format adds (e.g. `optimizer/<key>`).
Reading never unpickles (`allow_pickle=False`). A missing file raises
FileNotFoundError; anything else wrong with a file (not a zip, truncated,
a foreign npz, a newer format version) raises `ZenFileError`, a ValueError
saying what is wrong.
"""
import json
import os
import struct
import tempfile
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np

from .validation import is_int
from .version import __version__

FORMAT_VERSION = 1
# What building layers or an optimizer from a hostile config can raise
REBUILD_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError,
                  OverflowError, RecursionError, MemoryError)
_CONFIG_KEY = "zen_config"


class ZenFileError(ValueError):
    """A file Zen was asked to read is corrupt, truncated, foreign or from a
    newer format version."""


@contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file next to `path` for writing; on success it is
    flushed, synced and renamed over `path`; on any error it is removed.

    Example:
        with atomic_write("model.zen") as f:
            f.write(data)
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----- the container --------------------------------------------------------------------
def base_config(model, format_name):
    """The JSON header every Zen file starts with: format, version, weights."""
    shape = getattr(model, "input_shape", None)
    return {"format": format_name, "version": FORMAT_VERSION, "zen_version": __version__,
            "input_shape": None if shape is None else
            dict(shape) if isinstance(shape, dict) else list(shape),
            "weights": [{"name": name, "shape": list(t.shape), "dtype": str(t.dtype)}
                        for name, t in model.named_tensors()]}


def weight_arrays(model):
    """{"weight_<i>": array} in `named_tensors` order."""
    return {f"weight_{i}": t.value for i, (_, t) in enumerate(model.named_tensors())}


_OPTIMIZER_PREFIX = "optimizer/"  # the arrays of an optimizer's state_dict in a file


def optimizer_arrays(optimizer, model) -> dict:
    """The arrays that store `optimizer`'s state for `model`'s parameters."""
    state = optimizer.state_dict(model.parameters())
    return {_OPTIMIZER_PREFIX + key: np.asarray(value) for key, value in state.items()}


def optimizer_state(arrays) -> dict:
    """The optimizer state_dict stored among a file's `arrays` ({} if none)."""
    return {key[len(_OPTIMIZER_PREFIX):]: value for key, value in arrays.items()
            if key.startswith(_OPTIMIZER_PREFIX)}


def write_file(path, config, arrays):
    try:
        text = json.dumps(config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Cannot save: the model config is not JSON-serialisable "
                         f"({error})") from None
    payload = dict(arrays)
    payload[_CONFIG_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path, "wb") as f:
        np.savez(f, **payload)


def read_file(path, formats):
    """(config dict, {name: array}) of a Zen file, or a clear error."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    arrays = _read_npz(path)
    raw = arrays.pop(_CONFIG_KEY, None)
    if raw is None:
        raise ZenFileError(f"{path!r} is an npz archive but not a Zen file: it has no "
                           f"{_CONFIG_KEY!r} entry (entries: {sorted(arrays)[:10]})")
    try:
        config = json.loads(raw.astype(np.uint8, copy=False).tobytes().decode("utf-8"))
    except (ValueError, TypeError, RecursionError) as error:  # JSONDecodeError, Unicode...
        raise ZenFileError(f"{path!r}: the Zen config is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ZenFileError(f"{path!r}: the Zen config is not a JSON object")
    _check_format(config, formats, path)
    return config, arrays


def _read_npz(path):
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"PK":
                raise ZenFileError(f"{path!r} is not a Zen file: it is not an npz (zip) "
                                   f"archive")
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
    except ZenFileError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, zlib.error, struct.error,
            RuntimeError, MemoryError, OverflowError) as error:
        # RuntimeError covers zipfile's errors for an unknown compression method or
        # zip version and for an "encrypted" entry (a flipped flag bit)
        raise ZenFileError(f"{path!r} could not be read as a Zen file, it is corrupt or "
                           f"truncated: {type(error).__name__}: {error}") from None
    except OSError as error:  # a directory, a device, an unreadable file
        raise ZenFileError(f"{path!r} could not be read as a Zen file: "
                           f"{type(error).__name__}: {error}") from None


def _check_format(config, formats, path):
    name, version = config.get("format"), config.get("version")
    if name not in formats:
        raise ZenFileError(f"{path!r} holds format {name!r}, expected "
                           f"{' or '.join(repr(f) for f in formats)}")
    if not is_int(version) or version < 1:
        raise ZenFileError(f"{path!r} has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise ZenFileError(f"{path!r} has format version {version}, newer than this Zen "
                           f"reads (up to {FORMAT_VERSION}); upgrade Zen to load it")


def file_weights(config, arrays, path):
    """The weight arrays in order, checked against the config's list."""
    listed = config.get("weights")
    if not isinstance(listed, list):
        raise ZenFileError(f"{path!r}: the Zen config has no list of weights")
    weights = []
    for i, entry in enumerate(listed):
        array = arrays.get(f"weight_{i}")
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if array is None or not isinstance(shape, list) or list(array.shape) != shape \
                or array.dtype.kind != "f":
            raise ZenFileError(f"{path!r}: weight {i} ({entry!r}) is missing or does not "
                               f"match its description in the config")
        weights.append(array)
    return weights


def weight_names(config) -> list:
    """The names a file gives its weights (None where it gives none)."""
    return [entry.get("name") if isinstance(entry, dict) else None
            for entry in config.get("weights") or []]


def in_model_order(model, weights, names) -> list:
    """The file's `weights` in the order of `model.named_tensors()`: matched
    by name when the file names exactly the model's weights (a subclass whose
    attributes were reordered still loads), else kept in the file's order
    (files written before weights were named by attribute path)."""
    own = [name for name, _ in model.named_tensors()]
    if names == own or not all(isinstance(name, str) for name in names) \
            or len(set(names)) != len(names) or sorted(names) != sorted(own):
        return list(weights)
    by_name = dict(zip(names, weights))
    return [by_name[name] for name in own]


def check_weights_match(model, weights, path, error):
    named = model.named_tensors()
    if len(named) != len(weights) or any(t.shape != w.shape for (_, t), w in zip(named, weights)):
        raise error(f"The weights in {path!r} do not fit the model: the file holds "
                    f"{[tuple(w.shape) for w in weights]}, the model has "
                    f"{[(name, t.shape) for name, t in named]}")
