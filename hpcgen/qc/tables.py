"""QC tables from the pass totals: per-variant and per-sample statistics with filter flags.

Definitions (docs/qc.md has the full list): call rate = called / all calls (a haploid call is a call);
AF = ALT alleles / present alleles (a haploid call contributes one allele, as plink2 counts male chrX);
HWE on diploid calls only (plink2 --hardy; on chrX that is the females when males are haploid);
inbreeding F = (O(HOM) - E(HOM)) / (OBS_CT - E(HOM)) over polymorphic autosomal variants with
E(HOM) = sum of 1 - 2 p (1 - p) (plink2 --het without 'small-sample').
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from hpcgen.arrowcols import large_strings, table, take_strings, to_arrow
from hpcgen.config.qc import QcConfig
from hpcgen.kernels import layout as K
from hpcgen.qc.counts import HET_E, HET_O, HET_OBS, QcCounts

_CLASS_NAMES = np.array(["other", "snv_ts", "snv_tv", "indel"])
VARIANT_FIELDS = ("chrom", "pos", "id", "ref", "alt")


def _variant_column(variants: Any, name: str) -> pa.Array | pa.ChunkedArray:
    """One store variant column as Arrow; strings as ``large_string``, the type pandas' str dtype writes
    (not by ``.cast``: that imports pyarrow.compute, ~0.03-0.08 s)."""
    col = variants.column(name) if isinstance(variants, pa.Table) else pa.array(variants[name])  # else pandas
    return large_strings(col)


def variant_table(variants: Any, counts: QcCounts, vclass: np.ndarray, cfg: QcConfig,
                  rows: tuple[int, int] | None = None) -> pa.Table:
    """Per-variant QC table.

    Parameters
    ----------
    variants : pa.Table or pandas DataFrame
        chrom, pos, id, ref, alt (the store's variant table), n_variants rows.
    counts : QcCounts
    vclass : ndarray, uint8, shape (n_variants,)
    cfg : QcConfig
        Thresholds for the flags and the HWE mid-p setting.
    rows : (start, stop), optional
        The table of these variants only (all by default): ``hpcgen qc`` builds it in slices that are
        written while the next is computed.

    Returns
    -------
    pa.Table
        chrom, pos, id, ref, alt, class, counts (VARIANT_COLS, int64), call_rate, af, maf, het_rate, hwe_p,
        hwe_log10p (-log10 p, exact even below 1e-308; float64), fail_call_rate, fail_maf, fail_hwe, pass (bool).
        ``.to_pandas()`` gives the frame pandas used to build (str, int64, float64 and bool columns).
    """
    start, stop = rows if rows is not None else (0, counts.variant.shape[0])
    vc, vclass = counts.variant[start:stop], vclass[start:stop]
    if rows is not None:
        variants = variants.slice(start, stop - start) if isinstance(variants, pa.Table) else variants.iloc[start:stop]
    n_variants, n_samples = vc.shape[0], counts.sample.shape[0]
    cols: dict[str, Any] = {name: _variant_column(variants, name) for name in VARIANT_FIELDS}
    # from the four names' bytes: building 200,000 strings one by one costs 80 ms
    cols["class"] = take_strings(_CLASS_NAMES, vclass)
    for k, name in enumerate(K.VARIANT_COLS):
        cols[name] = vc[:, k]
    called = n_samples - vc[:, K.V_MISSING]
    dip = vc[:, K.V_HOM_REF] + vc[:, K.V_HET] + vc[:, K.V_HOM_ALT]
    with np.errstate(divide="ignore", invalid="ignore"):
        call_rate = called / n_samples if n_samples else np.full(n_variants, np.nan)
        af = np.where(vc[:, K.V_AN] > 0, vc[:, K.V_AC] / vc[:, K.V_AN], np.nan)
        maf = np.minimum(af, 1.0 - af)
        cols.update(call_rate=call_rate, af=af, maf=maf, het_rate=np.where(dip > 0, vc[:, K.V_HET] / dip, np.nan))
    from hpcgen.aot import kernel

    # ln p of the exact test (nogil kernel); its wrapper makes the strided count columns contiguous
    lnp = kernel("hwe_lnp_array")(vc[:, K.V_HET], vc[:, K.V_HOM_REF], vc[:, K.V_HOM_ALT], cfg.hwe_midp)
    cols["hwe_p"] = np.exp(lnp)
    cols["hwe_log10p"] = -lnp / np.log(10.0)
    fail_call_rate = ~(call_rate >= cfg.min_call_rate)
    fail_maf = ~(maf >= cfg.min_maf)
    # a variant without diploid calls has no HWE test: it is not failed by it
    fail_hwe = np.nan_to_num(lnp, nan=0.0) < np.log(cfg.hwe_p) if cfg.hwe_p > 0 else np.zeros(n_variants, bool)
    cols.update(fail_call_rate=fail_call_rate, fail_maf=fail_maf, fail_hwe=fail_hwe)
    cols["pass"] = ~(fail_call_rate | fail_maf | fail_hwe)
    return table(cols)


def sample_table(samples: np.ndarray, counts: QcCounts, n_variants: int, cfg: QcConfig) -> pa.Table:
    """Per-sample QC table.

    Parameters
    ----------
    samples : ndarray of str, shape (n_samples,)
    counts : QcCounts
    n_variants : int
    cfg : QcConfig

    Returns
    -------
    pa.Table
        sample, call_rate, n_called, counts (SAMPLE_COLS without the internal autosome ones),
        het_rate (het / diploid calls), het_obs_ct, o_hom, e_hom, inbreeding_f, ti_tv, n_singletons,
        fail_call_rate.
    """
    sc = counts.sample
    n_samples = sc.shape[0]
    cols: dict[str, Any] = {"sample": to_arrow(np.asarray(samples, dtype=str))}
    n_called = n_variants - sc[:, K.S_MISSING]
    het = counts.het
    with np.errstate(divide="ignore", invalid="ignore"):
        call_rate = n_called / n_variants if n_variants else np.full(n_samples, np.nan)
        cols.update(call_rate=call_rate, n_called=n_called)
        for k, name in enumerate(K.SAMPLE_COLS):
            if k not in (K.S_AUTO_CALLED, K.S_AUTO_HOM):
                cols[name] = sc[:, k]
        dip = sc[:, K.S_HOM_REF] + sc[:, K.S_HET] + sc[:, K.S_HOM_ALT]
        cols["het_rate"] = np.where(dip > 0, sc[:, K.S_HET] / dip, np.nan)
        cols["het_obs_ct"] = het[:, HET_OBS].round().astype(np.int64)
        cols["o_hom"] = het[:, HET_O].round().astype(np.int64)
        cols["e_hom"] = het[:, HET_E]
        cols["inbreeding_f"] = (het[:, HET_O] - het[:, HET_E]) / (het[:, HET_OBS] - het[:, HET_E])
        cols["ti_tv"] = np.where(sc[:, K.S_TV] > 0, sc[:, K.S_TS] / sc[:, K.S_TV], np.nan)
    cols["n_singletons"] = counts.singletons
    cols["fail_call_rate"] = ~(call_rate >= cfg.min_call_rate)
    return table(cols)
