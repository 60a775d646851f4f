"""The IWPC warfarin dosing algorithms, exactly as published.

International Warfarin Pharmacogenetics Consortium (Klein et al.), "Estimation of the warfarin dose
with clinical and pharmacogenetic data", N Engl J Med 2009;360:753-64, supplementary appendix:
both algorithms predict the square root of the weekly dose (mg/week); the prediction is squared.
The VKORC1 -1639 imputation rules are those of the appendix (section S4), applied in order, first
match wins, only when rs9923231 itself is missing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# sqrt(weekly dose) = sum(coefficient x term); terms are 0/1 indicators except age (decades), height (cm), weight (kg)
PHARMACOGENETIC = {
    "intercept": 5.6044,
    "age_decades": -0.2614,
    "height_cm": 0.0087,
    "weight_kg": 0.0128,
    "vkorc1_AG": -0.8677,
    "vkorc1_AA": -1.6974,
    "vkorc1_unknown": -0.4854,
    "cyp2c9_*1/*2": -0.5211,
    "cyp2c9_*1/*3": -0.9357,
    "cyp2c9_*2/*2": -1.0616,
    "cyp2c9_*2/*3": -1.9206,
    "cyp2c9_*3/*3": -2.3312,
    "cyp2c9_unknown": -0.2188,
    "race_asian": -0.1092,
    "race_black": -0.2760,
    "race_missing_or_mixed": -0.1032,
    "enzyme_inducer": 1.1816,
    "amiodarone": -0.5503,
}
CLINICAL = {
    "intercept": 4.0376,
    "age_decades": -0.2546,
    "height_cm": 0.0118,
    "weight_kg": 0.0134,
    "race_asian": -0.6752,
    "race_black": 0.4060,
    "race_missing_or_mixed": 0.0443,
    "enzyme_inducer": 1.2799,
    "amiodarone": -0.5695,
}
_BLACK_OR_MISSING = {"Black", "Unknown"}  # "Black or African American", "Missing or Mixed Race"


def impute_vkorc1(rs9923231: str | None, rs2359612: str | None, rs9934438: str | None,
                  rs8050894: str | None, race: str) -> str | None:
    """VKORC1 -1639 (rs9923231) genotype, imputed from linked SNPs when missing (IWPC appendix S4).

    Parameters
    ----------
    rs9923231, rs2359612, rs9934438, rs8050894
        Sorted genotypes ("A/G", "C/T", ...) or None when not typed.
    race
        "White", "Asian", "Black" or "Unknown" (missing or mixed).

    Returns
    -------
    "G/G", "A/G", "A/A", or None when no rule applies (the algorithm's "unknown" category).
    """
    if rs9923231 is not None:
        return rs9923231
    not_black_or_missing = race not in _BLACK_OR_MISSING
    if not_black_or_missing and rs2359612 is not None:
        return {"C/C": "G/G", "T/T": "A/A", "C/T": "A/G"}[rs2359612]
    if rs9934438 is not None:
        return {"C/C": "G/G", "T/T": "A/A", "C/T": "A/G"}[rs9934438]
    if not_black_or_missing and rs8050894 is not None:
        return {"G/G": "G/G", "C/C": "A/A", "C/G": "A/G"}[rs8050894]
    return None


def design_terms(frame: pd.DataFrame) -> pd.DataFrame:
    """The algorithms' terms per patient (one column per coefficient name, intercept = 1).

    ``frame`` has the normalized columns of :func:`hpcgen.model.clinical.load_clinical`.
    """
    t = pd.DataFrame(index=frame.index)
    t["intercept"] = 1.0
    t["age_decades"] = frame["age_decades"].astype(float)
    t["height_cm"] = frame["height_cm"].astype(float)
    t["weight_kg"] = frame["weight_kg"].astype(float)
    vk = frame["vkorc1"]
    t["vkorc1_AG"] = (vk == "A/G").astype(float)
    t["vkorc1_AA"] = (vk == "A/A").astype(float)
    t["vkorc1_unknown"] = vk.isna().astype(float)
    cyp = frame["cyp2c9"]
    for g in ("*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"):
        t[f"cyp2c9_{g}"] = (cyp == g).astype(float)
    known = cyp.isin(["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"])
    t["cyp2c9_unknown"] = (~known).astype(float)
    t["race_asian"] = (frame["race"] == "Asian").astype(float)
    t["race_black"] = (frame["race"] == "Black").astype(float)
    t["race_missing_or_mixed"] = (frame["race"] == "Unknown").astype(float)
    t["enzyme_inducer"] = frame["enzyme_inducer"].astype(float)
    t["amiodarone"] = frame["amiodarone"].astype(float)
    return t


def _apply(coefficients: dict[str, float], frame: pd.DataFrame) -> np.ndarray:
    terms = design_terms(frame)
    sqrt_dose = sum(c * terms[name].to_numpy() for name, c in coefficients.items())
    # age, height or weight missing -> NaN (the algorithm needs all three); never a negative square root
    return np.where(np.isnan(sqrt_dose), np.nan, np.square(np.maximum(sqrt_dose, 0.0)))


def pharmacogenetic_dose(frame: pd.DataFrame) -> np.ndarray:
    """IWPC pharmacogenetic algorithm: predicted weekly dose (mg/week), shape (n_patients,); NaN if age/height/weight missing."""
    return _apply(PHARMACOGENETIC, frame)


def clinical_dose(frame: pd.DataFrame) -> np.ndarray:
    """IWPC clinical algorithm: predicted weekly dose (mg/week), shape (n_patients,)."""
    return _apply(CLINICAL, frame)
