"""Image preprocessing layers (Keras 3's names, arguments and numbers):
Resizing, CenterCrop and RandomCrop.

Inputs are channels-last images, a batch (batch, height, width, channels)
or one image (height, width, channels). Arrays become float32 Tensors; a
Tensor given stays one, so gradients flow back to it.

Resizing follows TF/Keras's half-pixel convention: output pixel i reads the
input at `(i + 0.5) * in_size / out_size - 0.5`, clamped to the first pixel
below 0 (bilinear), or pixel `floor((i + 0.5) * in_size / out_size)`
(nearest). Bilinear resizing is two matrix products (rows, then columns),
so it is exact and differentiable.
"""
import numpy as np

from ... import autodiff as ad
from ... import rng
from ...autodiff import Tensor
from ...resize import bilinear_matrix, nearest_indices
from ...validation import check_bool, check_int, check_one_of, check_positive_int
from ..layer import Layer

INTERPOLATIONS = ("bilinear", "nearest")


def as_images(x) -> Tensor:
    """`x` as a Tensor (a Tensor stays itself, so gradients flow through it;
    arrays become float32)."""
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=np.float32), trainable=False)


def check_images(layer, shape) -> None:
    """A ValueError unless `shape` is (batch, height, width, channels) or
    (height, width, channels)."""
    if shape is None or len(shape) not in (3, 4):
        raise ValueError(f"{type(layer).__name__} expects images of shape (batch, height, "
                         f"width, channels) or (height, width, channels), received an input "
                         f"of shape {shape}")


def resize_batch(x: Tensor, height: int, width: int, interpolation: str) -> Tensor:
    """Resize a batch (n, h, w, c) to (n, height, width, c)."""
    _, h, w, _ = x.shape
    if (h, w) == (height, width):
        return x
    if interpolation == "nearest":
        return x[:, nearest_indices(height, h)][:, :, nearest_indices(width, w)]
    rows = bilinear_matrix(height, h).astype(x.dtype)
    columns = bilinear_matrix(width, w).T.astype(x.dtype)
    channels_first = ad.transpose(x, (0, 3, 1, 2))  # (n, c, h, w)
    resized = ad.matmul(ad.matmul(rows, channels_first), columns)
    return ad.transpose(resized, (0, 2, 3, 1))


def aspect_crop_box(in_height, in_width, height, width):
    """(top, left, crop_height, crop_width): the largest centred window of
    the target's aspect ratio (Keras's arithmetic)."""
    crop_height = max(min(in_height, int(float(in_width * height) / width)), 1)
    crop_width = max(min(in_width, int(float(in_height * width) / height)), 1)
    return (int(float(in_height - crop_height) / 2), int(float(in_width - crop_width) / 2),
            crop_height, crop_width)


def smart_resize(x: Tensor, height, width, interpolation="bilinear") -> Tensor:
    """Crop the centred window of the target's aspect ratio, then resize."""
    top, left, crop_height, crop_width = aspect_crop_box(x.shape[1], x.shape[2], height, width)
    cropped = x[:, top:top + crop_height, left:left + crop_width]
    return resize_batch(cropped, height, width, interpolation)


def on_batch(x, transform) -> Tensor:
    """Apply `transform` (batch -> batch) to a batch or to one image."""
    images = as_images(x)
    if images.ndim == 3:
        return transform(images[None])[0]
    return transform(images)


class _ImageLayer(Layer, abstract=True):
    """What the image layers share: a target (height, width) and inputs of
    any image size."""

    def __init__(self, height, width, name=None):
        super().__init__(name)
        self.height = check_positive_int(height, "height")
        self.width = check_positive_int(width, "width")

    def build(self, input_shape):
        check_images(self, input_shape)

    def _check_input(self, shape):
        self.build(shape)  # a later call may bring another image size

    def get_config(self):
        return {"height": self.height, "width": self.width}


class Resizing(_ImageLayer):
    """Resize images to (height, width), as Keras's `Resizing`.

    Args:
        height: the output height.
        width: the output width.
        interpolation: "bilinear" (default; TF's half-pixel resize) or "nearest".
        crop_to_aspect_ratio: first crop the largest centred window of the
            target's aspect ratio, so that the image is not distorted
            (default False).
        name: the layer's name.

    Shapes: (batch, h, w, channels) -> (batch, height, width, channels);
    (h, w, channels) -> (height, width, channels).

    Example:
        Resizing(2, 2)(np.ones((1, 4, 4, 3))).shape     # (1, 2, 2, 3)
    """

    def __init__(self, height, width, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, name: str = None):
        super().__init__(height, width, name)
        self.interpolation = check_one_of(interpolation, "interpolation", INTERPOLATIONS)
        self.crop_to_aspect_ratio = check_bool(crop_to_aspect_ratio, "crop_to_aspect_ratio")

    def call(self, x):
        if self.crop_to_aspect_ratio:
            return on_batch(x, lambda b: smart_resize(b, self.height, self.width,
                                                      self.interpolation))
        return on_batch(x, lambda b: resize_batch(b, self.height, self.width,
                                                  self.interpolation))

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio}


class CenterCrop(_ImageLayer):
    """Crop the centre (height, width) of each image, as Keras's
    `CenterCrop`; an image smaller than that is resized instead (the largest
    centred window of the target's aspect ratio, resized bilinearly).

    Args:
        height: the output height.
        width: the output width.
        name: the layer's name.

    Shapes: (batch, h, w, channels) -> (batch, height, width, channels);
    (h, w, channels) -> (height, width, channels).

    Example:
        CenterCrop(2, 2)(np.ones((1, 4, 4, 3))).shape   # (1, 2, 2, 3)
    """

    def __init__(self, height, width, name: str = None):
        super().__init__(height, width, name)

    def call(self, x):
        return on_batch(x, self.crop)

    def crop(self, batch: Tensor) -> Tensor:
        """The centre crop of a batch (or its smart resize when too small)."""
        h_diff, w_diff = batch.shape[1] - self.height, batch.shape[2] - self.width
        if h_diff < 0 or w_diff < 0:
            return smart_resize(batch, self.height, self.width)
        top, left = h_diff // 2, w_diff // 2
        return batch[:, top:top + self.height, left:left + self.width]


class RandomCrop(_ImageLayer):
    """Crop a random (height, width) window, the same for the whole batch,
    in training; in inference, crop the largest centred window of the
    target's aspect ratio and resize it to (height, width) (Keras 2's
    inference; Keras 3.15 returns the input unchanged there). An image not
    larger than the target in both sizes is treated as in inference.

    Args:
        height: the output height.
        width: the output width.
        seed: an integer seed for this layer's own generator, or None (the
            default) to draw from `zen.rng` (so `zen.set_seed` repeats a run).
        name: the layer's name.

    Shapes: (batch, h, w, channels) -> (batch, height, width, channels);
    (h, w, channels) -> (height, width, channels).

    Example:
        RandomCrop(2, 2)(np.ones((1, 4, 4, 3)), training=True).shape  # (1, 2, 2, 3)
    """

    def __init__(self, height, width, seed=None, name: str = None):
        super().__init__(height, width, name)
        self.seed = None if seed is None else check_int(seed, "seed", 0)
        self._generator = None if seed is None else np.random.default_rng(self.seed)

    def call(self, x, training=False):
        return on_batch(x, lambda b: self.crop(b, training))

    def crop(self, batch: Tensor, training) -> Tensor:
        """A random crop of the batch in training, else its smart resize."""
        h, w = batch.shape[1], batch.shape[2]
        if training and h > self.height and w > self.width:
            generator = self._generator or rng.generator()
            top = int(generator.integers(0, h - self.height + 1))
            left = int(generator.integers(0, w - self.width + 1))
            return batch[:, top:top + self.height, left:left + self.width]
        return smart_resize(batch, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
