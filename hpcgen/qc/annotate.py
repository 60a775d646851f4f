"""Per-variant facts the kernels need, derived from the variant table: class (Ti/Tv/indel) and autosome flag."""
from __future__ import annotations

import numpy as np
import pandas as pd

from hpcgen.kernels.qc_counts import CLASS_INDEL, CLASS_OTHER, CLASS_TS, CLASS_TV

_TRANSITIONS = {"AG", "GA", "CT", "TC"}
_NON_AUTOSOMES = {"X", "Y", "M", "MT", "XY"}


def variant_classes(ref: pd.Series, alt: pd.Series) -> np.ndarray:
    """Class of each biallelic record, as ``bcftools stats`` counts it.

    Returns
    -------
    ndarray, uint8, shape (n_variants,)
        CLASS_TS (A<->G, C<->T), CLASS_TV (other single-base substitutions), CLASS_INDEL (REF and ALT of
        different lengths), CLASS_OTHER (MNPs, symbolic alleles, "*").
    """
    ref = ref.astype(str).str.upper().to_numpy()
    alt = alt.astype(str).str.upper().to_numpy()
    out = np.full(len(ref), CLASS_OTHER, dtype=np.uint8)
    for i, (r, a) in enumerate(zip(ref, alt)):
        if len(r) == 1 and len(a) == 1 and r in "ACGT" and a in "ACGT" and r != a:
            out[i] = CLASS_TS if r + a in _TRANSITIONS else CLASS_TV
        elif len(r) != len(a) and not a.startswith("<") and a != "*" and set(a) <= set("ACGTN"):
            out[i] = CLASS_INDEL
    return out


def autosomal(chrom: pd.Series) -> np.ndarray:
    """1 for records on autosomes (``chr1``..``chr22`` or any contig not X, Y, MT, PAR), else 0; uint8."""
    bare = chrom.astype(str).str.replace(r"^chr", "", regex=True).str.upper()
    auto = bare.str.fullmatch(r"\d+") & ~bare.isin(_NON_AUTOSOMES)
    return auto.to_numpy().astype(np.uint8)
