"""Numba kernel: one record's cyvcf2 genotype array -> biallelic int8 rows (``bcftools norm -m -any``).

Imports only numpy and the package's numba configuration; the plain-numpy twin is
:func:`hpcgen.ingest.shard.split_alleles` (tests check one against the other).
"""
from __future__ import annotations

import numpy as np

from hpcgen.kernels.accelerate import jit


@jit
def split_calls(arr: np.ndarray, n_alt: int, gt: np.ndarray, phased: np.ndarray) -> int:
    """Write the split genotypes of one record into buffer rows; return the largest allele index seen.

    Parameters
    ----------
    arr : int16, shape (n_samples, p + 1)
        ``variant.genotype.array()``: allele indices (-1 missing, -2 absent), last column the phase flag.
    n_alt : int
        ALT alleles of the record (0 for ``.``); ``max(n_alt, 1)`` rows are written.
    gt : int8, shape (>= max(n_alt, 1), n_samples, >= p)
        Output rows (columns beyond ``p`` are left as they are: the writer keeps them at -2).
    phased : bool, shape (>= max(n_alt, 1), n_samples)
        Output phase flags; True only for calls of two or more alleles written with ``|``.

    Returns
    -------
    int
        The largest allele index in ``arr`` (-1 if none); above ``n_alt`` means a malformed GT.
    """
    n = arr.shape[0]
    p = arr.shape[1] - 1
    top = -1
    if n_alt <= 1:  # the common case: one pass, a plain copy
        for i in range(n):
            for j in range(p):
                a = arr[i, j]
                top = max(top, a)
                gt[0, i, j] = a
            phased[0, i] = p >= 2 and arr[i, p] != 0 and arr[i, 1] != -2
        return top
    for i in range(n):
        ph = p >= 2 and arr[i, p] != 0 and arr[i, 1] != -2
        for j in range(p):
            a = arr[i, j]
            top = max(top, a)
            for r in range(n_alt):
                gt[r, i, j] = a if a < 0 else (1 if a == r + 1 else 0)
        for r in range(n_alt):
            phased[r, i] = ph
    return top
