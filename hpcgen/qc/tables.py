"""QC tables from the pass totals: per-variant and per-sample statistics with filter flags.

Definitions (docs/qc.md has the full list): call rate = called / all calls (a haploid call is a call);
AF = ALT alleles / present alleles (a haploid call contributes one allele, as plink2 counts male chrX);
HWE on diploid calls only (plink2 --hardy; on chrX that is the females when males are haploid);
inbreeding F = (O(HOM) - E(HOM)) / (OBS_CT - E(HOM)) over polymorphic autosomal variants with
E(HOM) = sum of 1 - 2 p (1 - p) (plink2 --het without 'small-sample').
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from hpcgen.config.qc import QcConfig
from hpcgen.kernels import layout as K
from hpcgen.qc.counts import HET_E, HET_O, HET_OBS, QcCounts

_CLASS_NAMES = np.array(["other", "snv_ts", "snv_tv", "indel"])


def _hwe_lnp(het: np.ndarray, hom_ref: np.ndarray, hom_alt: np.ndarray, midp: bool, threads: int) -> np.ndarray:
    """ln p of the exact HWE test per variant, the array cut in ``threads`` parts run on threads (nogil kernel)."""
    from concurrent.futures import ThreadPoolExecutor

    from hpcgen.aot import kernel

    hwe_lnp_array = kernel("hwe_lnp_array")
    edges = np.linspace(0, len(het), max(1, min(threads, len(het) // 10_000 + 1)) + 1).astype(np.int64)
    with ThreadPoolExecutor(len(edges) - 1) as pool:
        out = list(pool.map(lambda a, b: hwe_lnp_array(het[a:b], hom_ref[a:b], hom_alt[a:b], midp), edges[:-1], edges[1:]))
    return np.concatenate(out)


def variant_table(variants: pd.DataFrame, counts: QcCounts, vclass: np.ndarray, cfg: QcConfig,
                  threads: int = 1) -> pd.DataFrame:
    """Per-variant QC table.

    Parameters
    ----------
    variants : DataFrame
        chrom, pos, id, ref, alt (the store's variant table), n_variants rows.
    counts : QcCounts
    vclass : ndarray, uint8, shape (n_variants,)
    cfg : QcConfig
        Thresholds for the flags and the HWE mid-p setting.
    threads : int
        Threads for the HWE tests.

    Returns
    -------
    DataFrame
        chrom, pos, id, ref, alt, class, counts (VARIANT_COLS), call_rate, af, maf, het_rate, hwe_p,
        hwe_log10p (-log10 p, exact even below 1e-308), fail_call_rate, fail_maf, fail_hwe, pass.
    """
    vc = counts.variant
    n_samples = counts.sample.shape[0]
    out = variants[["chrom", "pos", "id", "ref", "alt"]].reset_index(drop=True).copy()
    out["class"] = _CLASS_NAMES[vclass]
    for k, name in enumerate(K.VARIANT_COLS):
        out[name] = vc[:, k]
    called = n_samples - vc[:, K.V_MISSING]
    dip = vc[:, K.V_HOM_REF] + vc[:, K.V_HET] + vc[:, K.V_HOM_ALT]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["call_rate"] = called / n_samples if n_samples else np.nan
        af = np.where(vc[:, K.V_AN] > 0, vc[:, K.V_AC] / vc[:, K.V_AN], np.nan)
        out["af"] = af
        out["maf"] = np.minimum(af, 1.0 - af)
        out["het_rate"] = np.where(dip > 0, vc[:, K.V_HET] / dip, np.nan)
    lnp = _hwe_lnp(vc[:, K.V_HET].copy(), vc[:, K.V_HOM_REF].copy(), vc[:, K.V_HOM_ALT].copy(), cfg.hwe_midp, threads)
    out["hwe_p"] = np.exp(lnp)
    out["hwe_log10p"] = -lnp / np.log(10.0)
    out["fail_call_rate"] = ~(out["call_rate"].to_numpy() >= cfg.min_call_rate)
    out["fail_maf"] = ~(out["maf"].to_numpy() >= cfg.min_maf)
    # a variant without diploid calls has no HWE test: it is not failed by it
    out["fail_hwe"] = np.nan_to_num(lnp, nan=0.0) < np.log(cfg.hwe_p) if cfg.hwe_p > 0 else False
    out["pass"] = ~(out["fail_call_rate"] | out["fail_maf"] | out["fail_hwe"])
    return out


def sample_table(samples: np.ndarray, counts: QcCounts, n_variants: int, cfg: QcConfig) -> pd.DataFrame:
    """Per-sample QC table.

    Returns
    -------
    DataFrame
        sample, call_rate, n_called, counts (SAMPLE_COLS without the internal autosome ones),
        het_rate (het / diploid calls), het_obs_ct, o_hom, e_hom, inbreeding_f, ti_tv, n_singletons,
        fail_call_rate.
    """
    sc = counts.sample
    out = pd.DataFrame({"sample": np.asarray(samples, dtype=str)})
    n_called = n_variants - sc[:, K.S_MISSING]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["call_rate"] = n_called / n_variants if n_variants else np.nan
        out["n_called"] = n_called
        for k, name in enumerate(K.SAMPLE_COLS):
            if k not in (K.S_AUTO_CALLED, K.S_AUTO_HOM):
                out[name] = sc[:, k]
        dip = sc[:, K.S_HOM_REF] + sc[:, K.S_HET] + sc[:, K.S_HOM_ALT]
        out["het_rate"] = np.where(dip > 0, sc[:, K.S_HET] / dip, np.nan)
        het = counts.het
        out["het_obs_ct"] = het[:, HET_OBS].round().astype(np.int64)
        out["o_hom"] = het[:, HET_O].round().astype(np.int64)
        out["e_hom"] = het[:, HET_E]
        out["inbreeding_f"] = (het[:, HET_O] - het[:, HET_E]) / (het[:, HET_OBS] - het[:, HET_E])
        out["ti_tv"] = np.where(sc[:, K.S_TV] > 0, sc[:, K.S_TS] / sc[:, K.S_TV], np.nan)
    out["n_singletons"] = counts.singletons
    out["fail_call_rate"] = ~(out["call_rate"].to_numpy() >= cfg.min_call_rate)
    return out
