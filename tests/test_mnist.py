"""Tests for backprop.mnist: file search, offline downloads, checks, real data."""

import gzip
import hashlib
import os
import struct
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from backprop import mnist
from backprop.idx import write_idx

REAL_DEBIAN_DIR = Path(mnist._DEBIAN_FASHION_DIR)  # captured before any patching
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
UNREACHABLE = "http://127.0.0.1:9/"
N_TRAIN, N_TEST = 12, 5


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real data directories, no network, no user cache, empty in-process cache."""
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(mnist, "_DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(mnist, "_MIRRORS", {"mnist": [UNREACHABLE], "fashion-mnist": [UNREACHABLE]})
    monkeypatch.setattr(mnist, "_TIMEOUT", 2)
    mnist._read_idx_cached.cache_clear()
    yield
    mnist._read_idx_cached.cache_clear()


def make_files(directory, marker=0, gz=True, n_train=N_TRAIN, n_test=N_TEST):
    """Write the four IDX files; every pixel of image 0 equals ``marker``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = (torch.arange(n * 28 * 28) % 251).to(torch.uint8).reshape(n, 28, 28)
        images[0] = marker
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}",
                  (torch.arange(n) % 10).to(torch.uint8))
    return directory


def marker_of(dataset):
    return round(dataset.tensors[0][0, 0].item() * 255)


def md5s(directory):
    return {f: hashlib.md5((Path(directory) / f).read_bytes()).hexdigest() for f in FILES}


# --- the dataset ------------------------------------------------------------

def test_dataset_contents(tmp_path):
    make_files(tmp_path / "root")
    data = mnist.load_mnist(root=tmp_path / "root", download=False)
    assert isinstance(data, TensorDataset) and isinstance(data, mnist.ImageDataset)
    x, y = data.tensors
    assert x.shape == (N_TRAIN, 784) and x.dtype == torch.float32
    assert y.shape == (N_TRAIN,) and y.dtype == torch.int64
    assert 0 <= x.min() and x.max() <= 1
    expected = (torch.arange(N_TRAIN * 784) % 251).reshape(N_TRAIN, 784).float() / 255
    assert torch.equal(x[1:], expected[1:])
    assert y.tolist() == [i % 10 for i in range(N_TRAIN)]
    xi, yi = data[3]
    assert xi.shape == (784,) and yi.shape == () and yi.item() == 3
    assert data.classes == list(mnist.MNIST_CLASSES) == [str(d) for d in range(10)]
    assert data.train is True and data.mean is None
    assert "mnist" in repr(data) and f"n={N_TRAIN}" in repr(data) and len(repr(data)) < 80


def test_test_split_and_fashion_classes(tmp_path):
    make_files(tmp_path / "root")
    data = mnist.load_fashion_mnist(root=tmp_path / "root", train=False, download=False)
    assert len(data) == N_TEST and data.train is False
    assert data.classes[0] == "camiseta/top" and data.classes[9] == "botín"
    assert len(data.classes) == 10 and "test" in repr(data)


def test_normalize_uses_training_constants(tmp_path):
    make_files(tmp_path / "root")
    plain = mnist.load_fashion_mnist(root=tmp_path / "root", download=False)
    norm = mnist.load_fashion_mnist(root=tmp_path / "root", download=False, normalize=True)
    assert (norm.mean, norm.std) == (0.2860, 0.3530)
    assert torch.allclose(norm.tensors[0], (plain.tensors[0] - 0.2860) / 0.3530)
    assert "mean=" in repr(norm)
    digits = mnist.load_mnist(root=tmp_path / "root", download=False, normalize=True)
    assert (digits.mean, digits.std) == (0.1307, 0.3081)


def test_index_out_of_range(tmp_path):
    make_files(tmp_path / "root")
    data = mnist.load_mnist(root=tmp_path / "root", download=False)
    assert data[-1][1].item() == (N_TRAIN - 1) % 10
    for bad in (N_TRAIN, -N_TRAIN - 1, 10**6):
        with pytest.raises(IndexError, match=f"index {bad} out of range") as info:
            data[bad]
        assert f"[{-N_TRAIN}, {N_TRAIN - 1}]" in str(info.value)


def test_datasets_do_not_share_tensors(tmp_path):
    make_files(tmp_path / "root", marker=7)
    first = mnist.load_mnist(root=tmp_path / "root", download=False)
    first.tensors[0].zero_()
    first.tensors[1].fill_(5)
    second = mnist.load_mnist(root=tmp_path / "root", download=False)
    assert marker_of(second) == 7
    assert second.tensors[1][0].item() == 0


def test_cache_notices_changed_file(tmp_path):
    root = make_files(tmp_path / "root", marker=1)
    assert len(mnist.load_mnist(root=root, download=False)) == N_TRAIN
    make_files(root, marker=2, n_train=N_TRAIN + 3)
    data = mnist.load_mnist(root=root, download=False)
    assert len(data) == N_TRAIN + 3 and marker_of(data) == 2


# --- where files are found --------------------------------------------------

def test_search_order(tmp_path, monkeypatch):
    root, env, debian = tmp_path / "root", tmp_path / "env", tmp_path / "debian"
    make_files(root, marker=1)
    make_files(env, marker=2)
    make_files(debian, marker=3)
    monkeypatch.setenv("BACKPROP_DATA", str(env))
    monkeypatch.setattr(mnist, "_DEBIAN_FASHION_DIR", debian)
    assert marker_of(mnist.load_fashion_mnist(root=root, download=False)) == 1
    for f in FILES:
        (root / f).unlink()
    assert marker_of(mnist.load_fashion_mnist(root=root, download=False)) == 2
    for f in FILES:
        (env / f).unlink()
    assert marker_of(mnist.load_fashion_mnist(root=root, download=False)) == 3
    make_files(env / "fashion-mnist", marker=4)  # the <name> subfolder of $BACKPROP_DATA
    assert marker_of(mnist.load_fashion_mnist(root=root, download=False)) == 4


def test_debian_dir_is_only_for_fashion(tmp_path, monkeypatch):
    debian = make_files(tmp_path / "debian", marker=3)
    monkeypatch.setattr(mnist, "_DEBIAN_FASHION_DIR", debian)
    assert marker_of(mnist.load_fashion_mnist(root=tmp_path / "root", download=False)) == 3
    with pytest.raises(FileNotFoundError):
        mnist.load_mnist(root=tmp_path / "root", download=False)


def test_default_root_is_user_cache(tmp_path):
    make_files(tmp_path / "home" / ".cache" / "backprop" / "mnist", marker=9)
    assert marker_of(mnist.load_mnist(download=False)) == 9


def test_uncompressed_files_are_accepted(tmp_path):
    make_files(tmp_path / "root", marker=5, gz=False)
    assert marker_of(mnist.load_mnist(root=tmp_path / "root", download=False)) == 5


# --- downloads, without network ----------------------------------------------

def use_file_mirror(monkeypatch, source, mirrors_before=()):
    """Serve ``source`` as a mirror through file:// URLs, trusting its MD5s."""
    monkeypatch.setitem(mnist._MD5, "mnist", md5s(source))
    monkeypatch.setitem(mnist._MIRRORS, "mnist", [*mirrors_before, source.as_uri() + "/"])


def test_download_from_mirror(tmp_path, monkeypatch):
    source = make_files(tmp_path / "mirror", marker=6)
    use_file_mirror(monkeypatch, source)
    root = tmp_path / "new" / "root"  # does not exist yet
    assert marker_of(mnist.load_mnist(root=root, download=True)) == 6
    assert sorted(os.listdir(root)) == sorted(FILES[:2])  # test files not needed yet
    assert (root / FILES[0]).read_bytes() == (source / FILES[0]).read_bytes()
    monkeypatch.setitem(mnist._MIRRORS, "mnist", [UNREACHABLE])
    assert len(mnist.load_mnist(root=root, download=False)) == N_TRAIN  # now local


def test_unreachable_mirror_then_good_one(tmp_path, monkeypatch):
    source = make_files(tmp_path / "mirror", marker=6)
    use_file_mirror(monkeypatch, source, [UNREACHABLE, (tmp_path / "missing").as_uri() + "/"])
    assert marker_of(mnist.load_mnist(root=tmp_path / "root", train=False)) == 6


def test_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch):
    source = make_files(tmp_path / "mirror")
    use_file_mirror(monkeypatch, source)
    monkeypatch.setitem(mnist._MD5["mnist"], FILES[0], "0" * 32)
    root = tmp_path / "root"
    with pytest.raises(FileNotFoundError, match="MD5 mismatch") as info:
        mnist.load_mnist(root=root)
    assert FILES[0] in str(info.value)
    assert os.listdir(root) == []


def test_interrupted_download_leaves_no_file(tmp_path, monkeypatch):
    class Broken:
        def __init__(self, *args, **kwargs):
            self.calls = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, size):
            self.calls += 1
            if self.calls > 1:
                raise ConnectionResetError("connection reset by peer")
            return b"\x1f\x8b partial data"

    monkeypatch.setattr(urllib.request, "urlopen", Broken)
    root = tmp_path / "root"
    with pytest.raises(FileNotFoundError, match="connection reset by peer"):
        mnist.load_mnist(root=root)
    assert os.listdir(root) == []


def test_offline_with_no_files_anywhere(tmp_path, monkeypatch):
    env = tmp_path / "env"
    env.mkdir()
    monkeypatch.setenv("BACKPROP_DATA", str(env))
    root = tmp_path / "root"
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_fashion_mnist(root=root, download=True)
    message = str(info.value)
    for expected in ("train-images-idx3-ubyte.gz", str(root), str(env),
                     str(env / "fashion-mnist"), str(tmp_path / "no-debian"),
                     UNREACHABLE + "train-images-idx3-ubyte.gz",
                     "apt-get install dataset-fashion-mnist", "BACKPROP_DATA"):
        assert expected in message
    assert "refused" in message.lower() or "error" in message.lower()  # the reason
    assert os.listdir(root) == []


def test_no_download_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"download=False") as info:
        mnist.load_mnist(root=tmp_path / "root", download=False)
    assert "$BACKPROP_DATA: not set" in str(info.value)


# --- broken local files -----------------------------------------------------

def test_truncated_local_file(tmp_path):
    root = make_files(tmp_path / "root", gz=False)
    path = root / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="expected 9408 bytes of data, found 9308") as info:
        mnist.load_mnist(root=root, download=False)
    assert str(path) in str(info.value)


def test_corrupt_local_gzip(tmp_path):
    root = make_files(tmp_path / "root")
    path = root / FILES[0]
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ValueError, match="corrupt gzip") as info:
        mnist.load_fashion_mnist(root=root, download=False)
    assert str(path) in str(info.value)


def test_mismatched_counts(tmp_path):
    root = make_files(tmp_path / "root")
    write_idx(root / FILES[1], torch.zeros(N_TRAIN + 1, dtype=torch.uint8))
    with pytest.raises(ValueError, match=f"{N_TRAIN} images but .* {N_TRAIN + 1} labels"):
        mnist.load_mnist(root=root, download=False)


@pytest.mark.parametrize("images", [torch.zeros(3, 27, 28, dtype=torch.uint8),
                                    torch.zeros(3, 784, dtype=torch.uint8),
                                    torch.zeros(3, 28, 28, dtype=torch.int32)])
def test_wrong_image_shape_or_dtype(tmp_path, images):
    root = make_files(tmp_path / "root")
    write_idx(root / FILES[0], images)
    with pytest.raises(ValueError, match="expected uint8 images of shape N×28×28") as info:
        mnist.load_mnist(root=root, download=False)
    assert FILES[0] in str(info.value)


def test_label_out_of_range(tmp_path):
    root = make_files(tmp_path / "root")
    write_idx(root / FILES[1], torch.full((N_TRAIN,), 10, dtype=torch.uint8))
    with pytest.raises(ValueError, match="expected labels in 0..9, found 10"):
        mnist.load_mnist(root=root, download=False)


# --- the real Fashion-MNIST files (Debian package dataset-fashion-mnist) -----

@pytest.fixture
def real_dir():
    if not all((REAL_DEBIAN_DIR / f).is_file() for f in FILES):
        pytest.skip("Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
    return REAL_DEBIAN_DIR


def test_real_fashion_train(real_dir):
    start = time.perf_counter()
    data = mnist.load_fashion_mnist(root=real_dir, download=False)
    elapsed = time.perf_counter() - start
    x, y = data.tensors
    assert x.shape == (60000, 784) and x.dtype == torch.float32
    assert y.shape == (60000,) and y.dtype == torch.int64
    assert x.min() == 0 and x.max() == 1
    assert torch.bincount(y).tolist() == [6000] * 10
    assert elapsed < 2, f"loading took {elapsed:.2f} s"


def test_real_fashion_test_split(real_dir):
    x, y = mnist.load_fashion_mnist(root=real_dir, train=False, download=False).tensors
    assert x.shape == (10000, 784) and 0 <= x.min() and x.max() <= 1
    assert torch.bincount(y).tolist() == [1000] * 10


def test_real_fashion_normalized(real_dir):
    x = mnist.load_fashion_mnist(root=real_dir, download=False, normalize=True).tensors[0]
    assert abs(x.mean().item()) < 1e-3
    assert abs(x.std().item() - 1) < 1e-3


def official_gzip(debian_file, mtime):
    """Put back the header the official file had (Debian dropped name and mtime)."""
    body = debian_file.read_bytes()
    name = debian_file.name[:-3].encode()
    return b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + name + b"\x00" + body[10:]


def rebuild_official(real_dir, target):
    target.mkdir()
    for f in FILES:
        mtime = 1504176606 if f.startswith("train") else 1504176627  # 2017-08-31
        (target / f).write_bytes(official_gzip(real_dir / f, mtime))
    return target


def test_fashion_md5_constants_match_debian_data(real_dir, tmp_path):
    official = rebuild_official(real_dir, tmp_path / "official")
    assert md5s(official) == mnist._MD5["fashion-mnist"]
    for f in FILES:  # the decompressed content is untouched
        assert gzip.decompress((official / f).read_bytes()) == gzip.decompress((real_dir / f).read_bytes())


def test_real_download_with_official_checksums(real_dir, tmp_path, monkeypatch):
    mirror = rebuild_official(real_dir, tmp_path / "mirror")
    monkeypatch.setitem(mnist._MIRRORS, "fashion-mnist", [UNREACHABLE, mirror.as_uri() + "/"])
    root = tmp_path / "root"
    data = mnist.load_fashion_mnist(root=root, train=False)
    assert len(data) == 10000
    assert sorted(os.listdir(root)) == sorted(FILES[2:])
    for f in FILES[2:]:
        assert hashlib.md5((root / f).read_bytes()).hexdigest() == mnist._MD5["fashion-mnist"][f]
