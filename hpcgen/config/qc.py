"""Cohort QC thresholds and kernel block sizes."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class QcConfig(Section):
    """Filters and computation settings for `hpcgen qc` and `hpcgen filter`."""

    min_call_rate: float = Field(0.95, ge=0, le=1, description="variants and samples below are flagged")
    min_maf: float = Field(0.01, ge=0, le=0.5, description="minor allele frequency below is flagged")
    hwe_p: float = Field(1e-6, ge=0, le=1, description="HWE exact-test p below is flagged")
    hwe_midp: bool = Field(False, description="use the mid-p correction (plink2 --hardy midp)")
    min_dp: int = Field(0, ge=0, description="calls with FORMAT/DP below are set missing by filter (0 = off)")
    min_gq: int = Field(0, ge=0, description="calls with FORMAT/GQ below are set missing by filter (0 = off)")
    pca_components: int = Field(10, ge=1, description="principal components computed")
    kinship_threshold: float = Field(0.0884, description="KING kinship above which a pair is reported (2nd degree)")
    block_variants: int = Field(10_000, gt=0, description="variants per Dask block")
    block_samples: int = Field(2_048, gt=0, description="samples per Dask block")
