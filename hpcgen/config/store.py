"""Genotype store layout defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpcgen.config.base import Section


class StoreConfig(Section):
    """HDF5 chunking and compression of the genotype store."""

    codec: Literal["zstd", "lz4", "blosc", "lzf", "gzip", "none"] = Field(
        "lz4", description="compression of genotype chunks (lz4: fastest decode in benchmarks/bench_ingest.py, docs/store.md)")
    clevel: int = Field(3, ge=0, le=22, description="compression level where the codec has one")
    chunk_variants: int = Field(10_000, gt=0, description="variants per HDF5 chunk")
    chunk_samples: int = Field(2_048, gt=0, description="samples per HDF5 chunk")
    keep_dp_gq: bool = Field(True, description="store FORMAT/DP and FORMAT/GQ when the input has them")
