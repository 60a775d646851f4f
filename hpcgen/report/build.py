"""`hpcgen report`: one report per patient (HTML, PDF, JSON, FHIR) plus the cohort summary ``index.html``.

Layout of the output folder (built in a temporary sibling, then renamed: never half-written)::

    DIR/index.html                      cohort summary, links to every report
    DIR/manifest.json                   schema hpcgen.reports/1: inputs, versions, every file with its SHA-256
    DIR/patients/<pseudonym>.html       self-contained page (inline CSS, no external resource)
    DIR/patients/<pseudonym>.pdf        the same page printed by WeasyPrint
    DIR/patients/<pseudonym>.json       schema hpcgen.report/1
    DIR/patients/<pseudonym>.fhir.json  FHIR R4 Bundle (Genomics Reporting IG)

File names come from :func:`hpcgen.fsutil.safe_filename`, so no sample ID can leave ``DIR``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from hpcgen import __version__
from hpcgen.errors import InputError
from hpcgen.fsutil import PRIVATE_FILE_MODE, SHARED_FILE_MODE, atomic_dir, safe_filename, sha256_file
from hpcgen.progress import progress
from hpcgen.report import cohort_summary
from hpcgen.report.calls import load_calls, load_predictions
from hpcgen.report.context import patient_model
from hpcgen.report.fhir import fhir_json
from hpcgen.report.i18n import LANGUAGES
from hpcgen.report.identity import load_identities
from hpcgen.report.json_export import report_json
from hpcgen.report.render import render_cohort, render_patient

log = logging.getLogger(__name__)
MANIFEST_SCHEMA = "hpcgen.reports/1"
FORMATS = ("html", "pdf", "json", "fhir")
SUFFIX = {"html": ".html", "pdf": ".pdf", "json": ".json", "fhir": ".fhir.json"}


def _now() -> str:
    """UTC now (or $SOURCE_DATE_EPOCH, for reproducible builds), ISO 8601 to the second."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return when.replace(microsecond=0).isoformat()


def _check_out(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier report output (nor empty)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError("output exists and is not a folder", out)
    if not any(out.iterdir()):
        return
    try:
        schema = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("schema")
    except (OSError, ValueError, AttributeError):
        schema = None
    if schema != MANIFEST_SCHEMA:
        raise InputError("output folder is not empty and is not an earlier `hpcgen report` output; refusing to replace it", out)


def parse_formats(formats: Iterable[str] | str) -> list[str]:
    """``"html,pdf"`` or a list -> validated, de-duplicated list in canonical order."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted = {f.strip().lower() for f in items if f.strip()}
    unknown = wanted - set(FORMATS)
    if unknown or not wanted:
        raise InputError(f"unknown report format(s) {', '.join(sorted(unknown)) or '(none)'}; choose among {','.join(FORMATS)}")
    return [f for f in FORMATS if f in wanted]


def build_reports(
    calls_dir: str | Path,
    out: str | Path,
    *,
    lang: str = "fr",
    formats: Iterable[str] | str = FORMATS,
    predictions: str | Path | None = None,
    id_mapping: str | Path | None = None,
    key_file: str | Path | None = None,
    pdf_max_patients: int | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Render every patient's report and the cohort summary into ``out``.

    Parameters
    ----------
    calls_dir
        Output folder of `hpcgen pgx call` (contract "pgx").
    out
        Output folder; created, or replaced if it holds an earlier report output.
    lang
        "fr" (default) or "en": the language of HTML and PDF (JSON and FHIR are language-neutral).
    formats
        Any of html, pdf, json, fhir.
    predictions
        Optional predictions.tsv (contract "model"): doses in mg/week shown beside the IWPC baselines.
    id_mapping, key_file
        Both, or neither: the real identifier is written inside the reports only when the mapping is
        verified by the key; those files are then mode 0600.
    pdf_max_patients
        Render PDF for at most this many patients (first by pseudonym); None: all.
    workers
        Processes rendering PDFs in parallel (PDF is the slow format: seconds per patient).

    Returns
    -------
    dict
        The manifest written to ``out/manifest.json``.
    """
    if lang not in LANGUAGES:
        raise InputError(f"unknown report language {lang!r} (choose one of {', '.join(LANGUAGES)})")
    fmts = parse_formats(formats)
    out = Path(out)
    _check_out(out)
    calls = load_calls(calls_dir)
    preds = load_predictions(predictions) if predictions else {}
    if preds:
        unknown = sorted(set(preds) - set(calls.samples))
        if len(unknown) == len(preds):
            raise InputError(f"no sample of the predictions is in the pgx calls (real IDs instead of pseudonyms? "
                             f"first: {unknown[0]!r})", predictions)
        if unknown:
            log.warning("%d sample(s) of %s are not in the pgx calls and are ignored", len(unknown), predictions)
    identities = load_identities(id_mapping, key_file)
    mode = PRIVATE_FILE_MODE if identities else SHARED_FILE_MODE
    generated = _now()
    pdf_samples = set(calls.samples if pdf_max_patients is None else calls.samples[:pdf_max_patients])

    files: list[dict[str, str]] = []
    patients: list[dict[str, Any]] = []
    pdf_jobs: list[tuple[str, Path, str, str]] = []  # (html, dest, sample, rel)
    with atomic_dir(out) as tmp:
        (tmp / "patients").mkdir()
        for sample in progress(calls.samples, total=len(calls.samples), desc="reports"):
            model = patient_model(calls, sample, identifier=identities.get(sample), generated=generated, predictions=preds.get(sample))
            stem = safe_filename(sample)
            written: dict[str, str] = {}
            wants_pdf = "pdf" in fmts and sample in pdf_samples
            html = render_patient(model, lang) if ("html" in fmts or wants_pdf) else None
            for fmt in fmts:
                if fmt == "pdf" and not wants_pdf:
                    continue
                rel = f"patients/{stem}{SUFFIX[fmt]}"
                dest = tmp / rel
                if fmt == "pdf":  # rendered below, possibly in parallel
                    pdf_jobs.append((html, dest, sample, rel))
                    written[fmt] = rel
                    continue
                if fmt == "html":
                    dest.write_text(html, encoding="utf-8")
                elif fmt == "json":
                    dest.write_text(report_json(model), encoding="utf-8")
                else:
                    dest.write_text(fhir_json(model), encoding="utf-8")
                os.chmod(dest, mode)
                written[fmt] = rel
                files.append({"sample": sample, "format": fmt, "path": rel, "sha256": sha256_file(dest)})
            patients.append({"pseudonym": sample, "actionable": [d["drug"] for d in model["actionable"]], "files": written})
        if pdf_jobs:
            from hpcgen.report.pdf import render_pdfs

            render_pdfs([(html, dest) for html, dest, _s, _r in pdf_jobs], workers=workers)
            for _html, dest, sample, rel in pdf_jobs:
                os.chmod(dest, mode)
                files.append({"sample": sample, "format": "pdf", "path": rel, "sha256": sha256_file(dest)})
        summary = cohort_summary.summarize(calls)
        summary["patients"] = patients
        index = render_cohort(summary, cohort_summary.plots(summary, lang), lang, generated)
        (tmp / "index.html").write_text(index, encoding="utf-8")
        os.chmod(tmp / "index.html", SHARED_FILE_MODE)
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "hpcgen_version": __version__,
            "created": generated,
            "lang": lang,
            "formats": fmts,
            "data_version": calls.data_version,
            "inputs": {
                "pgx_manifest_sha256": sha256_file(Path(calls_dir) / "manifest.json"),
                "predictions_sha256": sha256_file(predictions) if predictions else None,
                "identified": bool(identities),
            },
            "n_patients": len(calls.samples),
            "n_actionable_patients": summary["n_actionable_patients"],
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp / "manifest.json", SHARED_FILE_MODE)
    log.info("wrote %d reports (%s) to %s", len(calls.samples), ",".join(fmts), out)
    return manifest
