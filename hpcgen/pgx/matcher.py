"""Diplotype calling for a whole cohort: one numba pass per gene (``kernels/pgx_match.py``), then PharmCAT's
gene-specific rules (G6PD by sex, NAT2 required positions and tie priorities, DPYD unphased lowest-function).

The result of :func:`call_genes` is a pandas DataFrame, one row per (sample, gene), with the columns of
``genes.tsv`` (docs/CONTRACTS.md) except phenotype/activity score, which :mod:`hpcgen.pgx.phenotype` adds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hpcgen.pgx.definitions import ABSENT, GeneDefinition, format_diplotype
from hpcgen.pgx.reader import GeneGenotypes

TIE_JOIN = " or "
STATUS_CALLED, STATUS_NOT_CALLED, STATUS_OUTSIDE = "called", "not_called", "outside_call"


def _phase_groups(g: GeneGenotypes) -> tuple[np.ndarray, int]:
    """Phase-set index per heterozygous phased position (-1 unphased); 0 = phased without a PS."""
    group = np.full(g.a1.shape, -1, np.int32)
    if not g.phased.any():
        return group, 1
    ps = np.where(g.phased, g.ps, -1)
    values = np.unique(ps[g.phased])
    # ps 0 (no PS given) -> group 0: all phased positions without PS share one orientation
    idx = np.searchsorted(values, ps)
    group[g.phased] = idx[g.phased]
    return group, max(len(values), 1)


def _apply_sex(gene: GeneDefinition, g: GeneGenotypes, sex: np.ndarray | None) -> np.ndarray:
    """X-linked genes: male calls made haploid; a heterozygous male genotype cannot be called.

    Returns bool (n_samples,): samples that must be reported not called.
    """
    blocked = np.zeros(g.a1.shape[0], bool)
    if gene.chrom != "chrX" or sex is None:
        return blocked
    male = sex == "M"
    avail = g.a1 >= 0
    het = avail & (g.a2 >= 0) & (g.a1 != g.a2)
    bad = male & het.any(axis=1)
    for s in np.flatnonzero(bad):
        g.warn(int(s), f"{gene.gene}: heterozygous genotype on chrX in a male sample; not called")
    blocked |= bad
    hom = male[:, None] & avail & (g.a2 == g.a1)
    g.a2[hom] = ABSENT
    female = sex == "F"
    hap = female[:, None] & avail & (g.a2 == ABSENT)
    for s in np.flatnonzero(hap.any(axis=1)):
        g.warn(int(s), f"{gene.gene}: haploid genotype on chrX in a female sample")
    return blocked


def _missing_strings(gene: GeneDefinition, missing: np.ndarray) -> np.ndarray:
    """';'-joined chr:pos of missing positions per sample, built once per distinct missingness pattern."""
    out = np.full(missing.shape[0], "", dtype=object)
    rows = np.flatnonzero(missing.any(axis=1))
    if len(rows) == 0:
        return out
    packed = np.packbits(missing[rows], axis=1)
    cache: dict[bytes, str] = {}
    for k, s in enumerate(rows):
        key = packed[k].tobytes()
        text = cache.get(key)
        if text is None:
            m = missing[s]
            text = cache[key] = ";".join(f"{gene.chrom}:{p}" for p in gene.positions[m])
        out[s] = text
    return out


def _dpyd_tables(gene: GeneDefinition) -> tuple[np.ndarray, np.ndarray]:
    """Per named allele its non-reference positions, and ``part_of[a, b]``: allele a's variants are a proper
    subset of allele b's (c.1129-5923C>G inside HapB3)."""
    nonref = gene.accept != gene.accept[0][None, :]
    same = np.array([[np.all(gene.accept[a][nonref[a]] == gene.accept[b][nonref[a]]) for b in range(gene.n_hap)]
                     for a in range(gene.n_hap)])
    covered = (nonref[:, None, :] <= nonref[None, :, :]).all(axis=2)
    part_of = covered & same & (nonref.sum(axis=1)[:, None] < nonref.sum(axis=1)[None, :])
    return nonref, part_of


def _dpyd_presence(gene: GeneDefinition, a1: np.ndarray, a2: np.ndarray, usable: np.ndarray,
                   nonref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For samples (rows of a1/a2): which non-reference named alleles have every defined allele on some
    strand (present) or on both (homozygous). Returns two bool arrays, shape (n_samples, n_hap)."""
    avail = usable[None, :] & (a1 >= 0)                                     # (s, p)
    on1 = (gene.accept[None, :, :] >> np.clip(a1, 0, 30)[:, None, :]) & 1   # (s, h, p)
    on2 = (gene.accept[None, :, :] >> np.clip(a2, 0, 30)[:, None, :]) & 1
    relevant = gene.defined[None, :, :] & avail[:, None, :]
    present = np.where(relevant, (on1 | on2) == 1, True).all(axis=2) & relevant.any(axis=2)
    homo = np.where(relevant, (on1 & on2) == 1, True).all(axis=2)
    present[:, 0] = False  # the reference is the filler, not a finding
    present &= nonref.any(axis=1)[None, :]
    return present, homo


def _dpyd_batch(gene: GeneDefinition, g: GeneGenotypes, rows: np.ndarray, usable: np.ndarray,
                chunk: int = 512) -> dict:
    """Presence of every DPYD allele for the given samples, computed in vectorized chunks."""
    nonref, part_of = _dpyd_tables(gene)
    out = {}
    for k in range(0, len(rows), chunk):
        sel = rows[k:k + chunk]
        present, homo = _dpyd_presence(gene, g.a1[sel], g.a2[sel], usable, nonref)
        for j, s in enumerate(sel):
            out[int(s)] = (present[j], homo[j], part_of)
    return out


def _dpyd_lowest_function(gene: GeneDefinition, present: np.ndarray, homo: np.ndarray,
                          activity: dict[str, float], part_of: np.ndarray) -> tuple[str, str] | None:
    """PharmCAT's DPYD rule for unphased heterozygous samples: report the two lowest-function named
    alleles found (each defined allele present on some strand), Reference filling an empty slot.

    ``present``/``homo``: one sample's rows of :func:`_dpyd_presence`."""
    idx = np.flatnonzero(present)
    if len(idx) == 0:
        return None
    # an allele whose variants all belong to a larger allele found on the same strand is part of it
    idx = [a for a in idx if not part_of[a, idx].any()]
    found: list[tuple[float, str]] = []
    for h in idx:
        act = activity.get(gene.names[h], 1.0)
        found.append((act, gene.names[h]))
        if homo[h]:
            found.append((act, gene.names[h]))
    found.sort()
    names = [n for _, n in found[:2]]
    if len(names) == 1:
        names.append(gene.names[0])
    return names[0], names[1]


def _apply_priorities(gene: GeneDefinition, hap1, hap2, pair_score, n_calls, unphased_het):
    """PharmCAT's unphased-priority mode (NAT2): with every possible diplotype of an unphased sample, a
    priority entry whose list is among them picks the call; otherwise the top-scoring ones are kept."""
    n, width = hap1.shape
    valid = np.arange(width)[None, :] < n_calls[:, None]
    masked = np.where(valid, pair_score, np.iinfo(np.int32).min)
    best = masked.max(axis=1)
    top = valid & (masked == best[:, None])
    picked: dict[int, str] = {}
    names = gene.display
    ref_name = gene.names[0]
    for s in np.flatnonzero(unphased_het & (n_calls > 1)):
        dips = {format_diplotype(names[hap1[s, t]], names[hap2[s, t]], ref_name): t for t in range(n_calls[s])}
        for entry, pick in gene.priorities.items():
            if entry <= dips.keys():
                top[s] = False
                top[s, dips[pick]] = True
                picked[int(s)] = pick
                best[s] = pair_score[s, dips[pick]]
                break
    order = np.argsort(~top, axis=1, kind="stable")
    h1 = np.take_along_axis(hap1, order, axis=1)
    h2 = np.take_along_axis(hap2, order, axis=1)
    k = top.sum(axis=1).astype(np.int16)
    keep = np.arange(width)[None, :] < k[:, None]
    h1 = np.where(keep, h1, -1).astype(np.int16)
    h2 = np.where(keep, h2, -1).astype(np.int16)
    return h1, h2, k, np.where(k > 0, best, 0).astype(np.int32), picked


def _warning_column(warn: dict, n: int, default: str) -> np.ndarray:
    out = np.full(n, default, dtype=object)
    for s, msgs in warn.items():
        out[s] = ";".join(msgs)
    return out


def call_gene(gene: GeneDefinition, g: GeneGenotypes, samples: list[str], sex: np.ndarray | None = None,
              dpyd_activity: dict[str, float] | None = None) -> pd.DataFrame:
    """Call one gene for every sample.

    Parameters
    ----------
    sex : ndarray of str ('M', 'F', '') or None, shape (n_samples,)

    Returns
    -------
    DataFrame with columns sample, gene, diplotype, call_status, missing_positions, warnings, source,
    match_score, haplotype_1, haplotype_2 (the last three for the per-sample JSON).
    """
    from hpcgen.kernels.pgx_match import match_diplotypes, selective_order

    n = len(samples)
    blocked = _apply_sex(gene, g, sex)
    # PharmCAT matches on every position; exemption "ignoredPositions" only affect its preprocessor
    usable = np.ones(gene.n_pos, dtype=np.uint8)
    group, n_groups = _phase_groups(g)
    order = getattr(gene, "_order", None)
    if order is None:
        order = gene._order = selective_order(gene.accept, gene.reference)
    keep_all = bool(gene.priorities)
    hap1, hap2, pair_score, n_calls, score, flags = match_diplotypes(
        np.ascontiguousarray(g.a1), np.ascontiguousarray(g.a2), group, gene.accept,
        gene.defined.astype(np.uint8), usable, order, n_groups, gene.wobble, keep_all)
    unphased_het = ((g.a1 != g.a2) & (g.a1 >= 0) & (g.a2 >= 0) & ~g.phased).any(axis=1)
    picked: dict[int, str] = {}
    if keep_all:
        hap1, hap2, n_calls, score, picked = _apply_priorities(gene, hap1, hap2, pair_score, n_calls, unphased_het)
    missing = (g.a1 < 0) & (usable[None, :] == 1)
    missing_txt = _missing_strings(gene, missing)
    ref_name = gene.names[0]

    # diplotype text for single calls, vectorized through the distinct (h1, h2) pairs
    pair_code = hap1[:, 0].astype(np.int64) * 4096 + (hap2[:, 0].astype(np.int64) + 1)
    uniq, inv = np.unique(pair_code, return_inverse=True)
    names = []
    for code in uniq:
        h1, h2 = int(code // 4096), int(code % 4096) - 1
        names.append("" if h1 < 0 else format_diplotype(gene.display[h1], None if h2 < 0 else gene.display[h2], ref_name))
    dip = np.asarray(names, dtype=object)[inv.ravel()]
    hap_1 = np.where(hap1[:, 0] >= 0, np.asarray(gene.display, dtype=object)[hap1[:, 0].clip(0)], "")
    hap_2 = np.where(hap2[:, 0] >= 0, np.asarray(gene.display, dtype=object)[hap2[:, 0].clip(0)], "")
    status = np.where(n_calls > 0, STATUS_CALLED, STATUS_NOT_CALLED).astype(object)
    common = list(g.warnings.get(-1, []))

    class _Warn(dict):  # sample -> list of warnings, created on first use (most samples have none)
        def __missing__(self, key):
            self[key] = list(common)
            return self[key]

    warn = _Warn()
    for s, msgs in g.warnings.items():
        if s != -1:
            warn[s].extend(msgs)

    required = [i for i, p in enumerate(gene.positions) if int(p) in gene.required_positions]
    special = np.flatnonzero((n_calls > 1) | (flags != 0) | blocked | (missing[:, required].any(axis=1) if required else False)
                             | ((n_calls == 0)) | ((gene.gene == "DPYD") & unphased_het)
                             | np.isin(np.arange(n), list(picked)))
    dpyd_rows = None
    for s in special:
        s = int(s)
        if flags[s] & 8 or blocked[s]:
            status[s], dip[s], hap_1[s], hap_2[s] = STATUS_NOT_CALLED, "", "", ""
            if flags[s] & 8:
                warn[s].append(f"{gene.gene}: no genotype at any defining position")
            continue
        if required and missing[s, required].any():
            status[s], dip[s], hap_1[s], hap_2[s] = STATUS_NOT_CALLED, "", "", ""
            warn[s].append(f"{gene.gene}: a required position is missing")
            continue
        if gene.gene == "DPYD" and unphased_het[s]:
            if dpyd_rows is None:
                dpyd_rows = _dpyd_batch(gene, g, special[unphased_het[special]], usable.astype(bool))
            present, homo, part_of = dpyd_rows[s]
            pair = _dpyd_lowest_function(gene, present, homo, dpyd_activity or {}, part_of)
            if pair is not None:
                status[s], hap_1[s], hap_2[s] = STATUS_CALLED, pair[0], pair[1]
                dip[s] = format_diplotype(pair[0], pair[1], ref_name)
                warn[s].append("DPYD: unphased heterozygous; the two lowest-function alleles found are reported "
                               "(PharmCAT rule)")
                continue
        if n_calls[s] == 0:
            warn[s].append(f"{gene.gene}: genotypes match no combination of defined named alleles")
            continue
        k = int(n_calls[s])
        calls = [format_diplotype(gene.display[hap1[s, t]], None if hap2[s, t] < 0 else gene.display[hap2[s, t]],
                                  ref_name) for t in range(k)]
        calls = sorted(set(calls))
        if s in picked:
            warn[s].append(f"{gene.gene}: unphased; {picked[s]} picked among genotype-identical diplotypes "
                           "(PharmCAT priority)")
        if len(calls) == 1:  # ties between sub-alleles of one parent collapse to one call
            hap_1[s], hap_2[s] = calls[0].split("/")[0], (calls[0].split("/") + [""])[1]
        if flags[s] & 1:
            warn[s].append(f"{gene.gene}: more than {k} equally scored diplotypes; list truncated")
        if flags[s] & 2:
            warn[s].append(f"{gene.gene}: too many candidate alleles; search truncated")
        dip[s] = TIE_JOIN.join(calls)
        if len(calls) > 1:
            warn[s].append(f"{gene.gene}: {len(calls)} diplotypes tie at score {int(score[s])}")
            hap_1[s], hap_2[s] = "", ""
    return pd.DataFrame({
        "sample": samples,
        "gene": gene.gene,
        "diplotype": dip,
        "call_status": status,
        "missing_positions": missing_txt,
        "warnings": _warning_column(warn, n, ";".join(common)),
        "source": "hpcgen-matcher",
        "match_score": np.where(status == STATUS_CALLED, score, 0),
        "haplotype_1": hap_1,
        "haplotype_2": hap_2,
    })


def call_genes(genes: dict[str, GeneDefinition], genotypes: dict[str, GeneGenotypes], samples: list[str],
               sex: np.ndarray | None = None, dpyd_activity: dict[str, float] | None = None) -> pd.DataFrame:
    """Call every gene; rows ordered by gene then sample."""
    frames = [call_gene(genes[name], genotypes[name], samples, sex, dpyd_activity) for name in genes]
    return pd.concat(frames, ignore_index=True)
