"""Saving and loading models: one npz file, no pickle.

A model file is Zen's container (`zen.fileio`: an uncompressed npz archive
written atomically exactly at the path given). It holds:
- `zen_config`: a JSON document stored as uint8 bytes, with the format name
  ("zen.model" or "zen.weights") and version, the model as
  `{"class_name", "name", "config"}` (`zen.nn.serialization`, which also
  says how a user's class is named and found again; a functional
  model's config is its graph, see `zen.models.graph`), the input shape it
  was built for, the list of weights (name, shape, dtype) and, for a
  compiled model, the compile settings (optimizer, losses and metrics as
  their `serialize` gives them: names, or `{"class_name", "config"}` for
  objects such as `zen.metrics.AUC(curve="PR")`; loss weights; per output
  for several outputs);
- `weight_<i>`: the weights, in `named_tensors` order;
- `optimizer/<key>`: the optimizer's `state_dict(params)`, by parameter
  position, so a loaded model continues training exactly as the saved one
  would have.

Reading never unpickles (`allow_pickle=False`). A missing file raises
FileNotFoundError; anything else wrong with a file (not a zip, truncated,
a foreign npz, a newer format version, a layer class that is neither Zen's,
registered nor in `custom_objects`) raises `zen.fileio.ZenFileError`, a
ValueError saying what is wrong.

`to_json(model)` and `model_from_json(text)` are the architecture alone, as
JSON text (Keras's `model.to_json()`): no weights, and a model rebuilt
from it has fresh ones.
"""
import json
import os
import struct
import warnings

import numpy as np

from .. import optim, rng
from ..fileio import (REBUILD_ERRORS, ZenFileError, atomic_write, base_config,
                      check_weights_match,
                      file_weights, in_model_order, optimizer_arrays, optimizer_state,
                      read_file, weight_arrays, weight_names, write_file)
from ..nn import losses, serialization
from ..nn.layer import build_for_shape
from ..train import metrics
from ..train.strategy import writes_files
from ..validation import is_int
from ..version import __version__
from . import training

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "to_json",
           "model_from_json"]



# ----- writing ------------------------------------------------------------------------
def save_model(model, path, trainer=None) -> None:
    """Write `model` (architecture, weights, compile settings and optimizer
    state) to one file at `path` (no extension is added).

    Args:
        model: the model (built or not).
        path: the file to write.
        trainer: the Trainer whose optimizer, loss and metrics to save
            (default: the model's own, set by `compile`; none if uncompiled).

    After a fit over several processes only the main one writes (see
    `zen.train.strategy.writes_files`).

    A compiled model whose loss, metrics or learning-rate schedule are
    custom (a user's function or Metric class: not Zen's, so not
    rebuildable from a file) is saved without its compile settings, with a
    warning: compile it again after loading.

    A path ending in ".keras" is written in Keras 3's format
    (`zen.models.keras_format.save_keras`: a file `keras.saving.load_model`
    opens; needs the optional `h5py`); any other path (".zen" by
    convention) in Zen's own.

    Example:
        save_model(model, "mnist.zen")
        same = load_model("mnist.zen")
        save_model(model, "mnist.keras")   # for Keras, or back into Zen
    """
    if _is_keras_path(path):
        KERAS_FORMAT["save"](model, path, trainer=trainer)
        return
    config = base_config(model, "zen.model")
    config["model"] = serialization.serialize(model)  # before writing: it may refuse
    config["frozen_layers"] = [i for i, layer in enumerate(_distinct_layers(model))
                               if not layer.trainable]
    arrays = weight_arrays(model)
    trainer = trainer if trainer is not None else getattr(model, "_trainer", None)
    if trainer is not None:
        config["compile"] = _compile_config(trainer)
        if config["compile"] is not None:
            arrays.update(optimizer_arrays(trainer.optimizer, model))
    if writes_files(model):  # once for a data-parallel job
        write_file(path, config, arrays)


def save_weights(model, path) -> None:
    """Write the weights of `model` (built) to one file at `path`.

    A path ending in ".safetensors" is written in the safetensors format
    (the optional `safetensors` package), one tensor per weight keyed by its
    `model.named_tensors()` name (e.g. "dense.kernel"), so that other tools
    read it; any other path gets Zen's own container.

    Args:
        model: the model (built).
        path: the file to write.

    Example:
        save_weights(model, "weights.zen"); load_weights(other_model, "weights.zen")
        save_weights(model, "weights.safetensors")
    """
    if not getattr(model, "built", False):
        raise ValueError("The model is not built, so it has no weights to save: call it "
                         "on data or `build(input_shape)` first")
    if _is_safetensors(path):
        safetensors_numpy = _safetensors_numpy()  # on every process: fail alike
        arrays, metadata = _safetensors_payload(model)
        if writes_files(model):  # once for a data-parallel job
            with atomic_write(path, "wb") as f:
                f.write(safetensors_numpy.save(arrays, metadata=metadata))
        return
    if writes_files(model):  # once for a data-parallel job
        write_file(path, base_config(model, "zen.weights"), weight_arrays(model))


# Keras's .keras format: {"save", "load", "detect"}, filled in by
# zen.models.keras_format when zen.models imports it (it needs the model
# classes, whose module imports this one, so this one cannot import it).
KERAS_FORMAT = {}


def _is_keras_path(path) -> bool:
    return os.fspath(path).lower().endswith(".keras")


# ----- safetensors ----------------------------------------------------------------------
_SAFETENSORS_SUFFIX = ".safetensors"
_INPUT_SHAPE_KEY = "zen_input_shape"  # in the file's string metadata, as JSON


def _is_safetensors(path) -> bool:
    return os.fspath(path).lower().endswith(_SAFETENSORS_SUFFIX)


def _safetensors_numpy():
    """The optional `safetensors.numpy` module, or an ImportError saying how
    to install it."""
    try:
        import safetensors.numpy as safetensors_numpy
    except ImportError:
        raise ImportError("Reading or writing .safetensors files needs the `safetensors` "
                          "package: pip install safetensors (or zen[safetensors])") from None
    return safetensors_numpy


def _safetensors_payload(model):
    """({name: array}, {key: str}): the tensors and string metadata of the
    model's safetensors file (the metadata records its input shape)."""
    arrays = {name: np.ascontiguousarray(tensor.value)
              for name, tensor in model.named_tensors()}
    shape = getattr(model, "input_shape", None)
    metadata = {"format": "np", "zen_version": __version__}
    if shape is not None:
        metadata[_INPUT_SHAPE_KEY] = json.dumps(
            dict(shape) if isinstance(shape, dict) else list(shape))
    return arrays, metadata


def _read_safetensors(path):
    """({name: array}, metadata dict) of a safetensors file, or a clear error."""
    safetensors_numpy = _safetensors_numpy()
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    try:
        with open(path, "rb") as f:
            data = f.read()
        arrays = safetensors_numpy.load(data)
        (length,) = struct.unpack("<Q", data[:8])
        metadata = json.loads(data[8:8 + length]).get("__metadata__") or {}
    except Exception as error:  # safetensors raises its own SafetensorError
        raise ZenFileError(f"{path!r} could not be read as a safetensors file, it is "
                           f"corrupt or truncated: {type(error).__name__}: {error}"[:500]
                           ) from None
    return arrays, metadata if isinstance(metadata, dict) else {}


def _safetensors_input_shape(metadata, path):
    text = metadata.get(_INPUT_SHAPE_KEY)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise ZenFileError(f"{path!r}: its {_INPUT_SHAPE_KEY!r} metadata is not JSON: "
                           f"{text!r}"[:300]) from None


def _check_safetensors_match(model, arrays, path) -> None:
    """A ValueError naming the first weight that is missing from the file,
    unexpected in it, or of another shape or dtype than the model's."""
    named = model.named_tensors()
    own = {name for name, _ in named}
    for name, tensor in named:
        if name not in arrays:
            raise ZenFileError(f"{path!r} has no weight {name!r}, which the model has "
                               f"(the file holds {sorted(arrays)[:10]})"[:500])
    for name in arrays:
        if name not in own:
            raise ZenFileError(f"{path!r} holds weight {name!r}, which the model does not "
                               f"have (the model has {[n for n, _ in named][:10]})"[:500])
    for name, tensor in named:
        array = arrays[name]
        if tuple(array.shape) != tuple(tensor.shape) or array.dtype != tensor.value.dtype:
            raise ZenFileError(f"{path!r}: weight {name!r} has shape {tuple(array.shape)} "
                               f"and dtype {array.dtype} in the file, but shape "
                               f"{tuple(tensor.shape)} and dtype {tensor.value.dtype} in "
                               f"the model")


def _load_safetensors(model, path) -> None:
    arrays, metadata = _read_safetensors(path)
    input_shape = _safetensors_input_shape(metadata, path)
    if not getattr(model, "built", False) and input_shape:
        try:
            build_for_input_shape(model, input_shape)
        except REBUILD_ERRORS as error:
            raise ZenFileError(f"{path!r}: its input shape {input_shape!r} does not build "
                               f"the model: {type(error).__name__}: {error}") from None
    _check_safetensors_match(model, arrays, path)
    for name, tensor in model.named_tensors():
        tensor.value[...] = arrays[name]


def _compile_config(trainer):
    """The compile settings as JSON, or None (with a warning) when they
    cannot be rebuilt from names."""
    objective = trainer.objective
    try:
        return {"optimizer": optim.serialize(trainer.optimizer),
                "loss": _map_leaves(lambda l: losses.serialize(losses.get(l)),
                                    objective.loss_spec),
                "metrics": _map_leaves(metrics.serialize, objective.metric_spec) or [],
                "weighted_metrics": _map_leaves(metrics.serialize,
                                                objective.weighted_metric_spec),
                "loss_weights": objective.weight_spec}
    except (TypeError, ValueError, AttributeError) as error:
        warnings.warn(f"The model is saved without its compile settings, which cannot be "
                      f"rebuilt from a file ({error}); compile it again after loading.",
                      UserWarning, stacklevel=4)
        return None


def _map_leaves(fn, spec):
    """`fn` on each loss or metric of a compile argument: one value, a list
    (of values or lists) or a dict by output name."""
    if spec is None:
        return None
    if isinstance(spec, dict) and not _is_serialized_loss(spec):
        return {str(key): _map_leaves(fn, value) for key, value in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_map_leaves(fn, item) for item in spec]
    return fn(spec)


def _is_serialized_loss(spec):
    return set(spec) == {"class_name", "config"}


# ----- reading ------------------------------------------------------------------------
def load_model(path, custom_objects: dict = None, compile: bool = True):  # noqa: A002
    """Rebuild the model saved at `path`: same layers, weights and, if it was
    compiled, optimizer (with its state), loss and metrics.

    The content decides the format, not the name: a zip holding
    `config.json` and `model.weights.h5` is a Keras 3 `.keras` file
    (`zen.models.keras_format.load_keras`, optional `h5py`); Zen's own
    files load as before, including those older Zen saved under a ".keras"
    name.

    Args:
        path: the file.
        custom_objects: {class name: class} for the user's classes the file
            names that are not registered (default: none).
        compile: restore the compile settings and optimizer state (default
            True); False gives the uncompiled model.

    Example:
        model = zen.load_model("mnist.zen", custom_objects={"Residual": Residual})
        model.evaluate(x_test, y_test)
        keras_made = zen.load_model("from_keras.keras")
    """
    path = os.fspath(path)
    if KERAS_FORMAT["detect"](path):
        return KERAS_FORMAT["load"](path, custom_objects=custom_objects, compile=compile)
    config, arrays = read_file(path, ("zen.model",))
    with serialization.custom_object_scope(custom_objects):
        model = _rebuild(config, path)
    weights = in_model_order(model, file_weights(config, arrays, path), weight_names(config))
    check_weights_match(model, weights, path, ZenFileError)
    for (_, tensor), value in zip(model.named_tensors(), weights):
        tensor.value = value  # the file's dtype and bits exactly; Tensor ids are kept
    _freeze(model, config.get("frozen_layers", []), path)  # before the optimizer state
    if compile and config.get("compile") is not None:
        _recompile(model, config["compile"], arrays, path)
    return model


def _distinct_layers(model) -> list:
    """Every layer of `model`, itself first, each once (a shared layer where
    it is first met): the order `frozen_layers` indexes."""
    seen, layers = set(), []
    for layer in model.all_layers():
        if id(layer) not in seen:
            seen.add(id(layer))
            layers.append(layer)
    return layers


def _freeze(model, frozen, path) -> None:
    """Freeze the layers a file lists as frozen, each on its own, so that a
    layer unfrozen inside a frozen one stays trainable (the layers of a
    subclassed model have no config entries to carry their flags)."""
    layers = _distinct_layers(model)
    if not isinstance(frozen, list) or not all(
            is_int(i) and 0 <= i < len(layers) for i in frozen):
        raise ZenFileError(f"{path!r}: 'frozen_layers' must list layer positions below "
                           f"{len(layers)}. Received: {frozen!r}"[:300])
    for i in frozen:
        layers[i]._set_trainable_alone(False)


def load_weights(model, path) -> None:
    """Copy the weights saved at `path` (by `save_weights` or `save_model`)
    into `model`, in place, cast to the model's dtypes. An unbuilt model is
    first built for the input shape recorded in the file.

    A path ending in ".safetensors" is read as a safetensors file (the
    optional `safetensors` package) whose keys are the model's
    `named_tensors()` names; every name, shape and dtype must match, else a
    ValueError names the first weight that is missing, unexpected or
    different. A missing file raises FileNotFoundError, a corrupt one a
    ValueError.

    Args:
        model: the model to load into.
        path: the file.

    Example:
        model.load_weights("weights.zen")
        model.load_weights("weights.safetensors")
    """
    path = os.fspath(path)
    if _is_safetensors(path):
        _load_safetensors(model, path)
        return
    config, arrays = read_file(path, ("zen.weights", "zen.model"))
    weights = file_weights(config, arrays, path)
    if not getattr(model, "built", False) and config.get("input_shape"):
        try:
            build_for_input_shape(model, config["input_shape"])
        except REBUILD_ERRORS as error:
            raise ZenFileError(f"{path!r}: its input shape {config['input_shape']!r} does "
                               f"not build the model: {type(error).__name__}: {error}") from None
    weights = in_model_order(model, weights, weight_names(config))
    check_weights_match(model, weights, path, ZenFileError)  # a ValueError: a foreign file
    for (_, tensor), value in zip(model.named_tensors(), weights):
        tensor.value[...] = value


def _rebuild(config, path):
    """The model from its config, built; Zen's random generator is left as
    it was, so loading a model does not change later random draws."""
    spec = config.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ZenFileError(f"{path!r}: the Zen config has no valid 'model' entry")
    state = rng.get_state()
    try:
        model = serialization.deserialize(spec)
        if config.get("input_shape") and not model.built:
            build_for_input_shape(model, config["input_shape"])
    except REBUILD_ERRORS as error:
        raise ZenFileError(f"{path!r}: cannot rebuild the model from its config: "
                           f"{type(error).__name__}: {error}") from None
    finally:
        rng.set_state(state)
    return model


def build_for_input_shape(model, input_shape):
    """Build `model` for the input shape its file records: a shape, a list
    of shapes, or a dict of them (a subclassed model whose call reads a dict)."""
    if isinstance(input_shape, dict):
        model.build({key: tuple(shape) for key, shape in input_shape.items()})
    else:
        build_for_shape(model, input_shape)


def _recompile(model, settings, arrays, path):
    try:
        loss = _map_leaves(losses.get, settings["loss"])
        training.compile(model, optimizer=optim.get(settings["optimizer"]), loss=loss,
                         metrics=_map_leaves(_metric_from_file, settings.get("metrics")),
                         weighted_metrics=_map_leaves(_metric_from_file,
                                                      settings.get("weighted_metrics")),
                         loss_weights=settings.get("loss_weights"))
        state = optimizer_state(arrays)
        if state:
            model.optimizer.load_state_dict(state, model.parameters())
    except REBUILD_ERRORS as error:
        raise ZenFileError(f"{path!r}: cannot restore the compile settings or optimizer "
                           f"state: {type(error).__name__}: {error}") from None


def _metric_from_file(spec):
    """A metric as a file holds it: a name stays a name (compile resolves
    it), a `{"class_name", "config"}` dict becomes the Metric."""
    return metrics.deserialize(spec) if isinstance(spec, dict) else spec


# ----- the architecture as JSON ----------------------------------------------------------
def to_json(model, **kwargs) -> str:
    """The architecture of `model` as JSON text: `{"class_name", "name",
    "config"}` as in a model file (plus "module" for a user's class that is
    not registered), and "build_config" with the input shape it was built
    for. No weights. `kwargs` go to `json.dumps` (e.g. `indent=2`).

    Example:
        text = to_json(model)
        twin = model_from_json(text)   # same architecture, fresh weights
    """
    spec = serialization.serialize(model)
    if getattr(model, "built", False) and model.input_shape is not None:
        spec["build_config"] = {"input_shape": model.input_shape}
    try:
        return json.dumps(spec, **kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The config of model {model.name!r} is not JSON-serialisable "
                         f"({error})") from None


def model_from_json(text, custom_objects: dict = None):
    """The model `to_json` described, built, with freshly initialised weights.

    Args:
        text: the JSON text.
        custom_objects: {class name: class} for the user's classes the text
            names that are not registered (default: none).

    Example:
        model = model_from_json(text, custom_objects={"Residual": Residual})
        model.set_weights(weights)
    """
    try:
        spec = json.loads(text)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(f"model_from_json expects the JSON text that to_json writes; it "
                         f"cannot be read as JSON: {error}"[:500]) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ValueError("model_from_json expects a JSON object with 'class_name' and "
                         "'config', as to_json writes it")
    with serialization.custom_object_scope(custom_objects):
        try:
            model = serialization.deserialize(spec)
            build = spec.get("build_config") or {}
            if not isinstance(build, dict):
                raise ValueError(f"'build_config' is not an object: {build!r}"[:300])
            if build.get("input_shape") and not model.built:
                build_for_input_shape(model, build["input_shape"])
        except REBUILD_ERRORS as error:
            raise ValueError(f"Cannot rebuild the model from its JSON: "
                             f"{type(error).__name__}: {error}") from None
    return model
