"""Write one region shard of the genotype store, streaming records through a fixed-size buffer.

A :class:`ShardWriter` holds at most ``chunk_variants`` records in memory (genotypes, phasing, DP/GQ and
variant fields), writes them as whole HDF5 chunks, and renames the file into place only when it is
complete. Peak memory is ``chunk_variants x n_samples x (ploidy + 1 + 4 per call field)`` bytes,
whatever the number of records.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hpcgen.store import schema as S
from hpcgen.store.schema import ShardInfo

import h5py  # noqa: E402  (after schema: HDF5_USE_FILE_LOCKING must be set before libhdf5 loads)

_STR = h5py.string_dtype("utf-8")


class ShardWriter:
    """Append biallelic records to a new shard file; :meth:`close` publishes it atomically.

    Parameters
    ----------
    path
        Final shard path (``STORE/shards/<chrom>_<start>-<end>.h5``); a hidden temporary name beside
        it is written and renamed onto it by :meth:`close`.
    samples
        Pseudonymized sample IDs, shape (n_samples,).
    chrom, start, end
        The shard's region (normalized contig, 1-based inclusive).
    fields
        Optional call fields to store: any of ``"dp"``, ``"gq"``.
    chunk_variants, chunk_samples
        HDF5 chunk shape for call arrays (variants x samples).
    codec, clevel
        Compression (:func:`hpcgen.store.schema.compression`).
    attrs
        Extra file attributes (genome build, source checksum, ...).
    ploidy
        Initial ploidy; grows if a record carries more alleles (earlier rows read as -2 there).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        samples: Sequence[str],
        chrom: str,
        start: int,
        end: int,
        *,
        fields: Sequence[str] = (),
        chunk_variants: int = 10_000,
        chunk_samples: int = 2_048,
        codec: str = "zstd",
        clevel: int = 3,
        attrs: dict[str, Any] | None = None,
        ploidy: int = 2,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self.chrom, self.start, self.end = chrom, int(start), int(end)
        self.fields = [f for f in ("dp", "gq") if f in fields]
        self.n_samples = len(samples)
        self.cv = int(chunk_variants)
        self.ploidy = int(ploidy)
        self.n_written = 0
        self._n = 0  # records in the buffer
        self._last_pos = 0
        self.h5 = h5py.File(self.tmp, "w", libver=("v110", "latest"))
        self.h5.attrs.update({k: v for k, v in (attrs or {}).items() if v is not None})
        self.h5.create_dataset(S.SAMPLES, data=np.asarray(samples, dtype=object), dtype=_STR)
        self._codec, self._clevel = codec, clevel
        self._cs = max(1, min(int(chunk_samples), self.n_samples))
        self._ds_gt = None  # created at the first flush: a shard smaller than one chunk gets a chunk its size
        self._ds_hc = self._ds_hc_exact = None  # hard-call planes, for ploidy-2 shards only
        self._ds_hc_end = self._ds_hc_sparse = None  # carrier lists of the rows with few
        self._ds_hc_hap = None  # the haploid plane: created at the first chunk with a haploid call
        self._alloc()

    def _create(self, rows: int) -> None:
        comp = S.compression(self._codec, self._clevel)
        cs, n = self._cs, self.n_samples
        self._ds_gt = self.h5.create_dataset(
            S.GENOTYPE, shape=(0, n, self.ploidy), maxshape=(None, n, None),
            dtype=np.int8, chunks=(rows, cs, self.ploidy), fillvalue=S.ABSENT, **comp)
        self._ds_ph = self.h5.create_dataset(
            S.PHASED, shape=(0, n), maxshape=(None, n), dtype=bool, chunks=(rows, cs), **comp)
        self._ds_call = {
            f: self.h5.create_dataset(
                S.CALL_FIELDS[f], shape=(0, n), maxshape=(None, n),
                dtype=np.int32, chunks=(rows, cs), fillvalue=-1, shuffle=self._codec != "none", **comp)
            for f in self.fields
        }
        if self.ploidy == 2:
            from hpcgen.kernels.hardcalls import n_words

            nw = n_words(n)
            hc_rows = max(1, min(rows, S.HARDCALL_CHUNK_BYTES // (16 * nw)))
            self._ds_hc = self.h5.create_dataset(
                S.HARDCALL, shape=(0, 2, nw), maxshape=(None, 2, nw), dtype=np.uint64, chunks=(hc_rows, 2, nw), **comp)
            self._ds_hc_exact = self.h5.create_dataset(
                S.HARDCALL_EXACT, shape=(0,), maxshape=(None,), dtype=np.uint8, chunks=(rows,), **comp)
            self._ds_hc_end = self.h5.create_dataset(
                S.HARDCALL_SPARSE_END, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(rows,), **comp)
            # the carrier lists (ascending sample indices) shrink by 8% under LZ4: stored as they are, a reader
            # fetches them straight into place instead of decoding them (80 MB per pass at 20,000 samples)
            raw = self._codec == "lz4"
            self._ds_hc_sparse = self.h5.create_dataset(
                S.HARDCALL_SPARSE, shape=(0,), maxshape=(None,), dtype=np.uint32,
                chunks=(S.HARDCALL_SPARSE_CHUNK_RAW if raw else S.HARDCALL_SPARSE_CHUNK,), **({} if raw else comp))
            self._hc_chunks = (hc_rows, nw)
        var_comp = S.compression("zstd" if self._codec != "none" else "none")
        self._ds_var = {
            name: self.h5.create_dataset(
                ds, shape=(0,), maxshape=(None,), dtype=_STR if dt is str else dt, chunks=(rows,), **var_comp)
            for name, (ds, dt) in S.VARIANT_FIELDS.items()
        }

    def _alloc(self) -> None:
        self._gt = np.full((self.cv, self.n_samples, self.ploidy), S.ABSENT, dtype=np.int8)
        self._ph = np.zeros((self.cv, self.n_samples), dtype=bool)
        self._call = {f: np.full((self.cv, self.n_samples), -1, dtype=np.int32) for f in self.fields}
        self._var: dict[str, list] = {name: [] for name in S.VARIANT_FIELDS}

    def _grow_ploidy(self, ploidy: int) -> None:
        grown = np.full((self.cv, self.n_samples, ploidy), S.ABSENT, dtype=np.int8)
        grown[:, :, : self.ploidy] = self._gt
        self._gt = grown
        self.ploidy = ploidy
        if self._ds_gt is not None:  # the fill value (-2) pads the rows already written
            self._ds_gt.resize(ploidy, axis=2)
        if self._ds_hc is not None:  # planes describe calls of ploidy <= 2 only: a shard of higher ploidy has none
            del self.h5[S.HARDCALL], self.h5[S.HARDCALL_EXACT], self.h5[S.HARDCALL_SPARSE_END], self.h5[S.HARDCALL_SPARSE]
            if self._ds_hc_hap is not None:
                del self.h5[S.HARDCALL_HAPLOID]
            self._ds_hc = self._ds_hc_exact = self._ds_hc_hap = self._ds_hc_end = self._ds_hc_sparse = None

    def add(
        self,
        pos: int,
        vid: str,
        ref: str,
        alt: str,
        qual: float,
        filt: str,
        genotype: np.ndarray,
        phased: np.ndarray,
        calls: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Buffer one biallelic record.

        Parameters
        ----------
        pos
            1-based position.
        genotype
            int8, shape (n_samples, p): allele codes, -1 missing, -2 absent.
        phased
            bool, shape (n_samples,).
        calls
            ``{"dp": int32 (n_samples,), "gq": ...}``; -1 missing; absent keys stay missing.
        """
        p = genotype.shape[1]
        if p > self.ploidy:
            self._grow_ploidy(p)
        i = self._n
        self._gt[i, :, :p] = genotype
        self._ph[i] = phased
        if calls:
            for f, values in calls.items():
                if f in self._call:
                    self._call[f][i] = values
        v = self._var
        v["chrom"].append(self.chrom)
        v["pos"].append(pos)
        v["id"].append(vid)
        v["ref"].append(ref)
        v["alt"].append(alt)
        v["qual"].append(qual)
        v["filter"].append(filt)
        self._n += 1
        if self._n == self.cv:
            self.flush()

    def reserve(self, k: int, ploidy: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Views of the next ``k`` buffer rows, to be filled in place and then :meth:`commit`-ed.

        Parameters
        ----------
        k
            Records about to be added (at most ``chunk_variants``).
        ploidy
            Their ploidy (the store grows to it if larger).

        Returns
        -------
        (genotype int8 (k, n_samples, ploidy_store), phased bool (k, n_samples), {field: int32 (k, n_samples)})
            Genotype rows arrive filled with -2, call fields with -1.
        """
        if k > self.cv:
            raise ValueError(f"cannot reserve {k} rows in a buffer of {self.cv}")
        if self._n + k > self.cv:
            self.flush()
        if ploidy > self.ploidy:
            self._grow_ploidy(ploidy)
        a, b = self._n, self._n + k
        return self._gt[a:b], self._ph[a:b], {f: buf[a:b] for f, buf in self._call.items()}

    def commit(self, pos: int, vid: str, ref: str, alts: list[str], qual: float, filt: str) -> None:
        """Record the variant fields of the rows filled after :meth:`reserve` (one per ALT, in order)."""
        v = self._var
        k = len(alts)
        v["chrom"].extend([self.chrom] * k)
        v["pos"].extend([pos] * k)
        v["id"].extend([vid] * k)
        v["ref"].extend([ref] * k)
        v["alt"].extend(alts)
        v["qual"].extend([qual] * k)
        v["filter"].extend([filt] * k)
        self._n += k
        if self._n == self.cv:
            self.flush()

    def flush(self) -> None:
        """Write the buffered records (whole chunks but for the shard's last) and reset the buffer."""
        n = self._n
        if self._ds_gt is None:
            self._create(max(n, 1))
        if n == 0:
            return
        a, b = self.n_written, self.n_written + n
        self._ds_gt.resize(b, axis=0)
        self._ds_gt[a:b] = self._gt[:n]
        self._ds_ph.resize(b, axis=0)
        self._ds_ph[a:b] = self._ph[:n]
        if self._ds_hc is not None:
            from hpcgen.kernels.hardcalls import pack_hardcalls, split_sparse_rows
            from hpcgen.kernels.layout import EXACT_SPARSE, sparse_max_carriers

            bits, hap, exact = pack_hardcalls(self._gt[:n])
            ends, carriers = split_sparse_rows(bits, exact, sparse_max_carriers(bits.shape[2]))
            listed = self._ds_hc_sparse.shape[0]
            self._ds_hc_end.resize(b, axis=0)
            self._ds_hc_end[a:b] = ends + listed
            if carriers.size:
                self._ds_hc_sparse.resize(listed + carriers.size, axis=0)
                self._ds_hc_sparse[listed:] = carriers
            # the held rows only (every row but the listed ones): a listed row's planes would be zeros that
            # every reader decodes (85% of the rows at 20,000 samples)
            held = bits[exact != EXACT_SPARSE]
            h = self._ds_hc.shape[0]
            self._ds_hc.resize(h + len(held), axis=0)
            self._ds_hc[h:] = held
            self._ds_hc_exact.resize(b, axis=0)
            self._ds_hc_exact[a:b] = exact
            if self._ds_hc_hap is None and hap.any():  # earlier rows read as the fill value, 0
                self._ds_hc_hap = self.h5.create_dataset(
                    S.HARDCALL_HAPLOID, shape=(0, 1, hap.shape[1]), maxshape=(None, 1, hap.shape[1]), dtype=np.uint64,
                    chunks=(self._hc_chunks[0], 1, hap.shape[1]), fillvalue=0, **S.compression(self._codec, self._clevel))
            if self._ds_hc_hap is not None:
                self._ds_hc_hap.resize(b, axis=0)
                self._ds_hc_hap[a:b] = hap[:, None, :]
        for f, ds in self._ds_call.items():
            ds.resize(b, axis=0)
            ds[a:b] = self._call[f][:n]
            self._call[f][:n] = -1
        for name, ds in self._ds_var.items():
            ds.resize(b, axis=0)
            ds[a:b] = self._var[name]
            self._var[name] = []
        self._gt[:n] = S.ABSENT
        self._ph[:n] = False
        self.n_written = b
        self._n = 0

    def close(self) -> ShardInfo:
        """Flush, stamp the attributes, rename into place; return the shard's manifest entry."""
        from hpcgen.fsutil import sha256_file

        self.flush()
        hardcall = self._ds_hc is not None
        self.h5.attrs.update({
            "chrom": self.chrom, "start": self.start, "end": self.end,
            "n_variants": self.n_written, "ploidy": self.ploidy,
            "schema": S.SCHEMA, "schema_version": S.SCHEMA_VERSION,
        })
        self.h5.close()
        with open(self.tmp, "rb+") as fh:  # the bytes must be on disk before the name says "complete"
            os.fsync(fh.fileno())
        os.chmod(self.tmp, 0o640)
        os.replace(self.tmp, self.path)
        return ShardInfo(
            file=f"{S.SHARDS_DIR}/{self.path.name}", chrom=self.chrom, start=self.start, end=self.end,
            n_variants=self.n_written, ploidy=self.ploidy, sha256=sha256_file(self.path), fields=list(self.fields),
            hardcall=hardcall,
        )

    def abort(self) -> None:
        """Close and delete the temporary file (on error)."""
        try:
            self.h5.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
