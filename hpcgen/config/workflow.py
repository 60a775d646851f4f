"""Workflow inputs and outputs (what `make demo` and `hpcgen run` process)."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class WorkflowConfig(Section):
    """Paths the Snakemake workflow reads and writes, relative to its working directory."""

    vcf: str = Field("demo-out/data/cohort.vcf.gz", description="input VCF/BCF (bgzipped, indexed)")
    clinical: str = Field("demo-out/data/clinical.tsv", description="clinical table (IWPC format)")
    outdir: str = Field("demo-out/results", description="folder of all results")
    make_demo_data: bool = Field(True, description="generate the demo cohort first (demo section) when vcf is missing")
