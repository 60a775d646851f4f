"""Per-variant facts the kernels need, derived from the variant table: class (Ti/Tv/indel) and autosome flag.

Vectorized numpy over the strings' bytes and offsets (:func:`hpcgen.arrowcols.string_buffers`), ~10 ms for
200,000 records. Not pyarrow.compute: importing it costs ~0.08 s (it wraps ~300 functions at import), and
not pandas' string methods: importing pandas costs 0.2-0.3 s of an ``hpcgen qc`` that needs neither.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from hpcgen.arrowcols import string_buffers
from hpcgen.kernels.layout import CLASS_INDEL, CLASS_OTHER, CLASS_TS, CLASS_TV

_NON_AUTOSOMES = {"X", "Y", "M", "MT", "XY"}
_CASE = np.uint8(0xDF)  # clears the lower-case bit of an ASCII letter


def _in(codes: np.ndarray, letters: bytes) -> np.ndarray:
    """``codes`` (uint8) is one of ``letters``: a 256-entry table lookup (np.isin sorts; 4x slower here)."""
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(letters, dtype=np.uint8)] = True
    return table[codes]


def _first_upper(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """The first byte of each string, upper-cased (0 for an empty string); uint8, shape (n,)."""
    lengths = np.diff(offsets)
    first = np.zeros(len(lengths), dtype=np.uint8)
    has = lengths > 0
    first[has] = data[offsets[:-1][has]] & _CASE
    return first


def _char_lengths(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Characters per string (UTF-8: bytes that are not continuation bytes 0b10xxxxxx); int64, shape (n,)."""
    lead = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])
    return lead[offsets[1:]] - lead[offsets[:-1]]


def _all_bases(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Each string is one or more of A, C, G, T, N (any case): ``fullmatch('[ACGTN]+')``; bool, shape (n,)."""
    bad = np.concatenate([[0], np.cumsum(~_in(data & _CASE, b"ACGTN"))])
    return (np.diff(offsets) > 0) & (bad[offsets[1:]] == bad[offsets[:-1]])


def variant_classes(ref: Any, alt: Any) -> np.ndarray:
    """Class of each biallelic record, as ``bcftools stats`` counts it.

    Parameters
    ----------
    ref, alt : Arrow string column, pandas Series or ndarray of str, shape (n_variants,)

    Returns
    -------
    ndarray, uint8, shape (n_variants,)
        CLASS_TS (A<->G, C<->T), CLASS_TV (other single-base substitutions), CLASS_INDEL (REF and ALT of
        different lengths, ALT of bases only), CLASS_OTHER (MNPs, symbolic alleles, "*", a missing allele).
    """
    r_off, r_data = string_buffers(ref)
    a_off, a_data = string_buffers(alt)
    r_len, a_len = _char_lengths(r_off, r_data), _char_lengths(a_off, a_data)
    r1, a1 = _first_upper(r_off, r_data), _first_upper(a_off, a_data)
    snv = (r_len == 1) & (a_len == 1) & _in(r1, b"ACGT") & _in(a1, b"ACGT") & (r1 != a1)
    # a transition stays within the purines (A, G) or within the pyrimidines (C, T)
    transition = snv & ((_in(r1, b"AG") & _in(a1, b"AG")) | (_in(r1, b"CT") & _in(a1, b"CT")))
    indel = ~snv & (r_len != a_len) & _all_bases(a_off, a_data)
    out = np.full(len(r_len), CLASS_OTHER, dtype=np.uint8)
    out[snv] = CLASS_TV
    out[transition] = CLASS_TS
    out[indel] = CLASS_INDEL
    return out


def _is_autosome(name: str) -> bool:
    bare = name[3:] if name.startswith("chr") else name
    bare = bare.upper()
    return bare.isascii() and bare.isdigit() and bare not in _NON_AUTOSOMES


def autosomal(chrom: Any) -> np.ndarray:
    """1 for records on numbered contigs (``chr1``..``chr22``, ``1``..), else 0 (X, Y, MT, others); uint8, (n,).

    A store's records come in runs of one contig: each run's name is decoded once.
    """
    off, data = string_buffers(chrom)
    n = len(off) - 1
    out = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return out
    lengths = np.diff(off)
    # record i starts a run unless it has the length and the bytes of record i - 1 (its bytes sit
    # ``lengths[i]`` before its own when the lengths are equal)
    same_len = np.concatenate([[False], lengths[1:] == lengths[:-1]])
    rec = np.repeat(np.arange(n), lengths)
    shift = np.arange(len(data)) - lengths[rec]
    differs = same_len[rec] & (data != data[np.maximum(shift, 0)])
    n_diff = np.concatenate([[0], np.cumsum(differs)])
    starts = np.flatnonzero(~same_len | (n_diff[off[1:]] != n_diff[off[:-1]]))
    for a, b in zip(starts, np.append(starts[1:], n)):
        out[a:b] = _is_autosome(bytes(data[off[a]:off[a + 1]]).decode("utf-8", errors="replace"))
    return out
