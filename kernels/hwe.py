"""Exact test of Hardy-Weinberg equilibrium (Wigginton, Cutler & Abecasis 2005, AJHG 76:887).

The p-value is the summed probability, under HWE and given the allele counts, of every heterozygote
count at most as likely as the observed one. With ``midp`` the *mid-p* variant is returned: genotype
configurations exactly as likely as the observed one (the observed one and any tie) count half
(Graffelman & Moreno 2013), as plink2 ``--hardy midp``. Without ``midp`` they count fully (plink2's
default). Probabilities are compared with a relative tolerance of 1e-12 so rounding cannot break ties.

The result is the natural log of p, so that p-values far below 1e-308 keep their value (plink2 also
works in log space). Monomorphic variants give p = 1 (mid-p 1/2, as plink2); no diploid call gives NaN (plink2 prints 1).

Computation: relative likelihoods of the heterozygote counts follow the recurrence of Wigginton et al.;
they are summed outward from the observed count (normalized to 1) until terms fall below 1e-17 of the
tail. When the observed configuration is more than e^600 less likely than the mode, terms are summed in
log space over the whole support instead (slow but only for astronomically small p).
"""
from __future__ import annotations

import math

import numpy as np

from .accelerate import jit

TIE_TOLERANCE = 1e-12
_STOP = 1e-17
_LOG_SPACE_BELOW = -600.0


@jit
def _ln_rel_lik(h, homr, homc):
    # log relative likelihood of (h hets, homr rare homs, homc common homs), constants dropped
    return h * math.log(2.0) - math.lgamma(homr + 1.0) - math.lgamma(homc + 1.0) - math.lgamma(h + 1.0)


@jit
def hwe_lnp(n_het, n_hom1, n_hom2, midp):
    """Natural log of the exact HWE p-value for one biallelic variant.

    Parameters
    ----------
    n_het, n_hom1, n_hom2 : int
        Diploid genotype counts (heterozygous, homozygous for either allele; which is REF does not matter).
    midp : bool
        Mid-p variant (see module docstring).

    Returns
    -------
    float
        ln p in [-inf, 0]; NaN when there is no genotype or a count is negative.
    """
    if n_het < 0 or n_hom1 < 0 or n_hom2 < 0:
        return np.nan
    n = n_het + n_hom1 + n_hom2
    if n == 0:
        return np.nan
    homr = min(n_hom1, n_hom2)
    homc = max(n_hom1, n_hom2)
    n_rare = 2 * homr + n_het
    if n_rare == 0:
        return math.log(0.5) if midp else 0.0  # one configuration: p = 1, mid-p = 1/2
    # approximate mode (expected het count, same parity as n_rare) to choose the arithmetic
    h_mode = int(n_rare * (2.0 * n - n_rare) / (2.0 * n - 1.0))
    if (h_mode - n_rare) % 2 != 0:
        h_mode += 1
    if h_mode > n_rare:
        h_mode -= 2
    r_mode = (n_rare - h_mode) // 2
    ln_obs = _ln_rel_lik(n_het, homr, homc)
    ln_mode = _ln_rel_lik(h_mode, r_mode, n - h_mode - r_mode)
    half = 0.5 if midp else 1.0
    if ln_obs - ln_mode > _LOG_SPACE_BELOW:
        tail = half
        center = 0.0
        ties = 1.0  # mass of configurations as likely as the observed one (the observed included)
        # walk towards fewer heterozygotes
        cur = 1.0
        h = n_het
        hr = homr
        hc = homc
        while h >= 2:
            cur *= h * (h - 1.0) / (4.0 * (hr + 1.0) * (hc + 1.0))
            h -= 2
            hr += 1
            hc += 1
            if cur > 1.0 + TIE_TOLERANCE:
                center += cur
            elif cur >= 1.0 - TIE_TOLERANCE:
                tail += half * cur
                ties += cur
            else:
                tail += cur
                if cur < _STOP * tail:
                    break
        # walk towards more heterozygotes
        cur = 1.0
        h = n_het
        hr = homr
        hc = homc
        while hr >= 1:
            cur *= 4.0 * hr * hc / ((h + 2.0) * (h + 1.0))
            h += 2
            hr -= 1
            hc -= 1
            if cur > 1.0 + TIE_TOLERANCE:
                center += cur
            elif cur >= 1.0 - TIE_TOLERANCE:
                tail += half * cur
                ties += cur
            else:
                tail += cur
                if cur < _STOP * tail:
                    break
        lnp = math.log(tail) - math.log(tail + center + (1.0 - half) * ties)
        return min(lnp, 0.0)
    # log space over the whole support: only for p far below any float
    n_terms = n_rare // 2 + 1
    lnf = np.empty(n_terms, dtype=np.float64)
    top = -np.inf
    for i in range(n_terms):
        h = n_rare - 2 * i
        lnf[i] = _ln_rel_lik(h, i, n - h - i)
        top = max(top, lnf[i])
    total = 0.0
    tail = 0.0
    lo = math.log1p(-TIE_TOLERANCE)
    hi = math.log1p(TIE_TOLERANCE)
    for i in range(n_terms):
        total += math.exp(lnf[i] - top)
        d = lnf[i] - ln_obs  # log of the likelihood relative to the observed one: <= 0 in the tail
        if d < lo:
            tail += math.exp(d)
        elif d <= hi:
            tail += half * math.exp(d)
    return math.log(tail) + (ln_obs - top) - math.log(total)


@jit
def hwe_lnp_array(n_het, n_hom1, n_hom2, midp):
    """Vectorized :func:`hwe_lnp`.

    Parameters
    ----------
    n_het, n_hom1, n_hom2 : ndarray, int64, shape (n_variants,)
    midp : bool

    Returns
    -------
    ndarray, float64, shape (n_variants,)
        ln p per variant.
    """
    out = np.empty(n_het.shape[0], dtype=np.float64)
    for i in range(n_het.shape[0]):
        out[i] = hwe_lnp(n_het[i], n_hom1[i], n_hom2[i], midp)
    return out


def hwe_lnp_reference(n_het: int, n_hom1: int, n_hom2: int, midp: bool) -> float:
    """Plain-Python twin of :func:`hwe_lnp`: every configuration's exact probability, in log space.

    Enumerates the full support with ``math.lgamma`` (slow, simple, independent of the recurrence).
    """
    n = n_het + n_hom1 + n_hom2
    if min(n_het, n_hom1, n_hom2) < 0 or n == 0:
        return float("nan")
    homr, homc = min(n_hom1, n_hom2), max(n_hom1, n_hom2)
    n_rare = 2 * homr + n_het
    if n_rare == 0:
        return math.log(0.5) if midp else 0.0

    def lnp(h: int) -> float:
        r = (n_rare - h) // 2
        c = n - h - r
        return (math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(c + 1) - math.lgamma(h + 1) + h * math.log(2)
                + math.lgamma(n_rare + 1) + math.lgamma(2 * n - n_rare + 1) - math.lgamma(2 * n + 1))

    terms = [lnp(h) for h in range(n_rare % 2, n_rare + 1, 2)]
    ln_obs = lnp(n_het)
    tail = []
    for t in terms:
        d = t - ln_obs
        if d < math.log1p(-TIE_TOLERANCE):
            tail.append(t)
        elif d <= math.log1p(TIE_TOLERANCE):
            tail.append(t + (math.log(0.5) if midp else 0.0))

    def logsumexp(xs: list[float]) -> float:
        top = max(xs)
        return top + math.log(sum(math.exp(x - top) for x in xs))

    return min(logsumexp(tail) - logsumexp(terms), 0.0)
