"""Synthetic demo cohort defaults."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class DemoConfig(Section):
    """Size and seed of the bundled demo cohort (`hpcgen demo-data`)."""

    samples: int = Field(500, gt=0, description="number of synthetic patients")
    variants: int = Field(20_000, gt=0, description="number of background variants (besides the PGx positions)")
    seed: int = Field(42, ge=0, description="random seed; the cohort is deterministic per seed")
