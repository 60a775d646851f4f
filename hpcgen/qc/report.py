"""The QC report page: one self-contained HTML file (inline PNG plots, no external resources)."""
from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
import pandas as pd


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(variants: pd.DataFrame, samples: pd.DataFrame, pcs: pd.DataFrame | None, cfg) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs: dict[str, str] = {}
    # allele frequency spectrum (polymorphic variants)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    maf = variants["maf"].to_numpy()
    maf = maf[np.isfinite(maf) & (maf > 0)]
    ax.hist(maf, bins=50, range=(0, 0.5), color="#3b6ea5")
    ax.axvline(cfg.min_maf, color="#c0392b", ls="--", lw=1, label=f"min MAF {cfg.min_maf:g}")
    ax.set_xlabel("minor allele frequency")
    ax.set_ylabel("variants")
    ax.set_title(f"Allele frequency spectrum ({len(maf)} polymorphic variants)")
    ax.legend(frameon=False)
    figs["Allele frequency spectrum"] = _png(fig)
    # HWE QQ plot
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    obs = variants["hwe_log10p"].to_numpy()
    obs = np.sort(obs[np.isfinite(obs) & (variants["maf"].to_numpy() > 0)])[::-1]
    if len(obs):
        exp = -np.log10((np.arange(1, len(obs) + 1) - 0.5) / len(obs))
        ax.scatter(exp, obs, s=4, color="#3b6ea5")
        top = max(exp.max(), 1.0)
        ax.plot([0, top], [0, top], color="grey", lw=1)
        ax.axhline(-np.log10(cfg.hwe_p) if cfg.hwe_p > 0 else 0, color="#c0392b", ls="--", lw=1)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p (HWE exact" + (", mid-p)" if cfg.hwe_midp else ")"))
    ax.set_title("Hardy-Weinberg QQ plot")
    figs["HWE QQ plot"] = _png(fig)
    # sample call rate
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    cr = samples["call_rate"].to_numpy()
    ax.hist(cr[np.isfinite(cr)], bins=40, color="#3b6ea5")
    ax.axvline(cfg.min_call_rate, color="#c0392b", ls="--", lw=1, label=f"min call rate {cfg.min_call_rate:g}")
    ax.set_xlabel("call rate")
    ax.set_ylabel("samples")
    ax.set_title("Sample call rate")
    ax.legend(frameon=False)
    figs["Sample call rate"] = _png(fig)
    # heterozygosity: inbreeding F against call rate
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.scatter(samples["call_rate"], samples["inbreeding_f"], s=6, color="#3b6ea5")
    ax.set_xlabel("call rate")
    ax.set_ylabel("inbreeding F (plink2 --het)")
    ax.set_title("Heterozygosity")
    figs["Heterozygosity"] = _png(fig)
    if pcs is not None and "PC2" in pcs:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        groups = pcs["ancestry"].fillna("unknown") if "ancestry" in pcs else pd.Series(["all"] * len(pcs))
        for name in sorted(groups.unique()):
            sel = (groups == name).to_numpy()
            ax.scatter(pcs.loc[sel, "PC1"], pcs.loc[sel, "PC2"], s=8, label=str(name))
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
        ax.set_title("PCA" + (" by ancestry group" if "ancestry" in pcs else ""))
        ax.legend(frameon=False, fontsize=8, markerscale=2)
        figs["PCA by ancestry group" if "ancestry" in pcs else "PCA"] = _png(fig)
    return figs


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_report(variants: pd.DataFrame, samples: pd.DataFrame, pcs: pd.DataFrame | None,
                  eigen: pd.DataFrame | None, kinship: pd.DataFrame | None, summary: dict[str, Any], cfg) -> str:
    """The report page as one HTML string (plots inlined as base64 PNG)."""
    figs = _figures(variants, samples, pcs, cfg)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>hpcgen QC report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "figure{display:inline-block;margin:0.5em}figcaption{font-size:90%;color:#555}</style></head><body>",
        "<h1>Cohort QC report</h1>",
        "<p>Sample identifiers are pseudonyms. Computed by hpcgen qc; definitions follow plink2 "
        "(--freq, --missing, --hardy, --het, --make-king-table, --pca) and bcftools stats (Ti/Tv).</p>",
        "<h2>Summary</h2>", _table(list(summary.items())),
        "<h2>Plots</h2>",
    ]
    for title, uri in figs.items():
        parts.append(f"<figure><img alt='{html.escape(title)}' src='{uri}'><figcaption>{html.escape(title)}</figcaption></figure>")
    if eigen is not None and len(eigen):
        parts.append("<h2>Principal components</h2>")
        parts.append(_table([(r.pc, f"eigenvalue {r.eigenvalue:.4g}, explained {100 * r.explained:.2f}%")
                             for r in eigen.itertuples()]))
    parts.append("<h2>Related pairs</h2>")
    if kinship is None or not len(kinship):
        parts.append(f"<p>No pair above the kinship threshold ({cfg.kinship_threshold:g}).</p>")
    else:
        head = kinship.head(50)
        parts.append(_table([(f"{r.sample_1} / {r.sample_2}", f"kinship {r.kinship:.4f} over {r.nsnp} variants")
                             for r in head.itertuples()]))
        if len(kinship) > 50:
            parts.append(f"<p>{len(kinship) - 50} more pairs in kinship.parquet.</p>")
    failing = samples[samples["fail_call_rate"]]
    parts.append("<h2>Samples failing call rate</h2>")
    parts.append("<p>None.</p>" if not len(failing) else
                 _table([(r.sample, f"call rate {r.call_rate:.4f}") for r in failing.head(100).itertuples()]))
    parts.append("</body></html>")
    return "\n".join(parts)
