"""The `pgx call` stage as one function: genotypes -> diplotypes -> phenotypes -> recommendations -> files.

:func:`call_cohort` is what the CLI, the workflow rule and a Slurm job run; :func:`compute` is the same
without I/O (used by the benchmark and the tests).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from hpcgen.errors import InputError
from hpcgen.pgx.definitions import VCF_GENES, GeneDefinition, load_definitions
from hpcgen.pgx.reader import GeneGenotypes

SEX_CODES = {"m": "M", "male": "M", "1": "M", "f": "F", "female": "F", "2": "F"}


def read_sex_sheet(path: str | os.PathLike, samples: list[str], translate: dict[str, str] | None = None) -> np.ndarray:
    """Sex per sample ('M', 'F' or '') from a TSV with a sample column and a sex column.

    ``translate`` maps the sheet's IDs (real IDs) to the input's IDs (pseudonyms) when they differ.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("sex sheet not found", path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        fields = {f.lower(): f for f in reader.fieldnames or []}
        id_col = next((fields[k] for k in ("sample", "sample_id", "id", "iid") if k in fields), None)
        sex_col = next((fields[k] for k in ("sex", "gender") if k in fields), None)
        if id_col is None or sex_col is None:
            raise InputError("sex sheet needs a 'sample' and a 'sex' column", path, "header")
        sheet = {}
        for lineno, rec in enumerate(reader, start=2):
            raw = (rec[sex_col] or "").strip().lower()
            if raw not in SEX_CODES and raw not in ("", "na", "0", "unknown"):
                raise InputError(f"sex {rec[sex_col]!r} not understood (M/F/male/female/1/2)", path, f"line {lineno}")
            sid = rec[id_col].strip()
            sheet[(translate or {}).get(sid, sid)] = SEX_CODES.get(raw, "")
    return np.array([sheet.get(s, "") for s in samples], dtype=object)


def compute(genes: dict[str, GeneDefinition], genotypes: dict[str, GeneGenotypes], samples: list[str],
            sex: np.ndarray | None = None, outside: pd.DataFrame | None = None,
            cnv: pd.DataFrame | None = None, sources: tuple[str, ...] = ("CPIC", "DPWG")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Diplotypes, phenotypes and recommendations for a cohort already in memory.

    Returns
    -------
    (genes table, drugs table) as in docs/CONTRACTS.md (genes table with extra JSON-only columns).
    """
    from hpcgen.pgx.matcher import call_genes
    from hpcgen.pgx.outside_calls import merge_outside
    from hpcgen.pgx.phenotype import add_phenotypes, dpyd_activity
    from hpcgen.pgx.recommend import recommend

    calls = call_genes(genes, genotypes, samples, sex=sex, dpyd_activity=dpyd_activity())
    calls = add_phenotypes(calls)
    if outside is not None and not outside.empty:
        calls = merge_outside(calls, outside)
    if cnv is not None and not cnv.empty:
        from hpcgen.pgx.cnv import merge_cnv

        calls = merge_cnv(calls, cnv)
    order = {g: i for i, g in enumerate(sorted(set(calls["gene"])))}
    sample_order = {s: i for i, s in enumerate(samples)}
    calls = calls.assign(_s=calls["sample"].map(sample_order), _g=calls["gene"].map(order))
    calls = calls.sort_values(["_s", "_g"], kind="stable").drop(columns=["_s", "_g"]).reset_index(drop=True)
    drugs = recommend(calls, sources)
    return calls, drugs


def call_cohort(input_path: str | os.PathLike, out_dir: str | os.PathLike, *, outside_calls: str | None = None,
                sex_sheet: str | None = None, id_mapping: str | None = None, key_file: str | None = None,
                pseudonymize_ids: bool = True, bam_list: str | None = None, config=None) -> Path:
    """Run `hpcgen pgx call` end to end and write OUT (manifest.json last).

    Parameters
    ----------
    input_path
        A genotype store folder (hpcgen.store) or an indexed VCF/BCF (small unindexed VCFs are streamed).
    pseudonymize_ids
        VCF input only: replace sample IDs by their keyed pseudonyms (``hpcgen.pseudonym``); store IDs are
        pseudonymized at ingest already.
    bam_list
        TSV ``sample<TAB>path`` of BAM/CRAM files for CYP2D6 copy number.
    """
    from hpcgen.config import load_config
    from hpcgen.pgx.data_check import data_version
    from hpcgen.pgx.outputs import write_outputs
    from hpcgen.pgx.outside_calls import read_outside_calls
    from hpcgen.pgx.reader import read_store, read_vcf

    cfg = config if config is not None else load_config(None)
    pcfg = cfg.pgx
    genes = load_definitions(None, tuple(pcfg.genes or VCF_GENES))
    input_path = Path(input_path)
    translate: dict[str, str] | None = None
    if input_path.is_dir():
        samples, genotypes = read_store(input_path, genes)
    else:
        samples, genotypes = read_vcf(input_path, genes)
        if pseudonymize_ids:
            from hpcgen.pseudonym import load_key, pseudonymize

            pseudo = pseudonymize(samples, load_key(key_file))
            translate = dict(zip(samples, pseudo))
            samples = pseudo
    if id_mapping:  # sheets keyed by real IDs, input keyed by the ingest pseudonyms
        from hpcgen.pseudonym import read_mapping

        translate = read_mapping(id_mapping)
    sex = read_sex_sheet(sex_sheet, samples, translate) if sex_sheet else None
    outside_path = outside_calls or pcfg.outside_calls
    outside = None
    if outside_path:
        outside = read_outside_calls(outside_path, samples)
    cnv = None
    if bam_list:
        from hpcgen.pgx.cnv import copy_numbers_from_list

        cnv = copy_numbers_from_list(bam_list, samples, pcfg, translate)
    calls, drugs = compute(genes, genotypes, samples, sex=sex, outside=outside, cnv=cnv,
                           sources=tuple(pcfg.sources))
    return write_outputs(out_dir, calls, drugs, data_version(), input_path,
                         {"pseudonymized_here": bool(translate) and not input_path.is_dir() and pseudonymize_ids})
