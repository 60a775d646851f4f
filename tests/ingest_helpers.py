"""Helpers for the store and ingest tests: small VCFs written on the fly, bcftools as the reference."""
from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np
import pysam

GRCH38_CHR1 = 248956422
GRCH38_CHR2 = 242193529
GRCH37_CHR1 = 249250621

HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=q10,Description="Quality below 10">
{contigs}##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}
"""


def header(samples: Sequence[str], contigs: dict[str, int | None] | None = None) -> str:
    """A VCF header with GT/DP/GQ and the given ``##contig`` lines (default: GRCh38 chr1, chr2)."""
    contigs = {"chr1": GRCH38_CHR1, "chr2": GRCH38_CHR2} if contigs is None else contigs
    lines = "".join(f"##contig=<ID={c}" + (f",length={n}" if n else "") + ">\n" for c, n in contigs.items())
    return HEADER.format(contigs=lines, samples="\t".join(samples))


def write_vcf(path: Path, text: str, compress: bool = True, index: bool = False) -> Path:
    """Write VCF ``text``; BGZF-compress it (``path`` + .gz) unless ``compress`` is False; optionally tabix it."""
    plain = Path(str(path).removesuffix(".gz"))
    plain.write_text(text)
    if not compress:
        return plain
    out = Path(str(plain) + ".gz")
    pysam.tabix_compress(str(plain), str(out), force=True)
    plain.unlink()
    if index:
        pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def random_gt(rng: np.random.Generator, n_alleles: int, ploidy: int) -> str:
    """One random GT string: alleles in 0..n_alleles-1 or '.', '/' or '|' separators."""
    alleles = ["." if rng.random() < 0.08 else str(int(rng.integers(0, n_alleles))) for _ in range(ploidy)]
    sep = "|" if rng.random() < 0.4 else "/"
    return sep.join(alleles)


def random_vcf_text(
    n_samples: int = 12,
    n_records: int = 200,
    seed: int = 1,
    contigs: dict[str, int | None] | None = None,
    naming: str = "chr",
) -> str:
    """A sorted random VCF exercising multi-allelics, haploid and triploid calls, missing and phased alleles, DP/GQ."""
    rng = np.random.default_rng(seed)
    names = [f"S{i:03d}" for i in range(n_samples)]
    contigs = contigs or ({"chr1": GRCH38_CHR1, "chr2": GRCH38_CHR2} if naming == "chr" else {"1": GRCH38_CHR1, "2": GRCH38_CHR2})
    lines = [header(names, contigs)]
    bases = "ACGT"
    chroms = list(contigs)[:2]
    for chrom in chroms:
        positions = np.sort(rng.choice(np.arange(10_000, 3_000_000), size=n_records // len(chroms), replace=False))
        positions[3] = positions[2]  # two records at one position
        for pos in positions:
            ref = bases[rng.integers(4)]
            n_alt = int(rng.choice([0, 1, 1, 1, 2, 3]))
            alts = [b for b in bases if b != ref][:n_alt]
            alt = ",".join(alts) if alts else "."
            ploidy = int(rng.choice([1, 2, 2, 2, 2, 3]))
            calls = []
            for _ in names:
                p = ploidy if rng.random() > 0.15 else 1
                gt = random_gt(rng, n_alt + 1, p)
                dp = "." if rng.random() < 0.1 else str(int(rng.integers(0, 60)))
                calls.append(f"{gt}:{dp}:{int(rng.integers(0, 99))}")
            qual = "." if rng.random() < 0.3 else f"{rng.random() * 100:.1f}"
            filt = rng.choice(["PASS", ".", "q10"])
            lines.append(f"{chrom}\t{pos}\trs{pos}\t{ref}\t{alt}\t{qual}\t{filt}\t.\tGT:DP:GQ\t" + "\t".join(calls) + "\n")
    return "".join(lines)


def bcftools_gt(path: Path, regions: str | None = None) -> dict[str, list[tuple[int, str, str, list[str]]]]:
    """``bcftools norm -m -any`` + ``bcftools query``: normalized contig -> [(pos, ref, alt, [GT per sample])]."""
    from hpcgen.store import normalize_contig

    norm = ["bcftools", "norm", "-m", "-any", "--no-version", "-Ou", str(path)]
    if regions:
        norm[-1:-1] = ["-r", regions]
    query = ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t[%GT\t]\n"]
    p1 = subprocess.Popen(norm, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = subprocess.run(query, stdin=p1.stdout, capture_output=True, text=True, check=True).stdout
    p1.stdout.close()
    assert p1.wait() == 0, f"bcftools norm failed on {path}"
    rows: dict[str, list] = defaultdict(list)
    for line in out.splitlines():
        chrom, pos, ref, alt, *gts = line.rstrip("\t").split("\t")
        rows[normalize_contig(chrom)].append((int(pos), ref, alt, gts))
    return dict(rows)


def gt_strings(genotypes: np.ndarray, phased: np.ndarray) -> list[list[str]]:
    """Store arrays -> VCF GT strings as bcftools prints them.

    Parameters
    ----------
    genotypes : int8 (n_variants, n_samples, ploidy); -1 missing, -2 absent
    phased : bool (n_variants, n_samples)
    """
    n_var, n_samples, ploidy = genotypes.shape
    # format each distinct (alleles, phased) combination once, then index: fast on whole cohorts
    keys = np.concatenate([genotypes.reshape(-1, ploidy).astype(np.int16), phased.reshape(-1, 1)], axis=1)
    combos, inverse = np.unique(keys, axis=0, return_inverse=True)
    texts = []
    for *calls, ph in combos.tolist():
        alleles = ["." if a == -1 else str(a) for a in calls if a != -2]
        texts.append(("|" if ph else "/").join(alleles))
    table = np.asarray(texts, dtype=object)[inverse.reshape(-1)].reshape(n_var, n_samples)
    return table.tolist()


def store_gt(store_path: Path) -> dict[str, list[tuple[int, str, str, list[str]]]]:
    """The store's records in the same shape as :func:`bcftools_gt`."""
    from hpcgen.store import GenotypeStore

    st = GenotypeStore.open(store_path)
    v = st.variants()
    strings = gt_strings(st.genotypes(), st.phased())
    rows: dict[str, list] = defaultdict(list)
    for (chrom, pos, ref, alt), gts in zip(v[["chrom", "pos", "ref", "alt"]].itertuples(index=False), strings):
        rows[chrom].append((int(pos), ref, alt, gts))
    return dict(rows)
