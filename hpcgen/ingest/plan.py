"""Shard planning: windows of ``shard_size_bp`` per contig, from the index, intersected with ``--regions``.

Each window that holds at least one record POS becomes a shard. A record belongs to the window holding
its POS (a long deletion crossing a boundary is not counted twice).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from hpcgen.errors import InputError
from hpcgen.ingest.htslog import captured_stderr, htslib_reason
from hpcgen.ingest.vcfinput import VcfInput, locate_failure
from hpcgen.store.regions import normalize_contig, parse_region


@dataclass(frozen=True)
class Window:
    """One planned shard: ``contig`` as named in the file, ``chrom`` normalized, 1-based inclusive bounds."""

    contig: str
    chrom: str
    start: int
    end: int


def indexed_contigs(info: VcfInput, index: str) -> list[str]:
    """Contigs the index lists, in the order of the file's header (then the index's own order)."""
    import pysam

    with pysam.VariantFile(str(info.path), index_filename=str(index)) as vf:
        names = list(vf.index.keys()) if vf.index is not None else []
    order = {c: i for i, c in enumerate(info.contigs)}
    return sorted(names, key=lambda c: (order.get(c, len(order)), names.index(c)))


_HUGE = 2**31 - 2


def _merge(regions: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Sort and merge overlapping or touching regions, so no record is planned twice."""
    out: list[tuple[str, int, int]] = []
    for chrom, a, b in sorted(regions):
        if out and out[-1][0] == chrom and a <= out[-1][2] + 1:
            out[-1] = (chrom, out[-1][1], max(b, out[-1][2]))
        else:
            out.append((chrom, a, b))
    return out


def _first_pos(vcf, contig: str, start: int, end: int) -> int | None:
    """POS of the first record starting in ``contig:start-end``, or None."""
    for rec in vcf(f"{contig}:{start}-{end}"):
        if rec.POS >= start:
            return rec.POS if rec.POS <= end else None
    return None


def _first_record(info: VcfInput, index: str, contig: str) -> str:
    """``contig:pos`` of the contig's first record (for error messages)."""
    import cyvcf2

    with captured_stderr():
        vcf = cyvcf2.VCF(str(info.path), lazy=True)
        vcf.set_index(index_path=str(index))
        pos = next((rec.POS for rec in vcf(contig)), None)
    return contig if pos is None else f"{contig}:{pos}"


def _last_pos(vcf, contig: str) -> int:
    last = 0
    for rec in vcf(contig):
        last = max(last, rec.POS)
    return last


def plan_windows(
    info: VcfInput,
    index: str,
    shard_size_bp: int,
    regions: Sequence[str] | None = None,
) -> tuple[list[Window], dict[str, int]]:
    """Plan the shards of an indexed input.

    Parameters
    ----------
    info
        The checked input (header contigs and lengths).
    index
        Its index file.
    shard_size_bp
        Window width in bp.
    regions
        Optional ``chrom:start-end`` strings (``chr1`` or ``1`` naming); only records in them are planned.

    Returns
    -------
    (windows, max_positions)
        Non-empty windows in genome order, and the last POS found on contigs whose length the header
        does not declare (used for build detection).

    Raises
    ------
    InputError
        A contig with records that the header does not declare; two contigs normalizing to one name
        (``1`` and ``chr1``); a region naming no contig of the file.
    """
    contigs = indexed_contigs(info, index)
    seen: dict[str, str] = {}
    for c in contigs:
        if c not in info.contigs:
            raise InputError(f"contig {c!r} has records but is not declared by a ##contig header line", info.path,
                             _first_record(info, index, c))
        chrom = normalize_contig(c)
        if chrom in seen:
            raise InputError(f"contigs {seen[chrom]!r} and {c!r} both mean {chrom}", info.path, c)
        seen[chrom] = c
    wanted = _merge([parse_region(r) for r in regions]) if regions else None
    if wanted:
        for chrom, _, _ in wanted:
            if chrom not in seen:
                raise InputError(f"region contig {chrom} is not in the file (contigs: {', '.join(seen) or 'none'})", info.path)
    with captured_stderr() as messages:
        try:
            planned = _plan(info, index, contigs, shard_size_bp, wanted)
            error = None
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - cyvcf2 raises bare Exception on htslib read errors
            error = exc
    if error is None and not any(ln.startswith("[E::") for ln in messages):
        return planned
    located = locate_failure(info)
    if located is not None:
        raise located
    raise InputError(f"unreadable record: {htslib_reason(messages) or error}", info.path, "while planning shards")


def _plan(info: VcfInput, index: str, contigs: list[str], shard_size_bp: int, wanted) -> tuple[list[Window], dict[str, int]]:
    import cyvcf2

    vcf = cyvcf2.VCF(str(info.path), lazy=True)
    vcf.set_index(index_path=str(index))
    windows: list[Window] = []
    max_positions: dict[str, int] = {}
    for contig in contigs:
        chrom = normalize_contig(contig)
        length = info.contigs.get(contig)
        if length is None:
            length = _last_pos(vcf, contig)
            max_positions[contig] = length
        elif (beyond := _first_pos(vcf, contig, length + 1, _HUGE)) is not None:
            raise InputError(f"position beyond the contig length {length} declared in the header", info.path, f"{contig}:{beyond}")
        spans = [(s, min(s + shard_size_bp - 1, length)) for s in range(1, length + 1, shard_size_bp)]
        if wanted is not None:
            spans = [(max(a, ra), min(b, rb)) for a, b in spans for (rc, ra, rb) in wanted
                     if rc == chrom and max(a, ra) <= min(b, rb)]
        for a, b in spans:
            if _first_pos(vcf, contig, a, b) is not None:
                windows.append(Window(contig, chrom, a, b))
    vcf.close()
    return windows, max_positions
