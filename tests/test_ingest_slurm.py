"""Ingest shards dispatched as a Slurm array on the dev cluster (`make test` starts it as root)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import REPO, need_tool, run_hpcgen
from ingest_helpers import bcftools_gt, random_vcf_text, store_gt, write_vcf


def _cluster_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    state = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%T"], capture_output=True, text=True)
    return "UP" in ping.stdout and state.stdout.strip() in {"idle", "mixed", "allocated"}


@pytest.fixture(scope="module")
def cluster() -> str:
    if not _cluster_up() and os.geteuid() == 0 and shutil.which("slurmctld"):
        subprocess.run(["bash", str(REPO / "slurm/devcluster/start.sh")], check=False, timeout=180)
    if not _cluster_up():
        pytest.skip("dev Slurm cluster not running: sudo bash slurm/devcluster/start.sh (make cluster-up)")
    return "devcluster"


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
