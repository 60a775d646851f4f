"""Pharmacogenomics defaults."""
from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, field

from hpcgen.config.base import Section


class PgxConfig(Section):
    """Calling and recommendation settings for `hpcgen pgx`."""

    sources: Annotated[list[Literal["CPIC", "DPWG"]], Meta(description="guideline sources reported")] = \
        field(default_factory=lambda: ["CPIC", "DPWG"])
    outside_calls: Annotated[str | None, Meta(description="TSV of calls from other tools (CYP2D6, HLA), merged in")] = None
    genes: Annotated[list[str] | None, Meta(description="genes called from genotypes (default: the 19 PharmCAT calls from VCF)")] = None
    cyp2d6_region: Annotated[str, Meta(description="CYP2D6 gene body (GRCh38, 1-based inclusive) for copy number")] = \
        "chr22:42126499-42130881"
    cnv_control_region: Annotated[str, Meta(description="two-copy control region (GRCh38, VDR gene, as Stargazer) for CYP2D6 copy number")] = \
        "chr12:47841537-47905031"
    cnv_min_mapq: Annotated[int, Meta(ge=0, le=255, description="reads below this mapping quality are not counted")] = 20
    cnv_max_copies: Annotated[int, Meta(ge=1, le=20, description="copy numbers above are reported as this value")] = 6
