"""FHIR R4 export following the HL7 Genomics Reporting IG (STU3, 3.0.0): one Bundle per patient.

Bundle (collection)
  Patient                      pseudonym as identifier (the real identifier only when verified)
  DiagnosticReport             profile genomics-report, LOINC 51969-4; result -> every Observation below;
                               extension recommended-action -> every Task
  Observation per gene         profile genotype, LOINC 84413-4 "Genotype display name", component 48018-6 gene studied
  Observation per gene         profile therapeutic-implication (phenotype): component LOINC 53040-2
                               "Genetic variation's effect on drug metabolism" = phenotype, activity score
  Observation per drug         profile therapeutic-implication: component 51963-7 "Medication assessed",
                               implication as a note, the guideline as a workflow-relatedArtifact citation
  Task per drug                profile medication-recommendation: status requested, intent proposal,
                               description = recommendation, reasonReference -> the drug's implication

Gene and drug codes are given as text (HGNC and RxNorm codings are not in our reference data, and a
wrong code is worse than none). Resource ids are UUIDv5 of (pseudonym, role): the same input gives the
same Bundle, byte for byte, except its timestamp.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from markupsafe import escape

IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
LOINC = "http://loinc.org"
_NS = uuid.UUID("5b0f7c36-2d3e-4d8f-9a51-6e1c8d2b7a40")  # hpcgen's namespace for resource ids
_CATEGORY = [
    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]},
    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE", "display": "Genetics"}]},
]


def _id(pseudonym: str, *role: str) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join((pseudonym, *role))))


def _ref(rid: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{rid}"}


def _loinc(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}]}


def _text(value: Any) -> dict[str, str]:
    return {"text": str(value)}


def _instant(iso: str) -> str:
    """FHIR instant: seconds precision, 'Z' for UTC."""
    return iso.replace("+00:00", "Z")


def _observation(rid: str, profile: str, code: dict[str, Any], patient: str, when: str, **fields: Any) -> dict[str, Any]:
    res = {
        "resourceType": "Observation",
        "id": rid,
        "meta": {"profile": [IG + profile]},
        "status": "final",
        "category": _CATEGORY,
        "code": code,
        "subject": _ref(patient),
        "effectiveDateTime": when,
    }
    res.update({k: v for k, v in fields.items() if v not in (None, [], {})})
    return res


def fhir_bundle(model: dict[str, Any]) -> dict[str, Any]:
    """The FHIR R4 Bundle of one patient's report model (see :mod:`hpcgen.report.context`)."""
    p = model["patient"]["pseudonym"]
    when = _instant(model["generated"])
    patient_id = _id(p, "patient")
    identifiers = [{"system": "urn:hpcgen:pseudonym", "value": p}]
    if model["patient"]["identifier"]:
        identifiers.append({"use": "official", "type": {"text": "hospital identifier"}, "value": model["patient"]["identifier"]})
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": patient_id, "identifier": identifiers}]

    genotype_ids: dict[str, str] = {}
    phenotype_ids: dict[str, str] = {}
    for g in model["genes"]:
        gene = g["gene"]
        gid = genotype_ids[gene] = _id(p, "genotype", gene)
        notes = []
        if g["missing_positions"]:
            notes.append({"text": "Positions missing: " + ", ".join(g["missing_positions"])})
        notes.extend({"text": w} for w in g["warnings"])
        called = g["diplotype"] and g["call_status"] != "not_called"
        resources.append(_observation(
            gid, "genotype", _loinc("84413-4", "Genotype display name"), patient_id, when,
            valueCodeableConcept=_text(f"{gene} {g['diplotype']}") if called else None,
            dataAbsentReason=None if called else {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}],
                "text": "not called",
            },
            method=_text(g["source"] or "hpcgen-matcher"),
            component=[{"code": _loinc("48018-6", "Gene studied [ID]"), "valueCodeableConcept": _text(gene)}],
            note=notes,
        ))
        components = [{"code": _loinc("48018-6", "Gene studied [ID]"), "valueCodeableConcept": _text(gene)}]
        if g["phenotype"]:
            components.append({
                "code": _loinc("53040-2", "Genetic variation's effect on drug metabolism"),
                "valueCodeableConcept": _text(g["phenotype"]),
            })
        if g["activity_score"] is not None:
            components.append({"code": _text("activity score"), "valueQuantity": {"value": g["activity_score"]}})
        if len(components) > 1:
            hid = phenotype_ids[gene] = _id(p, "phenotype", gene)
            resources.append(_observation(
                hid, "therapeutic-implication", {"coding": [{"system": TBD, "code": "therapeutic-implication"}], "text": "phenotype"},
                patient_id, when, derivedFrom=[_ref(gid)], component=components,
            ))

    tasks: list[str] = []
    implications: list[str] = []
    for i, d in enumerate(model["drugs"]):
        key = (str(i), d["drug"], d["source"] or "", d["guideline_id"] or "")
        iid = _id(p, "implication", *key)
        implications.append(iid)
        components = [{"code": _loinc("51963-7", "Medication assessed [Type]"), "valueCodeableConcept": _text(d["drug"])}]
        components.extend(
            {"code": _loinc("53040-2", "Genetic variation's effect on drug metabolism"), "valueCodeableConcept": _text(ph)}
            for ph in d["phenotypes"]
        )
        citation = " ".join(x for x in (d["source"], d["guideline_id"], d["guideline_version"]) if x)
        resources.append(_observation(
            iid, "therapeutic-implication", {"coding": [{"system": TBD, "code": "therapeutic-implication"}]},
            patient_id, when,
            extension=[{
                "url": "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact",
                "valueRelatedArtifact": {"type": "citation", "label": d["source"] or "guideline", "citation": citation or "guideline"},
            }],
            derivedFrom=[_ref(phenotype_ids.get(gene) or genotype_ids[gene]) for gene in d["genes"] if gene in genotype_ids],
            component=components,
            interpretation=[_text("actionable" if d["actionable"] else "no change")],
            note=[{"text": d["implications"]}] if d["implications"] else None,
        ))
        if d["recommendation"]:
            tid = _id(p, "recommendation", *key)
            tasks.append(tid)
            task = {
                "resourceType": "Task",
                "id": tid,
                "meta": {"profile": [IG + "medication-recommendation"]},
                "status": "requested",
                "intent": "proposal",
                "priority": "urgent" if d["actionable"] else "routine",
                "code": _text(d["classification"] or "recommendation"),
                "description": d["recommendation"],
                "for": _ref(patient_id),
                "authoredOn": when,
                "reasonReference": _ref(iid),
                "input": [{"type": _loinc("51963-7", "Medication assessed [Type]"), "valueCodeableConcept": _text(d["drug"])}],
            }
            resources.append(task)

    results = [r["id"] for r in resources if r["resourceType"] == "Observation"]
    actionable = ", ".join(d["drug"] for d in model["actionable"]) or "none"
    report = {
        "resourceType": "DiagnosticReport",
        "id": _id(p, "report"),
        "meta": {"profile": [IG + "genomics-report"]},
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">Pharmacogenomics report for {escape(p)}; '
                   f"actionable drugs: {escape(actionable)}.</div>",
        },
        "extension": [{"url": IG + "recommended-action", "valueReference": _ref(t)} for t in tasks],
        "status": "final",
        "category": [_CATEGORY[1]],
        "code": _loinc("51969-4", "Genetic analysis report"),
        "subject": _ref(patient_id),
        "effectiveDateTime": when,
        "issued": when,
        "result": [_ref(r) for r in results],
        "conclusion": f"Actionable drugs: {actionable}. Reference data {model['versions']['data_version']}.",
    }
    if not report["extension"]:
        del report["extension"]
    entries = [report, *resources]
    return {
        "resourceType": "Bundle",
        "id": _id(p, "bundle"),
        "meta": {"lastUpdated": when},
        "identifier": {"system": "urn:hpcgen:report", "value": _id(p, "bundle")},
        "type": "collection",
        "timestamp": when,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def fhir_json(model: dict[str, Any]) -> str:
    """The Bundle as compact JSON text (no indentation: Python's C encoder, ~20x faster than an indented dump)."""
    return json.dumps(fhir_bundle(model), separators=(",", ":"), ensure_ascii=False) + "\n"
