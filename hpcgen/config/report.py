"""Clinician report defaults."""
from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, field

from hpcgen.config.base import Section


class ReportConfig(Section):
    """Language and formats of `hpcgen report`."""

    lang: Annotated[Literal["fr", "en"], Meta(description="report language (HTML and PDF; JSON and FHIR are language-neutral)")] = "fr"
    formats: Annotated[list[Literal["html", "pdf", "json", "fhir"]], Meta(min_length=1, description="formats written")] = \
        field(default_factory=lambda: ["html", "pdf", "json", "fhir"])
    pdf_max_patients: Annotated[Annotated[int, Meta(ge=0)] | None, Meta(
        description="render PDF for at most this many patients (first by pseudonym; null: all). "
        "PDF costs ~3.5 CPU s per patient; HTML (printable), JSON and FHIR are always written for everyone")] = 20
    workers: Annotated[int, Meta(ge=1, le=256, description="processes rendering PDFs in parallel (WeasyPrint is single-threaded)")] = 1
