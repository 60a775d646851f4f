"""Fused per-block genotype counts: every per-variant and per-sample QC counter in one pass.

A block is ``g``: int8, shape (n_variants, n_samples, ploidy); allele codes 0 (REF), >= 1 (ALT; records
are biallelic), -1 missing, -2 absent (a haploid call padded to the store's ploidy). A call is
*missing* when any of its alleles is -1 (a half call such as ``./1`` is missing, as plink2 imports it
with ``--vcf-half-call missing``); *haploid* when its first allele is present and every other one is
-2; *diploid* otherwise.

Per-sample counts are partial sums over the block's variants: the caller adds them across variant
blocks. Per-variant counts are partial sums over the block's samples: the caller adds them across
sample blocks. No counter depends on another block, so any chunking gives the same totals.

This module imports only numpy, :mod:`kernels.accelerate` and :mod:`kernels.layout`; ``*_reference`` functions are plain
Python twins used by the tests.
"""
from __future__ import annotations

import numpy as np

from .accelerate import jit
from .calls import call_counts

# column indices and class codes live in kernels.layout (no numba): re-exported here
from .layout import (CLASS_INDEL, CLASS_OTHER, CLASS_TS, CLASS_TV, FAST_PATH, N_SAMPLE_COLS,  # noqa: F401
                     N_VARIANT_COLS, S_AUTO_CALLED, S_AUTO_HOM, S_HAP_ALT, S_HAP_REF, S_HET, S_HOM_ALT,
                     S_HOM_REF, S_INDEL, S_MISSING, S_TS, S_TV, SAMPLE_COLS, V_AC, V_AN, V_HAP_ALT,
                     V_HAP_REF, V_HET, V_HOM_ALT, V_HOM_REF, V_MISSING, VARIANT_COLS, diploid_fast_path)


@jit
def _block_counts_any_ploidy(g, vclass, autosomal):
    """Generic (any ploidy, branchy) version of :func:`block_counts`; the diploid fast path is used when ploidy == 2.

    Count genotype classes of one block, per variant and per sample, in one pass.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)
        Allele codes (see module docstring).
    vclass : ndarray, uint8, shape (n_variants,)
        CLASS_TS / CLASS_TV for SNVs, CLASS_INDEL for length-changing records, CLASS_OTHER otherwise;
        a diploid non-reference call adds one to the sample's ``n_ts`` / ``n_tv`` / ``n_indel`` (as bcftools
        stats PSC counts them: haploid calls go to ``n_hap_alt`` only).
    autosomal : ndarray, uint8, shape (n_variants,)
        1 for variants on autosomes: diploid calls there count towards ``n_auto_called`` / ``n_auto_hom``
        (the observed homozygosity of plink2 --het).

    Returns
    -------
    variant_counts : ndarray, int64, shape (n_variants, 8)
        Columns VARIANT_COLS: diploid hom-ref, het, hom-alt; haploid ref, alt; missing calls;
        AN (present alleles in non-missing calls) and AC (ALT alleles among them).
    sample_counts : ndarray, int64, shape (n_samples, 11)
        Columns SAMPLE_COLS, partial over this block's variants.
    """
    n_var, n_smp, _ = g.shape
    vc = np.zeros((n_var, N_VARIANT_COLS), dtype=np.int64)
    sc = np.zeros((n_smp, N_SAMPLE_COLS), dtype=np.int64)
    for v in range(n_var):
        cls = vclass[v]
        auto = autosomal[v] != 0
        hom_ref = 0
        het = 0
        hom_alt = 0
        hap_ref = 0
        hap_alt = 0
        missing = 0
        for s in range(n_smp):
            n_present, n_alt, miss = call_counts(g, v, s)
            if miss or n_present == 0:
                missing += 1
                sc[s, S_MISSING] += 1
                continue
            if n_present == 1:
                if n_alt == 0:
                    hap_ref += 1
                    sc[s, S_HAP_REF] += 1
                else:
                    hap_alt += 1
                    sc[s, S_HAP_ALT] += 1
            else:
                if n_alt == 0:
                    hom_ref += 1
                    sc[s, S_HOM_REF] += 1
                elif n_alt == n_present:
                    hom_alt += 1
                    sc[s, S_HOM_ALT] += 1
                else:
                    het += 1
                    sc[s, S_HET] += 1
                if auto:
                    sc[s, S_AUTO_CALLED] += 1
                    if n_alt == 0 or n_alt == n_present:
                        sc[s, S_AUTO_HOM] += 1
            if n_alt > 0 and n_present >= 2:
                if cls == CLASS_TS:
                    sc[s, S_TS] += 1
                elif cls == CLASS_TV:
                    sc[s, S_TV] += 1
                elif cls == CLASS_INDEL:
                    sc[s, S_INDEL] += 1
        vc[v, V_HOM_REF] = hom_ref
        vc[v, V_HET] = het
        vc[v, V_HOM_ALT] = hom_alt
        vc[v, V_HAP_REF] = hap_ref
        vc[v, V_HAP_ALT] = hap_alt
        vc[v, V_MISSING] = missing
        vc[v, V_AN] = 2 * (hom_ref + het + hom_alt) + hap_ref + hap_alt
        vc[v, V_AC] = het + 2 * hom_alt + hap_alt
    return vc, sc


# ---- diploid fast path ---------------------------------------------------------------------------
# A diploid call's two int8 alleles are read as one little-endian int16 (first allele in the low byte):
# 0x0000 hom-ref, 0x0001 / 0x0100 het, 0x0101 hom-alt, 0xFE00 / 0xFE01 haploid ref / alt (second allele
# absent, -2); any other value (a missing or half call) is missing. Classifying by equality tests on int16
# lanes needs no branch and no de-interleaving, so LLVM vectorizes the loop.
# Per-sample counters: a variant's class (ts / tv / indel / other) and autosomal flag are the same for all
# its calls, so the per-sample counts only need, per *category* (class x autosomal, 8 of them), how many
# calls were het, hom-alt, haploid ref, haploid alt and missing (hom-ref is the rest). These five are packed
# in one int32 per sample (6-bit fields, flushed to int64 every 63 variants of a category): the inner loop
# then updates a single per-sample stream, which LLVM vectorizes (several separate counter arrays need
# runtime alias checks and ran 1.6x slower).
_HOM_REF16, _HET16A, _HET16B, _HOM_ALT16 = 0x0000, 0x0001, 0x0100, 0x0101
_HAP_REF16, _HAP_ALT16 = -512, -511  # 0xFE00, 0xFE01 as int16
_FIELD_BITS = 6
_FIELD_MASK = (1 << _FIELD_BITS) - 1
_FLUSH = _FIELD_MASK  # variants of one category between flushes of the packed counters
_N_CAT = 8  # category = 2 * class + autosomal
_NOT_DIPLOID16 = np.int16(-258)  # 0xFEFE: x & it == 0 iff both alleles are 0 or 1 (a diploid call)
_GROUP = 64  # calls tested per branch in the sparse second looks


@jit(fastmath=True)
def _row_diploid(r, acc):
    # one variant: r int16 (n_samples,); acc int32 (n_samples,) packed per-sample counters of its category.
    # Returns the variant's (hom-ref, het, hom-alt, hap-ref, hap-alt) counts.
    c_hr = 0
    c_het = 0
    c_ha = 0
    c_hpr = 0
    c_hpa = 0
    for s in range(r.shape[0]):
        x = r[s]
        hr = np.int32(x == _HOM_REF16)
        het = np.int32(x == _HET16A) + np.int32(x == _HET16B)
        ha = np.int32(x == _HOM_ALT16)
        hpr = np.int32(x == _HAP_REF16)
        hpa = np.int32(x == _HAP_ALT16)
        miss = np.int32(1) - hr - het - ha - hpr - hpa
        acc[s] += het + (ha << 6) + (hpr << 12) + (hpa << 18) + (miss << 24)
        c_hr += hr
        c_het += het
        c_ha += ha
        c_hpr += hpr
        c_hpa += hpa
    return c_hr, c_het, c_ha, c_hpr, c_hpa


@jit
def _flush_packed(acc, out):
    # acc int32 (n_samples,) packed fields -> out int64 (n_samples, 5) [het, hom-alt, hap-ref, hap-alt, missing]
    for s in range(acc.shape[0]):
        a = acc[s]
        out[s, 0] += a & _FIELD_MASK
        out[s, 1] += (a >> 6) & _FIELD_MASK
        out[s, 2] += (a >> 12) & _FIELD_MASK
        out[s, 3] += (a >> 18) & _FIELD_MASK
        out[s, 4] += (a >> 24) & _FIELD_MASK
        acc[s] = 0


@jit
def _block_counts_diploid(g, vclass, autosomal):
    n_var, n_smp, _ = g.shape
    calls = g.reshape(n_var * n_smp * 2).view(np.int16).reshape(n_var, n_smp)
    acc = np.zeros((_N_CAT, n_smp), dtype=np.int32)
    per = np.zeros((_N_CAT, n_smp, 5), dtype=np.int64)
    n_cat = np.zeros(_N_CAT, dtype=np.int64)
    pending = np.zeros(_N_CAT, dtype=np.int64)
    vc = np.zeros((n_var, N_VARIANT_COLS), dtype=np.int64)
    for v in range(n_var):
        k = vclass[v]
        cat = 2 * (k if 1 <= k <= 3 else 0) + (1 if autosomal[v] != 0 else 0)
        c_hr, c_het, c_ha, c_hpr, c_hpa = _row_diploid(calls[v], acc[cat])
        vc[v, V_HOM_REF] = c_hr
        vc[v, V_HET] = c_het
        vc[v, V_HOM_ALT] = c_ha
        vc[v, V_HAP_REF] = c_hpr
        vc[v, V_HAP_ALT] = c_hpa
        vc[v, V_MISSING] = n_smp - c_hr - c_het - c_ha - c_hpr - c_hpa
        vc[v, V_AN] = 2 * (c_hr + c_het + c_ha) + c_hpr + c_hpa
        vc[v, V_AC] = c_het + 2 * c_ha + c_hpa
        n_cat[cat] += 1
        pending[cat] += 1
        if pending[cat] == _FLUSH:
            _flush_packed(acc[cat], per[cat])
            pending[cat] = 0
    sc = np.zeros((n_smp, N_SAMPLE_COLS), dtype=np.int64)
    for cat in range(_N_CAT):
        if n_cat[cat] == 0:
            continue
        if pending[cat] > 0:
            _flush_packed(acc[cat], per[cat])
        add_category_counts(sc, cat, n_cat[cat], per[cat, :, 0], per[cat, :, 1], per[cat, :, 2], per[cat, :, 3],
                            per[cat, :, 4])
    return vc, sc


@jit
def add_category_counts(sc, cat, n_rows, het, hom_alt, hap_ref, hap_alt, missing):
    """Add one variant category's per-sample call counts to the per-sample columns.

    Parameters
    ----------
    sc : ndarray, int64, shape (n_samples, N_SAMPLE_COLS)
        Updated in place.
    cat : int
        Category ``2 * class + autosomal`` (class CLASS_*; autosomal 0 or 1) of the ``n_rows`` variants counted.
    het, hom_alt, hap_ref, hap_alt, missing : ndarray, int64, shape (>= n_samples,)
        Per-sample calls of each kind over those variants; hom-ref is the rest.
    """
    cls = cat >> 1
    auto = (cat & 1) == 1
    for s in range(sc.shape[0]):
        het_s = het[s]
        ha = hom_alt[s]
        hpr = hap_ref[s]
        hpa = hap_alt[s]
        miss = missing[s]
        hr = n_rows - het_s - ha - hpr - hpa - miss
        sc[s, S_MISSING] += miss
        sc[s, S_HOM_REF] += hr
        sc[s, S_HET] += het_s
        sc[s, S_HOM_ALT] += ha
        sc[s, S_HAP_REF] += hpr
        sc[s, S_HAP_ALT] += hpa
        if cls == CLASS_TS:
            sc[s, S_TS] += het_s + ha
        elif cls == CLASS_TV:
            sc[s, S_TV] += het_s + ha
        elif cls == CLASS_INDEL:
            sc[s, S_INDEL] += het_s + ha
        if auto:
            sc[s, S_AUTO_CALLED] += hr + het_s + ha
            sc[s, S_AUTO_HOM] += hr + ha


def block_counts(g, vclass, autosomal):
    """Count genotype classes of one block, per variant and per sample, in one pass.

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)
        Allele codes (see module docstring).
    vclass : ndarray, uint8, shape (n_variants,)
        CLASS_TS / CLASS_TV for SNVs, CLASS_INDEL for length-changing records, CLASS_OTHER otherwise;
        a diploid non-reference call adds one to the sample's ``n_ts`` / ``n_tv`` / ``n_indel`` (as bcftools
        stats PSC counts them: haploid calls go to ``n_hap_alt`` only).
    autosomal : ndarray, uint8, shape (n_variants,)
        1 for variants on autosomes: diploid calls there count towards ``n_auto_called`` / ``n_auto_hom``.

    Returns
    -------
    variant_counts : ndarray, int64, shape (n_variants, 8)
        Columns VARIANT_COLS: diploid hom-ref, het, hom-alt; haploid ref, alt; missing calls;
        AN (present alleles in non-missing calls) and AC (ALT alleles among them).
    sample_counts : ndarray, int64, shape (n_samples, 11)
        Columns SAMPLE_COLS, partial over this block's variants.

    Notes
    -----
    Ploidy 2 (the store's usual layout, haploid calls padded with -2) runs a branch-free, vectorized
    kernel that reads each call as one int16; any other ploidy the generic one. The two agree on every
    call of a biallelic store (alleles 0/1, -1, and -2 padding after the first allele); for other codes
    the generic kernel's rules (any allele > 0 is ALT) are the reference. Both release the GIL.
    """
    if diploid_fast_path(g):
        return _block_counts_diploid(g, vclass, autosomal)
    return _block_counts_any_ploidy(g, vclass, autosomal)


@jit
def expected_hom_sums(g, weights, rows):
    """Per-sample sums of per-variant weights over the calls that are *not* diploid (missing or haploid).

    Used for plink2 --het: a sample's E(HOM) is the sum over its called (diploid) autosomal variants of
    ``1 - 2 p (1 - p)``; the caller takes the row's total and subtracts what this returns. Only the
    variants in ``rows`` are visited (those with at least one non-diploid call).

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)
    weights : ndarray, float64, shape (n_variants, n_weights)
    rows : ndarray, int64, shape (n_rows,)
        Variant indices (into ``g``) to visit.

    Returns
    -------
    ndarray, float64, shape (n_samples, n_weights)
    """
    n_var, n_smp, ploidy = g.shape
    n_w = weights.shape[1]
    out = np.zeros((n_smp, n_w), dtype=np.float64)
    if FAST_PATH and ploidy == 2 and n_var * n_smp > 0:
        calls = g.reshape(n_var * n_smp * 2).view(np.int16).reshape(n_var, n_smp)
        for i in range(rows.shape[0]):
            v = rows[i]
            r = calls[v]
            # non-diploid calls are rare: OR-reduce _GROUP calls at a time (vectorized), visit only hits.
            # A call is diploid iff both bytes are 0 or 1, i.e. x & 0xFEFE == 0.
            for s0 in range(0, n_smp, _GROUP):
                s1 = min(n_smp, s0 + _GROUP)
                hit = np.int16(0)
                for s in range(s0, s1):
                    hit |= r[s] & _NOT_DIPLOID16
                if hit != 0:
                    for s in range(s0, s1):
                        if r[s] & _NOT_DIPLOID16:
                            for k in range(n_w):
                                out[s, k] += weights[v, k]
        return out
    for i in range(rows.shape[0]):
        v = rows[i]
        for s in range(n_smp):
            n_present, _, miss = call_counts(g, v, s)
            if miss or n_present < 2:
                for k in range(n_w):
                    out[s, k] += weights[v, k]
    return out


@jit
def carrier_counts(g, rows, alleles):
    """Per-sample count of listed variants at which the sample carries a given allele (singletons).

    Parameters
    ----------
    g : ndarray, int8, shape (n_variants, n_samples, ploidy)
    rows : ndarray, int64, shape (n_rows,)
        Variant indices (into ``g``) to visit, e.g. those where one allele is seen once.
    alleles : ndarray, int8, shape (n_rows,)
        For each row, the allele to look for: 0 (REF) or 1 (ALT).

    Returns
    -------
    ndarray, int64, shape (n_samples,)
        Diploid calls carrying the allele, summed over the rows (bcftools stats leaves haploid calls out
        of singletons).

    Notes
    -----
    The diploid fast path counts heterozygotes only: it is exact for the rows the QC pass lists (an
    allele seen once among diploid calls, whose only carrier is a heterozygote), not for arbitrary rows.
    """
    n_var, n_smp, ploidy = g.shape
    out = np.zeros(n_smp, dtype=np.int64)
    if FAST_PATH and ploidy == 2 and n_var * n_smp > 0:
        # the carrier of an allele seen once among diploid calls is a heterozygote: find hets 16 calls at a time
        calls = g.reshape(n_var * n_smp * 2).view(np.int16).reshape(n_var, n_smp)
        for i in range(rows.shape[0]):
            r = calls[rows[i]]
            for s0 in range(0, n_smp, _GROUP):
                s1 = min(n_smp, s0 + _GROUP)
                hit = 0
                for s in range(s0, s1):
                    hit |= (r[s] == _HET16A) | (r[s] == _HET16B)
                if hit:
                    for s in range(s0, s1):
                        if (r[s] == _HET16A) | (r[s] == _HET16B):
                            out[s] += 1
        return out
    for i in range(rows.shape[0]):
        v = rows[i]
        want_alt = alleles[i] > 0
        for s in range(n_smp):
            miss = False
            has = False
            n_present = 0
            for k in range(ploidy):
                a = g[v, s, k]
                if a == -1:
                    miss = True
                elif a >= 0:
                    n_present += 1
                    if (a > 0) == want_alt:
                        has = True
            if has and not miss and n_present >= 2:
                out[s] += 1
    return out


# ----------------------------------------------------------------------------------------------
# plain-Python reference twins (numpy, written for clarity, not speed)

def _classify_reference(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(missing, n_present, n_alt), each shape (n_variants, n_samples)."""
    missing = (g == -1).any(axis=2)
    n_present = (g >= 0).sum(axis=2)
    missing |= n_present == 0
    n_alt = (g > 0).sum(axis=2)
    return missing, n_present, n_alt


def block_counts_reference(g: np.ndarray, vclass: np.ndarray, autosomal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy twin of :func:`block_counts` (same inputs, same outputs)."""
    missing, n_present, n_alt = _classify_reference(np.asarray(g))
    called = ~missing
    hap = called & (n_present == 1)
    dip = called & (n_present >= 2)
    hom_ref = dip & (n_alt == 0)
    hom_alt = dip & (n_alt == n_present)
    het = dip & ~hom_ref & ~hom_alt
    hap_ref = hap & (n_alt == 0)
    hap_alt = hap & (n_alt > 0)
    vc = np.stack([hom_ref.sum(1), het.sum(1), hom_alt.sum(1), hap_ref.sum(1), hap_alt.sum(1), missing.sum(1)], axis=1)
    an = 2 * (vc[:, 0] + vc[:, 1] + vc[:, 2]) + vc[:, 3] + vc[:, 4]
    ac = vc[:, 1] + 2 * vc[:, 2] + vc[:, 4]
    vc = np.column_stack([vc, an, ac]).astype(np.int64)
    nonref = dip & (n_alt > 0)
    auto = (np.asarray(autosomal) != 0)[:, None]
    cls = np.asarray(vclass)[:, None]
    sc = np.stack([
        missing.sum(0), hom_ref.sum(0), het.sum(0), hom_alt.sum(0), hap_ref.sum(0), hap_alt.sum(0),
        (nonref & (cls == CLASS_TS)).sum(0), (nonref & (cls == CLASS_TV)).sum(0), (nonref & (cls == CLASS_INDEL)).sum(0),
        (dip & auto).sum(0), ((hom_ref | hom_alt) & auto).sum(0),
    ], axis=1).astype(np.int64)
    return vc, sc


def expected_hom_sums_reference(g: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Plain numpy twin of :func:`expected_hom_sums`."""
    missing, n_present, _ = _classify_reference(np.asarray(g)[rows])
    not_dip = (missing | (n_present < 2)).astype(np.float64)  # (n_rows, n_samples)
    return not_dip.T @ np.asarray(weights, dtype=np.float64)[rows]


def carrier_counts_reference(g: np.ndarray, rows: np.ndarray, alleles: np.ndarray) -> np.ndarray:
    """Plain numpy twin of :func:`carrier_counts`."""
    sub = np.asarray(g)[rows]
    missing, n_present, n_alt = _classify_reference(sub)
    n_ref = (sub == 0).sum(axis=2)
    has = np.where(np.asarray(alleles)[:, None] > 0, n_alt > 0, n_ref > 0)
    return (has & ~missing & (n_present >= 2)).sum(axis=0).astype(np.int64)
