"""End to end on the demo cohort: real `hpcgen pgx call` output -> `hpcgen report`, checked against the demo's truth.

The truth (pgx_truth.tsv: real sample IDs and the star alleles written into the VCF) is mapped to
pseudonyms with the ingest mapping; the expected actionable drugs follow from CPIC's rules applied to
the truth alleles here, independently of the pgx stage:

- CYP2C19 with a no-function allele (*2, *3) -> clopidogrel actionable; without one -> not actionable;
- DPYD with a decreased or no-function variant (HapB3, c.2846A>T, c.1905+1G>A, c.1679T>G) -> fluorouracil
  and capecitabine actionable (activity score <= 1.5); without one -> neither;
- TPMT with a no-function allele (*2, *3A, *3B, *3C, *4) -> azathioprine, mercaptopurine, thioguanine
  actionable (the converse does not hold: NUDT15 also acts on them).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from conftest import need_tool, run_hpcgen
from report_helpers import VISIBLE_UI_TEXT_JS, GuardedBrowser, artifact_dir, english_ui_strings, report_path

from hpcgen.pseudonym import read_mapping

CYP2C19_NO_FUNCTION = {"*2", "*3"}
TPMT_NO_FUNCTION = {"*2", "*3A", "*3B", "*3C", "*4"}
DPYD_DECREASED = ("HapB3", "c.2846A>T", "c.1905+1G>A", "c.1679T>G")
FLUOROPYRIMIDINES = {"fluorouracil", "capecitabine"}
THIOPURINES = {"azathioprine", "mercaptopurine", "thioguanine"}


@pytest.fixture(scope="module")
def demo_reports(demo_cohort, demo_store, key_file, tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("report-demo")
    run_hpcgen("pgx", "call", str(demo_store), "--out", str(base / "pgx"), check=True)
    mapping = demo_store.parent / "ids.tsv"
    run_hpcgen("report", str(base / "pgx"), "--out", str(base / "reports"), "--format", "html,json,fhir,pdf",
               "--pdf-max-patients", "2", "--id-mapping", str(mapping), "--key-file", str(key_file), check=True)
    real_to_pseudo = {real: p for p, real in read_mapping(mapping).items()}
    truth = pd.read_csv(demo_cohort["pgx_truth"], sep="\t", dtype=str, keep_default_na=False)
    truth["pseudonym"] = truth["sample"].map(real_to_pseudo)
    assert truth["pseudonym"].notna().all(), "truth sample missing from the ingest mapping"
    return {"pgx": base / "pgx", "out": base / "reports", "truth": truth, "mapping": real_to_pseudo}


def expectations(truth: pd.DataFrame) -> dict[str, dict[str, bool | None]]:
    """pseudonym -> {drug: True (must be actionable) / False (must not be)}."""
    exp: dict[str, dict[str, bool]] = {}
    for row in truth.itertuples():
        alleles = {row.allele1, row.allele2}
        e = exp.setdefault(row.pseudonym, {})
        if row.gene == "CYP2C19":
            e["clopidogrel"] = bool(alleles & CYP2C19_NO_FUNCTION)
        elif row.gene == "DPYD":
            dec = any(k in a for a in alleles for k in DPYD_DECREASED)
            e.update({d: dec for d in FLUOROPYRIMIDINES})
        elif row.gene == "TPMT" and alleles & TPMT_NO_FUNCTION:
            e.update({d: True for d in THIOPURINES})
    return exp


def test_actionable_sections_match_the_truth(demo_reports):
    exp = expectations(demo_reports["truth"])
    out = demo_reports["out"]
    positives = {d: 0 for d in ("clopidogrel", "fluorouracil", "azathioprine")}
    for pseudonym, drugs in exp.items():
        model = json.loads(report_path(out, pseudonym, ".json").read_text())
        actionable = {d["drug"] for d in model["actionable"]}
        html = report_path(out, pseudonym, ".html").read_text()
        section = html[html.index('<section id="actionable"'):html.index('<section id="genotypes"')]
        in_html = set(re.findall(r'<tbody class="drug" data-drug="([^"]+)"', section))
        assert in_html == actionable, pseudonym
        for drug, must in drugs.items():
            assert (drug in actionable) == must, f"{pseudonym}: {drug} actionable={drug in actionable}, truth says {must}"
            if must and drug in positives:
                positives[drug] += 1
    # the demo does hold patients of each kind (else this test would prove nothing)
    assert all(n >= 1 for n in positives.values()), positives


def test_real_identifier_inside_only(demo_reports):
    out = demo_reports["out"]
    real, pseudonym = next(iter(demo_reports["mapping"].items()))
    assert real in report_path(out, pseudonym, ".html").read_text()
    assert json.loads(report_path(out, pseudonym, ".json").read_text())["patient"]["identifier"] == real
    assert not any(real in p.name for p in out.rglob("*"))
    assert real not in (out / "index.html").read_text() and real not in (out / "manifest.json").read_text()


def test_demo_json_and_fhir_validate(demo_reports):
    from hpcgen.report.json_export import json_schema
    from test_report_fhir import validator

    out = demo_reports["out"]
    jv = jsonschema.Draft202012Validator(json_schema())
    pseudonyms = sorted(demo_reports["truth"]["pseudonym"].unique())
    for p in pseudonyms:
        jv.validate(json.loads(report_path(out, p, ".json").read_text()))
    for p in pseudonyms[:2]:
        errors = list(validator().iter_errors(json.loads(report_path(out, p, ".fhir.json").read_text())))
        assert not errors, errors[0].message[:300]


def test_demo_pdf_has_diplotypes(demo_reports):
    out = demo_reports["out"]
    pdfs = sorted((out / "patients").glob("*.pdf"))
    assert len(pdfs) == 2
    pseudonym = pdfs[0].name[: -len(".pdf")]
    text = re.sub(r"\s+", " ", subprocess.run([need_tool("pdftotext"), str(pdfs[0]), "-"], capture_output=True, text=True, check=True).stdout)
    # a long diplotype may wrap inside its cell, and pdftotext drops a hyphen that ends a line ("A-" of G6PD)
    packed = text.replace(" ", "").replace("-", "")
    model = json.loads(report_path(out, pseudonym, ".json").read_text())
    for g in model["genes"]:
        if g["diplotype"] and len(g["diplotype"]) < 30:
            assert g["diplotype"].replace(" ", "").replace("-", "") in packed, (g["gene"], g["diplotype"])
    for d in model["actionable"][:3]:
        words = d["recommendation"].split()[:8]
        assert " ".join(words) in text, d["drug"]


def test_demo_reports_in_the_browser(demo_reports, tmp_path_factory):
    exp = expectations(demo_reports["truth"])
    out = demo_reports["out"]
    # one patient of each kind: CYP2C19 no-function, DPYD decreased, TPMT no-function, and none of these
    picks = {}
    for p, drugs in sorted(exp.items()):
        for key in ("clopidogrel", "fluorouracil", "azathioprine"):
            if drugs.get(key) and key not in picks:
                picks[key] = p
        if not any(drugs.values()) and "none" not in picks:
            picks["none"] = p
    assert len(picks) == 4, picks
    english = english_ui_strings()
    browser = GuardedBrowser()
    try:
        for kind, p in picks.items():
            page = browser.open(report_path(out, p, ".html"))
            section = page.locator("#actionable")
            drugs = {t.strip() for t in section.locator("tbody th[scope=rowgroup]").all_inner_texts()}
            for drug, must in exp[p].items():
                assert (drug in drugs) == must, (kind, p, drug)
            text = page.evaluate(VISIBLE_UI_TEXT_JS)
            found = [s for s in english if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", text)]
            assert not found, f"{p}: untranslated {found[:5]}"
            if kind == "clopidogrel":
                shot = artifact_dir(tmp_path_factory) / "report-demo-patient-fr.png"
                page.screenshot(path=str(shot), full_page=False)
                print(f"screenshot: {shot}")
            page.close()
        page = browser.open(out / "index.html")
        n = int(page.locator("[data-field=n-patients]").inner_text())
        assert n == len(exp)
        page.close()
        assert browser.external_requests() == [] and browser.dialogs == []
    finally:
        browser.close()


def test_cohort_summary_counts_match_the_tables(demo_reports):
    """index.html's counts, recomputed with pandas from the pgx tables."""
    drugs = pd.read_parquet(demo_reports["pgx"] / "drugs.parquet")
    genes = pd.read_parquet(demo_reports["pgx"] / "genes.parquet")
    actionable = drugs[drugs["actionable"].astype(str).str.lower() == "true"]
    per_drug = actionable.groupby("drug")["sample"].nunique().to_dict()
    html = (demo_reports["out"] / "index.html").read_text()
    section = html[html.index('<section id="actionable-drugs"'):html.index('<section id="phenotypes"')]
    shown = {d: int(n) for d, n in re.findall(r'<tr data-drug="([^"]+)"><th scope="row">[^<]*</th><td>(\d+)</td>', section)}
    assert shown == per_drug
    n_act = actionable["sample"].nunique()
    assert f'<dd data-field="n-actionable">{n_act}</dd>' in html
    # phenotype counts: every (gene, phenotype) pair of genes.tsv with its number of patients
    counts = genes.assign(phenotype=genes["phenotype"].replace("", None).fillna("Indeterminate")) \
        .groupby(["gene", "phenotype"])["sample"].nunique()
    cell = r'<td>(?:[^<]|<span[^>]*>[^<]*</span>)*</td>'  # an untranslated term comes in a lang="en" span
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>' + cell + r'<td>(\d+)</td>', html[html.index('<section id="phenotypes"'):])
    assert sorted(int(n) for _g, n in rows) == sorted(counts.tolist())
    assert {g for g, _n in rows} == set(genes["gene"])


def test_cohort_summary_flags_no_drug_for_everyone(demo_reports):
    """Actionable means "differs from the reference genotype": no drug is flagged for every patient (PPIs and
    ivacaftor were, when the flag was the recommendation's own dosing / alternate-drug flags)."""
    html = (demo_reports["out"] / "index.html").read_text()
    n = int(re.search(r'data-field="n-patients">(\d+)<', html).group(1))
    section = html[html.index('<section id="actionable-drugs"'):html.index('<section id="phenotypes"')]
    row = r'<tr data-drug="([^"]+)"><th scope="row">[^<]*</th><td>(\d+)</td>'
    shown = {d: int(k) for d, k in re.findall(row, section)}
    assert shown and max(shown.values()) < n, shown
    assert "ivacaftor" not in shown  # the demo's CFTR calls are all the reference (non-responsive)
    genes = pd.read_parquet(demo_reports["pgx"] / "genes.parquet")
    cyp2c19 = genes[genes.gene == "CYP2C19"].phenotype
    changed = cyp2c19.isin({"Intermediate Metabolizer", "Likely Intermediate Metabolizer", "Poor Metabolizer",
                            "Likely Poor Metabolizer", "Ultrarapid Metabolizer"}).sum()
    assert shown.get("omeprazole", 0) == changed
