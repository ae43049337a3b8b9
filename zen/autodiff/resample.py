"""Resampling images through affine maps: the op behind the geometric
augmentation layers (`zen.nn.RandomTranslation`, `RandomRotation`,
`RandomZoom`).

Every output pixel (row y, column x) of image n is read at the input point
    x_in = a0 x + a1 y + a2,    y_in = b0 x + b1 y + b2
(Keras's `affine_transform` convention), one map [a0, a1, a2, b0, b1, b2] per
image. The input is extended beyond its edges by `fill_mode`, and bilinear
interpolation reads the four pixels around each point, so the output is one
gather of 4 * batch * height * width rows and a weighted sum. For fixed maps
the output is linear in the input, so the backward pass is the same weights
scattered back (one `bincount`).
"""
import itertools
import math

from ..backend import xp
from .tensor import Function, Tensor

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")


def fix_index(index, size, fill_mode):
    """Integer pixel indices, possibly outside [0, size), moved to the pixel
    that `fill_mode` reads there. "constant" reads a source padded with one
    ring of the fill value, so every outside index goes to that ring."""
    if fill_mode == "constant":
        return xp.clip(index, -1, size) + 1
    if fill_mode == "nearest":                     # a a | a b c d | d d
        return xp.clip(index, 0, size - 1)
    if fill_mode == "wrap":                        # c d | a b c d | a b
        return index % size
    period = index % (2 * size)                    # "reflect": b a | a b c d | d c
    return xp.where(period < size, period, 2 * size - 1 - period)


def axis_nodes(coordinate, interpolation):
    """[(integer index, weight)] per point: the two neighbours with linear
    weights, or the nearest one (rounding half to even, as Keras's torch
    backend does)."""
    if interpolation == "nearest":
        return [(xp.round(coordinate).astype(xp.intp), 1.0)]
    lower = xp.floor(coordinate)
    upper_weight = coordinate - lower
    lower = lower.astype(xp.intp)
    return [(lower, 1.0 - upper_weight), (lower + 1, upper_weight)]


def sampling_plan(maps, image_shape, interpolation, fill_mode, dtype):
    """Flat row indices into the (padded) source of shape (-1, channels) and
    their weights (of `dtype`), both (nodes, batch * height * width), for the
    per-image affine `maps` (batch, 6): output = sum over nodes of
    weight * source[index]."""
    n, h, w = image_shape
    pad = 2 if fill_mode == "constant" else 0
    rows = xp.arange(h, dtype=dtype)[:, None]
    cols = xp.arange(w, dtype=dtype)
    a0, a1, a2, b0, b1, b2 = (maps[:, i, None, None].astype(dtype) for i in range(6))
    x_in = a0 * cols + (a1 * rows + a2)            # (batch, h, w)
    y_in = b0 * cols + (b1 * rows + b2)
    image_start = (xp.arange(n) * ((h + pad) * (w + pad)))[:, None, None]
    row_nodes = [(fix_index(row, h, fill_mode) * (w + pad) + image_start, weight)
                 for row, weight in axis_nodes(y_in, interpolation)]
    col_nodes = [(fix_index(col, w, fill_mode), weight)
                 for col, weight in axis_nodes(x_in, interpolation)]
    nodes = len(row_nodes) * len(col_nodes)
    index = xp.empty((nodes, n, h, w), xp.intp)
    weights = xp.empty((nodes, n, h, w), dtype)
    for k, ((row, row_weight), (col, col_weight)) in enumerate(
            itertools.product(row_nodes, col_nodes)):
        xp.add(row, col, out=index[k])
        xp.multiply(row_weight, col_weight, out=weights[k])
    return index.reshape(nodes, -1), weights.reshape(nodes, -1)


class AffineTransform(Function):
    """Resample a batch of images (N, H, W, C) through one affine map per
    image, `maps` (N, 6) = [a0, a1, a2, b0, b1, b2] from output to input
    pixel coordinates. The gradient is the interpolation weights scattered
    back onto the input pixels they read."""

    def __init__(self, maps, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        self.maps = xp.asarray(maps, dtype=xp.float64)
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value

    def forward(self, images):
        if images.ndim != 4 or self.maps.shape != (len(images), 6):
            raise ValueError(f"affine_transform expects images (N, H, W, C) and maps (N, 6); "
                             f"received images {images.shape} and maps {self.maps.shape}")
        n, h, w, c = images.shape
        source = images
        if self.fill_mode == "constant":
            source = xp.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)),
                            constant_values=images.dtype.type(self.fill_value))
        self.source_shape = source.shape
        precision = xp.result_type(images.dtype, xp.float32)  # coordinates need >= float32
        self.index, self.weights = sampling_plan(self.maps, (n, h, w), self.interpolation,
                                                 self.fill_mode, precision)
        gathered = xp.take(source.reshape(-1, c), self.index, axis=0)   # (nodes, N*H*W, C)
        out = xp.einsum("kp,kpc->pc", self.weights, gathered)
        return out.astype(images.dtype, copy=False).reshape(n, h, w, c)

    def backward(self, gradient):
        c = gradient.shape[-1]
        scattered = self.weights[..., None] * gradient.reshape(1, -1, c)  # (nodes, N*H*W, C)
        flat_index = self.index[..., None] * c + xp.arange(c)
        size = math.prod(self.source_shape)
        grad = xp.bincount(flat_index.ravel(), scattered.ravel(), minlength=size)
        grad = grad.astype(gradient.dtype).reshape(self.source_shape)
        return grad[:, 1:-1, 1:-1] if self.fill_mode == "constant" else grad


def affine_transform(images, maps, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0) -> Tensor:
    """Differentiable resampling of images (N, H, W, C) through per-image
    affine maps (N, 6) (see `AffineTransform`): `interpolation` one of
    INTERPOLATIONS, `fill_mode` one of FILL_MODES, `fill_value` the value
    outside the input with "constant"."""
    return AffineTransform.apply(images, maps=maps, interpolation=interpolation,
                                 fill_mode=fill_mode, fill_value=fill_value)
