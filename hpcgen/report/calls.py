"""Read what `hpcgen pgx call` wrote (docs/CONTRACTS.md, "pgx") and the optional dose predictions ("model").

Everything is checked at the door: a missing file or column is an :class:`InputError` naming the file and
the record, so a report is never rendered from half a calls folder.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hpcgen.errors import InputError
# the pgx contract's columns, from the module that writes them: drugs.tsv (schema hpcgen.pgx.drugs/2) refers to
# recommendations.tsv by recommendation_id; DRUG_COLUMNS is a drug row once joined with its texts
from hpcgen.pgx.outputs import DRUG_COLUMNS as DRUG_TABLE_COLUMNS
from hpcgen.pgx.outputs import GENE_COLUMNS, RECOMMENDATION_COLUMNS, join_recommendations, require_recommendation_ids
from hpcgen.pgx.outputs import JOINED_DRUG_COLUMNS as DRUG_COLUMNS
PREDICTION_COLUMNS = [
    "sample", "drug", "model", "model_version", "predicted_dose_mg_week",
    "iwpc_dose_mg_week", "iwpc_clinical_dose_mg_week", "unit",
]
# columns holding ";"-joined lists in the TSV / Parquet tables
LIST_COLUMNS = {"missing_positions", "warnings", "genes", "phenotypes"}


@dataclass
class CallSet:
    """One pgx calls folder, loaded.

    Attributes
    ----------
    folder
        The calls folder.
    manifest
        ``manifest.json`` as a mapping (schema, data_version, hpcgen_version, genes, ...).
    genes, drugs
        Per sample: a list of row mappings (lists split, missing values as None), in file order.
    samples
        Every sample ID, sorted (pseudonymized IDs).
    """

    folder: Path
    manifest: dict[str, Any]
    genes: dict[str, list[dict[str, Any]]]
    drugs: dict[str, list[dict[str, Any]]]
    samples: list[str]
    predictions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def data_version(self) -> str:
        return str(self.manifest.get("data_version", "unknown"))


def _clean(value: Any) -> Any:
    """NaN / NA / empty string -> None; numpy scalars -> Python scalars."""
    if value is None:
        return None
    if getattr(value, "ndim", None) == 0:  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


def _split(value: Any) -> list[str]:
    """A ';'-joined cell (TSV) or a list cell (Parquet) -> list of non-empty strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v)]
    if hasattr(value, "tolist"):
        return [str(v) for v in value.tolist() if str(v)]
    return [part for part in str(value).split(";") if part]


def _as_bool(value: Any, path: Path, record: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", "", "none"}:
        return False
    raise InputError(f"'actionable' must be true or false, got {value!r}", path, record)


def read_table(folder: Path, stem: str, columns: list[str]) -> tuple[pd.DataFrame, Path]:
    """Read ``<stem>.parquet`` (preferred: typed) or ``<stem>.tsv`` (after its leading ``#`` lines)."""
    parquet, tsv = folder / f"{stem}.parquet", folder / f"{stem}.tsv"
    if parquet.is_file():
        path = parquet
        try:
            frame = pd.read_parquet(parquet)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
            raise InputError(f"cannot read Parquet table ({exc})", parquet) from None
    elif tsv.is_file():
        path = tsv
        frame = read_tsv(tsv)
    else:
        raise InputError(f"missing {stem}.parquet / {stem}.tsv (not a `hpcgen pgx call` output?)", folder)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path, "header")
    return frame, path


def read_tsv(path: Path) -> pd.DataFrame:
    """A TSV whose first lines may be ``#`` comments (the data version); every value kept as text."""
    try:
        with open(path, encoding="utf-8") as fh:
            skip = 0
            for line in fh:
                if not line.startswith("#"):
                    break
                skip += 1
        return pd.read_csv(path, sep="\t", skiprows=skip, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read TSV ({exc})", path) from None


def _rows(frame: pd.DataFrame, path: Path, columns: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i, rec in enumerate(frame[columns].to_dict(orient="records")):
        row = {k: _split(v) if k in LIST_COLUMNS else _clean(v) for k, v in rec.items()}
        if row["sample"] is None:
            raise InputError("empty sample ID", path, f"row {i + 1}")
        row["sample"] = str(row["sample"])
        if "actionable" in row:
            row["actionable"] = _as_bool(row["actionable"], path, f"row {i + 1}")
        if "activity_score" in row and row["activity_score"] is not None:
            try:
                row["activity_score"] = float(row["activity_score"])
            except ValueError:
                raise InputError(f"activity_score is not a number: {row['activity_score']!r}", path, f"row {i + 1}") from None
        out.setdefault(row["sample"], []).append(row)
    return out


def load_calls(folder: str | Path) -> CallSet:
    """Load a pgx calls folder (manifest, genes and drugs tables, drugs joined with their recommendation texts).

    Raises
    ------
    InputError
        The folder is incomplete (no manifest.json: the pgx stage did not finish) or a table is malformed.
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputError("no manifest.json: not a complete `hpcgen pgx call` output", folder)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read manifest ({exc})", manifest_path) from None
    if not isinstance(manifest, dict):
        raise InputError("manifest must be a JSON object", manifest_path)
    genes_frame, genes_path = read_table(folder, "genes", GENE_COLUMNS)
    drugs_frame, drugs_path = read_table(folder, "drugs", [c for c in DRUG_TABLE_COLUMNS if c != "recommendation_id"])
    require_recommendation_ids(drugs_frame, drugs_path)  # before looking for a recommendations table: old folders
    recs_frame, recs_path = read_table(folder, "recommendations", RECOMMENDATION_COLUMNS)
    drugs_frame = join_recommendations(drugs_frame, recs_frame, drugs_path, recs_path)
    genes = _rows(genes_frame, genes_path, GENE_COLUMNS)
    drugs = _rows(drugs_frame, drugs_path, DRUG_COLUMNS)
    samples = sorted(set(genes) | set(drugs))
    return CallSet(folder=folder, manifest=manifest, genes=genes, drugs=drugs, samples=samples)


def load_predictions(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read ``predictions.tsv`` (contract "model"): per sample, the dose predictions (mg/week)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("predictions file not found", path)
    frame = read_tsv(path)
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", path, "header")
    out: dict[str, list[dict[str, Any]]] = {}
    for i, rec in enumerate(frame[PREDICTION_COLUMNS].to_dict(orient="records")):
        row = {k: _clean(v) for k, v in rec.items()}
        for col in ("predicted_dose_mg_week", "iwpc_dose_mg_week", "iwpc_clinical_dose_mg_week"):
            if row[col] is not None:
                try:
                    row[col] = float(row[col])
                except ValueError:
                    raise InputError(f"{col} is not a number: {row[col]!r}", path, f"row {i + 1}") from None
        if row["sample"] is None:
            raise InputError("empty sample ID", path, f"row {i + 1}")
        out.setdefault(str(row["sample"]), []).append(row)
    return out
