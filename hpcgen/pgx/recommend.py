"""CPIC and DPWG recommendations per sample and drug, from the packaged guideline JSON files.

A recommendation's ``lookupKey`` maps each gene of the guideline to a phenotype, an activity score, an
allele-status text (HLA-B ``*57:01 positive``) or allele counts (UGT1A1 ``{"*1": 1, "*28": 1}``). A sample
matches when every gene's key is among the sample's values for that gene. ``No Result`` matches a gene that
was not called, but only when another gene of the guideline was called: a guideline whose genes are all
uncalled gives "no recommendation possible", never a normal-metabolizer default.

``actionable`` (see :func:`changes_prescription`): the sample's recommendation differs, for the prescriber,
from the one the same sample would get with the reference (typical) genotype at every gene it has a result
for; a gene without a result (not called, ``Indeterminate``, a tie of phenotypes) keeps its value in that
comparison, so a missing result never makes a drug actionable.

Work is done once per distinct combination of the guideline genes' calls, so a cohort costs as much as its
number of distinct genotype combinations.
"""
from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hpcgen.pgx.definitions import data_dir
from hpcgen.pgx.outputs import JOINED_DRUG_COLUMNS as DRUG_COLUMNS  # the rows recommend() returns
from hpcgen.pgx.phenotype import INDETERMINATE, NO_RESULT, phenotype_of

NO_RECOMMENDATION_POSSIBLE = "no recommendation possible"
NO_MATCHING_RECOMMENDATION = "no recommendation for this phenotype in the guideline"
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


@functools.lru_cache(maxsize=4096)
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


_REC_INDEX: dict[tuple[str, str], tuple[dict, list, dict]] = {}


def _rec_index(gl: Guideline) -> tuple[dict, list, dict]:
    """Recommendations of a guideline keyed by their lookup values (gene order), and those keyed by allele
    counts (matched one by one). Built once per guideline."""
    cached = _REC_INDEX.get((gl.id, gl.source))
    if cached is not None:
        return cached
    index: dict[tuple, list] = {}
    by_counts = []
    for r in gl.recommendations:
        key = r.get("lookupKey") or {}
        if any(isinstance(v, dict) for v in key.values()):
            by_counts.append(r)
            continue
        if set(key) != set(gl.genes) or all(v == "No Result" for v in key.values()):
            by_counts.append(r)  # unusual shape: fall back to the general matcher
            continue
        index.setdefault(tuple(key[g] for g in gl.genes), []).append(r)
    order = {id(r): i for i, r in enumerate(gl.recommendations)}
    _REC_INDEX[(gl.id, gl.source)] = (index, by_counts, order)
    return index, by_counts, order


def _find(gl: Guideline, state: dict) -> list[dict]:
    """Recommendations of ``gl`` matching a sample state, in guideline order."""
    import itertools

    index, by_counts, order = _rec_index(gl)
    hits = []
    for combo in itertools.product(*(sorted(state[g][0]) for g in gl.genes)):
        if all(v == "No Result" for v in combo):
            continue
        hits.extend(index.get(combo, ()))
    hits.extend(r for r in by_counts if _matches(r, state))
    if len(hits) <= 1:
        return hits
    seen = set()
    out = []
    for r in sorted(hits, key=lambda r: order[id(r)]):
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return out


#: genes whose standard-dosing genotype is not the reference named allele's homozygote: CPIC tacrolimus
#: gives CYP3A5 non-expressers (*3/*3, Poor Metabolizer, most Europeans) "initiate therapy with standard
#: recommended dose" and *1 carriers an increased starting dose
REFERENCE_DIPLOTYPE_OVERRIDES = {"CYP3A5": "*3/*3"}
#: genes without a translation file: MT-RNR1 is haploid, its reference haplotype is named "Reference"
_OUTSIDE_REFERENCE = {"MT-RNR1": "Reference"}


@functools.lru_cache(maxsize=None)
def reference_diplotype(gene: str) -> str | None:
    """Diplotype of a patient with the typical genotype: the reference named allele of the gene's PharmCAT
    definition, twice (``*38/*38`` for CYP2C19 on GRCh38), unless overridden; None for HLA genes (their
    reference state is "negative" for every allele a guideline names)."""
    if gene in REFERENCE_DIPLOTYPE_OVERRIDES:
        return REFERENCE_DIPLOTYPE_OVERRIDES[gene]
    if gene in _OUTSIDE_REFERENCE:
        return _OUTSIDE_REFERENCE[gene]
    path = data_dir() / "alleles" / f"{gene}_translation.json"
    if not path.exists():
        return None
    ref = next(na["name"] for na in json.loads(path.read_text())["namedAlleles"] if na["reference"])
    return f"{ref}/{ref}"


def _reference_keys(gene: str, status_alleles: set[str]) -> tuple[frozenset, dict | None]:
    """Lookup values of the reference diplotype (phenotype, activity score, allele status, counts)."""
    dip = reference_diplotype(gene)
    if dip is None:
        return frozenset(f"{a} negative" for a in status_alleles), None
    parts = dip.split("/")
    pheno, act = phenotype_of(gene, parts[0], parts[1] if len(parts) > 1 else None)
    return gene_keys(gene, "called", dip, pheno, act, status_alleles)


def _has_result(keys: frozenset, counts: dict | None) -> bool:
    """A gene state that says something about the patient (not uncalled, not indeterminate, not a tie)."""
    if NO_RESULT in keys or INDETERMINATE in keys or "n/a" in keys:
        return False
    return bool(keys) or counts is not None


def _rec_text(r: dict) -> str:
    text = html_to_text(r["text"]["html"])
    pop = r.get("population")
    return f"[{pop}] {text}" if pop and pop != "general" else text


def _rec_drugs(r: dict, gl: Guideline) -> list[str]:
    return [c["name"] for c in r.get("relatedChemicals") or []] or list(gl.drugs)


def _changes_dose_or_drug(r: dict) -> bool:
    """PharmGKB's flags on the recommendation: it gives dosing information or names an alternate drug.
    (otherPrescribingGuidance, monitoring or counselling, leaves the prescription as it is.)"""
    return bool(r.get("dosingInformation") or r.get("alternateDrugAvailable"))


def changes_prescription(r: dict, drug: str, reference: list[dict], gl: Guideline) -> bool:
    """Whether recommendation ``r`` for ``drug`` is actionable against ``reference``, the recommendations the
    same patient would get with the reference genotype (:func:`reference_state`).

    Not actionable when the reference gets the same text (population included), or when neither ``r`` nor
    the reference changes the dose or the drug (:func:`_changes_dose_or_drug`: DPWG's "NO action is
    required" and "the guideline does not provide a recommendation for normal metabolizers" both mean
    standard prescribing). A reference without a recommendation for the drug counts as standard prescribing
    (DPWG's HLA guidelines only have a "positive" recommendation).
    """
    ref = [x for x in reference if drug in _rec_drugs(x, gl)]
    same_pop = [x for x in ref if x.get("population") == r.get("population")]
    ref = same_pop or ref
    text = _rec_text(r)
    if any(_rec_text(x) == text for x in ref):
        return False
    return _changes_dose_or_drug(r) or any(_changes_dose_or_drug(x) for x in ref)


def reference_state(gl: Guideline, state: dict, status_alleles: dict[str, set[str]]) -> dict:
    """The sample's state with every guideline gene that has a result replaced by the reference genotype's."""
    return {g: (_reference_keys(g, status_alleles.get(g, set())) if _has_result(*state[g]) else state[g])
            for g in gl.genes}


def _gene_states(calls: pd.DataFrame, samples: list[str]) -> dict[str, tuple[np.ndarray, list]]:
    """Per gene: int code per sample (0 = gene absent) and the distinct (status, diplotype, phenotype,
    activity) states the codes index (state 0 = absent)."""
    index = pd.Index(samples)
    out = {}
    for gene, grp in calls.groupby("gene", sort=False):
        # factorize each column, then the tuple of codes: no per-row string building
        parts = [pd.factorize(grp[c].to_numpy(dtype=object)) for c in
                 ("call_status", "diplotype", "phenotype", "activity_score")]
        combo = np.zeros(len(grp), np.int64)
        for codes_, uniq_ in parts:
            combo = combo * (len(uniq_) + 1) + codes_
        _, rows_first, local = np.unique(combo, return_index=True, return_inverse=True)
        uniques = ["\x1f".join(str(parts[i][1][parts[i][0][r]]) for i in range(4)) for r in rows_first]
        codes = np.zeros(len(samples), np.int64)
        codes[index.get_indexer(grp["sample"].to_numpy(dtype=object))] = local.ravel() + 1
        out[gene] = (codes, [None] + [u.split("\x1f") for u in uniques])
    return out


def recommend_index(calls: pd.DataFrame, sources: tuple[str, ...] = ("CPIC", "DPWG")
                    ) -> tuple[list[str], np.ndarray, np.ndarray, pd.DataFrame]:
    """Recommendations as indices: (samples, sample_idx, template_idx, templates).

    ``templates`` holds one row per distinct output row content (joined drug-row columns except ``sample``);
    row k of the result is ``templates.iloc[template_idx[k]]`` for ``samples[sample_idx[k]]``. Work is
    done once per distinct combination of a guideline's gene states; the cohort only costs index arrays.
    """
    guidelines = load_guidelines(tuple(sources))
    status_alleles = _status_alleles(guidelines)
    samples = list(pd.unique(calls["sample"].to_numpy(dtype=object)))
    n = len(samples)
    states = _gene_states(calls, samples)
    templates: list[dict] = []
    s_parts, t_parts = [], []
    for gl in guidelines:
        key = np.zeros(n, np.int64)
        radix = []
        for gene in gl.genes:
            codes, st = states.get(gene, (np.zeros(n, np.int64), [None]))
            key = key * len(st) + codes
            radix.append((gene, st, len(st)))
        uniq, inv = np.unique(key, return_inverse=True)
        inv = inv.ravel()
        tmpl_of_u: list[list[int]] = []
        for u in uniq:
            rest = int(u)
            decoded = {}
            for gene, st, size in reversed(radix):
                decoded[gene] = st[rest % size]
                rest //= size
            state = {}
            phen = []
            any_called = False
            for gene in gl.genes:
                row = decoded[gene]
                if row is None:
                    state[gene] = (frozenset({"No Result"}), None)
                    phen.append("No Result")
                    continue
                st_, dip, ph, act = row
                state[gene] = gene_keys(gene, st_, dip, ph, act, status_alleles.get(gene, set()))
                phen.append(ph or "No Result")
                any_called |= st_ in ("called", "outside_call")
            base = {"source": gl.source, "genes": ";".join(gl.genes), "phenotypes": ";".join(phen),
                    "guideline_id": gl.id, "guideline_version": gl.version}
            matched = _find(gl, state) if any_called else []
            ids = []
            if not matched:
                text = NO_MATCHING_RECOMMENDATION if any_called else NO_RECOMMENDATION_POSSIBLE
                for drug in gl.drugs:
                    ids.append(len(templates))
                    templates.append({**base, "drug": drug, "recommendation": text, "classification": "",
                                      "implications": "", "actionable": False})
            reference = _find(gl, reference_state(gl, state, status_alleles)) if matched else []
            for r in matched:
                text = _rec_text(r)
                for drug in _rec_drugs(r, gl):
                    ids.append(len(templates))
                    templates.append({**base, "drug": drug, "recommendation": text,
                                      "classification": (r.get("classification") or {}).get("term", ""),
                                      "implications": " | ".join(r.get("implications") or []),
                                      "actionable": changes_prescription(r, drug, reference, gl)})
            tmpl_of_u.append(ids)
        # expand: every sample gets the template rows of its combination
        counts = np.array([len(t) for t in tmpl_of_u], np.int64)
        per_sample = counts[inv]
        s_idx = np.repeat(np.arange(n, dtype=np.int64), per_sample)
        flat = np.concatenate([np.asarray(t, np.int64) for t in tmpl_of_u]) if counts.sum() else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        start = offsets[inv]
        within = np.arange(per_sample.sum()) - np.repeat(np.cumsum(per_sample) - per_sample, per_sample)
        t_idx = flat[np.repeat(start, per_sample) + within]
        s_parts.append(s_idx)
        t_parts.append(t_idx)
    table = pd.DataFrame(templates, columns=[c for c in DRUG_COLUMNS if c != "sample"])
    if not s_parts:
        return samples, np.zeros(0, np.int64), np.zeros(0, np.int64), table
    return samples, np.concatenate(s_parts), np.concatenate(t_parts), table


def recommend(calls: pd.DataFrame, sources: tuple[str, ...] = ("CPIC", "DPWG")) -> pd.DataFrame:
    """Recommendations for every sample of ``calls`` (genes rows with phenotypes), as joined drug rows (texts
    inline; :mod:`hpcgen.pgx.outputs` writes them as drugs.tsv + recommendations.tsv).

    One row per sample, drug, guideline and matching recommendation (several when the guideline splits
    by population); sorted by sample (input order), drug, source.
    """
    samples, s_idx, t_idx, table = recommend_index(calls, sources)
    if len(s_idx) == 0:
        return pd.DataFrame(columns=DRUG_COLUMNS)
    out = table.iloc[t_idx].reset_index(drop=True)
    out.insert(0, "sample", np.asarray(samples, dtype=object)[s_idx])
    out["_s"] = s_idx
    out = out.sort_values(["_s", "drug", "source"], kind="stable").drop(columns="_s").reset_index(drop=True)
    return out[DRUG_COLUMNS]
