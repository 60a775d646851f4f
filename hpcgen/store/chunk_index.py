"""The store's chunk index (``STORE/chunks.json``): where each shard's hard-call chunks lie in its file.

Every pass over the store (QC counts, KING, PCA) reads the same small datasets of each shard: the
bit-planes, the haploid plane, the row flags and the carrier lists (docs/store.md). Through h5py that costs
about 0.6 ms of GIL-held calls per shard (open the file and four datasets, look their chunks up), more than
decoding them at 5,000 samples, and reader threads take turns. Once a shard is written its chunks do not
move, so their byte ranges are listed here when the manifest is written (kerchunk does the same for HDF5
files read as zarr), and a reader fetches them with ``os.preadv`` and decodes them with liblz4: no HDF5
call, no GIL. Written by hand: all it must know is five datasets chunked along their first axis, with
LZ4 or no filter; a dependency (kerchunk, zarr, fsspec) would bring far more than that.

A reader trusts the file only when its SHA-256 is the manifest's, and a shard's entry only while the
shard file has the size and modification time it had (a shard changed in place, or copied without its
times, is read through h5py as before, as is any dataset this does not describe).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_write_text, sha256_file
from hpcgen.store import schema as S
from hpcgen.store.lz4chunk import LZ4_FILTER_ID, decode_lz4_chunk

FORMAT = "hpcgen.chunk_index/1"
FILE = "chunks.json"
# what every pass over the store reads, shard by shard
INDEXED = (S.HARDCALL, S.HARDCALL_HAPLOID, S.HARDCALL_EXACT, S.HARDCALL_SPARSE_END, S.HARDCALL_SPARSE)
log = logging.getLogger("hpcgen.store")


def index_shard(path: str | os.PathLike) -> dict[str, Any]:
    """One shard's entry: its file size and, per indexed dataset it holds, where its chunks lie.

    A dataset is described only when it is chunked along its first axis alone (a chunk holds whole rows)
    and its filters are LZ4 alone or none.

    Returns
    -------
    dict
        ``{"size": bytes, "mtime_ns": int, "datasets": {name: {"shape": [...], "dtype": "<u8", "chunk_rows": int,
        "lz4": bool, "chunks": [[first row, byte offset, stored bytes, filter mask], ...]}}}``, chunks in
        row order; chunks never written (fill value) are absent.
    """
    h5py = S.h5py_module()

    path = Path(path)
    datasets: dict[str, Any] = {}
    fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY)
    try:
        for name in INDEXED:
            try:
                did = h5py.h5d.open(fid, name.encode())
            except KeyError:
                continue
            plist = did.get_create_plist()
            if plist.get_layout() != h5py.h5d.CHUNKED:
                continue
            chunk, shape = tuple(plist.get_chunk()), tuple(did.shape)
            filters = [str(plist.get_filter(k)[0]) for k in range(plist.get_nfilters())]
            if chunk[1:] != shape[1:] or filters not in ([], [LZ4_FILTER_ID]):
                continue
            chunks: list[list[int]] = []
            did.chunk_iter(lambda info: chunks.append(
                [int(info.chunk_offset[0]), int(info.byte_offset), int(info.size), int(info.filter_mask)]))
            datasets[name] = {"shape": list(shape), "dtype": did.dtype.str, "chunk_rows": int(chunk[0]),
                              "lz4": bool(filters), "chunks": sorted(chunks)}
    finally:
        fid.close()
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "datasets": datasets}


def write_chunk_index(store: str | os.PathLike, shards: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Write ``STORE/chunks.json`` for the shards (the manifest's entries, store order); return its manifest entry.

    Returns
    -------
    dict
        ``{"file": "chunks.json", "sha256": hex, "n_shards": int}``.
    """
    entries = [index_shard(Path(store) / s["file"]) for s in shards]
    path = atomic_write_text(Path(store) / FILE, json.dumps({"format": FORMAT, "shards": entries}) + "\n")
    return {"file": FILE, "sha256": sha256_file(path), "n_shards": len(entries)}


def load_chunk_index(store: str | os.PathLike, manifest: dict[str, Any]) -> list["ShardChunks"] | None:
    """The chunk index of a store, one :class:`ShardChunks` per shard, or None (absent, or not this store's)."""
    entry = manifest.get("chunk_index")
    if not entry:
        return None
    path = Path(store) / entry["file"]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        log.warning("chunk index %s unreadable (%s): reading through HDF5", path, exc)
        return None
    import hashlib

    if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
        log.warning("chunk index %s is not this store's (SHA-256): reading through HDF5", path)
        return None
    doc = json.loads(raw)
    if doc.get("format") != FORMAT or len(doc["shards"]) != len(manifest["shards"]):
        return None
    stale: list[bool] = []  # shared: the first shard found changed warns, once per store
    return [ShardChunks(Path(store) / s["file"], e, stale) for s, e in zip(manifest["shards"], doc["shards"])]


_thread_buffers = threading.local()


def _raw_buffer(size: int) -> memoryview:
    """A reused buffer of ``size`` bytes for one chunk's stored bytes, one per thread: a fresh bytearray per
    chunk is fresh pages (a chunk is 0.1-3 MB), and faulting them in costs more than the decode here."""
    buf = getattr(_thread_buffers, "raw", None)
    if buf is None or len(buf) < size:
        buf = _thread_buffers.raw = bytearray(max(size, 1 << 20))
    return memoryview(buf)[:size]


class ShardChunks:
    """Where one shard's indexed datasets lie, and rows of them read by ``os.preadv`` and liblz4.

    Parameters
    ----------
    path : Path
        The shard file.
    entry : dict
        Its :func:`index_shard` entry.
    stale : list
        Shared by a store's shards: not empty once one of them was found changed (one warning per store).
    """

    def __init__(self, path: Path, entry: dict[str, Any], stale: list[bool] | None = None):
        self.path = path
        self.stat = (int(entry["size"]), int(entry["mtime_ns"]))
        self.datasets = entry["datasets"]
        self._valid: bool | None = None
        self._stale = [] if stale is None else stale
        self._rows: dict[str, dict[int, list[int]]] = {}

    def valid(self) -> bool:
        """The shard file has the size and modification time it had when indexed (checked once)."""
        if self._valid is None:
            try:
                st = os.stat(self.path)
                self._valid = (st.st_size, st.st_mtime_ns) == self.stat
            except OSError:
                self._valid = False
            if not self._valid and not self._stale:
                self._stale.append(True)
                log.warning("%s changed since the store's chunk index was written (or was copied without its "
                            "times): such shards are read through HDF5, more slowly; `hpcgen store reindex` checks "
                            "the shards and rewrites the index", self.path)
        return self._valid

    def has(self, name: str) -> bool:
        return name in self.datasets

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.datasets[name]["shape"])

    def read(self, fd: int, name: str, a: int, b: int, out: np.ndarray) -> bool:
        """``out[:] = dataset[a:b]`` from the file open as ``fd``; False (``out`` partly written) when the
        index cannot say (dataset not described, a chunk never written, a header that does not match).

        Parameters
        ----------
        fd : int
            The shard file, open for reading.
        name : str
            One of INDEXED.
        a, b : int
            Rows (first axis), ``0 <= a <= b <= shape[0]``.
        out : ndarray
            C-contiguous, the dataset's dtype, shape ``(b - a,) + shape[1:]``.
        """
        d = self.datasets.get(name)
        if d is None:
            return False
        shape, cr = tuple(d["shape"]), int(d["chunk_rows"])
        dtype = np.dtype(d["dtype"])
        if out.dtype != dtype or out.shape != (b - a, *shape[1:]) or not out.flags.c_contiguous or not 0 <= a <= b <= shape[0]:
            return False
        rows = self._rows.get(name)
        if rows is None:
            rows = self._rows[name] = {c[0]: c for c in d["chunks"]}
        scratch = None
        for c0 in range((a // cr) * cr, b, cr):
            chunk = rows.get(c0)
            if chunk is None:
                return False
            _, offset, size, mask = chunk
            r0, r1 = max(a, c0), min(b, c0 + cr)
            # a chunk is stored whole even where it passes the dataset's end: decode aside unless all of it is wanted
            whole = r0 == c0 and r1 == c0 + cr
            if not whole and scratch is None:
                scratch = np.empty((cr, *shape[1:]), dtype=dtype)
            dest = out[r0 - a:r1 - a] if whole else scratch
            if d["lz4"] and mask == 0:
                raw = _raw_buffer(size)
                if os.preadv(fd, [raw], offset) != size:
                    return False
                try:
                    if not decode_lz4_chunk(raw, dest):
                        return False
                except InputError as exc:  # a damaged chunk: name it (re-ingest, or restore the file)
                    raise InputError(exc.message, self.path, f"{name} rows {c0}-{c0 + cr - 1}") from None
            elif size == dest.nbytes:  # no filter (or HDF5 skipped an optional one that failed): straight into place
                if os.preadv(fd, [dest.reshape(-1).view(np.uint8)], offset) != size:
                    return False
            else:
                return False
            if not whole:
                out[r0 - a:r1 - a] = scratch[r0 - c0:r1 - c0]
        return True
