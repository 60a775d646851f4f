"""Read a genotype store: numpy arrays, Dask arrays across shards, region queries.

    store = GenotypeStore.open("out/store")
    g = store.genotypes("chr22:1-20000000")        # int8 (n_variants, n_samples, ploidy)
    gd = store.genotypes_dask()                       # lazily, one shard per group of variant chunks
"""
from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from hpcgen.errors import InputError
from hpcgen.store import schema as S
from hpcgen.store.lz4chunk import LZ4_FILTER_ID, decode_lz4_chunk, lz4_available
from hpcgen.store.manifest import read_manifest
from hpcgen.store.regions import normalize_contig, parse_region  # noqa: F401  (re-exported)
from hpcgen.store.schema import ShardInfo

if TYPE_CHECKING:
    import pandas as pd


def _held_range(flags: np.ndarray, a: int) -> tuple[int, int]:
    """Planes rows of rows ``a:`` of ``flags`` (a shard's exact flags from its first row), in a store where the
    listed rows (EXACT_SPARSE) have none: (first, end)."""
    from hpcgen.kernels.layout import EXACT_SPARSE

    first = int(np.count_nonzero(flags[:a] != EXACT_SPARSE))
    return first, first + int(np.count_nonzero(flags[a:] != EXACT_SPARSE))


class _IndexedShard:
    """One shard's planes datasets as :func:`_hardcall_parts` reads them: through the chunk index."""

    def __init__(self, chunks: Any, fd: int):
        self.chunks, self.fd = chunks, fd

    def has(self, name: str) -> bool:
        return self.chunks.has(name)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.chunks.shape(name)

    def read(self, name: str, a: int, b: int, out: np.ndarray) -> bool:
        return self.chunks.read(self.fd, name, a, b, out)


class _Hdf5Shard:
    """The same through HDF5's low-level API (planes: chunk lookup, ``os.preadv`` and liblz4)."""

    def __init__(self, h5py: Any, fid: Any):
        self.h5py, self.fid, self._ids = h5py, fid, {}

    def _id(self, name: str) -> Any:
        if name not in self._ids:
            try:
                self._ids[name] = self.h5py.h5d.open(self.fid, name.encode())
            except KeyError:
                self._ids[name] = None
        return self._ids[name]

    def has(self, name: str) -> bool:
        return self._id(name) is not None

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._id(name).shape)

    def read(self, name: str, a: int, b: int, out: np.ndarray) -> bool:
        did = self._id(name)
        if did is None:  # never created: reads as its fill value (the haploid plane of a shard without haploid calls)
            out[...] = 0
            return True
        if b <= a:
            return True
        if out.ndim == 3:  # planes: whole-row LZ4 chunks without the GIL where the layout allows
            if not _lz4_whole_rows(self.fid, did, a, b, out):
                read_rows_fast(self.h5py.Dataset(did), a, b, out)
        else:
            out[...] = self.h5py.Dataset(did)[a:b]
        return True


def _hardcall_parts(src: Any, a: int, b: int, out: np.ndarray | None, listed: bool) -> tuple | None:
    """Rows ``a:b`` of one shard's planes, flags and carrier lists from ``src`` (:class:`_IndexedShard` or
    :class:`_Hdf5Shard`): (bits (b - a rows, the first n_held read), n_held, hap, exact, (offsets, carriers)),
    or None without planes or when ``src`` cannot read them.

    In a store of version 3 the listed rows have no planes rows, so the held rows before ``a`` place the
    range's planes. With ``listed`` the carriers are read into ``bits``' rows after the held ones when they
    fit, which they do in a version 3 store (a listed row has at most 2 carriers of 4 bytes per 64 samples,
    a planes row takes 16 bytes): a reused ``out`` serves them too, and fresh memory costs more than
    decoding into it on these machines.
    """
    from hpcgen.kernels.layout import EXACT_HAPLOID, EXACT_SPARSE, no_sparse_rows

    if not (src.has(S.HARDCALL) and src.has(S.HARDCALL_EXACT)):
        return None
    n = max(0, b - a)
    shape = src.shape(S.HARDCALL)
    nw = shape[2]
    bits = np.empty((n, 2, nw), dtype=np.uint64) if out is None else out.reshape(-1)[:n * 2 * nw].reshape(n, 2, nw)
    compact = shape[0] != src.shape(S.HARDCALL_EXACT)[0]
    lo = 0 if compact else a
    flags = np.empty(b - lo, dtype=np.uint8)
    if not src.read(S.HARDCALL_EXACT, lo, b, flags):
        return None
    exact = flags[a - lo:]
    p0, p1 = _held_range(flags, a - lo) if compact else (a, b)
    if not src.read(S.HARDCALL, p0, p1, bits[:p1 - p0]):
        return None
    hap = np.zeros((0, nw), dtype=np.uint64)
    if (exact == EXACT_HAPLOID).any():  # the chunk index not describing the plane reads as False: HDF5 then
        hap = np.empty((n, nw), dtype=np.uint64)
        if not src.read(S.HARDCALL_HAPLOID, a, b, hap.reshape(n, 1, nw)):
            return None
    sparse = no_sparse_rows(n)
    if (exact == EXACT_SPARSE).any():
        lo = max(a - 1, 0)
        ends = np.empty(b - lo, dtype=np.int64)
        if not src.read(S.HARDCALL_SPARSE_END, lo, b, ends):
            return None
        offsets = np.concatenate([[0], ends]) if a == 0 else ends
        n_carriers = int(offsets[-1] - offsets[0])
        spare = bits[p1 - p0:].reshape(-1).view(np.uint32)
        carriers = spare[:n_carriers] if listed and spare.size >= n_carriers else np.empty(n_carriers, np.uint32)
        if not src.read(S.HARDCALL_SPARSE, int(offsets[0]), int(offsets[-1]), carriers):
            return None
        sparse = (offsets - offsets[0], carriers)
    return bits, p1 - p0, hap, exact, sparse


def read_rows_fast(ds, a: int, b: int, out: np.ndarray) -> None:
    """``out[:] = ds[a:b]`` for a chunked 3-D dataset, decoding LZ4 chunks without the GIL.

    ``out`` : ds.dtype, shape (b - a,) + ds.shape[1:]. Falls back to h5py per chunk (or for the whole slab
    when the dataset is not LZ4-compressed alone).
    """
    chunks = ds.chunks
    if chunks is None or ds.ndim != 3 or list(ds._filters) != [LZ4_FILTER_ID] or not lz4_available():
        ds.read_direct(out, np.s_[a:b], np.s_[0:b - a])
        return
    cv, cs, cp = chunks
    n_smp, ploidy = ds.shape[1], ds.shape[2]
    whole_rows = cs == n_smp and cp == ploidy and out.flags.c_contiguous  # a chunk is a run of whole rows
    scratch = None
    for c0 in range((a // cv) * cv, b, cv):
        r0, r1 = max(a, c0), min(b, c0 + cv, ds.shape[0])
        for s0 in range(0, n_smp, cs):
            s1 = min(n_smp, s0 + cs)
            for p0 in range(0, ploidy, cp):
                p1 = min(ploidy, p0 + cp)
                dest = out[r0 - a:r1 - a, s0:s1, p0:p1]
                direct = whole_rows and r0 == c0 and r1 == c0 + cv  # decode straight into out: no copy
                if not direct and scratch is None:
                    scratch = np.empty(chunks, dtype=ds.dtype)
                ok = False
                try:
                    mask, raw = ds.id.read_direct_chunk((c0, s0, p0))
                    ok = mask == 0 and decode_lz4_chunk(raw, dest if direct else scratch)
                except (KeyError, RuntimeError, ValueError, OSError):
                    ok = False
                if ok and not direct:
                    np.copyto(dest, scratch[r0 - c0:r1 - c0, : s1 - s0, : p1 - p0])
                elif not ok:
                    dest[...] = ds[r0:r1, s0:s1, p0:p1]

def _lz4_whole_rows(fid, did, a: int, b: int, out: np.ndarray) -> bool:
    """``out[:] = rows a:b`` of a dataset through HDF5's low-level API, or False (``out`` untouched) to fall back.

    For the hard-call planes, read once per block by every pass over the store: the chunks' byte ranges
    come from the file's chunk index, the compressed bytes are read with ``os.preadv`` and decoded with
    liblz4; both release the GIL, so threads read in parallel. ``h5py.File`` and its dataset objects cost
    about 1 ms per shard under the GIL, more than the read itself at 5,000 samples.
    Applies when every chunk holds whole rows (all of axes 1 and 2) and LZ4 is the only filter.
    """
    h5py = S.h5py_module()
    if not lz4_available() or not out.flags.c_contiguous:
        return False
    plist = did.get_create_plist()
    if plist.get_layout() != h5py.h5d.CHUNKED or plist.get_nfilters() != 1 or str(plist.get_filter(0)[0]) != LZ4_FILTER_ID:
        return False
    chunk = plist.get_chunk()
    shape = did.shape
    if len(shape) != 3 or tuple(chunk[1:]) != tuple(shape[1:]) or out.shape != (b - a, *shape[1:]):
        return False
    cv = chunk[0]
    fd = fid.get_vfd_handle()
    scratch = None
    for c0 in range((a // cv) * cv, b, cv):
        info = did.get_chunk_info_by_coord((c0, 0, 0))
        if info.byte_offset is None or info.filter_mask != 0:
            return False  # an unwritten chunk (fill value) or a skipped filter: h5py knows what to do
        r0, r1 = max(a, c0), min(b, c0 + cv, shape[0])
        raw = bytearray(info.size)
        if os.preadv(fd, [raw], info.byte_offset) != info.size:
            return False
        if r0 == c0 and r1 - r0 == min(cv, shape[0] - c0) and c0 + cv <= shape[0]:
            ok = decode_lz4_chunk(raw, out[r0 - a:r1 - a])
        else:  # a partial chunk (or the last, shorter one, stored at full chunk size): decode aside, copy rows
            if scratch is None:
                scratch = np.empty(chunk, dtype=out.dtype)
            ok = decode_lz4_chunk(raw, scratch)
            if ok:
                out[r0 - a:r1 - a] = scratch[r0 - c0:r1 - c0]
        if not ok:
            return False
    return True


def _str_column(ds, a: int, b: int) -> np.ndarray:
    """A variable-length UTF-8 column as an object array of str (one read; bulk decode, fast for ASCII)."""
    raw = ds[a:b]  # object array of bytes
    if raw.size == 0:
        return raw.astype(object)
    if b"\x00" in b"".join(raw):  # numpy's fixed-width bytes would drop trailing NULs
        return np.array([x.decode("utf-8") for x in raw], dtype=object)
    try:
        # most columns are ASCII: one numpy conversion instead of a Python decode per value
        return raw.astype(np.bytes_).astype(np.str_).astype(object)
    except (UnicodeDecodeError, UnicodeEncodeError):
        return np.array([x.decode("utf-8") for x in raw], dtype=object)


class _ShardArray:
    """A picklable, lazily opened view of one shard dataset, padded to the store's ploidy (for Dask)."""

    def __init__(self, path: Path, dataset: str, shape: tuple[int, ...], dtype: Any, ploidy: int | None = None):
        self.path, self.dataset = str(path), dataset
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)
        self.ploidy = ploidy

    def __getitem__(self, key: Any) -> np.ndarray:
        h5py = S.h5py_module()
        key = key if isinstance(key, tuple) else (key,)
        with h5py.File(self.path, "r") as h5:
            ds = h5[self.dataset]
            if self.ploidy is None:
                return ds[key]
            head = key[:2]
            raw = ds[head] if ds.shape[0] else np.empty((0,) + ds.shape[1:], dtype=ds.dtype)
            raw = raw if raw.ndim == 3 else raw.reshape(raw.shape[:-1] + (-1,))
        if raw.shape[-1] < self.ploidy:
            pad = np.full(raw.shape[:-1] + (self.ploidy - raw.shape[-1],), S.ABSENT, dtype=np.int8)
            raw = np.concatenate([raw, pad], axis=-1)
        return raw[(slice(None),) * (raw.ndim - 1) + key[2:3]] if len(key) > 2 else raw


_shared_stores: dict[str, tuple[Any, "GenotypeStore"]] = {}  # oldest first
_SHARED_MAX = 8
_shared_lock = threading.Lock()


class GenotypeStore:
    """A complete genotype store (see docs/store.md).

    Attributes
    ----------
    path : Path
    manifest : dict
    samples : ndarray of str, shape (n_samples,)
        Pseudonymized sample IDs.
    n_variants, n_samples, ploidy : int
    build : str
    shards : list of ShardInfo
    """

    def __init__(self, path: str | os.PathLike, manifest: dict[str, Any]):
        self.path = Path(path)
        self.manifest = manifest
        self.shards = [ShardInfo.from_dict(d) for d in manifest["shards"]]
        self.samples = np.asarray(manifest["samples"], dtype=str)
        self.n_samples = int(manifest["n_samples"])
        self.n_variants = int(manifest["n_variants"])
        self.ploidy = int(manifest["ploidy"])
        self.build = manifest["build"]
        self.fields = list(manifest.get("fields", []))
        self.chunk_variants = int(manifest["store"]["chunk_variants"])
        self.chunk_samples = int(manifest["store"]["chunk_samples"])

    @classmethod
    def open(cls, path: str | os.PathLike) -> "GenotypeStore":
        """Open a store; :class:`InputError` if it is incomplete, of another schema, or misses a shard."""
        manifest = read_manifest(path)
        store = cls(path, manifest)
        for shard in store.shards:
            if not (store.path / shard.file).is_file():
                raise InputError(f"store shard missing: {shard.file}", path)
        return store

    @classmethod
    def open_shared(cls, path: str | os.PathLike) -> "GenotypeStore":
        """:meth:`open`, one instance per process while the manifest file is unchanged (same time and size).

        For the tasks of a pass (a PCA product, a KING block, a Dask count task), which open the store where they
        run: parsing the manifest and the chunk index took ~3.5 ms per task at 5,000 samples, about 4 s of
        GIL-held work over the 1,270 tasks of a PCA. The instance is shared by threads: its readers keep no
        per-call state on it.
        """
        key = os.path.abspath(path)
        try:
            st = os.stat(os.path.join(key, S.MANIFEST))
        except OSError:
            return cls.open(path)  # raises the input error of an incomplete store
        stamp = (st.st_mtime_ns, st.st_size)
        with _shared_lock:
            hit = _shared_stores.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        store = cls.open(path)
        with _shared_lock:
            _shared_stores.pop(key, None)
            while len(_shared_stores) >= _SHARED_MAX:  # a long-lived Dask worker may see many stores
                _shared_stores.pop(next(iter(_shared_stores)))
            _shared_stores[key] = (stamp, store)
        return store

    def __repr__(self) -> str:
        return f"GenotypeStore({str(self.path)!r}: {self.n_variants} variants x {self.n_samples} samples, {self.build})"

    # ---- variants -------------------------------------------------------------------------------
    @cached_property
    def _index(self) -> "pd.DataFrame | None":
        """The variant index (one Parquet file for all shards), or None: then the shards are read."""
        from hpcgen.store.variant_index import read_variant_index

        return read_variant_index(self.path, self.manifest)

    @cached_property
    def _offsets(self) -> np.ndarray:
        """First store row of every shard, and the total: int64 (n_shards + 1,)."""
        return np.concatenate([[0], np.cumsum([s.n_variants for s in self.shards])]).astype(np.int64)

    @cached_property
    def _positions(self) -> list[np.ndarray]:
        if self._index is not None:
            pos = self._index["pos"].to_numpy()
            return [pos[self._offsets[i]:self._offsets[i + 1]] for i in range(len(self.shards))]
        h5py = S.h5py_module()
        out = []
        for shard in self.shards:
            with h5py.File(self.path / shard.file, "r") as h5:
                out.append(h5[S.VARIANT_FIELDS["pos"][0]][:])
        return out

    def _rows(self, region: str | Sequence | None) -> list[tuple[int, int, int]]:
        """(shard index, first row, end row) for every shard overlapping ``region``."""
        reg = parse_region(region)
        rows = []
        for i, shard in enumerate(self.shards):
            if reg is None:
                rows.append((i, 0, shard.n_variants))
                continue
            chrom, start, end = reg
            if shard.chrom != chrom or shard.end < start or shard.start > end:
                continue
            pos = self._positions[i]
            a, b = int(np.searchsorted(pos, start, "left")), int(np.searchsorted(pos, end, "right"))
            if b > a:
                rows.append((i, a, b))
        return rows

    def variants(self, region: str | Sequence | None = None) -> "pd.DataFrame":
        """Variant table: chrom, pos (1-based), id, ref, alt, qual, filter, shard, index_in_shard."""
        import pandas as pd  # here, not at module level: ingest workers never need it

        from hpcgen.store.variant_index import read_shard_variants

        index = self._index
        if index is not None:
            if region is None:
                return index.copy()
            rows = [np.arange(self._offsets[i] + a, self._offsets[i] + b) for i, a, b in self._rows(region)]
            if rows:
                return index.iloc[np.concatenate(rows)].reset_index(drop=True)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in (*S.VARIANT_FIELDS, "shard", "index_in_shard")}
        for i, a, b in self._rows(region):
            for name, values in read_shard_variants(self.path / self.shards[i].file, a, b).items():
                parts[name].append(values)
            parts["shard"].append(np.full(b - a, i, dtype=np.int32))
            parts["index_in_shard"].append(np.arange(a, b, dtype=np.int64))
        if not parts["shard"]:
            cols = {n: pd.Series(dtype=object if dt is str else dt) for n, (_, dt) in S.VARIANT_FIELDS.items()}
            return pd.DataFrame({**cols, "shard": pd.Series(dtype=np.int32), "index_in_shard": pd.Series(dtype=np.int64)})
        # one frame from whole columns (not one per shard then concat: pandas overhead per shard)
        return pd.DataFrame({name: np.concatenate(arrs) for name, arrs in parts.items()})

    # ---- numpy -------------------------------------------------------------------------------------
    def _read(self, dataset: str, region, trailing: tuple[int, ...], dtype, fill) -> np.ndarray:
        h5py = S.h5py_module()
        rows = self._rows(region)
        out = np.full((sum(b - a for _, a, b in rows), self.n_samples) + trailing, fill, dtype=dtype)
        k = 0
        for i, a, b in rows:
            if b == a:
                continue
            with h5py.File(self.path / self.shards[i].file, "r") as h5:
                if dataset not in h5:
                    k += b - a
                    continue
                ds = h5[dataset]
                if trailing:
                    ds.read_direct(out, np.s_[a:b, :, : ds.shape[2]], np.s_[k : k + b - a, :, : ds.shape[2]])
                else:
                    ds.read_direct(out, np.s_[a:b], np.s_[k : k + b - a])
            k += b - a
        return out

    def read_genotype_rows(self, shard: int, a: int, b: int) -> np.ndarray:
        """Rows ``a:b`` of one shard's genotypes, int8 (b - a, n_samples, ploidy), padded to the store's ploidy.

        Thread-friendly: LZ4 chunks are decoded with the GIL released (see :func:`read_rows_fast`), so
        several threads reading different rows decode in parallel.
        """
        h5py = S.h5py_module()
        shape = (max(0, b - a), self.n_samples, self.ploidy)
        if b <= a:
            return np.empty(shape, dtype=np.int8)
        with h5py.File(self.path / self.shards[shard].file, "r") as h5:
            ds = h5[S.GENOTYPE]
            if ds.ndim == 3 and ds.shape[2] == self.ploidy:
                out = np.empty(shape, dtype=np.int8)  # every element is written (no fill pass)
                read_rows_fast(ds, a, b, out)
            else:  # another layout (e.g. a haploid shard): as the Dask view reads it
                out = np.empty(shape, dtype=np.int8)
                out[...] = _ShardArray(self.path / self.shards[shard].file, S.GENOTYPE, out.shape, np.int8,
                                       self.ploidy)[a:b]
        return out

    def read_hardcall_rows(self, shard: int, a: int, b: int, out: np.ndarray | None = None,
                           listed: bool = False) -> tuple[np.ndarray, ...] | None:
        """Rows ``a:b`` of one shard's hard-call bit-planes, or None when the shard has none.

        Parameters
        ----------
        out : ndarray, uint64, optional
            A buffer for ``bits`` (C order, at least ``(b - a) * 2 * n_words`` elements): callers that read
            many blocks reuse a few buffers instead of faulting in fresh memory for each.
        listed : bool
            Leave the rows the store lists by their carriers (``exact`` EXACT_SPARSE) as the store holds them
            and return their lists too (the counting pass reads them in time proportional to their carriers);
            by default their planes are filled in and they read as EXACT_DIPLOID, like any other row.

        Returns
        -------
        bits : ndarray, uint64, shape (b - a, 2, n_words)
            See :mod:`hpcgen.kernels.hardcalls` (LZ4 decoded without the GIL, like :meth:`read_genotype_rows`);
            a view of ``out`` when given. With ``listed``, the held rows' only (shape (n_held, 2, n_words): every
            row but the listed ones, in order), or, from a store of schema version 2, every row's (a listed
            one's zero): ``kernels.hardcalls.hardcall_counts`` takes either.
        hap : ndarray, uint64, shape (b - a, n_words), or (0, n_words) when no row of the range has a haploid call
        exact : ndarray, uint8, shape (b - a,)
            How each row is held (``kernels.layout.EXACT_*``); read EXACT_NO rows with :meth:`read_genotype_rows`.
        offsets, carriers : ndarray, int64 (b - a + 1,) and uint32, only with ``listed``
            Row ``v``'s carriers are ``carriers[offsets[v]:offsets[v + 1]]`` (``sample << 2 | call code``).
        """
        from hpcgen.kernels.layout import EXACT_SPARSE

        parts = self._hardcall_indexed(shard, a, b, out, listed)
        if parts is None:
            parts = self._hardcall_h5py(shard, a, b, out)
        if parts is None:
            return None
        bits, n_held, hap, exact, sparse = parts
        if listed:
            return bits[:n_held], hap, exact, *sparse
        if n_held < len(exact) or (exact == EXACT_SPARSE).any():
            from hpcgen.aot import kernel

            kernel("fill_sparse_rows")(bits, n_held, exact, *sparse)
        return bits, hap, exact

    @cached_property
    def _chunk_index(self) -> list | None:
        """Where each shard's planes, flags and carrier lists lie (:mod:`hpcgen.store.chunk_index`), or None."""
        from hpcgen.store.chunk_index import load_chunk_index

        return load_chunk_index(self.path, self.manifest)

    def _hardcall_indexed(self, shard: int, a: int, b: int, out: np.ndarray | None,
                          listed: bool = False) -> tuple | None:
        """:meth:`read_hardcall_rows`'s arrays through the chunk index (no HDF5 call, no GIL), or None when
        the index does not describe them (:func:`_hardcall_parts`)."""
        index = self._chunk_index
        chunks = index[shard] if index is not None else None
        if chunks is None or not chunks.valid():
            return None
        fd = os.open(chunks.path, os.O_RDONLY)
        try:
            return _hardcall_parts(_IndexedShard(chunks, fd), a, b, out, listed)
        finally:
            os.close(fd)

    def _hardcall_h5py(self, shard: int, a: int, b: int, out: np.ndarray | None) -> tuple | None:
        """:meth:`_hardcall_indexed` through HDF5 (stores without a chunk index), or None without planes."""
        h5py = S.h5py_module()
        fid = h5py.h5f.open(str(self.path / self.shards[shard].file).encode(), h5py.h5f.ACC_RDONLY)
        try:
            return _hardcall_parts(_Hdf5Shard(h5py, fid), a, b, out, listed=False)
        finally:
            fid.close()

    def genotypes(self, region: str | Sequence | None = None) -> np.ndarray:
        """Genotype calls, int8 (n_variants, n_samples, ploidy): allele index, -1 missing, -2 absent."""
        return self._read(S.GENOTYPE, region, (self.ploidy,), np.int8, S.ABSENT)

    def phased(self, region: str | Sequence | None = None) -> np.ndarray:
        """Phasing flags, bool (n_variants, n_samples); False for haploid and missing calls."""
        return self._read(S.PHASED, region, (), bool, False)

    def field(self, name: str, region: str | Sequence | None = None) -> np.ndarray:
        """A per-call field (``"dp"`` or ``"gq"``), int32 (n_variants, n_samples), -1 missing."""
        if name not in self.fields:
            raise InputError(f"field {name!r} is not in this store (stored: {', '.join(self.fields) or 'none'})", self.path)
        return self._read(S.CALL_FIELDS[name], region, (), np.int32, -1)

    def query(self, chrom: str, start: int, end: int) -> tuple["pd.DataFrame", np.ndarray]:
        """Variants and genotypes in ``chrom:start-end`` (1-based inclusive)."""
        region = (chrom, start, end)
        return self.variants(region), self.genotypes(region)

    # ---- dask ---------------------------------------------------------------------------------------
    def _dask(self, dataset: str, trailing: tuple[int, ...], dtype, fill):
        import dask.array as da

        parts = []
        for shard in self.shards:
            if shard.n_variants == 0:
                continue
            shape = (shard.n_variants, self.n_samples) + trailing
            chunks = (self.chunk_variants, self.chunk_samples) + trailing
            path = self.path / shard.file
            if dataset in (S.GENOTYPE, S.PHASED) or dataset.split("/")[-1] in shard.fields:
                src = _ShardArray(path, dataset, shape, dtype, trailing[0] if trailing else None)
                parts.append(da.from_array(src, chunks=chunks, name=f"hpcgen-{dataset}-{shard.sha256[:16]}",
                                           lock=False, asarray=True, meta=np.empty((0,) * len(shape), dtype=dtype)))
            else:
                parts.append(da.full(shape, fill, dtype=dtype, chunks=chunks))
        if not parts:
            return da.full((0, self.n_samples) + trailing, fill, dtype=dtype)
        return da.concatenate(parts, axis=0)

    def genotypes_dask(self):
        """Genotypes as a dask array, int8 (n_variants, n_samples, ploidy), chunked as stored."""
        return self._dask(S.GENOTYPE, (self.ploidy,), np.int8, S.ABSENT)

    def phased_dask(self):
        """Phasing flags as a dask array, bool (n_variants, n_samples)."""
        return self._dask(S.PHASED, (), bool, False)

    def field_dask(self, name: str):
        """A per-call field as a dask array, int32 (n_variants, n_samples), -1 missing."""
        if name not in self.fields:
            raise InputError(f"field {name!r} is not in this store", self.path)
        return self._dask(S.CALL_FIELDS[name], (), np.int32, -1)

    def verify(self, indexes: bool = True) -> list[str]:
        """Files (shards, and with ``indexes`` the variant index and chunk index) whose SHA-256 differs from the
        manifest's (empty when the store is intact)."""
        from hpcgen.fsutil import sha256_file

        bad = [s.file for s in self.shards if sha256_file(self.path / s.file) != s.sha256]
        for entry in (self.manifest.get("variant_index"), self.manifest.get("chunk_index")) if indexes else ():
            if entry and (not (self.path / entry["file"]).is_file() or sha256_file(self.path / entry["file"]) != entry["sha256"]):
                bad.append(entry["file"])
        return bad
