"""Reading and writing IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number ``0x00 0x00 TYPE NDIM`` (TYPE 0x08 = uint8), then
NDIM big-endian uint32 dimensions, then the data in row-major order. MNIST ships them
gzipped (``train-images-idx3-ubyte.gz``); both gzipped and raw files are read here.

Only NumPy and the standard library are used, so ``scripts/make_embedded_mnist.py``
can import this file without the compiled extension.
"""

import gzip
import os
import zlib

import numpy as np

__all__ = ["read_idx", "write_idx"]

_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip file ({e})") from None
    return raw


def read_idx(path, ndim=None):
    """Reads an IDX file (raw or gzipped) into a NumPy array.

    ``ndim``, when given, is the number of dimensions the caller expects (3 for MNIST
    images, 1 for labels). ValueError naming the file when the magic number, the
    dimensions or the data length are wrong (a corrupt or truncated download).
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    dtype = _DTYPES.get(data[2])
    if dtype is None:
        raise ValueError(f"{path}: unknown IDX data type 0x{data[2]:02x}")
    nd = data[3]
    if ndim is not None and nd != ndim:
        raise ValueError(f"{path}: expected a {ndim}-D IDX file, the header says {nd}-D")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=nd, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path}: the header announces shape {shape} ({expected} bytes of data) but "
            f"the file holds {len(data) - header} bytes (truncated or corrupt file)"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array, compress=True):
    """Writes a uint8 array as an IDX file (gzipped when ``compress``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    if compress:
        # mtime=0 keeps the output byte-identical from run to run.
        payload = gzip.compress(payload, compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
