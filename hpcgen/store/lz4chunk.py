"""GIL-free decode of chunks written by the HDF5 LZ4 filter (the store's default codec).

h5py holds the GIL while HDF5 runs its filters, so threads reading through it decode one at a time. The
store's readers instead fetch a compressed chunk as bytes (h5py's ``read_direct_chunk``, or ``os.preadv`` at
the offset the chunk index gives) and decompress it with the system liblz4 through ctypes, which releases
the GIL: several threads then decode in parallel. The filter's format (hdf5plugin's LZ4, filter id 32004):
a 12-byte header (original size, big-endian uint64; block size, uint32), then per block a big-endian
uint32 compressed size and the block, stored raw when that size equals the block's. Written by hand
because no installed package exposes this framing without HDF5 around it. No h5py import here.
"""
from __future__ import annotations

import struct
from typing import Any

import numpy as np

from hpcgen.errors import InputError

LZ4_FILTER_ID = "32004"  # as h5py spells a filter id
_lz4_state: dict[str, Any] = {}


def _lz4_decompress():
    """``LZ4_decompress_safe`` from the system liblz4 (ctypes: the call releases the GIL), or None."""
    if "fn" not in _lz4_state:
        import ctypes

        fn = None
        # the soname first: find_library runs ``ldconfig -p`` in a subprocess (~5 ms of a short command)
        for name in ("liblz4.so.1", None):
            try:
                if name is None:
                    import ctypes.util

                    name = ctypes.util.find_library("lz4") or "liblz4.so"
                lib = ctypes.CDLL(name)
                fn = lib.LZ4_decompress_safe
            except (OSError, AttributeError):
                fn = None
            if fn is not None:
                fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
                fn.restype = ctypes.c_int
                break
        _lz4_state["fn"] = fn
    return _lz4_state["fn"]


def lz4_available() -> bool:
    """The system liblz4 could be loaded: LZ4 chunks can be decoded here, without HDF5."""
    return _lz4_decompress() is not None


def decode_lz4_chunk(raw: bytes | bytearray, out: np.ndarray) -> bool:
    """Decode one chunk written by the HDF5 LZ4 filter into ``out`` (C-contiguous, its exact size).

    Returns False (``out`` unspecified) when liblz4 is unavailable or the header does not match ``out``;
    raises :class:`InputError` on a corrupt chunk.
    """
    fn = _lz4_decompress()
    if fn is None or len(raw) < 12 or not out.flags.c_contiguous:
        return False
    total, block = struct.unpack_from(">QI", raw, 0)
    if total != out.nbytes or block == 0:
        return False
    src = np.frombuffer(raw, dtype=np.uint8)
    dst = out.reshape(-1).view(np.uint8)
    pos, done = 12, 0
    while done < total:
        n = min(block, total - done)
        if pos + 4 > len(raw):
            raise InputError("corrupt LZ4 chunk (truncated)", None)
        (csize,) = struct.unpack_from(">I", raw, pos)
        pos += 4
        if pos + csize > len(raw):
            raise InputError("corrupt LZ4 chunk (truncated)", None)
        if csize == n:
            dst[done:done + n] = src[pos:pos + n]
        elif fn(src.ctypes.data + pos, dst.ctypes.data + done, csize, n) != n:
            raise InputError("corrupt LZ4 chunk", None)
        pos += csize
        done += n
    return True
