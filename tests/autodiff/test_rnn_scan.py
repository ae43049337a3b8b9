"""The fused recurrence against float64 central differences and against the
same recurrence composed of per-step ops."""
import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import SimpleRNN

rng = np.random.default_rng(0)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
def test_rnn_scan_gradients(activation):
    projected, h0, u = rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5
    grad_check(lambda p, h, w: ad.rnn_scan(p, h, w, activation), [projected, h0, u])


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_fused_rnn_equals_the_step_by_step_rnn(activation, return_sequences):
    x = rng.normal(size=(3, 5, 2))
    layer = SimpleRNN(4, activation=activation, return_sequences=return_sequences)
    layer(x)
    for t in layer.parameters():
        t.value = t.value.astype(np.float64)
    inputs = Tensor(x)
    fused = layer(inputs)
    (fused * fused).sum().backward()
    fused_grads = [inputs.gradient] + [t.gradient for t in layer.parameters()]
    for t in [inputs, *layer.parameters()]:
        t.zero_grad()
    composed = super(SimpleRNN, layer).call(inputs)  # the per-step path of the base class
    (composed * composed).sum().backward()
    np.testing.assert_allclose(fused.value, composed.value, rtol=1e-12, atol=1e-12)
    for a, b in zip(fused_grads, [inputs.gradient] + [t.gradient for t in layer.parameters()]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_rnn_scan_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="softplus"):
        ad.rnn_scan(np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), "softplus")
