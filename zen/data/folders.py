"""Datasets read from a directory tree, as Keras's `*_dataset_from_directory`.

With `labels="inferred"` each subfolder of `directory` is a class (class
names in alphabetical order); files are listed in sorted order, shuffled
once with `seed` (so the same seed splits the same way for the training and
the validation subsets), and cut by `validation_split`: the validation
subset is the last `int(validation_split * n)` files. Each pass over a
shuffling dataset draws a new order; files are read batch by batch.
"""
import os

import numpy as np

from ..resize import bilinear_matrix, nearest_indices
from ..validation import check_bool, check_float, check_int, check_one_of, invalid, is_int
from .sequences import BatchedSamples

__all__ = ["text_dataset_from_directory", "image_dataset_from_directory", "FolderDataset"]

LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both", None)
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
INTERPOLATIONS = ("bilinear", "nearest")


class FolderDataset(BatchedSamples):
    """Files and their labels, read and batched on the fly.

    Args:
        paths: the file paths, in sample order.
        labels: the integer label of each file, or None.
        label_mode: "int", "categorical", "binary" or None (no labels).
        class_names: the class names, a label's name is `class_names[label]`.
        read: a function from a list of paths to their batch array.
        batch_size: files per batch; None serves single samples.
        shuffle: a new random order on every pass.
        seed: the seed of the order (None: Zen's generator).
    """

    def __init__(self, paths, labels, label_mode, class_names, read, batch_size, shuffle, seed):
        self.file_paths = list(paths)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int32)
        self.label_mode = label_mode
        self.class_names = class_names
        self.read = read
        super().__init__(len(self.file_paths), batch_size, shuffle, seed)

    def gather(self, indices: np.ndarray):
        """The contents (and labels) of the files at `indices`."""
        contents = self.read([self.file_paths[int(i)] for i in indices])
        if self.label_mode is None:
            return contents
        return contents, encode_labels(self.labels[indices], self.label_mode,
                                       len(self.class_names))


def encode_labels(labels: np.ndarray, label_mode: str, num_classes: int) -> np.ndarray:
    """Labels as Keras gives them: int32 `(n,)`, one-hot float32 `(n, C)`,
    or float32 `(n, 1)` for "binary"."""
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    if label_mode == "binary":
        return labels.astype(np.float32)[:, None]
    return labels


def read_texts(paths: list, max_length=None) -> np.ndarray:
    """The texts of `paths` (cut to `max_length` characters), an array of str."""
    texts = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            texts.append(file.read() if max_length is None else file.read(max_length))
    return np.array(texts, dtype=str)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size=32, max_length=None, shuffle=True, seed=None,
                                validation_split=None, subset=None, follow_links=False):
    """Batches of texts from `.txt` files in class subfolders, as Keras.

    Args:
        directory: a folder with one subfolder per class (`labels="inferred"`),
            or with the files themselves.
        labels: "inferred" (from the subfolders), None (texts alone), or a
            list of integer labels, one per file in sorted path order.
        label_mode: "int" (int32 labels), "categorical" (one-hot float32),
            "binary" (float32 `(n, 1)`, exactly 2 classes) or None (no labels).
        class_names: with inferred labels, the subfolders to use, in this
            order (default: all of them, alphabetical).
        batch_size: texts per batch (default 32); None gives single texts.
        max_length: cut each text to at most this many characters.
        shuffle: shuffle the files (once, with `seed`) and every pass.
        seed: the seed of the shuffles; needed with `validation_split` and
            `shuffle`.
        validation_split: the fraction of files in the validation subset.
        subset: "training", "validation" or "both" (a list of the two);
            only with `validation_split`.
        follow_links: follow symbolic links to subfolders.

    Returns:
        A re-iterable of batches `(texts, labels)` (an array of `str` and
        the labels; `texts` alone without labels) with `len` and
        `class_names`; `fit` and `evaluate` take it as `x`.

    Example:
        train = text_dataset_from_directory("reviews", validation_split=0.2,
                                            subset="training", seed=1)
        train.class_names  # ['neg', 'pos']
    """
    if max_length is not None:
        check_int(max_length, "max_length", 0)
    return from_directory(directory, labels, label_mode, class_names, (".txt",),
                          lambda paths: read_texts(paths, max_length), batch_size, shuffle,
                          seed, validation_split, subset, follow_links, "text")


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False):
    """Batches of images from files in class subfolders, as Keras (read with Pillow).

    Images (.bmp, .gif, .jpeg, .jpg, .png) are decoded, converted to
    `color_mode` and resized to `image_size`: float32 batches
    `(batch, height, width, channels)` with values in [0, 255].

    Args:
        directory: a folder with one subfolder per class (`labels="inferred"`),
            or with the files themselves.
        labels: "inferred" (from the subfolders), None (images alone), or a
            list of integer labels, one per file in sorted path order.
        label_mode: "int" (int32 labels), "categorical" (one-hot float32),
            "binary" (float32 `(n, 1)`, exactly 2 classes) or None (no labels).
        class_names: with inferred labels, the subfolders to use, in this
            order (default: all of them, alphabetical).
        color_mode: "grayscale" (1 channel), "rgb" (3) or "rgba" (4).
        batch_size: images per batch (default 32); None gives single images.
        image_size: `(height, width)` (or one integer for both) of the output.
        shuffle: shuffle the files (once, with `seed`) and every pass.
        seed: the seed of the shuffles; needed with `validation_split` and
            `shuffle`.
        validation_split: the fraction of files in the validation subset.
        subset: "training", "validation" or "both" (a list of the two);
            only with `validation_split`.
        interpolation: "bilinear" (half-pixel, as `tf.image.resize`) or "nearest".
        follow_links: follow symbolic links to subfolders.
        crop_to_aspect_ratio: first crop the largest centred window of the
            target aspect ratio, so that images are not distorted.

    Returns:
        A re-iterable of batches `(images, labels)` (`images` alone without
        labels) with `len` and `class_names`; `fit` and `evaluate` take it as `x`.

    Example:
        train = image_dataset_from_directory("photos", image_size=(64, 64),
                                             validation_split=0.2, subset="training", seed=1)
        images, labels = next(iter(train))  # (32, 64, 64, 3) float32, (32,) int32
    """
    mode = COLOR_MODES[check_one_of(color_mode, "color_mode", tuple(COLOR_MODES))]
    size = _image_size(image_size)
    interpolation = check_one_of(interpolation, "interpolation", INTERPOLATIONS)
    crop = check_bool(crop_to_aspect_ratio, "crop_to_aspect_ratio")
    image_module = _pillow_image()
    return from_directory(directory, labels, label_mode, class_names, IMAGE_FORMATS,
                          lambda paths: read_images(paths, image_module, mode, size,
                                                    interpolation, crop),
                          batch_size, shuffle, seed, validation_split, subset, follow_links,
                          "image")


def _image_size(image_size) -> tuple:
    if is_int(image_size):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2 \
            or not all(is_int(k) and k > 0 for k in image_size):
        raise invalid("image_size", "a tuple of 2 positive integers (height, width)", image_size)
    return int(image_size[0]), int(image_size[1])


def _pillow_image():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image_dataset_from_directory reads images with Pillow: "
                          "pip install 'zen[images]' (or Pillow).") from None
    return Image


def read_images(paths, image_module, mode, size, interpolation, crop) -> np.ndarray:
    """The images of `paths` in Pillow `mode`, resized: float32 (n, h, w, c)."""
    images = []
    for path in paths:
        with image_module.open(path) as image:
            kept = image.mode == mode or (mode == "L" and image.mode in ("I;16", "I"))
            pixels = np.asarray(image if kept else image.convert(mode), dtype=np.float32)
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        if crop:
            pixels = crop_to_aspect(pixels, *size)
        images.append(resize_image(pixels, *size, interpolation))
    return np.stack(images)


def crop_to_aspect(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """The largest centred window of `pixels` with the aspect ratio height:width
    (Keras's `smart_resize` arithmetic)."""
    in_height, in_width = pixels.shape[:2]
    crop_height = max(min(in_height, int(float(in_width * height) / width)), 1)
    crop_width = max(min(in_width, int(float(in_height * width) / height)), 1)
    top, left = int((in_height - crop_height) / 2), int((in_width - crop_width) / 2)
    return pixels[top:top + crop_height, left:left + crop_width]


def resize_image(pixels: np.ndarray, height: int, width: int, interpolation: str) -> np.ndarray:
    """Resize `(h, w, c)` to `(height, width, c)` with half-pixel centres and
    no antialiasing (as `tf.image.resize`)."""
    in_height, in_width = pixels.shape[:2]
    if interpolation == "nearest":
        return pixels[nearest_indices(height, in_height)][:, nearest_indices(width, in_width)]
    rows = bilinear_matrix(height, in_height).astype(np.float32)
    columns = bilinear_matrix(width, in_width).astype(np.float32)
    resized = np.einsum("ih,hwc->iwc", rows, pixels)
    return np.einsum("jw,iwc->ijc", columns, resized)


def from_directory(directory, labels, label_mode, class_names, formats, read, batch_size,
                   shuffle, seed, validation_split, subset, follow_links, kind):
    """The shared body of the `*_dataset_from_directory` functions."""
    label_mode = check_one_of(label_mode, "label_mode", LABEL_MODES)
    shuffle = check_bool(shuffle, "shuffle")
    follow_links = check_bool(follow_links, "follow_links")
    _check_labels(labels, class_names)
    _check_split(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if not os.path.isdir(directory):
        raise invalid("directory", "an existing directory", directory)
    paths, labels, class_names = index_directory(directory, labels, formats, class_names,
                                                 follow_links)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if shuffle:
        paths, labels = _shuffled_once(paths, labels, seed)
    subsets = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for part in subsets:
        part_paths, part_labels = split(paths, labels, validation_split, part)
        if not part_paths:
            which = f"{part} " if part else ""
            raise ValueError(f"No {which}{kind} files found in directory {directory}. "
                             f"Allowed formats: {', '.join(formats)}")
        part_shuffle = shuffle and part != "validation" if subset == "both" else shuffle
        datasets.append(FolderDataset(part_paths, part_labels, label_mode, class_names, read,
                                      batch_size, part_shuffle, seed))
    return datasets if subset == "both" else datasets[0]


def _check_labels(labels, class_names):
    if labels in ("inferred", None) and not isinstance(labels, (list, tuple)):
        if labels is None and class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` "
                             "cannot be specified.")
        return
    if not isinstance(labels, (list, tuple)):
        raise invalid("labels", '"inferred", None, or a list of integer labels (one per file)',
                      labels)
    if class_names:
        raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. '
                         f"Received: labels={labels}, and class_names={class_names}")


def _check_split(validation_split, subset, shuffle, seed):
    if validation_split is not None:
        check_float(validation_split, "validation_split", 0, 1, low_open=True, high_open=True)
    subset = check_one_of(subset, "subset", SUBSETS)
    if bool(validation_split) != bool(subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide "
                         "a `seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def index_directory(directory, labels, formats, class_names, follow_links):
    """The sorted file paths under `directory`, their labels and the class names."""
    if labels == "inferred" and not isinstance(labels, (list, tuple)):
        subfolders = sorted(name for name in os.listdir(directory)
                            if os.path.isdir(os.path.join(directory, name))
                            and not name.startswith("."))
        if class_names is not None:
            if not set(class_names) <= set(subfolders):
                raise ValueError(f"The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: "
                                 f"{subfolders} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subfolders = list(class_names)
        paths, found = [], []
        for index, name in enumerate(subfolders):
            files = list_files(os.path.join(directory, name), formats, follow_links)
            paths += files
            found += [index] * len(files)
        return paths, np.array(found, dtype=np.int32), subfolders
    paths = list_files(directory, formats, follow_links)
    if labels is None:
        return paths, None, None
    if len(labels) != len(paths):
        raise ValueError(f"Expected the lengths of `labels` to match the number of files in "
                         f"the target directory. len(labels) is {len(labels)} while we found "
                         f"{len(paths)} files in directory {directory}.")
    return paths, np.asarray(labels, dtype=np.int32), [str(k) for k in sorted(set(labels))]


def list_files(folder, formats, follow_links) -> list:
    """The files of `folder` and its subfolders whose names end with one of
    `formats` (any case), sorted by folder then name."""
    found = []
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda w: w[0]):
        found += [os.path.join(root, name) for name in sorted(files)
                  if name.lower().endswith(formats)]
    return found


def _shuffled_once(paths, labels, seed):
    """Keras's global shuffle: the same permutation of paths and labels."""
    seed = np.random.randint(1e6) if seed is None else seed
    order = np.random.RandomState(seed).permutation(len(paths))
    return [paths[i] for i in order], None if labels is None else labels[order]


def split(paths, labels, validation_split, subset):
    """Keras's split: the validation subset is the last `int(split * n)` files."""
    if not validation_split:
        return paths, labels
    count = int(validation_split * len(paths))
    keep = slice(None, len(paths) - count) if subset == "training" else \
        slice(len(paths) - count, None)
    return paths[keep], None if labels is None else labels[keep]
