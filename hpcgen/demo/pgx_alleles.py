"""Pharmacogenomic haplotypes of the demo cohort: star alleles drawn per ancestry, turned into genotypes.

Every record of PharmCAT's ``pharmcat_positions.vcf`` is written for every sample (0/0 where the sample carries
no variant): PharmCAT treats an absent position as a no-call. Alleles are drawn per haplotype from
``data/pgx_allele_frequencies.tsv`` (approximate literature frequencies; its header gives the sources) and turned
into bases with PharmCAT's allele definitions (``hpcgen/pgx/data/alleles/<GENE>_translation.json``: a named
allele's ``alleles[i]`` is its base at ``variants[i]``, ``None`` meaning the reference). This is not a matcher:
it only writes what each chosen allele defines.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hpcgen.demo.demography import ADMIXTURE
from hpcgen.demo.grch38 import CONTIG_LENGTHS

# read only: the pharmacogenomics stage owns this folder
PGX_DATA = Path(__file__).resolve().parents[1] / "pgx" / "data"
POSITIONS_VCF = PGX_DATA / "pharmcat_positions.vcf"
ALLELES_DIR = PGX_DATA / "alleles"
FREQUENCY_TABLE = Path(__file__).resolve().parent / "data" / "pgx_allele_frequencies.tsv"

SOURCE_GROUPS = ("EUR", "AFR", "EAS")

# IUPAC ambiguity codes used in a few PharmCAT definitions: either base matches
_IUPAC = {"R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}


@dataclass
class PgxRecords:
    """The PharmCAT positions, in genome order.

    Attributes
    ----------
    chrom, pos, ids, ref : ndarray, shape (n_records,)
    alts : list of list of str
    gene : ndarray of str, shape (n_records,)
        Gene named in the record's PX tag ("" for positions of interest outside any definition).
    """

    chrom: np.ndarray
    pos: np.ndarray
    ids: np.ndarray
    ref: np.ndarray
    alts: list[list[str]]
    gene: np.ndarray

    def positions_by_chrom(self) -> dict[str, np.ndarray]:
        return {c: self.pos[self.chrom == c] for c in np.unique(self.chrom)}


def read_positions(path: Path = POSITIONS_VCF) -> PgxRecords:
    """Read PharmCAT's positions VCF (records only), sorted in GRCh38 contig order."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            info = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in f[7].split(";"))
            rows.append((f[0], int(f[1]), f[2], f[3], f[4].split(","), info.get("PX", "")))
    order = list(CONTIG_LENGTHS)
    rows.sort(key=lambda r: (order.index(r[0]), r[1]))
    return PgxRecords(
        chrom=np.array([r[0] for r in rows]), pos=np.array([r[1] for r in rows], dtype=np.int64),
        ids=np.array([r[2] for r in rows]), ref=np.array([r[3] for r in rows]),
        alts=[r[4] for r in rows], gene=np.array([r[5] for r in rows]),
    )


@dataclass
class GeneModel:
    """One gene's allele choices: names, probabilities per source group, and the allele codes they imply.

    Attributes
    ----------
    records : ndarray, int64, shape (n_positions,)
        Row of each defining position in :class:`PgxRecords`.
    codes : ndarray, int8, shape (n_alleles, n_positions)
        Allele index (0 = REF, k = k-th ALT of the record) each named allele carries.
    probs : dict
        Source group -> ndarray, float, shape (n_alleles,), summing to 1.
    """

    gene: str
    names: list[str]
    records: np.ndarray
    codes: np.ndarray
    probs: dict[str, np.ndarray]
    reference: str


def load_frequency_table(path: Path = FREQUENCY_TABLE) -> pd.DataFrame:
    """The allele frequency table (gene, allele, EUR, AFR, EAS, default)."""
    return pd.read_csv(path, sep="\t", comment="#", dtype={"gene": str, "allele": str})


def _base_code(value: str | None, ref: str, alts: list[str], where: str) -> int:
    if value is None or value == ref:
        return 0
    if value in alts:
        return alts.index(value) + 1
    if value in _IUPAC:  # ambiguous in the definition: the reference base satisfies it when allowed
        options = _IUPAC[value]
        if ref in options:
            return 0
        for i, alt in enumerate(alts):
            if alt in options:
                return i + 1
    raise ValueError(f"{where}: allele {value!r} is neither REF {ref} nor an ALT {alts} of pharmcat_positions.vcf")


def gene_models(records: PgxRecords, table: pd.DataFrame | None = None) -> dict[str, GeneModel]:
    """Build the allele model of every gene with a definition file (reference-only where not in the table)."""
    table = load_frequency_table() if table is None else table
    index = {(c, int(p)): i for i, (c, p) in enumerate(zip(records.chrom, records.pos))}
    models = {}
    for path in sorted(ALLELES_DIR.glob("*_translation.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        gene = d["gene"]
        variants = d["variants"]
        rows = np.array([index[(v["chromosome"], int(v["position"]))] for v in variants], dtype=np.int64)
        by_name = {a["name"]: a for a in d["namedAlleles"]}
        reference = next(a["name"] for a in d["namedAlleles"] if a["reference"])
        sub = table[table.gene == gene]
        if sub.empty:
            sub = pd.DataFrame({"gene": [gene], "allele": [reference], **{g: [0.0] for g in SOURCE_GROUPS}, "default": [1]})
        unknown = set(sub.allele) - set(by_name)
        if unknown:
            raise ValueError(f"{FREQUENCY_TABLE.name}: {gene} alleles {sorted(unknown)} are not defined by PharmCAT")
        names = list(sub.allele)
        codes = np.zeros((len(names), len(variants)), dtype=np.int8)
        for i, name in enumerate(names):
            for j, (v, value) in enumerate(zip(variants, by_name[name]["alleles"])):
                r = rows[j]
                codes[i, j] = _base_code(value, records.ref[r], records.alts[r], f"{gene} {name} {v['chromosome']}:{v['position']}")
        probs = {}
        default = np.flatnonzero(sub["default"].to_numpy() == 1)
        if default.size != 1:
            raise ValueError(f"{FREQUENCY_TABLE.name}: {gene} needs exactly one default allele")
        for g in SOURCE_GROUPS:
            p = sub[g].to_numpy(dtype=float).copy()
            rest = 1.0 - p.sum() + p[default[0]]
            if rest < -1e-9:
                raise ValueError(f"{FREQUENCY_TABLE.name}: {gene} frequencies in {g} sum above 1")
            p[default[0]] = max(rest, 0.0)
            probs[g] = p / p.sum()
        models[gene] = GeneModel(gene, names, rows, codes, probs, reference)
    return models


def draw_haplotype_sources(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Source group (EUR/AFR/EAS) of each haplotype, shape (n_samples, 2); ADM haplotypes drawn by admixture."""
    src = np.stack([groups, groups], axis=1).astype(object)
    adm = groups == "ADM"
    names, weights = list(ADMIXTURE), np.array(list(ADMIXTURE.values()))
    src[adm] = rng.choice(names, size=(int(adm.sum()), 2), p=weights / weights.sum())
    return src.astype(str)


def assign_alleles(models: dict[str, GeneModel], sources: np.ndarray, haploid_x: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw allele indexes per gene and haplotype.

    Parameters
    ----------
    sources : ndarray of str, shape (n_samples, 2)
        Source group of each haplotype.
    haploid_x : ndarray of bool, shape (n_samples,)
        Males: one X haplotype (the second is set to -1 for X-linked genes).

    Returns
    -------
    dict
        gene -> ndarray, int16, shape (n_samples, 2): index into ``models[gene].names`` (-1 = absent haplotype).
    """
    out = {}
    for gene, m in models.items():
        u = rng.random(sources.shape)
        choice = np.zeros(sources.shape, dtype=np.int16)
        for g in SOURCE_GROUPS:
            mask = sources == g
            cdf = np.cumsum(m.probs[g])
            choice[mask] = np.minimum(np.searchsorted(cdf, u[mask], side="right"), len(cdf) - 1)
        if gene == "G6PD":
            choice[haploid_x, 1] = -1
        out[gene] = choice
    return out


def pgx_haplotypes(records: PgxRecords, models: dict[str, GeneModel], choices: dict[str, np.ndarray], haploid_x: np.ndarray) -> np.ndarray:
    """Allele codes at every PharmCAT position.

    Returns
    -------
    ndarray, int8, shape (n_records, n_samples, 2)
        0 = REF, k = k-th ALT; -2 for the absent second haplotype of males on chrX.
    """
    n_samples = haploid_x.size
    haps = np.zeros((records.pos.size, n_samples, 2), dtype=np.int8)
    for gene, m in models.items():
        c = choices[gene]
        # codes[c] -> (n_samples, 2, n_positions); the absent haplotype (-1) reads as reference here
        block = m.codes[np.maximum(c, 0)]
        haps[m.records] = np.transpose(block, (2, 0, 1))
    on_x = records.chrom == "chrX"
    haps[np.ix_(on_x, haploid_x, [1])] = -2
    return haps
