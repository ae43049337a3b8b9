"""Global pooling over every spatial axis of channels-last inputs
(batch, *spatial, channels): the mean or the maximum of each channel, one
implementation for any number of spatial axes. The public layers fix that
number by the input shape their `build` accepts: `GlobalAveragePooling1D` and
`GlobalMaxPooling1D` (in `conv1d`), `GlobalAveragePooling2D` and
`GlobalMaxPooling2D` (in `conv`). The checks of an input's rank that every
spatial layer shares (images, sequences) live here too.
"""
from .. import autodiff as ad
from ..validation import check_bool
from .layer import Layer


def check_rank(layer, input_shape, axes: str) -> None:
    """ValueError unless `input_shape` has the axes named in `axes`, e.g.
    "(batch, time, features)"."""
    if input_shape is None or len(input_shape) != axes.count(",") + 1:
        raise ValueError(f"{type(layer).__name__} expects inputs of shape {axes}, received "
                         f"an input of shape {input_shape}")


def check_image_input(layer, input_shape):
    check_rank(layer, input_shape, "(batch, height, width, channels)")


def check_sequence_input(layer, input_shape):
    check_rank(layer, input_shape, "(batch, time, features)")


class GlobalPooling(Layer, abstract=True):
    """`reduce` over every axis between the batch and the channels.

    Args:
        keepdims: keep the spatial axes, with size 1 (default False); True
            or False, a numpy bool accepted too (as the 2-D layers always did).

    Shapes: (batch, *spatial, channels) -> (batch, channels), or
    (batch, 1, ..., 1, channels) with keepdims.

    A subclass sets `reduce` (`zen.autodiff.reduce_mean` or `reduce_max`)
    and a `build(input_shape)` that checks the input's rank.
    """

    reduce = None  # the reduction: reduce(x, axis, keepdims) -> Tensor

    def __init__(self, keepdims: bool = False, name: str = None):
        super().__init__(name)
        self.keepdims = check_bool(keepdims, "keepdims")

    def call(self, x):
        spatial = tuple(range(1, x.ndim - 1))
        return self.reduce(x, axis=spatial, keepdims=self.keepdims)

    def get_config(self):
        return {"keepdims": self.keepdims}


class GlobalAveragePooling(GlobalPooling, abstract=True):
    """The mean of each channel over the spatial axes."""

    reduce = staticmethod(ad.reduce_mean)


class GlobalMaxPooling(GlobalPooling, abstract=True):
    """The maximum of each channel over the spatial axes (the gradient goes
    to the maximum)."""

    reduce = staticmethod(ad.reduce_max)
