"""Helpers for the QC tests: cohorts with known genotypes written as VCF, and plink2 run on them.

The genotypes are simulated here (numpy), written to a VCF, imported by plink2 (the independent peer)
and by our kernels straight from the same arrays, so both sides see exactly the same calls.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

BASES = np.array(list("ACGT"))
TRANSITIONS = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}


@dataclass
class Cohort:
    """Genotypes with their variant fields; ``g`` int8 (n_variants, n_samples, 2), -1 missing, -2 absent."""

    chrom: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    g: np.ndarray
    samples: list[str]
    ancestry: list[str]
    male: np.ndarray  # bool per sample; males carry haploid calls on chrX


def simulate_cohort(seed: int = 1, n_samples: int = 90, n_auto: int = 1500, n_x: int = 120, missing: float = 0.02,
                    n_pops: int = 3, fst: float = 0.08) -> Cohort:
    """A structured cohort (Balding-Nichols populations), with a duplicate, a parent-child pair and
    full siblings, monomorphic and all-missing variants, indels, and haploid chrX calls for males.
    """
    rng = np.random.default_rng(seed)
    n_var = n_auto + n_x
    p_anc = rng.uniform(0.02, 0.5, n_var)
    rare = rng.random(n_var) < 0.2
    p_anc[rare] = rng.uniform(0.002, 0.02, rare.sum())
    a = p_anc * (1 - fst) / fst
    b = (1 - p_anc) * (1 - fst) / fst
    pops = rng.integers(0, n_pops, n_samples)
    p_pop = rng.beta(a[:, None], b[:, None], size=(n_var, n_pops))
    p = p_pop[:, pops]  # (n_var, n_samples)
    g = (rng.random((n_var, n_samples, 2)) < p[:, :, None]).astype(np.int8)
    # relatives: sample 1 duplicates sample 0; sample 3 is a child of samples 2 and 4; 5 and 6 full siblings of parents 7, 8
    g[:, 1] = g[:, 0]
    pops[1] = pops[0]

    def child(m: int, f: int) -> np.ndarray:
        pick_m = rng.integers(0, 2, n_var)
        pick_f = rng.integers(0, 2, n_var)
        return np.stack([g[np.arange(n_var), m, pick_m], g[np.arange(n_var), f, pick_f]], axis=1)

    g[:, 3] = child(2, 4)
    g[:, 5] = child(7, 8)
    g[:, 6] = child(7, 8)
    male = rng.random(n_samples) < 0.5
    x = slice(n_auto, n_var)
    g[x, male, 1] = -2  # haploid chrX calls for males
    # monomorphic REF, monomorphic ALT, all missing
    g[0] = np.where(g[0] == -2, -2, 0)
    g[1] = np.where(g[1] == -2, -2, 1)
    miss = rng.random((n_var, n_samples)) < missing
    g[miss, 0] = -1
    g[miss & (g[:, :, 1] != -2), 1] = -1
    g[2] = np.where(g[2] == -2, -2, -1)
    chrom = np.array(["chr1"] * (n_auto // 2) + ["chr2"] * (n_auto - n_auto // 2) + ["chrX"] * n_x)
    pos = np.concatenate([np.arange(n_auto // 2) * 100 + 10_000, np.arange(n_auto - n_auto // 2) * 100 + 10_000,
                          np.arange(n_x) * 100 + 5_000_000])
    ref = BASES[rng.integers(0, 4, n_var)]
    alt = BASES[(np.searchsorted(BASES, ref) + rng.integers(1, 4, n_var)) % 4]
    indel = rng.random(n_var) < 0.05
    alt = np.where(indel, np.char.add(ref, "T"), alt)
    names = [f"S{i:03d}" for i in range(n_samples)]
    return Cohort(chrom, pos, ref.astype(str), alt.astype(str), g, names, [f"pop{k}" for k in pops], male)


def _gt_text(call: np.ndarray) -> str:
    if call[1] == -2:
        return "." if call[0] == -1 else str(call[0])
    return "/".join("." if a == -1 else str(a) for a in call)


def write_vcf(cohort: Cohort, path: Path) -> Path:
    """Write ``cohort`` as an uncompressed VCF 4.2 (GT only)."""
    contigs = dict.fromkeys(cohort.chrom.tolist())
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    lines += [f"##contig=<ID={c},length=200000000>" for c in contigs]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *cohort.samples]))
    for v in range(cohort.g.shape[0]):
        gts = "\t".join(_gt_text(c) for c in cohort.g[v])
        lines.append(f"{cohort.chrom[v]}\t{cohort.pos[v]}\tv{v}\t{cohort.ref[v]}\t{cohort.alt[v]}\t.\tPASS\t.\tGT\t{gts}")
    path.write_text("\n".join(lines) + "\n")
    return path


def variant_classes(ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """uint8 class per variant (kernels.qc_counts CLASS_*), computed independently of hpcgen.qc."""
    out = np.zeros(len(ref), dtype=np.uint8)
    for i, (r, a) in enumerate(zip(ref, alt)):
        if len(r) == 1 and len(a) == 1:
            out[i] = 1 if (r, a) in TRANSITIONS else 2
        elif len(r) != len(a):
            out[i] = 3
    return out


def plink2(*args: str, cwd: Path) -> None:
    """Run plink2 (one thread, fixed seed) in ``cwd``; raise with its log on failure."""
    proc = subprocess.run(["plink2", "--threads", "1", "--seed", "1", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"plink2 {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def import_to_plink(cohort: Cohort, vcf: Path, prefix: str) -> Path:
    """``plink2 --vcf --make-pgen`` of ``vcf``, then the .psam rewritten with each sample's sex."""
    wd = vcf.parent
    plink2("--vcf", vcf.name, "--vcf-half-call", "missing", "--make-pgen", "--out", prefix, cwd=wd)
    psam = wd / f"{prefix}.psam"
    rows = ["#IID\tSEX"] + [f"{s}\t{1 if m else 2}" for s, m in zip(cohort.samples, cohort.male)]
    psam.write_text("\n".join(rows) + "\n")
    return wd / prefix


def read_plink(path: Path) -> pd.DataFrame:
    """A plink2 output table (header line starting with '#')."""
    df = pd.read_csv(path, sep="\t")
    df.columns = [c.lstrip("#") for c in df.columns]
    return df
