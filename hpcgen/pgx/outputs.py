"""Write the pgx outputs of docs/CONTRACTS.md: genes and drugs tables (TSV + Parquet), one JSON per sample,
and manifest.json last. The whole folder is built beside its final name and renamed into place, so a
folder with a manifest is always complete; every file carries ``data_version``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hpcgen import __version__
from hpcgen.fsutil import PRIVATE_FILE_MODE, atomic_dir, safe_filename, sha256_file

GENE_COLUMNS = ["sample", "gene", "diplotype", "phenotype", "activity_score", "call_status",
                "missing_positions", "warnings", "source"]
SAMPLE_SCHEMA = "hpcgen.pgx.sample/1"
MANIFEST_SCHEMA = "hpcgen.pgx.manifest/1"
TABLE_SCHEMA = {"genes": "hpcgen.pgx.genes/1", "drugs": "hpcgen.pgx.drugs/1"}


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
        drugs.tsv rows.
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
        drugs_out = drugs.copy()
        _write_table(drugs_out, tmp, "drugs", data_version)
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
            "files": ["genes.tsv", "genes.parquet", "drugs.tsv", "drugs.parquet", "samples/"],
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **(extra_manifest or {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.chmod(tmp / "manifest.json", PRIVATE_FILE_MODE)
    return out_dir


def read_table(path: str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """Read genes.tsv/drugs.tsv back: (DataFrame, data_version from the leading comment)."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    version = first.split("data_version=")[1].split()[0] if "data_version=" in first else ""
    df = pd.read_csv(path, sep="\t", comment=None, skiprows=1, dtype=str, keep_default_na=False)
    return df, version
