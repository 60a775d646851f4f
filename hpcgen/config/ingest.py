"""Ingest defaults (VCF/BCF -> store)."""
from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from hpcgen.config.base import Section


class IngestConfig(Section):
    """How VCF/BCF files are sharded, decoded and pseudonymized."""

    shard_size_bp: Annotated[int, Meta(gt=0, description="genomic width of one store shard (bp)")] = 20_000_000
    threads: Annotated[int, Meta(ge=1, description="parallel shard writers")] = 2
    build: Annotated[Literal["GRCh38", "GRCh37"], Meta(description="expected genome build; others are refused")] = "GRCh38"
    key_file: Annotated[str | None, Meta(description="pseudonymization key file (else $HPCGEN_PSEUDONYM_KEY_FILE / $HPCGEN_PSEUDONYM_KEY)")] = None
