"""The merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate): output shapes as Keras 3 gives them (broadcasting included),
values against numpy, float64 gradient checks through every input, configs,
and every bad argument or input shape raising a ValueError that names it."""
import json
import re

import numpy as np
import pytest

from zen.autodiff import Tensor, grad_check
from zen.nn import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from zen.nn.symbolic import SymbolicTensor

rng = np.random.default_rng(0)


def inputs(*shapes, dtype=np.float64):
    return [rng.normal(size=shape).astype(dtype) for shape in shapes]


def expand_after_batch(arrays):
    """Keras's alignment of ranks: axes of size 1 inserted after the batch axis."""
    rank = max(a.ndim for a in arrays)
    return [a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in arrays]


def fold(op):
    return lambda arrays: op.reduce(np.broadcast_arrays(*expand_after_batch(arrays)))


REFERENCES = {  # layer -> numpy reference on a list of arrays
    Add: fold(np.add),
    Subtract: lambda arrays: np.subtract(*expand_after_batch(arrays)),
    Multiply: fold(np.multiply),
    Average: lambda arrays: fold(np.add)(arrays) / len(arrays),
    Maximum: fold(np.maximum),
    Minimum: fold(np.minimum),
}
ELEMENTWISE = list(REFERENCES)


# ----- output shapes (Keras 3's, checked by hand against keras 3.15) ---------------------
SHAPES = [  # layer, input shapes, output shape
    (Add(), [(2, 3), (2, 3)], (2, 3)),
    (Add(), [(2, 3), (2, 3), (2, 3)], (2, 3)),
    (Add(), [(2, 3), (2, 1)], (2, 3)),                  # size 1 broadcasts
    (Add(), [(2, 4, 3), (2, 3)], (2, 4, 3)),            # lower rank: axes after the batch
    (Add(), [(2, 4), (2, 4, 1)], (2, 4, 4)),
    (Subtract(), [(2, 5, 3), (2, 5, 3)], (2, 5, 3)),
    (Multiply(), [(2, 1, 3), (2, 4, 1)], (2, 4, 3)),
    (Average(), [(4, 2), (4, 2), (4, 2), (4, 2)], (4, 2)),
    (Maximum(), [(3, 2, 2), (3, 2, 2)], (3, 2, 2)),
    (Minimum(), [(3, 2), (3, 2)], (3, 2)),
    (Concatenate(), [(2, 3), (2, 4)], (2, 7)),
    (Concatenate(axis=1), [(2, 2, 5), (2, 1, 5)], (2, 3, 5)),
    (Concatenate(axis=-2), [(2, 2, 5), (2, 1, 5), (2, 3, 5)], (2, 6, 5)),
    (Concatenate(axis=0), [(2, 3), (1, 3)], (3, 3)),
]


@pytest.mark.parametrize("layer, shapes, expected", SHAPES)
def test_output_shape(layer, shapes, expected):
    assert layer(inputs(*shapes)).shape == expected


def test_symbolic_inputs_give_keras_shapes():
    a, b = SymbolicTensor((None, 4)), SymbolicTensor((None, 4, 1))
    assert Add()([a, b]).shape == (None, 4, 4)
    c, d = SymbolicTensor((None, None, 3)), SymbolicTensor((None, None, 2))
    assert Concatenate(axis=-1)([c, d]).shape == (None, None, 5)
    assert Concatenate(axis=1)([c, c]).shape == (None, None, 3)


def test_symbolic_mismatch_raises_at_the_call():
    with pytest.raises(ValueError, match="incompatible shapes"):
        Add()([SymbolicTensor((None, 3)), SymbolicTensor((None, 4))])


def test_no_weights():
    for layer, shapes, _ in SHAPES:
        assert layer.get_weights() == [] and layer.count_params() == 0


def test_default_names_are_kerass():
    assert Add().name.startswith("add")
    assert Concatenate().name.startswith("concatenate")
    assert Average(name="mean").name == "mean"


# ----- values --------------------------------------------------------------------------------
VALUE_SHAPES = [[(2, 3), (2, 3)], [(2, 3), (2, 3), (2, 3)], [(2, 4, 3), (2, 1)],
                [(2, 4), (2, 4, 1)], [(3, 1, 2), (3, 5, 1)]]


@pytest.mark.parametrize("shapes", VALUE_SHAPES)
@pytest.mark.parametrize("layer_class", ELEMENTWISE, ids=lambda c: c.__name__)
def test_elementwise_values(layer_class, shapes):
    shapes = shapes[:2] if layer_class is Subtract else shapes
    arrays = inputs(*shapes)
    np.testing.assert_allclose(layer_class()(arrays).value, REFERENCES[layer_class](arrays),
                               rtol=1e-12)


def test_hand_computed_values():
    a, b, c = np.array([[1.0, 5.0, -2.0]]), np.array([[3.0, 2.0, -2.0]]), np.array([[0.0, 9.0, 1.0]])
    np.testing.assert_array_equal(Add()([a, b, c]).value, [[4, 16, -3]])
    np.testing.assert_array_equal(Subtract()([a, b]).value, [[-2, 3, 0]])
    np.testing.assert_array_equal(Multiply()([a, b, c]).value, [[0, 90, 4]])
    np.testing.assert_allclose(Average()([a, b, c]).value, [[4 / 3, 16 / 3, -1]])
    np.testing.assert_array_equal(Maximum()([a, b, c]).value, [[3, 9, 1]])
    np.testing.assert_array_equal(Minimum()([a, b, c]).value, [[0, 2, -2]])
    np.testing.assert_array_equal(Concatenate()([a, b]).value, [[1, 5, -2, 3, 2, -2]])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_concatenate_values(axis):
    arrays = [rng.normal(size=(2, 3, 4)) for _ in range(3)]
    np.testing.assert_array_equal(Concatenate(axis=axis)(arrays).value,
                                  np.concatenate(arrays, axis=axis))


def test_accepts_tensors_arrays_tuples_and_nested_lists():
    a = np.ones((2, 3))
    assert Add()((Tensor(a), a)).shape == (2, 3)
    assert Add()([[[1.0, 2.0]], [[3.0, 4.0]]]).value.tolist() == [[4.0, 6.0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", [Add(), Subtract(), Multiply(), Average(), Maximum(),
                                   Minimum(), Concatenate()], ids=repr)
def test_dtype_is_kept(layer, dtype):
    assert layer(inputs((2, 3), (2, 3), dtype=dtype)).dtype == dtype


def test_integer_inputs_become_float32():
    assert Add()([np.ones((2, 3), int), np.ones((2, 3), int)]).dtype == np.float32


# ----- gradients (float64 central differences, every input) -------------------------------
GRAD_CASES = [[(2, 3), (2, 3)], [(2, 3), (2, 3), (2, 3)], [(2, 4, 3), (2, 3)],
              [(2, 3, 1), (2, 1, 4)]]


@pytest.mark.parametrize("shapes", GRAD_CASES)
@pytest.mark.parametrize("layer_class", ELEMENTWISE, ids=lambda c: c.__name__)
def test_elementwise_gradients(layer_class, shapes):
    shapes = shapes[:2] if layer_class is Subtract else shapes
    layer = layer_class()
    # distinct values, far apart: no ties near Maximum's and Minimum's kinks
    arrays = [rng.permutation(np.arange(np.prod(s)) * 0.37 - 3.1).reshape(s) + 0.05 * i
              for i, s in enumerate(shapes)]
    grad_check(lambda *xs: layer(list(xs)), arrays)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_gradients(axis):
    layer = Concatenate(axis=axis)
    grad_check(lambda *xs: layer(list(xs)), inputs((2, 2, 3), (2, 2, 3), (2, 2, 3)))


def test_gradient_reaches_every_input_of_add_and_average():
    a, b, c = (Tensor(np.ones((2, 3))) for _ in range(3))
    Average()([a, b, c]).sum().backward()
    for t in (a, b, c):
        np.testing.assert_allclose(t.gradient, np.full((2, 3), 1 / 3))


def test_broadcast_input_gets_a_summed_gradient():
    a, b = Tensor(np.ones((2, 4, 3))), Tensor(np.ones((2, 3)))
    Add()([a, b]).sum().backward()
    np.testing.assert_array_equal(b.gradient, np.full((2, 3), 4.0))


@pytest.mark.parametrize("layer_class, winner", [(Maximum, [0, 1, 2]), (Minimum, [2, 2, 0])])
def test_maximum_minimum_gradient_goes_to_the_chosen_input(layer_class, winner):
    a = Tensor(np.array([[3.0, 1.0, 0.0]]))
    b = Tensor(np.array([[2.0, 4.0, 1.0]]))
    c = Tensor(np.array([[1.0, 0.0, 5.0]]))
    layer_class()([a, b, c]).sum().backward()
    gradients = np.stack([t.gradient[0] for t in (a, b, c)])
    np.testing.assert_array_equal(gradients, np.eye(3)[winner].T)


@pytest.mark.parametrize("layer_class", [Maximum, Minimum])
def test_ties_send_the_gradient_to_the_first_input(layer_class):
    """As zen.autodiff.maximum and minimum do."""
    a, b, c = (Tensor(np.full((1, 2), 7.0)) for _ in range(3))
    layer_class()([a, b, c]).sum().backward()
    np.testing.assert_array_equal(a.gradient, [[1, 1]])
    for t in (b, c):
        assert t.gradient is None or not t.gradient.any()


# ----- configs -------------------------------------------------------------------------------
CONFIGS = [(Add(), {}), (Subtract(), {}), (Multiply(), {}), (Average(), {}),
           (Maximum(), {}), (Minimum(), {}), (Concatenate(), {"axis": -1}),
           (Concatenate(axis=1), {"axis": 1})]


@pytest.mark.parametrize("layer, config", CONFIGS)
def test_config_round_trip(layer, config):
    assert layer.get_config() == config
    rebuilt = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    arrays = inputs((2, 1, 3), (2, 1, 3))
    layer(arrays), rebuilt(arrays)  # built, as set_weights requires
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(arrays).value, layer(arrays).value)


def test_repr():
    assert repr(Add()) == "Add()"
    assert repr(Concatenate()) == "Concatenate()"
    assert repr(Concatenate(axis=1)) == "Concatenate(axis=1)"


# ----- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", ["1", 1.0, True, None, [1]])
def test_bad_concatenate_axis(axis):
    with pytest.raises(ValueError, match=re.escape(f"`axis`") + ".*" + re.escape(repr(axis))):
        Concatenate(axis=axis)


@pytest.mark.parametrize("layer_class", ELEMENTWISE + [Concatenate], ids=lambda c: c.__name__)
def test_a_single_tensor_is_not_a_list(layer_class):
    layer = layer_class()
    with pytest.raises(ValueError, match=rf"{layer.name}.*list of inputs.*\(2, 3\)"):
        layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="list of inputs"):
        layer(Tensor(np.zeros((2, 3))))


@pytest.mark.parametrize("layer_class", ELEMENTWISE + [Concatenate], ids=lambda c: c.__name__)
def test_a_list_of_one_is_refused(layer_class):
    layer = layer_class()
    expected = "exactly 2" if layer_class is Subtract else "at least 2"
    with pytest.raises(ValueError, match=rf"{layer.name}.*{expected}.*\[\(2, 3\)\]"):
        layer([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=expected):
        layer([])


def test_subtract_takes_exactly_two():
    with pytest.raises(ValueError, match=r"'subtract.*exactly 2 inputs.*3 input"):
        Subtract()([np.zeros((2, 3))] * 3)


BAD_SHAPES = [  # shapes, what the message says
    ([(2, 3), (2, 4)], "incompatible shapes"),
    ([(2, 3), (2, 3), (2, 5)], "incompatible shapes"),
    ([(2, 4, 3), (2, 4)], "incompatible shapes"),             # right-aligned: 3 vs 4
    ([(2, 3), (3, 3)], "different batch sizes"),
    ([(2, 3), (1, 3)], "different batch sizes"),              # the batch never broadcasts
    ([(2, 3), ()], "batch axis"),
]


@pytest.mark.parametrize("shapes, reason", BAD_SHAPES)
@pytest.mark.parametrize("layer_class", ELEMENTWISE, ids=lambda c: c.__name__)
def test_incompatible_shapes_name_the_layer_and_every_shape(layer_class, shapes, reason):
    shapes = shapes[-2:] if layer_class is Subtract else shapes
    layer = layer_class()
    with pytest.raises(ValueError) as info:
        layer(inputs(*shapes))
    message = str(info.value)
    assert layer.name in message and reason in message
    assert str(shapes) in message


CONCAT_BAD = [  # axis, shapes, what the message says
    (-1, [(2, 3), (3, 3)], "matching shapes"),
    (1, [(2, 3, 4), (2, 3, 5)], "matching shapes"),
    (-1, [(2, 3), (2, 4, 3)], "same rank"),
    (2, [(2, 3), (2, 3)], "`axis`"),
    (-3, [(2, 3), (2, 3)], "`axis`"),
]


@pytest.mark.parametrize("axis, shapes, reason", CONCAT_BAD)
def test_concatenate_bad_shapes(axis, shapes, reason):
    layer = Concatenate(axis=axis)
    with pytest.raises(ValueError) as info:
        layer(inputs(*shapes))
    message = str(info.value)
    assert layer.name in message and reason in message and str(shapes) in message


def test_shapes_are_checked_on_every_call():
    layer = Add()
    layer(inputs((2, 3), (2, 3)))
    assert layer([np.ones((4, 5)), np.ones((4, 5))]).shape == (4, 5)  # a new shape is fine
    with pytest.raises(ValueError, match="incompatible"):
        layer(inputs((2, 3), (2, 4)))
