"""Decoding one genotype call, shared by every kernel (inlined by numba: no call overhead in hot loops)."""
from __future__ import annotations

from .accelerate import jit


@jit(inline="always")
def call_counts(g, v, s):
    """Allele counts of the call of sample ``s`` at variant ``v``.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)
        Alleles: 0 REF, 1 ALT, -1 missing, -2 absent (a haploid call padded).
    v, s : int
        Variant and sample index.

    Returns
    -------
    n_present : int
        Alleles present (not -1, not -2): the call's ploidy when it is not missing.
    n_alt : int
        ALT alleles among them.
    missing : bool
        Any allele is missing (-1): the whole call counts as missing.
    """
    n_present = 0
    n_alt = 0
    missing = False
    for k in range(g.shape[2]):
        a = g[v, s, k]
        if a == -1:
            missing = True
        elif a >= 0:
            n_present += 1
            if a > 0:
                n_alt += 1
    return n_present, n_alt, missing
