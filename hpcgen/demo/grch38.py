"""GRCh38 facts the demo needs: primary contig lengths and the regions with no sequence to avoid.

Lengths come from :mod:`hpcgen.genome` (GRCh38 primary assembly, as in every GRCh38 ``##contig`` header);
the excluded regions are approximate (p-arm gaps of acrocentric chromosomes, centromeres and large
heterochromatin blocks, rounded outwards from the UCSC hg38 ``centromeres``/``gap`` tracks) and only serve to keep
simulated variants where real ones occur.
"""
from __future__ import annotations

from hpcgen.genome import CHRM_LENGTH, LENGTHS

#: GRCh38 primary contigs, in the order of a GRCh38 reference (and so of a sorted VCF)
CONTIG_LENGTHS: dict[str, int] = {**LENGTHS["GRCh38"], "chrM": CHRM_LENGTH}

AUTOSOMES: tuple[str, ...] = tuple(f"chr{i}" for i in range(1, 23))

#: (start, end) in Mb of regions without usable sequence: telomere/p-arm gaps, centromeres, heterochromatin
EXCLUDED_MB: dict[str, list[tuple[float, float]]] = {
    "chr1": [(0, 1), (121.0, 125.5), (125.5, 143.5)], "chr2": [(0, 1), (91.5, 96.5)],
    "chr3": [(0, 1), (90.0, 94.0)], "chr4": [(0, 1), (49.5, 52.0)], "chr5": [(0, 1), (46.0, 50.5)],
    "chr6": [(0, 1), (58.0, 60.0)], "chr7": [(0, 1), (57.5, 61.5)], "chr8": [(0, 1), (43.5, 46.0)],
    "chr9": [(0, 1), (40.5, 61.0)], "chr10": [(0, 1), (39.0, 42.0)], "chr11": [(0, 1), (50.5, 55.0)],
    "chr12": [(0, 1), (34.5, 37.5)], "chr13": [(0, 19.0)], "chr14": [(0, 19.0)], "chr15": [(0, 20.0)],
    "chr16": [(0, 1), (35.0, 46.5)], "chr17": [(0, 1), (22.5, 27.0)], "chr18": [(0, 1), (15.0, 21.0)],
    "chr19": [(0, 1), (24.0, 28.0)], "chr20": [(0, 1), (25.5, 30.5)], "chr21": [(0, 13.0)],
    "chr22": [(0, 15.5)],
    # the pseudo-autosomal regions too: the demo's chrX part is haploid in males
    "chrX": [(0, 2.8), (57.5, 61.5), (155.6, 156.1)],
}


def usable_intervals(chrom: str) -> list[tuple[int, int]]:
    """Intervals (0-based, half-open, bp) of ``chrom`` outside :data:`EXCLUDED_MB` and its last megabase."""
    end = CONTIG_LENGTHS[chrom] - 1_000_000
    cuts = sorted((int(a * 1e6), int(b * 1e6)) for a, b in EXCLUDED_MB.get(chrom, [(0, 1)]))
    out, cursor = [], 0
    for a, b in cuts:
        if a > cursor:
            out.append((cursor, min(a, end)))
        cursor = max(cursor, b)
    if cursor < end:
        out.append((cursor, end))
    return [(a, b) for a, b in out if b > a]
