"""HTML rendering: one Jinja2 template per page kind, translated through gettext (jinja2.ext.i18n).

Autoescaping is on for every template, so a sample ID or a guideline text can never become markup;
the CSS is inlined so a page is one self-contained file (the hospital network has no internet).
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from hpcgen import __version__
from hpcgen.report.i18n import term, translations

TEMPLATES = Path(__file__).with_name("templates")
CSS_PATH = Path(__file__).with_name("static") / "report.css"
# guideline texts (CPIC, DPWG) are published in English: marked so for screen readers and hyphenation
DATA_LANG = "en"


@functools.lru_cache(maxsize=None)
def environment(lang: str) -> Environment:
    """The Jinja2 environment of ``lang``: autoescape on, undefined variables are errors, gettext installed."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)
    env.filters["term"] = functools.partial(_term_filter, lang)
    env.filters["datatext"] = _datatext_filter
    env.filters["num"] = functools.partial(_num_filter, lang)
    env.filters["pct"] = functools.partial(_pct_filter, lang)
    env.tests["no_rec"] = no_recommendation
    env.filters["no_rec"] = no_recommendation
    env.globals["css"] = Markup(CSS_PATH.read_text(encoding="utf-8"))
    env.globals["hpcgen_version"] = __version__
    env.globals["lang"] = lang
    return env


def no_recommendation(text: Any) -> bool:
    """True for the pgx stage's "no recommendation possible" (a gene the drug needs was not called)."""
    return str(text or "").strip().lower().startswith("no recommendation possible")


def _term_filter(lang: str, value: Any) -> Markup:
    """A data term in the report's language; an unknown one is shown as it is, marked as English."""
    if value is None or value == "":
        return Markup("—")
    text, known = term(lang, str(value))
    if known:
        return Markup("{}").format(text)
    return Markup('<span lang="{}">{}</span>').format(DATA_LANG, text)


def _datatext_filter(value: Any) -> Markup:
    """A guideline text quoted in its original language."""
    if value is None or value == "":
        return Markup("—")
    return Markup('<span lang="{}">{}</span>').format(DATA_LANG, str(value))


def _num_filter(lang: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    return format_decimal(float(value), format="#,##0.##", locale=lang)


def _pct_filter(lang: str, value: float) -> str:
    return format_percent(value, format="#,##0.#%", locale=lang)


def display_time(generated: str, lang: str) -> str:
    """The ISO timestamp as a clinician reads it in ``lang`` (UTC)."""
    when = dt.datetime.fromisoformat(generated.replace("Z", "+00:00"))
    return format_datetime(when, format="medium", tzinfo=dt.timezone.utc, locale=lang) + " UTC"


def render_patient(model: dict[str, Any], lang: str) -> str:
    """One patient's report as a self-contained HTML page."""
    template = environment(lang).get_template("patient.html.j2")
    return template.render(r=model, generated_display=display_time(model["generated"], lang))


def render_cohort(summary: dict[str, Any], plots: dict[str, Markup | None], lang: str, generated: str) -> str:
    """The cohort summary page (``index.html``)."""
    template = environment(lang).get_template("cohort.html.j2")
    return template.render(c=summary, plots=plots, generated_display=display_time(generated, lang))
