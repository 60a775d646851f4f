"""SIGKILL an ingest mid-way, run it again: complete shards are kept (checksums verified), the rest redone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ingest_helpers import bcftools_gt, random_vcf_text, store_gt, write_vcf
from conftest import need_tool


def test_sigkill_then_resume(tmp_path, key_file):
    need_tool("bcftools")
    vcf = write_vcf(tmp_path / "cohort.vcf", random_vcf_text(n_samples=100, n_records=2400, seed=21))
    out = tmp_path / "store"
    # many small shards, one at a time, so the kill lands between "some done" and "all done"
    args = [sys.executable, "-m", "hpcgen", "--log-level", "info", "ingest", str(vcf), "--out", str(out), "--key-file", str(key_file),
            "--threads", "1", "--shard-size", "100000"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = out / ".work" / "done"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if done.is_dir() and len(list(done.glob("*.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"ingest finished before it could be killed: {proc.stderr.read()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.h5")}
    assert kept, "no shard was complete at the kill"
    # a shard damaged after the kill must be redone, not trusted
    victim = sorted(kept)[0]
    with open(out / "shards" / victim, "r+b") as fh:
        fh.seek(200)
        fh.write(b"\0" * 64)
    rerun = subprocess.run(args, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming" in rerun.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.h5")}
    untouched = [n for n in kept if n != victim and after.get(n) == kept[n]]
    assert untouched, "no complete shard was kept"
    assert after[victim] != kept[victim], "the damaged shard was kept"
    assert not list((out / "shards").glob(".*.partial"))
    assert not (out / ".work").exists()
    assert store_gt(out) == bcftools_gt(vcf)


def test_rerun_with_other_settings_restarts_clean(tmp_path, key_file):
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key
    from hpcgen.store import GenotypeStore

    vcf = write_vcf(tmp_path / "c.vcf", random_vcf_text(n_samples=10, n_records=300, seed=4))
    out = tmp_path / "store"
    ingest(vcf, out, key=load_key(key_file), shard_size_bp=200_000)
    n_small = len(GenotypeStore.open(out).shards)
    ingest(vcf, out, key=load_key(key_file), shard_size_bp=50_000_000)
    st = GenotypeStore.open(out)
    assert len(st.shards) == 2 < n_small
    assert sorted(p.name for p in (out / "shards").glob("*.h5")) == sorted(s.file.split("/")[1] for s in st.shards)
    assert store_gt(out) == bcftools_gt(vcf)


def test_second_concurrent_ingest_is_refused(tmp_path, key_file):
    import fcntl

    from conftest import run_hpcgen

    vcf = write_vcf(tmp_path / "c.vcf", random_vcf_text(n_samples=4, n_records=20, seed=2))
    work = tmp_path / "store" / ".work"
    work.mkdir(parents=True)
    with open(work / "lock", "a+") as held:  # what a running ingest holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run_hpcgen("ingest", str(vcf), "--out", str(tmp_path / "store"), "--key-file", str(key_file))
    assert proc.returncode == 2 and "another hpcgen ingest is writing this store" in proc.stderr
    assert not (tmp_path / "store" / "manifest.json").exists()
    assert run_hpcgen("ingest", str(vcf), "--out", str(tmp_path / "store"), "--key-file", str(key_file)).returncode == 0
