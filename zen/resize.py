"""Resampling along one axis for resizing images, with half-pixel centres
and no antialiasing (as `tf.image.resize` and Keras): numpy only, shared by
the image folders of zen.data and the Resizing layers of zen.nn.

Example:
    matrix = bilinear_matrix(14, 28)          # (14, 28): rows of weights
    half = np.einsum("ih,hwc->iwc", matrix, image)     # the height halved
"""
import numpy as np

__all__ = ["bilinear_matrix", "nearest_indices"]


def bilinear_matrix(out_size: int, in_size: int) -> np.ndarray:
    """(out_size, in_size) float64 weights of half-pixel bilinear resampling
    along one axis: output i = sum_j matrix[i, j] * input j."""
    source = np.maximum((np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5, 0.0)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, in_size - 1)
    fraction = source - low
    matrix = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, low), 1.0 - fraction)
    np.add.at(matrix, (rows, high), fraction)
    return matrix


def nearest_indices(out_size: int, in_size: int) -> np.ndarray:
    """The input index each of `out_size` outputs copies (half-pixel nearest
    neighbour)."""
    source = np.floor((np.arange(out_size) + 0.5) * (in_size / out_size)).astype(np.int64)
    return np.minimum(source, in_size - 1)
