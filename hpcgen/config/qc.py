"""Cohort QC thresholds and computation settings (`hpcgen qc`, `hpcgen filter`)."""
from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from hpcgen.config.base import Section


class QcConfig(Section):
    """Filters and computation settings for `hpcgen qc` and `hpcgen filter`."""

    min_call_rate: Annotated[float, Meta(ge=0, le=1, description="variants and samples below are flagged")] = 0.95
    min_maf: Annotated[float, Meta(ge=0, le=0.5, description="minor allele frequency below is flagged")] = 0.01
    hwe_p: Annotated[float, Meta(ge=0, le=1, description="HWE exact-test p below is flagged (0 = off)")] = 1e-6
    hwe_midp: Annotated[bool, Meta(description="use the mid-p correction (plink2 --hardy midp)")] = False
    min_dp: Annotated[int, Meta(ge=0, description="calls with FORMAT/DP below are set missing by filter (0 = off)")] = 0
    min_gq: Annotated[int, Meta(ge=0, description="calls with FORMAT/GQ below are set missing by filter (0 = off)")] = 0
    pca_components: Annotated[int, Meta(ge=0, description="principal components computed (0 = no PCA)")] = 10
    pca_power_iter: Annotated[int, Meta(ge=0, le=20, description="power iterations of the randomized SVD (each one is two passes over the store)")] = 4
    pca_seed: Annotated[int, Meta(ge=0, description="seed of the randomized SVD (fixed: reruns give the same PCs)")] = 0
    kinship: Annotated[bool, Meta(description="compute KING-robust kinship for every pair of samples")] = True
    kinship_max_variants: Annotated[int, Meta(ge=0, description="KING on at most this many autosomal variants, evenly spaced (0 = all, as plink2); cost grows as samples^2 x variants")] = 0
    kinship_threshold: Annotated[float, Meta(description="KING kinship above which a pair is reported (2nd degree)")] = 0.0884
    report: Annotated[bool, Meta(description="write qc_report.html (matplotlib plots)")] = True
    threads: Annotated[int, Meta(ge=0, description="worker threads of the local Dask scheduler (0 = every core)")] = 0
    dask_jobs: Annotated[int, Meta(ge=1, description="Slurm profiles: Dask worker jobs (dask-jobqueue SLURMCluster)")] = 4
    dask_job_cores: Annotated[int, Meta(ge=1, description="Slurm profiles: cores per Dask worker job")] = 8
    dask_job_mem_gb: Annotated[float, Meta(gt=0, description="Slurm profiles: memory per Dask worker job (GB)")] = 16.0
    dask_job_time_min: Annotated[int, Meta(ge=1, description="Slurm profiles: walltime of a Dask worker job (minutes)")] = 60
    block_variants: Annotated[int, Meta(gt=0, description="variants per Dask block at most (store chunks are split or merged to it)")] = 10_000
    block_samples: Annotated[int, Meta(gt=0, description="samples per Dask block (whole rows are fastest: no copy, one task per row)")] = 8_192
    row_memory_mb: Annotated[int, Meta(gt=0, description="bound on one variant row of blocks (block_variants x samples x ploidy bytes): block_variants shrinks for large cohorts")] = 256
