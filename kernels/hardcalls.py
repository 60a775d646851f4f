"""Diploid hard calls as two bit-planes per variant, and every QC count from them in one fused pass.

Layout (``bits``: uint64, shape (n_variants, 2, n_words), n_words = ceil(n_samples / 64)): sample ``s`` is
bit ``s % 64`` of word ``s // 64`` in both planes. The pair (plane 0, plane 1) codes the call::

    (0, 0) hom-ref (or haploid REF)   (1, 0) het   (0, 1) hom-alt (or haploid ALT)   (1, 1) missing

A third plane, ``hap`` (uint64, shape (n_variants, n_words)), marks haploid calls (first allele present,
second absent, as male chrX calls are stored); it is all zeros on rows without one. Padding bits after the
last sample are 0 in every plane. ``exact`` codes how a row is held: 1 by the two planes (no haploid call),
2 by the two planes and ``hap``, 0 not at all (an allele code above 1, or an absent first allele): such
rows are left to :mod:`kernels.qc_counts` on the int8 calls.

Why by hand: counting genotype classes per sample at several G genotypes/s needs 1 bit per sample and
word-parallel counters (plink2 does the same on its 2-bit pgen); no library counts bit-planes this way.
The per-sample counters are *vertical*: a call indicator word (64 samples) is split into four words of
4-bit lanes that count up to 15 rows, folded into 8-bit lanes that count up to 255, then added to int64
per-sample totals. Inner loops run over words and are vectorized by LLVM. Rows with few carriers (a
quarter of a carrier per word or fewer: most rows of a cohort are rare variants) skip the counters and add
one per carrier straight to the totals, as plink2 treats rare variants apart (20% faster at 20,000 samples).

This module imports only numpy, numba, :mod:`kernels.bits` (popcount), :mod:`kernels.layout` and
:mod:`kernels.qc_counts` (constants).
"""
from __future__ import annotations

import numpy as np
from .accelerate import jit
from .bits import popcount as _popcount
from .bits import popcount64  # noqa: F401 - part of this module's interface (tests)
from .bits import trailing_zeros as _trailing_zeros
# layout constants (no numba) re-exported: n_words, EXACT_*, CODE_*, WORD_BITS
from .layout import (CARRIER_SHIFT, CODE_ALT, CODE_HET, CODE_UNCALLED, EXACT_DIPLOID, EXACT_HAPLOID,  # noqa: F401
                     EXACT_NO, EXACT_SPARSE, WORD_BITS, n_words)
from .qc_counts import (N_SAMPLE_COLS, N_VARIANT_COLS, S_AUTO_HOM, V_AC, V_AN, V_HAP_ALT, V_HAP_REF, V_HET, V_HOM_ALT,
                        V_HOM_REF, V_MISSING, add_category_counts)

_M4 = np.uint64(0x1111111111111111)  # bit 0 of every 4-bit lane
_M8 = np.uint64(0x0F0F0F0F0F0F0F0F)  # low nibble of every byte
_NIBBLE_ROWS = 15  # rows a 4-bit lane can count
_BYTE_FOLDS = 17  # 17 x 15 = 255 rows an 8-bit lane can count
_N_CAT = 8  # category = 2 * class + autosomal, as in kernels.qc_counts
# per-sample het columns (plink2 --het): OBS_CT, O(HOM), E(HOM); same order as hpcgen.qc.counts
HET_OBS, HET_O, HET_E = 0, 1, 2


@jit(inline="always")
def row_carriers(bits, hap, has_hap, v, s0, s1, pos, code):
    """The samples of ``s0:s1`` whose call at row ``v`` is not homozygous REF (the row's carriers).

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
    hap : ndarray, uint64, shape (n_variants, n_words) or (0, n_words)
    has_hap : bool
        ``hap`` has rows.
    v : int
    s0, s1 : int
        Sample range; ``s0`` a multiple of 64.
    pos : ndarray, int64
        Filled with the carriers' offsets from ``s0``, as many as fit.
    code : ndarray, int8
        Filled with their calls: CODE_HET, CODE_ALT, or CODE_UNCALLED (missing, or haploid).

    Returns
    -------
    int
        How many carriers there are (may exceed what ``pos`` holds).
    """
    one = np.uint64(1)
    k = 0
    cap = pos.shape[0]
    for w in range(s0 // 64, (s1 + 63) // 64):
        p0 = bits[v, 0, w]
        p1 = bits[v, 1, w]
        h = hap[v, w] if has_hap else np.uint64(0)
        m = p0 | p1 | h
        if 64 * w + 64 > s1:  # the range ends inside this word
            m &= (one << np.uint64(s1 - 64 * w)) - one
        while m:
            t = _trailing_zeros(m)
            m &= m - one
            if k < cap:
                pos[k] = 64 * w + np.int64(t) - s0
                if (h >> t) & one:
                    code[k] = CODE_UNCALLED
                else:
                    code[k] = np.int8(((p0 >> t) & one) | (((p1 >> t) & one) << one))
            k += 1
    return k


@jit
def pack_hardcalls(g):
    """Bit-planes and exactness of int8 calls of ploidy 2.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, 2)
        Allele codes: 0 REF, 1 ALT, -1 missing, -2 absent (a haploid call padded).

    Returns
    -------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
    hap : ndarray, uint64, shape (n_variants, n_words)
        Haploid calls (first allele 0 or 1, second -2).
    exact : ndarray, uint8, shape (n_variants,)
        EXACT_DIPLOID when every call is hom-ref, het, hom-alt or missing (any allele -1, or both -2);
        EXACT_HAPLOID when some are haploid too; EXACT_NO otherwise. See the module docstring.
    """
    n_var, n_smp, _ = g.shape
    nw = (n_smp + 63) // 64
    bits = np.zeros((n_var, 2, nw), dtype=np.uint64)
    hap = np.zeros((n_var, nw), dtype=np.uint64)
    exact = np.full(n_var, EXACT_DIPLOID, dtype=np.uint8)
    for v in range(n_var):
        odd = False
        haploid = False
        for w in range(nw):
            p0 = np.uint64(0)
            p1 = np.uint64(0)
            h = np.uint64(0)
            s0 = w * 64
            for b in range(min(64, n_smp - s0)):
                a0 = g[v, s0 + b, 0]
                a1 = g[v, s0 + b, 1]
                one = np.uint64(1) << np.uint64(b)
                if (a0 == 0 or a0 == 1) and (a1 == 0 or a1 == 1):
                    if a0 != a1:
                        p0 |= one
                    elif a0 == 1:
                        p1 |= one
                elif (a0 == 0 or a0 == 1) and a1 == -2:
                    h |= one
                    if a0 == 1:
                        p1 |= one
                else:
                    p0 |= one
                    p1 |= one
                    if not (a0 == -1 or a1 == -1 or (a0 == -2 and a1 == -2)):
                        odd = True
            bits[v, 0, w] = p0
            bits[v, 1, w] = p1
            hap[v, w] = h
            haploid = haploid or h != 0
        exact[v] = EXACT_NO if odd else (EXACT_HAPLOID if haploid else EXACT_DIPLOID)
    return bits, hap, exact


@jit
def split_sparse_rows(bits, exact, max_carriers):
    """List the carriers of diploid rows that have few, and clear those rows' planes (in place).

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
        From :func:`pack_hardcalls`; rows that become listed are set to 0.
    exact : ndarray, uint8, shape (n_variants,)
        EXACT_DIPLOID rows with at most ``max_carriers`` calls that are not hom-REF become EXACT_SPARSE (in place).
    max_carriers : int

    Returns
    -------
    ends : ndarray, int64, shape (n_variants,)
        Cumulative count of listed carriers at the end of each row (a row not listed adds none).
    carriers : ndarray, uint32, shape (ends[-1],)
        Per listed row, by sample: ``sample << CARRIER_SHIFT | code`` (CODE_HET, CODE_ALT, CODE_UNCALLED).
    """
    n_var = bits.shape[0]
    nw = bits.shape[2]
    counts = np.zeros(n_var, dtype=np.int64)
    for v in range(n_var):
        if exact[v] != EXACT_DIPLOID:
            continue
        c = 0
        for w in range(nw):
            c += _popcount(bits[v, 0, w] | bits[v, 1, w])
        if c <= max_carriers:
            counts[v] = c
            exact[v] = EXACT_SPARSE
    ends = np.cumsum(counts)
    carriers = np.empty(ends[-1] if n_var else 0, dtype=np.uint32)
    k = 0
    for v in range(n_var):
        if exact[v] != EXACT_SPARSE:
            continue
        for w in range(nw):
            p0 = bits[v, 0, w]
            p1 = bits[v, 1, w]
            x = p0 | p1
            while x != 0:
                b = _trailing_zeros(x)
                code = ((p0 >> b) & np.uint64(1)) | (((p1 >> b) & np.uint64(1)) << np.uint64(1))
                carriers[k] = np.uint32((np.uint64(64 * w) + b) << np.uint64(CARRIER_SHIFT) | code)
                k += 1
                x &= x - np.uint64(1)
            bits[v, 0, w] = 0
            bits[v, 1, w] = 0
    return ends, carriers


@jit
def fill_sparse_rows(bits, n_held, exact, offsets, carriers):
    """Every row as planes, in place: the held rows moved to their places, the listed rows' planes set from
    their carriers and marked EXACT_DIPLOID. The inverse of :func:`split_sparse_rows` and the store's
    compaction, for readers that want every row as planes.

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words)
        On entry its first ``n_held`` rows are the held rows' planes in row order (the store's form: every
        row but the listed ones); ``n_held == n_variants`` when every row has its planes row already (a
        listed one then zero, as stores of schema version 2 hold them).
    n_held : int
    exact : ndarray, uint8, shape (n_variants,)
    offsets : ndarray, int64, shape (n_variants + 1,)
        Row ``v``'s carriers are ``carriers[offsets[v]:offsets[v + 1]]``.
    carriers : ndarray, uint32
    """
    n = bits.shape[0]
    if n_held < n:
        # backwards: a held row only moves down (its place is at or after its index among the held rows)
        h = n_held
        for v in range(n - 1, -1, -1):
            if exact[v] == EXACT_SPARSE:
                bits[v] = 0
            else:
                h -= 1
                if h != v:
                    bits[v] = bits[h]
    for v in range(n):
        if exact[v] != EXACT_SPARSE:
            continue
        for c in range(offsets[v], offsets[v + 1]):
            x = np.uint64(carriers[c])
            s = x >> np.uint64(CARRIER_SHIFT)
            code = x & np.uint64(3)
            w = s >> np.uint64(6)
            one = np.uint64(1) << (s & np.uint64(63))
            if code & np.uint64(1):
                bits[v, 0, w] |= one
            if code & np.uint64(2):
                bits[v, 1, w] |= one
        exact[v] = EXACT_DIPLOID


@jit
def _fold_nibbles(nib, byt, n_types):
    # nib (types, 4, nw) 4-bit lanes -> byt (types, 4, 2, nw) 8-bit lanes (low / high nibble of each byte);
    # only the first n_types types are in use (2 unless haploid rows were seen)
    for t in range(n_types):
        for j in range(4):
            for w in range(nib.shape[2]):
                x = nib[t, j, w]
                byt[t, j, 0, w] += x & _M8
                byt[t, j, 1, w] += (x >> np.uint64(4)) & _M8
                nib[t, j, w] = 0


@jit
def _flush_bytes(byt, tot, n_types):
    # byt (types, 4, 2, nw) 8-bit lanes -> tot (types, 64 * nw) per-sample int64 totals (first n_types types).
    # Byte m of byt[t, j, h, w] counts sample 64 w + 8 m + 4 h + j (nibble lane 2 m + h of bit j).
    for t in range(n_types):
        for j in range(4):
            for h in range(2):
                for w in range(byt.shape[3]):
                    x = byt[t, j, h, w]
                    if x != 0:
                        base = 64 * w + 4 * h + j
                        for m in range(8):
                            tot[t, base + 8 * m] += np.int64((x >> np.uint64(8 * m)) & np.uint64(0xFF))
                    byt[t, j, h, w] = 0


@jit(fastmath=True)
def _row_counts(p0, p1):
    # (het, hom-alt, missing) calls of one exact row: popcounts only
    n_het = 0
    n_ha = 0
    n_miss = 0
    for w in range(p0.shape[0]):
        a = p0[w]
        b = p1[w]
        n_het += _popcount(a & ~b)
        n_ha += _popcount(b & ~a)
        n_miss += _popcount(a & b)
    return n_het, n_ha, n_miss


@jit(fastmath=True)
def _accumulate_row(p0, p1, nib, tot):
    """One exact row's het / hom-alt calls into the per-sample counts; returns (het, hom-alt, missing, dense).

    A row with few carriers (most rows of a cohort: rare variants) adds one to ``tot`` (2, 64 * nw) per
    carrier; any other is added to the vertical counters ``nib`` (2, 4, nw) word by word (``dense`` True:
    the caller counts it towards the next fold).
    """
    n_het, n_ha, n_miss = _row_counts(p0, p1)
    nw = p0.shape[0]
    if 4 * (n_het + n_ha) <= nw:
        # about a word's worth of work per carrier, against 8 vector operations per word for the counters
        for w in range(nw):
            a = p0[w]
            b = p1[w]
            het = a & ~b
            while het != 0:
                tot[0, 64 * w + _trailing_zeros(het)] += 1
                het &= het - np.uint64(1)
            ha = b & ~a
            while ha != 0:
                tot[1, 64 * w + _trailing_zeros(ha)] += 1
                ha &= ha - np.uint64(1)
        return n_het, n_ha, n_miss, False
    for w in range(nw):
        a = p0[w]
        b = p1[w]
        het = a & ~b
        ha = b & ~a
        nib[0, 0, w] += het & _M4
        nib[0, 1, w] += (het >> np.uint64(1)) & _M4
        nib[0, 2, w] += (het >> np.uint64(2)) & _M4
        nib[0, 3, w] += (het >> np.uint64(3)) & _M4
        nib[1, 0, w] += ha & _M4
        nib[1, 1, w] += (ha >> np.uint64(1)) & _M4
        nib[1, 2, w] += (ha >> np.uint64(2)) & _M4
        nib[1, 3, w] += (ha >> np.uint64(3)) & _M4
    return n_het, n_ha, n_miss, True


@jit(fastmath=True)
def _accumulate_row_haploid(p0, p1, hp, nib):
    # A row with haploid calls: vertical het / hom-alt / haploid REF / haploid ALT counts into nib (4, 4, nw);
    # returns the row's (het, hom-alt, missing, haploid REF, haploid ALT)
    n_het = 0
    n_ha = 0
    n_miss = 0
    n_hpr = 0
    n_hpa = 0
    for w in range(p0.shape[0]):
        a = p0[w]
        b = p1[w]
        h = hp[w]
        x = (a & ~b, b & ~a & ~h, h & ~b, h & b)
        n_het += _popcount(x[0])
        n_ha += _popcount(x[1])
        n_miss += _popcount(a & b)
        n_hpr += _popcount(x[2])
        n_hpa += _popcount(x[3])
        for t in range(4):
            for j in range(4):
                nib[t, j, w] += (x[t] >> np.uint64(j)) & _M4
    return n_het, n_ha, n_miss, n_hpr, n_hpa


@jit
def hardcall_counts(bits, hap, exact, n_samples, vclass, autosomal, sp_offsets, sp_carriers):
    """Every QC count of a block's held rows, in one pass over its bit-planes and carrier lists.

    Parameters
    ----------
    bits : ndarray, uint64, shape (n_variants, 2, n_words), or (n_held, 2, n_words)
        Every row's planes, or the held rows' only (every row but the EXACT_SPARSE ones, in row order: the
        store's form). A listed row's planes, when present, are not read.
    hap : ndarray, uint64, shape (n_variants, n_words), or shape (0, n_words) when no row is EXACT_HAPLOID
    exact : ndarray, uint8, shape (n_variants,)
        Rows with EXACT_NO are skipped (their ``variant_counts`` row stays 0): count them from the int8 calls.
        EXACT_SPARSE rows are read from their carrier list, in time proportional to their carriers.
    n_samples : int
    vclass, autosomal : ndarray, uint8, shape (n_variants,)
        As :func:`kernels.qc_counts.block_counts`.
    sp_offsets : ndarray, int64, shape (n_variants + 1,)
    sp_carriers : ndarray, uint32
        Row ``v``'s listed carriers are ``sp_carriers[sp_offsets[v]:sp_offsets[v + 1]]`` (:func:`split_sparse_rows`).

    Returns
    -------
    variant_counts : ndarray, int64, shape (n_variants, 8)
        As :func:`kernels.qc_counts.block_counts`.
    sample_counts : ndarray, int64, shape (n_samples, 11)
        As :func:`kernels.qc_counts.block_counts`, partial over the held rows.
    het : ndarray, float64, shape (n_samples, 3)
        plink2 --het partials over the held rows: OBS_CT, O(HOM), E(HOM) (autosomal variants polymorphic
        among the row's calls; E(HOM) adds 1 - 2 p (1 - p) per variant where the sample's call is diploid).
    singletons : ndarray, int64, shape (n_samples,)
        Rows where the sample is the one heterozygote carrying an allele seen once among diploid calls
        (bcftools stats).
    """
    n_var = exact.shape[0]
    if n_var >= 2**31:
        raise ValueError("hardcall_counts: a block of 2**31 rows or more overflows its int32 counters")
    nw = bits.shape[2]
    vc = np.zeros((n_var, N_VARIANT_COLS), dtype=np.int64)
    # vertical counters per category and call type: het, hom-alt, haploid REF, haploid ALT. Zeroed when a
    # category, or its haploid types, first appear: a block has rows of about half the categories and few
    # haploid ones, and zeroing them all was 15% of a pass at 20,000 samples
    nib = np.empty((_N_CAT, 4, 4, nw), dtype=np.uint64)
    byt = np.empty((_N_CAT, 4, 4, 2, nw), dtype=np.uint64)
    tot = np.empty((_N_CAT, 4, 64 * nw), dtype=np.int32)  # int32: a block's rows; half the cache of int64
    rows4 = np.zeros(_N_CAT, dtype=np.int64)
    folds = np.zeros(_N_CAT, dtype=np.int64)
    types = np.full(_N_CAT, 2, dtype=np.int64)  # counter types in use per category: 4 once a haploid row came
    n_cat = np.zeros(_N_CAT, dtype=np.int64)
    miss_cat = np.empty((_N_CAT, 64 * nw), dtype=np.int32)
    no_calls = np.zeros(64 * nw, dtype=np.int32)  # the haploid counts of a category without haploid rows
    # plink2 --het sums: E(HOM) and OBS_CT over included rows, and what each sample's non-diploid calls remove
    e_total = 0.0
    obs_total = 0.0
    excl_total = 0.0
    # per sample, over its non-diploid calls: sum of E(HOM) weights, and counts at included / excluded rows
    missed_e = np.zeros(64 * nw, dtype=np.float64)
    nd_in = np.zeros(64 * nw, dtype=np.int64)
    nd_ex = np.zeros(64 * nw, dtype=np.int64)
    singletons = np.zeros(64 * nw, dtype=np.int64)
    missing = np.empty(64 * nw, dtype=np.int64)  # one row's missing samples
    every_row = bits.shape[0] == n_var  # else the held rows only
    no_planes = np.zeros((2, nw), dtype=np.uint64)  # a listed row's (never read)
    next_held = 0  # planes row of the next held row
    for v in range(n_var):
        code = exact[v]
        if code == EXACT_SPARSE:
            row = no_planes
        else:
            row = bits[v] if every_row else bits[next_held]
            next_held += 1
        if code == EXACT_NO:
            continue
        k = vclass[v]
        auto = autosomal[v] != 0
        cat = 2 * (k if 1 <= k <= 3 else 0) + (1 if auto else 0)
        if n_cat[cat] == 0:  # the category's first row
            nib[cat, :2] = 0
            byt[cat, :2] = 0
            tot[cat, :2] = 0
            miss_cat[cat] = 0
        p0 = row[0]
        p1 = row[1]
        n_hpr = 0
        n_hpa = 0
        dense = True
        listed = code == EXACT_SPARSE
        c0 = sp_offsets[v]
        c1 = sp_offsets[v + 1]
        if listed:
            n_het = 0
            n_ha = 0
            n_miss = 0
            for c in range(c0, c1):
                x = sp_carriers[c]
                kind = x & 3
                if kind == CODE_HET:
                    n_het += 1
                    tot[cat, 0, x >> CARRIER_SHIFT] += 1
                elif kind == CODE_ALT:
                    n_ha += 1
                    tot[cat, 1, x >> CARRIER_SHIFT] += 1
                else:
                    missing[n_miss] = x >> CARRIER_SHIFT
                    n_miss += 1
            dense = False
        elif code == EXACT_HAPLOID:
            if types[cat] == 2:  # the category's first haploid row
                nib[cat, 2:] = 0
                byt[cat, 2:] = 0
                tot[cat, 2:] = 0
                types[cat] = 4
            n_het, n_ha, n_miss, n_hpr, n_hpa = _accumulate_row_haploid(p0, p1, hap[v], nib[cat])
        else:
            n_het, n_ha, n_miss, dense = _accumulate_row(p0, p1, nib[cat], tot[cat])
        n_hr = n_samples - n_het - n_ha - n_miss - n_hpr - n_hpa
        vc[v, V_HOM_REF] = n_hr
        vc[v, V_HET] = n_het
        vc[v, V_HOM_ALT] = n_ha
        vc[v, V_HAP_REF] = n_hpr
        vc[v, V_HAP_ALT] = n_hpa
        vc[v, V_MISSING] = n_miss
        an = 2 * (n_hr + n_het + n_ha) + n_hpr + n_hpa
        ac = n_het + 2 * n_ha + n_hpa
        vc[v, V_AN] = an
        vc[v, V_AC] = ac
        n_cat[cat] += 1
        rows4[cat] += dense  # rows added to the vertical counters since the last fold
        if rows4[cat] == _NIBBLE_ROWS:
            _fold_nibbles(nib[cat], byt[cat], types[cat])
            rows4[cat] = 0
            folds[cat] += 1
            if folds[cat] == _BYTE_FOLDS:
                _flush_bytes(byt[cat], tot[cat], types[cat])
                folds[cat] = 0
        # plink2 --het weights of this row (as hpcgen.qc.counts._row_weights)
        w_e = 0.0
        w_in = 0.0
        w_ex = 0.0
        if auto:
            if an > 0 and 0 < ac < an:
                p = ac / an
                w_e = 1.0 - 2.0 * p * (1.0 - p)
                w_in = 1.0
            else:
                w_ex = 1.0
        e_total += w_e
        obs_total += w_in
        excl_total += w_ex
        if n_miss > 0 and (listed or code != EXACT_HAPLOID or not auto):
            # missing calls (the only non-diploid calls here): a listed row's are in ``missing`` already; a
            # planes row's are visited bit by bit (they are rare)
            n_m = n_miss if listed else 0
            if not listed:
                for w in range(nw):
                    m = p0[w] & p1[w]
                    while m != 0:
                        missing[n_m] = np.int64(64 * w) + np.int64(_trailing_zeros(m))
                        n_m += 1
                        m &= m - np.uint64(1)
            # their counts, and the --het weights they remove. Written here, not in a helper: numba increfs every
            # array a call passes (atomic operations), which cost more than the loops below
            for i in range(n_m):
                miss_cat[cat, missing[i]] += 1
            if w_in != 0.0:
                for i in range(n_m):
                    missed_e[missing[i]] += w_e
                    nd_in[missing[i]] += 1
            elif w_ex != 0.0:
                for i in range(n_m):
                    nd_ex[missing[i]] += 1
        elif auto and n_miss + n_hpr + n_hpa > 0:
            # an autosomal row with haploid calls: every non-diploid call removes the weights
            for w in range(nw):
                m = p0[w] & p1[w]
                nd = m | hap[v, w]
                while nd != 0:
                    bit = _trailing_zeros(nd)
                    s = 64 * w + bit
                    if (m >> bit) & np.uint64(1):
                        miss_cat[cat, s] += 1
                    if w_in != 0.0:
                        missed_e[s] += w_e
                        nd_in[s] += 1
                    else:
                        nd_ex[s] += 1
                    nd &= nd - np.uint64(1)
        # the heterozygote carrying an allele seen once among the diploid calls (ALT once, or REF once)
        if n_het == 1 and (n_ha == 0 or n_hr == 0) and listed:
            for c in range(c0, c1):
                if sp_carriers[c] & 3 == CODE_HET:
                    singletons[sp_carriers[c] >> CARRIER_SHIFT] += 1
                    break
        elif n_het == 1 and (n_ha == 0 or n_hr == 0):
            for w in range(nw):
                h = p0[w] & ~p1[w]
                if h != 0:
                    singletons[64 * w + _trailing_zeros(h)] += 1
                    break
    sc = np.zeros((n_samples, N_SAMPLE_COLS), dtype=np.int64)
    for cat in range(_N_CAT):
        if n_cat[cat] == 0:
            continue
        _fold_nibbles(nib[cat], byt[cat], types[cat])
        _flush_bytes(byt[cat], tot[cat], types[cat])
        hap_ref = tot[cat, 2] if types[cat] == 4 else no_calls
        hap_alt = tot[cat, 3] if types[cat] == 4 else no_calls
        add_category_counts(sc, cat, n_cat[cat], tot[cat, 0], tot[cat, 1], hap_ref, hap_alt, miss_cat[cat])
    het_out = np.empty((n_samples, 3), dtype=np.float64)
    for s in range(n_samples):
        het_out[s, HET_OBS] = obs_total - nd_in[s]
        het_out[s, HET_O] = sc[s, S_AUTO_HOM] - (excl_total - nd_ex[s])
        het_out[s, HET_E] = e_total - missed_e[s]
    return vc, sc, het_out, singletons[:n_samples].copy()


# ----------------------------------------------------------------------------------------------
# plain-Python reference twin

def pack_hardcalls_reference(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain numpy twin of :func:`pack_hardcalls`."""
    g = np.asarray(g)
    a0, a1 = g[:, :, 0], g[:, :, 1]
    ok = np.isin(a0, (0, 1)) & np.isin(a1, (0, 1))
    haploid = np.isin(a0, (0, 1)) & (a1 == -2)
    het = ok & (a0 != a1)
    alt = (ok & (a0 == 1) & (a1 == 1)) | (haploid & (a0 == 1))
    other = ~ok & ~haploid
    missing = (a0 == -1) | (a1 == -1) | ((a0 == -2) & (a1 == -2))
    exact = np.where((other & ~missing).any(axis=1), EXACT_NO,
                     np.where(haploid.any(axis=1), EXACT_HAPLOID, EXACT_DIPLOID)).astype(np.uint8)

    def plane(mask: np.ndarray) -> np.ndarray:
        nw = n_words(mask.shape[1])
        padded = np.zeros((mask.shape[0], nw * WORD_BITS), dtype=bool)
        padded[:, : mask.shape[1]] = mask
        return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64)

    return np.stack([plane(het | other), plane(alt | other)], axis=1), plane(haploid), exact
