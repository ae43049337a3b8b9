"""Saving and loading models: one npz file, no pickle.

A model file is an uncompressed npz archive (`np.savez`) written atomically
(`zen.fileio.atomic_write`) exactly at the path given. It holds:
- `zen_config`: a JSON document stored as uint8 bytes, with the format name
  ("zen.model" or "zen.weights") and version, the model's `get_config()`,
  the input shape it was built for, the list of weights (name, shape,
  dtype) and, for a compiled model, the compile settings (optimizer and
  loss as `serialize` gives them, metric names);
- `weight_<i>`: the weights, in `named_tensors` order;
- `optimizer/<key>`: the optimizer's `state_dict(params)`, by parameter
  position, so a loaded model continues training exactly as the saved one
  would have.

Reading never unpickles (`allow_pickle=False`). A missing file raises
FileNotFoundError; anything else wrong with a file (not a zip, truncated,
a foreign npz, a newer format version, an unknown layer) raises
`zen.fileio.ZenFileError`, a ValueError saying what is wrong.
"""
import json
import os
import struct
import zipfile
import zlib
import warnings

import numpy as np

from .. import rng
from ..backend import DEFAULT_DTYPE
from ..fileio import ZenFileError, atomic_write
from .layer import LAYERS, inference_mode

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "FORMAT_VERSION"]

FORMAT_VERSION = 1
# What building layers or an optimizer from a hostile config can raise
REBUILD_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError,
                   OverflowError, RecursionError, MemoryError)
_CONFIG_KEY = "zen_config"
_OPTIMIZER_PREFIX = "optimizer/"


# ----- writing ------------------------------------------------------------------------
def save_model(model, path, trainer=None) -> None:
    """Write `model` (architecture, weights, compile settings and optimizer
    state) to one file at `path` (no extension is added).

    Args:
        model: the model (built or not).
        path: the file to write.
        trainer: the Trainer whose optimizer, loss and metrics to save
            (default: the model's own, set by `compile`; none if uncompiled).

    A compiled model whose loss, metrics or learning-rate schedule are
    custom callables (not Zen's, so not rebuildable from a name) is saved
    without its compile settings, with a warning: compile it again after
    loading.

    Example:
        save_model(model, "mnist.zen")
        same = load_model("mnist.zen")
    """
    config = base_config(model, "zen.model")
    config["model"] = {"class_name": type(model).__name__, "config": model.get_config()}
    arrays = weight_arrays(model)
    trainer = trainer if trainer is not None else getattr(model, "_trainer", None)
    if trainer is not None:
        config["compile"] = _compile_config(trainer)
        if config["compile"] is not None:
            state = trainer.optimizer.state_dict(model.parameters())
            arrays.update({_OPTIMIZER_PREFIX + key: np.asarray(value)
                           for key, value in state.items()})
    write_file(path, config, arrays)


def save_weights(model, path) -> None:
    """Write the weights of `model` (built) to one file at `path`.

    Example:
        save_weights(model, "weights.zen"); load_weights(other_model, "weights.zen")
    """
    if not getattr(model, "built", False):
        raise ValueError("The model is not built, so it has no weights to save: call it "
                         "on data or `build(input_shape)` first")
    write_file(path, base_config(model, "zen.weights"), weight_arrays(model))


# ----- the file format's building blocks (zen.train.backup writes with them too) -----
def base_config(model, format_name):
    """The JSON header every Zen file starts with: format, version, weights."""
    from .. import __version__
    shape = getattr(model, "input_shape", None)
    return {"format": format_name, "version": FORMAT_VERSION, "zen_version": __version__,
            "input_shape": None if shape is None else list(shape),
            "weights": [{"name": name, "shape": list(t.shape), "dtype": str(t.dtype)}
                        for name, t in model.named_tensors()]}


def weight_arrays(model):
    """{"weight_<i>": array} in `named_tensors` order."""
    return {f"weight_{i}": t.value for i, (_, t) in enumerate(model.named_tensors())}


def _compile_config(trainer):
    """The compile settings as JSON, or None (with a warning) when they
    cannot be rebuilt from names."""
    from .. import metrics, optim
    from . import losses
    try:
        specs = []
        for metric in trainer.metric_specs:
            name = metrics.name_of(metric)
            if not isinstance(metric, str) and metrics.get(name) is not metric:
                raise ValueError(f"custom metric {name!r}")
            specs.append(name)
        return {"optimizer": optim.serialize(trainer.optimizer),
                "loss": losses.serialize(trainer.loss), "metrics": specs}
    except (TypeError, ValueError, AttributeError) as error:
        warnings.warn(f"The model is saved without its compile settings, which cannot be "
                      f"rebuilt from a file ({error}); compile it again after loading.",
                      UserWarning, stacklevel=3)
        return None


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


# ----- reading ------------------------------------------------------------------------
def load_model(path):
    """Rebuild the model saved at `path`: same layers, weights and, if it was
    compiled, optimizer (with its state), loss and metrics.

    Example:
        model = zen.nn.load_model("mnist.zen")
        model.evaluate(x_test, y_test)
    """
    path = os.fspath(path)
    config, arrays = read_file(path, ("zen.model",))
    model = _rebuild(config, path)
    weights = file_weights(config, arrays, path)
    check_weights_match(model, weights, path, ZenFileError)
    for (_, tensor), value in zip(model.named_tensors(), weights):
        tensor.value = value  # the file's dtype and bits exactly; Tensor ids are kept
    if config.get("compile") is not None:
        _recompile(model, config["compile"], arrays, path)
    return model


def load_weights(model, path) -> None:
    """Copy the weights saved at `path` (by `save_weights` or `save_model`)
    into `model`, in place, cast to the model's dtypes. An unbuilt model is
    first built for the input shape recorded in the file.

    Example:
        model.load_weights("weights.zen")
    """
    path = os.fspath(path)
    config, arrays = read_file(path, ("zen.weights", "zen.model"))
    weights = file_weights(config, arrays, path)
    if not getattr(model, "built", False) and config.get("input_shape"):
        try:
            build_for_shape(model, config["input_shape"])
        except REBUILD_ERRORS as error:
            raise ZenFileError(f"{path!r}: its input shape {config['input_shape']!r} does "
                               f"not build the model: {type(error).__name__}: {error}") from None
    check_weights_match(model, weights, path, ZenFileError)  # a ValueError: a foreign file
    for (_, tensor), value in zip(model.named_tensors(), weights):
        tensor.value[...] = value


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
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
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


def check_weights_match(model, weights, path, error):
    named = model.named_tensors()
    if len(named) != len(weights) or any(t.shape != w.shape for (_, t), w in zip(named, weights)):
        raise error(f"The weights in {path!r} do not fit the model: the file holds "
                    f"{[tuple(w.shape) for w in weights]}, the model has "
                    f"{[(name, t.shape) for name, t in named]}")


def _rebuild(config, path):
    """The model from its config, built; Zen's random generator is left as
    it was, so loading a model does not change later random draws."""
    spec = config.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ZenFileError(f"{path!r}: the Zen config has no valid 'model' entry")
    layers = spec["config"].get("layers", [])
    if not isinstance(layers, list):
        raise ZenFileError(f"{path!r}: the model config's 'layers' is not a list")
    names = [spec.get("class_name")]
    names += [e.get("class_name") if isinstance(e, dict) else e for e in layers]
    unknown = [name for name in names if not isinstance(name, str) or name not in LAYERS]
    if unknown:
        raise ZenFileError(f"{path!r}: unknown layer {unknown[0]!r} in the model config "
                           f"(known layers: {sorted(LAYERS)})")
    state = rng.get_state()
    try:
        model = LAYERS[spec["class_name"]].from_config(spec["config"])
        if config.get("input_shape") and not model.built:
            build_for_shape(model, config["input_shape"])
    except REBUILD_ERRORS as error:
        raise ZenFileError(f"{path!r}: cannot rebuild the model from its config: "
                           f"{type(error).__name__}: {error}") from None
    finally:
        rng.set_state(state)
    return model


def build_for_shape(model, input_shape):
    """Build `model` for `input_shape`: Sequential.build does it all; a plain
    Layer model (whose sublayers build on their first call) is called once
    on zeros, in inference mode without a graph, its modes then restored."""
    shape = tuple(input_shape)
    model.build(shape)
    if model.built:
        return
    with inference_mode(model):
        model(np.zeros([1 if n is None else n for n in shape], DEFAULT_DTYPE))
    model.input_shape = shape


def _recompile(model, settings, arrays, path):
    from .. import optim
    from ..train import keras
    from . import losses
    try:
        keras.compile(model, optimizer=optim.get(settings["optimizer"]),
                      loss=losses.get(settings["loss"]), metrics=list(settings["metrics"]))
        state = {key[len(_OPTIMIZER_PREFIX):]: value for key, value in arrays.items()
                 if key.startswith(_OPTIMIZER_PREFIX)}
        if state:
            model.optimizer.load_state_dict(state, model.parameters())
    except REBUILD_ERRORS as error:
        raise ZenFileError(f"{path!r}: cannot restore the compile settings or optimizer "
                           f"state: {type(error).__name__}: {error}") from None
