"""Translations: gettext catalogs (``locale/<lang>/LC_MESSAGES/hpcgen.po``) compiled in memory with Babel.

The ``.po`` files are the one source of truth; they are compiled when first used (a few milliseconds),
so no stale ``.mo`` can ever ship. The template marks its text with ``{% trans %}`` / ``_()``; the
vocabulary of the data (CPIC phenotypes, strengths, call status) is marked below with ``N_`` so that
``pybabel extract`` and the tests see it too.
"""
from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hpcgen.errors import InputError

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "hpcgen"
LANGUAGES = ("fr", "en")
DEFAULT_LANG = "fr"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a string for extraction without translating it now."""
    return message


# Terms that come from the reference data (PharmCAT / CPIC / DPWG tables) and are shown to clinicians.
DATA_TERMS: tuple[str, ...] = (
    N_("Normal Metabolizer"), N_("Intermediate Metabolizer"), N_("Poor Metabolizer"),
    N_("Rapid Metabolizer"), N_("Ultrarapid Metabolizer"), N_("Likely Intermediate Metabolizer"),
    N_("Likely Poor Metabolizer"), N_("Possible Intermediate Metabolizer"), N_("Indeterminate"),
    N_("Normal Function"), N_("Decreased Function"), N_("Poor Function"), N_("Increased Function"),
    N_("Possible Decreased Function"), N_("Normal"), N_("Deficient"), N_("Deficient with CNSHA"),
    N_("Variable"), N_("Malignant Hyperthermia Susceptibility"), N_("Uncertain Susceptibility"),
    N_("ivacaftor responsive in CF patients"), N_("ivacaftor non-responsive in CF patients"),
    N_("increased risk of aminoglycoside-induced hearing loss"),
    N_("normal risk of aminoglycoside-induced hearing loss"),
    N_("uncertain risk of aminoglycoside-induced hearing loss"),
    N_("Positive"), N_("Negative"), N_("No Result"), N_("n/a"),
    # recommendation strength (CPIC) / classification
    N_("Strong"), N_("Moderate"), N_("Optional"), N_("No recommendation"), N_("N/A"),
    # call status (contract "pgx")
    N_("called"), N_("not_called"), N_("outside_call"),
    # call source
    N_("hpcgen-matcher"), N_("outside"), N_("cnv"),
)
_KNOWN_TERMS = frozenset(DATA_TERMS)


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``lang`` ("fr" or "en").

    Raises
    ------
    InputError
        Unknown language, or its catalog is missing.
    """
    if lang not in LANGUAGES:
        raise InputError(f"unknown report language {lang!r} (choose one of {', '.join(LANGUAGES)})")
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with open(po_path, "rb") as fh:
            catalog = read_po(fh, locale=lang, domain=DOMAIN)
    except OSError as exc:
        raise InputError(f"translation catalog missing ({exc.strerror})", po_path) from None
    buf = io.BytesIO()
    # fuzzy entries are never used: a doubtful translation is an untranslated one (the tests fail on it)
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def term(lang: str, value: str | None) -> tuple[str, bool]:
    """Translate a data term; returns (text, translated?). Unknown terms come back as they are."""
    if value is None:
        return "", True
    if value not in _KNOWN_TERMS:
        return value, False
    return translations(lang).gettext(value), True
