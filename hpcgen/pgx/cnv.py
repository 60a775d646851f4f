"""CYP2D6 copy number from read depth (BAM/CRAM, pysam), combined with the CYP2D6 call.

Copy number = round(2 x mean depth over CYP2D6 / mean depth over a two-copy control region), as
Stargazer does with its control gene (VDR by default). Reads below a mapping quality, duplicates,
secondary and QC-failed reads are not counted. 0 copies is the homozygous *5 deletion; 1 copy a
heterozygous deletion; 3+ copies a duplication (``xN``). Which allele is deleted or duplicated is not
known from depth alone: when the SNV/outside call is heterozygous, the possible diplotypes are all
reported (joined by `` or ``) with a warning. Rows carry ``source = cnv`` and ``copy_number``.

Limits (stated in outputs): CYP2D6/CYP2D7 hybrids (*13, *36, *68) and exact duplication structure need a
dedicated caller (Cyrius, Aldy, Stargazer); give their result as an outside call.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from hpcgen.errors import InputError


def _parse_region(text: str) -> tuple[str, int, int]:
    chrom, span = text.replace(",", "").split(":")
    start, end = (int(x) for x in span.split("-"))
    return chrom, start, end


def mean_depth(bam, region: tuple[str, int, int], min_mapq: int) -> float:
    """Mean read depth over a 1-based inclusive region: aligned bases of counted reads / region length."""
    chrom, start, end = region
    contigs = set(bam.references)
    name = chrom if chrom in contigs else chrom.removeprefix("chr") if chrom.removeprefix("chr") in contigs else None
    if name is None:
        raise InputError(f"contig {chrom} not in the alignment header", bam.filename.decode(), chrom)
    lo, hi = start - 1, end  # 0-based half-open
    bases = 0
    for read in bam.fetch(name, lo, hi):
        if read.is_unmapped or read.is_secondary or read.is_supplementary or read.is_duplicate or read.is_qcfail:
            continue
        if read.mapping_quality < min_mapq:
            continue
        bases += max(0, min(read.reference_end, hi) - max(read.reference_start, lo))
    return bases / (hi - lo)


def copy_number(path: str | os.PathLike, target: str, control: str, min_mapq: int = 20, max_copies: int = 6,
                reference: str | None = None) -> dict:
    """Copy number of ``target`` relative to a two-copy ``control`` in one BAM/CRAM.

    Returns
    -------
    dict with copy_number (int, capped at max_copies), ratio (target/control depth), target_depth,
    control_depth (mean reads per base).
    """
    import pysam

    path = Path(path)
    if not path.exists():
        raise InputError("alignment file not found", path)
    try:
        bam = pysam.AlignmentFile(str(path), reference_filename=reference)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read alignments ({exc})", path) from exc
    with bam:
        if not bam.has_index():
            raise InputError("alignment file has no index (.bai/.crai): region queries need one", path)
        t = mean_depth(bam, _parse_region(target), min_mapq)
        c = mean_depth(bam, _parse_region(control), min_mapq)
    if c <= 0:
        raise InputError(f"no reads over the control region {control}", path)
    ratio = t / c
    return {"copy_number": min(int(round(2 * ratio)), max_copies), "ratio": ratio,
            "target_depth": t, "control_depth": c}


def copy_numbers_from_list(list_path: str | os.PathLike, samples: list[str], cfg,
                           translate: dict[str, str] | None = None) -> pd.DataFrame:
    """Copy numbers for the samples of a TSV ``sample<TAB>path`` (IDs real or pseudonymized)."""
    list_path = Path(list_path)
    rows = []
    known = set(samples)
    with open(list_path, newline="", encoding="utf-8") as fh:
        for lineno, rec in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not rec or rec[0].startswith("#") or rec[0].lower() == "sample":
                continue
            if len(rec) < 2:
                raise InputError("expected sample<TAB>path", list_path, f"line {lineno}")
            sample = (translate or {}).get(rec[0], rec[0])
            if sample not in known:
                raise InputError(f"sample {rec[0]!r} not in the input", list_path, f"line {lineno}")
            bam = Path(rec[1]) if Path(rec[1]).is_absolute() else list_path.parent / rec[1]
            res = copy_number(bam, cfg.cyp2d6_region, cfg.cnv_control_region, cfg.cnv_min_mapq, cfg.cnv_max_copies)
            rows.append({"sample": sample, **res})
    return pd.DataFrame(rows, columns=["sample", "copy_number", "ratio", "target_depth", "control_depth"])


def _with_copies(h1: str | None, h2: str | None, cn: int) -> list[str]:
    """Diplotypes consistent with an SNV call h1/h2 and a total copy number."""
    if cn == 0:
        return ["*5/*5"]
    if h1 is None:
        return []
    if cn == 1:
        return sorted({f"{h1}/*5", f"{h2}/*5"})
    if cn == 2:
        return [f"{h1}/{h2}"]
    extra = cn - 1  # copies on the duplicated haplotype
    label = f"x{extra}" if extra < 3 else "x≥3"
    return sorted({f"{h1}{label}/{h2}", f"{h1}/{h2}{label}"})


def merge_cnv(calls: pd.DataFrame, cnv: pd.DataFrame) -> pd.DataFrame:
    """Combine copy numbers with the CYP2D6 rows (outside calls) and label them ``source = cnv``."""
    from hpcgen.pgx.matcher import TIE_JOIN
    from hpcgen.pgx.phenotype import phenotype_of

    out = calls.copy()
    if "copy_number" not in out.columns:
        out["copy_number"] = None
    new_rows = []
    for rec in cnv.to_dict("records"):
        sample, cn = rec["sample"], int(rec["copy_number"])
        mask = (out["sample"] == sample) & (out["gene"] == "CYP2D6")
        base = out[mask].iloc[0].to_dict() if mask.any() else None
        h1 = h2 = None
        if base is not None and base.get("diplotype") and TIE_JOIN not in base["diplotype"]:
            parts = base["diplotype"].split("/")
            if len(parts) == 2 and "x" not in base["diplotype"]:
                h1, h2 = parts
        dips = _with_copies(h1, h2, cn)
        note = (f"CYP2D6 copy number {cn} from read depth (ratio {rec['ratio']:.2f} to the control region); "
                "hybrids and duplication structure need a dedicated caller")
        if dips:
            phen = [phenotype_of("CYP2D6", *d.split("/")) for d in dips]
            pheno = TIE_JOIN.join(dict.fromkeys(p for p, _ in phen))
            act = TIE_JOIN.join(dict.fromkeys(a for _, a in phen))
            status = "called" if cn == 0 else "outside_call"
            if len(dips) > 1:
                note += "; which allele is deleted/duplicated is unknown from depth: all possibilities listed"
        else:
            pheno, act, status = "Indeterminate", "", "not_called"
            note += "; no CYP2D6 SNV/outside call to combine with"
        row = {"sample": sample, "gene": "CYP2D6", "diplotype": TIE_JOIN.join(dips), "phenotype": pheno,
               "activity_score": act, "call_status": status, "missing_positions": "",
               "warnings": ";".join(w for w in [(base or {}).get("warnings", ""), note] if w),
               "source": "cnv", "match_score": None, "haplotype_1": "", "haplotype_2": "", "copy_number": cn}
        out = out[~mask]
        new_rows.append(row)
    return pd.concat([out, pd.DataFrame(new_rows)], ignore_index=True) if new_rows else out
