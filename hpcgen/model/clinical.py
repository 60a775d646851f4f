"""Read and validate clinical tables in the PharmGKB IWPC format (or our own simpler column names).

The IWPC release (Klein et al., NEJM 2009; PharmGKB "IWPC data") names its columns like
``Age`` ("60 - 69"), ``Height (cm)``, ``Weight (kg)``, ``Race (OMB)``, ``Cyp2C9 genotypes``,
``VKORC1 genotype: -1639 G>A (3673); chr16:31015190; rs9923231; C/T``, ``Amiodarone (Cordarone)``,
``Carbamazepine (Tegretol)``, ``Phenytoin (Dilantin)``, ``Rifampin or Rifampicin`` and the target
``Therapeutic Dose of Warfarin`` (mg/week). Our own format uses ``sample, age, height_cm, weight_kg,
race, cyp2c9, vkorc1, amiodarone, enzyme_inducer, dose_mg_week``. Both are read into one normalized
frame (:data:`NORMALIZED_COLUMNS`); every bad value is an :class:`InputError` naming the row and column.
"""
from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hpcgen.errors import InputError

# plausibility bounds: values outside are data-entry errors, not patients
AGE_YEARS = (0.0, 120.0)
HEIGHT_CM = (50.0, 250.0)
WEIGHT_KG = (2.0, 350.0)
DOSE_MG_WEEK = (0.0, 500.0)  # exclusive lower bound: a therapeutic dose is > 0

MISSING = {"", "na", "n/a", "nan", "none", "null", "unknown", "missing", "-", "."}

# canonical field -> accepted column names (first found wins; matched case-insensitively)
ALIASES: dict[str, tuple[str, ...]] = {
    "sample": ("sample", "sample_id", "PharmGKB Subject ID", "PharmGKB Sample ID", "patient_id"),
    "age": ("Age", "age", "age_years"),
    "height_cm": ("Height (cm)", "height_cm", "height"),
    "weight_kg": ("Weight (kg)", "weight_kg", "weight"),
    "race": ("Race (OMB)", "race", "Race (Reported)", "Race"),
    "cyp2c9": ("Cyp2C9 genotypes", "CYP2C9 consensus", "cyp2c9"),
    "amiodarone": ("Amiodarone (Cordarone)", "amiodarone"),
    "carbamazepine": ("Carbamazepine (Tegretol)", "carbamazepine"),
    "phenytoin": ("Phenytoin (Dilantin)", "phenytoin"),
    "rifampin": ("Rifampin or Rifampicin", "rifampin"),
    "enzyme_inducer": ("enzyme_inducer",),
    "dose_mg_week": ("Therapeutic Dose of Warfarin", "dose_mg_week", "warfarin_dose_mg_week"),
}
# VKORC1 SNP columns are found by rsID (the IWPC headers carry irregular spacing); "QC" columns are skipped
RSID_FIELDS = {"vkorc1": "rs9923231", "rs2359612": "rs2359612", "rs9934438": "rs9934438", "rs8050894": "rs8050894"}
RSID_FALLBACK = {"vkorc1": ("VKORC1 -1639 consensus", "vkorc1", "vkorc1_1639"), "rs2359612": ("VKORC1 2255 consensus",),
                 "rs9934438": ("VKORC1 1173 consensus",), "rs8050894": ("VKORC1 1542 consensus",)}

# genotypes each SNP may take (alleles sorted); rs9923231 also accepted on the + strand (C->G, T->A)
SNP_GENOTYPES = {
    "vkorc1": {"A/A", "A/G", "G/G"},
    "rs2359612": {"C/C", "C/T", "T/T"},
    "rs9934438": {"C/C", "C/T", "T/T"},
    "rs8050894": {"C/C", "C/G", "G/G"},
}
RACES = ("White", "Asian", "Black", "Unknown")
_RACE_MAP = {
    "white": "White", "caucasian": "White", "european": "White", "eur": "White",
    "asian": "Asian", "eas": "Asian", "sas": "Asian", "east asian": "Asian", "south asian": "Asian",
    "black or african american": "Black", "black": "Black", "african american": "Black", "african": "Black", "afr": "Black",
    "missing or mixed race": "Unknown", "mixed": "Unknown", "other": "Unknown", "amr": "Unknown",
    "intermediate": "Unknown", "american indian or alaska native": "Unknown",
    "native hawaiian or other pacific islander": "Unknown",
}
_CYP2C9_RE = re.compile(r"^\*(\d+)([A-Z]?)/\*(\d+)([A-Z]?)$")
_AGE_RANGE_RE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
_AGE_PLUS_RE = re.compile(r"^(\d+)\s*\+$")

NORMALIZED_COLUMNS = (
    "sample", "row", "age_years", "age_decades", "height_cm", "weight_kg", "race", "cyp2c9", "vkorc1",
    "vkorc1_imputed", "rs2359612", "rs9934438", "rs8050894", "amiodarone", "enzyme_inducer", "dose_mg_week",
)


@dataclass
class ClinicalTable:
    """A validated clinical table.

    Attributes
    ----------
    frame
        One row per patient, columns :data:`NORMALIZED_COLUMNS`; ``row`` is the 1-based data row of the
        source file (header excluded); missing numbers are NaN, missing genotypes None.
    path
        The file read.
    n_rows
        Data rows in the file.
    n_without_target
        Rows whose therapeutic dose is missing (kept in ``frame``; :meth:`with_target` drops them).
    notes
        Non-fatal remarks (e.g. rare CYP2C9 alleles treated as "unknown" by the IWPC algorithm).
    """

    frame: pd.DataFrame
    path: str
    n_rows: int
    n_without_target: int
    notes: list[str] = field(default_factory=list)

    def with_target(self) -> pd.DataFrame:
        """Rows with a known therapeutic dose (the others are skipped and counted in ``n_without_target``)."""
        return self.frame[self.frame["dose_mg_week"].notna()].reset_index(drop=True)


class _Errors:
    """Collects bad values per (column, problem) so one message can list every affected row."""

    def __init__(self, path: str):
        self.path = path
        self.items: dict[tuple[str, str], list[tuple[int, str]]] = {}

    def add(self, column: str, problem: str, row: int, value: str) -> None:
        self.items.setdefault((column, problem), []).append((row, value))

    def raise_first(self) -> None:
        if not self.items:
            return
        (column, problem), hits = next(iter(self.items.items()))
        rows = [r for r, _ in hits]
        values = sorted({v for _, v in hits})
        listed = ", ".join(str(r) for r in rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
        shown = ", ".join(repr(v) for v in values[:10]) + (" ..." if len(values) > 10 else "")
        more = sum(len(h) for h in self.items.values()) - len(hits)
        tail = f"; {more} other bad value(s) in other columns" if more else ""
        raise InputError(f"{problem} in rows {listed} (values: {shown}){tail}", self.path,
                         f"row {rows[0]}, column '{column}'")


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _find_rsid_column(columns: list[str], rsid: str) -> str | None:
    hits = [c for c in columns if rsid in c.lower() and "qc" not in c.lower()]
    return hits[0] if hits else None


def _is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV/TSV (or Excel) table as strings; leading ``#`` lines are comments.

    The delimiter is chosen by extension (``.tsv``/``.txt``: tab, ``.csv``: comma), else sniffed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("clinical table not found", path)
    if path.suffix.lower() in {".xls", ".xlsx"}:
        try:
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        except ImportError:
            raise InputError("reading Excel needs openpyxl/xlrd, which are not installed: save the sheet as CSV", path) from None
    with open(path, encoding="utf-8-sig", newline="") as fh:
        lines = fh.read().splitlines()
    body = [ln for ln in lines if not ln.startswith("#")]
    skipped = len(lines) - len(body)
    if not body or not body[0].strip():
        raise InputError("empty table: no header line", path)
    if path.suffix.lower() in {".tsv", ".txt", ".tab"}:
        delim = "\t"
    elif path.suffix.lower() == ".csv":
        delim = ","
    else:
        delim = "\t" if "\t" in body[0] else ","
    rows = list(csv.reader(body, delimiter=delim))
    header, data = rows[0], rows[1:]
    for i, r in enumerate(data, start=1):
        if len(r) != len(header) and any(x.strip() for x in r):
            raise InputError(f"row has {len(r)} fields, header has {len(header)}", path, f"row {i} (line {i + 1 + skipped})")
    data = [r for r in data if any(x.strip() for x in r)]
    return pd.DataFrame(data, columns=[h.strip() for h in header], dtype=str)


def parse_age(value: str) -> float:
    """Age in years from ``"60 - 69"`` (lower bound), ``"90+"`` or a number; NaN if missing; ValueError if bad."""
    v = value.strip()
    if _is_missing(v):
        return math.nan
    m = _AGE_RANGE_RE.match(v)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if hi < lo:
            raise ValueError("age range reversed")
        years = float(lo)
    else:
        m = _AGE_PLUS_RE.match(v)
        years = float(m.group(1)) if m else float(v)
    if not AGE_YEARS[0] <= years <= AGE_YEARS[1]:
        raise ValueError(f"age outside {AGE_YEARS[0]:g}-{AGE_YEARS[1]:g} years")
    return years


def age_decades(years: float) -> float:
    """IWPC age in decades: 1 for 10-19, ..., 9 for 90 and over (Klein et al. 2009, appendix)."""
    if math.isnan(years):
        return math.nan
    return float(min(int(years // 10), 9))


def parse_number(value: str, bounds: tuple[float, float], what: str, strict_lower: bool = False) -> float:
    v = value.strip()
    if _is_missing(v):
        return math.nan
    x = float(v)  # ValueError propagates for text
    lo, hi = bounds
    if not (x > lo if strict_lower else x >= lo) or x > hi or math.isnan(x):
        raise ValueError(f"{what} outside {'(' if strict_lower else '['}{lo:g}, {hi:g}]")
    return x


def parse_flag(value: str) -> float:
    """0/1 medication flags (IWPC: 1 taking, 0 not, NA unknown = not taking)."""
    v = value.strip().lower()
    if _is_missing(v):
        return 0.0
    if v in {"1", "1.0", "yes", "y", "true"}:
        return 1.0
    if v in {"0", "0.0", "no", "n", "false"}:
        return 0.0
    raise ValueError("expected 0/1")


def parse_race(value: str) -> str:
    v = value.strip()
    if _is_missing(v):
        return "Unknown"
    hit = _RACE_MAP.get(v.lower())
    if hit is None:
        raise ValueError("unknown race category")
    return hit


def normalize_snp(value: str, snp: str) -> str | None:
    """Sorted ``X/Y`` genotype or None when missing; ValueError for strings outside :data:`SNP_GENOTYPES`."""
    v = value.strip().upper().replace("|", "/").replace(" ", "")
    if v.lower() in MISSING:
        return None
    if "/" not in v and len(v) == 2:
        v = v[0] + "/" + v[1]
    parts = v.split("/")
    if len(parts) != 2:
        raise ValueError("not a diploid genotype")
    if snp == "vkorc1" and set(parts) <= {"C", "T"}:
        parts = [{"C": "G", "T": "A"}[a] for a in parts]  # + strand (C>T) to the gene's G>A naming
    g = "/".join(sorted(parts))
    if g not in SNP_GENOTYPES[snp]:
        raise ValueError("unknown genotype")
    return g


def normalize_cyp2c9(value: str) -> str | None:
    """``*a/*b`` with the lower allele first, or None when missing; ValueError for other strings."""
    v = value.strip().replace(" ", "")
    if v.lower() in MISSING:
        return None
    m = _CYP2C9_RE.match(v)
    if not m:
        raise ValueError("unknown CYP2C9 genotype")
    a = (int(m.group(1)), m.group(2))
    b = (int(m.group(3)), m.group(4))
    lo, hi = sorted([a, b])
    return f"*{lo[0]}{lo[1]}/*{hi[0]}{hi[1]}"


def load_clinical(path: str | os.PathLike) -> ClinicalTable:
    """Read and validate a clinical table (IWPC or our own columns); impute VKORC1 -1639 where the rules allow.

    Raises
    ------
    InputError
        Empty table, a required column absent, or any impossible value (naming row and column; every row
        with the same problem is listed).
    """
    from hpcgen.model.iwpc import impute_vkorc1  # the imputation rules live with the algorithm

    path = str(path)
    raw = read_table(path)
    if raw.empty:
        raise InputError("empty table: a header but no data rows", path)
    cols = list(raw.columns)
    found: dict[str, str | None] = {k: _find_column(cols, v) for k, v in ALIASES.items()}
    for key, rsid in RSID_FIELDS.items():
        found[key] = _find_rsid_column(cols, rsid) or _find_column(cols, RSID_FALLBACK[key])
    for required in ("age", "height_cm", "weight_kg"):
        if found[required] is None:
            raise InputError(f"required column missing: one of {', '.join(ALIASES[required])}", path, "header")
    if found["dose_mg_week"] is None:
        raise InputError(f"required column missing: one of {', '.join(ALIASES['dose_mg_week'])} "
                         "(an empty value is allowed for patients without a stable dose)", path, "header")

    errors = _Errors(path)
    n = len(raw)
    out: dict[str, list] = {c: [] for c in NORMALIZED_COLUMNS}
    notes: list[str] = []
    rare: dict[str, int] = {}

    def get(i: int, key: str) -> str:
        col = found.get(key)
        return "" if col is None else str(raw.iat[i, cols.index(col)])

    def parse(i: int, key: str, fn, *args):
        try:
            return fn(get(i, key), *args)
        except ValueError as exc:
            errors.add(found[key] or key, str(exc), i + 1, get(i, key))
            return math.nan if key not in {"race", "cyp2c9"} and key not in SNP_GENOTYPES else None

    for i in range(n):
        row = i + 1
        sample = get(i, "sample").strip() or f"row{row}"
        years = parse(i, "age", parse_age)
        height = parse(i, "height_cm", parse_number, HEIGHT_CM, "height (cm)", True)
        weight = parse(i, "weight_kg", parse_number, WEIGHT_KG, "weight (kg)", True)
        dose = parse(i, "dose_mg_week", parse_number, DOSE_MG_WEEK, "weekly dose (mg)", True)
        race = parse(i, "race", parse_race) or "Unknown"
        cyp = parse(i, "cyp2c9", normalize_cyp2c9)
        if cyp is not None and cyp not in IWPC_CYP2C9:
            rare[cyp] = rare.get(cyp, 0) + 1
        snps = {k: parse(i, k, normalize_snp, k) for k in SNP_GENOTYPES}
        amio = parse(i, "amiodarone", parse_flag)
        if found["enzyme_inducer"] is not None:
            inducer = parse(i, "enzyme_inducer", parse_flag)
        else:
            inducer = max(parse(i, k, parse_flag) for k in ("carbamazepine", "phenytoin", "rifampin"))
        vk, imputed = snps["vkorc1"], False
        if vk is None:
            vk = impute_vkorc1(None, snps["rs2359612"], snps["rs9934438"], snps["rs8050894"], race)
            imputed = vk is not None
        values = dict(sample=sample, row=row, age_years=years, age_decades=age_decades(years), height_cm=height,
                      weight_kg=weight, race=race, cyp2c9=cyp, vkorc1=vk, vkorc1_imputed=imputed,
                      rs2359612=snps["rs2359612"], rs9934438=snps["rs9934438"], rs8050894=snps["rs8050894"],
                      amiodarone=amio, enzyme_inducer=inducer, dose_mg_week=dose)
        for k, v in values.items():
            out[k].append(v)
    errors.raise_first()
    frame = pd.DataFrame(out, columns=list(NORMALIZED_COLUMNS))
    dup = frame["sample"][frame["sample"].duplicated()]
    if not dup.empty:
        i = int(dup.index[0])
        raise InputError(f"duplicate sample ID {frame['sample'][i]!r}", path, f"row {i + 1}, column '{found['sample']}'")
    if rare:
        notes.append("CYP2C9 genotypes outside the IWPC categories counted as 'unknown' by the IWPC algorithm: "
                     + ", ".join(f"{k} ({v})" for k, v in sorted(rare.items())))
    n_imp = int(frame["vkorc1_imputed"].sum())
    if n_imp:
        notes.append(f"VKORC1 -1639 imputed from linked SNPs and race for {n_imp} row(s) (IWPC appendix rules)")
    n_without = int(frame["dose_mg_week"].isna().sum())
    return ClinicalTable(frame=frame, path=path, n_rows=n, n_without_target=n_without, notes=notes)


# the CYP2C9 categories the IWPC algorithm has coefficients for (others count as "unknown")
IWPC_CYP2C9 = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")


def dose_group(dose_mg_week: np.ndarray) -> np.ndarray:
    """Dose group labels: "<21", "21-49" (21 <= d < 49) and ">=49" mg/week; "" where the dose is NaN."""
    d = np.asarray(dose_mg_week, dtype=float)
    out = np.full(d.shape, "", dtype=object)
    out[d < 21] = "<21"
    out[(d >= 21) & (d < 49)] = "21-49"
    out[d >= 49] = ">=49"
    return out
