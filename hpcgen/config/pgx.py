"""Pharmacogenomics defaults."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class PgxConfig(Section):
    """Calling and recommendation settings for `hpcgen pgx`."""

    sources: list[str] = Field(["CPIC", "DPWG"], description="guideline sources reported")
    outside_calls: str | None = Field(None, description="TSV of calls from other tools (CYP2D6, HLA), merged in")
