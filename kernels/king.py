"""KING-robust kinship (Manichaikul et al. 2010, Bioinformatics 26:2867), as plink2 --make-king-table.

For a pair of samples (i, j), over the variants where both have a diploid call:
``HETHET`` (both heterozygous), ``IBS0`` (opposite homozygotes), ``HET_i``, ``HET_j`` (heterozygous in one
sample, counted where both are called). The kinship estimate is KING-robust's between-family form,
which is what plink2 2.00 reports (checked against its HETHET/IBS0 counts)::

    m = min(HET_i, HET_j)
    phi = (HETHET - 2 * IBS0) / (2 m) + 1/2 - (HET_i + HET_j) / (4 m)

(0.5 for duplicates, 0.25 first degree, 0.125 second, 0.0625 third, <= 0 unrelated).

The counts for a block of samples against another are five matrix products of 0/1 indicator matrices
(BLAS does the pair loop); :func:`king_indicators` builds those indicators in one numba pass.
"""
from __future__ import annotations

import numpy as np

from .accelerate import jit
from .calls import call_counts


@jit
def king_indicators(g):
    """0/1 indicator matrices of one block, transposed to samples x variants for the pair products.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)

    Returns
    -------
    ndarray, float32, shape (4, n_samples, n_variants)
        [0] heterozygous, [1] homozygous REF, [2] homozygous ALT, [3] diploid call present. Counts from
        products of float32 indicators are exact up to 2**24 variants per block.
    """
    n_var, n_smp = g.shape[:2]
    out = np.zeros((4, n_smp, n_var), dtype=np.float32)
    for v in range(n_var):
        for s in range(n_smp):
            n_present, n_alt, miss = call_counts(g, v, s)
            if miss or n_present < 2:
                continue
            out[3, s, v] = 1.0
            if n_alt == 0:
                out[1, s, v] = 1.0
            elif n_alt == n_present:
                out[2, s, v] = 1.0
            else:
                out[0, s, v] = 1.0
    return out


def king_pair_counts(ind_i: np.ndarray, ind_j: np.ndarray) -> np.ndarray:
    """KING counts for every pair (sample of block i, sample of block j) over one variant block.

    Parameters
    ----------
    ind_i, ind_j : ndarray, float32, shape (4, n_samples_i or n_samples_j, n_variants)
        From :func:`king_indicators` on the same variants.

    Returns
    -------
    ndarray, float64, shape (5, n_samples_i, n_samples_j)
        [0] NSNP (both called), [1] HETHET, [2] IBS0, [3] HET_i (het in i, called in j), [4] HET_j.
    """
    het_i, ref_i, alt_i, call_i = ind_i
    het_j, ref_j, alt_j, call_j = ind_j
    out = np.empty((5, het_i.shape[0], het_j.shape[0]), dtype=np.float64)
    out[0] = call_i @ call_j.T
    out[1] = het_i @ het_j.T
    out[2] = ref_i @ alt_j.T + alt_i @ ref_j.T
    out[3] = het_i @ call_j.T
    out[4] = call_i @ het_j.T
    return out


def king_kinship(counts: np.ndarray) -> np.ndarray:
    """KING-robust kinship from summed :func:`king_pair_counts` (shape (5, ...)); NaN where no het."""
    hethet, ibs0, het_i, het_j = counts[1], counts[2], counts[3], counts[4]
    m = np.minimum(het_i, het_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (hethet - 2.0 * ibs0) / (2.0 * m) + 0.5 - (het_i + het_j) / (4.0 * m)


def king_pair_counts_reference(g_i: np.ndarray, g_j: np.ndarray) -> np.ndarray:
    """Plain-Python twin of ``king_pair_counts(king_indicators(g_i), king_indicators(g_j))``: a loop per pair."""
    def classes(g: np.ndarray) -> np.ndarray:
        # -1 no diploid call, else number of ALT alleles (0, 1, 2)
        present = (g >= 0).sum(axis=2)
        miss = (g == -1).any(axis=2) | (present < 2)
        alt = (g > 0).sum(axis=2)
        return np.where(miss, -1, np.where(alt == 0, 0, np.where(alt == present, 2, 1)))

    ci, cj = classes(np.asarray(g_i)), classes(np.asarray(g_j))
    out = np.zeros((5, ci.shape[1], cj.shape[1]))
    for a in range(ci.shape[1]):
        for b in range(cj.shape[1]):
            x, y = ci[:, a], cj[:, b]
            both = (x >= 0) & (y >= 0)
            x, y = x[both], y[both]
            out[:, a, b] = [both.sum(), ((x == 1) & (y == 1)).sum(), (np.abs(x - y) == 2).sum(), (x == 1).sum(), (y == 1).sum()]
    return out
