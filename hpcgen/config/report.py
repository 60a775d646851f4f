"""Clinician report defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpcgen.config.base import Section


class ReportConfig(Section):
    """Language and formats of `hpcgen report`."""

    lang: Literal["fr", "en"] = Field("fr", description="report language")
    formats: list[Literal["html", "pdf", "json", "fhir"]] = Field(["html", "pdf", "json", "fhir"], description="formats written")
