"""CPIC and DPWG recommendations per sample and drug, from the packaged guideline JSON files.

A recommendation's ``lookupKey`` maps each gene of the guideline to a phenotype, an activity score, an
allele-status text (HLA-B ``*57:01 positive``) or allele counts (UGT1A1 ``{"*1": 1, "*28": 1}``). A sample
matches when every gene's key is among the sample's values for that gene. ``No Result`` matches a gene that
was not called, but only when another gene of the guideline was called: a guideline whose genes are all
uncalled gives "no recommendation possible", never a normal-metabolizer default.

Work is done once per distinct combination of the guideline genes' calls, so a cohort costs as much as its
number of distinct genotype combinations.
"""
from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass

import pandas as pd

from hpcgen.pgx.definitions import data_dir

NO_RECOMMENDATION_POSSIBLE = "no recommendation possible"
NO_MATCHING_RECOMMENDATION = "no recommendation for this phenotype in the guideline"
DRUG_COLUMNS = ["sample", "drug", "source", "genes", "phenotypes", "recommendation", "classification",
                "implications", "actionable", "guideline_id", "guideline_version"]
_TAG = re.compile(r"<[^>]+>")
_STATUS = re.compile(r"^(\*\S+) (positive|negative)$")


@dataclass(frozen=True)
class Guideline:
    id: str
    source: str
    name: str
    version: str
    genes: tuple[str, ...]
    drugs: tuple[str, ...]
    recommendations: tuple[dict, ...]


def html_to_text(text: str) -> str:
    """Plain text of a recommendation's HTML (tags dropped, entities decoded, whitespace collapsed)."""
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", text or ""))).strip()


@functools.lru_cache(maxsize=2)
def load_guidelines(sources: tuple[str, ...] = ("CPIC", "DPWG")) -> tuple[Guideline, ...]:
    """Every packaged guideline of the given sources that carries recommendations."""
    out = []
    for path in sorted((data_dir() / "guidelines").glob("*.json")):
        d = json.loads(path.read_text())
        g = d["guideline"]
        if g["source"] not in sources or not d.get("recommendations"):
            continue
        genes = tuple(sorted({gg["symbol"] for gg in g["relatedGenes"]}))
        out.append(Guideline(
            id=g["id"], source=g["source"], name=g["name"], version=f"{g.get('version')} ({d.get('version')})",
            genes=genes, drugs=tuple(c["name"] for c in g["relatedChemicals"]),
            recommendations=tuple(d["recommendations"]),
        ))
    return tuple(out)


def _status_alleles(guidelines: tuple[Guideline, ...]) -> dict[str, set[str]]:
    """Alleles named in allele-status keys (``*57:01 positive``) per gene."""
    out: dict[str, set[str]] = {}
    for gl in guidelines:
        for rec in gl.recommendations:
            for gene, key in (rec.get("lookupKey") or {}).items():
                if isinstance(key, str):
                    m = _STATUS.match(key)
                    if m:
                        out.setdefault(gene, set()).add(m.group(1))
    return out


def gene_keys(gene: str, status: str, diplotype: str, phenotype: str, activity: str,
              status_alleles: set[str]) -> tuple[frozenset, dict | None]:
    """The lookup values a sample offers for one gene, and its allele counts (for dict keys)."""
    if status not in ("called", "outside_call") or not (diplotype or phenotype or activity):
        return frozenset({"No Result"}), None
    from hpcgen.pgx.matcher import TIE_JOIN

    keys = set()
    if phenotype and TIE_JOIN not in phenotype:
        keys.add(phenotype)
    if activity and TIE_JOIN not in activity:
        keys.add(activity)
        if phenotype:
            keys.add(f"{activity} ({phenotype})")
    counts = None
    if diplotype and TIE_JOIN not in diplotype:
        names = diplotype.split("/")
        counts = {}
        for n in names:
            counts[n] = counts.get(n, 0.0) + 1.0
        for allele in status_alleles:
            keys.add(f"{allele} {'positive' if allele in names else 'negative'}")
    return frozenset(keys), counts


def _matches(rec: dict, state: dict[str, tuple[frozenset, dict | None]]) -> bool:
    any_called = False
    for gene, key in (rec.get("lookupKey") or {}).items():
        keys, counts = state.get(gene, (frozenset({"No Result"}), None))
        if isinstance(key, dict):
            if counts is None or {k: float(v) for k, v in key.items()} != counts:
                return False
        elif key not in keys:
            return False
        if key != "No Result":
            any_called = True
    return any_called


def recommend(calls: pd.DataFrame, sources: tuple[str, ...] = ("CPIC", "DPWG")) -> pd.DataFrame:
    """Recommendations for every sample of ``calls`` (genes.tsv rows with phenotypes).

    Returns
    -------
    DataFrame with the columns of drugs.tsv (docs/CONTRACTS.md): one row per sample, drug, guideline and
    matching recommendation (several when the guideline splits by population).
    """
    guidelines = load_guidelines(tuple(sources))
    status_alleles = _status_alleles(guidelines)
    cols = ["call_status", "diplotype", "phenotype", "activity_score"]
    wide = calls.pivot_table(index="sample", columns="gene", values=cols, aggfunc="first")
    samples = list(dict.fromkeys(calls["sample"]))
    wide = wide.reindex(samples)
    frames = []
    for gl in guidelines:
        sig_cols = []
        sig = pd.DataFrame(index=wide.index)
        for gene in gl.genes:
            for c in cols:
                name = f"{c}|{gene}"
                sig[name] = wide[(c, gene)].fillna("") if (c, gene) in wide.columns else ""
                sig_cols.append(name)
        sig = sig.fillna("")
        uniq = sig.drop_duplicates()
        rows = []
        for idx, rec_row in uniq.iterrows():
            state = {}
            for gene in gl.genes:
                st, dip, ph, act = (rec_row[f"{c}|{gene}"] for c in cols)
                state[gene] = gene_keys(gene, st, dip, ph, act, status_alleles.get(gene, set()))
            phenos = ";".join(rec_row[f"phenotype|{gene}"] or "No Result" for gene in gl.genes)
            any_called = any(rec_row[f"call_status|{gene}"] in ("called", "outside_call") for gene in gl.genes)
            matched = [r for r in gl.recommendations if any_called and _matches(r, state)]
            base = {"source": gl.source, "genes": ";".join(gl.genes), "phenotypes": phenos,
                    "guideline_id": gl.id, "guideline_version": gl.version, "_sig": idx}
            if not matched:
                text = NO_MATCHING_RECOMMENDATION if any_called else NO_RECOMMENDATION_POSSIBLE
                for drug in gl.drugs:
                    rows.append({**base, "drug": drug, "recommendation": text, "classification": "",
                                 "implications": "", "actionable": False})
                continue
            for r in matched:
                text = html_to_text(r["text"]["html"])
                pop = r.get("population")
                if pop and pop != "general":
                    text = f"[{pop}] {text}"
                drugs = [c["name"] for c in r.get("relatedChemicals") or []] or list(gl.drugs)
                for drug in drugs:
                    rows.append({**base, "drug": drug, "recommendation": text,
                                 "classification": (r.get("classification") or {}).get("term", ""),
                                 "implications": " | ".join(r.get("implications") or []),
                                 "actionable": bool(r.get("dosingInformation") or r.get("alternateDrugAvailable"))})
        if not rows:
            continue
        recs = pd.DataFrame(rows)
        # map every sample to the signature row it shares
        key = sig[sig_cols].astype(str).agg("\x1f".join, axis=1)
        ukey = uniq[sig_cols].astype(str).agg("\x1f".join, axis=1)
        sig_of = dict(zip(ukey.values, ukey.index))
        first = key.map(sig_of)
        joined = pd.DataFrame({"sample": wide.index, "_sig": first.values}).merge(recs, on="_sig", how="inner")
        frames.append(joined.drop(columns="_sig"))
    if not frames:
        return pd.DataFrame(columns=DRUG_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[DRUG_COLUMNS]
    return out.sort_values(["sample", "drug", "source"], kind="stable").reset_index(drop=True)
