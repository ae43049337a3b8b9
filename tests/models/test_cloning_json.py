"""Building a Sequential from an Input, clone_model, to_json/model_from_json,
and the user's classes in files as Keras 3 treats them: an unregistered
class saves and loads with custom_objects; a class without get_config gets
the automatic config of its constructor arguments, or a clear error at save."""
import json

import numpy as np
import pytest

import zen
from zen import nn
from zen.fileio import ZenFileError
from zen.models import (Input, Model, Sequential, clone_model, load_model, model_from_json,
                        register_serializable, to_json)
from zen.models.graph import Graph
from zen.nn import Dense, Dropout, Layer

X = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)


def read_config(path):
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["zen_config"].tobytes())


# ----- user classes ------------------------------------------------------------------------
class Scale(Layer):
    """Unregistered, no get_config: x * factor (automatic config)."""

    def __init__(self, factor=2.0, name=None):
        super().__init__(name)
        self.factor = factor

    def call(self, x):
        return x * self.factor


class Tower(Model):
    """Unregistered subclassed model, no get_config."""

    def __init__(self, units=4, name=None):
        super().__init__(name=name)
        self.units = units
        self.hidden = Dense(units, activation="relu")
        self.out = Dense(3)

    def call(self, x):
        return self.out(self.hidden(x))


@register_serializable(package="tests_cloning")
class AutoNet(Model):
    """Registered subclassed model without get_config (Keras 3's automatic config)."""

    def __init__(self, units=4, name=None, **options):
        super().__init__(name=name)
        self.units, self.options = units, options
        self.hidden = Dense(units, activation="tanh")
        self.out = Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


@register_serializable(package="tests_cloning")
class Wrapped(Layer):
    """Registered, no get_config, takes a layer: cannot be saved automatically."""

    def __init__(self, inner, name=None):
        super().__init__(name)
        self.inner = inner

    def call(self, x):
        return self.inner(x)


# ----- Sequential built from an Input --------------------------------------------------------
def test_a_sequential_that_starts_with_an_input_is_built_at_once():
    model = Sequential([Input((8,)), Dense(4), Dense(2)])
    assert model.built and model.input_shape == (None, 8)
    assert [type(layer) for layer in model.layers] == [Dense, Dense]   # not the Input
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, 4)" in lines[0] and "(None, 2)" in lines[0] and "Total params: 46" in lines[0]
    assert model.count_params() == 46 and model.predict(X).shape == (6, 2)


def test_an_input_added_first_builds_and_is_refused_anywhere_else():
    model = Sequential()
    model.add(Input((8,)))
    assert model.built and model.layers == []
    model.add(Dense(3))
    assert model.predict(X).shape == (6, 3)
    with pytest.raises(ValueError, match=r"Input can only be the first item.*after 1 layer"):
        Sequential([Dense(4), Input((8,))])
    with pytest.raises(ValueError, match=r"its input shape is already \(None, 8\)"):
        model.add(Input((8,)))
    built = Sequential([Dense(2)])
    built.build((None, 8))
    with pytest.raises(ValueError, match=r"Input can only be the first item"):
        built.add(Input((8,)))


def test_a_sequential_built_from_an_input_round_trips(tmp_path):
    zen.set_seed(0)
    model = Sequential([Input((8,)), Dense(4, activation="relu"), Dense(2)])
    config = model.get_config()
    assert config["build_input_shape"] == [None, 8]
    assert [entry["class_name"] for entry in config["layers"]] == ["Dense", "Dense"]
    again = Sequential.from_config(config)
    assert again.built and again.count_params() == model.count_params()
    model.save(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen")
    assert loaded.input_shape == (None, 8)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ----- the three kinds of model --------------------------------------------------------------
def sequential():
    return Sequential([Input((8,)), Dense(5, activation="relu"), Dropout(0.1), Dense(3)])


def functional():
    inputs = Input((8,), name="features")
    shared = Dense(5, activation="relu", name="shared")
    hidden = nn.Add()([shared(inputs), shared(inputs)])
    return Model(inputs, Dense(3, name="head")(Scale(0.5)(hidden)), name="func")


def subclassed():
    model = AutoNet(6, name="auto", flavour="plain")
    model.build((None, 8))
    return model


def unregistered_subclassed():
    model = Tower(5, name="tower")
    model.build((None, 8))
    return model


KINDS = {"sequential": sequential, "functional": functional, "subclassed": subclassed,
         "unregistered_subclassed": unregistered_subclassed}


def assert_same_architecture(a, b):
    assert type(a) is type(b) and a.name == b.name
    assert [type(x) for x in a.all_layers()] == [type(y) for y in b.all_layers()]
    if isinstance(a, Sequential) or a.inputs:  # a subclass names its layers as it runs
        assert [x.name for x in a.layers] == [y.name for y in b.layers]
    assert [w.shape for w in a.get_weights()] == [w.shape for w in b.get_weights()]
    assert a.count_params() == b.count_params()


@pytest.mark.parametrize("kind", KINDS)
def test_clone_model_has_the_architecture_and_new_weights(kind):
    zen.set_seed(0)
    model = KINDS[kind]()
    model.compile("adam", "mse")
    clone = clone_model(model)
    assert clone is not model and clone.built
    assert_same_architecture(model, clone)
    assert all(t is not u for t, u in zip(model.weights, clone.weights))
    kernels = [(w, v) for w, v in zip(model.get_weights(), clone.get_weights()) if w.ndim == 2]
    assert kernels and all(not np.array_equal(w, v) for w, v in kernels)   # drawn afresh
    assert clone.predict(X).shape == model.predict(X).shape
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(X), model.predict(X), rtol=1e-6)
    assert getattr(clone, "_trainer", None) is None                         # not compiled
    with pytest.raises(ValueError, match="compile"):
        clone.fit(X, np.zeros((6, 3), np.float32), verbose=0)


def test_clone_model_keeps_shared_layers_shared_and_unbuilt_models_unbuilt():
    zen.set_seed(0)
    clone = clone_model(functional())
    assert [layer.name for layer in clone.layers].count("shared") == 1
    assert clone.count_params() == 45 + 18
    unbuilt = clone_model(Sequential([Dense(3)]))
    assert not unbuilt.built and type(unbuilt.layers[0]) is Dense
    assert clone_model(AutoNet(3)).built is False
    with pytest.raises(ValueError, match=r"Expected `model` to be a zen.Model"):
        clone_model(Dense(3))


@pytest.mark.parametrize("kind", KINDS)
def test_to_json_and_model_from_json_round_trip(kind):
    zen.set_seed(0)
    model = KINDS[kind]()
    text = to_json(model)
    spec = json.loads(text)
    assert {"class_name", "name", "config", "build_config"} <= set(spec)
    custom = {"Tower": Tower, "Scale": Scale}
    again = model_from_json(text, custom_objects=custom)
    assert again.built
    assert_same_architecture(model, again)
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert to_json(again) == text


def test_model_from_json_refuses_text_that_is_not_a_model():
    for text, message in (("{", r"cannot be read as JSON"), ("[1, 2]", r"'class_name'"),
                          ('{"class_name": "Dense"}', r"'class_name' and 'config'"),
                          ('{"class_name": "os.system", "config": {}}',
                           r"Unknown layer class 'os.system'"),
                          ("[" * 100000 + "]" * 100000, r"JSON")):
        with pytest.raises(ValueError, match=message):
            model_from_json(text)


# ----- unregistered classes: saved, loaded with custom_objects --------------------------------
def test_an_unregistered_layer_saves_and_loads_with_custom_objects(tmp_path):
    zen.set_seed(0)
    model = Sequential([Input((8,)), Dense(4), Scale(3.0, name="triple"), Dense(2)])
    model.save(tmp_path / "m.zen")
    entry = read_config(tmp_path / "m.zen")["model"]["config"]["layers"][1]
    assert entry == {"class_name": "Scale", "name": "triple",
                     "config": {"factor": 3.0, "name": "triple"}, "module": __name__}
    with pytest.raises(ZenFileError, match=r"'Scale'.*a custom class \(of module.*"
                                           r"custom_objects=\{'Scale': Scale\}.*"
                                           r"register_serializable"):
        load_model(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen", custom_objects={"Scale": Scale})
    assert type(loaded.layers[1]) is Scale and loaded.layers[1].factor == 3.0
    assert loaded.layers[1].name == "triple"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(ValueError, match=r"Unknown layer class 'Scale'.*custom_objects="):
        model_from_json(to_json(model))
    again = Sequential.from_config(model.get_config(), custom_objects={"Scale": Scale})
    assert type(again.layers[1]) is Scale and again.built
    graph = Graph.from_config(functional().get_config(), custom_objects={"Scale": Scale})
    assert any(type(layer) is Scale for layer in graph.layers)


def test_an_unregistered_subclassed_model_saves_and_loads_with_custom_objects(tmp_path):
    zen.set_seed(0)
    model = unregistered_subclassed()
    model.compile("sgd", "mse")
    model.fit(X, np.ones((6, 3), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "t.zen")
    assert read_config(tmp_path / "t.zen")["model"] == {
        "class_name": "Tower", "name": "tower", "config": {"units": 5, "name": "tower"},
        "module": __name__}
    with pytest.raises(ZenFileError, match=r"'Tower'.*custom_objects=.*register_serializable"):
        load_model(tmp_path / "t.zen")
    loaded = load_model(tmp_path / "t.zen", custom_objects={"Tower": Tower})
    assert type(loaded) is Tower and loaded.units == 5
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.optimizer.iterations == model.optimizer.iterations == 1


def test_custom_objects_reach_layers_inside_wrappers_and_nested_models(tmp_path):
    zen.set_seed(0)
    inner_input = Input((3, 8))
    inner = Model(inner_input, nn.TimeDistributed(Scale(4.0))(inner_input), name="inner")
    outer_input = Input((3, 8))
    model = Model(outer_input, nn.Flatten()(inner(outer_input)))
    model.save(tmp_path / "nested.zen")
    loaded = load_model(tmp_path / "nested.zen", custom_objects={"Scale": Scale})
    x = np.stack([X[:3]] * 2)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert clone_model(model).predict(x).shape == (2, 24)   # no custom_objects needed


def test_custom_objects_never_replace_a_built_in(tmp_path):
    class Dense(Layer):  # the user's class shares its name with zen.nn.Dense
        def call(self, x):
            return x

    zen.set_seed(0)
    model = Sequential([Input((8,)), nn.Dense(2)])
    model.save(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen", custom_objects={"Dense": Dense})
    assert type(loaded.layers[0]) is nn.Dense
    assert type(model_from_json(to_json(model), {"Dense": Dense}).layers[0]) is nn.Dense
    mixed = Sequential([Input((8,)), nn.Dense(2), Dense()])   # both: each gets its own
    clone = clone_model(mixed)
    assert [type(layer) for layer in clone.layers] == [nn.Dense, Dense]


def test_custom_objects_must_be_a_dict_of_layer_classes(tmp_path):
    zen.set_seed(0)
    Sequential([Input((8,)), Scale()]).save(tmp_path / "m.zen")
    with pytest.raises(TypeError, match=r"`custom_objects`, expected a dict"):
        load_model(tmp_path / "m.zen", custom_objects=[Scale])
    with pytest.raises(ValueError, match=r"custom_objects\['Scale'\] must be a Layer"):
        load_model(tmp_path / "m.zen", custom_objects={"Scale": print})


def test_a_file_cannot_make_zen_import_a_module(tmp_path):
    zen.set_seed(0)
    model = Sequential([Input((8,)), nn.Dense(2)])
    spec = json.loads(to_json(model))
    spec["config"]["layers"][0].update(class_name="system", module="os")
    with pytest.raises(ValueError, match=r"Unknown layer class 'system' .*module 'os'"):
        model_from_json(json.dumps(spec))
    spec["config"]["layers"][0].update(class_name="Dense", module="os")  # not the built-in
    with pytest.raises(ValueError, match=r"Unknown layer class 'Dense' .*module 'os'"):
        model_from_json(json.dumps(spec))


# ----- the automatic config -------------------------------------------------------------------
def test_a_registered_model_without_get_config_round_trips_by_its_arguments(tmp_path):
    zen.set_seed(0)
    model = subclassed()
    model.save(tmp_path / "a.zen")
    assert read_config(tmp_path / "a.zen")["model"] == {
        "class_name": "tests_cloning>AutoNet", "name": "auto",
        "config": {"units": 6, "name": "auto", "flavour": "plain"}}
    loaded = load_model(tmp_path / "a.zen")
    assert type(loaded) is AutoNet and loaded.units == 6
    assert loaded.options == {"flavour": "plain"} and loaded.name == "auto"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_the_automatic_config_holds_the_arguments_given_as_plain_json():
    assert zen.nn.serialization.layer_config(AutoNet()) == {}            # defaults left out
    assert zen.nn.serialization.layer_config(AutoNet(3, sizes=(1, 2), table={"a": [None]})) \
        == {"units": 3, "sizes": [1, 2], "table": {"a": [None]}}
    assert zen.nn.serialization.layer_config(Scale(1.5)) == {"factor": 1.5}  # positional

    class Wider(nn.Dense):  # inherits Dense's own get_config
        pass
    assert zen.nn.serialization.layer_config(Wider(3)) == nn.Dense(3).get_config()


@pytest.mark.parametrize("argument, what", [
    (lambda: Dense(2), "a Dense"), (lambda: np.ones(3), "a ndarray"),
    (lambda: print, "a builtin_function_or_method"), (lambda: [1, object()], "a object"),
    (lambda: {1: 2}, "a dict with keys that are not strings")])
def test_an_argument_that_is_not_json_is_refused_at_save(tmp_path, argument, what):
    model = Sequential([Wrapped(argument())])
    message = (rf"layer 'wrapped.*' \(Wrapped\).*constructor argument `inner` cannot be saved "
               rf"automatically: {what} is not a plain JSON value.*"
               rf"Add a get_config\(\) method to Wrapped returning JSON-able")
    with pytest.raises(ValueError, match=message):
        model.save(tmp_path / "w.zen")
    assert not (tmp_path / "w.zen").exists()
    with pytest.raises(ValueError, match=message):
        to_json(model)
    with pytest.raises(ValueError, match=message):
        clone_model(model)


def test_extra_positional_arguments_are_refused_at_save():
    class Many(Layer):
        def __init__(self, *sizes):
            super().__init__()
            self.sizes = sizes

    with pytest.raises(ValueError, match=r"argument `\*sizes` cannot be saved automatically"):
        to_json(Sequential([Many(1, 2)]))
    assert json.loads(to_json(Sequential([Many()])))["config"]["layers"][0]["config"] == {}
