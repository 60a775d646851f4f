"""Translations: every string of the templates and code is in both catalogs, and no page shows untranslated UI text."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from report_helpers import english_ui_strings, rendered_fixture

from hpcgen.report import i18n

REPORT_PKG = i18n.LOCALE_DIR.parent
METHOD_MAP = [("**/templates/**.j2", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _extracted() -> set[str | tuple[str, str]]:
    ids = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(REPORT_PKG, METHOD_MAP, OPTIONS, keywords=KEYWORDS):
        ids.add(msg if isinstance(msg, str) else tuple(msg))
    return ids


def _catalog(lang: str):
    with open(i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "hpcgen.po", "rb") as fh:
        return read_po(fh, locale=lang)


def test_extraction_finds_the_template_strings():
    ids = _extracted()
    assert len(ids) > 80 and "Drug" in ids and "Poor Metabolizer" in ids


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_msgid_translated_no_fuzzy_no_obsolete(lang):
    ids = _extracted()
    cat = _catalog(lang)
    in_catalog = {m.id if isinstance(m.id, str) else tuple(m.id) for m in cat if m.id}
    missing = ids - in_catalog
    assert not missing, f"{lang}: msgids missing from the catalog (run pybabel update, then translate): {sorted(map(str, missing))}"
    obsolete = in_catalog - ids
    assert not obsolete, f"{lang}: catalog entries no longer used: {sorted(map(str, obsolete))}"
    for m in cat:
        if not m.id:
            continue
        assert not m.fuzzy, f"{lang}: fuzzy translation for {m.id!r}"
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert len(strings) == (cat.num_plurals if m.pluralizable else 1), m.id
        assert all(s and s.strip() for s in strings), f"{lang}: empty translation for {m.id!r}"
        # placeholders must survive translation
        for s in strings:
            src = m.id if isinstance(m.id, str) else m.id[1]
            assert set(re.findall(r"%\(\w+\)[sd]", s)) == set(re.findall(r"%\(\w+\)[sd]", src)), (lang, m.id, s)


class _VisibleText(HTMLParser):
    """Text of a page outside <style> and outside elements marked lang="en" (quoted guideline text)."""

    VOID = {"br", "meta", "img", "hr", "input", "link", "wbr", "col", "area", "base", "source"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        self.stack.append((tag, tag in ("style", "svg") or (tag != "html" and attrs.get("lang") == "en")))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._skipping():
            self.chunks.append(data)


def visible_text(html: str) -> str:
    p = _VisibleText()
    p.feed(html)
    return re.sub(r"\s+", " ", " ".join(p.chunks))


def test_french_pages_show_no_english_ui_text(tmp_path_factory):
    fx = rendered_fixture(tmp_path_factory)
    english = english_ui_strings()
    assert "Drugs requiring a change of prescription" in english
    pages = [fx["fr"] / "index.html", *sorted((fx["fr"] / "patients").glob("*.html"))]
    for page in pages:
        text = visible_text(page.read_text(encoding="utf-8"))
        found = [s for s in english if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", text)]
        assert not found, f"{page.name}: untranslated UI text {found[:5]}"
    # and the English rendering is English (the control: the check can see a language)
    text = visible_text((fx["en"] / "patients" / "P00000000000000a1.html").read_text())
    assert "Drugs requiring a change of prescription" in text and "Médicament" not in text


def test_data_terms_translated_in_french(tmp_path_factory):
    fx = rendered_fixture(tmp_path_factory)
    text = visible_text((fx["fr"] / "patients" / "P00000000000000a1.html").read_text())
    assert "Métaboliseur lent" in text and "Poor Metabolizer" not in text
    assert i18n.term("fr", "Some New Phenotype") == ("Some New Phenotype", False)
