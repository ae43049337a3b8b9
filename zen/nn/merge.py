"""Merge layers: one tensor from a list of tensors (Keras's `Add`,
`Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` and `Concatenate`).

They have no weights. Each checks its list of inputs on every call (a list,
enough of them, shapes that fit together) and raises a ValueError naming the
layer and every shape when they do not. The elementwise ones follow Keras 3:
batch sizes must be equal, and the other axes must be equal or 1
(broadcast); an input of lower rank gains axes of size 1 right after the
batch axis first, so (batch, 3) merges with (batch, 4, 3). The maths is a
fold of existing differentiable ops, so gradients reach every input.

Masks (zen.nn.masking) combine as Keras's: the elementwise merges keep a
step that any input keeps (none when some input has no mask); Concatenate
joins them along its axis, an input without a mask counting as all kept.
As in Keras, Maximum and Minimum take a masked step's value from the other
inputs, and Multiply counts it as 1 (0 where every input is masked); Add,
Subtract and Average combine the values as they are.
"""
from functools import reduce

import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..validation import check_int
from . import masking
from .layer import Layer


class Merge(Layer, abstract=True):
    """Base class of the merge layers: called on a list of tensors.

    A subclass sets `n_inputs` (an exact count; None means two or more) and
    defines `check_shapes(shapes)` and `combine(tensors)`.
    """

    n_inputs = None

    checks_input_shape = False  # checked in `call`, every time: the shapes are not fixed

    def call(self, inputs, mask=None):
        tensors = self._tensors(inputs)
        self.check_shapes([t.shape for t in tensors])
        masks = _mask_list(inputs, mask)
        return self.combine(tensors) if masks is None else self.combine_masked(tensors, masks)

    def combine_masked(self, tensors: list, masks: list) -> Tensor:
        """The merged output when some inputs carry masks (one per input, or
        None); by default the values are combined as they are."""
        return self.combine(tensors)

    def check_shapes(self, shapes: list) -> None:
        """Raise a ValueError unless the inputs' shapes can be merged; a subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define check_shapes")

    def combine(self, tensors: list) -> Tensor:
        """The merged output of the (checked) input Tensors; a subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define combine")

    def _tensors(self, inputs) -> list:
        """The inputs as a list of Tensors, after checking that they are a list
        of the right length."""
        if not isinstance(inputs, (list, tuple)):
            shape = getattr(inputs, "shape", None)
            raise ValueError(f"{self._title()} should be called on a list of inputs, e.g. "
                             f"{type(self).__name__}()([a, b]). Received: one input of type "
                             f"{type(inputs).__name__}" + (f" and shape {shape}" if shape else ""))
        tensors = [x if isinstance(x, Tensor) else Tensor(x, trainable=False) for x in inputs]
        count = len(tensors)
        enough = count == self.n_inputs if self.n_inputs else count >= 2
        if not enough:
            expected = f"exactly {self.n_inputs}" if self.n_inputs else "at least 2"
            raise ValueError(f"{self._title()} should be called on a list of {expected} "
                             f"inputs. Received {count} input(s) of shapes "
                             f"{[t.shape for t in tensors]}")
        return tensors

    def compute_mask(self, inputs, previous_mask=None):
        """The OR of the inputs' masks; None unless every input has one."""
        masks = _mask_list(inputs, previous_mask)
        if masks is None or any(m is None for m in masks):
            return None
        return reduce(np.logical_or, [masking.as_mask(m) for m in masks])

    def _title(self):
        return f"Layer {self.name!r} ({type(self).__name__})"


def _mask_list(inputs, previous_mask):
    """The list of the inputs' masks, or None when none has one."""
    if not isinstance(previous_mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) \
            or not masking.any_mask(previous_mask):
        return None
    if len(previous_mask) != len(inputs):
        raise ValueError(f"The lists `inputs` and `mask` should have the same length. "
                         f"Received {len(inputs)} inputs and {len(previous_mask)} masks")
    return [m if masking.any_mask(m) else None for m in previous_mask]


def _expanded(mask, x):
    """A (batch, time) mask broadcast to the shape of x (booleans), or None."""
    return None if mask is None else masking.expanded(mask, x.shape)


def _fold_skipping_masked(op, tensors, masks):
    """Keras's `_apply_merge_op_and_or_mask`: fold `op` over the inputs, a
    masked entry taking the value the fold has so far (so it never wins a
    maximum or minimum), and the fold so far the entry's where only it is kept."""
    output, output_mask = tensors[0], _expanded(masks[0], tensors[0])
    for x, mask in zip(tensors[1:], masks[1:]):
        mask = _expanded(mask, x)
        if mask is not None:
            x = ad.where(mask, x, output)
        if output_mask is not None:
            output = ad.where(output_mask, output, x)
        output_mask = None if mask is None or output_mask is None else output_mask | mask
        output = op(output, x)
    return output


class ElementwiseMerge(Merge, abstract=True):
    """A merge that folds a binary op (`op`) over its inputs, elementwise."""

    op = None  # a binary op of zen.autodiff, set by each subclass

    def check_shapes(self, shapes):
        if any(len(shape) == 0 for shape in shapes):
            raise ValueError(f"{self._title()} expects inputs with a batch axis, "
                             f"received inputs of shapes {shapes}")
        if len({shape[0] for shape in shapes}) > 1:
            raise ValueError(f"{self._title()} cannot merge inputs with different batch "
                             f"sizes. Received inputs of shapes {shapes}")
        features = [shape[1:] for shape in shapes]
        for i in range(1, max(map(len, features)) + 1):  # right-aligned, as broadcasting is
            sizes = {shape[-i] for shape in features if len(shape) >= i}
            if len(sizes - {1}) > 1:
                raise ValueError(f"{self._title()} received inputs of incompatible shapes "
                                 f"{shapes}: apart from the batch axis, each axis must "
                                 f"have the same size in every input, or size 1")

    def combine(self, tensors):
        return reduce(self.op, _same_rank(tensors))


def _same_rank(tensors):
    """Give lower-rank tensors axes of size 1 right after the batch axis
    (Keras's `expand_dims(x, 1)`), so that they broadcast against the others."""
    rank = max(t.ndim for t in tensors)
    return [t if t.ndim == rank else
            ad.reshape(t, t.shape[:1] + (1,) * (rank - t.ndim) + t.shape[1:])
            for t in tensors]


class Add(ElementwiseMerge):
    """The elementwise sum of a list of tensors.

    Shapes: a list of two or more inputs (batch, ...) of equal shapes
    (axes of size 1 broadcast, as in Keras) -> one output of that shape.

    Example:
        Add()([np.ones((2, 3)), np.ones((2, 3))])      # all 2.0, shape (2, 3)
    """

    op = staticmethod(ad.add)


class Subtract(ElementwiseMerge):
    """The difference `inputs[0] - inputs[1]` of exactly two tensors.

    Shapes: a list of two inputs, otherwise as Add.

    Example:
        Subtract()([np.ones((2, 3)), np.ones((2, 3))])  # all 0.0
    """

    n_inputs = 2
    op = staticmethod(ad.sub)


class Multiply(ElementwiseMerge):
    """The elementwise product of a list of tensors (a masked step counts as
    1, and is 0 where every input is masked, as in Keras).

    Shapes: as Add.

    Example:
        Multiply()([np.full((2, 3), 2.0), np.full((2, 3), 3.0)])   # all 6.0
    """

    op = staticmethod(ad.mul)

    def combine_masked(self, tensors, masks):
        expanded = [_expanded(m, x) for x, m in zip(tensors, masks)]
        ones = [x if m is None else ad.where(m, x, np.ones((), x.dtype))
                for x, m in zip(tensors, expanded)]
        output = self.combine(ones)
        if all(m is not None for m in expanded):
            output = ad.where(reduce(np.logical_or, expanded), output,
                              np.zeros((), output.dtype))
        return output


class Average(ElementwiseMerge):
    """The elementwise mean of a list of tensors.

    Shapes: as Add.

    Example:
        Average()([np.zeros((2, 3)), np.ones((2, 3))])  # all 0.5
    """

    op = staticmethod(ad.add)

    def combine(self, tensors):
        return super().combine(tensors) / len(tensors)


class Maximum(ElementwiseMerge):
    """The elementwise maximum of a list of tensors. The gradient goes to the
    input that holds the maximum (the first of them on a tie, as
    `zen.autodiff.maximum` does).

    Shapes: as Add.

    Example:
        Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])  # [[3, 5]]
    """

    op = staticmethod(ad.maximum)

    def combine_masked(self, tensors, masks):
        return _fold_skipping_masked(self.op, tensors, masks)


class Minimum(ElementwiseMerge):
    """The elementwise minimum of a list of tensors (gradient to the first
    minimal input, as `zen.autodiff.minimum` does).

    Shapes: as Add.

    Example:
        Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])  # [[1, 2]]
    """

    op = staticmethod(ad.minimum)

    def combine_masked(self, tensors, masks):
        return _fold_skipping_masked(self.op, tensors, masks)


class Concatenate(Merge):
    """Join a list of tensors along `axis`.

    Args:
        axis: the axis to concatenate along (default -1, the last). Axis 0 is
            the batch axis.

    Shapes: a list of two or more inputs of the same rank and equal sizes on
    every axis but `axis` -> one output whose `axis` is the sum of theirs.

    Example:
        Concatenate()([np.zeros((2, 3)), np.zeros((2, 4))]).shape   # (2, 7)
        Concatenate(axis=1)([np.zeros((2, 2, 5)), np.zeros((2, 1, 5))]).shape  # (2, 3, 5)
    """

    def __init__(self, axis: int = -1, name: str = None):
        super().__init__(name)
        self.axis = check_int(axis, "axis")

    def check_shapes(self, shapes):
        rank = len(shapes[0])
        if any(len(shape) != rank for shape in shapes):
            raise ValueError(f"{self._title()} requires inputs of the same rank. Received "
                             f"inputs of shapes {shapes}")
        if not -rank <= self.axis < rank:
            raise ValueError(f"Received an invalid value for `axis` of {self._title()}, "
                             f"expected an axis of inputs of rank {rank}. Received: "
                             f"axis={self.axis}, for inputs of shapes {shapes}")
        axis = self.axis % rank
        others = {shape[:axis] + shape[axis + 1:] for shape in shapes}
        if len(others) > 1:
            raise ValueError(f"{self._title()} requires inputs with matching shapes except "
                             f"for the concatenation axis {self.axis}. Received inputs of "
                             f"shapes {shapes}")

    def combine(self, tensors):
        return ad.concat(tensors, axis=self.axis)

    def compute_mask(self, inputs, previous_mask=None):
        """The inputs' masks joined along `axis` (all kept for an input
        without one), then reduced over the last axis as Keras does."""
        masks = _mask_list(inputs, previous_mask)
        if masks is None:
            return None
        full = []
        for x, mask in zip(inputs, masks):
            shape = np.shape(x.value if isinstance(x, Tensor) else x)
            full.append(np.ones(shape, bool) if mask is None else masking.expanded(mask, shape))
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def get_config(self):
        return {"axis": self.axis}
