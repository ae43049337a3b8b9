"""The fused batch-norm op against the same maths written from primitives."""
import numpy as np
import pytest

import zen
from zen.autodiff import Tensor, grad_check
from zen.autodiff.normalization import batch_normalize, channel_moments


def composed(x, gamma, beta, epsilon):
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axes, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axes, keepdims=True)
    return centred / (variance + epsilon).sqrt() * gamma + beta


def fused(x, gamma, beta, epsilon):
    mean, variance = channel_moments(x.value)
    return batch_normalize(x, gamma, beta, mean, variance, epsilon)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 6), (2, 1, 1, 4), (7, 5, 2)])
def test_values_and_gradients_match_the_composed_op(shape):
    g = np.random.default_rng(0)
    x = Tensor(g.normal(2.0, 3.0, shape))
    gamma, beta = Tensor(g.normal(size=shape[-1])), Tensor(g.normal(size=shape[-1]))
    weights = g.normal(size=shape)
    outputs = []
    for op in (composed, fused):
        for t in (x, gamma, beta):
            t.zero_grad()
        out = op(x, gamma, beta, 1e-3)
        (out * weights).sum().backward()
        outputs.append([out.value, x.gradient, gamma.gradient, beta.gradient])
    for reference, value in zip(*outputs):
        np.testing.assert_allclose(value, reference, rtol=1e-10, atol=1e-12)


def test_central_differences_in_float64():
    g = np.random.default_rng(1)
    x = Tensor(g.normal(size=(6, 2, 3)))
    gamma, beta = Tensor(g.normal(size=3)), Tensor(g.normal(size=3))
    weights = g.normal(size=(6, 2, 3))
    grad_check(lambda a, b, c: (fused(a, b, c, 1e-3) * weights).sum(), [x, gamma, beta])


def test_float32_stays_float32_and_the_layer_uses_it():
    x = np.random.default_rng(2).normal(size=(8, 4, 4, 3)).astype(np.float32)
    layer = zen.nn.BatchNorm()
    out = layer(x, training=True)  # training: the batch's statistics, through the fused op
    assert out.dtype == np.float32
    assert out._ctx is None or type(out._ctx).__name__ == "BatchNormalize"
    np.testing.assert_allclose(out.value.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.value, 0.01 * x.mean(axis=(0, 1, 2)),
                               rtol=1e-5, atol=1e-7)
    assert layer(x).dtype == np.float32  # inference (a plain call): float32 too


def test_float32_gradients_stay_accurate_over_many_rows():
    """The channel sums nearly cancel in the backward pass; accumulated in
    float32 over 50,000 rows they would leave a relative error near 1e-2."""
    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(1.0, 1.0, (50_000, 4)))
    g = 0.5 + 1e-3 * rng.normal(size=(50_000, 4))
    gamma, beta = np.ones(4), np.zeros(4)
    gradients = []
    for dtype in (np.float64, np.float32):
        t = Tensor(x.astype(dtype))
        out = fused(t, Tensor(gamma.astype(dtype)), Tensor(beta.astype(dtype)), 1e-3)
        out.backward(g.astype(dtype))
        gradients.append(t.gradient)
    exact, single = gradients
    assert single.dtype == np.float32
    assert np.abs(single - exact).max() / np.abs(exact).max() < 1e-3
