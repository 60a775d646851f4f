"""Helpers for the report tests: a small pgx calls folder written to the contract, and a browser.

The fixture folder follows docs/CONTRACTS.md ("pgx") exactly as `hpcgen pgx call` writes it (TSV with a
leading ``#`` data-version line, Parquet, drugs with a recommendation_id and the texts in recommendations,
per-sample JSON with the texts inline, manifest), with clinically realistic calls:
CYP2C19 *2/*2 poor metabolizer (clopidogrel: alternative), DPYD activity score 1 (fluoropyrimidines at
50%), TPMT *1/*3A intermediate (thiopurines reduced), and hostile sample IDs for the injection tests.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from hpcgen.fsutil import safe_filename

DATA_VERSION = "test-2026.11"
GENE_COLUMNS = ["sample", "gene", "diplotype", "phenotype", "activity_score", "call_status", "missing_positions", "warnings", "source"]
DRUG_COLUMNS = ["sample", "drug", "source", "genes", "phenotypes", "recommendation", "classification", "implications",
                "actionable", "guideline_id", "guideline_version"]

CLOPIDOGREL_PM = ("Avoid standard dose clopidogrel if possible. Use prasugrel or ticagrelor at standard dose if no "
                  "contraindication.")
DPYD_AS1 = ("Reduce starting dose by 50% followed by titration of dose based on toxicity or therapeutic drug monitoring "
            "(if available).")
TPMT_IM = ("Start with reduced starting doses (30-80% of normal dose) if normal starting dose is >= 75 mg/m2/day or "
           ">= 1.5 mg/kg/day.")
NORMAL = "Use label-recommended dosage and administration."

INJECTION_IDS = ("<script>alert(1)</script>", "../../etc/passwd")


def _genes(sample: str, cyp2c19: tuple[str, str], dpyd: tuple[str, str, float], tpmt: tuple[str, str]) -> list[dict]:
    return [
        {"sample": sample, "gene": "CYP2C19", "diplotype": cyp2c19[0], "phenotype": cyp2c19[1], "activity_score": None,
         "call_status": "called", "missing_positions": [], "warnings": [], "source": "hpcgen-matcher"},
        {"sample": sample, "gene": "DPYD", "diplotype": dpyd[0], "phenotype": dpyd[1], "activity_score": dpyd[2],
         "call_status": "called", "missing_positions": ["chr1:97078987"], "warnings": [], "source": "hpcgen-matcher"},
        {"sample": sample, "gene": "TPMT", "diplotype": tpmt[0], "phenotype": tpmt[1], "activity_score": None,
         "call_status": "called", "missing_positions": [], "warnings": [], "source": "hpcgen-matcher"},
        {"sample": sample, "gene": "CYP2D6", "diplotype": None, "phenotype": None, "activity_score": None,
         "call_status": "not_called", "missing_positions": [], "warnings": ["no structural-variant call supplied"], "source": "hpcgen-matcher"},
    ]


def _drug(sample: str, drug: str, gene: str, phenotype: str, rec: str, cls: str, actionable: bool, gid: str, src: str = "CPIC") -> dict:
    return {"sample": sample, "drug": drug, "source": src, "genes": [gene], "phenotypes": [phenotype], "recommendation": rec,
            "classification": cls, "implications": f"{gene} {phenotype}", "actionable": actionable,
            "guideline_id": gid, "guideline_version": "2022-01"}


def fixture_rows(samples: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Gene and drug rows for ``samples``: pseudonym -> profile ("pm", "dpyd", "tpmt" or "normal")."""
    genes: list[dict] = []
    drugs: list[dict] = []
    for s, profile in samples.items():
        c19 = ("*2/*2", "Poor Metabolizer") if profile == "pm" else ("*1/*1", "Normal Metabolizer")
        dpyd = ("c.1905+1G>A/Reference", "Intermediate Metabolizer", 1.0) if profile == "dpyd" else ("Reference/Reference", "Normal Metabolizer", 2.0)
        tpmt = ("*1/*3A", "Intermediate Metabolizer") if profile == "tpmt" else ("*1/*1", "Normal Metabolizer")
        genes += _genes(s, c19, dpyd, tpmt)
        drugs.append(_drug(s, "clopidogrel", "CYP2C19", c19[1], CLOPIDOGREL_PM if profile == "pm" else NORMAL,
                           "Strong", profile == "pm", "PA166104948"))
        for drug in ("fluorouracil", "capecitabine"):
            drugs.append(_drug(s, drug, "DPYD", dpyd[1], DPYD_AS1 if profile == "dpyd" else NORMAL,
                               "Moderate" if profile == "dpyd" else "Strong", profile == "dpyd", "PA166109594"))
        drugs.append(_drug(s, "azathioprine", "TPMT", tpmt[1], TPMT_IM if profile == "tpmt" else NORMAL,
                           "Strong", profile == "tpmt", "PA166104933"))
        drugs.append(_drug(s, "codeine", "CYP2D6", "n/a", "No recommendation possible: CYP2D6 not called.",
                           "No recommendation", False, "PA166104996"))
    return genes, drugs


def write_pgx_calls(out: Path, samples: dict[str, str], *, with_parquet: bool = True) -> Path:
    """Write a pgx calls folder (contract "pgx") for ``samples``; return ``out``."""
    from hpcgen.pgx.outputs import split_recommendations

    out.mkdir(parents=True, exist_ok=True)
    genes, drugs = fixture_rows(samples)
    # drugs.tsv refers to recommendations.tsv by recommendation_id (schema hpcgen.pgx.drugs/2)
    drug_table, rec_table = split_recommendations(pd.DataFrame(drugs, columns=DRUG_COLUMNS))
    for stem, frame in (("genes", pd.DataFrame(genes, columns=GENE_COLUMNS)), ("drugs", drug_table),
                        ("recommendations", rec_table)):
        tsv = frame.copy()
        for col in ("missing_positions", "warnings", "genes", "phenotypes"):
            if col in tsv:
                tsv[col] = tsv[col].map(lambda v: ";".join(v))
        with open(out / f"{stem}.tsv", "w", encoding="utf-8") as fh:
            fh.write(f"# data_version={DATA_VERSION}\n")
            tsv.to_csv(fh, sep="\t", index=False)
        if with_parquet:
            frame.to_parquet(out / f"{stem}.parquet", index=False)
    (out / "samples").mkdir(exist_ok=True)
    for s in samples:
        doc = {"schema": "hpcgen.pgx.sample/1", "hpcgen_version": "0.1.0", "data_version": DATA_VERSION, "sample": s,
               "genes": [g for g in genes if g["sample"] == s], "drugs": [d for d in drugs if d["sample"] == s]}
        (out / "samples" / f"{safe_filename(s)}.json").write_text(json.dumps(doc), encoding="utf-8")
    manifest = {"schema": "hpcgen.pgx/1", "data_version": DATA_VERSION, "hpcgen_version": "0.1.0",
                "input": {"sha256": "0" * 64}, "n_samples": len(samples), "genes": ["CYP2C19", "CYP2D6", "DPYD", "TPMT"],
                "created": "2026-11-28T12:00:00+00:00"}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def write_predictions(path: Path, samples: list[str]) -> Path:
    """A predictions.tsv (contract "model") with warfarin doses for ``samples``."""
    rows = [{"sample": s, "drug": "warfarin", "model": "mlp", "model_version": "1", "predicted_dose_mg_week": 31.5 + i,
             "iwpc_dose_mg_week": 29.75 + i, "iwpc_clinical_dose_mg_week": 35.0, "unit": "mg/week"} for i, s in enumerate(samples)]
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def english_ui_strings() -> list[str]:
    """English msgids whose French differs (so their presence on a French page means untranslated text)."""
    from babel.messages.pofile import read_po

    from hpcgen.report.i18n import LOCALE_DIR

    with open(LOCALE_DIR / "fr" / "LC_MESSAGES" / "hpcgen.po", "rb") as fh:
        fr = read_po(fh, locale="fr")
    out = []
    for m in fr:
        if not m.id:
            continue
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        strings = (m.string,) if isinstance(m.string, str) else tuple(m.string)
        for msgid in ids:
            if msgid not in strings:
                # compare the literal parts around placeholders
                out.extend(part.strip() for part in re.split(r"%\(\w+\)[sd]", msgid) if len(part.strip()) >= 4)
    return sorted(set(out), key=len, reverse=True)


# ---------------------------------------------------------------- browser (Debian chromium through Playwright)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


# ---------------------------------------------------------------- rendered fixtures, built once per session
SAMPLES = {
    "P00000000000000a1": "pm",
    "P00000000000000b2": "dpyd",
    "P00000000000000c3": "tpmt",
    "P00000000000000d4": "normal",
    INJECTION_IDS[0]: "pm",
    INJECTION_IDS[1]: "dpyd",
}
EXPECTED_ACTIONABLE = {"pm": {"clopidogrel"}, "dpyd": {"fluorouracil", "capecitabine"}, "tpmt": {"azathioprine"}, "normal": set()}
_CACHE: dict[str, dict[str, Path]] = {}


def rendered_fixture(tmp_path_factory) -> dict[str, Path]:
    """The fixture calls folder rendered once per session through the real CLI.

    Returns paths: ``calls``, ``predictions``, ``fr`` (every format, French, predictions), ``en``
    (HTML + JSON, English).
    """
    if "fixture" not in _CACHE:
        from conftest import run_hpcgen

        base = tmp_path_factory.mktemp("report-fixture")
        calls = write_pgx_calls(base / "calls", SAMPLES)
        preds = write_predictions(base / "predictions.tsv", list(SAMPLES)[:2])
        run_hpcgen("report", str(calls), "--out", str(base / "fr"), "--predictions", str(preds), check=True)
        run_hpcgen("report", str(calls), "--out", str(base / "en"), "--lang", "en", "--format", "html,json", check=True)
        _CACHE["fixture"] = {"calls": calls, "predictions": preds, "fr": base / "fr", "en": base / "en", "base": base}
    return _CACHE["fixture"]


def report_path(out: Path, sample: str, suffix: str) -> Path:
    return out / "patients" / f"{safe_filename(sample)}{suffix}"

# text a clinician sees: the rendered page's innerText, without quoted guideline text (lang="en") and plots
VISIBLE_UI_TEXT_JS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('[lang="en"], style, svg').forEach(e => e.remove());
  document.documentElement.appendChild(body);   // innerText needs layout: attach, read, detach
  body.style.position = 'absolute'; body.style.left = '-99999px';
  const text = body.innerText;
  body.remove();
  return text;
}"""


class GuardedBrowser:
    """Headless Debian chromium (Playwright, no `playwright install`) that refuses every network request.

    Every request other than file: and data: is aborted and recorded in ``blocked``; JavaScript dialogs
    (an injected ``alert``) are recorded in ``dialogs``.
    """

    def __init__(self):
        import pytest

        from conftest import need_tool

        need_tool("chromium")
        pytest.importorskip("playwright")
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport={"width": 1100, "height": 900}, locale="fr-FR")
        self.blocked: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.context.on("request", lambda r: self.requests.append(r.url))

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: Path):
        page = self.context.new_page()
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.goto(path.resolve().as_uri(), wait_until="load")
        return page

    def external_requests(self) -> list[str]:
        return self.blocked + [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def close(self) -> None:
        self.context.close()
        self.browser.close()
        self._pw.stop()


def artifact_dir(tmp_path_factory) -> Path:
    """Where screenshots go: $HPCGEN_TEST_ARTIFACTS, else a folder in pytest's temporary base."""
    import os

    base = os.environ.get("HPCGEN_TEST_ARTIFACTS")
    out = Path(base) if base else tmp_path_factory.getbasetemp() / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    return out
