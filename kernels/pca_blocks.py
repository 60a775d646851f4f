"""Standardized genotype blocks for PCA (the matrix whose SVD plink2 --pca eigendecomposes as a GRM).

Each diploid call becomes ``(x - 2 p) / sqrt(2 p (1 - p))`` with ``x`` its ALT dosage and ``p`` the
variant's ALT frequency; missing or haploid calls become 0 (mean imputation); variants with weight 0
(monomorphic, or excluded by the caller) give rows of zeros. With ``X`` this (variants x samples)
matrix over ``M`` variants, ``X.T @ X / M`` is plink2's variance-standardized relationship matrix, so
its eigenvectors are plink2's PCs and ``s**2 / M`` (``s`` the singular values of ``X``) its eigenvalues.
"""
from __future__ import annotations

import numpy as np

from .accelerate import jit
from .calls import call_counts


@jit
def standardize_block(g, mean, inv_sd):
    """Standardized dosages of one block.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)
    mean : ndarray, float64, shape (n_variants,)
        Expected ALT dosage ``2 p``.
    inv_sd : ndarray, float64, shape (n_variants,)
        ``1 / sqrt(2 p (1 - p))``, or 0 for a variant that must not contribute.

    Returns
    -------
    ndarray, float32, shape (n_variants, n_samples)
    """
    n_var, n_smp = g.shape[:2]
    out = np.zeros((n_var, n_smp), dtype=np.float32)
    for v in range(n_var):
        w = inv_sd[v]
        if w == 0.0:
            continue
        m = mean[v]
        for s in range(n_smp):
            n_present, n_alt, miss = call_counts(g, v, s)
            if miss or n_present != 2:
                continue
            out[v, s] = (n_alt - m) * w
    return out


def standardize_block_reference(g: np.ndarray, mean: np.ndarray, inv_sd: np.ndarray) -> np.ndarray:
    """Plain numpy twin of :func:`standardize_block`."""
    g = np.asarray(g)
    present = (g >= 0).sum(axis=2)
    ok = ~(g == -1).any(axis=2) & (present == 2)
    dosage = (g > 0).sum(axis=2)
    x = (dosage - np.asarray(mean)[:, None]) * np.asarray(inv_sd)[:, None]
    return np.where(ok & (np.asarray(inv_sd)[:, None] != 0), x, 0.0).astype(np.float32)
