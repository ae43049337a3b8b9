"""Property-based tests of the autodiff engine's forward values (hypothesis):

4. forward values match numpy, in float32 and float64, keeping the dtype;
5. the gradient of a broadcast operand is the output gradient summed back.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zen import autodiff as ad
from zen.autodiff import Tensor

from property_helpers import DTYPES, axis as _axis, bounded as _settings

# ----- 4. forward values against numpy ---------------------------------------------
ANY, POSITIVE, NONZERO = (-3.0, 3.0), (0.125, 3.0), "nonzero"  # bounds exact in float32


def _elements(domain, dtype):
    width = 32 if dtype == np.float32 else 64
    if domain == NONZERO:
        return st.one_of(st.floats(-3.0, -0.25, width=width), st.floats(0.25, 3.0, width=width))
    return st.floats(*domain, width=width)


def _array(draw, dtype, shape, domain=ANY):
    return draw(hnp.arrays(dtype, shape, elements=_elements(domain, dtype)))


def _shape(draw, min_dims=0):
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))


def _assert_matches(out, reference, dtype, atol64=1e-12):
    """Same shape and dtype as the input; the values of a float64 reference
    computed from the same numbers (float32: to float32 rounding)."""
    assert isinstance(out, Tensor) and out.dtype == dtype
    assert out.shape == np.shape(reference)
    if dtype == np.float64:
        np.testing.assert_allclose(out.value, reference, rtol=1e-12, atol=atol64)
    else:
        np.testing.assert_allclose(out.value, reference, rtol=1e-5, atol=3e-5)


_erf = np.vectorize(math.erf, otypes=[np.float64])

ELEMENTWISE = {  # name: (zen op, numpy reference, input domain)
    "exp": (ad.exp, np.exp, ANY), "log": (ad.log, np.log, POSITIVE),
    "sqrt": (ad.sqrt, np.sqrt, POSITIVE), "abs": (ad.abs, np.abs, ANY),
    "neg": (ad.neg, np.negative, ANY), "tanh": (ad.tanh, np.tanh, ANY),
    "sigmoid": (ad.sigmoid, lambda x: 1 / (1 + np.exp(-x)), ANY),
    "relu": (ad.relu, lambda x: np.maximum(x, 0), ANY),
    "leaky_relu": (lambda t: ad.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), ANY),
    "gelu": (ad.gelu, lambda x: x * 0.5 * (1 + _erf(x / math.sqrt(2))), ANY),
    "clip": (lambda t: ad.clip(t, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0), ANY),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ELEMENTWISE)
@_settings(30)
@given(data=st.data())
def test_elementwise_forward_matches_numpy(name, dtype, data):
    op, reference, domain = ELEMENTWISE[name]
    x = _array(data.draw, dtype, _shape(data.draw), domain)
    # gelu's erf is the A&S 7.1.26 approximation, good to 1.5e-7
    _assert_matches(op(Tensor(x)), reference(x.astype(np.float64)), dtype,
                    atol64=3e-7 if name == "gelu" else 1e-12)


SCALAR_OPERANDS = {  # name: (the same expression for a Tensor and an ndarray x, domains of x, c)
    "x + c": (lambda x, c: x + c, ANY, ANY), "c + x": (lambda x, c: c + x, ANY, ANY),
    "x - c": (lambda x, c: x - c, ANY, ANY), "c - x": (lambda x, c: c - x, ANY, ANY),
    "x * c": (lambda x, c: x * c, ANY, ANY), "c * x": (lambda x, c: c * x, ANY, ANY),
    "x / c": (lambda x, c: x / c, ANY, NONZERO), "c / x": (lambda x, c: c / x, NONZERO, ANY),
    "x ** c": (lambda x, c: x ** c, POSITIVE, ANY), "c ** x": (lambda x, c: c ** x, ANY, POSITIVE),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", SCALAR_OPERANDS)
@_settings(30)
@given(data=st.data())
def test_python_number_operands_take_the_tensor_dtype(name, dtype, data):
    """A Python number is 'weak', as in numpy and PyTorch: x * 0.1 keeps x's
    dtype and, in float64, the full precision of 0.1 (numpy's own result, to
    a few ulp)."""
    expression, x_domain, c_domain = SCALAR_OPERANDS[name]
    x = _array(data.draw, dtype, _shape(data.draw), x_domain)
    c = data.draw(_elements(c_domain, np.float64) | st.sampled_from([1, 2, 3]))
    out, expected = expression(Tensor(x), c), expression(x, c)
    assert out.dtype == expected.dtype == dtype
    np.testing.assert_allclose(out.value, expected, rtol=4 * np.finfo(dtype).eps, atol=0)


REDUCTION_REFERENCES = {
    "sum": (ad.reduce_sum, np.sum), "mean": (ad.reduce_mean, np.mean),
    "max": (ad.reduce_max, np.max), "min": (ad.reduce_min, np.min),
    "logsumexp": (ad.logsumexp, lambda x, axis, keepdims: np.log(
        np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", REDUCTION_REFERENCES)
@_settings(30)
@given(data=st.data())
def test_reductions_match_numpy(name, dtype, data):
    op, reference = REDUCTION_REFERENCES[name]
    x = _array(data.draw, dtype, _shape(data.draw))
    axis, keepdims = _axis(data.draw, x.ndim), data.draw(st.booleans())
    expected = reference(x.astype(np.float64), axis=axis, keepdims=keepdims)
    _assert_matches(op(Tensor(x), axis=axis, keepdims=keepdims), expected, dtype)


AXIS_REFERENCES = {
    "softmax": (ad.softmax, lambda x, axis: np.exp(x) / np.exp(x).sum(axis, keepdims=True)),
    "log_softmax": (ad.log_softmax,
                    lambda x, axis: x - np.log(np.exp(x).sum(axis, keepdims=True))),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", AXIS_REFERENCES)
@_settings(30)
@given(data=st.data())
def test_softmax_matches_numpy(name, dtype, data):
    op, reference = AXIS_REFERENCES[name]
    x = _array(data.draw, dtype, _shape(data.draw, min_dims=1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    _assert_matches(op(Tensor(x), axis=axis), reference(x.astype(np.float64), axis), dtype)


BROADCAST_REFERENCES = {  # name: (zen op, numpy reference, domains of a and b)
    "add": (ad.add, np.add, ANY, ANY), "sub": (ad.sub, np.subtract, ANY, ANY),
    "mul": (ad.mul, np.multiply, ANY, ANY), "div": (ad.div, np.divide, ANY, NONZERO),
    "pow": (ad.power, np.power, POSITIVE, ANY),
    "maximum": (ad.maximum, np.maximum, ANY, ANY), "minimum": (ad.minimum, np.minimum, ANY, ANY),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", BROADCAST_REFERENCES)
@_settings(30)
@given(data=st.data())
def test_broadcasting_binary_ops_match_numpy(name, dtype, data):
    op, reference, a_domain, b_domain = BROADCAST_REFERENCES[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    a = _array(data.draw, dtype, shapes.input_shapes[0], a_domain)
    b = _array(data.draw, dtype, shapes.input_shapes[1], b_domain)
    expected = reference(a.astype(np.float64), b.astype(np.float64))
    _assert_matches(op(Tensor(a), Tensor(b)), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@_settings(100)
@given(data=st.data())
def test_matmul_matches_numpy(dtype, data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=2, max_side=4))
    a, b = (_array(data.draw, dtype, s) for s in shapes.input_shapes)
    _assert_matches(Tensor(a) @ Tensor(b), a.astype(np.float64) @ b.astype(np.float64), dtype)


INDICES = [slice(None, None, -1), (Ellipsis, 0), (slice(1, None), Ellipsis),
           np.array([0, -1, 0]), (None, slice(None, 2))]
SHAPE_OPS = {  # name: (parameter strategy for an input shape, zen op, numpy reference)
    "reshape": (lambda s: st.just(s[::-1]), lambda t, p: t.reshape(p), np.reshape),
    "flatten": (lambda s: st.just((s[0], -1)), lambda t, p: ad.flatten(t), np.reshape),
    "transpose": (lambda s: st.permutations(range(len(s))).map(tuple), ad.transpose,
                  np.transpose),
    "getitem": (lambda s: st.sampled_from(INDICES), lambda t, p: t[p], lambda x, p: x[p]),
    "concat": (lambda s: st.integers(-len(s), len(s) - 1),
               lambda t, p: ad.concat([t, -t], p), lambda x, p: np.concatenate([x, -x], p)),
    "stack": (lambda s: st.integers(-len(s) - 1, len(s)),
              lambda t, p: ad.stack([t, t * 2], p), lambda x, p: np.stack([x, x * 2], p)),
    "pad": (lambda s: st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                               min_size=len(s), max_size=len(s)), ad.pad, np.pad),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", SHAPE_OPS)
@_settings(30)
@given(data=st.data())
def test_shape_ops_match_numpy_exactly(name, dtype, data):
    parameter, op, reference = SHAPE_OPS[name]
    x = _array(data.draw, dtype, _shape(data.draw, min_dims=1))
    p = data.draw(parameter(x.shape))
    out, expected = op(Tensor(x), p), reference(x, p)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.value, expected)
    assert out.shape == expected.shape


# ----- 5. broadcasting's gradient: the adjoint of broadcast_to ------------------------
def _sum_to(g, shape):
    """Sum g back to `shape` without unbroadcast: each element of an array of
    `shape` receives the sum of g over the positions broadcasting copied it to."""
    owner = np.broadcast_to(np.arange(math.prod(shape)).reshape(shape), g.shape)
    sums = np.bincount(owner.ravel(), weights=g.ravel(), minlength=math.prod(shape))
    return sums.reshape(shape)


SMALL_INTEGERS = st.sampled_from([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@_settings(300)
@given(data=st.data())
def test_broadcast_gradients_sum_back_to_each_operand(dtype, data):
    """Integer-valued arrays keep every sum exact, in float32 too, so the
    gradients must equal the reference exactly; sides of 0 are included."""
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4,
                                                         min_side=0, max_side=3))
    a, b, c = (Tensor(data.draw(hnp.arrays(dtype, s, elements=SMALL_INTEGERS)))
               for s in shapes.input_shapes)
    out_shape = shapes.result_shape
    (a + b + c).sum().backward()  # seed ones: each element counts its copies
    for t in (a, b, c):
        copies = math.prod(out_shape) // max(t.size, 1)
        np.testing.assert_array_equal(t.gradient, np.full(t.shape, copies, dtype))
        assert t.gradient.dtype == dtype
    w = data.draw(hnp.arrays(dtype, out_shape, elements=SMALL_INTEGERS))
    for t in (a, b, c):
        t.zero_grad()
    (a * b - c).backward(w)
    broadcast = [np.broadcast_to(t.value, out_shape) for t in (a, b, c)]
    for t, g in zip((a, b, c), (w * broadcast[1], w * broadcast[0], -w)):
        np.testing.assert_array_equal(t.gradient, _sum_to(g, t.shape))
        assert t.gradient.dtype == dtype
        np.testing.assert_array_equal(ad.unbroadcast(g, t.shape), _sum_to(g, t.shape))
