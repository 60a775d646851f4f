"""hpcgen.dispatch on the real dev Slurm cluster (slurm/devcluster; `make test` starts it as root).

Run folders are full of shell metacharacters on purpose: every path reaches sbatch, srun and the shell.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

import dispatch_helpers as h
from hpcgen.dispatch import JobFailedError, Resources, run_array, run_stage, submit_stage
from hpcgen.dispatch.records import read_records
from hpcgen.errors import InputError
from hpcgen.impact.sacct import parse_duration, parse_size, parse_tres

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return tmp_path / "run $HOME;'q' (1)"


def _wait_for(path: Path, predicate=lambda text: True, timeout_s: float = 60) -> str:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if path.exists():
            text = path.read_text()
            if predicate(text):
                return text
        time.sleep(0.2)
    raise AssertionError(f"{path} not ready after {timeout_s}s")


def test_job_runs_and_is_recorded(cluster, run_dir):
    assert run_stage(h.add, 2, 3, profile=cluster, name="add", run_dir=run_dir) == 5
    rows = h.read_jsonl(run_dir / "jobs.jsonl")
    assert [r["state"] for r in rows] == ["SUBMITTED", "COMPLETED"]
    job_id = rows[0]["job_id"]
    assert job_id.isdigit() and rows[1]["job_id"] == job_id
    (row,) = h.sacct_rows(job_id, "JobName,Account,Partition", name="add")
    assert row["State"] == "COMPLETED" and row["JobName"] == "add"
    assert row["Account"] == "hpcgen" and row["Partition"] == "debug"
    assert (run_dir / "slurm").stat().st_mode & 0o777 == 0o700  # pickled inputs and results stay private


def test_array_over_shards_split_at_the_cap(cluster, run_dir, tmp_path):
    # a copy of the devcluster profile whose array cap is 3: 7 shards must become 3 arrays
    text = (REPO / "slurm/profiles/devcluster.yaml").read_text().replace("array_cap: 1000", "array_cap: 3")
    profile = tmp_path / "capped.yaml"
    profile.write_text(text.replace("name: devcluster", "name: capped"))
    shards = [(i * 100, (i + 1) * 100) for i in range(7)]
    assert run_array(h.shard_sum, shards, profile=str(profile), name="shards", run_dir=run_dir) == \
        [sum(range(a, b)) for a, b in shards]
    recs = read_records(run_dir)
    assert sorted(r["array_index"] for r in recs) == list(range(7))
    assert all(r["state"] == "COMPLETED" for r in recs)
    arrays = {r["job_id"].split("_")[0] for r in recs}
    assert len(arrays) == 3
    sizes = {a: sum(r["job_id"].split("_")[0] == a for r in recs) for a in arrays}  # a 1-task chunk is a plain job
    assert sorted(sizes.values()) == [1, 3, 3]
    states = [row["State"] for a in arrays for row in h.sacct_rows(a, "JobName", name="shards", count=sizes[a])]
    assert states == ["COMPLETED"] * 7


def test_gpu_job_sees_its_devices(cluster, run_dir):
    env = run_stage(h.visible_devices, profile=cluster, resources=Resources(gpus_per_node=2), name="gpu", run_dir=run_dir)
    assert len(env["CUDA_VISIBLE_DEVICES"].split(",")) == 2
    assert env["ROCR_VISIBLE_DEVICES"] == env["CUDA_VISIBLE_DEVICES"]
    (row,) = h.sacct_rows(env["SLURM_JOB_ID"], "AllocTRES")
    assert "gres/gpu=2" in row["AllocTRES"]


def test_failing_job_error_and_log_tail_reach_the_user(cluster, run_dir):
    with pytest.raises(JobFailedError) as err:
        run_stage(h.fail_loudly, "chr7_1-500", profile=cluster, name="badshard", run_dir=run_dir)
    message = str(err.value)
    assert "stage 'badshard'" in message and "FAILED" in message
    assert "ValueError: shard chr7_1-500 is corrupt (test failure)" in message.splitlines()[0]
    assert "dispatch_helpers.py" in message  # the traceback tail from the job's stderr
    assert "checksum mismatch detected" in message  # the job's own stdout tail
    assert err.value.state == "FAILED"
    assert read_records(run_dir)[0]["state"] == "FAILED"


def test_failed_shard_is_retried(cluster, run_dir, tmp_path):
    marker = tmp_path / "flaky"
    assert run_array(h.fail_once, [str(marker)], profile=cluster, name="flaky", run_dir=run_dir, max_retries=1) == \
        ["ok on retry"]
    states = [r["state"] for r in h.read_jsonl(run_dir / "jobs.jsonl")]
    assert states == ["SUBMITTED", "FAILED", "SUBMITTED", "COMPLETED"]


def test_cancelled_job(cluster, run_dir, tmp_path):
    started = tmp_path / "started"
    handle = submit_stage(h.sleep_then, 120, str(started), profile=cluster, name="sleepy", run_dir=run_dir)
    _wait_for(started)
    handle.cancel()
    t0 = time.monotonic()
    with pytest.raises(JobFailedError) as err:
        handle.result(timeout_s=60)
    assert err.value.state == "CANCELLED" and "cancelled" in str(err.value)
    assert time.monotonic() - t0 < 60
    (row,) = h.sacct_rows(handle.job_id, "JobName")
    assert row["State"].startswith("CANCELLED")


def test_checkpointable_job_preempted_requeued_and_resumed(cluster, run_dir, tmp_path):
    progress = tmp_path / "progress"
    handle = submit_stage(h.CountingTask(), 10, 0.4, str(progress), profile=cluster, name="ckpt", run_dir=run_dir)
    _wait_for(progress, lambda t: t.strip().isdigit() and int(t) >= 3)
    handle.job._interrupt()  # what Slurm does on preemption: SIGTERM, then USR2 -> checkpoint() -> requeue
    out = handle.result(timeout_s=150)
    assert out["step"] == 10
    first, second = out["runs"]
    assert first == {"restart": 0, "from_step": 0}
    assert second["restart"] == 1 and second["from_step"] >= 3  # resumed, not restarted from zero
    rows = h.sacct_rows(handle.job_id, "ElapsedRaw,CPUTimeRAW")
    assert [r["State"] for r in rows][-1] == "COMPLETED" and len(rows) == 2  # two runs of the same job id
    # impact counts both runs of the requeued job
    from hpcgen.impact import compute_impact

    (job,) = compute_impact(run_dir)["jobs"]
    assert job["runs"] == 2 and job["state"] == "COMPLETED"
    assert job["elapsed_s"] == sum(int(r["ElapsedRaw"]) for r in rows)
    assert job["cpu_hours"] == pytest.approx(sum(int(r["CPUTimeRAW"]) for r in rows) / 3600)


def test_plain_requeue_resumes_from_file_checkpoint(cluster, run_dir, tmp_path):
    state = tmp_path / "state.json"
    handle = submit_stage(h.count_with_file_checkpoint, 16, 0.4, str(state), profile=cluster, name="ckfile",
                          run_dir=run_dir)
    _wait_for(state, lambda t: '"step": 3' in t)
    subprocess.run(["scontrol", "requeue", handle.job_id], check=True)
    out = handle.result(timeout_s=150)
    assert out["step"] == 16
    assert [r["restart"] for r in out["runs"]] == [0, 1]
    assert out["runs"][1]["from_step"] >= 3


def test_request_refused_before_submission(cluster, run_dir):
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2))
    with pytest.raises(InputError, match="asks 5 GPUs per node but a devnode node has 4"):
        run_stage(h.add, 1, 2, profile=cluster, resources=Resources(gpus_per_node=5), name="refused-gpus",
                  run_dir=run_dir)
    with pytest.raises(InputError, match="an account is required"):
        run_stage(h.add, 1, 2, profile="adastra-mi250", resources=Resources(gpus_per_node=9), name="refused-account",
                  run_dir=run_dir)
    assert not run_dir.exists()  # nothing written, nothing submitted
    seen = subprocess.run(["sacct", "-n", "-X", "-S", since, "--name", "refused-gpus,refused-account", "-o", "JobID"],
                          capture_output=True, text=True, check=True).stdout
    assert seen.strip() == ""


@pytest.mark.parametrize("profile", ["devcluster", "adastra-mi250", "adastra-mi300", "adastra-genoa"])
def test_site_scripts_pass_the_real_sbatch(cluster, profile, tmp_path):
    """Each site's rendered script is accepted by this cluster's sbatch --test-only (node features mimic the sites)."""
    from hpcgen.dispatch import render_sbatch, load_profile

    gpus = min(1, load_profile(profile).node.gpus)
    script = tmp_path / "job.sbatch"
    script.write_text(render_sbatch(profile, Resources(gpus_per_node=gpus, mem_gb=1, time_min=30), "probe",
                                    account="hpcgen", run_dir=tmp_path)
                      .replace("module ", ": module "))  # no environment modules on the dev cluster
    proc = subprocess.run(["sbatch", "--test-only", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0 and "to start at" in proc.stderr, proc.stderr


def test_impact_from_sacct_matches_sacct(cluster, run_dir, tmp_path):
    from conftest import run_hpcgen

    burn = run_stage(h.burn, 2.0, 96, profile=cluster, resources=Resources(mem_gb=1), name="burn", run_dir=run_dir)
    assert burn["cpu_s"] >= 2.0
    env = run_stage(h.visible_devices, profile=cluster, resources=Resources(gpus_per_node=2), name="gpu", run_dir=run_dir)
    run_array(h.square, [1, 2, 3], profile=cluster, name="sq", run_dir=run_dir)
    job_ids = [r["job_id"] for r in read_records(run_dir)]
    sacct = {jid: h.sacct_rows(jid, "ElapsedRaw,CPUTimeRAW,TotalCPU,AllocTRES,MaxRSS", steps=True) for jid in job_ids}
    proc = run_hpcgen("impact", str(run_dir), "--out", str(tmp_path / "impact"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "impact" / "impact.json").read_text())
    assert data["sacct_calls"] == 1  # one batched call for the whole run
    jobs = {j["job_id"]: j for j in data["jobs"]}
    assert set(jobs) == set(job_ids)
    for jid, rows in sacct.items():
        alloc = next(r for r in rows if r["JobID"] == jid)
        job = jobs[jid]
        assert job["state"] == "COMPLETED" and job["source"] == "sacct"
        assert job["elapsed_s"] == int(alloc["ElapsedRaw"])
        assert job["cpu_hours"] == pytest.approx(int(alloc["CPUTimeRAW"]) / 3600)
        gpus = int(parse_tres(alloc["AllocTRES"]).get("gres/gpu", 0))
        assert job["gpu_hours"] == pytest.approx(gpus * int(alloc["ElapsedRaw"]) / 3600)
        rss = [parse_size(r["MaxRSS"]) for r in rows if r["MaxRSS"]]
        if rss:
            assert job["max_rss_mb"] == pytest.approx(max(rss) / 2**20)
        # ConsumedEnergy is 0 here (no energy plugin): the estimate, from sacct's own TotalCPU and memory
        used_h = parse_duration(alloc["TotalCPU"]) / 3600
        mem_gb = parse_size(parse_tres(alloc["AllocTRES"])["mem"]) / 1e9
        wall_h = int(alloc["ElapsedRaw"]) / 3600
        expected = (used_h * 12.0 + gpus * wall_h * 0.0 + mem_gb * wall_h * 0.3725) * 1.56 / 1000
        assert job["energy_method"] == "estimate (Green Algorithms)"
        assert job["energy_kwh"] == pytest.approx(expected, rel=1e-9)
    burn_job = next(j for j in data["jobs"] if j["stage"] == "burn")
    assert burn_job["cpu_used_hours"] * 3600 >= 1.9  # sacct saw the burn loop's CPU time
    assert burn_job["max_rss_mb"] >= 90  # and its 96 MB buffer
    assert jobs[env["SLURM_JOB_ID"]]["gpus"] == 2
    assert "burn" in proc.stdout and "TOTAL" in proc.stdout
    # a ledger whose id now names another job (ids wrap; a controller restarted without state reuses them):
    # the record says it was submitted 40 days after sacct's job with that id, so it is not accounted
    import datetime

    from hpcgen.dispatch.records import append_record
    from hpcgen.impact import compute_impact

    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=40)).isoformat(timespec="seconds")
    append_record(run_dir, {"job_id": burn_job["job_id"], "stage": "burn", "submitted": later})
    again = {j["job_id"]: j for j in compute_impact(run_dir)["jobs"]}
    assert "id was reused" in again[burn_job["job_id"]]["source"] and again[burn_job["job_id"]].get("cpu_hours") is None
    assert all(again[j]["source"] == "sacct" for j in again if j != burn_job["job_id"])


def test_dask_cluster_on_slurm(cluster, tmp_path):
    from distributed import Client

    from hpcgen.dispatch import dask_cluster

    from hpcgen.dispatch.executors import module_roots

    dc = dask_cluster(cluster, Resources(cpus_per_task=1, mem_gb=1, time_min=10), log_directory=str(tmp_path),
                      pythonpath=module_roots(h.shard_sum), scheduler_options={"dashboard_address": None})
    try:
        assert "#SBATCH -A hpcgen" in dc.job_script() and "#SBATCH -p debug" in dc.job_script()
        dc.scale(1)
        with Client(dc) as client:
            client.wait_for_workers(1, timeout=90)
            assert client.submit(h.shard_sum, (0, 1000)).result(timeout=60) == sum(range(1000))
            info = client.run(h.visible_devices)
            assert all(v["SLURM_JOB_ID"] for v in info.values())  # the worker runs inside a Slurm job
    finally:
        dc.close()


def test_job_refused_by_sbatch_itself(cluster, run_dir, monkeypatch):
    """A request our profile allows but this cluster cannot run (Jean Zay's 24 cores per H100 on a 4-core node):
    sbatch refuses it (EnforcePartLimits=ALL, like the centres) and the user gets Slurm's reason in one line."""
    from hpcgen.dispatch.executors import SubmissionRefused

    monkeypatch.setenv("HPCGEN_ACCOUNT", "hpcgen")
    with pytest.raises(SubmissionRefused) as err:
        run_stage(h.add, 1, 2, profile="jean-zay-h100", resources=Resources(gpus_per_node=1), name="h100",
                  run_dir=run_dir)
    message = str(err.value)
    assert message.startswith("sbatch refused stage 'h100' on profile jean-zay-h100: ") and "\n" not in message
    assert "sbatch: error" in message
    assert not (run_dir / "jobs.jsonl").exists()


def test_start_script_is_idempotent(cluster):
    import os

    if os.geteuid() != 0:
        pytest.skip("start.sh runs as root")
    proc = subprocess.run(["bash", str(REPO / "slurm/devcluster/start.sh")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "already up" in proc.stdout
    pids = REPO / "slurm/devcluster/run/pids"
    for daemon in ("slurmctld", "slurmd", "slurmdbd"):
        assert (pids / f"{daemon}.pid").read_text().strip().isdigit()
