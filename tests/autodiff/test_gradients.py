"""Every op's backward against float64 central differences, over several
shapes including broadcasting on both sides and the reductions' axis and
keepdims variants."""
import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.normal(size=shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, size=shape)


def distinct(*shape):
    """Values far enough apart that max/min/relu have no ties or kinks near them."""
    values = rng.permutation(np.arange(np.prod(shape)) * 0.37 - 3.1).reshape(shape)
    return values + 0.05


BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((2, 1, 4), (3, 1)),
                 ((3, 1), (1, 5)), ((), (2, 3)), ((2, 3), ())]

BINARY_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": ad.maximum,
    "minimum": ad.minimum,
}


@pytest.mark.parametrize("name", BINARY_OPS)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_binary_op_gradients(name, shapes):
    a, b = positive(*shapes[0]), positive(*shapes[1])
    if name in ("maximum", "minimum"):
        b = b + 0.1 * np.sign(b - 1.25)  # keep away from a == b
    grad_check(BINARY_OPS[name], [a, b])


REFLECTED = {
    "radd": lambda a: 2.0 + a, "rsub": lambda a: 1.0 - a, "rmul": lambda a: 3 * a,
    "rdiv": lambda a: 1.0 / a, "rpow": lambda a: 2.0 ** a, "neg": lambda a: -a,
    "ndarray_radd": lambda a: np.arange(4.0) + a, "ndarray_rmul": lambda a: np.arange(4.0) * a,
    "ndarray_rsub": lambda a: np.ones(4) - a, "pow_const": lambda a: a ** 3,
    "ndarray_rmatmul": lambda a: np.ones((2, 3)) @ a,
}


@pytest.mark.parametrize("name", REFLECTED)
def test_reflected_and_constant_operands(name):
    grad_check(REFLECTED[name], [positive(3, 4)])


UNARY_OPS = {
    "exp": (ad.exp, normal), "log": (ad.log, positive), "sqrt": (ad.sqrt, positive),
    "abs": (ad.abs, distinct), "tanh": (ad.tanh, normal), "sigmoid": (ad.sigmoid, normal),
    "relu": (ad.relu, distinct), "leaky_relu": (lambda t: ad.leaky_relu(t, 0.2), distinct),
    "gelu": (ad.gelu, normal), "clip": (lambda t: ad.clip(t, -1.0, 1.0), distinct),
    "softmax": (ad.softmax, normal), "softmax_axis0": (lambda t: ad.softmax(t, 0), normal),
    "log_softmax": (ad.log_softmax, normal),
    "log_softmax_axis0": (lambda t: ad.log_softmax(t, axis=0), normal),
    "flatten": (ad.flatten, normal), "T": (lambda t: t.T, normal),
    "transpose": (lambda t: ad.transpose(t, (1, 0, 2)), normal),
    "reshape": (lambda t: t.reshape(4, -1), normal),
    "pad": (lambda t: ad.pad(t, ((1, 0), (0, 2), (1, 1))), normal),
}


@pytest.mark.parametrize("name", UNARY_OPS)
def test_unary_op_gradients(name):
    fn, make = UNARY_OPS[name]
    grad_check(fn, [make(2, 3, 4)])


AXES = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("reduce", [ad.reduce_sum, ad.reduce_mean, ad.reduce_max,
                                    ad.reduce_min, ad.logsumexp])
def test_reduction_gradients(reduce, axis, keepdims):
    grad_check(lambda t: reduce(t, axis=axis, keepdims=keepdims), [distinct(2, 3, 4)])


def test_mean_divides_by_the_reduced_size_only():
    x = ad.Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(x.mean(axis=1).value, [1.0, 4.0])
    np.testing.assert_allclose(x.mean(axis=0).value, [1.5, 2.5, 3.5])
    assert x.mean().item() == pytest.approx(2.5)


MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 2, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                 ((2, 1, 3, 4), (5, 4, 2))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_gradients(shapes):
    a, b = normal(*shapes[0]), normal(*shapes[1])
    grad_check(ad.matmul, [a, b])
    np.testing.assert_allclose((ad.Tensor(a) @ ad.Tensor(b)).value, a @ b)


INDICES = [1, -1, slice(1, 3), (0, slice(None, None, 2)), (Ellipsis, 1), (None, 0),
           np.array([0, 2, 0, 0]), (np.array([0, 1, 1]), np.array([2, 2, 2])),
           [1, 1, 0], np.array([[True, False, True, False]] * 2 + [[False] * 4])]


@pytest.mark.parametrize("index", INDICES, ids=lambda i: repr(i)[:30])
def test_getitem_gradients(index):
    grad_check(lambda t: t[index], [normal(3, 4)])


def test_getitem_repeated_indices_accumulate():
    t = ad.Tensor(np.zeros(3))
    t[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(t.gradient, [3.0, 0.0, 1.0])


def test_getitem_with_tensor_index():
    t = ad.Tensor(np.arange(5.0))
    t[ad.Tensor([4, 4, 1])].sum().backward()
    np.testing.assert_array_equal(t.gradient, [0, 1, 0, 0, 2])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_and_stack_gradients(axis):
    grad_check(lambda a, b: ad.concat([a, b, a], axis), [normal(2, 3), normal(2, 3)])
    grad_check(lambda a, b: ad.stack([a, b], axis), [normal(2, 3), normal(2, 3)])


def test_where_gradients():
    cond = rng.random((3, 4)) > 0.5
    grad_check(lambda a, b: ad.where(cond, a, b), [normal(3, 4), normal(4)])


@pytest.mark.parametrize("stride", [1, 2, (1, 2)])
@pytest.mark.parametrize("padding", ["valid", "same", 0, 1, 2])
def test_conv2d_gradients(stride, padding):
    x, w, b = normal(2, 6, 5, 3), normal(3, 3, 3, 4), normal(4)
    grad_check(lambda x, w, b: ad.conv2d(x, w, b, stride=stride, padding=padding), [x, w, b])


@pytest.mark.parametrize("pool", [ad.max_pool2d, ad.avg_pool2d])
@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (3, 2), ((2, 3), (1, 2))])
def test_pool_gradients(pool, size, stride):
    grad_check(lambda x: pool(x, size, stride), [distinct(2, 6, 7, 3)])


def test_dropout_gradient_uses_the_same_mask():
    x = ad.Tensor(np.ones((50, 40)))
    y = ad.dropout(x, 0.5, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.gradient, y.value)  # d/dx (x * mask) = mask, x = 1


def test_composite_expression():
    def f(a, b, c):
        h = ad.tanh(a @ b + c)
        return ad.log_softmax(h * ad.sigmoid(h), axis=-1).mean(axis=0) ** 2

    grad_check(f, [normal(5, 3), normal(3, 4), normal(4)])


def test_max_pool_gives_a_tied_window_gradient_to_its_first_maximum():
    x = ad.Tensor(np.array([[1.0, 1.0], [0.0, 1.0]]).reshape(1, 2, 2, 1))
    ad.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.gradient.reshape(2, 2), [[1, 0], [0, 0]])


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (2, 2, 4, 3), (3,)])
@pytest.mark.parametrize("outputs", [4, 2])  # the bias inside the product (3 <= 4) or added after
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_gradients_and_value(x_shape, outputs, with_bias):
    x, w, b = normal(*x_shape), normal(3, outputs), normal(outputs)
    inputs = [x, w, b] if with_bias else [x, w]
    grad_check(ad.linear, inputs)
    expected = x @ w + (b if with_bias else 0)
    np.testing.assert_allclose(ad.linear(*inputs).value, expected, rtol=1e-12)


@pytest.mark.parametrize("outputs", [4, 2])
@pytest.mark.parametrize("trainable", [(True, False, True), (False, True, False),
                                       (False, False, True), (True, True, False)])
def test_linear_gives_only_the_gradients_wanted(outputs, trainable):
    x, w, b = (Tensor(a, trainable=t) for a, t in
               zip((normal(6, 3), normal(3, outputs), normal(outputs)), trainable))
    weights = normal(6, outputs)
    (ad.linear(x, w, b) * weights).sum().backward()
    expected = (weights @ w.value.T, x.value.T @ weights, weights.sum(axis=0))
    for t, wanted, gradient in zip((x, w, b), trainable, expected):
        if wanted:
            np.testing.assert_allclose(t.gradient, gradient, rtol=1e-12)
        else:
            assert t.gradient is None


def test_sparse_softmax_cross_entropy_matches_its_composition():
    logits, labels = normal(6, 5), np.array([0, 4, 4, 1, 2, 0])
    grad_check(lambda t: ad.sparse_softmax_cross_entropy(t, labels), [logits])
    composed = -ad.log_softmax(ad.Tensor(logits))[np.arange(6), labels].mean()
    fused = ad.sparse_softmax_cross_entropy(ad.Tensor(logits), labels)
    assert fused.item() == pytest.approx(composed.item(), rel=1e-12)


def test_sparse_softmax_cross_entropy_is_finite_at_extreme_logits():
    logits = ad.Tensor(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], np.float32))
    loss = ad.sparse_softmax_cross_entropy(logits, [1, 1])
    loss.backward()
    assert loss.item() == pytest.approx(1000.0) and np.isfinite(logits.gradient).all()


def test_grad_check_nudges_inputs_that_are_not_c_contiguous():
    """A transposed view is checked element by element like any array: its
    numeric gradient is not silently zero, so a missing gradient is caught."""
    transposed = np.arange(1.0, 7.0).reshape(2, 3).T
    assert grad_check(lambda t: (t * t).sum(), [transposed]) < 1e-8
    with pytest.raises(AssertionError, match="analytic 0, numeric"):
        grad_check(lambda t: t * 0.0 + ad.Tensor(t.value ** 2, trainable=False), [transposed])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_with_one_input_feature_is_the_matmul(dtype):
    """One input feature takes numpy's dot (matmul is slow there): the same
    values, forward and back, as x @ w + b."""
    from zen.autodiff.nn_ops import linear
    g = np.random.default_rng(3)
    x, w, b = g.normal(size=(7, 5, 1)), g.normal(size=(1, 4)), g.normal(size=4)
    x, w, b = (a.astype(dtype) for a in (x, w, b))
    tensors = [Tensor(a) for a in (x, w, b)]
    out = linear(*tensors)
    weights = g.normal(size=out.shape).astype(dtype)
    (out * Tensor(weights, trainable=False)).sum().backward()
    np.testing.assert_array_equal(out.value, x @ w + b)
    np.testing.assert_allclose(tensors[0].gradient, weights @ w.T, rtol=1e-6)
    np.testing.assert_allclose(tensors[1].gradient, x.reshape(-1, 1).T @ weights.reshape(-1, 4),
                               rtol=1e-5)
