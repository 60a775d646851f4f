"""KING-robust kinship for every pair of samples, block pair by block pair (as plink2 --make-king-table).

Samples are cut into blocks of ``block_samples``; each pair of blocks (a <= b) is one task. A task reads
the store's rows block by block (whole rows, LZ4 decoded without the GIL), turns the rows it uses into
per-sample bit sets over variants (:func:`hpcgen.kernels.king.king_bitsets`) for its two sample blocks,
and adds popcounts of every pair into one int32 total (:func:`hpcgen.kernels.king.king_pair_counts`);
only pairs above the threshold leave the task. Memory per task: 5 x block_samples^2 x 4 bytes of totals
plus one block of rows, whatever the number of variants. The same tasks run on the local thread pool or
on Dask workers of a Slurm profile (each opens the store where it runs). Every task reads the whole
store once: with b sample blocks that is b (b + 1) / 2 reads, cheap next to the pair counts (which grow
as samples^2 x variants).
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from hpcgen.qc.counts import Task, _row_tasks


def _block_pair(store_path: str, tasks: list[Task], masks: list[np.ndarray], a: tuple[int, int],
                b: tuple[int, int], threshold: float) -> pd.DataFrame:
    """Pairs above ``threshold`` between sample ranges ``a`` and ``b`` (a[0] <= b[0]) over the used rows."""
    from hpcgen.kernels.king import king_bitsets, king_pair_counts
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(store_path)
    same = a == b
    total = np.zeros((5, a[1] - a[0], b[1] - b[0]), dtype=np.int32)
    for (i, r0, r1, _), mask in zip(tasks, masks):
        g = store.read_genotype_rows(i, r0, r1)
        if not mask.all():
            g = g[mask]
        bits_a = king_bitsets(g[:, a[0]:a[1]])
        bits_b = bits_a if same else king_bitsets(g[:, b[0]:b[1]])
        king_pair_counts(bits_a, bits_b, same, total)
    return _pairs_above(total, a[0], b[0], same, threshold)


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


def compute_kinship(store, use: np.ndarray, threshold: float, *, block_variants: int, block_samples: int = 2048,
                    **compute_kwargs: Any) -> pd.DataFrame:
    """Pairs of samples with KING-robust kinship above ``threshold``.

    Parameters
    ----------
    store : hpcgen.store.GenotypeStore
    use : ndarray, bool, shape (n_variants,)
        Variants to count (plink2 uses the autosomes).
    threshold : float
        Report pairs with kinship strictly above it (0.0884: second degree or closer).
    block_variants : int
        Rows read at a time (rounded to the store's chunks).
    block_samples : int
        Samples per block; a task holds 5 x block_samples^2 int32 totals (84 MB at 2,048).
    compute_kwargs
        Passed to ``dask.compute`` (scheduler, num_workers; none under a distributed client).

    Returns
    -------
    DataFrame
        sample_1, sample_2 (sample_1 earlier in the store), nsnp, hethet, ibs0, het_1, het_2, kinship;
        sorted by kinship, highest first.
    """
    import dask

    delayed = functools.partial(dask.delayed, pure=True)
    n = store.n_samples
    tasks, masks = [], []
    for task in _row_tasks(store, block_variants):
        k, r0, r1 = task[3], task[1], task[2]
        mask = np.asarray(use[k:k + r1 - r0], dtype=bool)
        if mask.any():
            tasks.append(task)
            masks.append(mask)
    frames = []
    if tasks and n >= 2:
        edges = list(range(0, n, max(1, block_samples))) + [n]
        ranges = list(zip(edges[:-1], edges[1:]))
        parts = [delayed(_block_pair)(str(store.path), tasks, masks, ra, rb, threshold)
                 for x, ra in enumerate(ranges) for rb in ranges[x:]]
        frames = list(dask.compute(*parts, **compute_kwargs))
    pairs = pd.concat(frames, ignore_index=True) if frames else _pairs_above(np.zeros((5, 0, 0)), 0, 0, True, threshold)
    samples = np.asarray(store.samples, dtype=str)
    pairs.insert(0, "sample_1", samples[pairs.pop("i").to_numpy()])
    pairs.insert(1, "sample_2", samples[pairs.pop("j").to_numpy()])
    return pairs.sort_values("kinship", ascending=False, kind="stable").reset_index(drop=True)
