"""Genome build detection: GRCh38 or GRCh37, from header contig lengths, assembly tags or positions.

Sources of the lengths: the GRC assembly reports (GCA_000001405.15 for GRCh38, GCA_000001405.1 for
GRCh37), primary chromosomes only; chrM is the rCRS (16569 bp) in both, so it tells nothing.
"""
from __future__ import annotations

import re
from typing import Mapping

from hpcgen.store.regions import normalize_contig

BUILDS = ("GRCh38", "GRCh37")

LENGTHS: dict[str, dict[str, int]] = {
    "GRCh38": {
        "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555, "chr5": 181538259,
        "chr6": 170805979, "chr7": 159345973, "chr8": 145138636, "chr9": 138394717, "chr10": 133797422,
        "chr11": 135086622, "chr12": 133275309, "chr13": 114364328, "chr14": 107043718, "chr15": 101991189,
        "chr16": 90338345, "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
        "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
    },
    "GRCh37": {
        "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276, "chr5": 180915260,
        "chr6": 171115067, "chr7": 159138663, "chr8": 146364022, "chr9": 141213431, "chr10": 135534747,
        "chr11": 135006516, "chr12": 133851895, "chr13": 115169878, "chr14": 107349540, "chr15": 102531392,
        "chr16": 90354753, "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
        "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
    },
}

# assembly names seen in ##contig=<...,assembly=X> and ##reference lines
_HINTS = {
    "GRCh38": re.compile(r"grch38|hg38|hs38|\bb38\b|GCA_000001405\.(1[5-9]|2\d)", re.I),
    "GRCh37": re.compile(r"grch37|hg19|hs37|\bb37\b|human_g1k_v37|GCA_000001405\.1\b", re.I),
}


def detect_build(
    contig_lengths: Mapping[str, int | None],
    header_text: str = "",
    max_positions: Mapping[str, int] | None = None,
) -> tuple[str | None, str, str]:
    """Guess the genome build of a VCF.

    Parameters
    ----------
    contig_lengths
        ``##contig`` IDs (any naming) -> declared length in bp, or None.
    header_text
        The ``##`` meta lines (for ``assembly=`` / ``##reference=`` hints).
    max_positions
        Contig -> largest POS seen (bp), when known.

    Returns
    -------
    (build, evidence, record)
        ``"GRCh38"``, ``"GRCh37"`` or None when nothing tells; ``evidence`` says why, in words;
        ``record`` where (``"header"`` or ``chrom:pos``).
    """
    votes = {b: [] for b in BUILDS}
    for name, length in contig_lengths.items():
        chrom = normalize_contig(name)
        for build in BUILDS:
            if length is not None and LENGTHS[build].get(chrom) == length:
                votes[build].append(f"{name} length {length}")
    found = [b for b in BUILDS if votes[b]]
    if len(found) == 1:
        return found[0], f"##contig {votes[found[0]][0]} is {found[0]}'s", "header"
    meta = "\n".join(line for line in header_text.splitlines() if line.startswith(("##contig", "##reference", "##assembly")))
    hinted = [b for b in BUILDS if _HINTS[b].search(meta)]
    if len(hinted) == 1:
        return hinted[0], f"header names assembly {hinted[0]}", "header"
    for name, pos in (max_positions or {}).items():
        chrom = normalize_contig(name)
        beyond = [b for b in BUILDS if chrom in LENGTHS[b] and pos > LENGTHS[b][chrom]]
        if len(beyond) == 1:
            other = BUILDS[1 - BUILDS.index(beyond[0])]
            return other, f"position {name}:{pos} lies beyond {beyond[0]}'s {chrom}", f"{name}:{pos}"
    return None, "no contig lengths, assembly name or decisive positions", "header"
