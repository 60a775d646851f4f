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
from .hardcalls import row_carriers


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


@jit
def _row_values(m, w, values):
    """Standardized value of each call code (hom-REF, het, hom-ALT, missing/haploid) of one variant."""
    values[0] = -m * w
    values[1] = (1.0 - m) * w
    values[2] = (2.0 - m) * w
    values[3] = 0.0


@jit
def planes_times(bits, hap, mean, inv_sd, right, right_sum):
    """``X @ right`` for the standardized rows held by ``bits``, without forming ``X``.

    Row ``v`` of ``X`` is the hom-REF value everywhere but at its carriers (samples not homozygous REF), so
    ``X[v] @ right`` is that value times the column sums of ``right`` plus one term per carrier: the work
    is the number of carriers times ``l``, not ``n_samples`` times ``l``.

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
        Bit-planes of rows the planes hold exactly (:mod:`kernels.hardcalls`: (0, 0) hom-REF, (1, 0) het,
        (0, 1) hom-ALT, (1, 1) missing).
    hap : ndarray, uint64, shape (n_variants, n_words) or (0, n_words)
        Haploid calls (none when empty): value 0, as missing calls.
    mean, inv_sd : ndarray, float64, shape (n_variants,)
    right : ndarray, float64, shape (n_samples, l)
    right_sum : ndarray, float64, shape (l,)
        ``right.sum(axis=0)``.

    Returns
    -------
    ndarray, float64, shape (n_variants, l)
    """
    n_var = bits.shape[0]
    nw = bits.shape[2]
    n_l = right.shape[1]
    has_hap = hap.shape[0] > 0
    out = np.zeros((n_var, n_l), dtype=np.float64)
    values = np.zeros(4, dtype=np.float64)
    pos = np.empty(64 * nw, dtype=np.int64)
    code = np.empty(64 * nw, dtype=np.int8)
    for v in range(n_var):
        w = inv_sd[v]
        if w == 0.0:
            continue
        _row_values(mean[v], w, values)
        x0 = values[0]
        for c in range(n_l):
            out[v, c] = x0 * right_sum[c]
        for x in range(row_carriers(bits, hap, has_hap, v, 0, 64 * nw, pos, code)):
            s = pos[x]
            d = values[code[x]] - x0
            for c in range(n_l):
                out[v, c] += d * right[s, c]
    return out


@jit
def planes_transpose_times(bits, hap, mean, inv_sd, left, out):
    """Add ``X.T @ left`` for the standardized rows held by ``bits`` to ``out``, without forming ``X``.

    As :func:`planes_times`: what every sample gets from the hom-REF values is one vector (added to all rows
    of ``out`` at the end), and each carrier adds its own difference.

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
        Bit-planes of rows the planes hold exactly (:mod:`kernels.hardcalls`: (0, 0) hom-REF, (1, 0) het,
        (0, 1) hom-ALT, (1, 1) missing).
    hap : ndarray, uint64, shape (n_variants, n_words) or (0, n_words)
        Haploid calls (none when empty): value 0, as missing calls.
    mean, inv_sd : ndarray, float64, shape (n_variants,)
    left : ndarray, float64, shape (n_variants, l)
    out : ndarray, float64, shape (n_samples, l)
        Added to.
    """
    n_var = bits.shape[0]
    nw = bits.shape[2]
    n_l = left.shape[1]
    n_smp = out.shape[0]
    has_hap = hap.shape[0] > 0
    base = np.zeros(n_l, dtype=np.float64)
    values = np.zeros(4, dtype=np.float64)
    pos = np.empty(64 * nw, dtype=np.int64)
    code = np.empty(64 * nw, dtype=np.int8)
    for v in range(n_var):
        w = inv_sd[v]
        if w == 0.0:
            continue
        _row_values(mean[v], w, values)
        x0 = values[0]
        for c in range(n_l):
            base[c] += x0 * left[v, c]
        for x in range(row_carriers(bits, hap, has_hap, v, 0, 64 * nw, pos, code)):
            s = pos[x]
            d = values[code[x]] - x0
            for c in range(n_l):
                out[s, c] += d * left[v, c]
    for s in range(n_smp):
        for c in range(n_l):
            out[s, c] += base[c]
