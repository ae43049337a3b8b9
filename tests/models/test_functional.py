"""The functional API: `zen.Input`, layers called on symbolic tensors, and
`zen.Model(inputs, outputs)` with one tensor, a list or a dict on either
side; shared layers, merge layers, keyword arguments, nested models, and
the errors a Keras user expects (graph disconnected, shape mismatches)."""
import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.models import Input, InputLayer, Model, Sequential
from zen.nn import (LSTM, Add, Concatenate, Dense, Dropout, Flatten, MultiHeadAttention,
                    Subtract)
from zen.nn.symbolic import SymbolicTensor

rng = np.random.default_rng(0)


def normal(*shape, dtype=np.float32):
    return rng.normal(size=shape).astype(dtype)


# ----- Input ---------------------------------------------------------------------------------
def test_input_is_a_symbolic_tensor_with_a_batch_axis():
    image = Input((28, 28, 1), name="image")
    assert isinstance(image, SymbolicTensor)
    assert image.shape == (None, 28, 28, 1) and image.dtype == np.float32
    assert image.name == "image" and isinstance(image.node.layer, InputLayer)
    assert Input(7).shape == (None, 7)                       # an int is a 1-D sample
    assert Input((None, 3)).shape == (None, None, 3)          # a sequence of any length
    assert Input((5,), dtype="int32").dtype == np.int32
    assert Input((5,), dtype="float64").dtype == np.float64
    first, second = Input((2,)), Input((2,))
    assert first.name != second.name                          # default names are unique


@pytest.mark.parametrize("kwargs, match", [
    (dict(shape=(0, 3)), r"`shape`.*Received: shape=\(0, 3\)"),
    (dict(shape=(-1,)), r"`shape`.*Received: shape=\(-1,\)"),
    (dict(shape="28"), r"`shape`.*Received: shape='28'"),
    (dict(shape=(2.5,)), r"`shape`.*Received: shape=\(2.5,\)"),
    (dict(shape=(True,)), r"`shape`.*Received: shape=\(True,\)"),
    (dict(shape=(10 ** 6, 10 ** 6)), r"`shape`.*at most 10,000,000 values"),
    (dict(shape=(3,), dtype="str"), r"`dtype` of Input"),
    (dict(shape=(3,), dtype="complex64"), r"`dtype` of Input"),
    (dict(shape=(3,), name=""), r"`name`.*Received: name=''"),
    (dict(shape=(3,), name="a/b"), r"`name`.*Received: name='a/b'"),
])
def test_bad_input_arguments_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Input(**kwargs)


# ----- structures on either side --------------------------------------------------------------
def two_inputs():
    return Input((3,), name="left"), Input((2,), name="right")


STRUCTURES = {
    "tensor": lambda tensors: tensors[0],
    "list": lambda tensors: list(tensors),
    "dict": lambda tensors: {t.node.layer.name: t for t in tensors},
}


@pytest.mark.parametrize("outputs_as", ["tensor", "list", "dict"])
@pytest.mark.parametrize("inputs_as", ["tensor", "list", "dict"])
def test_a_tensor_list_or_dict_on_either_side(inputs_as, outputs_as):
    zen.set_seed(0)
    left, right = two_inputs()
    used = [left] if inputs_as == "tensor" else [left, right]
    merged = used[0] if len(used) == 1 else Concatenate()(used)
    heads = [Dense(2, name="first")(merged), Dense(1, name="second")(merged)]
    model = Model(STRUCTURES[inputs_as](used), STRUCTURES[outputs_as](heads))
    arrays = {"left": normal(4, 3), "right": normal(4, 2)}
    x = {"tensor": arrays["left"], "list": [arrays["left"], arrays["right"]],
         "dict": arrays}[inputs_as]
    out = model.predict(x)
    features = np.concatenate([arrays[t.node.layer.name] for t in used], axis=1)
    expected = [features @ h.node.layer.kernel.value + h.node.layer.bias.value for h in heads]
    if outputs_as == "tensor":
        np.testing.assert_allclose(out, expected[0], rtol=1e-6)
    elif outputs_as == "list":
        assert isinstance(out, list) and len(out) == 2
        for got, want in zip(out, expected):
            np.testing.assert_allclose(got, want, rtol=1e-6)
    else:
        assert isinstance(out, dict) and list(out) == ["first", "second"]
        for got, want in zip(out.values(), expected):
            np.testing.assert_allclose(got, want, rtol=1e-6)
    assert model.output_names == (["first"] if outputs_as == "tensor" else ["first", "second"])


def test_input_and_output_names_and_calling_on_data():
    left, right = two_inputs()
    model = Model({"l": left, "r": right}, Add()([Dense(2)(left), Dense(2)(right)]))
    assert model.input_names == ["l", "r"]
    a, b = normal(3, 3), normal(3, 2)
    by_dict = model({"r": b, "l": a}).value                    # order of the dict is free
    np.testing.assert_array_equal(by_dict, model([a, b]).value)
    with pytest.raises(ValueError, match=r"unknown keys \['x'\].*missing \['r'\]"):
        model({"l": a, "x": b})
    with pytest.raises(ValueError, match=r"input of model .* is a list of 3 arrays, but the model has 2"):
        model([a, b, b])
    with pytest.raises(ValueError, match=r"Input 'r'.*expects shape \(None, 2\).*\(3, 5\)"):
        model([a, normal(3, 5)])


def test_predict_of_a_multi_output_model_returns_a_list_or_a_dict():
    zen.set_seed(0)
    x = Input((4,))
    as_list = Model(x, [Dense(2)(x), Dense(3)(x)])
    out = as_list.predict(normal(70, 4), batch_size=32)        # three batches, joined
    assert isinstance(out, list) and [o.shape for o in out] == [(70, 2), (70, 3)]
    as_dict = Model(x, {"a": Dense(2)(x), "b": Dense(3)(x)})
    out = as_dict.predict(normal(5, 4))
    assert isinstance(out, dict) and {k: v.shape for k, v in out.items()} == \
        {"a": (5, 2), "b": (5, 3)}


# ----- the same network written functionally ------------------------------------------------
def test_a_functional_model_trains_to_the_weights_of_the_same_sequential():
    x, y = normal(48, 4), normal(48, 2)
    zen.set_seed(1)
    sequential = Sequential([Dense(8, activation="relu"), Dropout(0.25), Dense(2)])
    sequential.build((None, 4))
    zen.set_seed(1)
    inputs = Input((4,))
    hidden = Dropout(0.25)(Dense(8, activation="relu")(inputs))
    functional = Model(inputs, Dense(2)(hidden))
    histories = []
    for model in (sequential, functional):
        model.compile(zen.optim.Adam(lr=0.01), "mse", ["mae"])
        zen.set_seed(7)                                  # the same shuffles and dropout masks
        histories.append(model.fit(x, y, epochs=3, batch_size=8, verbose=0).history)
    assert histories[0] == histories[1]
    for a, b in zip(sequential.get_weights(), functional.get_weights()):
        np.testing.assert_array_equal(a, b)


# ----- shared layers ------------------------------------------------------------------------
def shared_model():
    zen.set_seed(0)
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(3, name="shared")
    return Model([a, b], Subtract(name="subtract")([shared(a), shared(b)])), shared


def test_a_layer_called_twice_shares_its_weights_counted_once():
    model, shared = shared_model()
    assert model.count_params() == 15                          # Keras: 4 * 3 + 3, once
    assert len(model.parameters()) == 2 and len(model.get_weights()) == 2
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "subtract"]
    a, b = normal(5, 4), normal(5, 4)
    expected = (a - b) @ shared.kernel.value                   # the biases cancel
    np.testing.assert_allclose(model.predict([a, b]), expected, rtol=1e-5, atol=1e-6)


def test_gradients_from_both_calls_of_a_shared_layer_accumulate():
    model, shared = shared_model()
    a, b = normal(5, 4), normal(5, 4)
    model([a, b]).sum().backward()
    # d/dW sum((a - b) W) = sum over the batch of (a - b), in every column
    np.testing.assert_allclose(shared.kernel.gradient,
                               np.repeat((a - b).sum(0)[:, None], 3, axis=1), rtol=1e-5)
    np.testing.assert_allclose(shared.bias.gradient, 0, atol=1e-6)


def test_shared_layer_gradients_against_central_differences():
    zen.set_seed(0)
    a, b = Input((4,)), Input((4,))
    shared, head = Dense(3, activation="tanh"), Dense(2)
    model = Model([a, b], head(Concatenate()([shared(a), shared(b)])))
    weights = [(layer, name) for layer in (shared, head) for name in ("kernel", "bias")]
    for layer, name in weights:
        setattr(layer, name, Tensor(getattr(layer, name).value.astype(np.float64)))

    def fn(x1, x2, *values):
        for (layer, name), value in zip(weights, values):
            setattr(layer, name, value)
        return model([x1, x2])

    grad_check(fn, [normal(3, 4, dtype=np.float64), normal(3, 4, dtype=np.float64)]
               + [getattr(layer, name) for layer, name in weights])


def test_a_shared_layer_is_one_row_of_the_summary_with_both_connections():
    model, _ = shared_model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text.splitlines()[2]
    rows = [line for line in text.splitlines() if line.startswith("shared (Dense)")]
    assert len(rows) == 1 and "15" in rows[0]
    after = text.split("shared (Dense)")[1].split("subtract (Subtract)")[0]
    assert "a[0][0]" in after and "b[0][0]" in after
    assert "shared[0][0]" in text and "shared[1][0]" in text
    assert "Total params: 15" in text


# ----- merge layers, keyword arguments, nested models ----------------------------------------
def test_merge_layers_take_lists_of_symbolic_tensors():
    a, b, c = Input((4,)), Input((4,)), Input((1,))
    assert Add()([a, b, c]).shape == (None, 4)                 # Keras broadcasts size 1
    assert Concatenate()([a, b, c]).shape == (None, 9)
    model = Model([a, b, c], Concatenate()([Add()([a, b]), c]))
    x = [normal(2, 4), normal(2, 4), normal(2, 1)]
    np.testing.assert_array_equal(model.predict(x),
                                  np.concatenate([x[0] + x[1], x[2]], axis=1))


def test_an_lstm_initial_state_passes_through_as_a_keyword():
    zen.set_seed(0)
    sequence, h0, c0 = Input((5, 3)), Input((4,)), Input((4,))
    lstm = LSTM(4)
    model = Model([sequence, h0, c0], lstm(sequence, initial_state=[h0, c0]))
    x = [normal(2, 5, 3), normal(2, 4), normal(2, 4)]
    np.testing.assert_allclose(model.predict(x), lstm(x[0], initial_state=x[1:]).value,
                               rtol=1e-6)
    zeros = lstm(x[0]).value
    assert not np.allclose(model.predict(x), zeros)            # the states did reach the LSTM
    assert model.count_params() == 4 * (3 * 4 + 4 * 4 + 4)     # Keras: 128


def test_keyword_arguments_of_attention_pass_through():
    zen.set_seed(0)
    query, mask = Input((5, 4)), Input((5, 5))
    mha = MultiHeadAttention(num_heads=2, key_dim=3)
    out, scores = mha(query, query, attention_mask=mask, return_attention_scores=True)
    assert out.shape == (None, 5, 4) and scores.shape == (None, 2, 5, 5)
    model = Model([query, mask], [out, scores])
    x, m = normal(2, 5, 4), (rng.random((2, 5, 5)) > 0.3)
    got = model.predict([x, m.astype(np.float32)])
    want = mha(x, x, attention_mask=m, return_attention_scores=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.value, rtol=1e-5, atol=1e-6)


def test_a_nested_model_is_a_layer_counted_once():
    zen.set_seed(0)
    inner_input = Input((4,))
    inner = Model(inner_input, Dense(3, activation="relu")(inner_input), name="encoder")
    x = Input((4,))
    outer = Model(x, Dense(1)(inner(x)))
    twice = Model(x, Add()([inner(x), inner(x)]))             # the same model called twice
    assert inner.count_params() == 15
    assert outer.count_params() == 15 + 4 and twice.count_params() == 15
    lines = []
    outer.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "encoder (" in text and "Total params: 19" in text
    data = normal(3, 4)
    np.testing.assert_allclose(outer.predict(data),
                               outer.layers[-1](inner.predict(data)).value, rtol=1e-6)
    np.testing.assert_allclose(twice.predict(data), 2 * inner.predict(data), rtol=1e-6)


def test_summary_of_a_functional_model_has_the_connected_to_column():
    zen.set_seed(0)
    a, b = Input((3,), name="a"), Input((2,), name="b")
    merged = Concatenate(name="merged")([a, b])
    model = Model([a, b], Dense(2, name="head")(merged))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    header = text.splitlines()[2]
    assert header.split() == ["Layer", "(type)", "Output", "Shape", "Param", "#",
                              "Connected", "to"]
    row = {line.split()[0]: line for line in text.splitlines()
           if line and line.split()[0] in ("a", "b", "merged", "head")}
    assert row["a"].split()[-1] == "-" and "(None, 3)" in row["a"]
    assert "(None, 5)" in row["merged"] and "a[0][0]" in row["merged"]
    assert "b[0][0]" in text.split("merged (Concatenate)")[1].split("head (Dense)")[0]
    assert "(None, 2)" in row["head"] and "12" in row["head"] and "merged[0][0]" in row["head"]
    assert "Total params: 12" in text and "Trainable params: 12" in text


# ----- errors ---------------------------------------------------------------------------------
def test_graph_disconnected_names_the_missing_input():
    used, missing = Input((2,), name="used"), Input((2,), name="missing")
    out = Add()([Dense(2)(used), missing])
    with pytest.raises(ValueError, match=r"Graph disconnected.*'missing'.*\['used'\]"):
        Model(used, out)


def test_a_dense_called_on_a_second_width_names_the_layer_and_both_shapes():
    dense = Dense(3, name="proj")
    dense(Input((4,)))
    with pytest.raises(ValueError, match=r"'proj'.*\(None, 5\).*\(None, 4\)"):
        dense(Input((5,)))
    assert len(dense.get_weights()) == 2 and dense.kernel.shape == (4, 3)  # left as built


def test_add_on_different_shapes_fails_at_the_call_naming_the_shapes():
    with pytest.raises(ValueError, match=r"'join' \(Add\).*\[\(None, 4\), \(None, 5\)\]"):
        Add(name="join")([Input((4,)), Input((5,))])


@pytest.mark.parametrize("make, match", [
    (lambda a: Model(a, None), "both `inputs` and `outputs`"),
    (lambda a: Model(None, a), "both `inputs` and `outputs`"),
    (lambda a: Model([], a), "`inputs`: it is empty"),
    (lambda a: Model(a, np.zeros(3)), r"`outputs`.*Received: ndarray"),
    (lambda a: Model(Dense(2)(a), a), "must come from zen.Input"),
    (lambda a: Model([a, a], Dense(2)(a)), "appears twice"),
    (lambda a: Model({1: a}, a), "keys of `inputs` must be strings"),
])
def test_bad_model_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make(Input((3,)))


def test_a_symbolic_tensor_is_not_data():
    x = Input((3,))
    with pytest.raises(TypeError, match="no length"):
        len(x)
    model = Model(x, Flatten()(x))
    assert model.built and model.input_shape == (None, 3)
    with pytest.raises(ValueError, match=r"expects shape \(None, 3\)"):
        model(np.zeros((2, 4), np.float32))
