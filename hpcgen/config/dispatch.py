"""Dispatch defaults (where stages run)."""
from __future__ import annotations

from pydantic import Field

from hpcgen.config.base import Section


class DispatchConfig(Section):
    """Which site profile stages run under, and how failures are retried."""

    profile: str = Field("local", description="slurm/profiles/<name>.yaml, or 'local' to run in-process")
    max_retries: int = Field(1, ge=0, description="resubmissions of a failed array task")
