"""Ops that move elements without changing them: reshape, transpose,
indexing, concatenation, stacking and padding."""
import numpy as np

from ..backend import xp
from .ops import _value, as_tensor
from .tensor import Function, IndexedGradient, Tensor


class Reshape(Function):
    """a with a new shape (numpy's rules: one axis may be -1)."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Transpose(Function):
    """a with its axes permuted as `axes` says (default: reversed)."""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        self.axes = tuple(reversed(range(a.ndim))) if self.axes is None else \
            tuple(axis % a.ndim for axis in self.axes)
        return xp.transpose(a, self.axes)

    def backward(self, g):
        return xp.transpose(g, np.argsort(self.axes))


class GetItem(Function):
    """a[index]; integer-array indices that repeat accumulate their gradients."""

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        self.shape, self.dtype = a.shape, a.dtype
        return a[self.index]

    def backward(self, g):
        return IndexedGradient(self.index, g, _is_basic(self.index))


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer))
               for i in items)


class Concat(Function):
    """The inputs joined along `axis` (default 0)."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *arrays):
        self.splits = np.cumsum([a.shape[self.axis] for a in arrays])[:-1]
        return xp.concatenate(arrays, axis=self.axis)

    def backward(self, g):
        return tuple(xp.split(g, self.splits, axis=self.axis))


class Pad(Function):
    """a padded with zeros: `pad_width` as numpy.pad takes it, (before, after) per axis."""

    def __init__(self, pad_width):
        self.pad_width = pad_width

    def forward(self, a):
        self.widths = np.broadcast_to(np.asarray(self.pad_width, dtype=int), (a.ndim, 2))
        return xp.pad(a, self.widths)

    def backward(self, g):
        return g[tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))]


def reshape(t, shape): return Reshape.apply(t, shape=tuple(shape) if not isinstance(shape, int) else (shape,))
def transpose(t, axes=None): return Transpose.apply(t, axes=None if axes is None else tuple(axes))
def concat(tensors, axis=0): return Concat.apply(*tensors, axis=axis)
def pad(t, pad_width): return Pad.apply(t, pad_width=pad_width)


def getitem(t, index):
    """t[index], numpy indexing (Tensors as integer indices); integer-array indices
    that repeat accumulate their gradients."""
    if isinstance(index, Tensor):
        index = index.value.astype(np.intp)
    elif isinstance(index, tuple):
        index = tuple(i.value.astype(np.intp) if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return GetItem.apply(t, index=index)


def flatten(t):
    """Reshape to (batch, everything else), keeping axis 0."""
    return reshape(t, (np.shape(_value(t))[0], -1))


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    ndim = tensors[0].ndim + 1
    axis = axis % ndim
    expanded = [reshape(t, t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors]
    return concat(expanded, axis)
