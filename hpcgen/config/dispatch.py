"""Dispatch defaults (where stages run)."""
from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from hpcgen.config.base import Section


class DispatchConfig(Section):
    """Which site profile stages run under, and how failures are retried."""

    profile: Annotated[str, Meta(description="slurm/profiles/<name>.yaml, or 'local' to run in-process")] = "local"
    max_retries: Annotated[int, Meta(ge=0, description="resubmissions of a failed array task")] = 1
    account: Annotated[str | None, Meta(description="Slurm account to charge (Adastra project, Jean Zay 'proj' of proj@h100); $HPCGEN_ACCOUNT overrides")] = None
    local_workers: Annotated[int, Meta(ge=0, description="worker processes for run_array with --profile local (0: cores // cpus_per_task)")] = 0
