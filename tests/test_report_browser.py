"""The reports in a real browser (headless Debian chromium): what a clinician sees, in French, with no network."""
from __future__ import annotations

import re

import pytest
from report_helpers import (
    CLOPIDOGREL_PM, EXPECTED_ACTIONABLE, SAMPLES, VISIBLE_UI_TEXT_JS, GuardedBrowser, artifact_dir, english_ui_strings,
    rendered_fixture, report_path,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    b = GuardedBrowser()
    yield b
    b.close()


def test_clinician_view_of_every_report(browser, tmp_path_factory):
    fx = rendered_fixture(tmp_path_factory)
    english = english_ui_strings()
    for sample, profile in SAMPLES.items():
        page = browser.open(report_path(fx["fr"], sample, ".html"))
        assert page.title().startswith("Rapport de pharmacogénomique")
        section = page.locator("#actionable")
        assert section.locator("h2").inner_text() == "Médicaments dont la prescription doit être adaptée"
        drugs = {t.strip() for t in section.locator("tbody th[scope=rowgroup]").all_inner_texts()}
        assert drugs == EXPECTED_ACTIONABLE[profile], sample
        if profile == "pm":
            assert CLOPIDOGREL_PM in section.inner_text()
            assert "Métaboliseur lent" in section.inner_text()
        if not drugs:
            assert "Aucun médicament" in section.inner_text()
        # the patient's ID is shown as text, whatever characters it holds
        assert page.locator("[data-field=pseudonym]").inner_text() == sample
        ui_text = page.evaluate(VISIBLE_UI_TEXT_JS)
        found = [s for s in english if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", ui_text)]
        assert not found, f"{sample}: untranslated text {found[:5]}"
        page.close()
    assert browser.dialogs == [], "a script ran in a report"
    assert browser.external_requests() == [], "a report tried to reach the network"


def test_cohort_summary_and_screenshots(browser, tmp_path_factory):
    fx = rendered_fixture(tmp_path_factory)
    out = artifact_dir(tmp_path_factory)
    page = browser.open(fx["fr"] / "index.html")
    assert page.locator("[data-field=n-patients]").inner_text() == str(len(SAMPLES))
    n_actionable = sum(1 for p in SAMPLES.values() if EXPECTED_ACTIONABLE[p])
    assert page.locator("[data-field=n-actionable]").inner_text() == str(n_actionable)
    clop = page.locator('#actionable-drugs tr[data-drug="clopidogrel"] td').first.inner_text()
    assert clop == str(sum(1 for p in SAMPLES.values() if "clopidogrel" in EXPECTED_ACTIONABLE[p]))
    assert page.locator("figure svg[role=img]").count() == 2
    # every link from the index opens a report inside the output folder
    hrefs = page.locator("#patients a").evaluate_all("els => els.map(e => e.href)")
    assert hrefs and all(h.startswith(fx["fr"].resolve().as_uri() + "/patients/") for h in hrefs)
    page.screenshot(path=str(out / "report-cohort-fr.png"), full_page=True)
    page.close()
    page = browser.open(report_path(fx["fr"], "P00000000000000a1", ".html"))
    shot = out / "report-patient-fr.png"
    page.screenshot(path=str(shot), full_page=True)
    # print preview: the print stylesheet applies (Chromium's own PDF, as a second opinion on WeasyPrint)
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-"
    page.close()
    print(f"screenshots: {shot} and {out / 'report-cohort-fr.png'}")
    assert shot.stat().st_size > 10_000
    assert browser.external_requests() == []
