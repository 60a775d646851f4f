"""Diplotype -> phenotype and activity score (CPIC), per gene, from the packaged tables.

Sources, in order: PharmCAT's ``phenotype/<GENE>.json`` (diplotype tables, allele function and activity
values); for the genes whose PharmCAT file was not obtainable, rules written from the CPIC guidelines with
allele functions from PyPGx's ``allele-table.csv``: CYP2D6 (activity score -> phenotype), G6PD (WHO class
of each allele, by sex), RYR1 (any named non-reference allele is a CPIC malignant-hyperthermia variant).
"""
from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path

import pandas as pd

from hpcgen.pgx.definitions import data_dir

ACTIVITY_GENES = ("CYP2C9", "CYP2D6", "DPYD")
NO_RESULT = "No Result"
INDETERMINATE = "Indeterminate"


@functools.lru_cache(maxsize=None)
def gene_table(gene: str, base: str | None = None) -> dict:
    """``{"diplotypes": {sorted allele tuple: (phenotype, activity, lookup)}, "function": {allele: str},
    "activity": {allele: float}, "version": str}`` for a gene with a PharmCAT phenotype file, else {}.

    ``base``: data folder (default the packaged one)."""
    path = (Path(base) if base else data_dir()) / "phenotype" / f"{gene.replace('-', '_')}.json"
    if not path.exists():
        return {}
    d = json.loads(path.read_text())
    dips = {}
    for row in d.get("diplotypes") or []:
        key = tuple(sorted(a for a, k in row["diplotypekey"].items() for _ in range(int(k))))
        dips[key] = (row.get("generesult") or row.get("phenotype") or "", row.get("activityScore"), row.get("lookupkey"))
    function, activity = {}, {}
    for na in d.get("namedAlleles") or []:
        function[na["name"]] = na.get("functionValue")
        try:
            activity[na["name"]] = float(na.get("activityValue"))
        except (TypeError, ValueError):
            pass
    return {"diplotypes": dips, "function": function, "activity": activity, "version": d.get("version")}


@functools.lru_cache(maxsize=None)
def pypgx_alleles(gene: str, base: str | None = None) -> dict[str, tuple[str, float | None]]:
    """PyPGx allele table for one gene: ``name -> (function, activity score or None)``."""
    out = {}
    with open((Path(base) if base else data_dir()) / "pypgx" / "allele-table.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Gene"] != gene:
                continue
            try:
                act = float(row["ActivityScore"])
            except ValueError:
                act = None
            out[row["StarAllele"]] = (row["Function"], act)
    return out


def cyp2d6_phenotype(score: float) -> str:
    """CPIC 2019 CYP2D6 activity score -> phenotype (PM 0, IM 0.25-1, NM 1.25-2.25, UM > 2.25)."""
    if score == 0:
        return "Poor Metabolizer"
    if score < 1.25:
        return "Intermediate Metabolizer"
    if score <= 2.25:
        return "Normal Metabolizer"
    return "Ultrarapid Metabolizer"


def format_score(score: float) -> str:
    """Activity score as CPIC tables write it: ``1.0``, ``1.5``, ``2.25``."""
    text = f"{score:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


_COPIES = re.compile(r"^(\*[^x]+)x(≥?)(\d+)$")


def cyp2d6_allele_activity(name: str) -> float | None:
    """Activity value of a CYP2D6 allele; ``*2x2`` = 2 x value of *2; ``*Nx≥3`` counted as 3 copies."""
    table = pypgx_alleles("CYP2D6")
    m = _COPIES.match(name.strip())
    base, copies = (m.group(1), int(m.group(3))) if m else (name.strip(), 1)
    entry = table.get(base)
    if entry is None or entry[1] is None:
        return None
    return entry[1] * copies


def _g6pd_class(name: str) -> str | None:
    table = pypgx_alleles("G6PD")
    entry = table.get(name)
    if entry is None:
        return None
    f = entry[0]
    if "Class IV" in f or "Normal" in f and "Deficient" not in f:
        return "normal"
    if "Class I " in f or f.startswith("Class I (") or "CNSHA" in f:
        return "cnsha"
    if "Deficient" in f:
        return "deficient"
    return None


def g6pd_phenotype(h1: str, h2: str | None) -> str:
    """CPIC G6PD phenotype: hemizygous males by their allele, females by the pair."""
    c1 = _g6pd_class(h1)
    if h2 is None:
        return {"normal": "Normal", "deficient": "Deficient", "cnsha": "Deficient with CNSHA"}.get(c1, INDETERMINATE)
    c2 = _g6pd_class(h2)
    if c1 is None or c2 is None:
        return INDETERMINATE
    classes = {c1, c2}
    if classes == {"normal"}:
        return "Normal"
    if "normal" in classes:
        return "Variable"
    if "cnsha" in classes:
        return "Deficient with CNSHA"
    return "Deficient"


def phenotype_of(gene: str, h1: str, h2: str | None) -> tuple[str, str]:
    """Phenotype and activity score text ('' when the gene has no activity score) of one diplotype."""
    if gene == "CYP2D6":
        a1, a2 = cyp2d6_allele_activity(h1), (cyp2d6_allele_activity(h2) if h2 else 0.0)
        if a1 is None or a2 is None:
            return INDETERMINATE, ""
        score = a1 + a2
        return cyp2d6_phenotype(score), format_score(score)
    if gene == "G6PD":
        return g6pd_phenotype(h1, h2), ""
    if gene == "RYR1":
        alleles = [h1] + ([h2] if h2 else [])
        mhs = any(a != "Reference" for a in alleles)
        return ("Malignant Hyperthermia Susceptibility" if mhs else "Uncertain Susceptibility"), ""
    table = gene_table(gene)
    if not table:
        return "", ""  # no CPIC phenotype for this gene (CYP4F2, IFNL3)
    key = tuple(sorted([h1] + ([h2] if h2 else [])))
    hit = table["diplotypes"].get(key)
    if hit is None:
        return (INDETERMINATE if table["diplotypes"] else ""), ""
    pheno, act, _ = hit
    return pheno or "", (act or "") if gene in ACTIVITY_GENES else ""


def add_phenotypes(calls: pd.DataFrame) -> pd.DataFrame:
    """Fill ``phenotype`` and ``activity_score`` for every called row (ties: joined if they differ).

    Computed once per distinct (gene, diplotype), so a cohort costs as much as its distinct calls.
    """
    import numpy as np

    from hpcgen.pgx.matcher import TIE_JOIN

    out = calls.copy()
    g_codes, g_uniq = pd.factorize(out["gene"].to_numpy(dtype=object))
    d_codes, d_uniq = pd.factorize(out["diplotype"].to_numpy(dtype=object))
    combined = g_codes.astype(np.int64) * (len(d_uniq) + 1) + d_codes
    uniq, inverse = np.unique(combined, return_inverse=True)
    phen = np.empty(len(uniq), dtype=object)
    act = np.empty(len(uniq), dtype=object)
    for k, code in enumerate(uniq):
        gene, dip = g_uniq[code // (len(d_uniq) + 1)], d_uniq[code % (len(d_uniq) + 1)]
        if not dip:
            phen[k], act[k] = NO_RESULT, ""
            continue
        phenos, scores = [], []
        for one in dip.split(TIE_JOIN):
            parts = one.split("/")
            h1, h2 = (parts[0], parts[1]) if len(parts) == 2 else (one, None)
            p, a = phenotype_of(gene, h1, h2)
            phenos.append(p)
            scores.append(a)
        uniq_a = list(dict.fromkeys(scores))
        phen[k] = TIE_JOIN.join(dict.fromkeys(phenos))
        act[k] = TIE_JOIN.join(uniq_a) if any(uniq_a) else ""
    inverse = inverse.ravel()
    not_called = (out["call_status"] == "not_called").to_numpy()
    out["phenotype"] = np.where(not_called, NO_RESULT, phen[inverse])
    out["activity_score"] = np.where(not_called, "", act[inverse])
    return out


def dpyd_activity() -> dict[str, float]:
    """DPYD allele activity values (for the unphased lowest-function rule)."""
    return dict(gene_table("DPYD").get("activity", {}))


__all__ = ["add_phenotypes", "phenotype_of", "cyp2d6_phenotype", "dpyd_activity", "format_score", "ACTIVITY_GENES"]
