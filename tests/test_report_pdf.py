"""PDF: rendered by WeasyPrint from the same HTML; its text (pdftotext, poppler) carries the diplotypes and recommendations."""
from __future__ import annotations

import re
import subprocess

from conftest import need_tool
from report_helpers import CLOPIDOGREL_PM, DPYD_AS1, rendered_fixture, report_path


def pdf_text(path, layout: bool = False) -> str:
    """pdftotext output: reading order (cell by cell) by default, or the physical layout."""
    args = [need_tool("pdftotext"), *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_pdf_text_has_diplotypes_and_recommendations(tmp_path_factory):
    fx = rendered_fixture(tmp_path_factory)
    pm = report_path(fx["fr"], "P00000000000000a1", ".pdf")
    assert pm.read_bytes()[:5] == b"%PDF-"
    text = pdf_text(pm)
    flat = _flat(text)
    for expected in ("*2/*2", "Reference/Reference", "*1/*1", "CYP2C19", "clopidogrel", "Métaboliseur lent",
                     "Rapport de pharmacogénomique", "Médicaments dont la prescription doit être adaptée"):
        assert expected in flat, expected
    # long cells wrap inside the table: compare the words, not the line breaks
    assert all(w in flat for w in CLOPIDOGREL_PM.split()), "clopidogrel recommendation missing from the PDF"
    dpyd = _flat(pdf_text(report_path(fx["fr"], "P00000000000000b2", ".pdf")))
    assert "c.1905+1G>A/Reference" in dpyd.replace(" ", "") or "c.1905+1G>A/Reference" in dpyd
    assert "50%" in dpyd and "titration" in dpyd and "fluorouracil" in dpyd and "capecitabine" in dpyd
    assert all(w in dpyd for w in DPYD_AS1.split()[:6])
    # A4 pages with "page / pages" numbers from the print stylesheet
    info = subprocess.run(["pdfinfo", str(pm)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89" in info or "595.28 x 841.89" in info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    first_page = pdf_text(pm, layout=True).split("\f")[0].rstrip()
    assert re.search(rf"\b1 ?/ ?{pages}$", first_page), "page number missing from page 1"
