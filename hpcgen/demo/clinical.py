"""A clinical table in the PharmGKB IWPC column format, with a warfarin dose generated from genes and clinic.

Column names and value vocabularies are those of the public IWPC release (PharmGKB, ``iwpc_data_7_3_09``):
decade strings for ``Age``, ``male``/``female``, 0/1 for medications, VKORC1 genotypes in gene orientation
(``A/G`` for -1639 G>A). ``PharmGKB Subject ID`` and ``sample`` both hold the VCF sample ID (the pseudonymization
key for the join).

The therapeutic dose follows the IWPC pharmacogenetic equation (Klein et al., NEJM 2009; appendix), evaluated on
the *true* (unrounded, continuous-age) covariates, plus two effects the equation does not have (CYP4F2 V433M,
rs2108622, +0.15 sqrt(mg/week) per allele, ~ +5 % dose, Caldwell 2008 / Danese 2012; the rare decreased-function
CYP2C9 alleles *5 *6 *8 *11 *13, scored like *2 or *3) and Student-t noise (6 degrees of freedom, SD
``DOSE_NOISE_SD``) on the square-root scale. Calibrated on 18,000 simulated patients: the IWPC equation applied to
the *table* gives MAE 8.6 mg/week with 47 % of patients within 20 % of their dose (paper: 8.5-8.8 and ~46 %);
mean dose 32.9 mg/week (IWPC: ~31).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: residual SD of sqrt(weekly dose) not explained by the generating model (calibrated, see module doc)
DOSE_NOISE_SD = 1.0
NOISE_DF = 6.0
CYP4F2_PER_ALLELE = 0.15

VKORC1_1639 = "VKORC1 genotype:   -1639 G>A (3673); chr16:31015190; rs9923231; C/T"
VKORC1_COLUMNS = {
    # key -> (genotype column, consensus column, (allele on the -1639A haplogroup, the other allele))
    "-1639": (VKORC1_1639, "VKORC1 -1639 consensus", ("A", "G")),
    "497": ("VKORC1 genotype:   497T>G (5808); chr16:31013055; rs2884737; A/C", "VKORC1 497 consensus", ("T", "G")),
    "1173": ("VKORC1 genotype:   1173 C>T(6484); chr16:31012379; rs9934438; A/G", "VKORC1 1173 consensus", ("T", "C")),
    "1542": ("VKORC1 genotype:   1542G>C (6853); chr16:31012010; rs8050894; C/G", "VKORC1 1542 consensus", ("C", "G")),
    "3730": ("VKORC1 genotype:   3730 G>A (9041); chr16:31009822; rs7294;  A/G", "VKORC1 3730 consensus", ("G", "A")),
    "2255": ("VKORC1 genotype:   2255C>T (7566); chr16:31011297; rs2359612; A/G", "VKORC1 2255 consensus", ("T", "C")),
    "-4451": ("VKORC1 genotype:   -4451 C>A (861); Chr16:31018002; rs17880887; A/C", "VKORC1 -4451 consensus", ("C", "A")),
}
#: share of rows where each VKORC1 SNP was genotyped (IWPC sites typed different SNP sets)
VKORC1_TYPED = {"-1639": 0.95, "497": 0.35, "1173": 0.6, "1542": 0.5, "3730": 0.55, "2255": 0.5, "-4451": 0.15}
#: probability that a haplotype *without* -1639A carries the first-listed (A-haplogroup) allele anyway,
#: by source group: 1173 is in near-perfect LD everywhere; 2255 and 1542 much less so in Africans, which is why
#: the IWPC imputation rules do not use them for Black patients
_DISCORDANT = {
    "497": {"EUR": 0.65, "AFR": 0.6, "EAS": 0.7},  # 497T is common on both haplogroups
    "1173": {"EUR": 0.005, "AFR": 0.01, "EAS": 0.005},
    "1542": {"EUR": 0.02, "AFR": 0.25, "EAS": 0.02},
    "3730": {"EUR": 0.4, "AFR": 0.55, "EAS": 0.3},
    "2255": {"EUR": 0.02, "AFR": 0.3, "EAS": 0.02},
    "-4451": {"EUR": 0.93, "AFR": 0.88, "EAS": 0.95},
}

INDICATIONS = {"1": 0.20, "2": 0.10, "3": 0.42, "4": 0.09, "5": 0.04, "6": 0.06, "7": 0.03, "8": 0.06}
# CYP2C9 allele -> the IWPC genotype class it acts like (decreased function -> *2, no function -> *3)
CYP2C9_CLASS = {"*1": "*1", "*2": "*2", "*3": "*3", "*5": "*3", "*6": "*3", "*8": "*2", "*11": "*2", "*13": "*3"}
IWPC_CYP2C9 = {("*1", "*1"): 0.0, ("*1", "*2"): -0.5211, ("*1", "*3"): -0.9357, ("*2", "*2"): -1.0616,
               ("*2", "*3"): -1.9206, ("*3", "*3"): -2.3312}

# (mean, sd) per ancestry: age (years), height (cm) by sex, BMI (kg/m2)
AGE = {"EUR": (67, 13), "AFR": (57, 15), "EAS": (61, 13), "ADM": (58, 15)}
HEIGHT = {"EUR": {"male": (176, 7), "female": (163, 6.5)}, "AFR": {"male": (177, 7), "female": (163, 7)},
          "EAS": {"male": (169, 6), "female": (157, 5.5)}, "ADM": {"male": (175, 7), "female": (163, 7)}}
BMI = {"EUR": (27.5, 5.0), "AFR": (29.5, 6.5), "EAS": (23.5, 3.5), "ADM": (28.5, 6.0)}
RACE_REPORTED = {
    "EUR": (["White", "Caucasian"], [0.7, 0.3]),
    "AFR": (["Black", "Black or African American", "African American"], [0.5, 0.3, 0.2]),
    "EAS": (["Asian", "Chinese", "Japanese", "Korean", "Han Chinese"], [0.5, 0.2, 0.1, 0.1, 0.1]),
    "ADM": (["Other Mixed Race", "Black", "Unknown"], [0.45, 0.3, 0.25]),
}
RACE_OMB = {"White": "White", "Caucasian": "White", "Black": "Black or African American",
            "Black or African American": "Black or African American", "African American": "Black or African American",
            "Asian": "Asian", "Chinese": "Asian", "Japanese": "Asian", "Korean": "Asian", "Han Chinese": "Asian",
            "Other Mixed Race": "Unknown", "Unknown": "Unknown"}


def _decade(age: np.ndarray) -> np.ndarray:
    d = np.clip(np.floor(age / 10).astype(int), 1, 9)
    return np.array([f"{10 * k} - {10 * k + 9}" if k < 9 else "90+" for k in d], dtype=object)


def _pair(a: np.ndarray, b: np.ndarray, key=None) -> np.ndarray:
    """Unordered genotype strings: 'A/G' with the alleles sorted (by ``key`` when given)."""
    out = []
    for x, y in zip(a, b):
        x, y = sorted((x, y), key=key)
        out.append(f"{x}/{y}")
    return np.array(out, dtype=object)


def _star_key(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 0, name)


def _blank(values: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    out = values.astype(object).copy()
    out[rng.random(out.size) < rate] = ""
    return out


def make_clinical(samples: pd.DataFrame, cyp2c9: np.ndarray, vkorc1_a: np.ndarray, cyp4f2_433m: np.ndarray,
                  sources: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the IWPC-format table.

    Parameters
    ----------
    samples : DataFrame
        ``sample``, ``sex`` (male/female), ``ancestry`` (EUR/AFR/EAS/ADM), one row per cohort column.
    cyp2c9 : ndarray of str, shape (n_samples, 2)
        CYP2C9 star allele of each haplotype (as written in the VCF).
    vkorc1_a : ndarray of bool, shape (n_samples, 2)
        Haplotype carries VKORC1 -1639A (rs9923231 T on GRCh38).
    cyp4f2_433m : ndarray of int, shape (n_samples,)
        Copies of CYP4F2 rs2108622 T (V433M).
    sources : ndarray of str, shape (n_samples, 2)
        Source group (EUR/AFR/EAS) of each haplotype.

    Returns
    -------
    table : DataFrame
        The IWPC-format table (strings; blanks are missing values).
    truth : DataFrame
        ``sample``, ``sqrt_dose_model`` (the noiseless generating value), ``noise`` (sqrt scale), ``dose_mg_week``.
    """
    n = len(samples)
    anc = samples["ancestry"].to_numpy()
    sex = samples["sex"].to_numpy()
    age = np.empty(n)
    height = np.empty(n)
    bmi = np.empty(n)
    for g in AGE:
        m = anc == g
        age[m] = rng.normal(*AGE[g], size=m.sum())
        bmi[m] = rng.lognormal(np.log(BMI[g][0]), BMI[g][1] / BMI[g][0], size=m.sum())
        for s in ("male", "female"):
            ms = m & (sex == s)
            height[ms] = rng.normal(*HEIGHT[g][s], size=ms.sum())
    age = np.clip(age, 18, 99)
    height = np.clip(height, 135, 210)
    weight = np.clip(bmi * (height / 100) ** 2, 35, 220)

    indication = rng.choice(list(INDICATIONS), size=n, p=list(INDICATIONS.values()))
    valve = indication == "4"
    combo = (indication == "1") & (rng.random(n) < 0.3)  # DVT with PE
    indication_text = np.where(combo, "1; 2", indication).astype(object)
    afib = indication == "3"
    amiodarone = (rng.random(n) < np.where(afib, 0.09, 0.02)).astype(int)
    carbamazepine = (rng.random(n) < 0.007).astype(int)
    phenytoin = (rng.random(n) < 0.007).astype(int)
    rifampin = (rng.random(n) < 0.004).astype(int)
    inducer = (carbamazepine + phenytoin + rifampin) > 0

    reported = np.empty(n, dtype=object)
    for g, (labels, p) in RACE_REPORTED.items():
        m = anc == g
        reported[m] = rng.choice(labels, size=m.sum(), p=p)
    reported[rng.random(n) < 0.015] = "Unknown"
    omb = np.array([RACE_OMB[r] for r in reported], dtype=object)

    # the generating model: IWPC's equation on true covariates + effects it lacks + noise
    classes = np.vectorize(lambda a: CYP2C9_CLASS.get(a, "*1"))(cyp2c9)
    c9 = np.array([IWPC_CYP2C9[tuple(sorted(pair))] for pair in classes])
    n_a = vkorc1_a.sum(axis=1)
    race_term = np.select([anc == "EAS", anc == "AFR", anc == "ADM"], [-0.1092, -0.2760, -0.1032], 0.0)
    # IWPC codes age by decade (60-69 -> 6): the continuous equivalent is age/10 - 0.45, unbiased within a decade
    model = (5.6044 - 0.2614 * (age / 10 - 0.45) + 0.0087 * height + 0.0128 * weight
             - 0.8677 * (n_a == 1) - 1.6974 * (n_a == 2) + c9 + race_term
             + 1.1816 * inducer - 0.5503 * amiodarone + CYP4F2_PER_ALLELE * (cyp4f2_433m - 0.5))
    # Student t noise (unit variance x DOSE_NOISE_SD): real dose residuals have heavier tails than a Gaussian
    noise = DOSE_NOISE_SD * rng.standard_t(NOISE_DF, size=n) * np.sqrt((NOISE_DF - 2) / NOISE_DF)
    sqrt_dose = np.maximum(model + noise, np.sqrt(4.0))
    dose = np.round(sqrt_dose**2 * 2) / 2  # prescribed weekly doses are multiples of 0.5 mg
    target = np.where(valve, 3.0, 2.5)
    inr = np.clip(np.round(target + rng.normal(0, 0.3, size=n), 2), 1.4, 4.5)
    reached = (rng.random(n) > 0.02).astype(int)

    c9_text = _pair(cyp2c9[:, 0], cyp2c9[:, 1], key=_star_key)
    vk = {}
    for key, (col, cons, (on_a, other)) in VKORC1_COLUMNS.items():
        if key == "-1639":
            alleles = np.where(vkorc1_a, "A", "G")
        else:
            p = np.vectorize(lambda s: _DISCORDANT[key][s])(sources)
            alleles = np.where(vkorc1_a | (rng.random(vkorc1_a.shape) < p), on_a, other)
        text = _blank(_pair(alleles[:, 0], alleles[:, 1]), 1 - VKORC1_TYPED[key], rng)
        vk[col] = text
        vk[cons] = text

    table = pd.DataFrame({
        "PharmGKB Subject ID": samples["sample"].to_numpy(),
        "PharmGKB Sample ID": samples["sample"].to_numpy(),
        "Project Site": rng.integers(1, 10, size=n),
        "Gender": sex,
        "Race (Reported)": reported,
        "Race (OMB)": omb,
        "Ethnicity (Reported)": np.where(omb == "Unknown", "Unknown", "not Hispanic or Latino"),
        "Ethnicity (OMB)": np.where(omb == "Unknown", "Unknown", "not Hispanic or Latino"),
        "Age": _blank(_decade(age), 0.005, rng),
        "Height (cm)": _blank(np.round(height, 1), 0.04, rng),
        "Weight (kg)": _blank(np.round(weight, 1), 0.03, rng),
        "Indication for Warfarin Treatment": indication_text,
        "Diabetes": _blank((rng.random(n) < 0.2).astype(int), 0.05, rng),
        "Congestive Heart Failure and/or Cardiomyopathy": _blank((rng.random(n) < np.where(indication == "5", 1.0, 0.12)).astype(int), 0.05, rng),
        "Valve Replacement": valve.astype(int),
        "Aspirin": _blank((rng.random(n) < 0.3).astype(int), 0.05, rng),
        "Simvastatin (Zocor)": _blank((rng.random(n) < 0.18).astype(int), 0.05, rng),
        "Atorvastatin (Lipitor)": _blank((rng.random(n) < 0.14).astype(int), 0.05, rng),
        "Amiodarone (Cordarone)": _blank(amiodarone, 0.02, rng),
        "Carbamazepine (Tegretol)": _blank(carbamazepine, 0.02, rng),
        "Phenytoin (Dilantin)": _blank(phenytoin, 0.02, rng),
        "Rifampin or Rifampicin": _blank(rifampin, 0.02, rng),
        "Target INR": target,
        "Estimated Target INR Range Based on Indication": np.where(valve, "2.5-3.5", "2-3"),
        "Subject Reached Stable Dose of Warfarin": reached,
        "Therapeutic Dose of Warfarin": np.where(reached == 1, dose, np.nan),
        "INR on Reported Therapeutic Dose of Warfarin": np.where(reached == 1, inr, np.nan),
        "Current Smoker": _blank((rng.random(n) < 0.13).astype(int), 0.1, rng),
        "Cyp2C9 genotypes": _blank(c9_text, 0.02, rng),
    })
    for col, values in vk.items():
        if "consensus" not in col:
            table[col] = values
    table["CYP2C9 consensus"] = table["Cyp2C9 genotypes"]
    for col, values in vk.items():
        if "consensus" in col:
            table[col] = values
    table["sample"] = samples["sample"].to_numpy()
    # a medication taken but blanked in the table is still in the patient: keep truth and table distinct
    truth = pd.DataFrame({"sample": samples["sample"].to_numpy(), "sqrt_dose_model": model, "noise": noise,
                          "dose_mg_week": dose, "age_years": age})
    return table, truth
