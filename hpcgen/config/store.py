"""Genotype store layout defaults."""
from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from hpcgen.config.base import Section


class StoreConfig(Section):
    """HDF5 chunking and compression of the genotype store."""

    codec: Annotated[Literal["zstd", "lz4", "blosc", "lzf", "gzip", "none"], Meta(
        description="compression of genotype chunks (lz4: fastest decode in benchmarks/bench_ingest.py, docs/store.md)")] = "lz4"
    clevel: Annotated[int, Meta(ge=0, le=22, description="compression level where the codec has one")] = 3
    chunk_variants: Annotated[int, Meta(gt=0, description="variants per HDF5 chunk")] = 10_000
    chunk_samples: Annotated[int, Meta(gt=0, description="samples per HDF5 chunk")] = 2_048
    keep_dp_gq: Annotated[bool, Meta(description="store FORMAT/DP and FORMAT/GQ when the input has them")] = True
