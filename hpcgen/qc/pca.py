"""PCA of the cohort: randomized SVD (dask.array.linalg.svd_compressed) of standardized genotypes.

The standardized matrix (variants x samples, :mod:`hpcgen.kernels.pca_blocks`) is never held whole:
each power iteration makes its blocks again from the store (from the hard-call bit-planes, 2 bits per
call), so memory stays at a few blocks and the power iterations' products whatever the cohort size.
Variants used: autosomal, polymorphic, with at least one diploid call (as plink2 --pca).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcgen.qc.counts import Task, row_runs


@dataclass
class PcaResult:
    """pcs: float64 (n_samples, k), unit-length columns; eigenvalues: float64 (k,), plink2's scale
    (eigenvalues of the GRM X'X / M); explained: float64 (k,), fraction of the total variance;
    n_variants: M, variants used."""

    pcs: np.ndarray
    eigenvalues: np.ndarray
    explained: np.ndarray
    n_variants: int


def _standardized_rows(store_path: str, task: Task, rows: np.ndarray, mean: np.ndarray,
                       inv_sd: np.ndarray) -> np.ndarray:
    """Standardized dosages (float32, (len(rows), n_samples)) of rows ``rows`` (indices within ``task``),
    from the bit-planes where the shard has them, else (and for rows the planes do not hold) the int8 calls."""
    from hpcgen.kernels.hardcalls import EXACT_NO
    from hpcgen.kernels.pca_blocks import standardize_block, standardize_planes
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(store_path)
    i, r0, r1, _ = task
    planes = store.read_hardcall_rows(i, r0, r1) if store.shards[i].hardcall else None
    if planes is None:
        return standardize_block(store.read_genotype_rows(i, r0, r1)[rows], mean, inv_sd)
    bits, hap, exact = planes
    out = standardize_planes(bits[rows], hap[rows] if len(hap) else hap, mean, inv_sd, store.n_samples)
    # the few rows the planes do not hold (an allele code above 1, an absent first allele), run by run
    for run in row_runs(rows[exact[rows] == EXACT_NO]):
        k = np.searchsorted(rows, run)
        out[k] = standardize_block(store.read_genotype_rows(i, r0 + int(run[0]), r0 + int(run[-1]) + 1), mean[k], inv_sd[k])
    return out


def _sum_of_squares(counts: np.ndarray, mean: np.ndarray, inv_sd: np.ndarray) -> float:
    """Sum of the squared standardized dosages, from the diploid call counts (n_variants, 3: hom-REF, het,
    hom-ALT): the total variance, without another pass over the genotypes."""
    x = (np.arange(3.0)[None, :] - mean[:, None]) * inv_sd[:, None]
    return float((counts * x**2).sum())


def compute_pca(store, af: np.ndarray, use: np.ndarray, diploid_counts: np.ndarray, k: int, *, block_variants: int,
                seed: int = 0, n_power_iter: int = 4, **compute_kwargs: Any) -> PcaResult:
    """Top ``k`` principal components.

    Parameters
    ----------
    store : hpcgen.store.GenotypeStore
    af : ndarray, float64, shape (n_variants,)
        ALT allele frequency (from the counting pass).
    use : ndarray, bool, shape (n_variants,)
        Variants to include (autosomal, 0 < af < 1).
    diploid_counts : ndarray, int64, shape (n_variants, 3)
        Hom-REF, het, hom-ALT calls per variant (from the counting pass): the total variance.
    k : int
        Components wanted (capped at min(n_samples, variants used) - 1).
    block_variants : int
        Store rows per block (rounded to the store's chunks).
    seed, n_power_iter
        Randomized SVD settings (fixed seed: reruns give the same PCs).
    compute_kwargs
        Passed to ``dask.compute`` (scheduler, num_workers; none under a distributed client).
    """
    import dask
    import dask.array as da

    from hpcgen.qc.counts import _row_tasks

    idx = np.flatnonzero(use)
    n_samples = store.n_samples
    k = int(min(k, n_samples - 1, max(len(idx) - 1, 0)))
    if k < 1:
        return PcaResult(np.zeros((n_samples, 0)), np.zeros(0), np.zeros(0), len(idx))
    p = af
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_sd = np.where(use, 1.0 / np.sqrt(2.0 * p * (1.0 - p)), 0.0)
    mean = np.where(use, 2.0 * p, 0.0)
    blocks = []
    for task in _row_tasks(store, block_variants):
        i, r0, r1, g0 = task
        rows = np.flatnonzero(use[g0:g0 + r1 - r0])
        if rows.size:
            sel = g0 + rows
            part = dask.delayed(_standardized_rows, pure=True)(str(store.path), task, rows, mean[sel], inv_sd[sel])
            blocks.append(da.from_delayed(part, shape=(rows.size, n_samples), dtype=np.float32))
    x = da.concatenate(blocks, axis=0)
    with dask.config.set(**compute_kwargs):  # the persists inside svd_compressed use the same scheduler
        # compute=True: each power iteration's product is persisted and the standardized blocks are made
        # again from the store's bit-planes on every pass, instead of the whole float32 matrix (4 bytes
        # per genotype) staying in memory for the next pass
        u, s, v = da.linalg.svd_compressed(x, k, n_power_iter=n_power_iter, n_oversamples=max(10, k), seed=seed,
                                           compute=True)
        s, v = dask.compute(s, v, **compute_kwargs)
    total = _sum_of_squares(diploid_counts[idx], mean[idx], inv_sd[idx])
    s = np.asarray(s, dtype=np.float64)
    pcs = np.asarray(v, dtype=np.float64).T
    # a fixed sign convention (largest |loading| positive) so reruns and chunkings agree
    flip = np.sign(pcs[np.abs(pcs).argmax(axis=0), np.arange(pcs.shape[1])])
    pcs *= np.where(flip == 0, 1.0, flip)
    return PcaResult(pcs, s**2 / len(idx), s**2 / total if total > 0 else np.full(k, np.nan), len(idx))
