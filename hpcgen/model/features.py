"""Feature matrices for the dose models: clinical table + pgx calls + QC ancestry PCs, joined on pseudonyms.

Sample IDs: the clinical table holds the hospital's IDs; the store, pgx and qc outputs hold pseudonyms.
They are joined through the real -> pseudonym mapping (0600, written at ingest) or, lacking it, by
pseudonymizing with the key (``$HPCGEN_PSEUDONYM_KEY_FILE``). Tables that already carry pseudonyms join
as they are. Only pseudonyms leave this module.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hpcgen.errors import InputError
from hpcgen.model.iwpc import design_terms

PSEUDONYM_RE = re.compile(r"^P[0-9a-f]{16}$")
# the IWPC design terms used as features (the intercept is the model's bias)
BASE_FEATURES = (
    "age_decades", "height_cm", "weight_kg", "vkorc1_AG", "vkorc1_AA", "vkorc1_unknown",
    "cyp2c9_*1/*2", "cyp2c9_*1/*3", "cyp2c9_*2/*2", "cyp2c9_*2/*3", "cyp2c9_*3/*3", "cyp2c9_unknown",
    "race_asian", "race_black", "race_missing_or_mixed", "enzyme_inducer", "amiodarone",
)


def _read_tsv(path: Path) -> pd.DataFrame:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#") or ln.startswith("#IID") or ln.startswith("#FID")]
    if not lines:
        raise InputError("empty table", path)
    from io import StringIO

    df = pd.read_csv(StringIO("\n".join(lines)), sep="\t", dtype=str, keep_default_na=False)
    df.columns = [c.lstrip("#") for c in df.columns]
    return df


def to_pseudonyms(ids: list[str], id_mapping: str | os.PathLike | None = None, known: set[str] | None = None) -> list[str]:
    """Pseudonyms for the clinical table's IDs (IDs already pseudonymous are kept).

    Uses ``id_mapping`` (TSV sample_id, pseudonym) when given, else the key from the environment.
    """
    if all(PSEUDONYM_RE.match(i) for i in ids) or (known is not None and set(ids) <= known):
        return list(ids)
    if id_mapping is not None and Path(id_mapping).is_file():
        from hpcgen.pseudonym import read_mapping

        real_to_p = {real: p for p, real in read_mapping(id_mapping).items()}
        missing = [i for i in ids if i not in real_to_p]
        if missing:
            raise InputError(f"{len(missing)} clinical sample ID(s) absent from the ID mapping (first: {missing[0]!r})", id_mapping)
        return [real_to_p[i] for i in ids]
    from hpcgen.pseudonym import load_key, pseudonymize

    return pseudonymize(ids, load_key())


def vkorc1_from_diplotype(diplotype: str) -> str | None:
    """-1639 G>A genotype ("G/G", "A/G", "A/A") from a pgx VKORC1 call, None if not interpretable.

    Accepts PharmCAT's allele names ("rs9923231 reference (C)" / "rs9923231 variant (T)"), + strand
    genotypes ("C/T") and the gene's naming ("G/A").
    """
    d = (diplotype or "").strip()
    if not d or d.lower() in {"na", "unknown", "no call", "not_called"}:
        return None
    alleles = d.split("/")
    if len(alleles) != 2:
        return None
    n_alt = 0
    for a in alleles:
        s = a.strip().lower()
        if "variant" in s or s.endswith("(t)") or s in {"t", "a", "-1639a", "*2"}:
            n_alt += 1
        elif "reference" in s or s.endswith("(c)") or s in {"c", "g", "-1639g", "*1"}:
            pass
        else:
            return None
    return ("G/G", "A/G", "A/A")[n_alt]


def _cyp2c9(diplotype) -> str | None:
    from hpcgen.model.clinical import normalize_cyp2c9

    if not isinstance(diplotype, str):
        return None
    try:
        return normalize_cyp2c9(diplotype)
    except ValueError:
        return None


def load_pgx_genes(pgx_dir: str | os.PathLike) -> pd.DataFrame:
    """Per-sample warfarin genes from ``PGX_DIR/genes.tsv``: sample, cyp2c9, vkorc1, cyp4f2_star3 (0/1/2 or NaN)."""
    path = Path(pgx_dir) / "genes.tsv"
    if not path.is_file():
        raise InputError("pgx genes.tsv not found (run hpcgen pgx call first)", path)
    g = _read_tsv(path)
    for col in ("sample", "gene", "diplotype", "call_status"):
        if col not in g.columns:
            raise InputError(f"pgx genes.tsv lacks column {col!r}", path)
    called = g[g["call_status"].isin(["called", "outside_call"])]
    out = pd.DataFrame({"sample": sorted(set(g["sample"]))}).set_index("sample")
    cyp = called[called["gene"] == "CYP2C9"].set_index("sample")["diplotype"]
    out["cyp2c9"] = [_cyp2c9(v) for v in cyp.reindex(out.index)]
    vk = called[called["gene"] == "VKORC1"].set_index("sample")["diplotype"]
    out["vkorc1"] = [vkorc1_from_diplotype(v) if isinstance(v, str) else None for v in vk.reindex(out.index)]
    f2 = called[called["gene"] == "CYP4F2"].set_index("sample")["diplotype"]
    # rs2108622 (V433M) is on *3 and on *4 (*2 + *3 core variants)
    out["cyp4f2_star3"] = [float(sum(a.strip() in ("*3", "*4") for a in v.split("/"))) if isinstance(v, str) else np.nan
                           for v in f2.reindex(out.index)]
    return out.reset_index()


def load_pcs(path: str | os.PathLike, n_pcs: int) -> pd.DataFrame:
    """Ancestry PCs: a QC output folder (pca.tsv / pcs.tsv / *.eigenvec) or a table with sample + PC1..PCk."""
    p = Path(path)
    if p.is_dir():
        cands = [p / n for n in ("pca.parquet", "pca.tsv", "pcs.tsv")] + sorted(p.glob("*.eigenvec"))
        cands = [c for c in cands if c.is_file()]
        if not cands:
            raise InputError("no PCA table in QC folder (pca.parquet, pca.tsv, pcs.tsv or *.eigenvec)", p)
        p = cands[0]
    df = pd.read_parquet(p).astype({"sample": str}) if p.suffix == ".parquet" else _read_tsv(p)
    sid = next((c for c in ("sample", "IID", "sample_id") if c in df.columns), None)
    pcs = [c for c in df.columns if re.fullmatch(r"PC\d+", c)]
    if sid is None or not pcs:
        raise InputError("PCA table needs a sample (or IID) column and PC1.. columns", p)
    pcs = sorted(pcs, key=lambda c: int(c[2:]))[:n_pcs]
    out = df[[sid] + pcs].rename(columns={sid: "sample"})
    out[pcs] = out[pcs].astype(float)
    return out


@dataclass
class FeatureSet:
    """Inputs for a dose model.

    Attributes
    ----------
    samples : list of str, pseudonyms (or the table's IDs when they were not personal), shape (n,)
    x : float64 (n, n_features), unstandardized
    y : float64 (n,), weekly dose mg/week (NaN when unknown)
    names : feature names, length n_features
    race : object (n,), "White" / "Asian" / "Black" / "Unknown" (for subgroup metrics)
    frame : the clinical frame after the pgx calls were merged in (rows aligned with x)
    """

    samples: list[str]
    x: np.ndarray
    y: np.ndarray
    names: list[str]
    race: np.ndarray
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def build_features(clinical: pd.DataFrame, pgx_dir=None, pcs=None, id_mapping=None, n_pcs: int = 4,
                   feature_names: list[str] | None = None) -> FeatureSet:
    """Join the normalized clinical frame with pgx calls and PCs; return the feature matrix.

    pgx calls replace the table's CYP2C9 / VKORC1 genotypes where they are called. With
    ``feature_names`` (from a trained model) the same columns are produced, in that order.
    """
    frame = clinical.copy()
    notes: list[str] = []
    known: set[str] = set()
    pgx = load_pgx_genes(pgx_dir) if pgx_dir else None
    pc = load_pcs(pcs, n_pcs) if pcs else None
    if pgx is not None:
        known |= set(pgx["sample"])
    if pc is not None:
        known |= set(pc["sample"])
    if pgx is not None or pc is not None or id_mapping is not None:
        frame["sample"] = to_pseudonyms(list(frame["sample"]), id_mapping, known or None)
    extra = pd.DataFrame(index=frame.index)
    if pgx is not None:
        m = frame[["sample"]].merge(pgx, on="sample", how="left")
        m.index = frame.index
        n_miss = int(m["cyp2c9"].isna().sum())
        if n_miss == len(frame):
            raise InputError("no clinical sample has a pgx call: are the IDs pseudonymized with the same key?", pgx_dir)
        frame["cyp2c9"] = m["cyp2c9"].where(m["cyp2c9"].notna(), frame["cyp2c9"])
        frame["vkorc1"] = m["vkorc1"].where(m["vkorc1"].notna(), frame["vkorc1"])
        extra["cyp4f2_star3"] = m["cyp4f2_star3"].fillna(0.0)
        if n_miss:
            notes.append(f"{n_miss} patient(s) without a pgx CYP2C9 call: the table's genotypes (or 'unknown') used")
    if pc is not None:
        m = frame[["sample"]].merge(pc, on="sample", how="left")
        m.index = frame.index
        for c in pc.columns[1:]:
            extra[c] = m[c].fillna(0.0)
    terms = design_terms(frame)[list(BASE_FEATURES)]
    # allele counts let the model score CYP2C9 alleles the IWPC equation lumps into "unknown" (*5, *8, *11 ...)
    alleles = frame["cyp2c9"].map(lambda g: g.split("/") if isinstance(g, str) else [])
    terms["cyp2c9_n_star2"] = alleles.map(lambda a: a.count("*2")).astype(float)
    terms["cyp2c9_n_star3"] = alleles.map(lambda a: a.count("*3")).astype(float)
    terms["cyp2c9_n_other"] = alleles.map(lambda a: sum(x not in ("*1", "*2", "*3") for x in a)).astype(float)
    full = pd.concat([terms, extra], axis=1)
    if feature_names is not None:
        for c in feature_names:
            if c not in full.columns:
                full[c] = 0.0  # a feature the model was trained with but this input lacks (e.g. no PCs)
        full = full[feature_names]
    return FeatureSet(samples=list(frame["sample"]), x=full.to_numpy(dtype=float),
                      y=frame["dose_mg_week"].to_numpy(dtype=float), names=list(full.columns),
                      race=frame["race"].to_numpy(dtype=object), frame=frame, notes=notes)
