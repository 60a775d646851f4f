"""The store's variant index (``STORE/variants.parquet``): every shard's variant fields in one columnar file.

The shards hold the variant fields (the source of truth, docs/store.md); this file is derived from them
when the manifest is written, like a .tbi is derived from a .vcf.gz, so that the whole variant table reads
in one call (~30 ms for 200,000 records) instead of one HDF5 read per shard and column (~1 s: h5py turns
variable-length strings into Python objects one by one). The manifest records its SHA-256 and row count;
a reader falls back to the shards when the file is absent (older stores) or does not match.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from hpcgen.fsutil import atomic_path, sha256_file
from hpcgen.store import schema as S

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from hpcgen.store.reader import GenotypeStore

INDEX_COLUMNS = (*S.VARIANT_FIELDS, "shard", "index_in_shard")
# after INDEX_COLUMNS, derived from REF and ALT at write time: ``hpcgen qc`` starts counting with it (its
# kernels need it) while the string columns are still being read; indexes written before it lack it
CLASS_COLUMN = "class"
log = logging.getLogger("hpcgen.store")


def read_shard_variants(path: str | os.PathLike, a: int, b: int) -> dict[str, np.ndarray]:
    """Rows ``a:b`` of one shard's variant fields: {name: array} (strings as object arrays of str)."""
    h5py = S.h5py_module()

    from hpcgen.store.reader import _str_column

    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as h5:
        for name, (ds, dt) in S.VARIANT_FIELDS.items():
            out[name] = _str_column(h5[ds], a, b) if dt is str else h5[ds][a:b]
    return out


def variant_classes(ref: Any, alt: Any) -> np.ndarray:
    """Class of each biallelic record, as ``bcftools stats`` counts it (:mod:`hpcgen.kernels.variant_class`).

    Parameters
    ----------
    ref, alt : Arrow string column, pandas Series or ndarray of str, shape (n_variants,)

    Returns
    -------
    ndarray, uint8, shape (n_variants,)
        CLASS_TS (A<->G, C<->T), CLASS_TV (other single-base substitutions), CLASS_INDEL (REF and ALT of
        different lengths, ALT of bases only), CLASS_OTHER (MNPs, symbolic alleles, "*", a missing allele).
    """
    from hpcgen.aot import kernel
    from hpcgen.arrowcols import string_buffers

    return kernel("variant_classes")(*string_buffers(ref), *string_buffers(alt))


def write_variant_index(store: str | os.PathLike, shards: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Write ``STORE/variants.parquet`` from the shards (atomically); return its manifest entry.

    Parameters
    ----------
    store
        The store folder.
    shards
        The manifest's shard entries, in store order.

    Returns
    -------
    dict
        ``{"file": "variants.parquet", "sha256": hex, "n_variants": int}``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list[np.ndarray]] = {name: [] for name in INDEX_COLUMNS}
    for i, shard in enumerate(shards):
        n = int(shard["n_variants"])
        for name, values in read_shard_variants(Path(store) / shard["file"], 0, n).items():
            cols[name].append(values)
        cols["shard"].append(np.full(n, i, dtype=np.int32))
        cols["index_in_shard"].append(np.arange(n, dtype=np.int64))
    arrays = {}
    for name in INDEX_COLUMNS:
        values = np.concatenate(cols[name]) if cols[name] else np.empty(0)
        dt = S.VARIANT_FIELDS[name][1] if name in S.VARIANT_FIELDS else values.dtype
        arrays[name] = pa.array(values, type=pa.string()) if dt is str else pa.array(values)
    arrays[CLASS_COLUMN] = pa.array(variant_classes(arrays["ref"], arrays["alt"]), type=pa.uint8())
    table = pa.table(arrays)
    path = Path(store) / S.VARIANT_INDEX
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=["chrom", "filter"])
    return {"file": S.VARIANT_INDEX, "sha256": sha256_file(path), "n_variants": table.num_rows}


def read_variant_index_arrow(store: str | os.PathLike, manifest: dict[str, Any],
                             columns: Sequence[str] | None = None) -> "pa.Table | None":
    """The whole variant table from ``STORE/variants.parquet`` as Arrow, or None when absent or not this store's.

    ``pq.ParquetFile(...).read`` rather than ``pq.read_table``: the latter imports pandas (0.2-0.3 s) on the
    way, which ``hpcgen qc`` otherwise never needs.

    Parameters
    ----------
    columns : sequence of str, optional
        Read only these of INDEX_COLUMNS and CLASS_COLUMN (in this order); INDEX_COLUMNS by default. The
        file is checked against the manifest either way (its footer: row count and column names); None
        also when CLASS_COLUMN is asked of an index without it.

    Returns
    -------
    pa.Table or None
        Columns INDEX_COLUMNS (or ``columns``): chrom, pos, id, ref, alt, qual, filter (string / int64 /
        float32), shard (int32), index_in_shard (int64), n_variants rows in store order.
    """
    entry = manifest.get("variant_index")
    if not entry:
        return None
    path = Path(store) / entry["file"]
    try:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if pf.metadata.num_rows != int(manifest["n_variants"]) or names not in (list(INDEX_COLUMNS),
                                                                                 [*INDEX_COLUMNS, CLASS_COLUMN]):
            log.warning("variant index %s does not match the manifest: reading the shards instead", path)
            return None
        if columns is not None and CLASS_COLUMN in columns and CLASS_COLUMN not in names:
            return None  # an index written before it had the class column
        # the columns a caller needs only: hpcgen qc reads 5 of the 9 (~8 ms of ~30 ms at 200,000 records)
        return pf.read(columns=list(INDEX_COLUMNS if columns is None else columns), use_threads=True)
    except (OSError, ValueError) as exc:
        log.warning("variant index %s unreadable (%s): reading the shards instead", path, exc)
        return None


def store_variant_classes(store: "GenotypeStore") -> np.ndarray:
    """The class of every variant of a store (uint8, ``kernels.layout.CLASS_*``), shape (n_variants,).

    From the variant index's class column (~2 ms for 200,000 records); computed from REF and ALT when the
    index has none (written before it had one: ``hpcgen store reindex`` adds it) or is absent.
    """
    from hpcgen.arrowcols import to_numpy

    table = read_variant_index_arrow(store.path, store.manifest, [CLASS_COLUMN])
    if table is not None:
        return to_numpy(table.column(CLASS_COLUMN))
    variants = store_variants_arrow(store, ["ref", "alt"])
    return variant_classes(variants.column("ref"), variants.column("alt"))


def read_variant_index(store: str | os.PathLike, manifest: dict[str, Any]) -> "pd.DataFrame | None":
    """The whole variant table from ``STORE/variants.parquet``, or None when absent or not this store's.

    Columns: chrom, pos, id, ref, alt, qual, filter (object str / int64 / float32), shard (int32),
    index_in_shard (int64), in store order.
    """
    table = read_variant_index_arrow(store, manifest)
    return None if table is None else table.to_pandas()  # strings were written as plain strings: str columns


def store_variants_arrow(store: "GenotypeStore", columns: Sequence[str] | None = None) -> "pa.Table":
    """A store's whole variant table as Arrow: the index when it is there and matches, else from the shards.

    Parameters
    ----------
    store : GenotypeStore
    columns : sequence of str, optional
        Only these of INDEX_COLUMNS, in this order; all by default.

    Returns
    -------
    pa.Table
        The columns of :meth:`GenotypeStore.variants` (INDEX_COLUMNS, or ``columns``), n_variants rows in
        store order.
    """
    table = read_variant_index_arrow(store.path, store.manifest, columns)
    if table is not None:
        return table
    # an older store without the index (or a stale one): rare, so the shard path of the reader and pandas
    import pyarrow as pa

    table = pa.Table.from_pandas(store.variants(), preserve_index=False)
    return table if columns is None else table.select(list(columns))
