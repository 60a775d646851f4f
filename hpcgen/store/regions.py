"""Contig naming and region strings, shared by the store reader and ingest (no heavy imports)."""
from __future__ import annotations

import re
from typing import Sequence

from hpcgen.errors import InputError

Region = tuple[str, int, int]
_REGION = re.compile(r"^(?P<chrom>[^:]+?)(?::(?P<start>[\d,]+)?-?(?P<end>[\d,]+)?)?$")
_MAX_POS = 2**62


def normalize_contig(name: str) -> str:
    """``1`` -> ``chr1``, ``MT``/``M`` -> ``chrM``, ``X`` -> ``chrX``; other names (``chr1``, ``GL000192.1``) unchanged."""
    bare = name[3:] if name.lower().startswith("chr") else name
    if bare in {"M", "MT"}:
        return "chrM"
    if bare.isdigit() or bare in {"X", "Y"}:
        return "chr" + bare
    return name


def parse_region(region: str | Sequence | None) -> Region | None:
    """``"chr1:1-1000"``, ``"1:1000-"``, ``"chr1"`` or ``(chrom, start, end)`` -> (chrom, start, end), 1-based inclusive."""
    if region is None:
        return None
    if not isinstance(region, str):
        chrom, start, end = region
        return normalize_contig(str(chrom)), int(start), int(end)
    m = _REGION.match(region.strip())
    if not m:
        raise InputError(f"bad region {region!r}: expected chrom[:start-end]")
    start = int((m["start"] or "1").replace(",", ""))
    end = int(m["end"].replace(",", "")) if m["end"] else _MAX_POS
    if start < 1 or end < start:
        raise InputError(f"bad region {region!r}: start must be >= 1 and <= end")
    return normalize_contig(m["chrom"]), start, end
