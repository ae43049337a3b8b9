"""Fetch the MNIST IDX files from public mirrors, verifying every byte.

Each file is tried on each mirror in turn. Its decompressed content must
have the expected SHA-256 (the digest of the uncompressed IDX file, so a
mirror that re-gzips the same data still passes). Nothing is written to
disk here: the caller caches the result only once all files have passed.
"""
import hashlib
import http.client
import os
import re
import urllib.request

from ..fileio import ZenFileError
from .idx import GZIP_MAGIC, gunzip, parse_idx

# Base URLs of the mirrors torchvision and TensorFlow use (the original host
# now refuses scripted downloads). Override with `mirrors=` or ZEN_MNIST_MIRROR.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
TIMEOUT_SECONDS = 60
MAX_BYTES = 64 * 2**20    # the largest MNIST file is 47 MB uncompressed


def mirror_list(mirrors=None) -> list:
    """The base URLs to try: `mirrors` (a list, or one string of URLs
    separated by spaces or commas), else $ZEN_MNIST_MIRROR, else MIRRORS."""
    if mirrors is None:
        mirrors = os.environ.get("ZEN_MNIST_MIRROR") or MIRRORS
    if isinstance(mirrors, str):
        mirrors = re.split(r"[\s,]+", mirrors.strip())
    mirrors = [m for m in mirrors if m]
    if not mirrors or not all(re.match(r"https?://", m) for m in mirrors):
        raise ValueError(f"Received an invalid value for `mirrors`, expected one or more "
                         f"http:// or https:// base URLs. Received: mirrors={mirrors!r}")
    return mirrors


def download_idx(checksums: dict, mirrors: list) -> dict:
    """Download `<name>.gz` for every name in `checksums` and return
    {name: array}. Raises ZenFileError if some mirror served data that failed
    its check and none served good data, OSError if none could be reached."""
    return {name: _fetch_verified(name, sha256, mirrors) for name, sha256 in checksums.items()}


def _fetch_verified(name: str, sha256: str, mirrors: list):
    failures, corrupt = [], False
    for base in mirrors:
        url = base.rstrip("/") + "/" + name + ".gz"
        try:
            data = _get(url)
        except (OSError, http.client.HTTPException, ValueError) as error:
            failures.append(f"{url}: {error}")
            continue
        try:  # some servers hand out the file already decompressed
            content = gunzip(data, url, MAX_BYTES) if data[:2] == GZIP_MAGIC else data
        except ZenFileError as error:
            failures.append(str(error))
            corrupt = True
            continue
        digest = hashlib.sha256(content).hexdigest()
        if digest != sha256:
            failures.append(f"{url}: SHA-256 mismatch, expected {sha256}, got {digest}")
            corrupt = True
            continue
        return parse_idx(content, url)
    report = "\n  ".join(failures)
    if corrupt:
        raise ZenFileError(f"could not get a verified copy of {name}; nothing was saved:"
                           f"\n  {report}")
    raise OSError(f"could not download {name}:\n  {report}")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        data = response.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise OSError(f"the response is larger than {MAX_BYTES} bytes")
    return data
