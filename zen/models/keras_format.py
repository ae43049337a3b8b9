"""Keras 3's `.keras` model files, read and written by Zen.

A `.keras` file is a zip archive (members stored, not compressed) of:
- `config.json`: the model's Keras config (`zen.models.keras_config`), with
  "compile_config" (optimizer, loss, metrics) for a compiled model;
- `metadata.json`: the Keras version of the layout and the date saved;
- `model.weights.h5`: an HDF5 file (the optional `h5py` package, extra
  `zen[keras]`) holding each layer's variables as datasets
  `layers/<snake_case class>[_<n>]/vars/<i>` (nested models under their own
  `layers/`, an RNN's under `cell/vars`, a wrapper's under its
  sublayer's name, a MultiHeadAttention's under `query_dense/vars`, ...:
  `zen.models.keras_layers`), the optimizer's as
  `optimizer/vars/<i>`: iterations, learning rate, then each trainable
  variable's slots.

Loading refuses, with a ValueError and before anything is built or read in
full: a file that is not a zip, a member path that leaves the archive, a
member larger than its limit (a zip bomb), a config nested too deep or with
a cycle, a weight whose HDF5 shape differs from the model's (however large
it claims to be), links to other files, and any layer, option or value Zen
cannot represent (e.g. a Lambda): a model loads whole or not at all.
"""
import datetime
import io
import json
import os
import warnings
import zipfile

import numpy as np

from .. import optim, rng
from ..fileio import REBUILD_ERRORS, ZenFileError, atomic_write
from ..nn import losses
from ..train import metrics
from ..train.strategy import writes_files
from ..validation import check_bool
from . import saving, training
from .model import Model
from .keras_config import keras_entry, keras_layers, model_from_keras, snake_case
from .keras_layers import is_vocabulary_layer, named_datasets, variable_groups

__all__ = ["save_keras", "load_keras", "is_keras_file"]

KERAS_LAYOUT_VERSION = "3.15.1"
"""The Keras release whose file layout this mirrors (written into metadata.json)."""
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_MEMBER_LIMITS = {_CONFIG: 64 << 20, _METADATA: 1 << 20, _WEIGHTS: 16 << 30}
_ASSET_LIMIT = 256 << 20  # bytes of one vocabulary asset
_VOCABULARY = "vocabulary.txt"
_MAX_EXPANSION = 100      # uncompressed / compressed above this (and 1 MiB): a bomb
_MAX_JSON_DEPTH = 200
# Keras optimizer -> (Zen class, {Keras argument: Zen argument}, slots per variable)
_OPTIMIZERS = {
    "Adam": (optim.Adam, {"beta_1": "beta1", "beta_2": "beta2", "epsilon": "epsilon"},
             ("m", "v")),
    "AdamW": (optim.AdamW, {"beta_1": "beta1", "beta_2": "beta2", "epsilon": "epsilon",
                            "weight_decay": "weight_decay"}, ("m", "v")),
    "SGD": (optim.SGD, {"momentum": "momentum", "nesterov": "nesterov"},
            ("momentum_buffer",)),
    "RMSprop": (optim.RMSProp, {"rho": "beta", "epsilon": "epsilon"}, ("v",)),
}
# Keras optimizer options that Zen has under the same name
_SHARED_OPTIONS = ("clipnorm", "clipvalue", "global_clipnorm")
# Keras optimizer options Zen lacks, with the values at which they change nothing
_KERAS_ONLY_OPTIONS = {"name": None, "weight_decay": (None, 0, 0.0), "use_ema": (False,),
                       "ema_momentum": None, "ema_overwrite_frequency": None,
                       "loss_scale_factor": (None,), "gradient_accumulation_steps": (None,),
                       "amsgrad": (False,), "centered": (False,), "momentum": (0, 0.0)}


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("Reading or writing .keras files needs the `h5py` package: "
                          "pip install h5py (or zen[keras])") from None
    return h5py


# ----- writing ------------------------------------------------------------------------
def save_keras(model, path, trainer=None) -> None:
    """Write `model` as Keras 3 writes it (`model.save("m.keras")`): a file
    that `keras.saving.load_model` opens, with the compile settings and the
    optimizer's state where Keras has the same optimizer.

    Args:
        model: a Sequential or functional model, built, of layers Keras has.
        path: the file to write (no extension is added).
        trainer: the Trainer whose optimizer, loss and metrics to save
            (default: the model's own, set by `compile`; none if uncompiled).

    Example:
        save_keras(model, "mnist.keras")   # keras.saving.load_model("mnist.keras")
    """
    h5py = _h5py()
    config = keras_entry(model)
    layers = keras_layers(model)
    trainer = trainer if trainer is not None else getattr(model, "_trainer", None)
    optimizer_entry, config["compile_config"] = None, {}  # Keras's {}: not compiled
    if trainer is not None:
        compile_config = _keras_compile_config(trainer)
        if compile_config is not None:
            config["compile_config"] = compile_config
            optimizer_entry = compile_config["optimizer"]
    metadata = {"keras_version": KERAS_LAYOUT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = _weights_file(h5py, model, layers, trainer, optimizer_entry)
    if writes_files(model):  # once for a data-parallel job
        with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w") as archive:
            archive.writestr(_METADATA, json.dumps(metadata))
            archive.writestr(_CONFIG, json.dumps(config))
            archive.writestr(_WEIGHTS, weights)


def _weights_file(h5py, model, layers, trainer, optimizer_entry) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars").attrs["name"] = model.name
        for group, layer in layers:
            if isinstance(layer, Model):
                h5.create_group(f"{group}/vars").attrs["name"] = layer.name  # empty
                continue
            for sub, (owner, tensors) in layer_variables(layer).items():
                vars_group = h5.create_group(f"{group}/{sub}")
                vars_group.attrs["name"] = owner
                for i, tensor in enumerate(tensors):
                    vars_group.create_dataset(str(i), data=tensor.value)
            for name, value in named_datasets(layer).items():
                h5.create_dataset(f"{group}/{name}", data=value)
        if optimizer_entry is not None:
            _write_optimizer(h5, trainer.optimizer, optimizer_entry,
                             trainable_tensors(model, layers))
    return buffer.getvalue()


def layer_variables(layer) -> dict:
    """{h5 subgroup ("vars", "cell/vars", ...): (owner name, [tensors])} of
    one layer, each list in Keras's variable order.

    Args:
        layer: a layer (not a model).
    """
    return variable_groups(layer, _own_variables)


def _own_variables(layer):
    """The groups of a layer whose tensors' dotted names are its h5 path."""
    groups = {"vars": (layer.name, [])}
    for name, tensor in layer.named_tensors():
        prefix, _, _ = name.rpartition(".")
        key = f"{prefix.replace('.', '/')}/vars" if prefix else "vars"
        if key not in groups:
            owner = layer
            for part in prefix.split("."):
                owner = getattr(owner, part, owner)
            groups[key] = (getattr(owner, "name", prefix), [])
        groups[key][1].append(tensor)
    return groups


def trainable_tensors(model, layers) -> list:
    """The model's trainable weights in Keras's order (the optimizer's).

    Args:
        model: the model.
        layers: its `keras_layers` list.
    """
    trainable = {id(t) for t in model.parameters()}
    found = []
    for _, layer in layers:
        if not isinstance(layer, Model):
            for _, tensors in layer_variables(layer).values():
                found += [t for t in tensors if id(t) in trainable]
    return found


def _write_optimizer(h5, optimizer, entry, tensors):
    slots = _OPTIMIZERS[entry["class_name"]][2]
    if isinstance(optimizer, optim.SGD) and not optimizer.momentum:
        slots = ()
    learning_rate = float(entry["config"]["learning_rate"])
    group = h5.create_group("optimizer/vars")
    group.attrs["name"] = entry["config"]["name"]
    values = [np.asarray(optimizer.iterations, dtype=np.int64),
              np.asarray(learning_rate, dtype=np.float32)]
    for tensor in tensors:
        state = optimizer.state.get(tensor.id, {})
        for slot in slots:
            value = np.asarray(state.get(slot, np.zeros(tensor.shape)), dtype=np.float32)
            values.append(-learning_rate * value if slot == "momentum_buffer" else value)
    for i, value in enumerate(values):
        group.create_dataset(str(i), data=value)


def _keras_compile_config(trainer):
    """Keras's compile_config for a Trainer, or None (with a warning) where
    Keras has no counterpart of its optimizer, loss or metrics."""
    objective = trainer.objective
    try:
        return {"optimizer": _keras_optimizer(trainer.optimizer),
                "loss": _map_leaves(lambda x: _keras_object(x, losses, "keras.losses"),
                                    objective.loss_spec),
                "loss_weights": objective.weight_spec,
                "metrics": _map_leaves(lambda x: _keras_object(x, metrics, "keras.metrics"),
                                       objective.metric_spec),
                "weighted_metrics": _map_leaves(
                    lambda x: _keras_object(x, metrics, "keras.metrics"),
                    objective.weighted_metric_spec),
                "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    except (TypeError, ValueError, AttributeError) as error:
        warnings.warn(f"The model is saved without its compile settings, which Keras "
                      f"cannot rebuild ({error}); compile it again after loading.",
                      UserWarning, stacklevel=4)
        return None


def _keras_optimizer(optimizer):
    config = optimizer.get_config()
    name = {optim.AdamW: "AdamW", optim.Adam: "Adam", optim.SGD: "SGD",
            optim.RMSProp: "RMSprop"}.get(type(optimizer))
    if name is None:
        raise ValueError(f"Keras's files have no counterpart of Zen's optimizer "
                         f"{type(optimizer).__name__}")
    if config.get("use_ema") or config.get("gradient_accumulation_steps"):
        raise ValueError("use_ema and gradient_accumulation_steps keep state Zen does not "
                         "write in Keras's layout")
    if name != "AdamW" and config.get("weight_decay"):
        raise ValueError(f"Zen's {name} adds weight_decay to the gradient; Keras's decays "
                         f"the weights")
    learning_rate = config.get("lr")
    if not isinstance(learning_rate, (int, float)):
        raise ValueError("a learning-rate schedule is not yet written in Keras's layout")
    keras_config = {"name": snake_case(name).replace("_", ""),
                    "learning_rate": float(learning_rate),
                    "weight_decay": config.get("weight_decay") or None,
                    **{key: config.get(key) for key in _SHARED_OPTIONS},
                    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                    "loss_scale_factor": None, "gradient_accumulation_steps": None}
    for keras_key, zen_key in _OPTIMIZERS[name][1].items():
        keras_config[keras_key] = config[zen_key]
    if name in ("Adam", "AdamW"):
        keras_config["amsgrad"] = False
    if name == "RMSprop":
        keras_config.update(momentum=0.0, centered=False)
    return {"module": "keras.optimizers", "class_name": name, "config": keras_config,
            "registered_name": None}


def _keras_object(spec, module, keras_module):
    """A loss or metric as Keras's compile_config holds it: a name stays a
    name; an object becomes its Keras entry."""
    if isinstance(spec, str):
        return spec
    entry = module.serialize(spec)
    if isinstance(entry, str):
        return entry
    registry = losses.LOSSES if module is losses else metrics.METRICS
    names = [key for key, value in registry.items() if value is type(spec)
             and key[:1].isupper()]
    class_name = max(names, key=len) if names else entry["class_name"]
    config = dict(entry["config"])
    if module is losses:
        config.setdefault("name", snake_case(class_name))
        config.setdefault("reduction", "sum_over_batch_size")
    return {"module": keras_module, "class_name": class_name, "config": config,
            "registered_name": None}


def _map_leaves(fn, spec):
    if spec is None:
        return None
    if isinstance(spec, dict) and "class_name" not in spec:
        return {str(key): _map_leaves(fn, value) for key, value in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_map_leaves(fn, item) for item in spec]
    return fn(spec)


# ----- reading ------------------------------------------------------------------------
def is_keras_file(path) -> bool:
    """Whether `path` is a Keras `.keras` archive (a zip holding config.json
    and model.weights.h5), whatever its name.

    Args:
        path: the file.

    Example:
        is_keras_file("m.keras")   # True for Keras's format, False for Zen's
    """
    try:
        with zipfile.ZipFile(os.fspath(path)) as archive:
            names = set(archive.namelist())
    except Exception:  # noqa: BLE001 (unreadable, e.g. a damaged zip: Zen's reader says why)
        return False
    return _CONFIG in names and _WEIGHTS in names


def load_keras(path, custom_objects: dict = None, compile: bool = True):  # noqa: A002
    """The model of a Keras 3 `.keras` file, as a Zen model: same layers,
    weights and predictions; if it was compiled (and `compile`), the same
    loss, metrics and optimizer with its state, so `fit` continues.

    Args:
        path: the file.
        custom_objects: {class name: class} for the user's Zen layer classes
            the file names that are not registered (default: none).
        compile: restore the compile settings and optimizer state (default
            True).

    Example:
        model = load_keras("from_keras.keras")
        model.predict(x)
    """
    compile = check_bool(compile, "compile")  # noqa: A001
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"Received an invalid value for `custom_objects`, expected a dict "
                        f"{{class name: class}}. Received: {custom_objects!r}"[:300])
    h5py = _h5py()
    path = os.fspath(path)
    config, weights, assets = _read_archive(path)
    try:
        h5 = h5py.File(io.BytesIO(weights), "r")
    except (OSError, ValueError) as error:
        raise ZenFileError(f"{path!r}: {_WEIGHTS} is not an HDF5 file: {error}"[:500]) from None
    try:
        with h5:
            rebuilt = _rebuild(config, custom_objects, _asset_finder(assets, h5, path), path)
            _read_weights(h5, rebuilt.layers, path)
            compile_config = config.get("compile_config")
            if compile and isinstance(compile_config, dict) and compile_config:
                _compile(rebuilt, compile_config, h5, path)
    except (OSError, RuntimeError, KeyError, TypeError) as error:  # h5py on a corrupt file
        raise ZenFileError(f"{path!r}: {_WEIGHTS} is corrupt: {type(error).__name__}: "
                           f"{error}"[:500]) from None
    return rebuilt.model


def _rebuild(config, custom_objects, assets, path):
    state = rng.get_state()
    try:
        return model_from_keras(config, custom_objects, assets)
    except REBUILD_ERRORS as error:
        raise ZenFileError(f"{path!r}: cannot rebuild the Keras model: "
                           f"{type(error).__name__}: {error}"[:800]) from None
    finally:
        rng.set_state(state)


def _asset_finder(assets, h5, path):
    """(h5 group path) -> (its vocabulary.txt bytes or None, its "tf_idf"
    weights `vars/idf_weights` or None), for `model_from_keras`."""
    h5py = _h5py()

    def find(group):
        text = assets.get(f"assets/{group}/{_VOCABULARY}")
        idf = _hard_child(h5, f"{group}/vars/idf_weights", path)
        if idf is not None:
            if not isinstance(idf, h5py.Dataset) or idf.ndim != 1 or idf.dtype.kind != "f" \
                    or idf.is_virtual or idf.external:
                raise ZenFileError(f"{path!r}: {group}/vars/idf_weights is not a plain 1-D "
                                   f"float dataset")
            idf = idf[()]
        return text, idf
    return find


def _read_archive(path):
    """(config dict, weights bytes, {asset member: bytes}) of a .keras file,
    or a ZenFileError; the assets read are vocabularies only."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            for name, info in infos.items():
                _check_member(name, info, path)
            for name in (_CONFIG, _WEIGHTS):
                if name not in infos:
                    raise ZenFileError(f"{path!r} is a zip but not a .keras file: it has "
                                       f"no {name}")
            text = _read_member(archive, infos[_CONFIG], path)
            weights = _read_member(archive, infos[_WEIGHTS], path)
            vocabularies = [info for name, info in infos.items()
                            if name.startswith("assets/") and name.endswith("/" + _VOCABULARY)]
            if sum(info.file_size for info in vocabularies) > _MEMBER_LIMITS[_WEIGHTS]:
                raise ZenFileError(f"{path!r}: the vocabulary assets declare more than "
                                   f"{_MEMBER_LIMITS[_WEIGHTS]:,} bytes")
            assets = {info.filename: _read_member(archive, info, path)
                      for info in vocabularies}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
            NotImplementedError) as error:
        raise ZenFileError(f"{path!r} is not a readable .keras (zip) file: "
                           f"{type(error).__name__}: {error}"[:500]) from None
    return _parse_config(text, path), weights, assets


def _check_member(name, info, path):
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or ":" in name or "\x00" in name:
        raise ZenFileError(f"{path!r}: the archive member {name[:100]!r} points outside "
                           f"the archive")
    limit = _MEMBER_LIMITS.get(name, _ASSET_LIMIT if name.startswith("assets/") else None)
    if limit is not None and info.file_size > limit:
        raise ZenFileError(f"{path!r}: {name} declares {info.file_size:,} bytes, more than "
                           f"the {limit:,} allowed")
    if info.file_size > max(1 << 20, _MAX_EXPANSION * info.compress_size):
        raise ZenFileError(f"{path!r}: the archive member {name[:100]!r} expands "
                           f"{info.compress_size:,} bytes into {info.file_size:,}: a zip "
                           f"bomb")


def _read_member(archive, info, path):
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ZenFileError(f"{path!r}: {info.filename} does not have the size its archive "
                           f"entry declares")
    return data


def _parse_config(text, path):
    try:
        config = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ZenFileError(f"{path!r}: {_CONFIG} is not JSON: {error}"[:300]) from None
    if _json_depth(config) > _MAX_JSON_DEPTH:
        raise ZenFileError(f"{path!r}: {_CONFIG} nests deeper than {_MAX_JSON_DEPTH} levels")
    if not isinstance(config, dict):
        raise ZenFileError(f"{path!r}: {_CONFIG} is not a JSON object")
    return config


def _json_depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > _MAX_JSON_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _read_weights(h5, layers, path):
    for group, layer in layers:
        if isinstance(layer, Model) or is_vocabulary_layer(layer):
            continue  # a vocabulary layer's state came with its config and assets
        for sub, (_, tensors) in layer_variables(layer).items():
            values = _read_group(h5, f"{group}/{sub}", tensors, path)
            for tensor, value in zip(tensors, values):
                tensor.value[...] = value


def _read_group(h5, name, tensors, path):
    """The arrays of one `.../vars` group, each checked against its tensor's
    shape before it is read."""
    group = _hard_child(h5, name, path)
    if group is None:
        if tensors:
            raise ZenFileError(f"{path!r}: the weights file has no group {name!r}")
        return []
    keys = list(group.keys())
    if sorted(keys) != sorted(str(i) for i in range(len(tensors))):
        raise ZenFileError(f"{path!r}: {name!r} holds {len(keys)} variables, the Zen "
                           f"layer has {len(tensors)}")
    return [_dataset(group, str(i), tuple(t.shape), f"{name}/{i}", path)
            for i, t in enumerate(tensors)]


def _hard_child(h5, name, path):
    """`h5[name]` following only links inside this file; None if absent."""
    h5py = _h5py()
    node = h5
    for part in name.split("/"):
        if not isinstance(node, h5py.Group):
            return None
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise ZenFileError(f"{path!r}: {name!r} is a link to another file or place, "
                               f"which Zen does not follow")
        node = node[part]
    return node


def _dataset(group, key, shape, name, path):
    h5py = _h5py()
    data = _hard_child(group, key, path)
    if not isinstance(data, h5py.Dataset):
        raise ZenFileError(f"{path!r}: {name!r} is not a dataset")
    if data.shape != shape:
        raise ZenFileError(f"{path!r}: {name!r} has shape {data.shape}, the model's "
                           f"weight has shape {shape}"[:300])
    if data.dtype.kind not in "fiub" or data.is_virtual or data.external:
        raise ZenFileError(f"{path!r}: {name!r} is not a plain numeric dataset")
    return data[()]


# ----- compile settings ------------------------------------------------------------------
def _compile(rebuilt, settings, h5, path):
    try:
        optimizer, slots = _zen_optimizer(settings.get("optimizer"))
        training.compile(rebuilt.model, optimizer=optimizer,
                         loss=_map_leaves(_zen_loss, settings.get("loss")),
                         metrics=_map_leaves(_zen_metric, settings.get("metrics")),
                         weighted_metrics=_map_leaves(_zen_metric,
                                                      settings.get("weighted_metrics")),
                         loss_weights=settings.get("loss_weights"))
    except REBUILD_ERRORS as error:
        raise ZenFileError(f"{path!r}: cannot restore the compile settings: "
                           f"{type(error).__name__}: {error}"[:800]) from None
    tensors = trainable_tensors(rebuilt.model, rebuilt.layers)
    _read_optimizer(h5, optimizer, slots, tensors, path)


def _zen_optimizer(entry):
    """(Zen optimizer, its state's slot names) for a Keras optimizer entry."""
    class_name, config = entry.get("class_name"), entry.get("config")
    if class_name not in _OPTIMIZERS or not isinstance(config, dict):
        raise ValueError(f"Zen has no counterpart of the Keras optimizer "
                         f"{str(class_name)[:100]!r} (it has {sorted(_OPTIMIZERS)})")
    cls, renamed, slots = _OPTIMIZERS[class_name]
    arguments = {}
    for key, value in config.items():
        if key in renamed:
            arguments[renamed[key]] = value
        elif key in _SHARED_OPTIONS:
            arguments[key] = value
        elif key == "learning_rate":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"the Keras optimizer's learning_rate {value!r} is not a "
                                 f"number (schedules are not yet read)"[:300])
            arguments["learning_rate"] = float(value)
        elif key not in _KERAS_ONLY_OPTIONS or (
                _KERAS_ONLY_OPTIONS[key] is not None and value not in _KERAS_ONLY_OPTIONS[key]):
            raise ValueError(f"the Keras optimizer {class_name} sets {key}={value!r}, which "
                             f"Zen's {cls.__name__} does not support"[:300])
    if class_name == "SGD" and not arguments.get("momentum"):
        slots = ()
    return cls(**arguments), slots


def _zen_loss(spec):
    if isinstance(spec, str):
        return spec
    return _zen_object(spec, losses.LOSSES, "loss", drop={"name", "reduction", "dtype"},
                       required={"reduction": ("sum_over_batch_size",)})


def _zen_metric(spec):
    if isinstance(spec, str):
        return spec
    return _zen_object(spec, metrics.METRICS, "metric", drop={"dtype"}, required={})


def _zen_object(spec, registry, kind, drop, required):
    if not (isinstance(spec, dict) and isinstance(spec.get("config"), dict)):
        raise ValueError(f"Expected a Keras {kind} name or entry. Received: {spec!r}"[:300])
    cls = registry.get(spec.get("class_name"))
    if not isinstance(cls, type):
        raise ValueError(f"Zen has no {kind} class {str(spec.get('class_name'))[:100]!r}")
    config = dict(spec["config"])
    for key, allowed in required.items():
        if config.get(key, allowed[0]) not in allowed:
            raise ValueError(f"the Keras {kind} {spec['class_name']} sets {key}="
                             f"{config[key]!r}, which Zen does not support"[:300])
    return cls.from_config({k: v for k, v in config.items() if k not in drop})


def _read_optimizer(h5, optimizer, slots, tensors, path):
    group = _hard_child(h5, "optimizer/vars", path)
    if group is None or len(group.keys()) <= 2:
        return  # never built: no state yet
    count = 2 + len(slots) * len(tensors)
    if len(group.keys()) != count:
        raise ZenFileError(f"{path!r}: the optimizer has {len(group.keys())} variables, "
                           f"{count} expected for {len(tensors)} trainable weights")
    iterations = int(_dataset(group, "0", (), "optimizer/vars/0", path))
    learning_rate = float(_dataset(group, "1", (), "optimizer/vars/1", path))
    if iterations < 0:
        raise ZenFileError(f"{path!r}: the optimizer's iterations are negative")
    state = {"iterations": iterations}
    index = 2
    for position, tensor in enumerate(tensors):
        for slot in slots:
            value = _dataset(group, str(index), tuple(tensor.shape),
                             f"optimizer/vars/{index}", path).astype(np.float32)
            if slot == "momentum_buffer":  # Keras keeps -lr * Zen's buffer
                value = value / -learning_rate
            state[f"{position}/{slot}"] = value
            index += 1
        state[f"{position}/step"] = iterations
    if iterations:
        optimizer.load_state_dict(state, tensors)


saving.KERAS_FORMAT.update(save=save_keras, load=load_keras, detect=is_keras_file)
