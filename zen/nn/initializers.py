"""Weight initialisers, by name or as callables `(shape, dtype) -> ndarray`.

Fan sizes follow Keras: a Dense kernel (fan_in, fan_out) uses its two axes; a
convolution kernel (kh, kw, C_in, C_out) multiplies both by kh * kw.
"""
import numpy as np

from .. import rng
from ..backend import DEFAULT_DTYPE
from ..registry import Registry


def _fans(shape):
    if len(shape) < 2:
        return (shape[0] if shape else 1,) * 2
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype=DEFAULT_DTYPE):
    """An array of zeros (the default for biases)."""
    return np.zeros(shape, dtype)


def ones(shape, dtype=DEFAULT_DTYPE):
    """An array of ones."""
    return np.ones(shape, dtype)


def glorot_uniform(shape, dtype=DEFAULT_DTYPE):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.generator().uniform(-limit, limit, shape).astype(dtype)


def glorot_normal(shape, dtype=DEFAULT_DTYPE):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2 / (fan_in + fan_out)), dtype)


def he_normal(shape, dtype=DEFAULT_DTYPE):
    """Truncated normal, stddev sqrt(2 / fan_in) (He et al., 2015), for ReLU."""
    return _truncated_normal(shape, np.sqrt(2 / _fans(shape)[0]), dtype)


def he_uniform(shape, dtype=DEFAULT_DTYPE):
    """U(-l, l), l = sqrt(6 / fan_in)."""
    limit = np.sqrt(6 / _fans(shape)[0])
    return rng.generator().uniform(-limit, limit, shape).astype(dtype)


def orthogonal(shape, dtype=DEFAULT_DTYPE):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one
    (Saxe et al., 2014): the default for recurrent kernels."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.generator().normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the result uniformly distributed
    q = q if rows >= cols else q.T
    return q.reshape(shape).astype(dtype)


def _truncated_normal(shape, stddev, dtype):
    """Normal draws, redrawing those beyond two standard deviations (Keras);
    the scale 0.8796 keeps the variance at stddev**2."""
    scale = stddev / 0.87962566103423978
    values = rng.generator().normal(0, scale, shape)
    outside = np.abs(values) > 2 * scale
    while outside.any():
        values[outside] = rng.generator().normal(0, scale, outside.sum())
        outside = np.abs(values) > 2 * scale
    return values.astype(dtype)


INITIALIZERS = Registry("initializer")  # Keras's names -> functions (shape, dtype) -> array
"""Initialisers (functions `(shape, dtype) -> array`) by Keras's names, as `get` looks them up."""
for _fn in (zeros, ones, glorot_uniform, glorot_normal, he_normal, he_uniform, orthogonal):
    INITIALIZERS.add(_fn)


def get(initializer):
    """An initialiser from its name or itself (a callable)."""
    if callable(initializer):
        return initializer
    return INITIALIZERS.lookup(initializer)
