"""Tests for backprop.idx: the IDX reader and writer."""

import gzip
import struct

import pytest
import torch

from backprop.idx import read_idx, write_idx

DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.float32, torch.float64]
SHAPES = [(), (0,), (7,), (3, 4), (2, 3, 5), (2, 1, 3, 2)]


def _sample(dtype, shape):
    """A tensor with values that expose byte-order mistakes (negative, > 255)."""
    n = torch.Size(shape).numel()
    values = torch.arange(n, dtype=torch.float64) * 37.25 - 50
    if dtype == torch.uint8:
        return (torch.arange(n) * 37 % 256).to(dtype).reshape(shape)
    if dtype == torch.int8:
        return (torch.arange(n) * 37 % 256 - 128).to(dtype).reshape(shape)
    if not dtype.is_floating_point:
        values = values.round() * 1013
    return values.to(dtype).reshape(shape)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_roundtrip(tmp_path, dtype, shape, suffix):
    tensor = _sample(dtype, shape)
    path = tmp_path / f"x.idx{suffix}"
    write_idx(path, tensor)
    out = read_idx(path)
    assert out.dtype == dtype
    assert out.shape == tensor.shape
    assert torch.equal(out, tensor)


def test_read_hand_made_big_endian_file(tmp_path):
    """The reader is checked against bytes built by hand, not by write_idx."""
    path = tmp_path / "floats.idx"
    path.write_bytes(b"\x00\x00\x0d\x02" + struct.pack(">2I", 2, 2)
                     + struct.pack(">4f", 1.5, -2.0, 3.25, 1e6))
    out = read_idx(path)
    assert out.dtype == torch.float32
    assert out.tolist() == [[1.5, -2.0], [3.25, 1e6]]


def test_write_exact_bytes(tmp_path):
    path = tmp_path / "shorts.idx"
    write_idx(path, torch.tensor([1, 258, -2], dtype=torch.int16))
    assert path.read_bytes() == (b"\x00\x00\x0b\x01" + b"\x00\x00\x00\x03"
                                 + b"\x00\x01" + b"\x01\x02" + b"\xff\xfe")


def test_gzip_detected_by_content_without_suffix(tmp_path):
    tensor = torch.arange(10, dtype=torch.int32)
    gz, plain = tmp_path / "a.gz", tmp_path / "a-no-suffix"
    write_idx(gz, tensor)
    plain.write_bytes(gz.read_bytes())
    assert torch.equal(read_idx(plain), tensor)


def test_returned_tensor_is_writable_and_owned(tmp_path):
    path = tmp_path / "u8.idx"
    write_idx(path, torch.zeros(4, dtype=torch.uint8))
    out = read_idx(path)
    out += 1  # would fail or warn on a read-only buffer
    assert torch.equal(read_idx(path), torch.zeros(4, dtype=torch.uint8))


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="no IDX code"):
        write_idx(tmp_path / "b.idx", torch.tensor([True, False]))


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_data(tmp_path, suffix):
    path = tmp_path / f"t.idx{suffix}"
    raw = b"\x00\x00\x0b\x01\x00\x00\x00\x03" + b"\x00\x01\x00\x02\x00"  # 5 of 6 bytes
    path.write_bytes(gzip.compress(raw) if suffix else raw)
    with pytest.raises(ValueError, match="expected 6 bytes of data") as info:
        read_idx(path)
    assert "found 5" in str(info.value)
    assert str(path) in str(info.value)


def test_truncated_header(tmp_path):
    path = tmp_path / "h.idx"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x02")  # 3 dims announced, 1 given
    with pytest.raises(ValueError, match="truncated header") as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\x00", b"\x01\x00\x08\x01\x00\x00\x00\x01\x05",
                                     b"PK\x03\x04 not idx at all"])
def test_wrong_magic_number(tmp_path, content):
    path = tmp_path / "m.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="magic number") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_unknown_dtype_code(tmp_path):
    path = tmp_path / "d.idx"
    path.write_bytes(b"\x00\x00\x0a\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="unknown IDX dtype code 0x0A") as info:
        read_idx(path)
    assert "0x08" in str(info.value) and str(path) in str(info.value)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "tr.idx"
    write_idx(path, torch.arange(4, dtype=torch.uint8))
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(ValueError, match="4 trailing bytes") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "c.idx.gz"
    write_idx(path, torch.arange(1000, dtype=torch.int32))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # damage the compressed data
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.idx.gz"
    write_idx(path, torch.arange(1000, dtype=torch.int32))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="corrupt gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gz_suffix_on_plain_file(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="corrupt gzip"):
        read_idx(path)
