"""Diplotype matching kernel: every sample of a cohort against every named allele of one gene, in one pass.

Pure numpy/numba: no I/O, no hpcgen imports. The semantics follow PharmCAT's NamedAlleleMatcher
(non-combination mode): a named allele matches one strand of the sample when, at every available position,
the strand's allele is one the named allele accepts; a diplotype (h1, h2) is possible when the two strands
can be drawn from the genotypes (each unphased heterozygous position flips independently, positions of one
phase set flip together); its score is the number of *defined* positions of h1 plus those of h2 among the
positions the sample has; the top score wins and ties are all returned.

Encoding (all arrays C-contiguous):

* ``a1, a2``: int8, shape (n_samples, n_pos): allele codes (0 = REF, k = k-th ALT of the definition),
  -1 missing, -2 absent (second allele of a haploid call), 100 undocumented allele (matches nothing).
* ``group``: int32, shape (n_samples, n_pos): -1 unphased, else the phase-set index (0..n_groups-1) that
  fixes the orientation of this heterozygous position relative to the others of its set.
* ``accept``: int32, shape (n_hap, n_pos): bit c set when the named allele accepts allele code c.
* ``defined``: uint8, shape (n_hap, n_pos): 1 when the position counts in the named allele's score.
* ``usable``: uint8, shape (n_pos,): 0 for positions excluded from matching.
* ``order``: int32, shape (n_hap, n_pos): positions to test per named allele, most selective first
  (its non-reference positions), so that most named alleles are rejected after one or two tests.
* ``wobble``: uint8, shape (n_hap, n_pos): 1 where the named allele's definition is an IUPAC ambiguity
  code; as in PharmCAT, such a position does not score when the strand carries the reference there
  (the best orientation of the strands is taken).
* ``keep_all``: return every possible diplotype (best first) instead of the top-scoring ones (PharmCAT's
  unphased-priority mode, NAT2).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from hpcgen.kernels.accelerate import jit

MAX_TIES = 32
MAX_CAND = 64
MAX_GROUPS = 64


@jit
def _accepts(mask: int, code: int) -> bool:
    if code < 0 or code > 30:
        return False
    return (mask >> code) & 1 == 1


@jit(parallel=True)
def match_diplotypes(a1, a2, group, accept, defined, usable, order, n_groups, wobble, keep_all):
    """Call the top-scoring diplotypes of every sample.

    Returns
    -------
    hap1, hap2 : ndarray, int16, shape (n_samples, MAX_TIES)
        Named-allele rows of each top diplotype (hap2 = -1 for a haploid call); -1 padding.
    pair_score : ndarray, int32, shape (n_samples, MAX_TIES)
        Score of each returned diplotype.
    n_calls : ndarray, int16, shape (n_samples,)
        Number of top diplotypes (0: no named-allele combination explains the genotypes).
    score : ndarray, int32, shape (n_samples,)
        Top score.
    flags : ndarray, uint8, shape (n_samples,)
        bit 0: more than MAX_TIES ties (truncated), bit 1: more than MAX_CAND candidate alleles
        (truncated), bit 2: haploid, bit 3: no usable position.
    """
    n_s, n_p = a1.shape
    n_h = accept.shape[0]
    hap1 = np.full((n_s, MAX_TIES), -1, np.int16)
    hap2 = np.full((n_s, MAX_TIES), -1, np.int16)
    n_calls = np.zeros(n_s, np.int16)
    score = np.zeros(n_s, np.int32)
    flags = np.zeros(n_s, np.uint8)
    pair_score = np.zeros((n_s, MAX_TIES), np.int32)
    for s in prange(n_s):
        cand = np.empty(MAX_CAND, np.int32)
        cscore = np.empty(MAX_CAND, np.int32)
        orient = np.empty(max(n_groups, 1), np.uint8)
        gpen = np.zeros((max(n_groups, 1), 2), np.int32)
        haploid = True
        n_avail = 0
        for p in range(n_p):
            if usable[p] and a1[s, p] >= 0:
                n_avail += 1
                if a2[s, p] != -2:
                    haploid = False
        if n_avail == 0:
            flags[s] |= 8
            continue
        if haploid:
            flags[s] |= 4
        # candidates: named alleles that match at least one strand at every available position
        n_c = 0
        for h in range(n_h):
            ok = True
            for k in range(n_p):
                p = order[h, k]
                c1 = a1[s, p]
                if not usable[p] or c1 < 0:
                    continue
                m = accept[h, p]
                if haploid:
                    if not _accepts(m, c1):
                        ok = False
                        break
                elif not (_accepts(m, c1) or _accepts(m, a2[s, p])):
                    ok = False
                    break
            if not ok:
                continue
            sc = 0
            for p in range(n_p):
                if usable[p] and a1[s, p] >= 0 and defined[h, p]:
                    sc += 1
            if sc == 0:
                continue  # every defining position missing: PharmCAT drops the allele
            if n_c == MAX_CAND:
                flags[s] |= 2
                break
            cand[n_c] = h
            cscore[n_c] = sc
            n_c += 1
        best = -1
        nt = 0
        if haploid:
            for i in range(n_c):
                sc = cscore[i]
                for p in range(n_p):
                    if usable[p] and a1[s, p] == 0 and wobble[cand[i], p]:
                        sc -= 1
                if sc > best:
                    best = sc
                    nt = 0
                if sc == best:
                    if nt < MAX_TIES:
                        hap1[s, nt] = cand[i]
                        pair_score[s, nt] = sc
                        nt += 1
                    else:
                        flags[s] |= 1
        else:
            for i in range(n_c):
                hi = cand[i]
                for j in range(i, n_c):
                    hj = cand[j]
                    sc = cscore[i] + cscore[j]
                    if sc < best and not keep_all:
                        continue
                    for g in range(n_groups):
                        orient[g] = 3
                        gpen[g, 0] = 0
                        gpen[g, 1] = 0
                    ok = True
                    pen = 0
                    for p in range(n_p):
                        c1 = a1[s, p]
                        c2 = a2[s, p]
                        if not usable[p] or c1 < 0:
                            continue
                        mi = accept[hi, p]
                        mj = accept[hj, p]
                        wi = 1 if wobble[hi, p] else 0
                        wj = 1 if wobble[hj, p] else 0
                        if c1 == c2:
                            if not (_accepts(mi, c1) and _accepts(mj, c1)):
                                ok = False
                                break
                            if c1 == 0:
                                pen += wi + wj
                            continue
                        straight = _accepts(mi, c1) and _accepts(mj, c2)
                        flipped = _accepts(mi, c2) and _accepts(mj, c1)
                        p_straight = (wi if c1 == 0 else 0) + (wj if c2 == 0 else 0)
                        p_flipped = (wi if c2 == 0 else 0) + (wj if c1 == 0 else 0)
                        g = group[s, p]
                        if g < 0:
                            if straight and flipped:
                                pen += min(p_straight, p_flipped)
                            elif straight:
                                pen += p_straight
                            elif flipped:
                                pen += p_flipped
                            else:
                                ok = False
                                break
                        else:
                            allowed = orient[g] & ((1 if straight else 0) | (2 if flipped else 0))
                            if allowed == 0:
                                ok = False
                                break
                            orient[g] = allowed
                            gpen[g, 0] += p_straight
                            gpen[g, 1] += p_flipped
                    if not ok:
                        continue
                    for g in range(n_groups):
                        if orient[g] == 3:
                            pen += min(gpen[g, 0], gpen[g, 1])
                        elif orient[g] == 1:
                            pen += gpen[g, 0]
                        elif orient[g] == 2:
                            pen += gpen[g, 1]
                    sc -= pen
                    if keep_all:
                        if nt < MAX_TIES:
                            hap1[s, nt] = hi
                            hap2[s, nt] = hj
                            pair_score[s, nt] = sc
                            nt += 1
                        else:
                            flags[s] |= 1
                        if sc > best:
                            best = sc
                        continue
                    if sc < best:
                        continue
                    if sc > best:
                        best = sc
                        nt = 0
                    if nt < MAX_TIES:
                        hap1[s, nt] = hi
                        hap2[s, nt] = hj
                        pair_score[s, nt] = sc
                        nt += 1
                    else:
                        flags[s] |= 1
        n_calls[s] = nt
        score[s] = best if nt > 0 else 0
    return hap1, hap2, pair_score, n_calls, score, flags


def selective_order(accept: np.ndarray, reference_row: int = 0) -> np.ndarray:
    """Per named allele, positions where it differs from the reference first, then the others.

    Parameters
    ----------
    accept : ndarray, int32, shape (n_hap, n_pos)

    Returns
    -------
    ndarray, int32, shape (n_hap, n_pos)
    """
    differs = accept != accept[reference_row][None, :]
    # stable argsort on "not differs" puts differing positions first, in position order
    return np.argsort(~differs, axis=1, kind="stable").astype(np.int32)
