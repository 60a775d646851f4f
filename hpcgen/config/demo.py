"""Synthetic demo cohort defaults."""
from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from hpcgen.config.base import Section


class DemoConfig(Section):
    """Size and seed of the bundled demo cohort (`hpcgen demo-data`)."""

    samples: Annotated[int, Meta(gt=0, description="number of synthetic patients")] = 500
    variants: Annotated[int, Meta(ge=0, description="number of background variants (besides the 1,202 PharmCAT positions)")] = 20_000
    seed: Annotated[int, Meta(ge=0, description="random seed; the cohort is deterministic per seed")] = 42
    missing_rate: Annotated[float, Meta(ge=0.0, le=0.2, description="mean share of missing background calls (none at PharmCAT positions)")] = 0.005
    phased_fraction: Annotated[float, Meta(ge=0.0, le=1.0, description="share of samples whose calls are written phased (|)")] = 0.1
    depth_fields: Annotated[bool, Meta(description="write simulated DP and GQ besides GT")] = True
    relative_fraction: Annotated[float, Meta(ge=0.0, le=0.5, description="share of samples in first-degree relative pairs (kinship 0.25; named in samples.tsv relative_of)")] = 0.02
    window_kb: Annotated[int, Meta(ge=5, le=5000, description="length (kb) of each independently simulated background window")] = 100
