"""Masks: which time steps of a padded batch of sequences are real.

A mask is a boolean array, (batch, time) for a batch of sequences, True
where a step holds data. It travels with the Tensor it describes, in the
attribute Keras uses (`tensor._keras_mask`), so it flows through
Sequential, functional and subclassed models alike:

    ids = np.array([[5, 8, 0, 0], [3, 0, 0, 0]])      # 0 pads
    x = Embedding(10, 4, mask_zero=True)(ids)
    x._keras_mask                                       # [[T, T, F, F], [T, F, F, F]]
    LSTM(8)(x)                                          # masked steps keep the state

`Layer.__call__` does the plumbing, as Keras's does:
- a layer whose `call` declares `mask` receives the masks of its first
  input (a layer with several tensor arguments, such as attention, gets
  `<argument>_mask` for each argument `call` declares such a parameter for);
- afterwards a layer with `supports_masking` (true when it defines
  `compute_mask`) sets `compute_mask(inputs, previous_mask)` on its outputs
  that do not have a mask yet; the default passes the input's mask on;
- a layer that does not support masking leaves its outputs without one.

Losses and metrics read the prediction's mask as sample weights (Keras's
mask-as-sample-weight), so a padded batch gives the loss of its real steps.
"""
import numpy as np

from .. import tree
from ..autodiff import Tensor

__all__ = ["get_mask", "set_mask", "masks_of", "any_mask", "as_mask", "with_mask"]


def get_mask(x):
    """The mask `x` carries (a boolean array), or None.

    Args:
        x: a Tensor, or anything else (which carries none).
    """
    return getattr(x, "_keras_mask", None) if isinstance(x, Tensor) else None


def set_mask(x, mask) -> None:
    """Attach `mask` to the Tensor `x` (None removes it).

    Args:
        x: a Tensor.
        mask: a boolean array (or anything `as_mask` takes), or None.
    """
    x._keras_mask = None if mask is None else as_mask(mask)


def with_mask(x, mask):
    """`x` carrying `mask` (Keras's `mask=` of a model call): a Tensor gets
    it, a numeric array becomes a constant Tensor first; None changes nothing.

    Args:
        x: a Tensor or an array.
        mask: booleans, or None.
    """
    if mask is None:
        return x
    if not isinstance(x, Tensor):
        x = Tensor(x, trainable=False)
    set_mask(x, mask)
    return x


def masks_of(structure):
    """The masks of a Tensor or of a structure of them, in that structure;
    None for a single Tensor without a mask."""
    if isinstance(structure, (list, tuple, dict)):
        return tree.map_structure(get_mask, structure)
    return get_mask(structure)


def any_mask(masks) -> bool:
    """Whether a mask or a structure of masks holds any mask at all."""
    return any(m is not None for m in tree.flatten(masks))


def as_mask(mask, shape=None, owner="mask") -> np.ndarray:
    """`mask` (an array, a Tensor, a list) as a boolean numpy array; numbers
    are true where nonzero. With `shape`, it must have that shape (None in
    `shape` matches any size).

    Args:
        mask: the mask.
        shape: the expected shape, or None.
        owner: what the mask is for, named in the error.
    """
    array = np.asarray(mask.value if isinstance(mask, Tensor) else mask)
    if array.dtype != bool:
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Received an invalid `{owner}`, expected booleans (True where "
                            f"a step holds data). Received an array of dtype {array.dtype}")
        array = array != 0
    if shape is not None and (array.ndim != len(shape) or any(
            n is not None and m != n for m, n in zip(array.shape, shape))):
        expected = "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"Received an invalid `{owner}` of shape {array.shape}, expected "
                         f"{expected}")
    return array
