"""The genotype store: HDF5 region shards + a manifest (docs/store.md, docs/CONTRACTS.md)."""
from typing import Any

from hpcgen.store.reader import GenotypeStore, normalize_contig, parse_region
from hpcgen.store.schema import SCHEMA, SCHEMA_VERSION, ShardInfo

__all__ = ["GenotypeStore", "ShardInfo", "ShardWriter", "SCHEMA", "SCHEMA_VERSION", "normalize_contig", "parse_region"]


def __getattr__(name: str) -> Any:
    # the writer (and h5py with it) loads only for those who write: reading a store with a chunk index
    # needs no HDF5 (hpcgen/store/reader.py)
    if name == "ShardWriter":
        from hpcgen.store.writer import ShardWriter

        return ShardWriter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
