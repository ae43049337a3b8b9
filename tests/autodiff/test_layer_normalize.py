"""The fused layer-norm op against the same maths written from primitives."""
import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.autodiff.normalization import layer_normalize


def composed(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(-1, keepdims=True)
    return centred / (variance + epsilon).sqrt() * gamma + beta


def values_and_gradients(op, x, gamma, beta, weights, epsilon=1e-3):
    for t in (x, gamma, beta):
        t.zero_grad()
    out = op(x, gamma, beta, epsilon)
    (out * weights).sum().backward()
    return [out.value, x.gradient, gamma.gradient, beta.gradient]


def random_inputs(shape, seed=0, dtype=np.float64):
    g = np.random.default_rng(seed)
    arrays = (g.normal(2.0, 3.0, shape), g.normal(size=shape[-1]), g.normal(size=shape[-1]))
    return [Tensor(a.astype(dtype)) for a in arrays] + [g.normal(size=shape).astype(dtype)]


@pytest.mark.parametrize("shape", [(5, 3), (7, 1), (4, 6, 128), (3, 2, 4, 3), (2, 5, 2, 128)])
def test_values_and_gradients_match_the_composed_op(shape):
    x, gamma, beta, weights = random_inputs(shape)
    reference = values_and_gradients(composed, x, gamma, beta, weights)
    fused = values_and_gradients(layer_normalize, x, gamma, beta, weights)
    for name, value, expected in zip(("y", "d_x", "d_gamma", "d_beta"), fused, reference):
        assert value.shape == expected.shape, name
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 2, 2, 4), (3, 1)])
def test_central_differences_in_float64(shape):
    x, gamma, beta, weights = random_inputs(shape, seed=1)
    grad_check(lambda a, b, c: (layer_normalize(a, b, c, 1e-3) * weights).sum(),
               [x, gamma, beta])


def test_only_the_trainable_inputs_get_gradients():
    x, gamma, beta, weights = random_inputs((3, 4), seed=2)
    data = Tensor(x.value, trainable=False)
    (layer_normalize(data, gamma, beta, 1e-3) * weights).sum().backward()
    assert data.gradient is None and gamma.gradient.shape == (4,)


def test_a_constant_row_has_finite_output_and_gradients():
    x, gamma, beta, weights = random_inputs((3, 5), seed=3)
    x.value[1] = 7.0  # variance 0: the row normalises to beta
    grads = values_and_gradients(layer_normalize, x, gamma, beta, weights)
    assert all(np.isfinite(a).all() for a in grads)
    np.testing.assert_allclose(grads[0][1], beta.value)
    reference = values_and_gradients(composed, x, gamma, beta, weights)
    for value, expected in zip(grads, reference):
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)


def test_float32_stays_float32_and_agrees_with_float64():
    shape = (8, 16, 128)
    exact = values_and_gradients(layer_normalize, *random_inputs(shape, seed=4))
    single = values_and_gradients(layer_normalize, *random_inputs(shape, 4, np.float32))
    for name, value, expected in zip(("y", "d_x", "d_gamma", "d_beta"), single, exact):
        assert value.dtype == np.float32, name
        scale = np.abs(expected).max()
        np.testing.assert_allclose(value, expected, rtol=0, atol=1e-6 * scale, err_msg=name)


def test_the_mean_of_rows_far_from_zero_is_accurate_in_float32():
    """Summed in float32, the mean of 4096 values near 100 is off by ~2e-4 of
    their spread (0.1); summed in float64, only the input's own rounding
    (~3e-5) is left."""
    x = np.random.default_rng(5).normal(100.0, 0.1, (8, 4096))
    ones, zeros = np.ones(4096), np.zeros(4096)
    exact = layer_normalize(Tensor(x.astype(np.float32).astype(np.float64)),
                            Tensor(ones), Tensor(zeros), 1e-5).value
    single = layer_normalize(*(Tensor(a.astype(np.float32)) for a in (x, ones, zeros)),
                             1e-5).value
    assert np.abs(single - exact).max() < 6e-5


def test_the_layer_uses_the_fused_op():
    x = np.random.default_rng(6).normal(size=(4, 3, 8)).astype(np.float32)
    out = zen.nn.LayerNorm()(Tensor(x))
    assert out.dtype == np.float32 and type(out._ctx).__name__ == "LayerNormalize"
    np.testing.assert_allclose(out.value.mean(-1), 0, atol=1e-6)


def test_mismatched_gamma_names_the_shapes():
    x, gamma, beta, _ = random_inputs((2, 3))
    with pytest.raises(ValueError, match=r"gamma and beta must have shape \(3,\)"):
        layer_normalize(x, Tensor(np.ones(4)), beta, 1e-3)
