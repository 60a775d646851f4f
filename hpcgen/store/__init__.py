"""The genotype store: HDF5 region shards + a manifest (docs/store.md, docs/CONTRACTS.md)."""
from hpcgen.store.reader import GenotypeStore, normalize_contig, parse_region
from hpcgen.store.schema import SCHEMA, SCHEMA_VERSION, ShardInfo
from hpcgen.store.writer import ShardWriter

__all__ = ["GenotypeStore", "ShardInfo", "ShardWriter", "SCHEMA", "SCHEMA_VERSION", "normalize_contig", "parse_region"]
