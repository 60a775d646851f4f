"""Genome build detection: GRCh38 or GRCh37, from header contig lengths, assembly tags or positions.

The lengths live in :mod:`hpcgen.genome`; chrM is the same in both builds, so it tells nothing.
"""
from __future__ import annotations

import re
from typing import Mapping

from hpcgen.genome import BUILDS, LENGTHS
from hpcgen.store.regions import normalize_contig


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
