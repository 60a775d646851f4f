"""PCA of the cohort: randomized SVD (dask.array.linalg.svd_compressed) of standardized genotypes.

The standardized matrix (variants x samples, :mod:`hpcgen.kernels.pca_blocks`) is never held whole:
each power iteration streams the store's blocks again, so memory stays at a few blocks whatever the
cohort size. Variants used: autosomal, polymorphic, with at least one diploid call (as plink2 --pca).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class PcaResult:
    """pcs: float64 (n_samples, k), unit-length columns; eigenvalues: float64 (k,), plink2's scale
    (eigenvalues of the GRM X'X / M); explained: float64 (k,), fraction of the total variance;
    n_variants: M, variants used."""

    pcs: np.ndarray
    eigenvalues: np.ndarray
    explained: np.ndarray
    n_variants: int


def _standardize(g: np.ndarray, mean: np.ndarray, inv_sd: np.ndarray) -> np.ndarray:
    from hpcgen.kernels.pca_blocks import standardize_block

    return standardize_block(np.ascontiguousarray(g), mean.reshape(-1), inv_sd.reshape(-1))


def compute_pca(gt, af: np.ndarray, use: np.ndarray, k: int, *, seed: int = 0, n_power_iter: int = 4,
                **compute_kwargs: Any) -> PcaResult:
    """Top ``k`` principal components.

    Parameters
    ----------
    gt : dask.array, int8, shape (n_variants, n_samples, ploidy)
    af : ndarray, float64, shape (n_variants,)
        ALT allele frequency (from the counting pass).
    use : ndarray, bool, shape (n_variants,)
        Variants to include (autosomal, 0 < af < 1).
    k : int
        Components wanted (capped at min(n_samples, variants used) - 1).
    seed, n_power_iter
        Randomized SVD settings (fixed seed: reruns give the same PCs).
    """
    import dask
    import dask.array as da

    idx = np.flatnonzero(use)
    n_samples = gt.shape[1]
    k = int(min(k, n_samples - 1, max(len(idx) - 1, 0)))
    if k < 1:
        return PcaResult(np.zeros((n_samples, 0)), np.zeros(0), np.zeros(0), len(idx))
    sub = gt[idx] if len(idx) < gt.shape[0] else gt
    # float32 standardized blocks are 4x the int8 calls per allele pair: smaller variant blocks bound memory
    sub = sub.rechunk({0: min(2048, max(sub.shape[0], 1)), 2: -1})
    p = af[idx]
    mean = 2.0 * p
    inv_sd = 1.0 / np.sqrt(2.0 * p * (1.0 - p))
    m_d = da.from_array(mean.reshape(-1, 1, 1), chunks=(sub.chunks[0], 1, 1))
    s_d = da.from_array(inv_sd.reshape(-1, 1, 1), chunks=(sub.chunks[0], 1, 1))
    x = da.map_blocks(_standardize, sub, m_d, s_d, drop_axis=2, dtype=np.float32, meta=np.empty((0, 0), np.float32))
    u, s, v = da.linalg.svd_compressed(x, k, n_power_iter=n_power_iter, n_oversamples=max(10, k), seed=seed,
                                       compute=False)
    total = (x.astype(np.float64) ** 2).sum()
    s, v, total = dask.compute(s, v, total, **compute_kwargs)
    s = np.asarray(s, dtype=np.float64)
    pcs = np.asarray(v, dtype=np.float64).T
    # a fixed sign convention (largest |loading| positive) so reruns and chunkings agree
    flip = np.sign(pcs[np.abs(pcs).argmax(axis=0), np.arange(pcs.shape[1])])
    pcs *= np.where(flip == 0, 1.0, flip)
    return PcaResult(pcs, s**2 / len(idx), s**2 / float(total) if total > 0 else np.full(k, np.nan), len(idx))
