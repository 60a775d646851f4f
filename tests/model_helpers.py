"""Helpers for the model tests: small IWPC-format tables written by hand or drawn at random."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

VKORC1_COL = "VKORC1 genotype:   -1639 G>A (3673); chr16:31015190; rs9923231; C/T"
RS2359612_COL = "VKORC1 genotype: 2255C>T (7566); chr16:31011297; rs2359612; A/G"
RS9934438_COL = "VKORC1 genotype: 1173 C>T(6484); chr16:31012379; rs9934438; A/G"
RS8050894_COL = "VKORC1 genotype: 1542G>C (6853); chr16:31012010; rs8050894; C/G"
HEADER = ["PharmGKB Subject ID", "Gender", "Race (OMB)", "Age", "Height (cm)", "Weight (kg)",
          "Amiodarone (Cordarone)", "Carbamazepine (Tegretol)", "Phenytoin (Dilantin)", "Rifampin or Rifampicin",
          "Therapeutic Dose of Warfarin", "Cyp2C9 genotypes", VKORC1_COL, RS2359612_COL, RS9934438_COL, RS8050894_COL]


def write_table(path: Path, rows: list[dict], delimiter: str = "\t", header: list[str] | None = None) -> Path:
    """Write rows (dicts keyed by IWPC column names; absent keys -> "NA") as an IWPC-format table."""
    header = header or HEADER
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "NA") for c in header])
    return path


def patient(pid: str, race="White", age="60 - 69", height="170", weight="75", cyp="*1/*1", vk="G/G", dose="35",
            amio="0", carb="0", phen="0", rif="0", rs2359612="NA", rs9934438="NA", rs8050894="NA") -> dict:
    return {"PharmGKB Subject ID": pid, "Gender": "male", "Race (OMB)": race, "Age": age, "Height (cm)": height,
            "Weight (kg)": weight, "Amiodarone (Cordarone)": amio, "Carbamazepine (Tegretol)": carb,
            "Phenytoin (Dilantin)": phen, "Rifampin or Rifampicin": rif, "Therapeutic Dose of Warfarin": dose,
            "Cyp2C9 genotypes": cyp, VKORC1_COL: vk, RS2359612_COL: rs2359612, RS9934438_COL: rs9934438,
            RS8050894_COL: rs8050894}


def random_cohort(path: Path, n: int, seed: int, noise: float = 0.55, start: int = 0) -> Path:
    """A synthetic IWPC-format cohort: doses drawn from the published pharmacogenetic equation plus noise
    on the sqrt scale (sd ``noise``; ~0.55 gives an IWPC-like MAE), with a CYP2C9 x VKORC1 interaction
    so a flexible model has something to find."""
    rng = np.random.default_rng(seed)
    races = rng.choice(["White", "Asian", "Black or African American", "Unknown"], n, p=[0.55, 0.3, 0.1, 0.05])
    rows = []
    for i in range(n):
        race = races[i]
        q = {"White": 0.4, "Asian": 0.9, "Black or African American": 0.1, "Unknown": 0.4}[race]
        n_a = rng.binomial(2, q)
        vk = ("G/G", "A/G", "A/A")[n_a]
        cyp = rng.choice(["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"], p=[0.65, 0.15, 0.12, 0.03, 0.03, 0.02])
        decade = int(rng.integers(2, 10))
        h = float(np.clip(rng.normal(170, 10), 140, 200))
        w = float(np.clip(rng.normal(78, 15), 40, 150))
        amio, ind = int(rng.random() < 0.08), int(rng.random() < 0.03)
        s = (5.6044 - 0.2614 * decade + 0.0087 * h + 0.0128 * w - 0.8677 * (n_a == 1) - 1.6974 * (n_a == 2)
             - {"*1/*1": 0, "*1/*2": 0.5211, "*1/*3": 0.9357, "*2/*2": 1.0616, "*2/*3": 1.9206, "*3/*3": 2.3312}[cyp]
             - {"White": 0, "Asian": 0.1092, "Black or African American": 0.2760, "Unknown": 0.1032}[race]
             + 1.1816 * ind - 0.5503 * amio
             - 0.4 * (n_a == 2) * (cyp != "*1/*1"))  # interaction beyond the additive equation
        dose = max(s + rng.normal(0, noise), 1.0) ** 2
        age = "90+" if decade == 9 else f"{decade * 10} - {decade * 10 + 9}"
        rows.append(patient(f"PA{start + i:05d}", race=race, age=age, height=f"{h:.1f}", weight=f"{w:.1f}", cyp=cyp,
                            vk=vk, dose=f"{dose:.2f}", amio=str(amio), carb=str(ind)))
    return write_table(path, rows)


def genes_tsv_from_truth(truth: Path, out_dir: Path, key: bytes, genes=("CYP2C9", "VKORC1", "CYP4F2")) -> Path:
    """A pgx ``genes.tsv`` (docs/CONTRACTS.md columns, pseudonymized samples) from the demo's star-allele truth.

    Stands in for ``hpcgen pgx call`` output so the model's join is tested on the contract's format.
    """
    import pandas as pd

    from hpcgen.pseudonym import pseudonymize

    t = pd.read_csv(truth, sep="\t", dtype=str)
    t = t[t["gene"].isin(genes)]
    out_dir.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame({"sample": pseudonymize(list(t["sample"]), key), "gene": t["gene"].to_numpy(),
                       "diplotype": (t["allele1"] + "/" + t["allele2"]).to_numpy(), "phenotype": "",
                       "activity_score": "", "call_status": "called", "missing_positions": "", "warnings": "",
                       "source": "hpcgen-matcher"})
    path = out_dir / "genes.tsv"
    path.write_text("# data_version=test\n" + df.to_csv(sep="\t", index=False))
    return path
