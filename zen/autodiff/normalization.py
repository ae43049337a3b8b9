"""Batch normalisation as one fused op.

Written from primitives, a training-mode batch norm is about ten ops (a
mean, a subtraction, a square, another mean, a square root, a division, a
scale and a shift), each a pass over the activations forward and again
backward. Fused, the forward is three passes and the backward four, with
the classic closed form of the gradient (Ioffe & Szegedy, 2015):

    x_hat = (x - mean) / sqrt(var + eps),     y = gamma * x_hat + beta
    d_beta  = sum(g),   d_gamma = sum(g * x_hat)
    d_x     = gamma / sqrt(var + eps) * (g - d_beta / m - x_hat * d_gamma / m)

with sums over the m values of each channel (every axis but the last).
"""
from ..backend import xp
from .tensor import Function


def channel_moments(x):
    """Mean and biased variance of each channel (the last axis) of array x,
    over all the other axes."""
    rows = x.reshape(-1, x.shape[-1])
    mean = rows.mean(axis=0)
    centred = rows - mean
    return mean, xp.einsum("ij,ij->j", centred, centred) / len(rows)


class BatchNormalize(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta over the last axis,
    where `mean` and `var` are x's own channel statistics (from
    `channel_moments`), so the gradient flows through them too."""

    def __init__(self, mean, var, epsilon):
        self.mean, self.var, self.epsilon = mean, var, epsilon

    def forward(self, x, gamma, beta):
        self.inv_std = 1.0 / xp.sqrt(self.var + self.epsilon)
        x_hat = x - self.mean
        x_hat *= self.inv_std
        self.x_hat, self.gamma = x_hat, gamma
        out = x_hat * gamma
        out += beta
        return out

    def backward(self, g):
        channels = g.shape[-1]
        rows, x_hat = g.reshape(-1, channels), self.x_hat.reshape(-1, channels)
        m = len(rows)
        d_beta = rows.sum(axis=0)
        d_gamma = xp.einsum("ij,ij->j", rows, x_hat)
        d_x = None
        if self.needs_grad[0]:
            d_x = x_hat * (-d_gamma / m)
            d_x += rows
            d_x -= d_beta / m
            d_x *= self.gamma * self.inv_std
            d_x = d_x.reshape(g.shape)
        return d_x, d_gamma.astype(g.dtype, copy=False), d_beta


def batch_normalize(x, gamma, beta, mean, var, epsilon):
    """Normalise x (channels last) with its own batch statistics `mean`,
    `var` (arrays from `channel_moments(x.value)`), then scale and shift."""
    return BatchNormalize.apply(x, gamma, beta, mean=mean, var=var, epsilon=epsilon)
