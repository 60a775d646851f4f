"""hpcgen report on a contract-conforming pgx folder: layout, content, JSON schema, identity, injection, bad input."""
from __future__ import annotations

import json
import os
import stat
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from conftest import run_hpcgen
from report_helpers import (
    CLOPIDOGREL_PM, DPYD_AS1, EXPECTED_ACTIONABLE, INJECTION_IDS, SAMPLES, rendered_fixture, report_path,
    write_pgx_calls,
)

from hpcgen.fsutil import sha256_file
from hpcgen.pseudonym import generate_key_file, pseudonymize, write_mapping
from hpcgen.report.json_export import json_schema


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return rendered_fixture(tmp_path_factory)


class _Collect(HTMLParser):
    """Tags, attributes, and text per section id of an HTML page (stdlib parser: independent of our renderer)."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.section: str | None = None
        self.text: dict[str | None, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section":
            self.section = attrs.get("id")

    def handle_data(self, data):
        self.text.setdefault(self.section, []).append(data)


def parse(path: Path) -> _Collect:
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_layout_one_report_per_patient_all_formats(fx):
    out = fx["fr"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == "hpcgen.reports/1" and manifest["n_patients"] == len(SAMPLES)
    for sample in SAMPLES:
        for suffix in (".html", ".pdf", ".json", ".fhir.json"):
            assert report_path(out, sample, suffix).is_file(), (sample, suffix)
    # every file listed with its checksum, and nothing else in the folder
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {str(p.relative_to(out)) for p in (out / "patients").iterdir()}
    assert listed == on_disk
    for f in manifest["files"]:
        assert sha256_file(out / f["path"]) == f["sha256"]
    assert (out / "index.html").is_file()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".fr.")], "temporary folder left behind"


def test_actionable_section_lists_expected_drugs_first(fx):
    for sample, profile in SAMPLES.items():
        model = json.loads(report_path(fx["fr"], sample, ".json").read_text())
        assert {d["drug"] for d in model["actionable"]} == EXPECTED_ACTIONABLE[profile], sample
        page = parse(report_path(fx["fr"], sample, ".html"))
        rows = [a["data-drug"] for t, a in page.tags if t == "tbody" and "data-drug" in a]
        assert set(rows) == EXPECTED_ACTIONABLE[profile]
    # the recommendation text itself, in the actionable section (before the genotype table)
    html = report_path(fx["fr"], "P00000000000000a1", ".html").read_text()
    assert html.index(CLOPIDOGREL_PM) < html.index('id="genotypes"')
    html = report_path(fx["fr"], "P00000000000000b2", ".html").read_text()
    assert html.index(DPYD_AS1.replace(">", "&gt;")) < html.index('id="genotypes"')


def test_sections_in_clinician_order_and_accessible_tables(fx):
    html = report_path(fx["fr"], "P00000000000000a1", ".html").read_text()
    order = ["actionable", "genotypes", "drugs", "doses", "methods", "versions"]
    positions = [html.index(f'<section id="{s}"') for s in order]
    assert positions == sorted(positions)
    assert html.index('class="disclaimer"') > positions[-1]
    page = parse(report_path(fx["fr"], "P00000000000000a1", ".html"))
    tables = sum(1 for t, _ in page.tags if t == "table")
    captions = sum(1 for t, _ in page.tags if t == "caption")
    assert tables == captions >= 5
    assert all(a.get("scope") in ("col", "row", "rowgroup") for t, a in page.tags if t == "th")
    assert ("html", {"lang": "fr"}) in page.tags


def test_self_contained_html(fx):
    for page_path in [fx["fr"] / "index.html", *sorted((fx["fr"] / "patients").glob("*.html"))]:
        page = parse(page_path)
        for tag, attrs in page.tags:
            assert tag not in ("script", "link", "img", "iframe", "object", "embed"), (page_path, tag)
            for name in ("src", "href"):
                value = attrs.get(name) or ""
                assert not value.startswith(("http:", "https:", "//")), (page_path, tag, value)
        text = page_path.read_text()
        assert "@import" not in text and "url(" not in text.replace("url(#", "")


def test_dose_predictions_with_iwpc_baseline(fx):
    model = json.loads(report_path(fx["fr"], "P00000000000000a1", ".json").read_text())
    assert model["predictions"][0]["iwpc_dose_mg_week"] == pytest.approx(29.75)
    html = report_path(fx["fr"], "P00000000000000a1", ".html").read_text()
    assert "29,75 mg/semaine" in html and "31,5 mg/semaine" in html  # French decimal comma
    assert 'id="doses"' not in report_path(fx["fr"], "P00000000000000c3", ".html").read_text()


def test_json_reports_validate_against_the_documented_schema(fx):
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for sample in SAMPLES:
        doc = json.loads(report_path(fx["fr"], sample, ".json").read_text())
        validator.validate(doc)
        assert doc["patient"] == {"pseudonym": sample, "identifier": None}
    bad = dict(doc, schema="hpcgen.report/2")
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)


def test_injection_ids_neither_inject_markup_nor_escape_the_folder(fx):
    out = fx["fr"]
    root = out.resolve()
    for p in out.rglob("*"):
        assert root in p.resolve().parents or p.resolve() == root
    for fmt_dir in (fx["fr"], fx["en"]):
        for page_path in (fmt_dir / "patients").glob("*.html"):
            page = parse(page_path)
            assert not any(t == "script" for t, _ in page.tags), page_path
        index = (fmt_dir / "index.html").read_text()
        assert "<script>" not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    html = report_path(out, INJECTION_IDS[0], ".html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert not (out.parent / "etc").exists() and not Path("/etc/passwd.html").exists()
    doc = json.loads(report_path(out, INJECTION_IDS[1], ".json").read_text())
    assert doc["patient"]["pseudonym"] == "../../etc/passwd"  # kept verbatim as data, never used as a path


def test_real_identifier_only_with_verified_mapping(tmp_path):
    key = generate_key_file(tmp_path / "k.key")
    real = ["HOSP-0001", "HOSP-0002"]
    pseudo = pseudonymize(real, key.read_bytes().strip())
    calls = write_pgx_calls(tmp_path / "calls", {pseudo[0]: "pm", pseudo[1]: "normal"}, with_parquet=False)
    mapping = write_mapping(tmp_path / "ids.tsv", real, pseudo)
    # without the mapping: pseudonym only
    run_hpcgen("report", str(calls), "--out", str(tmp_path / "anon"), "--format", "html,json", check=True)
    assert "HOSP-0001" not in report_path(tmp_path / "anon", pseudo[0], ".html").read_text()
    # mapping without key: refused
    proc = run_hpcgen("report", str(calls), "--out", str(tmp_path / "x"), "--id-mapping", str(mapping))
    assert proc.returncode == 2 and "--key-file" in proc.stderr and not (tmp_path / "x").exists()
    # a key that does not reproduce the pseudonyms: refused, naming the file and line
    other = generate_key_file(tmp_path / "other.key")
    proc = run_hpcgen("report", str(calls), "--out", str(tmp_path / "x"), "--id-mapping", str(mapping), "--key-file", str(other))
    assert proc.returncode == 2 and "ids.tsv: record line 2" in proc.stderr and not (tmp_path / "x").exists()
    # both, verified: the real identifier appears inside, files are private, names stay pseudonymous
    run_hpcgen("report", str(calls), "--out", str(tmp_path / "named"), "--format", "html,json,fhir",
               "--id-mapping", str(mapping), "--key-file", str(key), check=True)
    html = report_path(tmp_path / "named", pseudo[0], ".html")
    assert "HOSP-0001" in html.read_text()
    assert json.loads(report_path(tmp_path / "named", pseudo[1], ".json").read_text())["patient"]["identifier"] == "HOSP-0002"
    assert "HOSP-0001" in report_path(tmp_path / "named", pseudo[0], ".fhir.json").read_text()
    assert stat.S_IMODE(os.stat(html).st_mode) == 0o600
    assert not any("HOSP" in p.name for p in (tmp_path / "named").rglob("*"))
    assert "HOSP" not in (tmp_path / "named" / "index.html").read_text()


def test_bad_input_one_line_exit_2_no_output(tmp_path):
    out = tmp_path / "out"
    proc = run_hpcgen("report", str(tmp_path / "nowhere"), "--out", str(out))
    assert proc.returncode == 2 and "manifest.json" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    calls = write_pgx_calls(tmp_path / "calls", {"P1": "pm"}, with_parquet=False)
    lines = (calls / "drugs.tsv").read_text().splitlines()
    lines[2] = lines[2].replace("\tTrue\t", "\tmaybe\t")
    (calls / "drugs.tsv").write_text("\n".join(lines) + "\n")
    proc = run_hpcgen("report", str(calls), "--out", str(out))
    assert proc.returncode == 2 and "drugs.tsv: record row 1" in proc.stderr and not out.exists()
    from report_helpers import write_predictions

    preds = write_predictions(tmp_path / "p.tsv", ["CHU-0001"])  # real IDs where pseudonyms belong
    good = write_pgx_calls(tmp_path / "good", {"P1": "pm"}, with_parquet=False)
    proc = run_hpcgen("report", str(good), "--out", str(out), "--predictions", str(preds))
    assert proc.returncode == 2 and "p.tsv" in proc.stderr and not out.exists()
    proc = run_hpcgen("report", str(calls), "--out", str(out), "--format", "html,docx")
    assert proc.returncode == 2 and "docx" in proc.stderr
    # a non-empty folder that is not a report output is never replaced
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("x")
    calls_ok = write_pgx_calls(tmp_path / "calls_ok", {"P1": "pm"})
    proc = run_hpcgen("report", str(calls_ok), "--out", str(precious), "--format", "json")
    assert proc.returncode == 2 and (precious / "thesis.tex").exists()


def test_rerun_replaces_cleanly_and_pdf_limit(tmp_path):
    calls = write_pgx_calls(tmp_path / "calls", {"P1": "pm", "P2": "dpyd", "P3": "normal"})
    out = tmp_path / "out"
    run_hpcgen("report", str(calls), "--out", str(out), "--format", "html,json", check=True)
    (out / "patients" / "stale.html").write_text("old")
    run_hpcgen("report", str(calls), "--out", str(out), "--format", "html,pdf", "--pdf-max-patients", "2",
               "--workers", "2", check=True)
    names = sorted(p.name for p in (out / "patients").iterdir())
    assert names == ["P1.html", "P1.pdf", "P2.html", "P2.pdf", "P3.html"]
    assert all((out / "patients" / n).read_bytes()[:5] == b"%PDF-" for n in ("P1.pdf", "P2.pdf"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
