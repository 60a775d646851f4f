"""`hpcgen qc`: every QC output for a store, written atomically, manifest last."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from hpcgen import __version__
from hpcgen.config import HpcgenConfig, load_config
from hpcgen.errors import InputError
from hpcgen.fsutil import HashingWriter, atomic_path, atomic_write_text, sha256_file

if TYPE_CHECKING:
    import queue

    import pandas as pd
    import pyarrow as pa

log = logging.getLogger("hpcgen.qc")

SCHEMA = "hpcgen.qc/1"
MANIFEST = "manifest.json"
# the only columns with few distinct values: Parquet dictionary pages pay off there, while trying them on
# every float column first cost 0.13 s of the 0.17 s write of a 200,000-variant table
DICTIONARY_COLUMNS = ("chrom", "class", "ancestry", "pc")
# min/max statistics where a reader selects rows (a region, a class, the passing variants, a sample): on the
# 14 count and rate columns of the variant table they cost 0.01 s of its write and serve no filter
STATISTICS_COLUMNS = ("chrom", "pos", "id", "class", "pass", "sample", "ancestry", "pc")
# what a QC run writes besides the manifest (tables as .parquet, and .tsv on request)
OUTPUT_NAMES = ("variants", "samples", "pca", "pca_eigenvalues", "kinship", "qc_report.html")
# variants per slice of the variant table (one Parquet row group): written while the next one is computed
VARIANT_SLICE_ROWS = 1 << 15


def read_samples_sheet(path: str | os.PathLike, store_samples: np.ndarray,
                       id_mapping: str | os.PathLike | None = None) -> pd.Series:
    """Ancestry group per store sample (index: pseudonym) from a samples sheet.

    The sheet (TSV) has a ``sample`` column and an ``ancestry`` column. Its IDs are either the store's
    pseudonyms already, or the real IDs, translated with the ingest ``--id-mapping`` file.
    """
    import pandas as pd

    try:
        sheet = pd.read_csv(path, sep="\t", dtype=str, comment=None)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read samples sheet ({exc})", path) from None
    cols = {c.lower().lstrip("#"): c for c in sheet.columns}
    id_col = next((cols[c] for c in ("sample", "sample_id", "iid") if c in cols), None)
    anc_col = next((cols[c] for c in ("ancestry", "ancestry_group", "population", "group") if c in cols), None)
    if id_col is None or anc_col is None:
        raise InputError("samples sheet needs columns 'sample' and 'ancestry'", path, "header")
    ids = sheet[id_col].astype(str)
    if id_mapping is not None:
        from hpcgen.pseudonym import read_mapping

        try:
            to_pseudo = {real: p for p, real in read_mapping(id_mapping).items()}
        except (OSError, KeyError) as exc:
            raise InputError(f"cannot read ID mapping ({exc})", id_mapping) from None
        ids = ids.map(lambda s: to_pseudo.get(s, s))
    anc = pd.Series(sheet[anc_col].to_numpy(), index=ids.to_numpy())
    anc = anc[~anc.index.duplicated()]
    known = set(store_samples.tolist())
    if not any(i in known for i in anc.index):
        raise InputError("no sample of the sheet is in the store (its IDs are pseudonyms: pass the sheet keyed by "
                         "pseudonym, or --id-mapping from ingest)", path)
    return anc.reindex(store_samples)


def _remove_outputs_in_background(out: Path) -> "threading.Thread":
    """Delete a previous run's outputs in ``out`` (the manifest is already gone: the folder reads as
    incomplete) on a thread; join it before this run writes its first output. Freeing a replaced file's
    blocks costs ~6 ms for the 8.5 MB variant table of 200,000 variants, paid by the rename at the end of
    the run otherwise. Only the files a QC run writes are deleted."""

    def remove() -> None:
        for name in OUTPUT_NAMES:
            for suffix in (".parquet", ".tsv") if "." not in name else ("",):
                (out / f"{name}{suffix}").unlink(missing_ok=True)

    thread = threading.Thread(target=remove, name="hpcgen-qc-clean", daemon=True)
    thread.start()
    return thread


def _parquet_options(names: list[str], integers: list[str]) -> dict[str, Any]:
    """Parquet writer options of a QC table with these columns (``integers``: its integer ones): dictionary
    pages and min/max statistics only where they serve (few distinct values; the columns a reader filters
    rows on), and the integers delta-encoded (DELTA_BINARY_PACKED: counts and positions take a few bits each;
    the variant table's write is 6 ms faster and 17% smaller than with plain 8-byte values)."""
    dictionary = [c for c in DICTIONARY_COLUMNS if c in names]
    return {"use_dictionary": dictionary,
            "write_statistics": [c for c in STATISTICS_COLUMNS if c in names],
            "column_encoding": {c: "DELTA_BINARY_PACKED" for c in integers if c not in dictionary}}


def _write_parquet(parts: "Iterable[pa.Table]", path: Path) -> tuple[str, list]:
    """Write the Arrow tables of ``parts`` (one schema) as the row groups of ``path``, atomically, hashed as
    the bytes go out (not read back); return (SHA-256, the tables). Nothing is kept if ``parts`` raises."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kept, writer = [], None
    with atomic_path(path) as tmp, HashingWriter(tmp) as sink:
        try:
            for part in parts:
                if writer is None:
                    integers = [f.name for f in part.schema if pa.types.is_integer(f.type)]
                    writer = pq.ParquetWriter(sink, part.schema, **_parquet_options(part.column_names, integers))
                writer.write_table(part)
                kept.append(part)
        finally:
            if writer is not None:
                writer.close()
    return sink.hexdigest(), kept


def _write_tsv(df: "pa.Table | pd.DataFrame", out: Path, name: str) -> dict[str, str]:
    """``name.tsv`` in ``out``, atomically; {file name: SHA-256}."""
    df = df.to_pandas() if hasattr(df, "to_pandas") else df
    path = atomic_write_text(out / f"{name}.tsv", df.to_csv(sep="\t", index=False, float_format="%.10g"))
    return {path.name: sha256_file(path)}


def _write_hashed(df: "pa.Table | pd.DataFrame", out: Path, name: str, tsv: bool) -> dict[str, str]:
    """``name.parquet`` (and ``name.tsv``) in ``out``, atomically; {file name: SHA-256} (the manifest's
    outputs). An Arrow table is written without pandas."""
    import pyarrow as pa

    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    hashes = {f"{name}.parquet": _write_parquet([table], out / f"{name}.parquet")[0]}
    return (hashes | _write_tsv(df, out, name)) if tsv else hashes


_ABANDONED = object()  # put in place of a slice: the table will not be finished, its file is not kept


def _write_slices(slices: "queue.SimpleQueue", out: Path, name: str, tsv: bool,
                  before_writing: Callable[[], Any]) -> dict[str, str]:
    """Write the tables taken from ``slices`` (until None) as the row groups of ``name.parquet`` in ``out``,
    atomically; then, with ``tsv``, ``name.tsv``. ``before_writing`` is called first (the removal of the
    previous outputs). Returns {file name: SHA-256}."""
    import pyarrow as pa

    path = out / f"{name}.parquet"

    def taken() -> "Iterator[pa.Table]":
        while (part := slices.get()) is not None:
            if part is _ABANDONED:
                raise RuntimeError(f"{name} table abandoned: {path} not written")
            yield part

    before_writing()
    digest, parts = _write_parquet(taken(), path)
    return {path.name: digest} | (_write_tsv(pa.concat_tables(parts), out, name) if tsv else {})


def _variant_table_written(variants: "pa.Table", counts, vclass: np.ndarray, q, out: Path, tsv: bool,
                           before_writing: Callable[[], Any]) -> "tuple[pa.Table, Future[dict[str, str]]]":
    """The per-variant table (:func:`hpcgen.qc.tables.variant_table`) and the future of its files' hashes.

    The table is computed in slices of VARIANT_SLICE_ROWS variants, and a writer thread encodes each
    finished slice as one Parquet row group while the next is computed: Parquet encoding releases the GIL,
    and the write is the longest step after counting (~0.07 s at 200,000 variants), so the two overlap
    instead of following each other. The writer is then the longer of the two: a slice (its HWE tests
    included) is computed on this thread alone, leaving the other core to the encoding. (Feeding the slices
    from the counting pass as its rows finish was slower: the pass already keeps both cores busy.)
    """
    import queue

    import pyarrow as pa

    from hpcgen.qc.tables import variant_table

    n = counts.variant.shape[0]
    slices: queue.SimpleQueue = queue.SimpleQueue()
    writer = ThreadPoolExecutor(1, thread_name_prefix="hpcgen-qc-write")
    written = writer.submit(_write_slices, slices, out, "variants", tsv, before_writing)
    writer.shutdown(wait=False)  # the thread ends with its one job
    parts = []
    try:
        for a in range(0, max(n, 1), VARIANT_SLICE_ROWS):  # one slice, empty, when there is no variant
            parts.append(variant_table(variants, counts, vclass, q, rows=(a, min(n, a + VARIANT_SLICE_ROWS))))
            slices.put(parts[-1])
    except BaseException:
        slices.put(_ABANDONED)
        raise
    slices.put(None)
    return pa.concat_tables(parts), written


def _write_hashed_text(path: Path, text: str) -> dict[str, str]:
    return {path.name: sha256_file(atomic_write_text(path, text))}


def _column(frame: "pa.Table | pd.DataFrame", name: str) -> np.ndarray:
    """One numeric or bool column as numpy, of an Arrow table (without pandas) or a pandas frame."""
    import pyarrow as pa

    from hpcgen.arrowcols import to_numpy

    return to_numpy(frame.column(name)) if isinstance(frame, pa.Table) else frame[name].to_numpy()


def _frame(frame: "pa.Table | pd.DataFrame") -> "pd.DataFrame":
    """A pandas frame (the report's input) of an Arrow table; a frame as it is."""
    return frame.to_pandas() if hasattr(frame, "to_pandas") else frame


def _nanmedian(values: np.ndarray) -> float:
    """``np.nanmedian`` of a 1-D float array (NaN when all are NaN), without numpy.ma: np.median imports it
    to check for masked arrays (~4 ms of the summary)."""
    v = np.sort(values[~np.isnan(values)])
    return float((v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2) if len(v) else float("nan")


def _config_hash(cfg: HpcgenConfig) -> str:
    text = json.dumps(cfg.qc.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _has_planes(store) -> bool:
    """Every non-empty shard has hard-call bit-planes (the local counting pass then reads 2 bits per call)."""
    return all(s.hardcall for s in store.shards if s.n_variants)


def _row_variants(store, cfg: HpcgenConfig, planes: bool) -> int:
    """Variants per block: ``qc.block_variants``, bounded so one row of blocks (all samples) fits
    ``qc.row_memory_mb``; a row is the bit-planes when ``planes``, else the int8 calls."""
    from hpcgen.qc.counts import row_bytes

    q = cfg.qc
    row_cap = max(256, (q.row_memory_mb << 20) // max(1, row_bytes(store, planes)))
    return max(1, min(q.block_variants, row_cap))


def genotype_blocks(store, cfg: HpcgenConfig):
    """The store's genotypes as dask in blocks of the configured size.

    Store chunks larger than a block are split; small shards (a sparse region, a panel) are merged into
    full blocks so that per-task overhead does not dominate.
    """
    gt = store.genotypes_dask()
    q = cfg.qc
    # a variant row of blocks stays in memory until its counts are reduced: bound it for large cohorts
    want = (min(_row_variants(store, cfg, planes=False), max(gt.shape[0], 1)),
            min(q.block_samples, max(gt.shape[1], 1)))
    regular = all(len(set(c[:-1])) <= 1 and (len(c) == 1 or c[0] == w) for c, w in zip(gt.chunks[:2], want))
    return gt if regular else gt.rechunk({0: want[0], 1: want[1], 2: -1})


def run_qc(store_path: str | os.PathLike, out_dir: str | os.PathLike, *, config: HpcgenConfig | str | os.PathLike | None = None,
           profile: str | None = None, tsv: bool = False, samples_sheet: str | os.PathLike | None = None,
           id_mapping: str | os.PathLike | None = None) -> dict[str, Any]:
    """Compute the QC tables, PCA, kinship and report of a store into ``out_dir``; return the manifest.

    ``out_dir/manifest.json`` is removed first and written last: a folder without it is incomplete.
    """
    from hpcgen.qc.counts import start_warm_up

    # numba's import and cache load (~0.7 s) overlap the variant table read and the first block reads
    warm = start_warm_up()
    from hpcgen.arrowcols import to_numpy
    from hpcgen.qc.annotate import autosomal
    from hpcgen.qc.compute import dask_context
    from hpcgen.qc.counts import compute_counts, compute_counts_store
    from hpcgen.qc.tables import VARIANT_FIELDS, sample_table
    from hpcgen.store import GenotypeStore
    from hpcgen.store.variant_index import store_variant_classes, store_variants_arrow

    cfg = config if isinstance(config, HpcgenConfig) else load_config(config)
    q = cfg.qc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    cleaning = _remove_outputs_in_background(out)
    t0 = time.perf_counter()
    store = GenotypeStore.open(store_path)
    ancestry = read_samples_sheet(samples_sheet, store.samples, id_mapping) if samples_sheet else None

    # the counting kernels need each variant's class (the variant index holds it: one uint8 column), the
    # tables the variant fields: those are read on a thread (Parquet decoding releases the GIL) while the
    # counting pass runs. Arrow, not pandas: the default run never imports pandas (0.2-0.3 s); PCA, kinship,
    # a samples sheet, the report and TSV convert where they need it; only the fields the tables show
    vclass = store_variant_classes(store)
    variants_read = ThreadPoolExecutor(1, thread_name_prefix="hpcgen-qc-variants")
    variants_future = variants_read.submit(store_variants_arrow, store, VARIANT_FIELDS)
    variants_read.shutdown(wait=False)
    # one contig per shard, in store order: its name decides for all its records
    auto = np.repeat(autosomal([s.chrom for s in store.shards]), [s.n_variants for s in store.shards])
    timings: dict[str, float] = {}
    with dask_context(profile, q) as ck:
        t = time.perf_counter()
        planes = _has_planes(store)
        block = _row_variants(store, cfg, planes)
        if ck.get("scheduler") == "threads" and (planes or block >= min(store.chunk_variants, store.n_variants)):
            # in-process: thread pools read whole rows straight from the store (GIL-free LZ4 decode) and count
            # them with nogil kernels; the Dask graph is for clusters, where its per-task overhead pays off,
            # and, for a store without bit-planes, for cohorts so wide that a block is capped below one store
            # chunk (each task would decode whole chunks for a few rows; Dask decodes a chunk once and splits it)
            counts = compute_counts_store(store, vclass, auto, threads=ck["num_workers"], block_variants=block,
                                          read_ahead_mb=q.row_memory_mb * ck["num_workers"],
                                          kernels_ready=warm.join if warm.is_alive() else None)
        else:
            warm.join()
            if planes:  # a Slurm profile: the same whole-row tasks on Dask workers
                import dask

                from hpcgen.qc.counts import count_graph_store

                (counts,) = dask.compute(count_graph_store(store, vclass, auto, block), **ck)
            else:
                counts = compute_counts(genotype_blocks(store, cfg), vclass, auto, **ck)
        warm.join()  # the HWE kernel below, even when no block was counted
        timings["counts_s"] = time.perf_counter() - t
        vt, vt_written = _variant_table_written(variants_future.result(), counts, vclass, q, out, tsv, cleaning.join)
        cleaning.join()  # before the other outputs appear
        st = sample_table(store.samples, counts, store.n_variants, q)
        if ancestry is not None:
            st = st.to_pandas()
            st.insert(1, "ancestry", ancestry.to_numpy())
        if q.pca_components > 0 or q.kinship:
            dip = np.column_stack([to_numpy(vt.column(c)) for c in ("n_hom_ref", "n_het", "n_hom_alt")])
            dip_called = dip.sum(axis=1) > 0
        pcs = eigen = None
        if q.pca_components > 0:
            from hpcgen.qc.pca import compute_pca

            t = time.perf_counter()
            af = to_numpy(vt.column("af"))
            use = (auto != 0) & dip_called & (af > 0) & (af < 1)
            res = compute_pca(store, af, use, dip, q.pca_components, block_variants=block, seed=q.pca_seed,
                              n_power_iter=q.pca_power_iter, **ck)
            timings["pca_s"] = time.perf_counter() - t
        if q.pca_components > 0 and res.pcs.shape[1] > 0:  # none from a single sample or variant
            import pandas as pd

            pcs = pd.DataFrame({"sample": store.samples})
            if ancestry is not None:
                pcs["ancestry"] = ancestry.to_numpy()
            for k in range(res.pcs.shape[1]):
                pcs[f"PC{k + 1}"] = res.pcs[:, k]
            eigen = pd.DataFrame({"pc": [f"PC{k + 1}" for k in range(len(res.eigenvalues))],
                                  "eigenvalue": res.eigenvalues, "explained": res.explained})
        kin = None
        if q.kinship:
            from hpcgen.qc.kinship import compute_kinship

            t = time.perf_counter()
            kin_use = (auto != 0) & dip_called
            if q.kinship_max_variants and kin_use.sum() > q.kinship_max_variants:
                idx = np.flatnonzero(kin_use)
                kin_use = np.zeros_like(kin_use)
                kin_use[idx[np.linspace(0, len(idx) - 1, q.kinship_max_variants).round().astype(np.int64)]] = True
            kin = compute_kinship(store, kin_use, q.kinship_threshold, block_variants=block, **ck)
            timings["kinship_s"] = time.perf_counter() - t
    hashes = _write_hashed(st, out, "samples", tsv)
    if pcs is not None:
        hashes |= _write_hashed(pcs, out, "pca", tsv)
        hashes |= _write_hashed(eigen, out, "pca_eigenvalues", tsv)
    if kin is not None:
        hashes |= _write_hashed(kin, out, "kinship", tsv)
    n_ts = int(_column(st, "n_ts").sum())  # per-sample sums are not the site Ti/Tv; this is the site one:
    site_ts = int((vclass == 1).sum())
    site_tv = int((vclass == 2).sum())
    summary = {
        "samples": store.n_samples, "variants": store.n_variants, "genome build": store.build,
        "variants passing all filters": int(_column(vt, "pass").sum()),
        f"variants with call rate < {q.min_call_rate:g}": int(_column(vt, "fail_call_rate").sum()),
        f"variants with MAF < {q.min_maf:g}": int(_column(vt, "fail_maf").sum()),
        f"variants with HWE p < {q.hwe_p:g}" + (" (mid-p)" if q.hwe_midp else ""): int(_column(vt, "fail_hwe").sum()),
        f"samples with call rate < {q.min_call_rate:g}": int(_column(st, "fail_call_rate").sum()),
        "Ti/Tv (sites)": f"{site_ts / site_tv:.3f}" if site_tv else "n/a",
        "Ti/Tv (median per sample)": f"{_nanmedian(_column(st, 'ti_tv')):.3f}" if n_ts else "n/a",
        f"pairs with kinship > {q.kinship_threshold:g}": "not computed" if kin is None else len(kin),
    }
    if q.report:
        from hpcgen.qc.report import render_report

        html = render_report(_frame(vt), _frame(st), pcs, eigen, kin, summary, q)
        hashes |= _write_hashed_text(out / "qc_report.html", html)
    timings["total_s"] = time.perf_counter() - t0
    manifest = {
        "schema": SCHEMA, "hpcgen_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "store": {"manifest_sha256": sha256_file(Path(store_path) / "manifest.json"), "n_samples": store.n_samples,
                  "n_variants": store.n_variants, "build": store.build},
        "config": {"qc": q.to_dict(), "sha256": _config_hash(cfg)},
        "profile": profile or "local",
        "summary": {k: (v if isinstance(v, (int, float)) else str(v)) for k, v in summary.items()},
        "outputs": vt_written.result() | hashes,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    log.info("qc: %d variants x %d samples in %.1f s -> %s", store.n_variants, store.n_samples, timings["total_s"], out)
    return manifest
