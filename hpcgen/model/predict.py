"""Scoring patients: the IWPC baselines and registry models, written as the "model" contract's TSV.

``docs/CONTRACTS.md`` (model): ``sample, drug, model, model_version, predicted_dose_mg_week,
iwpc_dose_mg_week, iwpc_clinical_dose_mg_week, unit``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from hpcgen.fsutil import atomic_write_text
from hpcgen.model import iwpc
from hpcgen.model.clinical import ClinicalTable, dose_group, load_clinical
from hpcgen.model.evaluate import metrics_by_group

PREDICTION_COLUMNS = ("sample", "drug", "model", "model_version", "predicted_dose_mg_week",
                      "iwpc_dose_mg_week", "iwpc_clinical_dose_mg_week", "unit")


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.2f}"


def write_tsv(frame: pd.DataFrame, out: str | os.PathLike, header_comment: str | None = None, mode: int = 0o640) -> Path:
    """Write ``frame`` as TSV atomically (floats with 2 decimals, NaN empty)."""
    df = frame.copy()
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = [_fmt(v) for v in df[c]]
    text = df.to_csv(sep="\t", index=False, lineterminator="\n")
    if header_comment:
        text = f"# {header_comment}\n" + text
    return atomic_write_text(out, text, mode=mode)


def iwpc_table(table: ClinicalTable) -> tuple[pd.DataFrame, dict]:
    """Both IWPC algorithms for every row, and their metrics where the actual dose is known.

    Returns
    -------
    (per-patient frame, {"pharmacogenetic": metrics, "clinical": metrics})
    """
    f = table.frame
    pg = iwpc.pharmacogenetic_dose(f)
    cl = iwpc.clinical_dose(f)
    out = pd.DataFrame({
        "sample": f["sample"], "row": f["row"], "race": f["race"], "cyp2c9": f["cyp2c9"].fillna("unknown"),
        "vkorc1_1639": f["vkorc1"].fillna("unknown"), "vkorc1_imputed": f["vkorc1_imputed"],
        "iwpc_dose_mg_week": pg, "iwpc_clinical_dose_mg_week": cl,
        "actual_dose_mg_week": f["dose_mg_week"], "dose_group": dose_group(f["dose_mg_week"].to_numpy()),
    })
    actual = f["dose_mg_week"].to_numpy(dtype=float)
    metrics = {"pharmacogenetic": metrics_by_group(actual, pg, f["race"].to_numpy()),
               "clinical": metrics_by_group(actual, cl, f["race"].to_numpy())}
    return out, metrics


def run_iwpc(input_path: str | os.PathLike, out: str | os.PathLike) -> tuple[ClinicalTable, pd.DataFrame, dict]:
    """Read a clinical table, apply both IWPC algorithms, write the per-patient TSV atomically."""
    table = load_clinical(input_path)
    frame, metrics = iwpc_table(table)
    write_tsv(frame, out, mode=0o600)  # real patient IDs may be in it
    return table, frame, metrics
