"""Hostile or broken files: model, weights and backup files are npz archives
read with allow_pickle=False plus a JSON config. Whatever the bytes, reading
either succeeds or raises ZenFileError (a ValueError) or FileNotFoundError:
never a pickle, KeyError or zipfile trace, and never code execution.

The fuzz test tries a few thousand random and mutated files per run (a
seeded loop, so a failure repeats) and prints how many it tried. Functional
model files get their own fuzzing of the graph (references to other nodes'
outputs, layer indices, node order) and named hostile graphs: cycles,
dangling references, huge fan-out, absurd shapes, deep nesting; each is
refused with a ZenFileError within a couple of seconds."""
import copy
import io
import json
import os
import time
import zipfile
from collections import Counter

import numpy as np
import pytest

import zen
from zen import rng
from zen.data import ArrayDataset, DataLoader
from zen.fileio import ZenFileError
from zen import fileio
from zen.models import Input, Model, Sequential, load_model
from zen.nn import Add, BatchNorm, Concatenate, Dense, Dropout, losses
from zen.optim import Adam, schedules
from zen.train.backup import read_backup, restore_backup, write_backup

FILES_PER_KIND = 200   # x 6 kinds x 3 readers: 3,600 files, ~6 s
FUNCTIONAL_PER_KIND = 60  # x 6 kinds for the functional model file, ~2 s
GRAPH_FILES = 300      # graph mutations of the functional model file, ~1-3 s
QUICKLY = 2.0          # seconds: a hostile file is refused at least this fast


def net():
    zen.set_seed(0)
    model = Sequential([Dense(8, activation="relu"), BatchNorm(), Dropout(0.2), Dense(3)])
    model.build((None, 4))
    return model


def functional():
    """A compiled functional model: two inputs, a shared layer called twice, a
    nested model, merge layers and two named outputs."""
    zen.set_seed(0)
    inner_input = Input((3,))
    inner = Model(inner_input, Dense(3, activation="tanh")(inner_input), name="inner")
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(3, name="shared")
    hidden = BatchNorm()(Add()([inner(shared(a)), shared(b)]))
    model = Model([a, b], {"cls": Dense(3, name="cls")(hidden),
                           "reg": Dense(1, name="reg")(Concatenate()([hidden, a]))})
    model.compile("adam", {"cls": losses.SparseCategoricalCrossentropy(from_logits=True),
                           "reg": "mse"}, metrics={"cls": ["accuracy"]},
                  loss_weights={"reg": 0.5})
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    model.fit([x, -x], {"cls": np.arange(16) % 3, "reg": x[:, :1]}, epochs=1, batch_size=8,
              verbose=0)
    return model


def trained():
    """A compiled model after a short fit, and its trainer (with History)."""
    model = net()
    model.compile(Adam(lr=schedules.CosineDecay(0.01, 50)),
                  losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"])
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    model.fit(x, np.arange(32) % 3, epochs=2, batch_size=8, verbose=0)
    return model, model._trainer


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """{reader: (valid file bytes, read(path))}, each reader with its own target."""
    root = tmp_path_factory.mktemp("originals")
    model, trainer = trained()
    model.save(root / "model.zen")
    model.save_weights(root / "weights.zen")
    functional().save(root / "functional.zen")
    trainer.train_loader = DataLoader(ArrayDataset(np.zeros((4, 4))), 2)
    write_backup(root / "backup.zen", trainer, epoch=1)

    target = net()
    _, restore_into = trained()
    restore_into.train_loader = DataLoader(ArrayDataset(np.zeros((4, 4))), 2)
    readers = {
        "load_model": ("model.zen", load_model),
        "functional": ("functional.zen", load_model),
        "load_weights": ("weights.zen", lambda path: target.load_weights(path)),
        "backup": ("backup.zen", lambda path: restore_backup(read_backup(path), restore_into,
                                                             path)),
    }
    return {name: ((root / file).read_bytes(), read) for name, (file, read) in readers.items()}


# ----- the mutations ----------------------------------------------------------------------
def unpack(data):
    """({name: array}, config dict) of a valid file's bytes."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return arrays, json.loads(arrays.pop("zen_config").tobytes())


def pack(arrays, config_text):
    buffer = io.BytesIO()
    payload = dict(arrays)
    if config_text is not None:
        payload["zen_config"] = np.frombuffer(config_text.encode(), np.uint8)
    np.savez(buffer, **payload)   # object arrays are pickled here: readers must refuse them
    return buffer.getvalue()


def random_bytes(g, data):
    body = g.bytes(int(g.integers(0, 3000)))
    return (b"PK\x03\x04" + body) if g.random() < 0.5 else body


def truncated(g, data):
    return data[:int(g.integers(0, len(data)))]


def flipped(g, data):
    data = bytearray(data)
    # half of the flips land in the zip headers and the JSON near both ends
    for _ in range(int(g.integers(1, 9))):
        where = int(g.integers(0, len(data)))
        if g.random() < 0.5:
            where = int(g.integers(0, 300)) if g.random() < 0.5 else len(data) - 1 - int(
                g.integers(0, 300))
        data[where] = int(g.integers(0, 256))
    return bytes(data)


ODD_VALUES = [None, -1, 0, 1, 10 ** 30, -(10 ** 30), 1.5, float("nan"), "x", "", [], {},
              True, [1, "a"], {"a": 1}, [[[]]], ["Dense"], 2 ** 64]


def nodes(tree, path=()):
    """Every (path, value) in a JSON tree."""
    yield path, tree
    children = tree.items() if isinstance(tree, dict) else \
        enumerate(tree) if isinstance(tree, list) else ()
    for key, child in children:
        yield from nodes(child, path + (key,))


def set_at(tree, path, value=None, delete=False):
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def json_mutated(g, data):
    arrays, config = unpack(data)
    for _ in range(int(g.integers(1, 4))):
        paths = [p for p, _ in nodes(config) if p]
        path = paths[int(g.integers(len(paths)))]
        value = dict(nodes(config))[path]
        action = g.random()
        if action < 0.25:
            set_at(config, path, delete=True)
        elif action < 0.55:
            set_at(config, path, copy.deepcopy(ODD_VALUES[int(g.integers(len(ODD_VALUES)))]))
        elif path[-1] == "version" or action < 0.6:
            config["version"] = fileio.FORMAT_VERSION + int(g.integers(-2, 3))
        elif path[-1] == "class_name" or action < 0.75:
            names = ["Dense", "Conv2D", "LSTM", "Evil", "__import__", "os.system", "Layer",
                     "Merge", "Model", "ShapeFreeLayer"]
            class_paths = [p for p, _ in nodes(config) if p and p[-1] == "class_name"]
            if class_paths:
                set_at(config, class_paths[int(g.integers(len(class_paths)))],
                       names[int(g.integers(len(names)))])
        elif isinstance(value, int) and not isinstance(value, bool):
            set_at(config, path, value + int(g.integers(-3, 4)))
        else:  # change a shape
            shapes = [p for p, v in nodes(config) if p and p[-1] in ("shape", "input_shape",
                                                                      "build_input_shape")]
            if shapes:
                where = shapes[int(g.integers(len(shapes)))]
                shape = dict(nodes(config))[where]
                shape = list(shape) if isinstance(shape, list) else []
                shape = shape + [2] if g.random() < 0.3 else [n + 1 if isinstance(n, int)
                                                              else n for n in shape]
                set_at(config, where, shape)
    return pack(arrays, json.dumps(config))


def arrays_mutated(g, data):
    arrays, config = unpack(data)
    names = sorted(arrays)
    name = names[int(g.integers(len(names)))]
    action = int(g.integers(0, 6))
    if action == 0:
        del arrays[name]
    elif action == 1:
        dtype = ["int32", "float16", "complex64", "bool", "<U3", "float64"][int(g.integers(6))]
        arrays[name] = arrays[name].astype(dtype)
    elif action == 2:
        arrays[name] = np.zeros(tuple(int(n) for n in g.integers(0, 4, int(g.integers(0, 3)))),
                                np.float32)
    elif action == 3:
        arrays[name] = np.array([{"a": 1}, None], dtype=object)    # pickled by np.savez
    elif action == 4:
        arrays["optimizer/" + name] = arrays.pop(name)
    else:
        arrays[name + "x"] = arrays.pop(name)
    return pack(arrays, json.dumps(config))


MUTATIONS = [random_bytes, truncated, flipped, json_mutated, arrays_mutated]


def test_fuzz_every_file_loads_or_raises_zen_file_error(tmp_path, originals):
    state = rng.get_state()
    outcomes, failures, tried = Counter(), [], 0
    for reader, (data, read) in originals.items():
        for kind in MUTATIONS + ["json_mutated_twice"]:
            mutate = json_mutated if kind == "json_mutated_twice" else kind
            kind_name = kind if isinstance(kind, str) else kind.__name__
            for seed in range(FUNCTIONAL_PER_KIND if reader == "functional" else FILES_PER_KIND):
                g = np.random.default_rng([seed, len(kind_name), len(reader)])
                content = mutate(g, data)
                if kind == "json_mutated_twice":
                    content = json_mutated(g, content) if content[:2] == b"PK" else content
                path = tmp_path / f"{reader}-{kind_name}-{seed}.zen"
                path.write_bytes(content)
                tried += 1
                try:
                    read(path)
                    outcomes[(reader, "loaded")] += 1
                except (ZenFileError, FileNotFoundError):
                    outcomes[(reader, "ZenFileError")] += 1
                except Exception as error:  # noqa: BLE001 - the point of the test
                    failures.append((reader, kind_name, seed, f"{type(error).__name__}: {error}"))
                path.unlink()
    rng.set_state(state)
    print(f"\nfuzzed {tried} files: {dict(outcomes)}")
    assert failures == [], failures[:10]
    assert tried >= 3000
    for reader in originals:  # both outcomes happen for each reader
        assert outcomes[(reader, "loaded")] > 0 and outcomes[(reader, "ZenFileError")] > 0


# ----- named hostile files -------------------------------------------------------------------
class Payload:
    """Unpickling this would create a directory: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def hostile(name, data, tmp_path):
    """Bytes of a hostile variant `name` of the valid file `data`."""
    arrays, config = unpack(data)
    if name == "pickle":
        arrays["weight_0"] = np.array([Payload(str(tmp_path / "pwned"))], dtype=object)
    elif name == "config_pickle":
        return pack({**arrays, "zen_config": np.array([Payload(str(tmp_path / "pwned"))],
                                                      dtype=object)}, None)
    elif name == "newer":
        config["version"] = fileio.FORMAT_VERSION + 1
    elif name == "unknown_layer":
        for path, value in nodes(config):
            if path and path[-1] == "class_name" and value == "Dense":
                set_at(config, path, "os.system")
    elif name == "deep_json":
        return pack(arrays, "[" * 100000 + "]" * 100000)
    elif name == "foreign_npz":
        return pack({"x": np.zeros(3)}, None)
    elif name == "plain_zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "hello")
        return buffer.getvalue()
    elif name == "encrypted_flag":
        data = bytearray(data)
        for at in range(len(data) - 4):  # set bit 0 (encrypted) of every general-purpose flag
            if data[at:at + 4] in (b"PK\x03\x04", b"PK\x01\x02"):
                data[at + (6 if data[at + 2] == 3 else 8)] |= 1
        return bytes(data)
    elif name == "unknown_compression":
        data = bytearray(data)
        for at in range(len(data) - 4):
            if data[at:at + 4] in (b"PK\x03\x04", b"PK\x01\x02"):
                data[at + (8 if data[at + 2] == 3 else 10)] = 99
        return bytes(data)
    elif name == "empty":
        return b""
    elif name == "truncated":
        return data[:len(data) // 2]
    elif name == "random":
        return np.random.default_rng(0).bytes(len(data))
    return pack(arrays, json.dumps(config))


HOSTILE = [
    ("pickle", r"corrupt|Object arrays|not match"),
    ("config_pickle", r"corrupt|Object arrays"),
    ("newer", r"format version 2, newer than this Zen reads \(up to 1\); upgrade Zen"),
    ("unknown_layer", r"Unknown layer class 'os.system' in the model config.*register"),
    ("deep_json", r"config is not valid JSON"),
    ("foreign_npz", r"not a Zen file: it has no 'zen_config' entry"),
    ("plain_zip", r"not a Zen file|corrupt"),
    ("encrypted_flag", r"corrupt or truncated"),
    ("unknown_compression", r"corrupt or truncated"),
    ("empty", r"not an npz \(zip\) archive"),
    ("truncated", r"corrupt or truncated"),
    ("random", r"not an npz \(zip\) archive"),
]


@pytest.mark.parametrize("reader, name, message", [
    (reader, name, message) for reader in ("load_model", "load_weights", "backup", "functional")
    for name, message in HOSTILE
    if reader in ("load_model", "functional") or name != "unknown_layer"])  # model files only
def test_named_hostile_files(tmp_path, originals, reader, name, message):
    data, read = originals[reader]
    path = tmp_path / "file.zen"
    path.write_bytes(hostile(name, data, tmp_path))
    with pytest.raises(ZenFileError, match=message):
        read(path)
    assert not (tmp_path / "pwned").exists()   # no code ran


@pytest.mark.parametrize("reader", ["load_model", "load_weights", "backup"])
def test_missing_files_and_directories(tmp_path, originals, reader):
    _, read = originals[reader]
    with pytest.raises(FileNotFoundError, match="No such file"):
        read(tmp_path / "missing.zen")
    with pytest.raises(ZenFileError):
        read(tmp_path)


@pytest.mark.parametrize("reader, other", [("load_model", "weights.zen"),
                                           ("load_weights", "backup.zen"),
                                           ("backup", "model.zen")])
def test_a_file_of_another_kind_is_named(tmp_path, originals, reader, other):
    files = {"model.zen": "load_model", "weights.zen": "load_weights", "backup.zen": "backup"}
    path = tmp_path / other
    path.write_bytes(originals[files[other]][0])
    with pytest.raises(ZenFileError, match=r"holds format 'zen\.\w+', expected"):
        originals[reader][1](path)


# ----- functional model files: hostile graphs ----------------------------------------------------
def graph_of(config):
    return config["model"]["config"]


def reference(node, output=0):
    return {"__tensor__": [node, output]}


def nested(value, depth):
    for _ in range(depth):
        value = [value]
    return value


def nested_models(config, depth):
    """The model wrapped in `depth` functional models, each calling the one inside."""
    entry = {"class_name": "Model", "name": "core", "config": {
        "name": "core", "layers": [
            {"class_name": "InputLayer", "name": "core_in", "config": {"shape": [4]}},
            {"class_name": "Dense", "name": "core_dense", "config": {"units": 4}}],
        "nodes": [{"layer": 1, "args": [reference(0)], "kwargs": {}}],
        "inputs": reference(0), "outputs": reference(1)}}
    for level in range(depth):
        entry = {"class_name": "Model", "name": f"m{level}", "config": {
            "name": f"m{level}",
            "layers": [{"class_name": "InputLayer", "name": f"in{level}",
                        "config": {"shape": [4]}}, entry],
            "nodes": [{"layer": 1, "args": [reference(0)], "kwargs": {}}],
            "inputs": reference(0), "outputs": reference(1)}}
    config["model"] = entry


def nested_wrappers(config, depth):
    layer = {"class_name": "Dense", "name": "innermost", "config": {"units": 3}}
    for level in range(depth):
        layer = {"class_name": "TimeDistributed", "name": f"td{level}",
                 "config": {"layer": layer}}
    graph_of(config)["layers"][-1] = layer


def set_input_shape(shape):
    def change(config):
        graph_of(config)["layers"][0]["config"]["shape"] = shape
    return change


def set_node(index, key, value):
    def change(config):
        graph_of(config)["nodes"][index][key] = value
    return change


def set_first_argument(value):
    return set_node(0, "args", [value])


HOSTILE_GRAPHS = {  # name: (change to the config, what the error says)
    "cycle": (set_first_argument(reference(4)), r"tensor \[4, 0\].*dangling or cyclic"),
    "self_reference": (set_first_argument(reference(2)), r"dangling or cyclic"),
    "node_index_out_of_range": (set_first_argument(reference(10 ** 6)), r"\[1000000, 0\]"),
    "output_index_out_of_range": (set_first_argument(reference(0, 3)), r"\[0, 3\]"),
    "negative_index": (set_first_argument(reference(-1)), r"\[-1, 0\]"),
    "float_index": (set_first_argument({"__tensor__": [0.0, 0]}), r"\[0.0, 0\]"),
    "huge_index": (set_first_argument(reference(2 ** 64)), r"dangling or cyclic"),
    "dangling_model_output": (lambda c: graph_of(c).update(outputs=reference(99)),
                              r"\[99, 0\]"),
    "model_input_not_an_input": (lambda c: graph_of(c).update(inputs=[reference(2),
                                                                     reference(1)]),
                                 r"must come from zen.Input"),
    "same_input_twice": (lambda c: graph_of(c).update(inputs=[reference(0), reference(0)]),
                         r"appears twice"),
    "layer_index_out_of_range": (set_node(0, "layer", 99), r"Node 0 names layer 99"),
    "layer_index_negative": (set_node(0, "layer", -1), r"Node 0 names layer -1"),
    "layer_index_not_an_int": (set_node(0, "layer", "2"), r"Node 0 names layer '2'"),
    "layer_is_an_input_layer": (set_node(0, "layer", 0), r"Node 0 names layer 0"),
    "fan_out_100000": (set_first_argument([reference(0)] * 100_000),
                       r"Node 0 takes more than 1024 arguments"),
    "fan_out_in_kwargs": (set_node(0, "kwargs", {"x": [reference(0)] * 5000}),
                          r"more than 1024 arguments"),
    "absurd_input_shape": (set_input_shape([10 ** 9, 10 ** 9]), r"`shape` of Input"),
    "huge_input_shape": (set_input_shape([2 ** 64]), r"`shape` of Input"),
    "zero_input_shape": (set_input_shape([0]), r"`shape` of Input"),
    "negative_input_shape": (set_input_shape([-4]), r"`shape` of Input"),
    "text_input_shape": (set_input_shape(["4"]), r"`shape` of Input"),
    "many_axes_input_shape": (set_input_shape([1] * 100), r"cannot rebuild"),
    "deeply_nested_arguments": (set_first_argument(nested(reference(0), 600)),
                                r"cannot rebuild"),
    "deeply_nested_models": (lambda c: nested_models(c, 300), r"cannot rebuild"),
    "deeply_nested_wrappers": (lambda c: nested_wrappers(c, 300), r"cannot rebuild"),
    "malformed_node": (set_node(0, "args", "a"), r"Node 0 of the model config is malformed"),
    "nodes_not_a_list": (lambda c: graph_of(c).update(nodes={"0": {}}),
                         r"needs lists 'layers' and 'nodes'"),
    "layers_missing": (lambda c: graph_of(c).pop("layers"), r"needs lists 'layers'"),
    "outputs_missing": (lambda c: graph_of(c).pop("outputs"), r"`outputs`"),
    "unknown_layer_in_graph": (lambda c: graph_of(c)["layers"][3].update(class_name="os.system"),
                               r"Unknown layer class 'os.system'"),
    "abstract_merge_layer": (lambda c: graph_of(c)["layers"][4].update(class_name="Merge"),
                             r"Unknown layer class 'Merge'"),
    "abstract_base_layer": (lambda c: graph_of(c)["layers"][4].update(
        class_name="ShapeFreeLayer"), r"Unknown layer class 'ShapeFreeLayer'"),
    "model_without_a_graph": (lambda c: graph_of(c)["layers"][3].pop("config"),
                              r"needs lists 'layers' and 'nodes'"),
}


@pytest.fixture(scope="module")
def functional_file(originals):
    return originals["functional"][0]


def test_the_functional_file_loads_as_saved(functional_file, tmp_path):
    path = tmp_path / "functional.zen"
    path.write_bytes(functional_file)
    model = load_model(path)
    assert model.output_names == ["cls", "reg"] and model.input_names == ["a", "b"]
    config = graph_of(unpack(functional_file)[1])
    assert [node["layer"] for node in config["nodes"]][:3] == [2, 3, 2]  # shared, inner, shared


@pytest.mark.parametrize("name", HOSTILE_GRAPHS)
def test_named_hostile_graphs_are_refused_quickly(name, functional_file, tmp_path):
    change, message = HOSTILE_GRAPHS[name]
    arrays, config = unpack(functional_file)
    change(config)
    path = tmp_path / "graph.zen"
    path.write_bytes(pack(arrays, json.dumps(config)))
    start = time.perf_counter()
    with pytest.raises(ZenFileError, match=message) as info:
        load_model(path)
    assert time.perf_counter() - start < QUICKLY
    assert isinstance(info.value, ValueError) and info.value.__cause__ is None


def test_legitimately_nested_models_still_load(functional_file, tmp_path):
    arrays, config = unpack(functional_file)
    nested_models(config, 3)
    path = tmp_path / "nested.zen"
    path.write_bytes(pack(arrays, json.dumps(config)))
    with pytest.raises(ZenFileError, match=r"do not fit the model"):  # the graph is fine
        load_model(path)


def graph_mutated(g, data):
    """The functional file with 1-3 changes to its graph: references moved to
    other (possibly later, missing or negative) nodes and outputs, layer
    indices changed, nodes swapped, duplicated or deleted."""
    arrays, config = unpack(data)
    graph = graph_of(config)
    for _ in range(int(g.integers(1, 4))):
        count = len(graph["nodes"])
        refs = [p for p, _ in nodes(graph) if p and p[-1] == "__tensor__"]
        action = g.random()
        if action < 0.45 and refs:
            address = [int(g.integers(-1, count + 4)), int(g.integers(-1, 3))]
            set_at(graph, refs[int(g.integers(len(refs)))], address)
        elif action < 0.65 and count:
            graph["nodes"][int(g.integers(count))]["layer"] = int(
                g.integers(-1, len(graph["layers"]) + 2))
        elif action < 0.8 and count > 1:
            i, j = (int(n) for n in g.choice(count, 2, replace=False))
            graph["nodes"][i], graph["nodes"][j] = graph["nodes"][j], graph["nodes"][i]
        elif action < 0.9 and count:
            graph["nodes"].insert(int(g.integers(count + 1)),
                                  copy.deepcopy(graph["nodes"][int(g.integers(count))]))
        elif count:
            del graph["nodes"][int(g.integers(count))]
    return pack(arrays, json.dumps(config))


def test_fuzz_functional_graphs_load_or_raise_zen_file_error_quickly(functional_file, tmp_path):
    state = rng.get_state()
    outcomes, failures, slowest = Counter(), [], 0.0
    path = tmp_path / "graph.zen"
    for seed in range(GRAPH_FILES):
        path.write_bytes(graph_mutated(np.random.default_rng([seed, 7]), functional_file))
        start = time.perf_counter()
        try:
            load_model(path)
            outcomes["loaded"] += 1
        except ZenFileError:
            outcomes["ZenFileError"] += 1
        except Exception as error:  # noqa: BLE001 - the point of the test
            failures.append((seed, f"{type(error).__name__}: {error}"))
        slowest = max(slowest, time.perf_counter() - start)
    rng.set_state(state)
    print(f"\nfuzzed {GRAPH_FILES} graphs: {dict(outcomes)}, slowest {slowest:.2f} s")
    assert failures == [], failures[:10]
    assert outcomes["loaded"] > 0 and outcomes["ZenFileError"] > 0
    assert slowest < QUICKLY
