"""Data for training: splits, standardization, per-rank shards, and genotype dosages read shard by shard.

Each rank trains on a static shard of the training rows (rank r takes rows r, r + world, ...), padded so
every rank runs the same number of steps (collectives need it); rows are reshuffled inside the shard
every epoch from (seed, epoch, rank), so a resumed run replays exactly the batches it would have seen.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpcgen.errors import InputError


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled train / validation / test row indices (each at least one row when n >= 3)."""
    if n < 3:
        raise InputError(f"need at least 3 patients with a dose to train, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    n_val = max(1, int(round(n * val_fraction)))
    return perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test]


@dataclass
class Standardizer:
    """Feature and target scaling fitted on training rows; the target is sqrt(dose) (IWPC form).

    Attributes
    ----------
    x_mean, x_std : float64 (n_features,)
    y_mean, y_std : float, of sqrt(dose in mg/week)
    """

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> "Standardizer":
        mean = np.nanmean(x, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.nanstd(x, axis=0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        t = np.sqrt(y)
        return cls(mean, std, float(t.mean()), float(t.std() or 1.0))

    def x(self, x: np.ndarray) -> np.ndarray:
        """Standardized features, float32; missing values become the training mean (0)."""
        z = (x - self.x_mean) / self.x_std
        return np.where(np.isfinite(z), z, 0.0).astype(np.float32)

    def y(self, dose: np.ndarray) -> np.ndarray:
        return ((np.sqrt(dose) - self.y_mean) / self.y_std).astype(np.float32)

    def dose(self, t: np.ndarray) -> np.ndarray:
        """Back from the standardized sqrt scale to mg/week."""
        return np.square(np.maximum(np.asarray(t, dtype=float) * self.y_std + self.y_mean, 0.0))

    def to_dict(self) -> dict:
        return {"x_mean": self.x_mean.tolist(), "x_std": self.x_std.tolist(), "y_mean": self.y_mean, "y_std": self.y_std,
                "target": "sqrt(dose_mg_week), standardized"}

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        return cls(np.asarray(d["x_mean"], float), np.asarray(d["x_std"], float), float(d["y_mean"]), float(d["y_std"]))


def rank_shard(n_rows: int, rank: int, world: int) -> np.ndarray:
    """Row positions for ``rank``: a strided shard, padded by wrap-around to ceil(n_rows / world) rows."""
    per_rank = -(-n_rows // world)
    idx = np.arange(rank, per_rank * world, world) % n_rows
    return idx


def epoch_batches(shard: np.ndarray, batch_size: int, seed: int, epoch: int, rank: int) -> list[np.ndarray]:
    """The shard reshuffled for this epoch, cut into batches (the last may be smaller)."""
    rng = np.random.default_rng([seed, epoch, rank])
    order = shard[rng.permutation(len(shard))]
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Write arrays as an uncompressed .npz atomically (read back with allow_pickle=False)."""
    from hpcgen.fsutil import atomic_path

    with atomic_path(path, mode=0o600) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return Path(path)


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def store_dosages(store_path: str | os.PathLike, samples: list[str], max_variants: int,
                  min_maf: float = 0.01, variant_ids: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Alt-allele dosages of ``samples`` read from the store one region shard at a time.

    Parameters
    ----------
    store_path
        A genotype store (``hpcgen ingest`` output).
    samples
        Pseudonymized IDs to read (columns are selected per shard: only these samples are decoded).
    max_variants
        Stop after this many polymorphic variants (MAF >= ``min_maf`` among ``samples``).
    variant_ids
        Read exactly these variants, in this order (a trained model's inputs) instead of choosing by MAF.

    Returns
    -------
    (float32 (n_samples, n_variants) dosages, missing calls set to the variant's mean; variant IDs chrom:pos:ref:alt)
    """
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(store_path)
    col = {s: i for i, s in enumerate(store.samples.tolist())}
    absent = [s for s in samples if s not in col]
    if absent:
        raise InputError(f"{len(absent)} sample(s) not in the store (first: {absent[0]!r})", store_path)
    cols = np.array([col[s] for s in samples])
    wanted = None if variant_ids is None else set(variant_ids)
    if wanted is not None:
        max_variants = len(variant_ids)
    blocks, ids, total = [], [], 0
    for shard in store.shards:
        if total >= max_variants:
            break
        g = store.genotypes((shard.chrom, shard.start, shard.end))[:, cols, :]  # (v, s, ploidy) int8
        called = g >= 0
        missing = (g == -1).any(axis=2)
        dos = np.where(called, g, 0).sum(axis=2).astype(np.float32)
        dos[missing] = np.nan
        mean = np.nanmean(np.where(missing, np.nan, dos), axis=1)
        maf = np.minimum(mean / 2, 1 - mean / 2)
        var = store.variants((shard.chrom, shard.start, shard.end))
        shard_ids = np.array([f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(var["chrom"], var["pos"], var["ref"], var["alt"])])
        if wanted is None:
            keep = np.isfinite(maf) & (maf >= min_maf)
        else:
            keep = np.array([i in wanted for i in shard_ids], dtype=bool)
            mean = np.where(np.isfinite(mean), mean, 0.0)
        dos = np.where(np.isnan(dos), mean[:, None], dos)[keep][: max_variants - total]
        ids += shard_ids[keep][: len(dos)].tolist()
        blocks.append(dos)
        total += len(dos)
    if total == 0:
        raise InputError(f"no polymorphic variant (MAF >= {min_maf}) in the store for these samples", store_path)
    x = np.concatenate(blocks, axis=0).T
    if variant_ids is not None:
        if len(ids) != len(variant_ids) or set(ids) != wanted:
            lacking = sorted(wanted - set(ids))
            raise InputError(f"{len(lacking)} variant(s) the model was trained on are not in the store (first: {lacking[:1]})",
                             store_path)
        order = {v: i for i, v in enumerate(ids)}
        x, ids = x[:, [order[v] for v in variant_ids]], list(variant_ids)
    return x.copy(), ids
