"""KING-robust kinship for every pair of samples, block pair by block pair (as plink2 --make-king-table).

Samples are cut into blocks; for each pair of sample blocks (a <= b) one task per variant block builds
0/1 indicators of both blocks in slices of at most ``slice_variants`` variants and adds the five count
matrices (BLAS products). Partial counts are summed across variant blocks by a tree reduction; only
pairs above the threshold leave the workers. Memory per task: 2 x 4 x block_samples x slice_variants
float32 plus 5 x block_samples^2 float64.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from hpcgen.qc.counts import _tree_sum


def _pair_counts(g_a: np.ndarray, g_b: np.ndarray | None, slice_variants: int) -> np.ndarray:
    from hpcgen.kernels.king import king_indicators, king_pair_counts

    total = None
    for start in range(0, g_a.shape[0], slice_variants):
        ia = king_indicators(np.ascontiguousarray(g_a[start:start + slice_variants]))
        ib = ia if g_b is None else king_indicators(np.ascontiguousarray(g_b[start:start + slice_variants]))
        part = king_pair_counts(ia, ib)
        total = part if total is None else total + part
    if total is None:
        n_a = g_a.shape[1]
        n_b = n_a if g_b is None else g_b.shape[1]
        total = np.zeros((5, n_a, n_b))
    return total


def _pairs_above(counts: np.ndarray, off_a: int, off_b: int, same: bool, threshold: float) -> pd.DataFrame:
    from hpcgen.kernels.king import king_kinship

    phi = king_kinship(counts)
    mask = phi > threshold
    if same:
        mask &= np.triu(np.ones_like(mask, dtype=bool), k=1)
    ia, ib = np.nonzero(mask)
    return pd.DataFrame({
        "i": ia + off_a, "j": ib + off_b, "nsnp": counts[0][ia, ib].astype(np.int64),
        "hethet": counts[1][ia, ib].astype(np.int64), "ibs0": counts[2][ia, ib].astype(np.int64),
        "het_1": counts[3][ia, ib].astype(np.int64), "het_2": counts[4][ia, ib].astype(np.int64),
        "kinship": phi[ia, ib],
    })


def compute_kinship(gt, use: np.ndarray, samples: np.ndarray, threshold: float, *, slice_variants: int = 2048,
                    block_samples: int = 2048, **compute_kwargs: Any) -> pd.DataFrame:
    """Pairs of samples with KING-robust kinship above ``threshold``.

    Parameters
    ----------
    gt : dask.array, int8, shape (n_variants, n_samples, ploidy)
    use : ndarray, bool, shape (n_variants,)
        Variants to count (plink2 uses the autosomes).
    samples : ndarray of str, shape (n_samples,)
    threshold : float
        Report pairs with kinship strictly above it (0.0884: second degree or closer).

    Returns
    -------
    DataFrame
        sample_1, sample_2 (sample_1 earlier in the store), nsnp, hethet, ibs0, het_1, het_2, kinship;
        sorted by kinship, highest first.
    """
    import dask

    delayed = functools.partial(dask.delayed, pure=True)
    idx = np.flatnonzero(use)
    # KING's memory grows as block_samples^2: its own sample blocks, whatever the counting pass uses
    sub = (gt[idx] if len(idx) < gt.shape[0] else gt).rechunk({1: min(block_samples, max(gt.shape[1], 1)), 2: -1})
    if sub.shape[0] == 0 or sub.shape[1] < 2:
        frames = []
    else:
        blocks = sub.to_delayed()
        s_edges = np.concatenate([[0], np.cumsum(sub.chunks[1])])
        tasks = []
        for a in range(sub.numblocks[1]):
            for b in range(a, sub.numblocks[1]):
                parts = [delayed(_pair_counts)(blocks[i, a, 0], None if a == b else blocks[i, b, 0], slice_variants)
                         for i in range(sub.numblocks[0])]
                total = _tree_sum(parts, delayed)
                tasks.append(delayed(_pairs_above)(total, int(s_edges[a]), int(s_edges[b]), a == b, threshold))
        frames = list(dask.compute(*tasks, **compute_kwargs))
    pairs = pd.concat(frames, ignore_index=True) if frames else _pairs_above(np.zeros((5, 0, 0)), 0, 0, True, threshold)
    samples = np.asarray(samples, dtype=str)
    pairs.insert(0, "sample_1", samples[pairs.pop("i").to_numpy()])
    pairs.insert(1, "sample_2", samples[pairs.pop("j").to_numpy()])
    return pairs.sort_values("kinship", ascending=False, kind="stable").reset_index(drop=True)
