"""Pharmacogenomics defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpcgen.config.base import Section


class PgxConfig(Section):
    """Calling and recommendation settings for `hpcgen pgx`."""

    sources: list[Literal["CPIC", "DPWG"]] = Field(["CPIC", "DPWG"], description="guideline sources reported")
    outside_calls: str | None = Field(None, description="TSV of calls from other tools (CYP2D6, HLA), merged in")
    genes: list[str] | None = Field(
        None, description="genes called from genotypes (default: the 19 PharmCAT calls from VCF)")
    cyp2d6_region: str = Field(
        "chr22:42126499-42130881", description="CYP2D6 gene body (GRCh38, 1-based inclusive) for copy number")
    cnv_control_region: str = Field(
        "chr12:47841537-47905031",
        description="two-copy control region (GRCh38, VDR gene, as Stargazer) for CYP2D6 copy number")
    cnv_min_mapq: int = Field(20, ge=0, le=255, description="reads below this mapping quality are not counted")
    cnv_max_copies: int = Field(6, ge=1, le=20, description="copy numbers above are reported as this value")
