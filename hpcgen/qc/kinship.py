"""KING-robust kinship for every pair of samples, block pair by block pair (as plink2 --make-king-table).

Samples are cut into blocks of ``block_samples``; each pair of blocks (a <= b) is one task. A task reads
the store's rows block by block (the hard-call bit-planes, else int8 calls; LZ4 decoded without the GIL),
turns the rows it uses into per-sample bit sets over variants for its two sample blocks (64 x 64 bit
transposes of the planes, :func:`hpcgen.kernels.king.king_bitsets_planes`), and adds popcounts of every
pair into one int32 total (:func:`hpcgen.kernels.king.king_pair_counts`). Rows with few carriers (samples
not homozygous REF; most rows of a cohort are rare variants) skip the pair loop: they add along their
carriers' rows and columns only (:func:`hpcgen.kernels.king.king_sparse_rows`), as plink2 does;
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

from hpcgen.qc.counts import Task, _row_tasks, read_block


class _PairTotals:
    """KING totals of one pair of sample ranges, fed rows in any order (the counts are sums over variants).

    Rows arrive as bit-planes or as int8 calls; each kind is buffered up to ``slice_rows`` so that the pair
    kernel runs over many words per pair (its per-pair overhead is then small).
    """

    def __init__(self, a: tuple[int, int], b: tuple[int, int], slice_rows: int) -> None:
        self.a, self.b, self.same = a, b, a == b
        self.slice_rows = max(64, slice_rows // 64 * 64)
        self.total = np.zeros((5, a[1] - a[0], b[1] - b[0]), dtype=np.int32)
        # rows with few carriers (most rows of a cohort) go through them, not through every pair
        self.max_carriers = sparse_carriers(a, b)
        self._row_add = np.zeros((5, a[1] - a[0]), dtype=np.int32)
        self._col_add = np.zeros((5, b[1] - b[0]), dtype=np.int32)
        self._n_sparse = 0
        self._planes: list[tuple[np.ndarray, np.ndarray]] = []  # (bits, hap); hap has 0 rows when none is haploid
        self._calls: list[np.ndarray] = []
        self._n_planes = self._n_calls = 0  # rows buffered

    def add_planes(self, bits: np.ndarray, hap: np.ndarray) -> None:
        if len(bits) and self.max_carriers:
            from hpcgen.kernels.king import king_sparse_rows

            dense, n_sparse = king_sparse_rows(bits, hap, *self.a, *self.b, self.same, self.max_carriers, self.total,
                                               self._row_add, self._col_add)
            self._n_sparse += n_sparse
            bits, hap = bits[dense], (hap[dense] if len(hap) else hap)
        if len(bits):
            self._planes.append((bits, hap))
            self._n_planes += len(bits)
            if self._n_planes >= self.slice_rows:
                self._flush_planes()

    def add_calls(self, g: np.ndarray) -> None:
        if len(g):
            self._calls.append(g)
            self._n_calls += len(g)
            if self._n_calls >= self.slice_rows:
                self._flush_calls()

    def _flush_planes(self) -> None:
        from hpcgen.kernels.king import king_bitsets_planes

        if self._planes:
            bits = np.concatenate([p[0] for p in self._planes])
            if any(len(h) for _, h in self._planes):  # zeros only where a block had no haploid plane
                hap = np.concatenate([h if len(h) else np.zeros(b.shape[::2], np.uint64) for b, h in self._planes])
            else:
                hap = self._planes[0][1]
            self._planes, self._n_planes = [], 0
            ba = king_bitsets_planes(bits, hap, *self.a)
            self._count(ba, ba if self.same else king_bitsets_planes(bits, hap, *self.b))

    def _flush_calls(self) -> None:
        from hpcgen.kernels.king import king_bitsets

        if self._calls:
            g = np.concatenate(self._calls)
            self._calls, self._n_calls = [], 0
            ba = king_bitsets(g[:, self.a[0]:self.a[1]])
            self._count(ba, ba if self.same else king_bitsets(g[:, self.b[0]:self.b[1]]))

    def _count(self, bits_a: np.ndarray, bits_b: np.ndarray) -> None:
        from hpcgen.kernels.king import king_pair_counts

        king_pair_counts(bits_a, bits_b, self.same, self.total)

    def finish(self) -> np.ndarray:
        self._flush_planes()
        self._flush_calls()
        self.total += self._row_add[:, :, None]
        self.total += self._col_add[:, None, :]
        self.total[0] += np.int32(self._n_sparse)
        return self.total


def sparse_carriers(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Most carriers (samples not homozygous REF, in both ranges) of a row counted through its carriers.

    Through carriers a row costs ~carriers^2 steps (their pairs), in the pair kernel |a| |b| / 64 word steps:
    they cost the same near sqrt(|a| |b|) / 8; measured on the 5,000-sample bench data, 128 to 256 carriers
    were best for two blocks of 2,048 (2.55 s per block pair; 4.8 s at 64, 3.2 s at 512).
    """
    import math

    return math.isqrt((a[1] - a[0]) * (b[1] - b[0])) // 10


def _block_pair(store_path: str, tasks: list[Task], masks: list[np.ndarray], a: tuple[int, int],
                b: tuple[int, int], threshold: float, slice_rows: int) -> pd.DataFrame:
    """Pairs above ``threshold`` between sample ranges ``a`` and ``b`` (a[0] <= b[0]) over the used rows.

    Rows come from the bit-planes where the shard has them (8x fewer bytes than int8 calls); rows the
    planes do not hold exactly, and shards without planes, from the int8 calls.
    """
    from hpcgen.kernels.layout import EXACT_NO
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open_shared(store_path)
    totals = _PairTotals(a, b, slice_rows)
    for task, mask in zip(tasks, masks):
        block = read_block(store, task)
        if len(block) == 1:  # no planes: int8 calls
            totals.add_calls(block[0][mask])
            continue
        bits, hap, exact, rest, g_rest = block
        held = mask & (exact != EXACT_NO)
        totals.add_planes(bits[held], hap[held] if len(hap) else hap)
        totals.add_calls(g_rest[mask[rest]])
    return _pairs_above(totals.finish(), a[0], b[0], a == b, threshold)


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
        Rows read at a time (rounded to the store's chunks), and rows counted per call of the pair kernel.
    block_samples : int
        Samples per block, rounded up to a multiple of 64 (the bit-planes' words); a task holds
        5 x block_samples^2 int32 totals (84 MB at 2,048).
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
        edges = list(range(0, n, max(64, -(-block_samples // 64) * 64))) + [n]
        ranges = list(zip(edges[:-1], edges[1:]))
        parts = [delayed(_block_pair)(str(store.path), tasks, masks, ra, rb, threshold, block_variants)
                 for x, ra in enumerate(ranges) for rb in ranges[x:]]
        frames = list(dask.compute(*parts, **compute_kwargs))
    pairs = pd.concat(frames, ignore_index=True) if frames else _pairs_above(np.zeros((5, 0, 0)), 0, 0, True, threshold)
    samples = np.asarray(store.samples, dtype=str)
    pairs.insert(0, "sample_1", samples[pairs.pop("i").to_numpy()])
    pairs.insert(1, "sample_2", samples[pairs.pop("j").to_numpy()])
    return pairs.sort_values("kinship", ascending=False, kind="stable").reset_index(drop=True)
