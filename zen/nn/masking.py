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
import inspect

import numpy as np

from .. import tree
from ..autodiff import Tensor

__all__ = ["get_mask", "set_mask", "masks_of", "any_mask", "as_mask", "expanded",
           "with_mask", "single_mask", "MaskedCalls"]

_MASK_PARAMETERS = {}  # layer class -> (`call` declares `mask`, its "<argument>_mask"s)


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
    """`x` carrying `mask` (Keras's `mask=` of a model call): a new Tensor,
    an alias of a Tensor `x` (whose own mask stays as it was) or a constant
    made from an array; None changes nothing.

    Args:
        x: a Tensor or an array.
        mask: booleans, or None.
    """
    if mask is None:
        return x
    if isinstance(x, Tensor):
        x = x.reshape(x.shape)  # an alias in the graph: the caller's Tensor keeps its mask
    else:
        values = np.asarray(x)
        x = Tensor(values.astype(np.float64) if values.dtype.kind in "iub" else values,
                   trainable=False)  # whole numbers stay exact (indices for an Embedding)
    set_mask(x, mask)
    return x


def single_mask(mask):
    """The mask of a layer's one input from what its call got: the mask
    itself, or (a list of masks, one per input) the first, as Keras takes.
    A nested list of booleans is one mask, not a list of them.

    Args:
        mask: a mask (array, Tensor, nested list of booleans), a list of
            masks, or None.
    """
    if isinstance(mask, (list, tuple)) and mask and (
            mask[0] is None or isinstance(mask[0], (np.ndarray, Tensor))):
        return mask[0]
    return mask


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


def expanded(mask, shape) -> np.ndarray:
    """A mask over the leading axes of `shape` (a (batch, time) mask of
    (batch, time, features) values) broadcast to `shape`, as booleans.

    Args:
        mask: the mask (anything `as_mask` takes).
        shape: the shape of the values it masks.
    """
    mask = as_mask(mask)
    if mask.shape != tuple(shape[:mask.ndim]):
        raise ValueError(f"The mask of shape {mask.shape} does not fit values of shape "
                         f"{tuple(shape)}")
    return np.broadcast_to(mask.reshape(mask.shape + (1,) * (len(shape) - mask.ndim)), shape)


class MaskedCalls:
    """What `zen.nn.Layer` does with masks (its base class): the default
    `compute_mask`, and the steps of `Layer.__call__` that give `call` its
    masks and set the outputs' (see the module docstring)."""

    supports_masking = False  # whether the outputs get `compute_mask`'s masks

    def compute_mask(self, inputs, previous_mask=None):
        """The mask(s) of this layer's outputs, in their structure, given its
        inputs and their mask(s) (Keras's `compute_mask`). The default passes
        `previous_mask` on; a layer that makes masks (Embedding) or consumes
        them (a pooling over time) overrides it. Used when `supports_masking`.

        Args:
            inputs: the inputs of the call (arrays or Tensors).
            previous_mask: the `mask` given to the call, else the inputs' masks.
        """
        return previous_mask

    def _fill_masks(self, x, args, kwargs):
        """Give `call` the masks it declares and was not given: `mask`, those
        of the first input; `<argument>_mask`, those of that argument. Returns
        the mask for `compute_mask`: the `mask` given, else the first input's."""
        takes_mask, named = self._mask_parameters()
        given = kwargs.get("mask")
        previous = masks_of(x) if given is None else given
        if takes_mask and given is None and any_mask(previous):
            kwargs["mask"] = previous
        for position, argument, mask_name in named:
            if kwargs.get(mask_name) is None:
                value = (x, *args)[position] if position <= len(args) else kwargs.get(argument)
                masks = masks_of(value)
                if any_mask(masks):
                    kwargs[mask_name] = masks
        return previous

    @classmethod
    def _mask_parameters(cls):
        """(whether `call` declares `mask`, its (position, argument,
        "<argument>_mask") triples), found once per class."""
        found = _MASK_PARAMETERS.get(cls)
        if found is None:
            names = list(inspect.signature(cls.call).parameters)[1:]
            named = tuple((i, name, f"{name}_mask") for i, name in enumerate(names)
                          if f"{name}_mask" in names)
            found = _MASK_PARAMETERS[cls] = ("mask" in names, named)
        return found

    def _set_output_masks(self, inputs, outputs, previous_mask) -> None:
        """Set `compute_mask`'s masks on the outputs that have none yet."""
        flat = tree.flatten(outputs)
        if all(get_mask(output) is not None for output in flat):  # set inside `call`
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for output, mask in zip(flat, tree.flatten(masks)):
            if mask is not None and isinstance(output, Tensor) and get_mask(output) is None:
                set_mask(output, mask)
