"""Softplus and sigmoid as Functions accurate to float rounding in both
tails (no overflow, and none of the cancellation of zen.autodiff's tanh-based
sigmoid for x << 0), for LogCosh and the binary (focal) cross-entropies on
logits.
"""
from ...autodiff import Function, Tensor
from ...backend import xp


class _Softplus(Function):
    """log(1 + e^x), elementwise, as numpy's logaddexp(0, x) (no overflow);
    the gradient is sigmoid(x) everywhere (also at 0, where |x| has a kink)."""

    def forward(self, x):
        self.x = x
        return xp.logaddexp(xp.zeros((), x.dtype), x)

    def backward(self, g):
        return g * _sigmoid_of(self.x)


def _softplus(x) -> Tensor:
    """log(1 + e^x), elementwise, stable for any x; differentiable."""
    return _Softplus.apply(x)


class _Sigmoid(Function):
    """1 / (1 + e^-x), elementwise, to float rounding in both tails, as
    PyTorch's (ad.sigmoid's 0.5 * (tanh(x / 2) + 1) cancels for x << 0: in
    float32 it is off by 2e-4 relative at x = -10, and focal cross-entropy
    takes the log of it)."""

    def forward(self, x):
        self.out = _sigmoid_of(x)
        return self.out

    def backward(self, g):
        return g * self.out * (1 - self.out)


def _sigmoid_of(x):
    """sigmoid of an array: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below
    (no overflow, and no cancellation in 1 - ... for negative x)."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
