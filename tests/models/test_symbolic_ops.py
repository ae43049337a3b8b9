"""Operators on symbolic tensors (`x + 1`, `2 * x`, `inputs != 0`, `-x`,
`abs(x)`, `x[:, 0]`): each is recorded as a node of the functional graph,
so a `zen.Model` runs it, `summary()` lists it and files round-trip it.
Values are checked against numpy on the same data."""
import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.models import Input, Model, load_model
from zen.nn import Dense
from zen.nn.operators import TensorOperation
from zen.nn.symbolic import SymbolicTensor

rng = np.random.default_rng(0)
POSITIVE = rng.uniform(0.5, 2.0, (5, 4)).astype(np.float32)      # safe to divide by
SMALL_INTS = rng.integers(-2, 3, (6, 4)).astype(np.float32)      # ties for comparisons
MATRIX = rng.normal(size=(4, 3)).astype(np.float32)
ROW = np.arange(4, dtype=np.float32)


def outputs_of(model, x):
    """The model's output on `x` as a numpy array."""
    out = model(x)
    return out.value if isinstance(out, Tensor) else np.asarray(out)


def check_against_numpy(fn, *data):
    """fn on symbolic inputs, run by a Model, equals fn on the arrays; the
    symbolic result has numpy's shape (batch axis None) and dtype."""
    inputs = [Input(d.shape[1:], dtype=d.dtype) for d in data]
    symbolic = fn(*inputs)
    expected = fn(*data)
    assert isinstance(symbolic, SymbolicTensor)
    assert symbolic.shape == (None,) + expected.shape[1:]
    assert symbolic.dtype == expected.dtype
    model = Model(inputs, symbolic)
    got = outputs_of(model, data if len(data) > 1 else data[0])
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    return model


# ----- values against numpy ----------------------------------------------------------------
ARITHMETIC = {
    "add number": lambda a: a + 1,
    "reflected add": lambda a: 1.5 + a,
    "subtract": lambda a: a - 0.25,
    "reflected subtract": lambda a: 1 - a,
    "multiply itself": lambda a: a * a,
    "reflected multiply": lambda a: 2 * a,
    "divide": lambda a: a / 4,
    "reflected divide": lambda a: 3 / a,
    "power": lambda a: a ** 2,
    "reflected power": lambda a: 2 ** a,
    "matmul array": lambda a: a @ MATRIX,
    "add array": lambda a: a + ROW,
    "array on the left": lambda a: ROW - a,
    "numpy scalar": lambda a: a * np.float32(0.5),
    "negative": lambda a: -a,
    "absolute": lambda a: abs(a - 1),
    "chained": lambda a: (a + 1)[:, 1:] * 2 - a[:, :3] ** 2,
}
INDEXING = {
    "column": lambda a: a[:, 0],
    "ellipsis and slice": lambda a: a[..., 1:3],
    "step": lambda a: a[:, ::2],
    "new axis": lambda a: a[:, None],
    "negative index": lambda a: a[:, -1],
    "everything": lambda a: a[:],
}
COMPARISONS = {
    "equal": lambda a: a == 0,
    "not equal": lambda a: a != 0,
    "less": lambda a: a < 1,
    "less or equal": lambda a: a <= 1,
    "greater": lambda a: a > -1,
    "greater or equal": lambda a: a >= -1,
    "array on the left": lambda a: ROW > a,
}


@pytest.mark.parametrize("fn", ARITHMETIC.values(), ids=ARITHMETIC.keys())
def test_arithmetic_with_a_constant_matches_numpy(fn):
    check_against_numpy(fn, POSITIVE)


@pytest.mark.parametrize("fn", INDEXING.values(), ids=INDEXING.keys())
def test_basic_indexing_matches_numpy(fn):
    check_against_numpy(fn, POSITIVE)


@pytest.mark.parametrize("fn", COMPARISONS.values(), ids=COMPARISONS.keys())
def test_comparisons_give_numpy_bool_arrays(fn):
    model = check_against_numpy(fn, SMALL_INTS)
    assert model.outputs[0].dtype == np.bool_


TWO_TENSORS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "power": lambda a, b: a ** b,
    "equal": lambda a, b: a == b,
    "not equal": lambda a, b: a != b,
    "less": lambda a, b: a < b,
    "greater or equal": lambda a, b: a >= b,
    "broadcast": lambda a, b: a * b[:, :1],
}


@pytest.mark.parametrize("fn", TWO_TENSORS.values(), ids=TWO_TENSORS.keys())
def test_operators_between_two_symbolic_tensors_match_numpy(fn):
    check_against_numpy(fn, POSITIVE, np.round(POSITIVE[::-1] * 2) / 2)


def test_matmul_of_two_symbolic_tensors_and_a_reflected_matmul():
    a, b = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 5, 2))
    check_against_numpy(lambda x, y: x @ y, a.astype(np.float32), b.astype(np.float32))
    left = rng.normal(size=(6, 4)).astype(np.float32)
    check_against_numpy(lambda x: left @ x, a.astype(np.float32))


def test_unknown_axes_stay_unknown():
    x = Input((None, 3))
    assert (x * 2).shape == (None, None, 3)
    assert x[:, :, 0].shape == (None, None)
    assert (x[..., :2] > 0).shape == (None, None, 2)
    model = Model(x, x[:, ::2] * 2)
    data = POSITIVE[:, :3].reshape(1, 5, 3)
    np.testing.assert_allclose(outputs_of(model, data), data[:, ::2] * 2)


# ----- dtypes --------------------------------------------------------------------------------
def test_inputs_not_equal_zero_is_a_boolean_mask():
    tokens = Input((5,), dtype="int32")
    mask = tokens != 0
    assert isinstance(mask, SymbolicTensor) and mask.shape == (None, 5)
    assert mask.dtype == np.bool_
    data = np.array([[3, 0, 2, 0, 0], [0, 0, 0, 0, 1]], np.int32)
    got = Model(tokens, mask).predict(data, verbose=0)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, data != 0)


def test_integer_arithmetic_stays_integer_and_true_division_gives_floats():
    tokens = Input((3,), dtype="int32")
    assert (tokens + 1).dtype == np.int32
    assert (-tokens).dtype == np.int32
    assert (tokens / 2).dtype == np.float32                   # as Keras
    assert (tokens * 0.5).dtype == np.float32
    assert (Input((4,)) + np.arange(4)).dtype == np.float32   # an int array meets a float
    data = np.array([[1, 2, 3]], np.int32)
    np.testing.assert_array_equal(outputs_of(Model(tokens, tokens * 2 - 1), data),
                                  [[1, 3, 5]])


def test_a_boolean_mask_multiplies_a_layer_output():
    x = Input((4,))
    dense = Dense(4)
    masked = dense(x) * (x > 1)
    assert masked.dtype == np.float32
    model = Model(x, masked)
    dense_out = POSITIVE @ dense.kernel.value + dense.bias.value
    np.testing.assert_allclose(outputs_of(model, POSITIVE), dense_out * (POSITIVE > 1),
                               rtol=1e-5, atol=1e-6)


# ----- gradients -----------------------------------------------------------------------------
DIFFERENTIABLE = {**ARITHMETIC, **INDEXING, **{k: v for k, v in TWO_TENSORS.items()
                                              if k in ("add", "multiply", "divide")}}


@pytest.mark.parametrize("fn", DIFFERENTIABLE.values(), ids=DIFFERENTIABLE.keys())
def test_gradients_flow_through_the_recorded_operators(fn):
    arity = fn.__code__.co_argcount
    inputs = [Input((4,), dtype="float64") for _ in range(arity)]
    model = Model(inputs, fn(*inputs))
    data = [POSITIVE.astype(np.float64) + i for i in range(arity)]
    grad_check(lambda *t: model(list(t) if arity > 1 else t[0]), data)


def test_a_model_with_operators_trains():
    x = Input((4,))
    dense = Dense(1)
    out = (dense(x) * 2 - x[:, :1]) / 4 + 1
    model = Model(x, out)
    model.compile("sgd", "mse")
    y = POSITIVE.sum(axis=1, keepdims=True)
    losses = model.fit(POSITIVE, y, epochs=20, batch_size=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0] / 2
    model(POSITIVE).sum().backward()
    assert dense.kernel.gradient is not None and np.abs(dense.kernel.gradient).sum() > 0


# ----- files, configs and summary ----------------------------------------------------------
def model_with_every_kind_of_operator():
    x, tokens = Input((4,), name="x"), Input((3,), dtype="int32", name="tokens")
    hidden = Dense(3)(x)
    mask = tokens != 0
    ones = np.ones((2, 3), np.float32)
    out = (hidden * mask + 1.5 - abs(-x[..., 1:])) ** 2 / (1 + x[:, ::2] @ ones)
    out = 2 - out[:, None][:, 0] + ROW[:3] * (x[:, :3] >= 1)
    return Model([x, tokens], [out, mask, x @ MATRIX])


def test_save_and_load_give_the_same_predictions(tmp_path):
    model = model_with_every_kind_of_operator()
    data = [POSITIVE, np.array([[1, 0, 2]] * 5, np.int32)]
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "m.zen")
    loaded = load_model(tmp_path / "m.zen")
    got = loaded.predict(data, verbose=0)
    for e, g in zip(expected, got):
        assert e.dtype == g.dtype
        np.testing.assert_array_equal(e, g)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_get_config_and_from_config_round_trip():
    model = model_with_every_kind_of_operator()
    config = model.get_config()
    rebuilt = Model.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt.set_weights(model.get_weights())
    data = [POSITIVE, np.array([[1, 0, 2]] * 5, np.int32)]
    for e, g in zip(model.predict(data, verbose=0), rebuilt.predict(data, verbose=0)):
        np.testing.assert_array_equal(e, g)


def test_the_config_holds_operations_and_constants_as_json():
    x = Input((4,))
    model = Model(x, [1 - x, x[..., 1:3], x + ROW, x != 0])
    layers = model.get_config()["layers"][1:]
    assert [entry["class_name"] for entry in layers] == ["TensorOperation"] * 4
    subtract, get_item, add, not_equal = (entry["config"] for entry in layers)
    assert subtract == {"operation": "subtract", "constant": 1, "reflected": True}
    assert get_item == {"operation": "get_item",
                        "key": ["...", {"slice": [1, 3, None]}]}
    assert add["constant"] == {"shape": [4], "dtype": "float32", "values": [0, 1, 2, 3]}
    assert not_equal == {"operation": "not_equal", "constant": 0}


@pytest.mark.parametrize("config, match", [
    ({"operation": "launch_missiles"}, "operation"),
    ({"operation": "get_item"}, "key"),
    ({"operation": "get_item", "key": [{"slice": ["a", None, None]}]}, "key"),
    ({"operation": "get_item", "key": [[0, 1]]}, "key"),
    ({"operation": "add", "constant": {"values": [1, 2], "shape": [3],
                                       "dtype": "float32"}}, "constant"),
    ({"operation": "add", "constant": {"values": ["x"], "shape": [1],
                                       "dtype": "object"}}, "constant"),
    ({"operation": "add", "constant": "eval"}, "constant"),
    ({"operation": "negative", "constant": 1}, "constant"),
])
def test_a_bad_config_is_a_value_error_naming_the_field(config, match):
    with pytest.raises(ValueError, match=match):
        TensorOperation.from_config(config)


def test_summary_lists_the_operator_nodes():
    x = Input((4,), name="x")
    model = Model(x, abs(x[:, 0] + 1) > 2)
    lines = []
    model.summary(print_fn=lines.append)
    rows = "\n".join(lines).splitlines()
    get_item, add, absolute, greater = model.layers[1:]
    assert [row.split(" ")[0] for row in rows[4:8]] == ["x", get_item.name, add.name,
                                                          absolute.name]
    assert rows[8].split(" ")[0] == greater.name
    add_row = rows[6].split()
    assert add_row == [add.name, "(TensorOperation)", "(None,)", "0", f"{get_item.name}[0][0]"]
    assert rows[5].split()[-1] == "x[0][0]"


def test_layer_names_follow_keras():
    x = Input((4,))
    results = [x + 1, x - 1, x * 2, x / 2, x ** 2, x @ MATRIX, -x, abs(x), x[:, 0],
               x == 0, x != 0, x < 0, x <= 0, x > 0, x >= 0]
    names = [r.node.layer.name.rsplit("_", 1)[0] if r.node.layer.name[-1].isdigit()
             else r.node.layer.name for r in results]
    assert names == ["add", "subtract", "multiply", "true_divide", "power", "matmul",
                     "negative", "absolute", "get_item", "equal", "not_equal", "less",
                     "less_equal", "greater", "greater_equal"]


# ----- what cannot be recorded ---------------------------------------------------------------
def test_a_symbolic_tensor_has_no_truth_value():
    x = Input((4,))
    with pytest.raises(TypeError, match="symbolic"):
        bool(x)
    with pytest.raises(TypeError, match="symbolic"):
        if x > 0:
            pass
    with pytest.raises(TypeError, match="symbolic"):
        bool(x == x)


@pytest.mark.parametrize("fn", [
    lambda x: x + "a",
    lambda x: "a" * x,
    lambda x: x == "a",
    lambda x: x < None,
    lambda x: x * Tensor(np.ones(4)),
    lambda x: x + 1j,
    lambda x: x - np.array(["a"]),
    lambda x: x[[0, 1]],
    lambda x: x[:, [0, 1]],
    lambda x: x[:, 1.5],
    lambda x: x[0],
    lambda x: x[1:],
    lambda x: x[None],
    lambda x: x[..., 0, 1],
    lambda x: x[x > 0],
    lambda x: list(x),
], ids=["str", "reflected str", "compare str", "compare None", "Tensor", "complex",
        "string array", "list index", "array index", "float index", "batch index",
        "batch slice", "axis before batch", "ellipsis reaching the batch", "mask index",
        "iterate"])
def test_an_operator_that_cannot_be_recorded_is_a_type_error(fn):
    x = Input((4,))
    with pytest.raises(TypeError, match="symbolic tensor"):
        fn(x)


def test_a_shape_mismatch_is_a_value_error_at_the_operator():
    with pytest.raises(ValueError, match=r"\(None, 3\).*\(None, 4\)"):
        Input((3,)) + Input((4,))
    with pytest.raises(ValueError, match="matmul"):
        Input((3,)) @ np.ones((4, 2))


def test_symbolic_tensors_keep_an_identity_hash():
    a, b = Input((4,)), Input((4,))
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert hash(a) == hash(a) and len({a, b, a}) == 2
    total = a + b
    model = Model([a, b], [total, a, total])      # graph code tells tensors apart by identity
    out = model([POSITIVE, 2 * POSITIVE])
    assert len(out) == 3 and model.output_names[0] != model.output_names[2]
    np.testing.assert_allclose(np.asarray(out[2]), 3 * POSITIVE)


def test_operators_work_inside_a_nested_model_and_with_sequential_parts():
    inner_in = Input((4,))
    inner = Model(inner_in, inner_in * 2 + 1, name="inner")
    x = Input((4,))
    y = inner(x)[:, :2] - zen.Sequential([Dense(2)])(x)
    model = Model(x, y)
    assert y.shape == (None, 2)
    assert outputs_of(model, POSITIVE).shape == (5, 2)
