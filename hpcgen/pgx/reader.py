"""Genotypes at the PGx positions only, from an indexed VCF/BCF (region queries) or a genotype store.

Output per gene: a :class:`GeneGenotypes` with allele codes in the encoding of ``kernels/pgx_match.py``.
PharmCAT's reading rules kept here: a record whose REF disagrees with the definition is discarded (the
position becomes missing, a warning names it: never guessed); an allele the definition does not know is
"undocumented" (no named allele matches it), except for the genes where PharmCAT treats it as reference
(flagged); records split from a multi-allelic site (``bcftools norm -m``) are merged back per position.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpcgen.errors import InputError
from hpcgen.pgx.definitions import ABSENT, MISSING, UNDOCUMENTED, UNDOCUMENTED_AS_REFERENCE, GeneDefinition

#: contig lengths that identify a build (chr1)
CHR1_LENGTH = {248956422: "GRCh38", 249250621: "GRCh37"}
GRCH37_WORDS = ("grch37", "hg19", "b37", "hs37", "37.")


@dataclass
class GeneGenotypes:
    """Sample genotypes at one gene's defining positions.

    Attributes
    ----------
    a1, a2 : ndarray, int8, shape (n_samples, n_pos)
        Allele codes (definition order), -1 missing, -2 absent (haploid), 100 undocumented.
    phased : ndarray, bool, shape (n_samples, n_pos)
    ps : ndarray, int32, shape (n_samples, n_pos)
        Phase set (0 when none given).
    warnings : dict
        ``sample index -> list of str`` (sample-specific); ``-1`` holds warnings for every sample.
    """

    a1: np.ndarray
    a2: np.ndarray
    phased: np.ndarray
    ps: np.ndarray
    warnings: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, n_samples: int, n_pos: int) -> "GeneGenotypes":
        return cls(
            a1=np.full((n_samples, n_pos), MISSING, np.int8),
            a2=np.full((n_samples, n_pos), MISSING, np.int8),
            phased=np.zeros((n_samples, n_pos), bool),
            ps=np.zeros((n_samples, n_pos), np.int32),
        )

    def warn(self, sample: int, message: str) -> None:
        self.warnings.setdefault(sample, []).append(message)


def _check_build_header(path: Path, header_text: str) -> None:
    low = header_text.lower()
    for line in low.splitlines():
        if line.startswith("##reference") or (line.startswith("##contig") and "assembly=" in line):
            if any(w in line for w in GRCH37_WORDS):
                raise InputError("genome build is GRCh37/hg19; hpcgen pgx needs GRCh38 (PharmCAT positions)",
                                 path, line.strip()[:80])
        if line.startswith("##contig=<id=chr1,") or line.startswith("##contig=<id=1,"):
            for length, build in CHR1_LENGTH.items():
                if f"length={length}" in line and build != "GRCh38":
                    raise InputError(f"genome build is {build} (chr1 length {length}); GRCh38 needed", path,
                                     "##contig chr1")


def _merge_codes(g: GeneGenotypes, p: int, c1: np.ndarray, c2: np.ndarray, seen: bool) -> None:
    """Write one record's codes at position p; a second record at the same position (a split
    multi-allelic site) fills in its ALT where the first one had REF or nothing."""
    if not seen:
        g.a1[:, p] = c1
        g.a2[:, p] = c2
        return
    for arr, new in ((g.a1, c1), (g.a2, c2)):
        col = arr[:, p]
        take = ((col == 0) & (new > 0)) | ((col == MISSING) & (new != MISSING))
        col[take] = new[take]


def _apply_record(g: GeneGenotypes, gene: GeneDefinition, p: int, ref: str, alts: list[str],
                  gt: np.ndarray, ps: np.ndarray | None, seen: bool, where: str) -> bool:
    """Encode one VCF/store record (gt: int, shape (n_samples, >=2) allele indices, last column phased
    when ``gt.shape[1] == 3``). Returns False when the record was discarded."""
    if ref.upper() != gene.alleles[p][0]:
        g.warn(-1, f"{where}: REF in input ({ref}) does not match the definition ({gene.alleles[p][0]}); "
                   "genotype discarded, position treated as missing")
        return False
    lut = np.full(len(alts) + 3, UNDOCUMENTED, np.int16)
    lut[0] = 0
    undocumented = []
    for i, alt in enumerate(alts):
        code = gene.allele_code(p, alt) if alt and not alt.startswith("<") and alt != "*" else UNDOCUMENTED
        lut[i + 1] = code
        if code == UNDOCUMENTED:
            undocumented.append(i + 1)
    idx1 = gt[:, 0].astype(np.int64)
    idx2 = gt[:, 1].astype(np.int64) if gt.shape[1] > 1 else np.full(len(gt), ABSENT)
    c1 = np.where(idx1 >= 0, lut[np.clip(idx1, 0, len(lut) - 1)], MISSING).astype(np.int8)
    c2 = np.where(idx2 >= 0, lut[np.clip(idx2, 0, len(lut) - 1)], np.where(idx2 == ABSENT, ABSENT, MISSING))
    c2 = c2.astype(np.int8)
    # half calls (./1): PharmCAT keeps them unusable for matching; treat the position as missing
    half = (c1 == MISSING) ^ (c2 == MISSING)
    c1[half] = MISSING
    c2[half] = MISSING
    if undocumented:
        bad = np.isin(idx1, undocumented) | np.isin(idx2, undocumented)
        if bad.any():
            alts_txt = "/".join(alts)
            as_ref = gene.gene in UNDOCUMENTED_AS_REFERENCE
            msg = (f"{where}: allele not in the definition (expected "
                   f"{'/'.join(gene.alleles[p][1:])}, found {alts_txt})"
                   + ("; treated as reference (PharmCAT rule for this gene)" if as_ref else ""))
            for s in np.flatnonzero(bad):
                g.warn(int(s), msg)
            if as_ref:
                c1[c1 == UNDOCUMENTED] = 0
                c2[c2 == UNDOCUMENTED] = 0
    _merge_codes(g, p, c1, c2, seen)
    if gt.shape[1] == 3:
        g.phased[:, p] = gt[:, 2] == 1
    if ps is not None:
        g.ps[:, p] = np.where(ps > 0, ps, 0)
    return True


def _vcf_contig_prefix(contigs: list[str]) -> str:
    if not contigs or any(c.startswith("chr") for c in contigs):
        return ""
    return "strip"


def read_vcf(path: str | os.PathLike, genes: dict[str, GeneDefinition]) -> tuple[list[str], dict[str, GeneGenotypes]]:
    """Read the PGx positions of a VCF/BCF with cyvcf2.

    Region queries when the file is indexed (.tbi/.csi); a single streaming pass otherwise (PharmCAT's
    test files are tiny and unindexed).

    Returns
    -------
    samples : list of str
        Sample IDs as in the file header.
    calls : dict
        gene -> :class:`GeneGenotypes`.
    """
    import cyvcf2

    path = Path(path)
    if not path.is_file():
        raise InputError("VCF not found", path)
    try:
        vcf = cyvcf2.VCF(str(path), gts012=False, strict_gt=False)
    except (OSError, Exception) as exc:  # cyvcf2 raises plain Exception on unreadable files
        raise InputError(f"cannot read VCF ({exc})", path) from exc
    _check_build_header(path, vcf.raw_header)
    samples = list(vcf.samples)
    n = len(samples)
    if n == 0:
        raise InputError("VCF has no samples", path)
    has_ps = "##FORMAT=<ID=PS," in vcf.raw_header
    # contig names from the header only (cyvcf2's seqnames would try to load a missing index)
    contigs = re.findall(r"^##contig=<ID=([^,>]+)", vcf.raw_header, flags=re.M)
    strip = _vcf_contig_prefix(contigs) == "strip"
    lookup: dict[tuple[str, int], tuple[str, int]] = {}
    out: dict[str, GeneGenotypes] = {}
    for name, gene in genes.items():
        out[name] = GeneGenotypes.empty(n, gene.n_pos)
        for p, pos in enumerate(gene.positions):
            lookup[(gene.chrom, int(pos))] = (name, p)
    seen: set[tuple[str, int]] = set()
    n_ref_mismatch = 0
    n_hits = 0

    def handle(rec) -> None:
        nonlocal n_ref_mismatch, n_hits
        chrom = rec.CHROM if rec.CHROM.startswith("chr") else "chr" + rec.CHROM
        key = (chrom, rec.POS)
        hit = lookup.get(key)
        if hit is None:
            return
        name, p = hit
        gt = rec.genotype.array() if rec.genotype is not None else np.full((n, 3), MISSING, np.int16)
        ps = None
        if has_ps and "PS" in rec.FORMAT:
            ps = np.asarray(rec.format("PS")).reshape(n, -1)[:, 0].astype(np.int32)
        where = f"{chrom}:{rec.POS}"
        n_hits += 1
        ok = _apply_record(out[name], genes[name], p, rec.REF, list(rec.ALT), gt, ps, key in seen, where)
        if ok:
            seen.add(key)
        else:
            n_ref_mismatch += 1

    indexed = any(Path(str(path) + ext).exists() for ext in (".tbi", ".csi")) or \
        (path.suffix == ".bcf" and Path(str(path) + ".csi").exists())
    if indexed:
        for gene in genes.values():
            chrom = gene.chrom[3:] if strip else gene.chrom
            region = f"{chrom}:{int(gene.positions.min())}-{int(gene.positions.max())}"
            try:
                for rec in vcf(region):
                    handle(rec)
            except Exception:  # contig absent from the index: no records there
                continue
    else:
        for rec in vcf:
            handle(rec)
    vcf.close()
    if n_hits >= 10 and n_ref_mismatch > n_hits // 2:
        raise InputError(f"REF disagrees with GRCh38 definitions at {n_ref_mismatch} of {n_hits} PGx positions: "
                         "wrong genome build?", path)
    return samples, out


def read_store(path: str | os.PathLike, genes: dict[str, GeneDefinition]) -> tuple[list[str], dict[str, GeneGenotypes]]:
    """Read the PGx positions from a genotype store (``hpcgen.store.GenotypeStore``), one region per gene."""
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(path)
    build = str(getattr(store, "build", "") or "")
    if "38" not in build:
        raise InputError(f"store genome build is {build or 'unknown'}; hpcgen pgx needs GRCh38", path,
                         "manifest.json")
    samples = [str(s) for s in store.samples]
    n = len(samples)
    out: dict[str, GeneGenotypes] = {}
    n_ref_mismatch = n_hits = 0
    for name, gene in genes.items():
        g = out[name] = GeneGenotypes.empty(n, gene.n_pos)
        lo, hi = int(gene.positions.min()), int(gene.positions.max())
        variants, geno = store.query(gene.chrom, lo, hi)
        if len(variants) == 0:
            continue
        phased = None
        try:
            phased = np.asarray(store.phased(region=(gene.chrom, lo, hi)))
        except Exception:  # phasing optional in a store
            phased = None
        index = {int(pos): p for p, pos in enumerate(gene.positions)}
        seen: set[int] = set()
        for row, (pos, ref, alt) in enumerate(zip(variants["pos"], variants["ref"], variants["alt"])):
            p = index.get(int(pos))
            if p is None:
                continue
            gt = np.asarray(geno[row], dtype=np.int16)
            if phased is not None and phased.shape[0] == len(variants):
                gt = np.concatenate([gt[:, :2], phased[row][:, None].astype(np.int16)], axis=1)
            n_hits += 1
            alts = [a for a in str(alt).split(",") if a]
            ok = _apply_record(g, gene, p, str(ref), alts, gt, None, int(pos) in seen, f"{gene.chrom}:{pos}")
            if ok:
                seen.add(int(pos))
            else:
                n_ref_mismatch += 1
    if n_hits >= 10 and n_ref_mismatch > n_hits // 2:
        raise InputError(f"REF disagrees with GRCh38 definitions at {n_ref_mismatch} of {n_hits} PGx positions: "
                         "wrong genome build?", path)
    return samples, out
