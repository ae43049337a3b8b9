"""Image augmentation layers (Keras 3's names, arguments and semantics):
RandomTranslation, RandomRotation, RandomZoom, RandomFlip and RandomContrast.

Each layer draws fresh random parameters for every image of every call from
`zen.rng.generator()` (so `zen.set_seed` repeats a run exactly) and is the
identity in inference mode. Inputs are channels-last images (batch, height,
width, channels).

The three geometric layers differ only in the affine map they draw: every
output pixel (row y, column x) of image n is read at the input point
    x_in = a0 x + a1 y + a2,    y_in = b0 x + b1 y + b2
(Keras's `affine_transform` convention), one row [a0, a1, a2, b0, b1, b2]
per image. `zen.autodiff.affine_transform` resamples the whole batch through
them and carries the gradient back to the images.
"""
import math

import numpy as np

from .. import autodiff as ad
from .. import rng
from ..autodiff import Tensor
from ..autodiff.resample import FILL_MODES, INTERPOLATIONS
from ..validation import check_float, check_one_of, invalid, is_number
from .pooling import check_image_input
from .layer import Layer

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# ----- argument checks -----------------------------------------------------------
def _numbers(factor):
    """(f,) for a finite number f, (lower, upper) for a pair of them, else None."""
    values = tuple(factor) if isinstance(factor, (tuple, list)) else (factor,)
    return values if len(values) in (1, 2) and all(
        is_number(v, finite=True) for v in values) else None


def factor_range(factor, name, low, high, *, low_open=False):
    """(lower, upper) from `factor`: a float f gives (-|f|, |f|), a pair
    gives itself. Every number must lie in [low, high] ((low, high] with
    `low_open`) and lower <= upper."""
    values = _numbers(factor)
    if values is None or values[0] > values[-1] or not all(
            (v > low if low_open else v >= low) and v <= high for v in values):
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise invalid(name, f"a float in {interval} or a pair (lower, upper) of them with "
                      f"lower <= upper", factor)
    f = abs(float(values[0]))
    return (float(values[0]), float(values[1])) if len(values) == 2 else (-f, f)


def contrast_range(factor):
    """[1 - lower, 1 + upper] for RandomContrast: a float f in [0, 1] gives
    lower = upper = f; a pair (lower, upper) of floats in [-1, 1] gives
    itself, and must leave the range non-empty (so (-0.5, 0.5) pins the
    factor to 1.5, (0.5, -0.5) to 0.5)."""
    values = _numbers(factor)
    if values is not None and len(values) == 1:
        values = values * 2 if 0 <= values[0] <= 1 else None
    if values is None or sum(values) < 0 or not all(-1 <= v <= 1 for v in values):
        raise invalid("factor", "a float in [0, 1] or a pair (lower, upper) of floats in "
                      "[-1, 1] with 1 - lower <= 1 + upper", factor)
    return 1.0 - float(values[0]), 1.0 + float(values[1])


def as_config(factor):
    """A factor as the config stores it: a float, or a pair as a tuple."""
    return None if factor is None else \
        tuple(float(v) for v in factor) if isinstance(factor, (tuple, list)) else float(factor)


def as_images(x):
    """`x` as a Tensor (a Tensor stays as it is, so gradients flow through it;
    float arrays keep their dtype, others become float32)."""
    return x if isinstance(x, Tensor) else Tensor(x, trainable=False)


# ----- the affine maps, one row [a0, a1, a2, b0, b1, b2] per image ----------------------
def translation_maps(dx, dy):
    """Shift by dx columns (right if positive) and dy rows (down if positive)."""
    one, zero = np.ones_like(dx), np.zeros_like(dx)
    return np.stack([one, zero, -dx, zero, one, -dy], axis=1)


def rotation_maps(angle, height, width):
    """Rotate by `angle` radians about the image centre (Keras's rotation
    matrix: counter-clockwise for positive angles)."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    return np.stack([cos, -sin, cx - cx * cos + cy * sin,
                     sin, cos, cy - cx * sin - cy * cos], axis=1)


def zoom_maps(zoom_y, zoom_x, height, width):
    """Scale about the image centre: a zoom above 1 reads a wider area of the
    input (the picture shrinks, zooming out), below 1 a narrower one."""
    zero = np.zeros_like(zoom_x)
    return np.stack([zoom_x, zero, (width - 1) / 2 * (1 - zoom_x),
                     zero, zoom_y, (height - 1) / 2 * (1 - zoom_y)], axis=1)


# ----- the layers -------------------------------------------------------------------------
class _Augmentation(Layer):
    """What every augmentation layer shares: images (batch, height, width,
    channels) of any size and channel count, and the identity in inference."""

    def build(self, input_shape):
        check_image_input(self, input_shape)

    def _check_input(self, shape):
        self.build(shape)  # a later call may bring another image size

    def call(self, x, training=False):
        return self.augment(as_images(x)) if training else x

    def augment(self, x: Tensor) -> Tensor:
        """The randomly transformed batch (subclass hook)."""
        raise NotImplementedError(f"{type(self).__name__} must define augment")


class _RandomAffine(_Augmentation):
    """What the geometric layers share: how the input is extended beyond its
    edges and interpolated, and drawing one affine map per image."""

    def __init__(self, fill_mode, interpolation, fill_value, name=None):
        super().__init__(name)
        self.fill_mode = check_one_of(fill_mode, "fill_mode", FILL_MODES)
        self.interpolation = check_one_of(interpolation, "interpolation", INTERPOLATIONS)
        self.fill_value = check_float(fill_value, "fill_value")

    def augment(self, x):
        n, h, w, _ = x.shape
        return ad.affine_transform(x, self.draw_maps(n, h, w), self.interpolation,
                                   self.fill_mode, self.fill_value)

    def draw_maps(self, n, height, width):
        """(n, 6) affine maps, freshly drawn (subclass hook)."""
        raise NotImplementedError(f"{type(self).__name__} must define draw_maps")

    def get_config(self):
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


_FILL_DOC = """fill_mode: how points outside the input are filled: "constant"
            (fill_value, the default), "nearest" (the edge pixel), "reflect"
            (mirrored about the edge: d c b a | a b c d | d c b a) or
            "wrap" (the opposite edge).
        interpolation: "bilinear" (default) or "nearest".
        fill_value: the value outside the input with "constant" (default 0.0)."""


class RandomTranslation(_RandomAffine):
    __doc__ = f"""Shift each image by a random fraction of its height and width
    (training only; the identity in inference).

    Args:
        height_factor: a float f in [-1, 1] (shifts in [-|f|, |f|] of the
            height) or a pair (lower, upper); positive shifts down.
        width_factor: the same for the width; positive shifts right.
        {_FILL_DOC}

    Shapes: (batch, height, width, channels) -> the same.

    Example:
        shift = RandomTranslation(0.1, 0.1)
        shift(np.zeros((8, 28, 28, 1))).shape           # (8, 28, 28, 1)
    """

    def __init__(self, height_factor, width_factor, fill_mode: str = "constant",
                 interpolation: str = "bilinear", fill_value: float = 0.0, name: str = None):
        super().__init__(fill_mode, interpolation, fill_value, name)
        self.height_range = factor_range(height_factor, "height_factor", -1.0, 1.0)
        self.width_range = factor_range(width_factor, "width_factor", -1.0, 1.0)
        self.height_factor, self.width_factor = as_config(height_factor), as_config(width_factor)

    def draw_maps(self, n, height, width):
        generator = rng.generator()
        dy = generator.uniform(*self.height_range, size=n) * height
        dx = generator.uniform(*self.width_range, size=n) * width
        return translation_maps(dx, dy)

    def get_config(self):
        return {"height_factor": self.height_factor, "width_factor": self.width_factor,
                **super().get_config()}


class RandomRotation(_RandomAffine):
    __doc__ = f"""Rotate each image about its centre by a random fraction of
    a full turn (training only; the identity in inference).

    Args:
        factor: a float f in [-1, 1] (angles in [-|f|, |f|] * 2 pi) or a pair
            (lower, upper); positive angles turn counter-clockwise.
        {_FILL_DOC}

    Shapes: (batch, height, width, channels) -> the same.

    Example:
        rotate = RandomRotation(0.1)                    # up to +-36 degrees
        rotate(np.zeros((8, 28, 28, 1))).shape          # (8, 28, 28, 1)
    """

    def __init__(self, factor, fill_mode: str = "constant", interpolation: str = "bilinear",
                 fill_value: float = 0.0, name: str = None):
        super().__init__(fill_mode, interpolation, fill_value, name)
        turns = factor_range(factor, "factor", -1.0, 1.0)
        self.angle_range = (2 * math.pi * turns[0], 2 * math.pi * turns[1])
        self.factor = as_config(factor)

    def draw_maps(self, n, height, width):
        return rotation_maps(rng.generator().uniform(*self.angle_range, size=n), height, width)

    def get_config(self):
        return {"factor": self.factor, **super().get_config()}


class RandomZoom(_RandomAffine):
    __doc__ = f"""Zoom each image about its centre by a random amount
    (training only; the identity in inference).

    Args:
        height_factor: a float f in (-1, 1] (zooms in [-|f|, |f|]) or a pair
            (lower, upper). A positive value zooms OUT (the picture shrinks
            to 1 / (1 + f) of its height), a negative one zooms in.
        width_factor: the same for the width, or None (the default) to keep
            the aspect ratio (the width zooms as the height does).
        {_FILL_DOC}

    Shapes: (batch, height, width, channels) -> the same.

    Example:
        zoom = RandomZoom((-0.2, 0.2))
        zoom(np.zeros((8, 28, 28, 1))).shape            # (8, 28, 28, 1)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode: str = "constant",
                 interpolation: str = "bilinear", fill_value: float = 0.0, name: str = None):
        super().__init__(fill_mode, interpolation, fill_value, name)
        self.height_range = factor_range(height_factor, "height_factor", -1.0, 1.0,
                                         low_open=True)
        self.width_range = None if width_factor is None else \
            factor_range(width_factor, "width_factor", -1.0, 1.0, low_open=True)
        self.height_factor, self.width_factor = as_config(height_factor), as_config(width_factor)

    def draw_maps(self, n, height, width):
        generator = rng.generator()
        zoom_y = 1.0 + generator.uniform(*self.height_range, size=n)
        zoom_x = zoom_y if self.width_range is None else \
            1.0 + generator.uniform(*self.width_range, size=n)
        return zoom_maps(zoom_y, zoom_x, height, width)

    def get_config(self):
        return {"height_factor": self.height_factor, "width_factor": self.width_factor,
                **super().get_config()}


# ----- flips and contrast ---------------------------------------------------------------
class RandomFlip(_Augmentation):
    """Flip each image left-right and/or top-bottom, each with probability
    1/2 (training only; the identity in inference).

    Args:
        mode: "horizontal" (left-right, the default), "vertical" (top-bottom)
            or "horizontal_and_vertical" (both, drawn independently per image).

    Shapes: (batch, height, width, channels) -> the same.

    Example:
        flip = RandomFlip("horizontal")
        flip(np.zeros((8, 28, 28, 1))).shape            # (8, 28, 28, 1)
    """

    flip_axes = {"horizontal": (2,), "vertical": (1,), "horizontal_and_vertical": (2, 1)}

    def __init__(self, mode: str = "horizontal", name: str = None):
        super().__init__(name)
        self.mode = check_one_of(mode, "mode", FLIP_MODES)

    def augment(self, x):
        for axis in self.flip_axes[self.mode]:
            flip = rng.generator().uniform(size=(len(x), 1, 1, 1)) < 0.5
            reverse = tuple(slice(None, None, -1) if a == axis else slice(None)
                            for a in range(4))
            x = ad.where(flip, x[reverse], x)
        return x

    def get_config(self):
        return {"mode": self.mode}


class RandomContrast(_Augmentation):
    """Scale each image's deviation from its mean by a random factor c:
    `(x - mean) * c + mean`, the mean taken over the pixels of each image and
    channel, c drawn per image from [1 - lower, 1 + upper]; the result is
    clipped to `value_range`, as in Keras (training only; the identity in
    inference).

    Args:
        factor: a float f in [0, 1] (c in [1 - f, 1 + f]) or a pair
            (lower, upper) of floats in [-1, 1] (c in [1 - lower, 1 + upper];
            (f, -f) pins c to 1 - f).
        value_range: (low, high), the range of the pixel values, which the
            output is clipped to (default (0, 255)).

    Shapes: (batch, ..., channels), rank 3 or more (e.g. (batch, height,
    width, channels)) -> the same.

    Example:
        contrast = RandomContrast(0.2)
        contrast(np.zeros((8, 28, 28, 1))).shape        # (8, 28, 28, 1)
    """

    def __init__(self, factor, value_range=(0, 255), name: str = None):
        super().__init__(name)
        self.contrast_range = contrast_range(factor)
        self.factor = as_config(factor)
        ok = isinstance(value_range, (tuple, list)) and len(value_range) == 2 and \
            all(is_number(v, finite=True) for v in value_range) and value_range[0] < value_range[1]
        if not ok:
            raise invalid("value_range", "a pair (low, high) of numbers with low < high",
                          value_range)
        self.value_range = tuple(value_range)

    def build(self, input_shape):
        if input_shape is None or len(input_shape) < 3:
            raise ValueError(f"RandomContrast expects inputs of shape (batch, ..., channels) "
                             f"of rank 3 or more, received an input of shape {input_shape}")

    def augment(self, x):
        per_image = (len(x),) + (1,) * (x.ndim - 1)
        contrast = rng.generator().uniform(*self.contrast_range, size=per_image)
        mean = ad.reduce_mean(x, axis=tuple(range(1, x.ndim - 1)), keepdims=True)
        return ad.clip((x - mean) * contrast.astype(x.dtype) + mean, *self.value_range)

    def get_config(self):
        return {"factor": self.factor, "value_range": self.value_range}
