"""FHIR R4 Bundles: valid against HL7's FHIR R4 JSON Schema (tests/fixtures/fhir/, no network), shaped per the Genomics Reporting IG."""
from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import jsonschema
import pytest
from report_helpers import CLOPIDOGREL_PM, SAMPLES, rendered_fixture, report_path

from hpcgen.fsutil import sha256_file

SCHEMA_PATH = Path(__file__).parent / "fixtures" / "fhir" / "fhir.schema.json"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"


@functools.lru_cache(maxsize=1)
def validator() -> jsonschema.Draft7Validator:
    """HL7's R4 schema, with its resource dispatch made fast.

    The schema picks a resource's definition with ``oneOf`` over all 146 resource types (and a
    ``discriminator`` on ``resourceType`` that JSON Schema validators ignore); jsonschema then validates
    every Bundle entry against every type in full, minutes per Bundle. Every resource definition
    requires ``resourceType`` to be its own constant, so exactly one branch can match: ``oneOf`` is
    equivalent to "resourceType is one of the types, and the resource matches that type's definition",
    written below with draft-07 if/then (the rest of the schema reads the same under draft 07).
    """
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    mapping = schema["discriminator"]["mapping"]
    branches = [d["$ref"] for d in schema["definitions"]["ResourceList"]["oneOf"]]
    assert sorted(branches) == sorted(mapping.values())
    for name, ref in mapping.items():
        assert schema["definitions"][ref.rsplit("/", 1)[1]]["properties"]["resourceType"]["const"] == name
    dispatch = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": sorted(mapping)}},
        "allOf": [{"if": {"properties": {"resourceType": {"const": name}}}, "then": {"$ref": ref}} for name, ref in mapping.items()],
    }
    schema["definitions"]["ResourceList"] = dispatch
    root = {k: v for k, v in schema.items() if k not in ("oneOf", "discriminator")}
    root.update(dispatch)
    return jsonschema.Draft7Validator(root)


@functools.lru_cache(maxsize=1)
def strict_validator() -> jsonschema.Draft6Validator:
    """The schema exactly as published (slow: used on small Bundles only, to cross-check the fast one)."""
    return jsonschema.Draft6Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, dict]:
    fx = rendered_fixture(tmp_path_factory)
    return {s: json.loads(report_path(fx["fr"], s, ".fhir.json").read_text()) for s in SAMPLES}


def test_the_schema_is_hl7s_r4_schema():
    assert sha256_file(SCHEMA_PATH) == SCHEMA_SHA256
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    assert {"Bundle", "DiagnosticReport", "Observation", "Task", "Patient"} <= schema["definitions"].keys()


def test_every_bundle_validates(bundles):
    for sample, bundle in bundles.items():
        errors = sorted(validator().iter_errors(bundle), key=lambda e: list(e.path))
        assert not errors, f"{sample}: {errors[0].message[:300]} at {list(errors[0].path)}"
    # the published schema, unmodified, agrees on one Bundle
    assert not list(strict_validator().iter_errors(bundles["P00000000000000a1"]))


@pytest.mark.parametrize("mutation", ["bad_status", "unknown_field", "bad_reference", "bad_instant", "unknown_type"])
def test_the_validator_rejects_broken_bundles(bundles, mutation):
    """Negative controls: the schema does see mistakes of the kinds we could make."""
    b = copy.deepcopy(bundles["P00000000000000a1"])
    obs = next(e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation")
    if mutation == "bad_status":
        obs["status"] = "done"
    elif mutation == "unknown_field":
        obs["genotype"] = "*2/*2"
    elif mutation == "bad_reference":
        obs["subject"] = {"ref": "Patient/1"}  # (a bare string is not caught: R4 schema data types lack "type")
    elif mutation == "bad_instant":
        b["timestamp"] = "28/11/2026"
    else:
        obs["resourceType"] = "GenomicObservation"
    assert list(validator().iter_errors(b))
    if mutation == "unknown_type":  # the published schema sees it too (slow: once)
        assert list(strict_validator().iter_errors(b))


def _resources(bundle: dict) -> dict[str, dict]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def test_genomics_reporting_ig_shape(bundles):
    b = bundles["P00000000000000a1"]
    assert b["type"] == "collection"
    res = _resources(b)
    reports = [r for r in res.values() if r["resourceType"] == "DiagnosticReport"]
    assert len(reports) == 1
    report = reports[0]
    assert report["meta"]["profile"] == [IG + "genomics-report"]
    assert report["code"]["coding"][0] == {"system": "http://loinc.org", "code": "51969-4", "display": "Genetic analysis report"}
    # every reference resolves inside the Bundle
    refs = json.dumps(b)
    for url in set(part.split('"')[0] for part in refs.split('"reference": "')[1:]):
        assert url in res, url
    # genotype Observations: LOINC 84413-4, value "GENE diplotype"
    genotypes = [r for r in res.values() if r.get("meta", {}).get("profile") == [IG + "genotype"]]
    assert {r["component"][0]["valueCodeableConcept"]["text"] for r in genotypes} == {"CYP2C19", "CYP2D6", "DPYD", "TPMT"}
    c19 = next(r for r in genotypes if r["component"][0]["valueCodeableConcept"]["text"] == "CYP2C19")
    assert c19["code"]["coding"][0]["code"] == "84413-4" and c19["valueCodeableConcept"]["text"] == "CYP2C19 *2/*2"
    d6 = next(r for r in genotypes if r["component"][0]["valueCodeableConcept"]["text"] == "CYP2D6")
    assert "valueCodeableConcept" not in d6 and d6["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    # phenotype: therapeutic-implication with LOINC 53040-2
    phen = [r for r in res.values() if r.get("meta", {}).get("profile") == [IG + "therapeutic-implication"]
            and any(c["code"].get("coding", [{}])[0].get("code") == "53040-2" for c in r.get("component", []))
            and r["component"][0]["code"]["coding"][0]["code"] == "48018-6"]
    assert any(c["valueCodeableConcept"]["text"] == "Poor Metabolizer" for r in phen for c in r["component"])
    # medication recommendation: Task (requested, proposal) for clopidogrel with the CPIC text, linked from the report
    tasks = [r for r in res.values() if r["resourceType"] == "Task"]
    clop = [t for t in tasks if t["input"][0]["valueCodeableConcept"]["text"] == "clopidogrel"]
    assert len(clop) == 1 and clop[0]["description"] == CLOPIDOGREL_PM
    assert clop[0]["status"] == "requested" and clop[0]["intent"] == "proposal" and clop[0]["priority"] == "urgent"
    assert clop[0]["meta"]["profile"] == [IG + "medication-recommendation"]
    linked = {x["valueReference"]["reference"] for x in report["extension"] if x["url"] == IG + "recommended-action"}
    assert f"urn:uuid:{clop[0]['id']}" in linked
    implication = res[clop[0]["reasonReference"]["reference"]]
    assert implication["component"][0]["code"]["coding"][0]["code"] == "51963-7"


def test_ids_are_stable_and_unique(bundles):
    for bundle in bundles.values():
        urls = [e["fullUrl"] for e in bundle["entry"]]
        assert len(urls) == len(set(urls))
    a, b = bundles["P00000000000000a1"], bundles["P00000000000000b2"]
    assert not {e["fullUrl"] for e in a["entry"]} & {e["fullUrl"] for e in b["entry"]}
