"""Ingest shards dispatched as a Slurm array on the dev cluster (`make test` starts it as root)."""
from __future__ import annotations

import json

import pytest

from conftest import need_tool, run_hpcgen
from ingest_helpers import bcftools_gt, random_vcf_text, store_gt, write_vcf


def test_shards_run_as_a_slurm_array(tmp_path, key_file, cluster):
    need_tool("bcftools")
    vcf = write_vcf(tmp_path / "c.vcf", random_vcf_text(n_samples=8, n_records=120, seed=31))
    out, run_dir = tmp_path / "store", tmp_path / "run"
    proc = run_hpcgen("ingest", str(vcf), "--out", str(out), "--key-file", str(key_file), "--profile", cluster,
                      "--run-dir", str(run_dir), "--shard-size", "1000000")
    assert proc.returncode == 0, proc.stderr
    assert store_gt(out) == bcftools_gt(vcf)
    rows = [json.loads(line) for line in (run_dir / "jobs.jsonl").read_text().splitlines()]
    done = [r for r in rows if r["state"] == "COMPLETED"]
    n_shards = len(json.loads((out / "manifest.json").read_text())["shards"])
    assert len(done) == n_shards >= 4
    assert all(r["job_id"].split("_")[0].isdigit() and r["stage"] == "ingest-shard" for r in done)
    secret = key_file.read_bytes().strip()
    for f in [p for p in run_dir.rglob("*") if p.is_file()]:  # job pickles and logs carry no key
        assert secret not in f.read_bytes(), f
