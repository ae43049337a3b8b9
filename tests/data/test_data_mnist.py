"""zen.data.mnist: every source on a tiny fake MNIST, hostile pickles, the
downloader against a local HTTP server, the cache, and the real data."""
import builtins
import functools
import gzip
import http.server
import os
import pickle
import sys
import threading

import numpy as np
import pytest

from zen.data import mnist
from zen.data.idx import idx_sha256
from zen.data.nielsen import ALLOWED_GLOBALS, SafeUnpickler
from zen.fileio import ZenFileError
from zen_data_fakes import (ORIGINAL_INSTALLED_PICKLE, REAL_DATA_DIRS, gz_pickle, nielsen_pickle,
                            write_idx_dir, write_wheel)


def flat(loaded):
    (x_train, y_train), (x_test, y_test) = loaded
    return x_train, y_train, x_test, y_test


def assert_same(loaded, arrays):
    for got, want in zip(flat(loaded), arrays):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def stderr_lines(capsys):
    return capsys.readouterr().err.splitlines()


# --- the IDX directory and the cache --------------------------------------

@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("via_env", [False, True])
def test_idx_directory_is_converted_once_then_cached(tmp_path, monkeypatch, capsys, fake_mnist,
                                                     fake_checksums, isolated_data_env, gz, via_env):
    source = write_idx_dir(tmp_path / "idx", fake_mnist, gz=gz)
    if via_env:
        monkeypatch.setenv("ZEN_MNIST_DIR", str(source))
    assert_same(mnist.load_data(None if via_env else source, checksums=fake_checksums), fake_mnist)
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and str(source) in lines[0] and "mnist.npz" in lines[0]
    for name in os.listdir(source):         # the sources are gone: only the cache is left
        os.remove(source / name)
    monkeypatch.delenv("ZEN_MNIST_DIR", raising=False)
    assert_same(mnist.load_data(), fake_mnist)
    assert stderr_lines(capsys) == []
    assert os.listdir(isolated_data_env) == ["mnist.npz"]


def test_cache_wins_over_a_named_directory(tmp_path, fake_mnist, fake_checksums):
    mnist.load_data(write_idx_dir(tmp_path / "a", fake_mnist), checksums=fake_checksums)
    other = [a[::-1].copy() for a in fake_mnist]
    assert_same(mnist.load_data(write_idx_dir(tmp_path / "b", other)), fake_mnist)


def test_named_directory_wins_over_the_wheel(tmp_path, capsys, fake_mnist, fake_checksums,
                                             isolated_data_env):
    write_wheel(isolated_data_env / mnist.WHEEL_NAME, b"not even gzip")
    source = write_idx_dir(tmp_path / "idx", fake_mnist)
    assert_same(mnist.load_data(source, checksums=fake_checksums), fake_mnist)
    assert str(source) in capsys.readouterr().err


def test_idx_directory_errors(tmp_path, fake_mnist, fake_checksums, isolated_data_env):
    source = write_idx_dir(tmp_path / "idx", fake_mnist)
    os.remove(source / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(FileNotFoundError, match=r"lacks the MNIST IDX files \['t10k-labels"):
        mnist.load_data(source, checksums=fake_checksums)
    with pytest.raises(FileNotFoundError, match="`path`.*not a directory"):
        mnist.load_data(tmp_path / "nowhere", checksums=fake_checksums)
    assert not isolated_data_env.exists()


def test_data_that_is_not_mnist_is_refused(tmp_path, fake_mnist, fake_checksums,
                                           isolated_data_env):
    with pytest.raises(ZenFileError, match="train-images-idx3-ubyte is not the standard MNIST"):
        mnist.load_data(write_idx_dir(tmp_path / "a", fake_mnist))     # the real checksums
    small = (fake_mnist[0][:, :27, :27].copy(),) + fake_mnist[1:]
    with pytest.raises(ZenFileError, match=r"train images must be uint8 \(n, 28, 28\)"):
        mnist.load_data(write_idx_dir(tmp_path / "b", small), checksums=fake_checksums)
    with pytest.raises(ValueError, match="`checksums`"):
        mnist.load_data(tmp_path / "a", checksums={"train-images-idx3-ubyte": "00"})
    assert not isolated_data_env.exists()


@pytest.mark.parametrize("content, match", [
    (b"garbage", "unreadable"),
    ("float arrays", r"delete it.*train images must be uint8"),
    ("missing key", "unreadable.*delete it"),
])
def test_a_bad_cache_raises_a_clear_error(isolated_data_env, fake_mnist, content, match):
    isolated_data_env.mkdir()
    path = isolated_data_env / "mnist.npz"
    if content == b"garbage":
        path.write_bytes(content)
    elif content == "float arrays":
        np.savez(path, **dict(zip(mnist.CACHE_KEYS, (a.astype(np.float32) for a in fake_mnist))))
    else:
        np.savez(path, x_train=fake_mnist[0])
    with pytest.raises(ZenFileError, match=match):
        mnist.load_data()


# --- Nielsen's pickle: in the wheel, in an installed package, hostile ------

@pytest.mark.parametrize("module", ["numpy._core.multiarray", "numpy.core.multiarray"])
def test_wheel_in_the_cache_dir(isolated_data_env, tmp_path, capsys, fake_mnist, fake_checksums,
                                module):
    marker = tmp_path / "imported"
    wheel = write_wheel(isolated_data_env / mnist.WHEEL_NAME, nielsen_pickle(fake_mnist, module),
                        init_code=f"open({str(marker)!r}, 'w').close()")
    assert_same(mnist.load_data(checksums=fake_checksums), fake_mnist)
    assert wheel in capsys.readouterr().err
    assert not marker.exists()


def test_installed_package_is_found_without_importing_it(tmp_path, monkeypatch, capsys,
                                                         fake_mnist, fake_checksums):
    marker = tmp_path / "imported"
    package = tmp_path / "site" / "mnist"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (package / "data" / "mnist.pkl.gz").write_bytes(nielsen_pickle(fake_mnist))
    monkeypatch.setattr(mnist, "installed_pickle", ORIGINAL_INSTALLED_PICKLE)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "mnist", raising=False)
    assert mnist.installed_pickle() == str(package / "data" / "mnist.pkl.gz")
    assert_same(mnist.load_data(checksums=fake_checksums), fake_mnist)
    assert "site/mnist/data/mnist.pkl.gz" in capsys.readouterr().err
    assert not marker.exists() and "mnist" not in sys.modules


class Payload:
    """Pickles as a call to `function(argument)`: what a malicious file does."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


@pytest.mark.parametrize("function, command, forbidden", [
    (os.system, "touch {marker}", "posix.system"),
    (builtins.exec, "open({marker!r}, 'w').close()", "builtins.exec"),
    (builtins.eval, "open({marker!r}, 'w').close()", "builtins.eval"),
])
def test_hostile_pickle_is_refused_and_never_runs(isolated_data_env, tmp_path, fake_mnist,
                                                  function, command, forbidden):
    marker = str(tmp_path / "pwned")
    hostile = Payload(function, command.format(marker=marker))
    x, y = fake_mnist[0].reshape(-1, 784) / np.float32(256), fake_mnist[1].astype(np.int64)
    write_wheel(isolated_data_env / mnist.WHEEL_NAME, gz_pickle(((x, y), (x, y), (x, hostile))))
    with pytest.raises(ZenFileError, match=f"refusing .* the global {forbidden}"):
        mnist.load_data()
    assert not os.path.exists(marker)
    assert os.listdir(isolated_data_env) == [mnist.WHEEL_NAME]
    pickle.loads(pickle.dumps(hostile))          # control: a plain unpickler runs it
    assert os.path.exists(marker)


def test_safe_unpickler_admits_only_array_globals():
    for (module, name), obj in ALLOWED_GLOBALS.items():
        assert SafeUnpickler.find_class(None, module, name) is obj
    assert {obj for obj in ALLOWED_GLOBALS.values()} == {
        np.empty(0).__reduce__()[0], np.ndarray, np.dtype}
    for module, name in [("numpy", "load"), ("os", "system"), ("_codecs", "encode"),
                         ("numpy.core.multiarray", "scalar")]:
        with pytest.raises(ZenFileError, match=f"{module}.{name}"):
            SafeUnpickler.find_class(None, module, name)


def _split(n, scale=256, dtype=np.float32, labels=None):
    x = (np.arange(n * 784).reshape(n, 784) % 256 / scale).astype(dtype)
    return x, np.arange(n) % 10 if labels is None else labels


@pytest.mark.parametrize("payload, match", [
    (b"plain bytes", "not a valid MNIST pickle"),
    (gzip.compress(b"\x80\x02not a pickle"), "not a valid MNIST pickle"),
    (gz_pickle(("a", "b", "c")), r"\(train, validation, test\) pairs of arrays"),
    (gz_pickle((_split(2), _split(2))), "pairs of arrays"),
    (gz_pickle((_split(2), _split(2), (np.zeros((2, 10), np.float32), np.zeros(2, int)))),
     r"test images must be floats of shape \(n, 784\)"),
    (gz_pickle((_split(2), _split(2), (_split(2)[0], np.zeros(3, int)))),
     r"test labels must be integers of shape \(2,\)"),
    (gz_pickle((_split(2, scale=255.0), _split(2), _split(2))), "not k/256"),
    (gz_pickle((_split(2), _split(2), (np.full((1, 784), np.nan, np.float32), np.zeros(1, int)))),
     "not k/256"),
    (gz_pickle((_split(2), _split(2, labels=np.array([3, 12])), _split(2))), "digits 0..9"),
])
def test_malformed_pickles_raise_a_clear_error(isolated_data_env, payload, match):
    write_wheel(isolated_data_env / mnist.WHEEL_NAME, payload)
    with pytest.raises(ZenFileError, match=match):
        mnist.load_data()


def test_broken_wheels(isolated_data_env):
    isolated_data_env.mkdir()
    (isolated_data_env / mnist.WHEEL_NAME).write_bytes(b"PK not a zip")
    with pytest.raises(ZenFileError, match="not a valid wheel"):
        mnist.load_data()
    import zipfile
    with zipfile.ZipFile(isolated_data_env / mnist.WHEEL_NAME, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
    with pytest.raises(ZenFileError, match="does not contain mnist/data/mnist.pkl.gz"):
        mnist.load_data()


# --- the downloader, against a real HTTP server on 127.0.0.1 ---------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    """(directory served, its base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/mnist"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("gz", [True, False])   # False: a server that hands out decompressed files
def test_download_from_a_mirror(mirror, capsys, fake_mnist, fake_checksums, gz):
    root, url = mirror
    write_idx_dir(root / "mnist", fake_mnist, gz=True)
    if not gz:
        for path in (root / "mnist").iterdir():
            path.write_bytes(gzip.decompress(path.read_bytes()))
    assert_same(mnist.load_data(mirrors=[url], checksums=fake_checksums), fake_mnist)
    assert f"a download from {url}" in capsys.readouterr().err
    assert_same(mnist.load_data(), fake_mnist)        # now from the cache


def test_download_falls_back_to_the_next_mirror(mirror, monkeypatch, fake_mnist, fake_checksums):
    root, url = mirror
    write_idx_dir(root / "mnist", fake_mnist)
    monkeypatch.setenv("ZEN_MNIST_MIRROR", f"http://127.0.0.1:9/mnist, {url}/missing/ {url}")
    assert_same(mnist.load_data(checksums=fake_checksums), fake_mnist)


def test_checksum_mismatch_leaves_nothing_in_the_cache(mirror, isolated_data_env, fake_mnist,
                                                       fake_checksums):
    root, url = mirror
    write_idx_dir(root / "mnist", fake_mnist)
    wrong = dict(fake_checksums, **{"t10k-labels-idx1-ubyte": "0" * 64})
    with pytest.raises(ZenFileError, match="t10k-labels-idx1-ubyte.gz: SHA-256 mismatch"):
        mnist.load_data(mirrors=url, checksums=wrong)
    assert not isolated_data_env.exists() or os.listdir(isolated_data_env) == []
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(ZenFileError, match="not valid gzip"):
        mnist.load_data(mirrors=url, checksums=fake_checksums)
    assert not isolated_data_env.exists() or os.listdir(isolated_data_env) == []


def test_no_source_at_all_explains_what_to_do(isolated_data_env):
    with pytest.raises(OSError, match="make data") as error:
        mnist.load_data()
    assert "127.0.0.1:9" in str(error.value)
    with pytest.raises(ValueError, match="`mirrors`.*http"):
        mnist.load_data(mirrors=["ftp://example/"])
    assert not isolated_data_env.exists()


# --- the real MNIST ---------------------------------------------------------

@pytest.fixture(scope="session")
def real_mnist(tmp_path_factory):
    """The real data from the user's wheel (converted into a temporary cache,
    through the safe unpickler) or, failing that, their existing cache."""
    for directory in REAL_DATA_DIRS:
        wheel = os.path.join(directory, mnist.WHEEL_NAME)
        if os.path.isfile(wheel):
            data_dir = tmp_path_factory.mktemp("real-mnist")
            os.symlink(wheel, data_dir / mnist.WHEEL_NAME)
            break
        if os.path.isfile(os.path.join(directory, mnist.CACHE_NAME)):
            data_dir = directory      # only read: load_data writes nothing on a cache hit
            break
    else:
        pytest.skip(f"no real MNIST (wheel or cache) in {REAL_DATA_DIRS}; run `make data`")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZEN_DATA_DIR", str(data_dir))
        patch.delenv("ZEN_MNIST_DIR", raising=False)
        return flat(mnist.load_data())


def test_real_mnist(real_mnist):
    x_train, y_train, x_test, y_test = real_mnist
    assert [(a.shape, a.dtype) for a in real_mnist] == [
        ((60000, 28, 28), np.uint8), ((60000,), np.uint8),
        ((10000, 28, 28), np.uint8), ((10000,), np.uint8)]
    for name, array in zip(mnist.FILES, real_mnist):
        assert idx_sha256(array) == mnist.SHA256[name]
    np.testing.assert_array_equal(y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert np.bincount(y_train)[1] == 6742 and np.bincount(y_test)[1] == 1135
    np.testing.assert_array_equal(np.bincount(y_train), [5923, 6742, 5958, 6131, 5842,
                                                         5421, 5918, 6265, 5851, 5949])
    assert x_train.max() == 255 and x_train[:, 0, 0].max() == 0    # dark corners
