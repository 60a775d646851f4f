"""End to end: `hpcgen run --profile local` on a small demo cohort, the stages agreeing with each other.

This is the path `make demo` takes; its outputs are checked across stages (not only that it ran): the store
holds every patient of the VCF, each patient gets a report, PGx calls match the genotypes the generator
planted, predictions cover the clinical table, and a second run finds nothing to do.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import yaml

from conftest import run_hpcgen

SMALL = {
    "demo": {"samples": 60, "variants": 1500, "seed": 11},
    "report": {"formats": ["html", "json", "fhir"]},
}


def _tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t"))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, key_file):
    work = tmp_path_factory.mktemp("workflow")
    cfg = work / "small.yaml"
    cfg.write_text(yaml.safe_dump(SMALL))
    proc = run_hpcgen("run", "--profile", "local", "--configfile", str(cfg), "--workdir", str(work), "--cores", "2",
                      env={"HPCGEN_PSEUDONYM_KEY_FILE": str(key_file)})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return work, work / "demo-out" / "results", proc


def test_every_stage_produced_its_outputs(demo_run):
    _, out, proc = demo_run
    for rel in ["store/manifest.json", "qc/manifest.json", "pgx/manifest.json", "predictions/predictions.tsv",
                "reports/index.html", "impact/impact.json", "provenance.json"]:
        assert (out / rel).is_file(), rel
    assert "results are in" in proc.stdout
    impact = json.loads((out / "impact" / "impact.json").read_text())
    stages = {s["stage"]: s for s in impact["stages"]}
    assert {"ingest-shard", "qc", "pgx", "train", "report"} <= set(stages), sorted(stages)
    # every accounted stage used CPU time, and the totals add up
    assert all(s["cpu_hours"] > 0 for s in stages.values())
    assert abs(sum(s["cpu_hours"] for s in stages.values()) - impact["total"]["cpu_hours"]) < 1e-9


def test_stages_agree_on_the_patients(demo_run):
    work, out, _ = demo_run
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(out / "store")
    assert store.n_samples == SMALL["demo"]["samples"]
    pseudonyms = set(map(str, store.samples))
    genes = _tsv(out / "pgx" / "genes.tsv")
    assert {r["sample"] for r in genes} == pseudonyms
    reports = {p.stem for p in (out / "reports").rglob("*.html") if p.name != "index.html"}
    assert pseudonyms <= {r.split(".")[0] for r in reports} | reports
    preds = _tsv(out / "predictions" / "predictions.tsv")
    assert {r["sample"] for r in preds} <= pseudonyms and len(preds) > 0.8 * len(pseudonyms)
    # no real identifier leaks into shared outputs
    real = {r["sample_id"] for r in _tsv(out / "private" / "id_mapping.tsv")}
    text = (out / "pgx" / "genes.tsv").read_text() + (out / "reports" / "index.html").read_text()
    assert not any(rid in text for rid in real)
    assert oct(os.stat(out / "private" / "id_mapping.tsv").st_mode & 0o777) == "0o600"


def test_pgx_calls_match_the_planted_star_alleles(demo_run):
    work, out, _ = demo_run
    mapping = {r["sample_id"]: r["pseudonym"] for r in _tsv(out / "private" / "id_mapping.tsv")}
    truth = _tsv(work / "demo-out" / "data" / "pgx_truth.tsv")
    calls = {(r["sample"], r["gene"]): r for r in _tsv(out / "pgx" / "genes.tsv")}
    checked = agree = 0
    for t in truth:
        if t["gene"] not in {"CYP2C9", "VKORC1", "TPMT", "NUDT15", "CYP3A5"}:
            continue
        call = calls.get((mapping[t["sample"]], t["gene"]))
        if call is None or call["call_status"] != "called":
            continue
        checked += 1
        expected = sorted([t["allele1"], t["allele2"]])
        agree += sorted(call["diplotype"].split("/")) == expected
    assert checked > 100
    assert agree / checked > 0.95, f"{agree}/{checked} planted diplotypes recovered"


def test_second_run_has_nothing_to_do(demo_run, key_file):
    work, out, _ = demo_run
    before = (out / "store" / "manifest.json").stat().st_mtime_ns
    proc = run_hpcgen("run", "--profile", "local", "--configfile", str(work / "small.yaml"), "--workdir", str(work),
                      env={"HPCGEN_PSEUDONYM_KEY_FILE": str(key_file)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "store" / "manifest.json").stat().st_mtime_ns == before


def test_dry_run_on_a_slurm_profile_prints_sbatch(tmp_path, key_file):
    proc = run_hpcgen("run", "--profile", "devcluster", "--dry-run", "--workdir", str(tmp_path),
                      env={"HPCGEN_PSEUDONYM_KEY_FILE": str(key_file)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "#SBATCH" in proc.stdout and "ingest" in proc.stdout
