"""The default ``hpcgen qc`` (tables only, as benchmarks/bench_qc.py runs it) never imports pandas, nor h5py on a
store with a chunk index, and its Parquet tables read back in pandas as the pandas-built ones did; the pandas
paths (TSV here) write the same."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hpcgen.qc.annotate import autosomal, variant_classes

TABLES_ONLY = {"qc": {"pca_components": 0, "kinship": False, "report": False, "threads": 2}}
VARIANT_DTYPES = {"chrom": "str", "pos": "int64", "id": "str", "ref": "str", "alt": "str", "class": "str",
                  **{c: "int64" for c in ("n_hom_ref", "n_het", "n_hom_alt", "n_hap_ref", "n_hap_alt", "n_missing",
                                          "an", "ac")},
                  **{c: "float64" for c in ("call_rate", "af", "maf", "het_rate", "hwe_p", "hwe_log10p")},
                  **{c: "bool" for c in ("fail_call_rate", "fail_maf", "fail_hwe", "pass")}}


def _qc_in_subprocess(store, out, cfg, *extra: str) -> dict:
    """Run ``hpcgen qc`` through hpcgen.cli.main in a fresh interpreter; return its exit code and modules."""
    code = (
        "import json, sys\n"
        "from hpcgen.cli import main\n"
        f"rc = main(['qc', {str(store)!r}, '--out', {str(out)!r}, '--config', {str(cfg)!r}, *{list(extra)!r}])\n"
        "print(json.dumps({'rc': rc, 'pandas': 'pandas' in sys.modules, 'h5py': 'h5py' in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_default_qc_never_imports_pandas(demo_store, tmp_path):
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(yaml.safe_dump(TABLES_ONLY))
    lean = _qc_in_subprocess(demo_store, tmp_path / "lean", cfg)
    assert lean == {"rc": 0, "pandas": False, "h5py": False}  # the planes come through the chunk index
    tsv = _qc_in_subprocess(demo_store, tmp_path / "tsv", cfg, "--tsv")  # converts to pandas for the TSV
    assert tsv["rc"] == 0 and tsv["pandas"] is True

    variants = pd.read_parquet(tmp_path / "lean" / "variants.parquet")
    assert {c: str(t) for c, t in variants.dtypes.items()} == VARIANT_DTYPES  # names, order and dtypes
    samples = pd.read_parquet(tmp_path / "lean" / "samples.parquet")
    assert str(samples["sample"].dtype) == "str" and samples["fail_call_rate"].dtype == bool
    for name in ("variants", "samples"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "lean" / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / "tsv" / f"{name}.parquet"), check_exact=True)
    lean_m = json.loads((tmp_path / "lean" / "manifest.json").read_text())
    tsv_m = json.loads((tmp_path / "tsv" / "manifest.json").read_text())
    assert lean_m["summary"] == tsv_m["summary"]
    assert lean_m["outputs"]["variants.parquet"] == tsv_m["outputs"]["variants.parquet"]


def test_summary_median_is_numpys_nanmedian():
    import numpy as np

    from hpcgen.qc.run import _nanmedian

    rng = np.random.default_rng(2)
    for n in range(1, 12):
        x = rng.random(n)
        x[rng.random(n) < 0.3] = np.nan
        if np.isnan(x).all():
            assert np.isnan(_nanmedian(x))
        else:
            assert _nanmedian(x) == np.nanmedian(x)


def test_annotations_same_for_arrow_pandas_and_numpy(demo_store):
    """variant_classes / autosomal give one answer whatever column type filter.py, tests or qc pass."""
    from hpcgen.store import GenotypeStore
    from hpcgen.store.variant_index import store_variants_arrow

    store = GenotypeStore.open(demo_store)
    arrow, frame = store_variants_arrow(store), store.variants()
    want = variant_classes(frame["ref"], frame["alt"])
    assert (variant_classes(arrow.column("ref"), arrow.column("alt")) == want).all()
    assert (variant_classes(frame["ref"].to_numpy(), frame["alt"].to_numpy()) == want).all()
    assert (autosomal(arrow.column("chrom")) == autosomal(frame["chrom"])).all()
    assert (autosomal(frame["chrom"].to_numpy()) == autosomal(frame["chrom"])).all()


def test_annotation_edge_cases():
    ref = ["a", "A", "C", "AT", "A", "A", "*", "A", "ACG", "G", "T", "é", "A", "C"]
    alt = ["g", "C", "T", "A", "<DEL>", "*", "A", "ACGTN", "ATG", "A", "G", "e", "AN", "c"]
    # bcftools stats: ts A<->G C<->T, tv, indel when lengths differ and ALT is bases, else other
    assert variant_classes(ref, alt).tolist() == [1, 2, 1, 3, 0, 0, 0, 3, 0, 1, 2, 0, 3, 0]
    chroms = ["chr1", "1", "chrX", "X", "chrMT", "MT", "chrM", "chr22", "CHR2", "chrUn_1", "Chr3", "chrXY"]
    assert autosomal(pd.Series(chroms)).tolist() == [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def _class_by_definition(ref: str, alt: str) -> int:
    """bcftools stats' classes, written from their definition on Python strings (1 ts, 2 tv, 3 indel, 0 other)."""
    r, a = ref.upper(), alt.upper()
    if len(ref) == 1 and len(alt) == 1 and r in "ACGT" and a in "ACGT" and r != a:
        return 1 if {r, a} in ({"A", "G"}, {"C", "T"}) else 2
    if len(ref) != len(alt) and alt and all(c in "ACGTN" for c in a):
        return 3
    return 0


@given(st.lists(st.tuples(st.text("ACGTNacgtn*<>DEL.é", max_size=4), st.text("ACGTNacgtn*<>DEL.é", max_size=4)),
                max_size=60))
@settings(max_examples=60, deadline=None)
def test_variant_classes_match_definition(pairs):
    """The class kernel (one pass over UTF-8 bytes) agrees with the definition on any REF/ALT strings."""
    ref, alt = [r for r, _ in pairs], [a for _, a in pairs]
    assert variant_classes(ref, alt).tolist() == [_class_by_definition(r, a) for r, a in pairs]


def test_variant_classes_from_an_index_with_or_without_the_class_column(demo_store, tmp_path):
    """The index's class column is what the kernel gives from REF/ALT; an index written before the column
    existed still serves (classes computed, same QC tables), and ``hpcgen store reindex`` adds the column."""
    import shutil

    import pyarrow.parquet as pq

    from conftest import run_hpcgen
    from hpcgen.qc.run import run_qc
    from hpcgen.store import GenotypeStore
    from hpcgen.store.variant_index import CLASS_COLUMN, INDEX_COLUMNS, store_variant_classes

    store = GenotypeStore.open(demo_store)
    frame = store.variants()
    assert list(frame.columns) == list(INDEX_COLUMNS)  # variants() does not return the class
    want = variant_classes(frame["ref"], frame["alt"])
    assert (want == 1).sum() > 100 and (want == 2).sum() > 100
    np.testing.assert_array_equal(store_variant_classes(store), want)

    copy = tmp_path / "store"
    shutil.copytree(demo_store, copy)  # copies the files' times: the chunk index stays valid
    index = copy / "variants.parquet"
    table = pq.read_table(index)
    assert CLASS_COLUMN in table.column_names
    pq.write_table(table.drop_columns([CLASS_COLUMN]), index)  # as written before 5 Dec
    old = GenotypeStore.open(copy)
    np.testing.assert_array_equal(store_variant_classes(old), want)
    cfg = tmp_path / "tables.yaml"
    cfg.write_text(yaml.safe_dump(TABLES_ONLY))
    new_m = run_qc(demo_store, tmp_path / "qc_new", config=cfg)
    old_m = run_qc(copy, tmp_path / "qc_old", config=cfg)
    assert new_m["summary"] == old_m["summary"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "qc_new" / "variants.parquet"),
                                  pd.read_parquet(tmp_path / "qc_old" / "variants.parquet"), check_exact=True)
    assert run_hpcgen("store", "reindex", str(copy)).returncode == 0
    assert CLASS_COLUMN in pq.read_schema(index).names


def test_store_variants_arrow_falls_back_to_shards(demo_store, tmp_path):
    """Without the index file (an older store) the Arrow table comes from the shards, same contents."""
    import shutil

    from hpcgen.store import GenotypeStore
    from hpcgen.store.variant_index import read_variant_index_arrow, store_variants_arrow

    copy = tmp_path / "store"
    shutil.copytree(demo_store, copy)
    indexed = store_variants_arrow(GenotypeStore.open(copy))
    (copy / "variants.parquet").unlink()
    store = GenotypeStore.open(copy)
    assert read_variant_index_arrow(copy, store.manifest) is None
    fallback = store_variants_arrow(store)
    assert fallback.column_names == indexed.column_names
    assert fallback.to_pandas().equals(indexed.to_pandas())
    # the columns hpcgen qc reads, from the index or the shards
    fields = ["chrom", "pos", "id", "ref", "alt"]
    some = store_variants_arrow(GenotypeStore.open(demo_store), fields)
    assert some.column_names == fields and some.equals(indexed.select(fields))
    assert store_variants_arrow(store, fields).to_pandas().equals(indexed.select(fields).to_pandas())


def test_variant_table_in_slices_equals_whole(demo_store, tmp_path, monkeypatch):
    """The variant table computed in slices (one Parquet row group each, hashed as written) holds what one
    slice holds; a failure mid-way leaves no variants.parquet, partial or whole."""
    import pyarrow.parquet as pq

    from hpcgen.fsutil import sha256_file
    from hpcgen.qc import run as qc_run
    from hpcgen.qc import tables

    cfg = tmp_path / "tables.yaml"
    cfg.write_text(yaml.safe_dump(TABLES_ONLY))
    whole = qc_run.run_qc(demo_store, tmp_path / "whole", config=cfg)
    monkeypatch.setattr(qc_run, "VARIANT_SLICE_ROWS", 500)
    sliced = qc_run.run_qc(demo_store, tmp_path / "sliced", config=cfg)
    n = whole["store"]["n_variants"]
    assert n > 2000 and pq.ParquetFile(tmp_path / "sliced" / "variants.parquet").metadata.num_row_groups == -(-n // 500)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "whole" / "variants.parquet"),
                                  pd.read_parquet(tmp_path / "sliced" / "variants.parquet"), check_exact=True)
    assert sliced["summary"] == whole["summary"]
    for name, digest in sliced["outputs"].items():
        assert sha256_file(tmp_path / "sliced" / name) == digest

    calls = []
    real = tables.variant_table

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("simulated")
        return real(*args, **kwargs)

    monkeypatch.setattr(tables, "variant_table", failing)
    with pytest.raises(MemoryError):
        qc_run.run_qc(demo_store, tmp_path / "failed", config=cfg)
    import time

    deadline = time.monotonic() + 10  # the writer thread drops its temporary file once it sees the table abandoned
    while any((tmp_path / "failed").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == []


def test_rerun_removes_the_previous_outputs_only(demo_store, tmp_path):
    """A rerun that writes fewer outputs leaves none of the previous run's behind (they would not match its
    manifest); a file the user put in the folder stays."""
    from hpcgen.qc.run import run_qc

    out = tmp_path / "qc"
    out.mkdir()
    for name in ("qc_report.html", "kinship.parquet", "pca.tsv", "variants.tsv", "notes.txt"):
        (out / name).write_text("from an earlier run\n")
    cfg = tmp_path / "tables.yaml"
    cfg.write_text(yaml.safe_dump(TABLES_ONLY))
    manifest = run_qc(demo_store, out, config=cfg)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "notes.txt", "samples.parquet", "variants.parquet"]
    assert set(manifest["outputs"]) == {"samples.parquet", "variants.parquet"}
