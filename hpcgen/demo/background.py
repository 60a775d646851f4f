"""Background variants: a coalescent simulation (msprime) laid out as windows on the GRCh38 chromosomes.

Each window is an independent ancestry simulation of the same sampled individuals, so LD is realistic inside a
window and absent between windows (as between distant loci). (One simulation of all windows joined by
free-recombination links was tried first: it is ~500x slower, as every lineage then recombines every generation.) Mutations follow an HKY nucleotide model (Ti/Tv ~2.05) on a discrete genome, so REF is the simulated ancestral base (it does **not** match
the GRCh38 sequence) and recurrent mutations give a few multi-allelic sites. The allele-frequency spectrum comes
from the demography (:mod:`hpcgen.demo.demography`): recent growth gives the excess of rare variants seen in real
cohorts.
"""
from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import msprime
import numpy as np
import tskit

from hpcgen.demo.demography import MUTATION_RATE, RECOMBINATION_RATE, out_of_africa
from hpcgen.demo.grch38 import AUTOSOMES, usable_intervals

#: HKY with 40 % GC; kappa 4.3 gives a transition/transversion ratio of 0.48 kappa ~2.05 (checked with bcftools stats), as in
#: human whole-genome calls (~2.0-2.1); Jukes-Cantor would give 0.5, which any QC report flags at once
SUBSTITUTION_MODEL = msprime.HKY(kappa=4.3, equilibrium_frequencies=[0.3, 0.2, 0.2, 0.3])

# msprime logs every replicate at INFO; the demo runs hundreds of small ones
logging.getLogger("msprime").setLevel(logging.WARNING)

#: keep simulated variants this far (bp) from any pharmacogenomic position
PGX_MARGIN_BP = 2_000


@dataclass(frozen=True)
class Window:
    """A simulated stretch placed on the genome: sim [sim_left, sim_right) -> chrom [start, start + length)."""

    chrom: str
    start: int  # 0-based genome coordinate of sim_left
    sim_left: int
    sim_right: int


@dataclass
class Block:
    """Variants of one window, ready to write.

    Attributes
    ----------
    chrom : str
    pos : ndarray, int64, shape (n,)
        1-based positions, increasing.
    alleles : list of tuple of str
        Per variant: REF then ALTs.
    haplotypes : ndarray, int8, shape (n, n_samples, 2)
        Allele index per haplotype, in the cohort's column order.
    """

    chrom: str
    pos: np.ndarray
    alleles: list[tuple[str, ...]]
    haplotypes: np.ndarray


def _window_layout(n_windows: int, window_bp: int, pgx: dict[str, np.ndarray], rng: np.random.Generator) -> list[tuple[str, int]]:
    """Genome placement (chrom, 0-based start) of ``n_windows`` windows, one per autosome and chrX at least."""
    chroms = list(AUTOSOMES) + ["chrX"]
    usable = {c: usable_intervals(c) for c in chroms}
    sizes = np.array([sum(b - a for a, b in usable[c]) for c in chroms], dtype=float)
    extra = max(n_windows - len(chroms), 0)
    share = sizes / sizes.sum() * extra
    counts = np.floor(share).astype(int) + 1
    for i in np.argsort(-(share - np.floor(share)))[: extra - int(np.floor(share).sum())]:
        counts[i] += 1
    layout = []
    for chrom, k in zip(chroms, counts):
        starts = []
        for j in range(k):
            # spread windows evenly over the usable sequence, jittered so they do not look gridded
            target = (j + 0.5 + rng.uniform(-0.3, 0.3)) / k * sizes[chroms.index(chrom)]
            for a, b in usable[chrom]:
                if target < b - a:
                    start = a + int(target)
                    break
                target -= b - a
            start = _clear_of(start, window_bp, pgx.get(chrom, np.empty(0, np.int64)), usable[chrom])
            starts.append(start)
        starts.sort()
        for prev, cur in zip(starts, starts[1:]):
            if cur < prev + window_bp:  # windows are far apart in practice; never let them overlap
                raise RuntimeError(f"demo windows overlap on {chrom}: too many windows for the genome")
        layout.extend((chrom, s) for s in starts)
    return layout


def _clear_of(start: int, length: int, positions: np.ndarray, usable: list[tuple[int, int]]) -> int:
    """Move a window right until it is inside a usable interval and clear of ``positions`` (+- margin)."""
    for _ in range(1000):
        interval = next(((a, b) for a, b in usable if a <= start < b), None)
        if interval is None or start + length > interval[1]:
            nxt = [a for a, _ in usable if a > start]
            start = nxt[0] if nxt else usable[0][0]
            continue
        hit = positions[(positions >= start - PGX_MARGIN_BP) & (positions < start + length + PGX_MARGIN_BP)]
        if hit.size == 0:
            return start
        start = int(hit.max()) + PGX_MARGIN_BP + 1
    raise RuntimeError("cannot place a demo window clear of the pharmacogenomic positions")


#: share of biallelic background sites written as short indels (real call sets: ~10 % indels)
INDEL_FRACTION = 0.06


def _as_indels(alleles: list[tuple[str, ...]], rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Turn a share of biallelic SNVs into 1-4 bp insertions or deletions (same genotypes, anchored on REF).

    msprime simulates substitutions only; the genotypes are what matter downstream, the allele text only has to
    be a valid, normalized indel.
    """
    out = list(alleles)
    pick = np.flatnonzero((rng.random(len(out)) < INDEL_FRACTION) & np.array([len(a) == 2 for a in out], dtype=bool))
    bases = np.array(list("ACGT"))
    for i in pick:
        ref = out[i][0]
        extra = "".join(rng.choice(bases, size=int(rng.integers(1, 5))))
        out[i] = (ref, ref + extra) if rng.random() < 0.5 else (ref + extra, ref)
    return out


class Background:
    """The simulated background of a cohort.

    Parameters
    ----------
    groups : ndarray of str, shape (n_samples,)
        Ancestry group code (EUR, AFR, EAS, ADM) of each cohort column.
    n_variants : int
        Number of background variants wanted (exactly this many are kept).
    seed : int
        Seed of the simulation (ancestry, mutations, placement, thinning).
    pgx_positions : dict
        chrom -> 1-based positions that simulated variants must stay clear of.
    window_kb : int
        Target length of a simulated window (LD extends within a window only).
    """

    # segregating (non-silent) sites per bp against ln(haplotypes), this demography and mutation model, default
    # group shares; measured with msprime 1.4 on 3 x 100 kb (the ends are extrapolations)
    _DENSITY_LN_N = (0.69, 3.0, 4.79, 6.21, 7.6, 8.52, 9.21, 11.5)
    _DENSITY = (0.0006, 0.0025, 0.0043, 0.0077, 0.0118, 0.0149, 0.0189, 0.032)

    def __init__(self, groups: np.ndarray, n_variants: int, seed: int, pgx_positions: dict[str, np.ndarray], window_kb: int = 100):
        self.n_samples = len(groups)
        self.n_variants = int(n_variants)
        self.seed = seed
        rng = np.random.default_rng([seed, 1])
        order = ["EUR", "AFR", "EAS", "ADM"]
        counts = {g: int(np.sum(groups == g)) for g in order}
        # msprime numbers individuals population by population: map each cohort column to its individual
        first = np.cumsum([0] + [counts[g] for g in order])[:-1]
        individual = np.empty(self.n_samples, dtype=np.int64)
        for g, f in zip(order, first):
            cols = np.flatnonzero(groups == g)
            individual[cols] = f + np.arange(cols.size)
        self.nodes = np.stack([2 * individual, 2 * individual + 1], axis=1)
        sample_sets = [msprime.SampleSet(counts[g], population=g) for g in order if counts[g]]
        self.sims, self.selected, self.windows = [], [], []
        if self.n_variants == 0:  # PharmCAT positions only
            return
        self._tmp = tempfile.TemporaryDirectory(prefix="hpcgen-demo-")
        density = float(np.interp(math.log(2 * self.n_samples), self._DENSITY_LN_N, self._DENSITY))
        # at least one full window per contig: small cohorts are thinned from a longer simulation, so LD still
        # spans a realistic ~100 kb around each variant
        length = max(1.25 * self.n_variants / density, 23 * window_kb * 1000.0)
        demography = out_of_africa()
        for attempt in range(6):
            n_windows = max(23, int(math.ceil(length / (window_kb * 1000))))
            window_bp = int(math.ceil(length / n_windows))
            windows = self._place(n_windows, window_bp, pgx_positions, rng)
            seeds = rng.integers(1, 2**31 - 1, size=n_windows)
            # each window's tree sequence waits on disk (~2 MB per 100 kb x 10,000 haplotypes), so memory stays
            # that of one window however many variants are asked for
            sims, eligible = [], []
            for i, s in enumerate(seeds):
                ts = self._simulate(sample_sets, demography, window_bp, int(s))
                eligible.append(self._eligible(ts))
                path = Path(self._tmp.name) / f"a{attempt}-w{i}.trees"
                ts.dump(path)
                sims.append(path)
            total = sum(int(e.sum()) for e in eligible)
            if total >= self.n_variants:
                break
            length *= 1.3 * self.n_variants / max(total, 1)
            for path in sims:
                path.unlink()
        else:  # pragma: no cover - the loop above converges at the first or second try
            raise RuntimeError("could not simulate enough background variants")
        # thin uniformly to exactly n_variants: keeps the frequency spectrum and the LD-by-distance pattern
        offsets = np.cumsum([0] + [e.size for e in eligible])
        pool = np.concatenate([np.flatnonzero(e) + o for e, o in zip(eligible, offsets)])
        chosen = np.zeros(offsets[-1], dtype=bool)
        chosen[rng.choice(pool, size=self.n_variants, replace=False)] = True
        self.sims = sims
        self.selected = [chosen[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        self.windows = windows

    @staticmethod
    def _simulate(sample_sets, demography, length: int, seed: int):
        ts = msprime.sim_ancestry(
            samples=sample_sets, demography=demography, sequence_length=length,
            recombination_rate=RECOMBINATION_RATE, random_seed=seed,
        )
        return msprime.sim_mutations(ts, rate=MUTATION_RATE, random_seed=seed, model=SUBSTITUTION_MODEL)

    def _place(self, n_windows: int, window_bp: int, pgx: dict[str, np.ndarray], rng) -> list[Window]:
        layout = _window_layout(n_windows, window_bp, pgx, rng)
        return [Window(chrom, start, 0, window_bp) for chrom, start in layout]

    @staticmethod
    def _eligible(ts) -> np.ndarray:
        """Sites that segregate in the cohort.

        HKY mutations may be silent (a base replaced by itself), and recurrent ones may leave every sample with one
        base: a site with one mutation segregates iff that mutation changes the base; others are decoded.
        """
        tables = ts.tables
        n_mut = np.bincount(tables.mutations.site, minlength=ts.num_sites)
        ancestral = np.array(tskit.unpack_strings(tables.sites.ancestral_state, tables.sites.ancestral_state_offset))
        derived = np.array(tskit.unpack_strings(tables.mutations.derived_state, tables.mutations.derived_state_offset))
        keep = np.zeros(ts.num_sites, dtype=bool)
        single = np.flatnonzero(n_mut == 1)
        first = np.searchsorted(tables.mutations.site, single)  # mutations are sorted by site
        keep[single] = derived[first] != ancestral[single]
        pos = tables.sites.position
        for site in np.flatnonzero(n_mut > 1):
            for var in ts.variants(left=pos[site], right=pos[site] + 1):
                keep[site] = np.unique(var.genotypes).size > 1
        return keep

    def blocks(self) -> Iterator[Block]:
        """Yield the kept variants window by window, in genome order (contig order, then position)."""
        samples = self.nodes.ravel()
        for index, (w, path, selected) in enumerate(zip(self.windows, self.sims, self.selected)):
            n_sel = int(selected.sum())
            if n_sel == 0:
                continue
            ts = tskit.load(path)
            site_pos = ts.tables.sites.position
            haps = np.empty((n_sel, samples.size), dtype=np.int8)
            pos = np.empty(n_sel, dtype=np.int64)
            alleles = []
            k = 0
            # site ids follow iteration order; var.site would build a Python object per site (slow)
            for site, var in enumerate(ts.variants(samples=samples, copy=False)):
                if not selected[site]:
                    continue
                g = var.genotypes
                var_alleles = var.alleles
                if len(var_alleles) == 2:  # a kept biallelic site carries both alleles
                    haps[k] = g
                    alleles.append(var_alleles)
                else:
                    # drop alleles no sample carries (recurrent mutation); the first allele present becomes REF
                    present = np.flatnonzero(np.bincount(g, minlength=len(var_alleles)))
                    remap = np.full(len(var_alleles), -1, dtype=np.int8)
                    remap[present] = np.arange(present.size, dtype=np.int8)
                    haps[k] = remap[g]
                    alleles.append(tuple(var_alleles[i] for i in present))
                pos[k] = w.start + int(site_pos[site]) + 1
                k += 1
            haps = haps.reshape(n_sel, self.n_samples, 2)
            alleles = _as_indels(alleles, np.random.default_rng([self.seed, 5, index]))
            yield Block(w.chrom, pos, alleles, haps)
