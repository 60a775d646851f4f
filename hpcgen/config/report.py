"""Clinician report defaults."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from hpcgen.config.base import Section


class ReportConfig(Section):
    """Language and formats of `hpcgen report`."""

    lang: Literal["fr", "en"] = Field("fr", description="report language (HTML and PDF; JSON and FHIR are language-neutral)")
    formats: list[Literal["html", "pdf", "json", "fhir"]] = Field(
        ["html", "pdf", "json", "fhir"], min_length=1, description="formats written"
    )
    pdf_max_patients: int | None = Field(
        20, ge=0,
        description="render PDF for at most this many patients (first by pseudonym; null: all). "
        "PDF costs ~3.5 CPU s per patient; HTML (printable), JSON and FHIR are always written for everyone",
    )
    workers: int = Field(1, ge=1, le=256, description="processes rendering PDFs in parallel (WeasyPrint is single-threaded)")
