"""Ingest one region shard: decode records with cyvcf2, split multi-allelics, stream into a ShardWriter.

:func:`ingest_shard` is a plain top-level function of one picklable :class:`ShardTask`, so it runs the
same in-process, in a process pool, or as one task of a Slurm array (``hpcgen.dispatch.run_array``).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_write_text
from hpcgen.ingest.htslog import captured_stderr, htslib_reason
from hpcgen.ingest.split_numba import split_calls
from hpcgen.store import schema as S
from hpcgen.store.writer import ShardWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardTask:
    """Everything one shard job needs (picklable; paths as strings).

    Attributes
    ----------
    source, index
        The BGZF VCF or BCF to read, and its index.
    display
        The file name to put in error messages (the user's input path).
    contig, chrom
        Contig as named in the file (``1``) and normalized (``chr1``).
    start, end
        Region, 1-based inclusive; only records whose POS lies in it are taken (a record overlapping
        ``start`` from the left belongs to the previous shard).
    out
        Final shard path.
    samples
        Pseudonymized sample IDs in file order.
    fields
        FORMAT fields to keep: ``"dp"``, ``"gq"``.
    store
        Chunking/codec: ``chunk_variants``, ``chunk_samples``, ``codec``, ``clevel``.
    attrs
        HDF5 file attributes (build, source_sha256, hpcgen_version, ...).
    """

    source: str
    index: str
    display: str
    contig: str
    chrom: str
    start: int
    end: int
    out: str
    samples: tuple[str, ...]
    fields: tuple[str, ...] = ()
    store: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    done: str = ""


def _call_field(rec, tag: str, n: int) -> np.ndarray | None:
    """FORMAT/``tag`` of one record as int32 (n_samples,), -1 missing; None when the record lacks it."""
    try:
        values = rec.format(tag)
    except KeyError:
        return None
    if values is None:
        return None
    col = values[:, 0]
    if col.dtype.kind == "f":
        out = np.where(np.isfinite(col), np.rint(col), -1).astype(np.int32)
    else:
        out = col.astype(np.int32, copy=True)
    out[out < 0] = -1  # htslib's missing and vector-end sentinels are INT32_MIN(+1)
    return out


def decode_calls(rec, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Alleles and phasing of one record.

    Returns
    -------
    alleles : ndarray int16, shape (n_samples, p)
        Allele indices; -1 missing, -2 absent (a call of lower ploidy than ``p``).
    phased : ndarray bool, shape (n_samples,)
        True only for calls of two or more alleles written with ``|``.
    """
    gt = rec.genotype
    if gt is None:  # FORMAT lacks GT in this record: every call is missing ("." in bcftools query)
        return np.array([[S.MISSING]] * n_samples, dtype=np.int16).reshape(n_samples, 1), np.zeros(n_samples, bool)
    arr = gt.array()
    p = arr.shape[1] - 1
    alleles = arr[:, :p]
    phased = arr[:, p].astype(bool)
    if p >= 2:
        phased &= alleles[:, 1] != S.ABSENT  # cyvcf2 flags haploid calls as phased; VCF writes no separator
    else:
        phased[:] = False
    return alleles, phased


def split_alleles(alleles: np.ndarray, n_alt: int) -> list[np.ndarray]:
    """Biallelic genotypes for each ALT, as ``bcftools norm -m -any`` writes them.

    Parameters
    ----------
    alleles
        int16 (n_samples, p); -1 missing, -2 absent.
    n_alt
        Number of ALT alleles (0 for a monomorphic ``.`` record).

    Returns
    -------
    list of int8 arrays (n_samples, p), one per ALT (one array when ``n_alt <= 1``): allele ``k`` becomes 1,
    the reference and every other ALT become 0, missing and absent stay.
    """
    if n_alt <= 1:
        return [alleles.astype(np.int8)]
    called = alleles > 0
    return [np.where(alleles == k, 1, np.where(called, 0, alleles)).astype(np.int8) for k in range(1, n_alt + 1)]


def _add_record(writer: ShardWriter, rec, task: ShardTask, missing: np.ndarray, where: str) -> None:
    """Split one record into the writer's buffer (numba fast path; numpy row by row when ALTs outnumber buffer rows)."""
    n = len(task.samples)
    alts = rec.ALT or ["."]
    n_alt = len(rec.ALT)
    gt = rec.genotype
    arr = gt.array() if gt is not None else missing
    if arr.shape[0] != n:
        raise InputError(f"{arr.shape[0]} genotype columns, header has {n} samples", task.display, where)
    qual = rec.QUAL
    fields = (rec.POS, rec.ID or ".", rec.REF, alts, np.nan if qual is None else qual, ";".join(rec.FILTERS) or ".")
    calls = {f: v for f in task.fields if (v := _call_field(rec, f.upper(), n)) is not None}
    if len(alts) <= writer.cv:
        g_rows, ph_rows, call_rows = writer.reserve(len(alts), arr.shape[1] - 1)
        top = split_calls(arr, n_alt, g_rows, ph_rows)
        for f, values in calls.items():
            call_rows[f][:] = values
    else:
        alleles, phased = decode_calls(rec, n)
        top = int(alleles.max(initial=-1))
    if top > n_alt:
        raise InputError(f"malformed GT: allele {top} but only {n_alt} ALT allele(s)", task.display, where)
    if len(alts) <= writer.cv:
        writer.commit(*fields)
        return
    pos, vid, ref, _, qual, filt = fields
    for k, g in enumerate(split_alleles(alleles, n_alt)):
        writer.add(pos, vid, ref, alts[k], qual, filt, g, phased, calls)


def ingest_shard(task: ShardTask) -> dict[str, Any]:
    """Decode ``task.contig:start-end`` of ``task.source`` into the shard file ``task.out``.

    Returns
    -------
    dict
        The shard's manifest entry (:class:`hpcgen.store.schema.ShardInfo` as a dict).

    Raises
    ------
    InputError
        Unreadable or corrupt data, unsorted records, a GT allele beyond the record's ALT alleles.
    """
    import cyvcf2

    n = len(task.samples)
    writer = ShardWriter(task.out, task.samples, task.chrom, task.start, task.end, fields=task.fields,
                         attrs=task.attrs, **task.store)
    last = (task.start, "start of shard")
    # a record whose FORMAT lacks GT: every call missing, printed "." by bcftools
    missing = np.tile(np.array([[S.MISSING, 0]], dtype=np.int16), (n, 1))
    error: InputError | None = None
    try:
        with captured_stderr() as messages:
            try:
                vcf = cyvcf2.VCF(task.source, lazy=True)
                vcf.set_index(index_path=task.index)
                for rec in vcf(f"{task.contig}:{task.start}-{task.end}"):
                    pos = rec.POS
                    if pos < task.start:
                        continue  # starts in the previous shard; overlaps this one only by its length
                    where = f"{task.contig}:{pos}"
                    if pos < last[0]:
                        raise InputError("records are not sorted by position (sort with bcftools sort)", task.display, where)
                    last = (pos, where)
                    _add_record(writer, rec, task, missing, where)
            except InputError as exc:
                error = exc
            except Exception as exc:  # noqa: BLE001 - cyvcf2 raises bare Exception on htslib read errors
                error = InputError(f"unreadable record ({exc})", task.display, f"after {last[1]}")
        # cyvcf2's region iterator can stop silently at a corrupt BGZF block (CRC mismatch): htslib's
        # [E::] message is then the only sign, so any error message fails the shard
        if error is None and any(ln.startswith("[E::") for ln in messages) or (
                error is not None and "unreadable record" in error.message):
            reason = htslib_reason(messages) or str(error)
            error = InputError(f"unreadable record: {reason}", task.display, f"after {last[1]}")
        if error is not None:
            raise error
        info = writer.close()
    except BaseException:
        writer.abort() if writer.h5.id.valid else Path(writer.tmp).unlink(missing_ok=True)
        raise
    if task.done:
        # the record that lets a rerun keep this shard: written by the worker itself, so resuming works
        # the same whether shards ran in a local pool or as a Slurm array
        atomic_write_text(task.done, json.dumps(info.to_dict()) + "\n")
    warnings = list(dict.fromkeys(ln.split("] ", 1)[-1] for ln in messages if ln.startswith("[W::")))
    for line in warnings[:5]:
        log.warning("%s: htslib: %s", task.display, line)
    return info.to_dict()
