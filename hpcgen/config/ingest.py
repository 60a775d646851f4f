"""Ingest defaults (VCF/BCF -> store)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpcgen.config.base import Section


class IngestConfig(Section):
    """How VCF/BCF files are sharded, decoded and pseudonymized."""

    shard_size_bp: int = Field(20_000_000, gt=0, description="genomic width of one store shard (bp)")
    threads: int = Field(2, ge=1, description="parallel shard writers")
    build: Literal["GRCh38", "GRCh37"] = Field("GRCh38", description="expected genome build; others are refused")
    key_file: str | None = Field(None, description="pseudonymization key file (else $HPCGEN_PSEUDONYM_KEY_FILE / $HPCGEN_PSEUDONYM_KEY)")
