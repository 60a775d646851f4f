"""KING-robust kinship (Manichaikul et al. 2010, Bioinformatics 26:2867), as plink2 --make-king-table.

For a pair of samples (i, j), over the variants where both have a diploid call:
``HETHET`` (both heterozygous), ``IBS0`` (opposite homozygotes), ``HET_i``, ``HET_j`` (heterozygous in one
sample, counted where both are called). The kinship estimate is KING-robust's between-family form,
which is what plink2 2.00 reports (checked against its HETHET/IBS0 counts)::

    m = min(HET_i, HET_j)
    phi = (HETHET - 2 * IBS0) / (2 m) + 1/2 - (HET_i + HET_j) / (4 m)

(0.5 for duplicates, 0.25 first degree, 0.125 second, 0.0625 third, <= 0 unrelated).

The five counts of every pair come from bit sets: for each sample, one bit per variant in each of four
sets (heterozygous, homozygous REF, homozygous ALT, diploid call present), 64 variants per uint64 word
(:func:`king_bitsets`). A pair's counts are then popcounts of ANDs of its two samples' words
(:func:`king_pair_counts`), as plink2 does on its 2-bit genotypes: about 17 word operations per 64
variants, where 0/1 float indicators and BLAS took 10 flops per variant.

Why by hand: no library counts pairs of bit sets; the pair loop is the whole cost of KING (samples^2 x
variants), so it is a numba kernel over words, run in parallel by the caller's Dask tasks (nogil).
"""
from __future__ import annotations

import numpy as np

from .accelerate import jit
from .bits import popcount
from .calls import call_counts
from .hardcalls import CODE_ALT, CODE_HET, CODE_UNCALLED, row_carriers

KING_SETS = 4  # het, hom-ref, hom-alt, called: the middle axis of king_bitsets
KING_HET, KING_REF, KING_ALT, KING_CALLED = 0, 1, 2, 3


@jit
def king_bitsets(g):
    """The four KING bit sets of every sample over one block's variants.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)

    Returns
    -------
    ndarray, uint64, shape (n_samples, 4, ceil(n_variants / 64))
        Variant ``v`` is bit ``v % 64`` of word ``v // 64`` in sets KING_HET, KING_REF, KING_ALT (any ALT
        allele counts as ALT) and KING_CALLED (a diploid call: not missing, both alleles present). Missing
        and haploid calls are in no set; padding bits are 0.
    """
    n_var, n_smp = g.shape[:2]
    nw = (n_var + 63) // 64
    out = np.zeros((n_smp, KING_SETS, nw), dtype=np.uint64)
    for w in range(nw):
        v0 = 64 * w
        nv = min(64, n_var - v0)
        for s in range(n_smp):
            het = np.uint64(0)
            ref = np.uint64(0)
            alt = np.uint64(0)
            called = np.uint64(0)
            for b in range(nv):
                n_present, n_alt, miss = call_counts(g, v0 + b, s)
                if miss or n_present < 2:
                    continue
                one = np.uint64(1) << np.uint64(b)
                called |= one
                if n_alt == 0:
                    ref |= one
                elif n_alt == n_present:
                    alt |= one
                else:
                    het |= one
            out[s, KING_HET, w] = het
            out[s, KING_REF, w] = ref
            out[s, KING_ALT, w] = alt
            out[s, KING_CALLED, w] = called
    return out


_TRANSPOSE_MASKS = np.array([0x00000000FFFFFFFF, 0x0000FFFF0000FFFF, 0x00FF00FF00FF00FF, 0x0F0F0F0F0F0F0F0F,
                             0x3333333333333333, 0x5555555555555555], dtype=np.uint64)


@jit
def transpose64(x):
    """Transpose a 64 x 64 bit matrix in place: bit ``c`` of ``x[r]`` becomes bit ``r`` of ``x[c]``.

    Parameters
    ----------
    x : ndarray, uint64, shape (64,)

    Notes
    -----
    Swap the off-diagonal 32 x 32 blocks, then the 16 x 16 blocks inside every block, ... down to single
    bits: 6 rounds of 32 masked exchanges (Hacker's Delight, section 7-3).
    """
    j = 32
    for level in range(6):
        m = _TRANSPOSE_MASKS[level]
        sj = np.uint64(j)
        for k in range(64):
            if k & j == 0:
                t = ((x[k] >> sj) ^ x[k + j]) & m
                x[k + j] ^= t
                x[k] ^= t << sj
        j >>= 1


@jit
def king_bitsets_planes(bits, hap, s0, s1):
    """:func:`king_bitsets` of samples ``s0:s1`` from hard-call bit-planes (no int8 calls needed).

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
        Bit-planes of rows the planes hold exactly (:mod:`kernels.hardcalls`; not EXACT_NO rows).
    hap : ndarray, uint64, shape (n_variants, n_words) or (0, n_words)
        Haploid calls (none when empty); they are in no set, as in :func:`king_bitsets`.
    s0, s1 : int
        Sample range; ``s0`` a multiple of 64.

    Returns
    -------
    ndarray, uint64, shape (s1 - s0, 4, ceil(n_variants / 64))

    Notes
    -----
    The planes hold 64 samples per word for one variant; KING wants 64 variants per word for one sample:
    each 64 x 64 tile of the planes is transposed (:func:`transpose64`), then the sets follow bitwise
    (het = p0 & ~p1, hom-REF = ~p0 & ~p1, hom-ALT = ~p0 & p1, called = ~(p0 & p1), all without haploid).
    """
    n_var = bits.shape[0]
    nw = (n_var + 63) // 64
    n_out = s1 - s0
    out = np.zeros((n_out, KING_SETS, nw), dtype=np.uint64)
    has_hap = hap.shape[0] > 0
    t0 = np.zeros(64, dtype=np.uint64)
    t1 = np.zeros(64, dtype=np.uint64)
    th = np.zeros(64, dtype=np.uint64)
    all_ones = ~np.uint64(0)
    # sample words outermost: the 4 x 64 output rows of one sample word stay in cache while the variant
    # groups fill them word after word (the other order scattered every store)
    for sw in range(s0 // 64, (s1 + 63) // 64):
        for g in range(nw):
            v0 = 64 * g
            nv = min(64, n_var - v0)
            valid = all_ones if nv == 64 else (np.uint64(1) << np.uint64(nv)) - np.uint64(1)
            any_hap = False
            for r in range(64):
                if r < nv:
                    t0[r] = bits[v0 + r, 0, sw]
                    t1[r] = bits[v0 + r, 1, sw]
                    th[r] = hap[v0 + r, sw] if has_hap else np.uint64(0)
                    any_hap = any_hap or th[r] != 0
                else:
                    t0[r] = 0
                    t1[r] = 0
                    th[r] = 0
            transpose64(t0)
            transpose64(t1)
            if any_hap:
                transpose64(th)
            base = 64 * sw - s0
            for c in range(min(64, n_out - base)):
                p0 = t0[c]
                p1 = t1[c]
                keep = valid & ~th[c] if any_hap else valid
                out[base + c, KING_HET, g] = p0 & ~p1 & keep
                out[base + c, KING_REF, g] = ~p0 & ~p1 & keep
                out[base + c, KING_ALT, g] = ~p0 & p1 & keep
                out[base + c, KING_CALLED, g] = ~(p0 & p1) & keep
    return out


@jit
def king_pair_counts(bits_i, bits_j, same, out, tile_samples=0):
    """Add the KING counts of every pair (sample of block i, sample of block j) over one block of variants.

    Parameters
    ----------
    bits_i, bits_j : ndarray, uint64, shape (n_samples_i or n_samples_j, 4, n_words)
        From :func:`king_bitsets` on the same variants.
    same : bool
        The two blocks are one block: only pairs (a, b) with a < b are counted (the rest are left alone).
    out : ndarray, int32, shape (5, n_samples_i, n_samples_j)
        Running totals, added to: [0] NSNP (both called), [1] HETHET, [2] IBS0, [3] HET_i (het in i,
        called in j), [4] HET_j. int32 holds up to 2**31 variants.
    tile_samples : int
        Samples of block j per cache tile (0: as many as fit 256 KiB of bit sets).
    """
    ni = bits_i.shape[0]
    nj = bits_j.shape[0]
    nw = bits_i.shape[2]
    # j in tiles that stay in cache while every i passes over them (4 sets x nw words per sample)
    tile = tile_samples if tile_samples > 0 else max(1, (1 << 18) // max(1, 32 * nw))
    for b0 in range(0, nj, tile):
        b1 = min(nj, b0 + tile)
        for a in range(ni):
            for b in range(max(b0, a + 1) if same else b0, b1):
                nsnp = np.uint64(0)
                hethet = np.uint64(0)
                ibs0 = np.uint64(0)
                het_i = np.uint64(0)
                het_j = np.uint64(0)
                for w in range(nw):
                    hi = bits_i[a, KING_HET, w]
                    ri = bits_i[a, KING_REF, w]
                    ai = bits_i[a, KING_ALT, w]
                    ci = bits_i[a, KING_CALLED, w]
                    hj = bits_j[b, KING_HET, w]
                    rj = bits_j[b, KING_REF, w]
                    aj = bits_j[b, KING_ALT, w]
                    cj = bits_j[b, KING_CALLED, w]
                    nsnp += popcount(ci & cj)
                    hethet += popcount(hi & hj)
                    ibs0 += popcount((ri & aj) | (ai & rj))
                    het_i += popcount(hi & cj)
                    het_j += popcount(hj & ci)
                out[0, a, b] += np.int32(nsnp)
                out[1, a, b] += np.int32(hethet)
                out[2, a, b] += np.int32(ibs0)
                out[3, a, b] += np.int32(het_i)
                out[4, a, b] += np.int32(het_j)


@jit(inline="always")
def _add_against_ref(counters, pos, cls, k, het_set):
    """What each of ``k`` carriers adds to its pairs with homozygous REF samples, on its own counter."""
    for x in range(k):
        c = cls[x]
        if c == CODE_UNCALLED:
            counters[0, pos[x]] -= 1
        elif c == CODE_HET:
            counters[het_set, pos[x]] += 1  # HET_i (3) along a row, HET_j (4) along a column
        else:
            counters[2, pos[x]] += 1


@jit
def king_sparse_rows(bits, hap, a0, a1, b0, b1, same, max_carriers, out, row_add, col_add):
    """Add to the KING totals of sample ranges ``a0:a1`` x ``b0:b1`` the rows with few carriers.

    A row whose samples are all homozygous REF but at most ``max_carriers`` (het, hom-ALT, missing or
    haploid, counted in both ranges) adds to every pair what a pair of homozygous REF calls adds (1 to
    NSNP: left to the caller, the returned count), plus what each carrier adds to its whole row or column
    (one counter per sample: ``row_add``, ``col_add``), plus corrections for the pairs of two carriers:
    O(carriers^2) operations instead of block^2 / 64 word steps in :func:`king_pair_counts`. plink2
    treats rare variants the same way (through their carriers).

    Parameters
    ----------
    bits, hap : as :func:`king_bitsets_planes`
    a0, a1, b0, b1 : int
        Sample ranges (starts multiples of 64).
    same : bool
        The ranges are one range (only pairs a < b are read afterwards).
    max_carriers : int
    out : ndarray, int32, shape (5, a1 - a0, b1 - b0)
        Totals as :func:`king_pair_counts`; the carrier pairs' corrections are added here.
    row_add : ndarray, int32, shape (5, a1 - a0)
    col_add : ndarray, int32, shape (5, b1 - b0)
        Added to every pair of a row / column; the caller adds them to ``out`` at the end.

    Returns
    -------
    dense : ndarray, bool, shape (n_variants,)
        Rows with more carriers, not counted here (for :func:`king_pair_counts`).
    n_sparse : int
        Rows counted here: add it to NSNP of every pair.
    """
    n_var = bits.shape[0]
    has_hap = hap.shape[0] > 0
    dense = np.zeros(n_var, dtype=np.bool_)
    pos_a = np.empty(max_carriers + 1, dtype=np.int64)
    cls_a = np.empty(max_carriers + 1, dtype=np.int8)
    pos_b = np.empty(max_carriers + 1, dtype=np.int64)
    cls_b = np.empty(max_carriers + 1, dtype=np.int8)
    n_sparse = 0
    for v in range(n_var):
        ka = row_carriers(bits, hap, has_hap, v, a0, a1, pos_a, cls_a)
        if same:
            kb = ka
            pos_b[:ka] = pos_a[:ka]
            cls_b[:ka] = cls_a[:ka]
        else:
            kb = row_carriers(bits, hap, has_hap, v, b0, b1, pos_b, cls_b) if ka <= max_carriers else max_carriers + 1
        if (ka if same else ka + kb) > max_carriers:
            dense[v] = True
            continue
        n_sparse += 1
        # against a homozygous REF partner (every sample but the carriers): an uncalled sample loses the
        # pair from NSNP, a het one adds HET_i (HET_j), a hom-ALT one adds IBS0
        _add_against_ref(row_add, pos_a, cls_a, ka, 3)
        _add_against_ref(col_add, pos_b, cls_b, kb, 4)
        # pairs of two carriers: what the row and column counters gave wrongly, and what they lack
        for x in range(ka):
            ci = cls_a[x]
            i = pos_a[x]
            for y in range(kb):
                cj = cls_b[y]
                j = pos_b[y]
                if ci == CODE_UNCALLED and cj == CODE_UNCALLED:
                    out[0, i, j] += 1  # taken off twice
                if ci == CODE_HET and cj == CODE_UNCALLED:
                    out[3, i, j] -= 1
                if cj == CODE_HET and ci == CODE_UNCALLED:
                    out[4, i, j] -= 1
                if ci == CODE_HET and cj == CODE_HET:
                    out[1, i, j] += 1
                if ci == CODE_ALT:  # IBS0 needs a homozygous REF partner
                    out[2, i, j] -= 1
                if cj == CODE_ALT:
                    out[2, i, j] -= 1
    return dense, n_sparse


def king_kinship(counts: np.ndarray) -> np.ndarray:
    """KING-robust kinship from summed :func:`king_pair_counts` (shape (5, ...)); NaN where no het."""
    hethet, ibs0, het_i, het_j = counts[1], counts[2], counts[3], counts[4]
    m = np.minimum(het_i, het_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (hethet - 2.0 * ibs0) / (2.0 * m) + 0.5 - (het_i + het_j) / (4.0 * m)


def king_pair_counts_reference(g_i: np.ndarray, g_j: np.ndarray) -> np.ndarray:
    """Plain-Python twin of :func:`king_pair_counts` on :func:`king_bitsets` of ``g_i``, ``g_j`` (``same`` False),
    added to zeros: a loop per pair."""
    def classes(g: np.ndarray) -> np.ndarray:
        # -1 no diploid call, else number of ALT alleles (0, 1, 2)
        present = (g >= 0).sum(axis=2)
        miss = (g == -1).any(axis=2) | (present < 2)
        alt = (g > 0).sum(axis=2)
        return np.where(miss, -1, np.where(alt == 0, 0, np.where(alt == present, 2, 1)))

    ci, cj = classes(np.asarray(g_i)), classes(np.asarray(g_j))
    out = np.zeros((5, ci.shape[1], cj.shape[1]))
    for a in range(ci.shape[1]):
        for b in range(cj.shape[1]):
            x, y = ci[:, a], cj[:, b]
            both = (x >= 0) & (y >= 0)
            x, y = x[both], y[both]
            out[:, a, b] = [both.sum(), ((x == 1) & (y == 1)).sum(), (np.abs(x - y) == 2).sum(), (x == 1).sum(), (y == 1).sum()]
    return out
