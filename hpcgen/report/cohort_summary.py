"""The cohort summary: phenotype frequencies per gene and actionable patients per drug, with plots.

Plots are matplotlib SVG inlined in the page (no image files, no external references); the same
numbers are given as tables, which is what screen readers and the tests read.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

from markupsafe import Markup

from hpcgen.report.calls import CallSet
from hpcgen.report.i18n import term, translations


def summarize(calls: CallSet) -> dict[str, Any]:
    """Counts over every sample of ``calls``.

    Returns
    -------
    dict
        ``n_patients``, ``n_actionable_patients``, ``actionable_per_drug`` (drug, n, fraction; most
        frequent first), ``phenotype_counts`` (gene, phenotype, n, fraction; by gene then count),
        ``data_version``. Fractions are of all patients (0-1).
    """
    n = len(calls.samples)
    per_drug: Counter[str] = Counter()
    actionable_patients = 0
    for sample in calls.samples:
        drugs = {d["drug"] for d in calls.drugs.get(sample, []) if d["actionable"]}
        per_drug.update(drugs)
        actionable_patients += bool(drugs)
    phen: Counter[tuple[str, str]] = Counter()
    for sample in calls.samples:
        for g in calls.genes.get(sample, []):
            phen[(g["gene"], g["phenotype"] or "Indeterminate")] += 1
    denom = max(n, 1)
    return {
        "n_patients": n,
        "n_actionable_patients": actionable_patients,
        "actionable_per_drug": [
            {"drug": d, "n": k, "fraction": k / denom} for d, k in sorted(per_drug.items(), key=lambda x: (-x[1], x[0]))
        ],
        "phenotype_counts": [
            {"gene": g, "phenotype": p, "n": k, "fraction": k / denom}
            for (g, p), k in sorted(phen.items(), key=lambda x: (x[0][0], -x[1], x[0][1]))
        ],
        "data_version": calls.data_version,
    }


def _svg(fig, title: str) -> Markup:
    """A figure as inline SVG with an accessible name; the XML prologue and DOCTYPE removed."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # role + aria-label: the plot is an image whose alternative is the table below it
    label = str(Markup.escape(title))  # plain str: concatenating to a Markup would escape the tag itself
    text = re.sub(r"<svg\b", lambda _m: f'<svg role="img" aria-label="{label}"', text, count=1)
    return Markup(text)


# phenotype colours by meaning, so that the same colour reads the same on every gene
_PALETTE = (
    (("ultrarapid", "rapid", "increased"), "#3b6fb6"),
    (("poor", "deficient", "malignant", "increased risk"), "#b03a2e"),
    (("intermediate", "decreased", "uncertain", "variable"), "#e0a030"),
    (("normal", "responsive", "negative"), "#4c9a5b"),
    (("indeterminate", "n/a", "no result"), "#b0b7c3"),
)


def _colour(phenotype: str, fallback: str) -> str:
    low = phenotype.lower()
    if "non-responsive" in low or "positive" in low:
        return "#b03a2e"
    for words, colour in _PALETTE:
        if any(w in low for w in words):
            return colour
    return fallback


def plots(summary: dict[str, Any], lang: str, max_drugs: int = 25) -> dict[str, Markup | None]:
    """Two inline SVG plots: actionable patients per drug, phenotype shares per gene."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    matplotlib.rcParams["svg.hashsalt"] = "hpcgen"  # stable element ids: identical input, identical page
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
    gettext = translations(lang).gettext
    out: dict[str, Markup | None] = {"drugs": None, "phenotypes": None}

    rows = summary["actionable_per_drug"][:max_drugs]
    if rows:
        fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.0))
        ax.barh([r["drug"] for r in rows][::-1], [r["n"] for r in rows][::-1], color="#8a1c0b")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(gettext("Patients"))
        ax.spines[["top", "right"]].set_visible(False)
        out["drugs"] = _svg(fig, gettext("Actionable patients per drug"))

    counts = summary["phenotype_counts"]
    if counts:
        genes = sorted({r["gene"] for r in counts})
        # likely-to-matter phenotypes first in the legend: poor, intermediate, normal, rapid, undetermined
        order = {c: i for i, (_w, c) in enumerate(_PALETTE)}
        phenos = sorted({r["phenotype"] for r in counts}, key=lambda p: (order.get(_colour(p, ""), 9), p))
        cmap = plt.get_cmap("tab20")
        fig, ax = plt.subplots(figsize=(6.0, 0.3 * len(genes) + 1.2))
        left = [0.0] * len(genes)
        for i, p in enumerate(phenos):
            widths = [next((r["fraction"] for r in counts if r["gene"] == g and r["phenotype"] == p), 0.0) for g in genes]
            ax.barh(genes, widths, left=left, color=_colour(p, cmap(i % 20)), edgecolor="white", linewidth=0.5,
                    label=term(lang, p)[0])
            left = [a + b for a, b in zip(left, widths)]
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(gettext("Share of the cohort"))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        out["phenotypes"] = _svg(fig, gettext("Phenotype frequencies per gene"))
    return out
