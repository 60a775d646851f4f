"""The content of one patient's report, language-neutral: what the HTML, PDF, JSON and FHIR outputs all show.

The JSON export is this mapping as it is (schema ``hpcgen.report/1``, documented in docs/report.md and
``hpcgen/report/schema/report-1.schema.json``); the template translates the labels and data terms.
"""
from __future__ import annotations

from typing import Any

from hpcgen import __version__
from hpcgen.report.calls import CallSet

SCHEMA = "hpcgen.report/1"

# CPIC strength first (Strong before Moderate before Optional), then anything else
_STRENGTH_ORDER = {"strong": 0, "moderate": 1, "optional": 2}
_GENE_FIELDS = ("gene", "diplotype", "phenotype", "activity_score", "call_status", "missing_positions", "warnings", "source")
_DRUG_FIELDS = (
    "drug", "source", "genes", "phenotypes", "recommendation", "classification", "implications",
    "actionable", "guideline_id", "guideline_version",
)
_PRED_FIELDS = ("drug", "model", "model_version", "predicted_dose_mg_week", "iwpc_dose_mg_week", "iwpc_clinical_dose_mg_week", "unit")


def _strength_key(row: dict[str, Any]) -> tuple[int, str, str]:
    cls = (row.get("classification") or "").strip().lower()
    return (_STRENGTH_ORDER.get(cls, 3), row["drug"].lower(), row.get("source") or "")


def patient_model(
    calls: CallSet,
    sample: str,
    *,
    identifier: str | None,
    generated: str,
    predictions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything one report says about ``sample``, in a clinician's order.

    Parameters
    ----------
    calls
        The loaded pgx calls folder.
    sample
        Pseudonymized sample ID.
    identifier
        The real identifier (only when a verified mapping was given), else None.
    generated
        ISO 8601 timestamp (UTC) of this rendering.
    predictions
        This sample's rows of predictions.tsv (doses in mg/week), or None.
    """
    genes = [{k: row.get(k) for k in _GENE_FIELDS} for row in calls.genes.get(sample, [])]
    genes.sort(key=lambda g: g["gene"])
    drugs = [{k: row.get(k) for k in _DRUG_FIELDS} for row in calls.drugs.get(sample, [])]
    drugs.sort(key=lambda d: (d["drug"].lower(), d.get("source") or ""))
    actionable = sorted((d for d in drugs if d["actionable"]), key=_strength_key)
    guidelines = sorted(
        {(d.get("source") or "", d.get("guideline_id") or "", d.get("guideline_version") or "") for d in drugs if d.get("guideline_id")}
    )
    tested = calls.manifest.get("genes") or sorted({g["gene"] for g in genes})
    # a manifest may list genes as names or as {"gene": ...} records
    tested = [t.get("gene", t.get("name", "?")) if isinstance(t, dict) else t for t in tested]
    return {
        "schema": SCHEMA,
        "generated": generated,
        "patient": {"pseudonym": sample, "identifier": identifier},
        "actionable": actionable,
        "genes": genes,
        "drugs": drugs,
        "predictions": [{k: row.get(k) for k in _PRED_FIELDS} for row in (predictions or [])],
        "methods": {
            "genes_tested": [str(g) for g in tested],
            "not_called": [g["gene"] for g in genes if g["call_status"] == "not_called"],
            "outside_calls": [g["gene"] for g in genes if g["call_status"] == "outside_call" or g["source"] in ("outside", "cnv")],
            "n_missing_positions": sum(len(g["missing_positions"] or []) for g in genes),
            "build": calls.manifest.get("build", "GRCh38"),
        },
        "versions": {
            "hpcgen": __version__,
            "pgx_hpcgen": str(calls.manifest.get("hpcgen_version", "unknown")),
            "data_version": calls.data_version,
            "pgx_created": calls.manifest.get("created"),
            "guidelines": [{"source": s, "guideline_id": g, "version": v} for s, g, v in guidelines],
        },
    }
