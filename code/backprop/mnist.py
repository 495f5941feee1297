"""MNIST and Fashion-MNIST as ready-to-train tensor datasets.

Each loader returns an :class:`ImageDataset` whose item ``i`` is ``(x, y)``:
``x`` is a float32 vector of 784 pixels in [0, 1] (or standardized with the
training-split statistics when ``normalize=True``) and ``y`` an int64 class
index. ``dataset.tensors == (X, y)`` gives the whole split at once.

Where the IDX files come from, for each of the four files, in this order:

1. ``root`` (default ``~/.cache/backprop/<mnist|fashion-mnist>``);
2. the directory in ``$BACKPROP_DATA``, or its ``<name>`` subfolder;
3. Fashion-MNIST only: ``/usr/share/datasets/fashion-mnist``
   (Debian package ``dataset-fashion-mnist``);
4. with ``download=True``: the official mirrors, saved into ``root``.

Both ``name.gz`` and the uncompressed ``name`` are accepted in 1-3.

Integrity. Downloads are checked against the official MD5 of the ``.gz``
file before they are moved into place, so an interrupted or corrupt download
never leaves a file behind. Local files are *not* MD5-checked: the Debian
files hold the official compressed data but with a normalized gzip header
(timestamp reset, file name dropped), so their MD5 differs from the official
one (putting the original header back, with its file name and a 2017-08-31
timestamp, reproduces the official MD5 of all four files: see the tests).
Local files are protected instead by gzip's CRC-32 and length check, by
``read_idx``'s exact-size check, and by the shape, count and label-range
checks below.

Normalization constants (mean and std of all training pixels scaled to
[0, 1]): MNIST 0.1307 / 0.3081 (the usual values); Fashion-MNIST
0.2860 / 0.3530, computed from the Debian files (0.28604, 0.35302).

Decoded files are cached in memory (keyed by path, size and modification
time), so calling a loader again is cheap; every call returns new tensors,
so changing one dataset never affects another.
"""

import contextlib
import functools
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from .idx import read_idx

__all__ = [
    "ImageDataset",
    "load_mnist",
    "load_fashion_mnist",
    "MNIST_CLASSES",
    "FASHION_MNIST_CLASSES",
]

MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "camiseta/top", "pantalón", "suéter", "vestido", "abrigo",
    "sandalia", "camisa", "zapatilla", "bolso", "botín",
)

_FILES = {  # (train?, kind) -> file name, the same for both datasets
    (True, "images"): "train-images-idx3-ubyte.gz",
    (True, "labels"): "train-labels-idx1-ubyte.gz",
    (False, "images"): "t10k-images-idx3-ubyte.gz",
    (False, "labels"): "t10k-labels-idx1-ubyte.gz",
}
_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
_MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}
_DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
_STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
_CLASSES = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_MNIST_CLASSES}
_HINTS = {
    "mnist": "set BACKPROP_DATA to a directory holding the MNIST IDX files, "
             "or pass download=True with internet access",
    "fashion-mnist": "apt-get install dataset-fashion-mnist, set BACKPROP_DATA "
                     "to a directory holding the IDX files, or pass "
                     "download=True with internet access",
}
_TIMEOUT = 10  # seconds per connection attempt
_IMAGE_SIDE = 28


class ImageDataset(TensorDataset):
    """Flattened gray images with integer labels; ``tensors == (X, y)``.

    Attributes: ``tensors`` (X float32 of shape (N, 784), y int64 of shape
    (N,)), ``classes`` (list of class names), ``name`` ("mnist" or
    "fashion-mnist"), ``train`` (bool), ``mean`` and ``std`` (the
    standardization applied, or None when pixels are in [0, 1]).
    """

    def __init__(self, images, labels, classes, name, train, mean=None, std=None):
        super().__init__(images, labels)
        self.classes = list(classes)
        self.name = name
        self.train = train
        self.mean = mean
        self.std = std

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, int) and not -n <= index < n:
            raise IndexError(
                f"index {index} out of range for {self!r}: expected an integer "
                f"in [{-n}, {n - 1}]")
        return super().__getitem__(index)

    def __repr__(self):
        split = "train" if self.train else "test"
        norm = f", mean={self.mean}, std={self.std}" if self.mean is not None else ""
        return f"ImageDataset({self.name!r}, {split}, n={len(self)}{norm})"


def load_mnist(root=None, train=True, download=True, normalize=False) -> ImageDataset:
    """Load the MNIST digits (60000 train / 10000 test images)."""
    return _load("mnist", root, train, download, normalize)


def load_fashion_mnist(root=None, train=True, download=True, normalize=False) -> ImageDataset:
    """Load Fashion-MNIST (60000 train / 10000 test clothing images)."""
    return _load("fashion-mnist", root, train, download, normalize)


def _load(name, root, train, download, normalize) -> ImageDataset:
    """Find, decode, check and wrap one split of a dataset."""
    if root is None:
        root = Path.home() / ".cache" / "backprop" / name
    root, train = Path(root).expanduser(), bool(train)
    images_path = _find_file(name, _FILES[train, "images"], root, download)
    labels_path = _find_file(name, _FILES[train, "labels"], root, download)
    images, labels = _read_cached(images_path), _read_cached(labels_path)
    _check_pair(images, labels, images_path, labels_path)
    x = images.reshape(len(images), -1).to(torch.float32).div_(255)
    y = labels.to(torch.int64, copy=True)
    mean = std = None
    if normalize:
        mean, std = _STATS[name]
        x.sub_(mean).div_(std)
    return ImageDataset(x, y, _CLASSES[name], name, train, mean, std)


def _search_dirs(name, root) -> list:
    """Local directories to search, in order, without duplicates."""
    dirs = [root]
    env = os.environ.get("BACKPROP_DATA")
    if env:
        dirs += [Path(env).expanduser(), Path(env).expanduser() / name]
    if name == "fashion-mnist":
        dirs.append(Path(_DEBIAN_FASHION_DIR))
    return list(dict.fromkeys(dirs))


def _find_file(name, filename, root, download) -> Path:
    """Return the path of ``filename``: found locally or downloaded into ``root``."""
    dirs = _search_dirs(name, root)
    for directory in dirs:
        for candidate in (directory / filename, directory / filename[:-3]):
            if candidate.is_file():
                return candidate
    searched = [f"{directory}: no {filename} nor {filename[:-3]}" for directory in dirs]
    if not os.environ.get("BACKPROP_DATA"):
        searched.insert(1, "$BACKPROP_DATA: not set")
    if not download:
        raise _not_found(name, filename, searched, ["none (download=False)"])
    failures = []
    path = _download(name, filename, root, failures)
    if path is None:
        raise _not_found(name, filename, searched, failures)
    return path


def _not_found(name, filename, searched, failures) -> FileNotFoundError:
    """The error listing every place searched and every URL tried."""
    lines = [f"{name}: could not find {filename!r}.", "Searched:"]
    lines += [f"  {place}" for place in searched]
    lines += ["Downloads tried:"] + [f"  {failure}" for failure in failures]
    lines.append(f"Hint: {_HINTS[name]}.")
    return FileNotFoundError("\n".join(lines))


def _download(name, filename, root, failures):
    """Try each mirror in turn; return the saved path, or None (reasons in ``failures``)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        failures.append(f"cannot create download directory {root}: {err}")
        return None
    for base in _MIRRORS[name]:
        url = base + filename
        try:
            print(f"Downloading {url}", file=sys.stderr)
            _fetch(url, root / filename, _MD5[name][filename])
            return root / filename
        except (OSError, ValueError, http.client.HTTPException) as err:
            failures.append(f"{url}: {err}")
    return None


def _fetch(url, dest: Path, md5: str) -> None:
    """Download ``url`` to ``dest`` atomically; raise ValueError on an MD5 mismatch."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            raise ValueError(
                f"MD5 mismatch: expected {md5}, got {digest.hexdigest()} "
                f"(corrupt or incomplete download, discarded)")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_cached(path: Path) -> torch.Tensor:
    """Decode ``path`` once per (path, size, mtime); callers must not modify the result."""
    stat = path.stat()
    return _read_idx_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, size: int, mtime_ns: int) -> torch.Tensor:
    """Cached ``read_idx``; size and mtime are part of the key so edited files reload."""
    return read_idx(path)


def _check_pair(images, labels, images_path, labels_path) -> None:
    """Raise ValueError unless images/labels form a valid uint8 N×28×28 / N pair."""
    side = _IMAGE_SIDE
    if images.dtype != torch.uint8 or images.dim() != 3 or images.shape[1:] != (side, side):
        raise ValueError(
            f"{images_path}: expected uint8 images of shape N×{side}×{side}, "
            f"found {images.dtype} of shape {tuple(images.shape)}")
    if labels.dtype != torch.uint8 or labels.dim() != 1:
        raise ValueError(
            f"{labels_path}: expected uint8 labels of shape (N,), "
            f"found {labels.dtype} of shape {tuple(labels.shape)}")
    if len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {len(images)} images but {labels_path} has "
            f"{len(labels)} labels; expected the same count")
    if len(labels) and int(labels.max()) >= 10:
        raise ValueError(
            f"{labels_path}: expected labels in 0..9, found {int(labels.max())}")
