"""Workflow inputs and outputs (what `make demo` and `hpcgen run` process)."""
from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from hpcgen.config.base import Section


class WorkflowConfig(Section):
    """Paths the Snakemake workflow reads and writes, relative to its working directory."""

    vcf: Annotated[str, Meta(description="input VCF/BCF (bgzipped, indexed)")] = "demo-out/data/cohort.vcf.gz"
    clinical: Annotated[str, Meta(description="clinical table (IWPC format)")] = "demo-out/data/clinical.tsv"
    outdir: Annotated[str, Meta(description="folder of all results")] = "demo-out/results"
    make_demo_data: Annotated[bool, Meta(description="generate the demo cohort first (demo section) when vcf is missing")] = True
