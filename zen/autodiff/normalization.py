"""Batch and layer normalisation, each as one fused op.

Written from primitives, a training-mode batch norm is about ten ops (a
mean, a subtraction, a square, another mean, a square root, a division, a
scale and a shift), each a pass over the activations forward and again
backward. Fused, the forward is three passes and the backward four, with
the classic closed form of the gradient (Ioffe & Szegedy, 2015):

    x_hat = (x - mean) / sqrt(var + eps),     y = gamma * x_hat + beta
    d_beta  = sum(g),   d_gamma = sum(g * x_hat)
    d_x     = gamma / sqrt(var + eps) * (g - d_beta / m - x_hat * d_gamma / m)

with sums over the m values of each channel (every axis but the last).

Batch norm over a group of batches held apart (synchronised batch norm, as
in data-parallel training) takes the statistics over all of them: `group`
is then an object with `sum(array)`, the element-wise sum of an array over
the group's members, and `weight`, this batch's share of the group's loss.
The forward sums the channel sums and counts, then the centred squares;
the backward sums d_beta and d_gamma (each member's weighted by its share)
before the d_x formula, with m the group's count.

The per-channel sums run over every pixel of the batch (100,000 rows and
more) and the backward subtracts them from the gradient, where they nearly
cancel: summed in float32, their rounding error grows with the row count and
reaches the weights of the layer before (a relative error of 1e-3 and more).
So, as PyTorch does on the CPU, the sums accumulate in float64; everything
else stays in the input's dtype.

Layer normalisation takes the same statistics per row instead (each
sample's features, the last axis), so the sums run over `features` values
(a few hundred, a few thousand) and the closed form is the same with the
roles of the axes swapped. Measured against float64 on (32, 64, 128) and
(8, 4096) inputs, float32 sums leave the same error (~1e-7) as float64
ones, except in the mean of rows far from zero (mean / std = 1000, 4096
features: off by 4e-4 std summed in float32, by 4e-5, the input's own
rounding, in float64). So the row mean accumulates in float64 (about 9% of
the op's time); the other sums, d_gamma and d_beta included (nothing
subtracts them), stay in the input's dtype.
"""
from .. import kernels, parallel
from ..backend import xp
from .tensor import Function


def channel_sum(rows):
    """The sum of each column of `rows`, accumulated in float64."""
    return rows.sum(axis=0, dtype=xp.float64)


def channel_dot(a, b):
    """sum_i a[i, j] * b[i, j] for each column j, accumulated in float64."""
    return xp.einsum("ij,ij->j", a, b, dtype=xp.float64)


def channel_moments(x, group=None):
    """Mean and biased variance of each channel (the last axis) of array x,
    over all the other axes (and over every member's x, with `group`), in
    x's dtype."""
    rows = x.reshape(-1, x.shape[-1])
    fast = kernels.applies(rows)  # zen.kernels: each sum in one pass
    sums, count = (kernels.channel_sum if fast else channel_sum)(rows), len(rows)
    if group is not None:
        totals = group.sum(xp.append(sums, count))
        sums, count = totals[:-1], totals[-1]
    mean = (sums / count).astype(x.dtype)
    if fast:
        squares = kernels.centred_square_sum(rows, mean)
    else:
        centred = rows - mean
        squares = channel_dot(centred, centred)
    if group is not None:
        squares = group.sum(squares)
    return mean, (squares / count).astype(x.dtype)


class BatchNormalize(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta over the last axis,
    where `mean` and `var` are x's own channel statistics (from
    `channel_moments`), so the gradient flows through them too."""

    def __init__(self, mean, var, epsilon, group=None):
        self.mean, self.var, self.epsilon = mean, var, epsilon
        self.group = group

    def forward(self, x, gamma, beta):
        self.inv_std = 1.0 / xp.sqrt(self.var + self.epsilon)
        channels = x.shape[-1:]
        self.fast = (gamma.shape == beta.shape == xp.shape(self.mean) == xp.shape(self.inv_std)
                     == channels and kernels.applies(x, self.mean, self.inv_std, gamma, beta))
        if self.fast:  # zen.kernels: y in one pass; backward forms x_hat again from x
            self.x, self.gamma = x, gamma
            return kernels.batch_norm_forward(x, self.mean, self.inv_std, gamma, beta)
        x_hat = x - self.mean
        x_hat *= self.inv_std
        self.x_hat, self.gamma = x_hat, gamma
        out = x_hat * gamma
        out += beta
        return out

    def backward(self, g):
        channels = g.shape[-1]
        rows = g.reshape(-1, channels)
        m = len(rows)
        fast = self.fast and kernels.applies(rows, self.x)
        if fast:  # zen.kernels: both sums in one pass
            x = self.x.reshape(-1, channels)
            d_beta, d_gamma = kernels.batch_norm_gradient_sums(rows, x, self.mean, self.inv_std)
        else:
            x_hat = self._x_hat().reshape(-1, channels)
            d_beta, d_gamma = channel_sum(rows), channel_dot(rows, x_hat)  # float64
        total_beta, total_gamma = d_beta, d_gamma
        if self.group is not None:  # the sums over the group, in this member's scale
            weight = self.group.weight
            sums = self.group.sum(xp.concatenate([d_beta * weight, d_gamma * weight,
                                                     xp.asarray([m], xp.float64)]))
            total_beta, total_gamma, m = sums[:channels] / weight, \
                sums[channels:-1] / weight, sums[-1]
        d_x = None
        if self.needs_grad[0] and fast:
            d_x = kernels.batch_norm_input_gradient(
                rows, x, self.mean, self.inv_std, (-total_gamma / m).astype(g.dtype),
                (total_beta / m).astype(g.dtype), self.gamma * self.inv_std).reshape(g.shape)
        elif self.needs_grad[0]:
            d_x = x_hat * (-total_gamma / m).astype(g.dtype)
            d_x += rows
            d_x -= (total_beta / m).astype(g.dtype)
            d_x *= self.gamma * self.inv_std
            d_x = d_x.reshape(g.shape)
        return d_x, d_gamma.astype(g.dtype), d_beta.astype(g.dtype)

    def _x_hat(self):
        """(x - mean) * inv_std: kept by the numpy forward, formed again here
        after the kernel's (the kernels switched off in between)."""
        if not self.fast:
            return self.x_hat
        x_hat = self.x - self.mean
        x_hat *= self.inv_std
        return x_hat


def batch_normalize(x, gamma, beta, mean, var, epsilon, group=None):
    """Normalise x (channels last) with its own batch statistics `mean`,
    `var` (arrays from `channel_moments(x.value, group)`), then scale and
    shift."""
    return BatchNormalize.apply(x, gamma, beta, mean=mean, var=var, epsilon=epsilon,
                                group=group)


def row_mean(rows, dtype=None):
    """The mean of each row of the 2-D array `rows` as an (n, 1) column in
    rows' dtype (accumulated in `dtype`, default rows' own)."""
    sums = xp.einsum("ij->i", rows, dtype=dtype)[:, None]
    return (sums / rows.shape[1]).astype(rows.dtype, copy=False)


def row_dot_mean(a, b):
    """mean_j a[i, j] * b[i, j] for each row i, as an (n, 1) column."""
    return xp.einsum("ij,ij->i", a, b)[:, None] / a.shape[1]


class LayerNormalize(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, where `mean` and `var`
    (biased) are each row's own statistics over the last axis of x, so the
    gradient flows through them too. Per row, with x_hat = (x - mean) / std:

        d_beta  = sum over rows of g,   d_gamma = sum over rows of g * x_hat
        d_x     = (h - mean(h) - x_hat * mean(h * x_hat)) / std,  h = g * gamma
    """

    def __init__(self, epsilon):
        self.epsilon = epsilon

    def forward(self, x, gamma, beta):
        features = x.shape[-1]
        if gamma.shape != (features,) or beta.shape != (features,):
            raise ValueError(f"gamma and beta must have shape ({features},), the last axis "
                             f"of x; received {gamma.shape} and {beta.shape}")
        self.fast = kernels.applies(x, gamma, beta)
        if self.fast:  # zen.kernels: statistics and output in one pass per row
            out, self.x_hat, self.inv_std = kernels.layer_norm_forward(x, gamma, beta,
                                                                       self.epsilon)
            self.gamma = gamma
            return out
        rows = x.reshape(-1, features)
        x_hat, out = xp.empty_like(rows), xp.empty(rows.shape, xp.result_type(rows, gamma, beta))
        self.inv_std = xp.empty((len(rows), 1), rows.dtype)

        def normalize(start, stop):  # each row on its own: split over the threads
            some = slice(start, stop)
            xp.subtract(rows[some], row_mean(rows[some], xp.float64), out=x_hat[some])
            inv_std = 1.0 / xp.sqrt(row_dot_mean(x_hat[some], x_hat[some]) + self.epsilon)
            self.inv_std[some] = inv_std
            x_hat[some] *= inv_std
            xp.multiply(x_hat[some], gamma, out=out[some])
            out[some] += beta
        parallel.for_each_slice(normalize, rows)
        self.x_hat, self.gamma = x_hat, gamma
        return out.reshape(x.shape)

    def backward(self, g):
        if self.fast and kernels.applies(g, self.x_hat):  # zen.kernels: one pass
            d_x, d_gamma, d_beta = kernels.layer_norm_backward(g, self.x_hat, self.gamma,
                                                               self.inv_std)
            return tuple(d if needed else None
                         for d, needed in zip((d_x, d_gamma, d_beta), self.needs_grad))
        rows, x_hat = g.reshape(self.x_hat.shape), self.x_hat
        d_x = d_gamma = d_beta = None
        if self.needs_grad[0]:
            d_x = xp.empty(rows.shape, xp.result_type(rows, self.gamma))

            def input_gradient(start, stop):  # row by row: split over the threads
                some = slice(start, stop)
                h = xp.multiply(rows[some], self.gamma, out=d_x[some])
                shift = x_hat[some] * row_dot_mean(h, x_hat[some])
                shift += row_mean(h)
                h -= shift
                h *= self.inv_std[some]
            parallel.for_each_slice(input_gradient, rows)
            d_x = d_x.reshape(g.shape)
        if self.needs_grad[1]:
            d_gamma = xp.einsum("ij,ij->j", rows, x_hat)
        if self.needs_grad[2]:
            d_beta = rows.sum(axis=0)
        return d_x, d_gamma, d_beta


def layer_normalize(x, gamma, beta, epsilon):
    """Normalise each row of x (its last axis) with the row's own mean and
    biased variance plus `epsilon`, then scale by gamma and shift by beta,
    both of shape (features,).

    Example:
        y = layer_normalize(Tensor(np.random.randn(4, 10, 64)), Tensor(np.ones(64)),
                            Tensor(np.zeros(64)), 1e-5)       # each y[i, t] has mean 0
    """
    return LayerNormalize.apply(x, gamma, beta, epsilon=epsilon)
