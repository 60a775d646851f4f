"""Synthetic demo cohort defaults."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class DemoConfig(Section):
    """Size and seed of the bundled demo cohort (`hpcgen demo-data`)."""

    samples: int = Field(500, gt=0, description="number of synthetic patients")
    variants: int = Field(20_000, ge=0, description="number of background variants (besides the 1,202 PharmCAT positions)")
    seed: int = Field(42, ge=0, description="random seed; the cohort is deterministic per seed")
    missing_rate: float = Field(0.005, ge=0.0, le=0.2, description="mean share of missing background calls (none at PharmCAT positions)")
    phased_fraction: float = Field(0.1, ge=0.0, le=1.0, description="share of samples whose calls are written phased (|)")
    depth_fields: bool = Field(True, description="write simulated DP and GQ besides GT")
    relative_fraction: float = Field(0.02, ge=0.0, le=0.5, description="share of samples in first-degree relative pairs (kinship 0.25; named in samples.tsv relative_of)")
    window_kb: int = Field(100, ge=5, le=5000, description="length (kb) of each independently simulated background window")
