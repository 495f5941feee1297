"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header followed by raw big-endian numbers:

    bytes 0-1   two zero bytes (magic number)
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16,
                0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions, d
    next 4*d    each dimension as a big-endian uint32
    rest        the data, in C order, big-endian

Files may be gzip-compressed (detected by the ``.gz`` suffix or by the
gzip magic bytes). Every malformed input raises a ``ValueError`` that names
the file: the reader never returns garbage.
"""

import gzip
import math
import struct
import sys
import zlib
from pathlib import Path

import torch

__all__ = ["read_idx", "write_idx"]

_DTYPES = {
    0x08: torch.uint8,
    0x09: torch.int8,
    0x0B: torch.int16,
    0x0C: torch.int32,
    0x0D: torch.float32,
    0x0E: torch.float64,
}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path) -> torch.Tensor:
    """Return the tensor stored in the IDX file ``path`` (raw or ``.gz``)."""
    path = Path(path)
    raw = _read_bytes(path)
    dtype, shape, offset = _parse_header(raw, path)
    return _decode(raw, offset, dtype, shape, path)


def write_idx(path, tensor) -> None:
    """Write ``tensor`` to ``path`` as IDX, gzip-compressed if it ends in ``.gz``."""
    path = Path(path)
    tensor = torch.as_tensor(tensor)
    if tensor.dtype not in _CODES:
        raise ValueError(
            f"write_idx({str(path)!r}): tensor dtype {tensor.dtype} has no IDX code; "
            f"expected one of {', '.join(str(d) for d in _CODES)}")
    header = bytes([0, 0, _CODES[tensor.dtype], tensor.dim()])
    header += struct.pack(f">{tensor.dim()}I", *tensor.shape)
    data = _to_big_endian(tensor)
    content = header + data
    if path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    path.write_bytes(content)


def _read_bytes(path: Path) -> bytes:
    """Return the (decompressed) bytes of ``path``."""
    raw = path.read_bytes()
    if path.suffix != ".gz" and not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(
            f"{path}: corrupt gzip stream ({err}); expected a complete, "
            f"valid gzip file (delete it and download it again)") from err


def _parse_header(raw: bytes, path: Path):
    """Check the IDX header; return (dtype, shape, offset of the data)."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        found = raw[:4].hex(" ") if raw else "an empty file"
        raise ValueError(
            f"{path}: not an IDX file: expected a magic number starting with "
            f"two zero bytes (00 00 <dtype> <ndim>), found {found}")
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise ValueError(
            f"{path}: unknown IDX dtype code 0x{code:02X}; expected one of {known}")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise ValueError(
            f"{path}: truncated header: expected {offset} bytes for {ndim} "
            f"dimensions, found {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:offset])
    return _DTYPES[code], shape, offset


def _decode(raw: bytes, offset: int, dtype, shape, path: Path) -> torch.Tensor:
    """Turn the big-endian data after the header into a tensor of ``shape``."""
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - offset
    what = f"(shape {tuple(shape)}, {dtype})"
    if found < expected:
        raise ValueError(
            f"{path}: truncated file: expected {expected} bytes of data, "
            f"found {found} {what}")
    if found > expected:
        raise ValueError(
            f"{path}: {found - expected} trailing bytes: expected exactly "
            f"{expected} bytes of data, found {found} {what}")
    if expected == 0:
        return torch.empty(shape, dtype=dtype)
    data = torch.frombuffer(bytearray(memoryview(raw)[offset:]), dtype=torch.uint8)
    if dtype.itemsize > 1 and sys.byteorder == "little":
        data = data.view(-1, dtype.itemsize).flip(1)  # big- to little-endian
    return data.contiguous().view(dtype).reshape(shape)


def _to_big_endian(tensor: torch.Tensor) -> bytes:
    """Return the elements of ``tensor`` as big-endian bytes, in C order."""
    flat = tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8)
    if tensor.dtype.itemsize > 1 and sys.byteorder == "little":
        flat = flat.view(-1, tensor.dtype.itemsize).flip(1)
    flat = flat.contiguous().clone()  # own storage holding exactly these bytes
    return bytes(flat.untyped_storage())
