"""Subclassed models: layers assigned in `__init__` (directly, in lists, in
dicts) are tracked in assignment order; `call` may take a tensor, a list or
a dict; and the whole model API (compile, fit, evaluate, predict,
train_on_batch, summary, weights and weight files) behaves exactly as it
does on the same network written as a Sequential."""
import numpy as np
import pytest

import zen
from zen.models import Input, Model, Sequential
from zen.nn import Concatenate, Dense, Dropout, Layer

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4)).astype(np.float32)
Y = rng.normal(size=(40, 2)).astype(np.float32)


# ----- one network, written five ways -----------------------------------------------------------
def sequential():
    return Sequential([Dense(8, activation="relu"), Dropout(0.25), Dense(2)])


class Attributes(Model):
    def __init__(self):
        super().__init__()
        self.hidden = Dense(8, activation="relu")
        self.dropout = Dropout(0.25)
        self.out = Dense(2)

    def call(self, x):
        return self.out(self.dropout(self.hidden(x)))


class InAList(Model):
    def __init__(self):
        super().__init__()
        self.blocks = [Dense(8, activation="relu"), Dropout(0.25), Dense(2)]

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class InADict(Model):
    def __init__(self):
        super().__init__()
        self.blocks = {"hidden": Dense(8, activation="relu"), "dropout": Dropout(0.25),
                       "out": Dense(2)}

    def call(self, x):
        return self.blocks["out"](self.blocks["dropout"](self.blocks["hidden"](x)))


class TakesAList(Attributes):
    """Reads its features as a list of two arrays (joined, they are X)."""

    def __init__(self):
        super().__init__()
        self.join = Concatenate()

    def call(self, parts):
        return super().call(self.join(list(parts)))


class TakesADict(TakesAList):
    def call(self, parts):
        return super().call([parts["first"], parts["rest"]])


def functional():
    inputs = Input((4,))
    hidden = Dropout(0.25)(Dense(8, activation="relu")(inputs))
    return Model(inputs, Dense(2)(hidden))


WAYS = {  # (make, input shape for build, x)
    "sequential": (sequential, (None, 4), X),
    "attributes": (Attributes, (None, 4), X),
    "list_of_layers": (InAList, (None, 4), X),
    "dict_of_layers": (InADict, (None, 4), X),
    "call_on_a_list": (TakesAList, [(None, 1), (None, 3)], [X[:, :1], X[:, 1:]]),
    "call_on_a_dict": (TakesADict, {"first": (None, 1), "rest": (None, 3)},
                       {"first": X[:, :1], "rest": X[:, 1:]}),
    "functional": (functional, None, X),
}


def built(way, seed=1):
    make, shape, x = WAYS[way]
    zen.set_seed(seed)              # the same initial weights for every way
    model = make()
    model.build(shape)
    return model, x


def assert_same_weights(a, b):
    assert [w.shape for w in a.get_weights()] == [w.shape for w in b.get_weights()]
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("way", [w for w in WAYS if w != "sequential"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_reaches_the_weights_of_the_same_sequential(way, shuffle):
    reference, _ = built("sequential")
    model, x = built(way)
    assert_same_weights(model, reference)
    histories = []
    for m, data in ((reference, X), (model, x)):
        m.compile(zen.optim.Adam(lr=0.01), "mse", ["mae"])
        zen.set_seed(3)             # the same shuffles and dropout masks
        histories.append(m.fit(data, Y, epochs=3, batch_size=8, shuffle=shuffle,
                               validation_split=0.2, verbose=0).history)
    assert histories[0] == histories[1]
    assert_same_weights(model, reference)


@pytest.mark.parametrize("way", ["attributes", "call_on_a_list", "call_on_a_dict"])
def test_the_model_api_works_exactly_as_on_sequential(way, tmp_path):
    reference, _ = built("sequential")
    model, x = built(way)
    for m in (reference, model):
        m.compile("sgd", "mse", ["mae"])
    assert model.evaluate(x, Y, batch_size=16) == reference.evaluate(X, Y, batch_size=16)
    np.testing.assert_array_equal(model.predict(x, batch_size=16), reference.predict(X))
    zen.set_seed(5)
    expected = reference.train_on_batch(X[:8], Y[:8])
    zen.set_seed(5)
    part = {key: value[:8] for key, value in x.items()} if isinstance(x, dict) else \
        [value[:8] for value in x] if isinstance(x, list) else x[:8]
    assert model.train_on_batch(part, Y[:8]) == expected and len(expected) == 2
    assert_same_weights(model, reference)
    assert model.count_params() == reference.count_params() == 58

    weights = [w + 1 for w in reference.get_weights()]
    model.set_weights(weights)
    reference.set_weights(weights)
    assert_same_weights(model, reference)
    model.save_weights(tmp_path / "weights.zen")
    fresh, _ = built(way, seed=9)
    fresh.load_weights(tmp_path / "weights.zen")
    assert_same_weights(fresh, reference)
    unbuilt = WAYS[way][0]()       # built from the input shape the file records
    unbuilt.load_weights(tmp_path / "weights.zen")
    assert_same_weights(unbuilt, reference)
    np.testing.assert_array_equal(unbuilt.predict(x), reference.predict(X))


def summary_rows(model):
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    rows = [line.split() for line in text.splitlines()
            if line.split() and line.split()[0].startswith(("dense", "dropout"))]
    totals = [line for line in text.splitlines() if line.endswith(tuple("0123456789"))
              and "params" in line]  # the rules' widths follow the names: left out
    return [(row[1], row[-1]) for row in rows], totals


def test_summary_lists_the_same_layers_and_totals_as_sequential():
    reference, _ = built("sequential")
    model, _ = built("attributes")
    assert summary_rows(model) == summary_rows(reference)
    rows, totals = summary_rows(model)
    assert rows == [("(Dense)", "40"), ("(Dropout)", "0"), ("(Dense)", "18")]
    assert totals == ["Total params: 58", "Trainable params: 58",
                           "Non-trainable params: 0"]


# ----- tracking -------------------------------------------------------------------------------
class Everything(Model):
    """Layers assigned directly, in a list, in a dict, and a nested model,
    in an order that is not the order `call` uses them."""

    def __init__(self):
        super().__init__()
        self.late = Dense(6)
        self.blocks = [Dense(2), Dense(3)]
        self.heads = {"b": Dense(4), "a": Dense(5)}
        self.inner = Sequential([Dense(7)])
        self.not_a_layer = [1, "two", np.zeros(3)]

    def call(self, x):
        h = self.blocks[1](self.blocks[0](x))
        h = Concatenate()([self.heads["a"](h), self.heads["b"](h)])
        return self.late(self.inner(h))


def test_layers_in_attributes_lists_and_dicts_are_tracked_in_assignment_order():
    model = Everything()
    model.build((None, 1))
    assert [layer.units for layer in model.sublayers()[:5]] == [6, 2, 3, 4, 5]
    assert isinstance(model.sublayers()[5], Sequential)
    kernels = [w.shape for w in model.get_weights()][::2]
    assert kernels == [(7, 6), (1, 2), (2, 3), (3, 4), (3, 5), (9, 7)]
    assert model.count_params() == (7 * 6 + 6) + (1 * 2 + 2) + (2 * 3 + 3) + \
        (3 * 4 + 4) + (3 * 5 + 5) + (9 * 7 + 7)
    assert len(model.parameters()) == 12


def test_a_layer_assigned_twice_is_counted_once():
    class Tied(Model):
        def __init__(self):
            super().__init__()
            self.encoder = Dense(3)
            self.same = [self.encoder]

        def call(self, x):
            return self.same[0](self.encoder(x) @ np.ones((3, 3), np.float32))

    model = Tied()
    model.build((None, 3))
    assert model.count_params() == 12 and len(model.get_weights()) == 2


def test_dict_outputs_and_targets_of_a_subclassed_model():
    class TwoHeads(Model):
        def __init__(self):
            super().__init__()
            self.first, self.second = Dense(2), Dense(1)

        def call(self, x):
            return {"first": self.first(x), "second": self.second(x)}

    zen.set_seed(0)
    model = TwoHeads()
    model.compile("sgd", {"first": "mse", "second": "mae"}, loss_weights={"second": 0.5})
    y = {"second": Y[:, :1], "first": Y}
    history = model.fit(X, y, epochs=1, batch_size=8, verbose=0).history
    assert sorted(history) == ["first_loss", "loss", "second_loss"]
    logs = model.evaluate(X, y, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["first_loss"] + 0.5 * logs["second_loss"],
                                         abs=1e-6)
    out = model.predict(X)
    assert isinstance(out, dict) and out["first"].shape == (40, 2)


# ----- errors ---------------------------------------------------------------------------------
def test_an_unbuilt_subclassed_model_says_how_to_build_it():
    model = Attributes()
    for method in (model.summary, model.count_params, lambda: model.set_weights([])):
        with pytest.raises(ValueError, match=r"not yet been built.*build\(input_shape\)"):
            method()
    with pytest.raises(ValueError, match="compile"):
        model.fit(X, Y, verbose=0)


def test_a_model_without_call_says_what_to_do():
    with pytest.raises(NotImplementedError, match=r"define call\(self, inputs\)"):
        Model()(X)


def test_a_layer_subclass_is_tracked_inside_a_model():
    class Scale(Layer):
        def build(self, input_shape):
            self.scale = zen.Tensor(np.full(input_shape[-1], 2.0, np.float32))

        def call(self, x):
            return x * self.scale

    class Net(Model):
        def __init__(self):
            super().__init__()
            self.scale = Scale()

        def call(self, x):
            return self.scale(x)

    model = Net()
    np.testing.assert_array_equal(model.predict(X), 2 * X)
    assert model.count_params() == 4
