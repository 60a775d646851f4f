"""Dispatch defaults (where stages run)."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class DispatchConfig(Section):
    """Which site profile stages run under, and how failures are retried."""

    profile: str = Field("local", description="slurm/profiles/<name>.yaml, or 'local' to run in-process")
    max_retries: int = Field(1, ge=0, description="resubmissions of a failed array task")
    account: str | None = Field(None, description="Slurm account to charge (Adastra project, Jean Zay 'proj' of proj@h100); $HPCGEN_ACCOUNT overrides")
    local_workers: int = Field(0, ge=0, description="worker processes for run_array with --profile local (0: cores // cpus_per_task)")
