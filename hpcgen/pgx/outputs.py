"""Write the pgx outputs of docs/CONTRACTS.md: genes, drugs and recommendations tables (TSV + Parquet), one
JSON per sample, and manifest.json last. The whole folder is built beside its final name and renamed into
place, so a folder with a manifest is always complete; every file carries ``data_version``.

drugs.tsv holds one short row per sample and drug with a ``recommendation_id``; the long texts
(recommendation, implications) are written once per distinct text in recommendations.tsv, keyed by a hash
of their content (:func:`recommendation_id`). :func:`join_recommendations` puts the texts back.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hpcgen import __version__
from hpcgen.errors import InputError
from hpcgen.fsutil import PRIVATE_FILE_MODE, atomic_dir, safe_filename, sha256_file

GENE_COLUMNS = ["sample", "gene", "diplotype", "phenotype", "activity_score", "call_status",
                "missing_positions", "warnings", "source"]
SAMPLE_SCHEMA = "hpcgen.pgx.sample/1"
MANIFEST_SCHEMA = "hpcgen.pgx.manifest/1"
#: drug rows as recommend() builds them and the per-sample JSON holds them (texts inline)
JOINED_DRUG_COLUMNS = ["sample", "drug", "source", "genes", "phenotypes", "recommendation", "classification",
                       "implications", "actionable", "guideline_id", "guideline_version"]
#: long, repeated columns: written once per distinct content in recommendations.tsv
TEXT_COLUMNS = ["recommendation", "implications"]
DRUG_COLUMNS = ["sample", "drug", "source", "genes", "phenotypes", "recommendation_id", "classification",
                "actionable", "guideline_id", "guideline_version"]
RECOMMENDATION_COLUMNS = ["recommendation_id"] + TEXT_COLUMNS
TABLE_SCHEMA = {"genes": "hpcgen.pgx.genes/1", "drugs": "hpcgen.pgx.drugs/2",
                "recommendations": "hpcgen.pgx.recommendations/1"}


def recommendation_id(recommendation: str, implications: str) -> str:
    """``R`` + the first 12 hex digits of the SHA-256 of the texts (UTF-8, joined by U+001F).

    Content-addressed: the same texts get the same id in every run and cohort, whatever the input order.
    48 bits for a few thousand distinct texts: a collision is ~1e-7 likely, and refused when it happens.
    """
    digest = hashlib.sha256(f"{recommendation}\x1f{implications}".encode("utf-8")).hexdigest()
    return "R" + digest[:12]


def split_recommendations(drugs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Joined drug rows -> (drugs table with ``recommendation_id``, recommendations table sorted by id)."""
    # factorize each text column, combine the codes: hashing runs once per distinct pair, not per row
    parts = [pd.factorize(drugs[c].fillna("").astype(str).to_numpy(dtype=object)) for c in TEXT_COLUMNS]
    combo = np.zeros(len(drugs), np.int64)
    for codes, uniques in parts:
        combo = combo * (len(uniques) + 1) + codes
    _, first, inverse = np.unique(combo, return_index=True, return_inverse=True)
    texts = [[uniques[codes[i]] for codes, uniques in parts] for i in first]
    ids = np.array([recommendation_id(*t) for t in texts], dtype=object)
    if len(set(ids)) != len(ids):
        raise RuntimeError("two different recommendation texts hash to the same recommendation_id")
    table = drugs.drop(columns=TEXT_COLUMNS).assign(recommendation_id=ids[inverse.ravel()])[DRUG_COLUMNS]
    recs = pd.DataFrame(texts, columns=TEXT_COLUMNS)
    recs.insert(0, "recommendation_id", ids)
    return table.reset_index(drop=True), recs.sort_values("recommendation_id").reset_index(drop=True)


def require_recommendation_ids(drugs: pd.DataFrame, drugs_path: str | os.PathLike) -> None:
    """InputError unless the drugs table has a ``recommendation_id`` column; a drugs/1 table (texts inline)
    gets the hint to rerun ``hpcgen pgx call``."""
    if "recommendation_id" not in drugs.columns:
        old = "recommendation" in drugs.columns
        raise InputError("no recommendation_id column" + (" (drugs schema hpcgen.pgx.drugs/1: rerun `hpcgen pgx "
                                                          "call`)" if old else ""), drugs_path, "header")


def join_recommendations(drugs: pd.DataFrame, recs: pd.DataFrame, drugs_path: str | os.PathLike,
                         recs_path: str | os.PathLike) -> pd.DataFrame:
    """drugs.tsv rows with their recommendation texts put back: the joined layout (JOINED_DRUG_COLUMNS).

    Raises
    ------
    InputError
        A column is missing, an id appears twice in the recommendations table, or a drugs row names an id
        the recommendations table does not hold (the row is named, 1-based, header excluded).
    """
    require_recommendation_ids(drugs, drugs_path)
    missing = [c for c in RECOMMENDATION_COLUMNS if c not in recs.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", recs_path, "header")
    ids = pd.Index(recs["recommendation_id"].astype(str))
    dup = np.flatnonzero(ids.duplicated())
    if len(dup):
        raise InputError(f"recommendation_id {ids[dup[0]]} appears twice", recs_path, f"row {dup[0] + 1}")
    wanted = drugs["recommendation_id"].astype(str).to_numpy(dtype=object)
    pos = ids.get_indexer(wanted)
    bad = np.flatnonzero(pos < 0)
    if len(bad):
        raise InputError(f"recommendation_id {wanted[bad[0]]} is not in {Path(recs_path).name}", drugs_path,
                         f"row {bad[0] + 1}")
    out = drugs.drop(columns=["recommendation_id"])
    for c in TEXT_COLUMNS:
        out[c] = recs[c].to_numpy(dtype=object)[pos]
    return out[[c for c in JOINED_DRUG_COLUMNS if c in out.columns]].reset_index(drop=True)


def _write_table(df: pd.DataFrame, folder: Path, name: str, data_version: str) -> None:
    header = f"# schema={TABLE_SCHEMA[name]} data_version={data_version} hpcgen_version={__version__}\n"
    tsv = folder / f"{name}.tsv"
    with open(tsv, "w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        df.to_csv(fh, sep="\t", index=False, lineterminator="\n")
    os.chmod(tsv, PRIVATE_FILE_MODE)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.update({b"data_version": data_version.encode(), b"schema": TABLE_SCHEMA[name].encode(),
                 b"hpcgen_version": __version__.encode()})
    pq.write_table(table.replace_schema_metadata(meta), folder / f"{name}.parquet")
    os.chmod(folder / f"{name}.parquet", PRIVATE_FILE_MODE)


def _gene_json(row: dict, extra: dict | None) -> dict:
    out = {k: row[k] for k in GENE_COLUMNS if k != "sample"}
    out["missing_positions"] = [p for p in str(row["missing_positions"]).split(";") if p]
    out["warnings"] = [w for w in str(row["warnings"]).split(";") if w]
    if extra:
        out.update(extra)
    return out


def write_outputs(out_dir: str | os.PathLike, genes: pd.DataFrame, drugs: pd.DataFrame, data_version: str,
                  input_path: str | os.PathLike, extra_manifest: dict | None = None) -> Path:
    """Write OUT (replacing any previous complete or partial run).

    Parameters
    ----------
    genes
        genes.tsv rows plus optional ``match_score``, ``haplotype_1``, ``haplotype_2``, ``copy_number``
        columns (JSON only).
    drugs
        Joined drug rows (JOINED_DRUG_COLUMNS, as :func:`hpcgen.pgx.recommend.recommend` returns them):
        split into drugs.tsv + recommendations.tsv; the per-sample JSON keeps the texts inline.
    """
    out_dir = Path(out_dir)
    extra_cols = [c for c in ("match_score", "haplotype_1", "haplotype_2", "copy_number") if c in genes.columns]
    input_path = Path(input_path)
    if input_path.is_dir():
        manifest_in = input_path / "manifest.json"
        checksum = sha256_file(manifest_in) if manifest_in.exists() else ""
    else:
        checksum = sha256_file(input_path)
    with atomic_dir(out_dir) as tmp:
        _write_table(genes[GENE_COLUMNS], tmp, "genes", data_version)
        drugs_out = drugs[JOINED_DRUG_COLUMNS]
        drug_table, rec_table = split_recommendations(drugs_out)
        _write_table(drug_table, tmp, "drugs", data_version)
        _write_table(rec_table, tmp, "recommendations", data_version)
        del drug_table, rec_table
        sdir = tmp / "samples"
        sdir.mkdir(mode=0o700)
        # records built once for the whole cohort, then grouped: per-sample DataFrame slicing is slow
        gene_cols = GENE_COLUMNS + extra_cols
        gene_recs: dict[str, list] = {}
        for rec in genes[gene_cols].to_dict("records"):
            extra = {}
            for c in extra_cols:
                v = rec[c]
                extra[c] = None if (v is None or v == "" or (isinstance(v, float) and v != v)) else v
            if extra.get("match_score") is not None:
                extra["match_score"] = int(extra["match_score"])
            if extra.get("copy_number") is not None:
                extra["copy_number"] = int(extra["copy_number"])
            gene_recs.setdefault(str(rec["sample"]), []).append(_gene_json(rec, extra))
        drug_recs: dict[str, list] = {}
        drug_cols = [c for c in drugs_out.columns if c != "sample"]
        columns = [drugs_out[c].to_numpy(dtype=object) for c in ["sample"] + drug_cols]
        for sample, *values in zip(*columns):
            row = dict(zip(drug_cols, values))
            row["actionable"] = bool(row.get("actionable"))
            drug_recs.setdefault(str(sample), []).append(row)
        seen_names: set[str] = set()
        for sample, gene_rows in gene_recs.items():
            doc = {"schema": SAMPLE_SCHEMA, "hpcgen_version": __version__, "data_version": data_version,
                   "sample": sample, "genes": gene_rows, "drugs": drug_recs.get(sample, [])}
            fname = safe_filename(sample)
            if fname in seen_names:
                raise ValueError(f"two samples map to the same file name {fname}")
            seen_names.add(fname)
            path = sdir / f"{fname}.json"
            # compact JSON: the C encoder (an indent would switch json to its slow pure-Python path)
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            os.chmod(path, PRIVATE_FILE_MODE)
        manifest = {
            "schema": MANIFEST_SCHEMA, "data_version": data_version, "hpcgen_version": __version__,
            "input": {"path": str(input_path), "sha256": checksum},
            "n_samples": int(genes["sample"].nunique()),
            "genes": sorted(genes["gene"].unique().tolist()),
            "files": ["genes.tsv", "genes.parquet", "drugs.tsv", "drugs.parquet", "recommendations.tsv",
                      "recommendations.parquet", "samples/"],
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **(extra_manifest or {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.chmod(tmp / "manifest.json", PRIVATE_FILE_MODE)
    return out_dir


def read_table(path: str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """Read one table TSV back as written (genes.tsv, drugs.tsv with ids, recommendations.tsv): (DataFrame,
    data_version from the leading comment)."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    version = first.split("data_version=")[1].split()[0] if "data_version=" in first else ""
    df = pd.read_csv(path, sep="\t", comment=None, skiprows=1, dtype=str, keep_default_na=False)
    return df, version


def read_drugs(folder: str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """drugs.tsv joined with recommendations.tsv of a pgx output folder: (rows in JOINED_DRUG_COLUMNS, every
    value text as in the TSVs, data_version). InputError when an id is missing (see
    :func:`join_recommendations`) or the two files name different data versions."""
    folder = Path(folder)
    for name in ("drugs.tsv", "recommendations.tsv"):
        if not (folder / name).is_file():
            raise InputError(f"missing {name} (not a `hpcgen pgx call` output?)", folder)
    drugs, version = read_table(folder / "drugs.tsv")
    recs, rec_version = read_table(folder / "recommendations.tsv")
    if rec_version != version:
        raise InputError(f"data_version {rec_version} differs from drugs.tsv's {version}",
                         folder / "recommendations.tsv", "line 1")
    return join_recommendations(drugs, recs, folder / "drugs.tsv", folder / "recommendations.tsv"), version
