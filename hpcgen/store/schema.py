"""The genotype store's on-disk schema: names, dtypes, codecs, shard naming.

One place for every name a writer and a reader must agree on (docs/store.md explains the layout).
A store is a folder::

    STORE/manifest.json                      written last, atomically (a store without it is incomplete)
    STORE/shards/<chrom>_<start>-<end>.h5    one HDF5 file per region shard, 1-based inclusive bounds
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hpcgen.fsutil import safe_filename

# the HDF5 library locks files by default; on Lustre/NFS that fails or hangs. No store file is ever shared
# between two writers (one process per shard), so locking buys nothing: turn it off before h5py loads.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

SCHEMA = "hpcgen.store/1"
# 2: diploid rows with few carriers are listed (calls/hardcall_sparse*) and their planes rows left zero.
# 3: the listed rows have no planes rows at all: calls/hardcall holds the other rows' ("held" rows), in order.
# Older versions read the same (a planes dataset with a row per variant is the version 2 form); a hpcgen that
# knows only an older version refuses a newer store (it would take the zero rows for hom-REF, or misplace rows)
SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
MANIFEST = "manifest.json"
VARIANT_INDEX = "variants.parquet"  # every shard's variant fields in one file, derived (variant_index.py)
SHARDS_DIR = "shards"
WORK_DIR = ".work"

# genotype codes (int8): allele index 0..126, or one of these
MISSING = -1  # "." allele
ABSENT = -2  # allele absent: a call of lower ploidy than the store's, padded

GENOTYPE = "calls/genotype"  # int8 (n_variants, n_samples, ploidy)
PHASED = "calls/phased"  # bool (n_variants, n_samples)
DP = "calls/dp"  # int32 (n_variants, n_samples), -1 missing
GQ = "calls/gq"  # int32 (n_variants, n_samples), -1 missing
# diploid hard calls as two bit-planes (kernels/hardcalls.py), written beside the int8 calls of ploidy-2
# shards: the QC counting pass reads 2 bits per call instead of 16. Absent from older stores and from shards
# of another ploidy; readers then fall back to calls/genotype.
HARDCALL = "calls/hardcall"  # uint64 (n_held, 2, ceil(n_samples / 64)): rows not listed (EXACT_SPARSE), in order
HARDCALL_HAPLOID = "calls/hardcall_haploid"  # uint64 (n_variants, 1, ceil(n_samples / 64)): haploid calls; only in shards with some
HARDCALL_EXACT = "calls/hardcall_exact"  # uint8 (n_variants,): 1 planes hold the row, 2 planes + haploid plane, 0 neither,
# 3 listed by its carriers (below; it has no planes row, version 2: a zero one)
HARDCALL_SPARSE_END = "calls/hardcall_sparse_end"  # int64 (n_variants,): listed carriers up to the end of each row
HARDCALL_SPARSE = "calls/hardcall_sparse"  # uint32 (n_listed,): sample << 2 | call code (kernels/layout.py)
HARDCALL_SPARSE_CHUNK = 1 << 16  # carriers per HDF5 chunk of calls/hardcall_sparse
# the same when stored without compression (the LZ4 codec): a shard's last chunk takes its whole size on disk
HARDCALL_SPARSE_CHUNK_RAW = 1 << 14
HARDCALL_CHUNK_BYTES = 16 << 20  # at most this many bytes of planes per HDF5 chunk
SAMPLES = "samples"  # str (n_samples,)
# per-variant fields: name -> (dataset, numpy dtype); strings are variable-length UTF-8
VARIANT_FIELDS: dict[str, tuple[str, Any]] = {
    "chrom": ("variants/chrom", str),
    "pos": ("variants/pos", np.int64),
    "id": ("variants/id", str),
    "ref": ("variants/ref", str),
    "alt": ("variants/alt", str),
    "qual": ("variants/qual", np.float32),
    "filter": ("variants/filter", str),
}
CALL_FIELDS = {"dp": DP, "gq": GQ}
CODECS = ("zstd", "lz4", "blosc", "lzf", "gzip", "none")


def shard_name(chrom: str, start: int, end: int) -> str:
    """File name of the shard holding ``chrom:start-end`` (1-based inclusive), safe for any contig name."""
    return f"{safe_filename(chrom)}_{start}-{end}.h5"


def compression(codec: str, clevel: int = 3) -> dict[str, Any]:
    """h5py ``create_dataset`` keyword arguments for ``codec``.

    Parameters
    ----------
    codec
        One of :data:`CODECS`. zstd, lz4 and blosc come from hdf5plugin (registered on import),
        so a reader needs ``import hdf5plugin`` too (:func:`h5py_module` does it).
    clevel
        Compression level for zstd, blosc (zstd inside) and gzip (capped at 9).
    """
    import hdf5plugin

    if codec == "zstd":
        return dict(hdf5plugin.Zstd(clevel=clevel))
    if codec == "lz4":
        return dict(hdf5plugin.LZ4())
    if codec == "blosc":
        # byte shuffle helps little on int8; bitshuffle would, but decode speed is what we pick on
        return dict(hdf5plugin.Blosc(cname="lz4", clevel=min(clevel, 9), shuffle=hdf5plugin.Blosc.NOSHUFFLE))
    if codec == "lzf":
        return {"compression": "lzf"}
    if codec == "gzip":
        return {"compression": "gzip", "compression_opts": min(clevel, 9)}
    if codec == "none":
        return {}
    raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")


@dataclass
class ShardInfo:
    """One region shard as the manifest lists it.

    Attributes
    ----------
    file
        Path relative to the store folder (``shards/<name>.h5``).
    chrom, start, end
        The region (normalized contig name, 1-based inclusive bounds); every record's POS lies in it.
    n_variants
        Biallelic records in the shard.
    ploidy
        Largest ploidy in the shard (the reader pads to the store's ploidy with -2).
    sha256
        Hex SHA-256 of the shard file, checked when a rerun resumes.
    fields
        Optional call fields present (``"dp"``, ``"gq"``).
    hardcall
        The shard has hard-call bit-planes (``calls/hardcall``; False in stores written before them).
    """

    file: str
    chrom: str
    start: int
    end: int
    n_variants: int
    ploidy: int
    sha256: str
    fields: list[str] = field(default_factory=list)
    hardcall: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ShardInfo":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def h5py_module() -> Any:
    """h5py, with the store's compression filters registered (hdf5plugin): what every HDF5 read of a store uses.

    Imported on first use, not with the store's modules: a pass over a store with a chunk index (the QC
    counts) makes no HDF5 call, and the two imports cost ~40 ms of a 0.5 s ``hpcgen qc``. libhdf5 then loads
    after this module turned file locking off (above).
    """
    import h5py
    import hdf5plugin  # noqa: F401

    return h5py
