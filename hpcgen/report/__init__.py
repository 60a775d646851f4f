"""Clinician reports: HTML and PDF (French first, English), JSON and FHIR R4, and a cohort summary.

Input: the output folder of `hpcgen pgx call` (docs/CONTRACTS.md, "pgx") and, optionally, the dose
predictions of `hpcgen predict` ("model"). Entry point: :func:`build_reports` (CLI: `hpcgen report`).
"""
from __future__ import annotations


def build_reports(*args, **kwargs):
    """See :func:`hpcgen.report.build.build_reports` (imported lazily: WeasyPrint and matplotlib are heavy)."""
    from hpcgen.report.build import build_reports as _build

    return _build(*args, **kwargs)


__all__ = ["build_reports"]
