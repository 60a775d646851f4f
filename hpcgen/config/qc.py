"""Cohort QC thresholds and computation settings (`hpcgen qc`, `hpcgen filter`)."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class QcConfig(Section):
    """Filters and computation settings for `hpcgen qc` and `hpcgen filter`."""

    min_call_rate: float = Field(0.95, ge=0, le=1, description="variants and samples below are flagged")
    min_maf: float = Field(0.01, ge=0, le=0.5, description="minor allele frequency below is flagged")
    hwe_p: float = Field(1e-6, ge=0, le=1, description="HWE exact-test p below is flagged (0 = off)")
    hwe_midp: bool = Field(False, description="use the mid-p correction (plink2 --hardy midp)")
    min_dp: int = Field(0, ge=0, description="calls with FORMAT/DP below are set missing by filter (0 = off)")
    min_gq: int = Field(0, ge=0, description="calls with FORMAT/GQ below are set missing by filter (0 = off)")
    pca_components: int = Field(10, ge=0, description="principal components computed (0 = no PCA)")
    pca_power_iter: int = Field(4, ge=0, le=20, description="power iterations of the randomized SVD (each one is two passes over the store)")
    pca_seed: int = Field(0, ge=0, description="seed of the randomized SVD (fixed: reruns give the same PCs)")
    kinship: bool = Field(True, description="compute KING-robust kinship for every pair of samples")
    kinship_max_variants: int = Field(0, ge=0, description="KING on at most this many autosomal variants, evenly spaced (0 = all, as plink2); cost grows as samples^2 x variants")
    kinship_threshold: float = Field(0.0884, description="KING kinship above which a pair is reported (2nd degree)")
    report: bool = Field(True, description="write qc_report.html (matplotlib plots)")
    threads: int = Field(0, ge=0, description="worker threads of the local Dask scheduler (0 = every core)")
    dask_jobs: int = Field(4, ge=1, description="Slurm profiles: Dask worker jobs (dask-jobqueue SLURMCluster)")
    dask_job_cores: int = Field(8, ge=1, description="Slurm profiles: cores per Dask worker job")
    dask_job_mem_gb: float = Field(16.0, gt=0, description="Slurm profiles: memory per Dask worker job (GB)")
    dask_job_time_min: int = Field(60, ge=1, description="Slurm profiles: walltime of a Dask worker job (minutes)")
    block_variants: int = Field(10_000, gt=0, description="variants per Dask block at most (store chunks are split or merged to it)")
    block_samples: int = Field(8_192, gt=0, description="samples per Dask block (whole rows are fastest: no copy, one task per row)")
    row_memory_mb: int = Field(256, gt=0, description="bound on one variant row of blocks (block_variants x samples x ploidy bytes): block_variants shrinks for large cohorts")
