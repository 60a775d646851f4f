"""Outside calls: diplotypes, phenotypes or activity scores from other tools (CYP2D6 from a structural-variant
aware caller, HLA-A/HLA-B from an HLA typer, MT-RNR1), merged into genes.tsv before phenotypes and
recommendations.

Two TSV layouts are read:

* cohort: a header line with ``sample``, ``gene`` and at least one of ``diplotype``, ``phenotype``,
  ``activity_score``;
* PharmCAT's single-sample layout: no header, columns gene, diplotype[, phenotype[, activity score]]
  (lines starting with ``#`` ignored); it applies to every sample of the run.

An outside call replaces the matcher's call for that gene and sample (PharmCAT does the same), and the
row says ``call_status = outside_call``, ``source = outside``.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from hpcgen.errors import InputError
from hpcgen.pgx.phenotype import cyp2d6_phenotype, format_score, phenotype_of

KNOWN_GENES = {"CYP2D6", "HLA-A", "HLA-B", "MT-RNR1", "ABCG2", "CACNA1S", "CFTR", "CYP2B6", "CYP2C19", "CYP2C9",
               "CYP3A4", "CYP3A5", "CYP4F2", "DPYD", "G6PD", "IFNL3", "NAT2", "NUDT15", "RYR1", "SLCO1B1", "TPMT",
               "UGT1A1", "VKORC1"}


def read_outside_calls(path: str | os.PathLike, samples: list[str]) -> pd.DataFrame:
    """Parse an outside-calls TSV into rows (sample, gene, diplotype, phenotype, activity_score).

    Raises
    ------
    InputError
        Unknown gene, a row with neither diplotype, phenotype nor activity score, an unknown sample,
        a duplicate (sample, gene), or a malformed activity score; the message names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("outside calls file not found", path)
    lines = [(i + 1, ln.rstrip("\r\n")) for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines())]
    lines = [(i, ln) for i, ln in lines if ln.strip() and not ln.startswith("#")]
    rows = []
    if not lines:
        return pd.DataFrame(columns=["sample", "gene", "diplotype", "phenotype", "activity_score"])
    first = [c.strip().lower() for c in lines[0][1].split("\t")]
    if "gene" in first and "sample" in first:
        reader = csv.DictReader([ln for _, ln in lines], delimiter="\t")
        reader.fieldnames = [f.strip().lower().replace(" ", "_") for f in reader.fieldnames or []]
        for (lineno, _), rec in zip(lines[1:], reader):
            rows.append((lineno, rec.get("sample", ""), rec.get("gene", ""), rec.get("diplotype", ""),
                         rec.get("phenotype", ""), rec.get("activity_score", "")))
    else:
        for lineno, ln in lines:
            cols = (ln.split("\t") + ["", "", "", ""])[:4]
            for s in samples:
                rows.append((lineno, s, *cols))
    out, seen = [], set()
    known_samples = set(samples)
    for lineno, sample, gene, dip, pheno, act in rows:
        sample, gene, dip, pheno, act = (str(x or "").strip() for x in (sample, gene, dip, pheno, act))
        if gene not in KNOWN_GENES:
            raise InputError(f"unknown gene {gene!r} in outside calls", path, f"line {lineno}")
        if not (dip or pheno or act):
            raise InputError("outside call has no diplotype, phenotype or activity score", path, f"line {lineno}")
        if sample not in known_samples:
            raise InputError(f"outside call for sample {sample!r} not in the input", path, f"line {lineno}")
        if act:
            try:
                float(act)
            except ValueError:
                raise InputError(f"activity score {act!r} is not a number", path, f"line {lineno}") from None
        if (sample, gene) in seen:
            raise InputError(f"two outside calls for {gene} of one sample", path, f"line {lineno}")
        seen.add((sample, gene))
        out.append({"sample": sample, "gene": gene, "diplotype": dip, "phenotype": pheno, "activity_score": act})
    return pd.DataFrame(out, columns=["sample", "gene", "diplotype", "phenotype", "activity_score"])


def _hla_statuses(gene: str, diplotype: str) -> str:
    """HLA phenotype as PharmCAT writes it: the status of every allele a guideline names (``*57:01 positive``)."""
    from hpcgen.pgx.recommend import _status_alleles, load_guidelines

    alleles = sorted(_status_alleles(load_guidelines(("CPIC", "DPWG"))).get(gene, set()))
    names = set(diplotype.split("/"))
    return ", ".join(f"{a} {'positive' if a in names else 'negative'}" for a in alleles)


def outside_rows(outside: pd.DataFrame) -> pd.DataFrame:
    """genes.tsv rows for outside calls; phenotype / activity score derived from the diplotype when absent."""
    rows = []
    for rec in outside.to_dict("records"):
        gene, dip, pheno, act = rec["gene"], rec["diplotype"], rec["phenotype"], rec["activity_score"]
        if act and not pheno and gene == "CYP2D6":
            pheno = cyp2d6_phenotype(float(act))
        if dip and not (pheno and (act or gene != "CYP2D6")) and not gene.startswith("HLA"):
            parts = dip.split("/")
            p, a = phenotype_of(gene, parts[0], parts[1] if len(parts) > 1 else None)
            pheno = pheno or p
            act = act or a
        if gene.startswith("HLA") and dip and not pheno:
            pheno = _hla_statuses(gene, dip)
        if act:
            act = format_score(float(act))
        rows.append({"sample": rec["sample"], "gene": gene, "diplotype": dip, "phenotype": pheno,
                     "activity_score": act, "call_status": "outside_call", "missing_positions": "",
                     "warnings": "", "source": "outside", "match_score": None,
                     "haplotype_1": "", "haplotype_2": ""})
    return pd.DataFrame(rows)


def merge_outside(calls: pd.DataFrame, outside: pd.DataFrame) -> pd.DataFrame:
    """Replace matcher rows by outside rows for the same (sample, gene); add the others."""
    if outside.empty:
        return calls
    extra = outside_rows(outside)
    key_out = set(zip(extra["sample"], extra["gene"]))
    keep = [(s, g) not in key_out for s, g in zip(calls["sample"], calls["gene"])]
    return pd.concat([calls[keep], extra], ignore_index=True)
