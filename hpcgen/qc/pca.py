"""PCA of the cohort: randomized SVD of standardized genotypes (as plink2 --pca approx).

The standardized matrix (variants x samples, :mod:`hpcgen.kernels.pca_blocks`) is never formed: each
product of the randomized subspace iteration is one pass over the store's bit-planes that touches only
the carriers of each row (samples not homozygous REF), so memory stays at the iteration's vectors
(variants x (k + oversampling) floats) plus a block of rows, whatever the number of samples.
Variants used: autosomal, polymorphic, with at least one diploid call (as plink2 --pca).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcgen.qc.counts import Task, read_block


@dataclass
class PcaResult:
    """pcs: float64 (n_samples, k), unit-length columns; eigenvalues: float64 (k,), plink2's scale
    (eigenvalues of the GRM X'X / M); explained: float64 (k,), fraction of the total variance;
    n_variants: M, variants used."""

    pcs: np.ndarray
    eigenvalues: np.ndarray
    explained: np.ndarray
    n_variants: int


def _sum_of_squares(counts: np.ndarray, mean: np.ndarray, inv_sd: np.ndarray) -> float:
    """Sum of the squared standardized dosages, from the diploid call counts (n_variants, 3: hom-REF, het,
    hom-ALT): the total variance, without another pass over the genotypes."""
    x = (np.arange(3.0)[None, :] - mean[:, None]) * inv_sd[:, None]
    return float((counts * x**2).sum())


def _block_product(store_path: str, task: Task, rows: np.ndarray, mean: np.ndarray, inv_sd: np.ndarray,
                   mat: np.ndarray, transpose: bool) -> np.ndarray:
    """One task's part of a product with the standardized matrix ``X`` (its rows ``rows`` of ``task``).

    ``transpose`` False: ``X_rows @ mat`` with ``mat`` (n_samples, l) -> (len(rows), l). True: ``X_rows.T @ mat``
    with ``mat`` this task's rows of the left factor (len(rows), l) -> (n_samples, l). Rows held by the
    bit-planes go through their carriers only (:func:`hpcgen.kernels.pca_blocks.planes_times`); rows the
    planes do not hold, and shards without planes, through standardized int8 calls.
    """
    from hpcgen.kernels.layout import EXACT_NO
    from hpcgen.kernels.pca_blocks import planes_times, planes_transpose_times, standardize_block
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open_shared(store_path)
    out = np.zeros((store.n_samples if transpose else len(rows), mat.shape[1]), dtype=np.float64)

    def dense(k: np.ndarray, g: np.ndarray) -> None:  # positions k (into rows) with their int8 calls g
        x = standardize_block(g, mean[k], inv_sd[k]).astype(np.float64)
        if transpose:
            out[...] += x.T @ mat[k]
        else:
            out[k] = x @ mat

    block = read_block(store, task)
    if len(block) == 1:  # no planes: int8 calls
        dense(np.arange(len(rows)), block[0][rows])
        return out
    bits, hap, exact, rest, g_rest = block
    held = np.flatnonzero(exact[rows] != EXACT_NO)
    b = bits[rows[held]]
    h = hap[rows[held]] if len(hap) else hap
    if transpose:
        planes_transpose_times(b, h, mean[held], inv_sd[held], np.ascontiguousarray(mat[held]), out)
    else:
        out[held] = planes_times(b, h, mean[held], inv_sd[held], mat, mat.sum(axis=0))
    odd = np.flatnonzero(exact[rows] == EXACT_NO)  # the few rows the planes do not hold
    if odd.size:
        dense(odd, g_rest[np.searchsorted(rest, rows[odd])])
    return out


def compute_pca(store, af: np.ndarray, use: np.ndarray, diploid_counts: np.ndarray, k: int, *, block_variants: int,
                seed: int = 0, n_power_iter: int = 4, **compute_kwargs: Any) -> PcaResult:
    """Top ``k`` principal components.

    Randomized subspace iteration (Halko, Martinsson & Tropp 2011, algorithm 4.4, as
    ``dask.array.linalg.svd_compressed``): ``k + max(10, k)`` Gaussian test vectors, ``n_power_iter`` power
    iterations, each product orthonormalized (QR), then the SVD of the small projected matrix. The matrix
    is never formed: every product is one pass over the store by Dask tasks of whole rows, each going
    through the carriers of its rows (:func:`_block_product`); 2 ``n_power_iter`` + 2 passes.

    Why not ``svd_compressed`` itself: it needs the standardized matrix as a dask array, i.e. formed block by
    block on every pass (4 bytes per genotype written and read again), where these products need only the
    carriers (8% of the calls on the bench cohort).

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
        Store rows per task (rounded to the store's chunks).
    seed, n_power_iter
        Randomized SVD settings (fixed seed: reruns give the same PCs).
    compute_kwargs
        Passed to ``dask.compute`` (scheduler, num_workers; none under a distributed client).
    """
    import functools

    import dask

    from hpcgen.qc.counts import _row_tasks, _tree_sum

    idx = np.flatnonzero(use)
    n_samples = store.n_samples
    k = int(min(k, n_samples - 1, max(len(idx) - 1, 0)))
    if k < 1:
        return PcaResult(np.zeros((n_samples, 0)), np.zeros(0), np.zeros(0), len(idx))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_sd = np.where(use, 1.0 / np.sqrt(2.0 * af * (1.0 - af)), 0.0)
    mean = np.where(use, 2.0 * af, 0.0)
    delayed = functools.partial(dask.delayed, pure=True)
    parts = []  # (task, rows within the task, offset of its rows among the used rows)
    offset = 0
    for task in _row_tasks(store, block_variants):
        i, r0, r1, g0 = task
        rows = np.flatnonzero(use[g0:g0 + r1 - r0])
        if rows.size:
            parts.append((task, rows, offset))
            offset += rows.size
    path = str(store.path)

    def args(task, rows):
        sel = task[3] + rows
        return path, task, rows, mean[sel], inv_sd[sel]

    def times(right: np.ndarray) -> np.ndarray:  # X @ right: (used variants, l)
        r = delayed(right)  # one graph node: sent once to each worker
        blocks = dask.compute(*[delayed(_block_product)(*args(t, rows), r, False) for t, rows, _ in parts],
                              **compute_kwargs)
        return np.concatenate(blocks)

    def transpose_times(left: np.ndarray) -> np.ndarray:  # X.T @ left: (samples, l)
        sums = [delayed(_block_product)(*args(t, rows), left[o:o + rows.size], True) for t, rows, o in parts]
        (total,) = dask.compute(_tree_sum(sums, delayed), **compute_kwargs)
        return total

    def orthonormal(a: np.ndarray) -> np.ndarray:
        return np.linalg.qr(a, mode="reduced")[0]

    n_vectors = min(k + max(10, k), n_samples, len(idx))
    omega = np.random.default_rng(seed).standard_normal((n_samples, n_vectors))
    q = orthonormal(times(omega))
    for _ in range(n_power_iter):
        q = orthonormal(times(orthonormal(transpose_times(q))))
    _, s, vt = np.linalg.svd(transpose_times(q).T, full_matrices=False)  # Q.T X, (n_vectors, samples)
    s = s[:k]
    pcs = vt[:k].T.copy()
    total = _sum_of_squares(diploid_counts[idx], mean[idx], inv_sd[idx])
    # a fixed sign convention (largest |loading| positive) so reruns and chunkings agree
    flip = np.sign(pcs[np.abs(pcs).argmax(axis=0), np.arange(pcs.shape[1])])
    pcs *= np.where(flip == 0, 1.0, flip)
    return PcaResult(pcs, s**2 / len(idx), s**2 / total if total > 0 else np.full(k, np.nan), len(idx))
