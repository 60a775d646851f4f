"""drugs.tsv refers to recommendations.tsv by ``recommendation_id`` (schema hpcgen.pgx.drugs/2): the join gives
back exactly the rows `hpcgen.pgx.recommend` computes (texts inline), ids are content hashes, and a drugs row
naming an id the recommendations table lacks is refused (one line, exit 2) by every reader."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import run_hpcgen
from report_helpers import write_pgx_calls

from hpcgen.errors import InputError
from hpcgen.pgx.outputs import (DRUG_COLUMNS, JOINED_DRUG_COLUMNS, RECOMMENDATION_COLUMNS, read_drugs, read_table,
                                recommendation_id)


@pytest.fixture(scope="module")
def demo_pgx(demo_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("pgx-ids") / "pgx"
    run_hpcgen("pgx", "call", str(demo_store), "--out", str(out), check=True)
    return out


@pytest.fixture(scope="module")
def recomputed(demo_store):
    """The old drugs.tsv columns for the demo store, straight from hpcgen.pgx (no files)."""
    from hpcgen.pgx.api import compute
    from hpcgen.pgx.definitions import VCF_GENES, load_definitions
    from hpcgen.pgx.reader import read_store

    genes = load_definitions(None, tuple(VCF_GENES))
    samples, genotypes = read_store(demo_store, genes)
    return compute(genes, genotypes, samples)[1]


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as the TSV writes it (booleans True/False, no NaN)."""
    return frame.astype(str).reset_index(drop=True)


def test_join_gives_back_the_recomputed_rows(demo_pgx, recomputed):
    assert list(recomputed.columns) == JOINED_DRUG_COLUMNS and len(recomputed) > 100 * 50
    joined, version = read_drugs(demo_pgx)
    assert version == json.loads((demo_pgx / "manifest.json").read_text())["data_version"]
    pd.testing.assert_frame_equal(joined, _as_text(recomputed))
    # the same through the Parquet pair
    drugs_pq = pd.read_parquet(demo_pgx / "drugs.parquet")
    recs_pq = pd.read_parquet(demo_pgx / "recommendations.parquet")
    assert list(drugs_pq.columns) == DRUG_COLUMNS and drugs_pq["actionable"].dtype == bool
    merged = drugs_pq.merge(recs_pq, on="recommendation_id", how="left", validate="many_to_one")
    pd.testing.assert_frame_equal(_as_text(merged[JOINED_DRUG_COLUMNS]), _as_text(recomputed))
    # the per-sample JSON keeps the texts inline: its drugs are the recomputed rows of that sample
    doc = json.loads(next((demo_pgx / "samples").glob("*.json")).read_text())
    sample = doc["sample"]
    expected = recomputed[recomputed["sample"] == sample].drop(columns="sample").to_dict("records")
    assert doc["drugs"] == expected and "recommendation_id" not in doc["drugs"][0]


def test_recommendations_once_each_with_content_ids(demo_pgx, recomputed):
    drugs, _ = read_table(demo_pgx / "drugs.tsv")
    recs, _ = read_table(demo_pgx / "recommendations.tsv")
    assert list(drugs.columns) == DRUG_COLUMNS and list(recs.columns) == RECOMMENDATION_COLUMNS
    distinct = recomputed[["recommendation", "implications"]].drop_duplicates()
    assert len(recs) == len(distinct) and recs.recommendation_id.is_unique
    assert recs.recommendation_id.tolist() == sorted(recs.recommendation_id)
    assert all(recs.recommendation_id == [recommendation_id(r, i) for r, i in zip(recs.recommendation, recs.implications)])
    assert set(drugs.recommendation_id) == set(recs.recommendation_id)
    # the point of the split: drugs.tsv no longer carries the texts
    assert (demo_pgx / "drugs.tsv").stat().st_size < 0.5 * len(_as_text(recomputed).to_csv(sep="\t", index=False))
    assert {"recommendations.tsv", "recommendations.parquet"} <= set(json.loads((demo_pgx / "manifest.json").read_text())["files"])
    assert (demo_pgx / "recommendations.tsv").stat().st_mode & 0o077 == 0


def test_ids_do_not_depend_on_the_cohort():
    assert recommendation_id("no recommendation possible", "") == recommendation_id("no recommendation possible", "")
    assert recommendation_id("a", "b") != recommendation_id("a b", "") != recommendation_id("ab", "")
    assert len(recommendation_id("x", "y")) == 13 and recommendation_id("x", "y").startswith("R")


def _drop_recommendation(folder, rid):
    """Remove ``rid`` from recommendations.tsv (and .parquet when present)."""
    path = folder / "recommendations.tsv"
    lines = path.read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith(rid + "\t")]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept))
    pq = folder / "recommendations.parquet"
    if pq.exists():
        recs = pd.read_parquet(pq)
        recs[recs.recommendation_id != rid].to_parquet(pq, index=False)


def test_missing_id_is_an_input_error(demo_pgx, tmp_path):
    broken = tmp_path / "pgx"
    shutil.copytree(demo_pgx, broken)
    drugs, _ = read_table(broken / "drugs.tsv")
    rid = drugs.recommendation_id.iloc[3]
    first = int((drugs.recommendation_id == rid).to_numpy().argmax()) + 1
    _drop_recommendation(broken, rid)
    with pytest.raises(InputError) as err:
        read_drugs(broken)
    assert err.value.path == str(broken / "drugs.tsv") and err.value.record == f"row {first}"
    assert rid in err.value.message and "recommendations.tsv" in err.value.message


def test_report_refuses_a_missing_id_exit_2(tmp_path):
    for with_parquet in (False, True):
        calls = write_pgx_calls(tmp_path / f"calls{with_parquet}", {"P1": "pm", "P2": "normal"}, with_parquet=with_parquet)
        drugs, _ = read_table(calls / "drugs.tsv") if not with_parquet else (pd.read_parquet(calls / "drugs.parquet"), "")
        rid = drugs.recommendation_id.iloc[-1]
        row = int((drugs.recommendation_id == rid).to_numpy().argmax()) + 1
        _drop_recommendation(calls, rid)
        out = tmp_path / f"out{with_parquet}"
        proc = run_hpcgen("report", str(calls), "--out", str(out), "--format", "json")
        stem = "drugs.parquet" if with_parquet else "drugs.tsv"
        assert proc.returncode == 2, proc.stderr
        assert f"{stem}: record row {row}" in proc.stderr and rid in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_report_refuses_old_inline_drugs_table(tmp_path):
    calls = write_pgx_calls(tmp_path / "calls", {"P1": "pm"}, with_parquet=False)
    from report_helpers import DRUG_COLUMNS as OLD, fixture_rows

    old = pd.DataFrame(fixture_rows({"P1": "pm"})[1], columns=OLD)
    old["genes"] = old["genes"].map(";".join)
    old["phenotypes"] = old["phenotypes"].map(";".join)
    with open(calls / "drugs.tsv", "w", encoding="utf-8") as fh:
        fh.write("# schema=hpcgen.pgx.drugs/1 data_version=x\n")
        old.to_csv(fh, sep="\t", index=False)
    proc = run_hpcgen("report", str(calls), "--out", str(tmp_path / "out"), "--format", "json")
    assert proc.returncode == 2 and "recommendation_id" in proc.stderr and "hpcgen.pgx.drugs/1" in proc.stderr
