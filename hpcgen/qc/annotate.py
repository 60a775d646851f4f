"""Per-variant facts the kernels need, derived from the variant table: class (Ti/Tv/indel) and autosome flag.

Both work on the strings' bytes and offsets (:func:`hpcgen.arrowcols.string_buffers`): the class in one
kernel pass (~1 ms for 200,000 records; :func:`hpcgen.store.variant_index.variant_classes`, where the
variant index stores it), the autosome flag once per run of one contig. Not pyarrow.compute:
importing it costs ~0.08 s (it wraps ~300 functions at import), and not pandas' string methods: importing
pandas costs 0.2-0.3 s of an ``hpcgen qc`` that needs neither.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from hpcgen.arrowcols import string_buffers
from hpcgen.store.variant_index import variant_classes

__all__ = ["autosomal", "variant_classes"]

_NON_AUTOSOMES = {"X", "Y", "M", "MT", "XY"}


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
