"""Column indices and codes the kernels share with their callers: plain Python, no numba.

Callers that only need these (the QC tables, the store writer, the ahead-of-time kernel loader) import
them from here, so loading a table layout never pays numba's start-up. :mod:`kernels.qc_counts` and
:mod:`kernels.hardcalls` re-export them as part of their interfaces.
"""
from __future__ import annotations

import sys

import numpy as np

# per-variant columns of ``variant_counts`` (int64, shape (n_variants, N_VARIANT_COLS))
V_HOM_REF, V_HET, V_HOM_ALT, V_HAP_REF, V_HAP_ALT, V_MISSING, V_AN, V_AC = range(8)
N_VARIANT_COLS = 8
VARIANT_COLS = ("n_hom_ref", "n_het", "n_hom_alt", "n_hap_ref", "n_hap_alt", "n_missing", "an", "ac")

# per-sample columns of ``sample_counts`` (int64, shape (n_samples, N_SAMPLE_COLS))
(S_MISSING, S_HOM_REF, S_HET, S_HOM_ALT, S_HAP_REF, S_HAP_ALT,
 S_TS, S_TV, S_INDEL, S_AUTO_CALLED, S_AUTO_HOM) = range(11)
N_SAMPLE_COLS = 11
SAMPLE_COLS = ("n_missing", "n_hom_ref", "n_het", "n_hom_alt", "n_hap_ref", "n_hap_alt",
               "n_ts", "n_tv", "n_indel", "n_auto_called", "n_auto_hom")

# variant classes (``vclass``, uint8 per variant): what a non-reference call counts towards
CLASS_OTHER, CLASS_TS, CLASS_TV, CLASS_INDEL = 0, 1, 2, 3

# the int8 kernels read a diploid call as one int16: only where bytes are little-endian
FAST_PATH = sys.byteorder == "little"

# hard-call bit-planes (:mod:`kernels.hardcalls`)
WORD_BITS = 64
# values of ``exact``: how a row is held. EXACT_SPARSE: a diploid row listed by its carriers (the store's
# ``calls/hardcall_sparse``, its planes row left zero), because it has few: most rows of a cohort are rare variants
EXACT_NO, EXACT_DIPLOID, EXACT_HAPLOID, EXACT_SPARSE = 0, 1, 2, 3
CODE_HET, CODE_ALT, CODE_UNCALLED = 1, 2, 3  # a carrier's call by ``row_carriers`` (p0 | p1 << 1; haploid: 3)
CARRIER_SHIFT = 2  # a listed carrier is one uint32: sample << CARRIER_SHIFT | CODE_*


def n_words(n_samples: int) -> int:
    """uint64 words per bit-plane row for ``n_samples`` samples."""
    return (int(n_samples) + WORD_BITS - 1) // WORD_BITS


def sparse_max_carriers(n_words: int) -> int:
    """Most carriers (not hom-REF calls) a diploid row may have to be listed rather than held as planes.

    Listing costs 4 bytes and a few operations per carrier; planes 16 bytes and ~10 vector operations per
    64 samples, read and decoded for every row: at 2 carriers per 64 samples or fewer a list is smaller and
    faster to count.
    """
    return 2 * int(n_words)


def no_sparse_rows(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, carriers) of a block without listed rows: int64 zeros (n_rows + 1,), uint32 (0,)."""
    return np.zeros(int(n_rows) + 1, dtype=np.int64), np.zeros(0, dtype=np.uint32)


def diploid_fast_path(g: np.ndarray) -> bool:
    """True when ``block_counts`` runs its branch-free diploid kernel on ``g`` (int8 calls, C order, ploidy 2)."""
    return bool(FAST_PATH and g.ndim == 3 and g.shape[2] == 2 and g.shape[0] * g.shape[1] > 0 and g.flags.c_contiguous)
