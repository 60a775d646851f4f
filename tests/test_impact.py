"""hpcgen impact on local runs (process accounting) and its formulas; Slurm runs are checked in test_slurm.py."""
from __future__ import annotations

import datetime

import json

import pytest
import yaml
from conftest import run_hpcgen

import dispatch_helpers as h
from hpcgen.dispatch import Resources, run_array, run_stage
from hpcgen.impact.accounting import green_algorithms_kwh
from hpcgen.impact.sacct import fold, parse_duration, parse_size, parse_tres


def test_green_algorithms_formula_by_hand():
    # Lannelongue et al. 2021: E = t x (n_c x P_c x u_c + n_m x P_m) x PUE (+ GPUs likewise), in kWh
    constants = {"watts_per_core": 12.0, "watts_per_gpu": 300.0, "watts_per_gb_mem": 0.3725, "pue": 1.67}
    # 2 cores fully used for 3 h = 6 core-hours; one GPU for 3 h; 16 GB for 3 h
    expected = 3 * (2 * 12.0 * 1.0 + 1 * 300.0 + 16 * 0.3725) * 1.67 / 1000
    assert green_algorithms_kwh(6.0, 3.0, 16.0, 3.0, constants) == pytest.approx(expected, rel=1e-12)


def test_sacct_value_parsers():
    assert parse_size("65536K") == 65536 * 1024 and parse_size("1.5G") == 1.5 * 2**30 and parse_size("") is None
    assert parse_duration("00:02.500") == 2.5 and parse_duration("1-02:03:04") == 93784
    assert parse_duration("03:04") == 184 and parse_duration("") is None
    assert parse_tres("billing=2,cpu=2,gres/gpu=2,mem=2G,node=1")["gres/gpu"] == "2"


def test_fold_adds_up_requeued_runs_and_takes_peak_rss():
    header = "JobID|JobName|State|ElapsedRaw|CPUTimeRAW|TotalCPU|AllocCPUS|AllocTRES|MaxRSS|ConsumedEnergyRaw|Start|End|NodeList|Submit"
    assert header.split("|") == __import__("hpcgen.impact.sacct", fromlist=["FIELDS"]).FIELDS
    rows = [
        "7|ck|REQUEUED|10|20|00:05.000|2|cpu=2,mem=1G,node=1||0|2026-01-01T00:00:00|2026-01-01T00:00:10|n1|2025-12-31T23:59:58",
        "7.batch|batch|CANCELLED|10|20|00:05.000|2|cpu=2,mem=1G,node=1|1000K|0|2026-01-01T00:00:00|2026-01-01T00:00:10|n1|2025-12-31T23:59:58",
        "7|ck|COMPLETED|30|60|00:20.000|2|cpu=2,gres/gpu=1,mem=1G,node=1||5400|2026-01-01T00:01:00|2026-01-01T00:01:30|n1|2026-01-01T00:00:40",
        "7.0|python|COMPLETED|30|60|00:20.000|2|cpu=2,mem=1G,node=1|3000K|0|2026-01-01T00:01:00|2026-01-01T00:01:30|n1|2026-01-01T00:00:40",
        "8_[0-3]|arr|PENDING|0|0|00:00:00|1|||0|Unknown|Unknown|None|2026-01-01T00:00:00",
    ]
    (job,) = fold("\n".join(rows)).values()
    assert job["runs"] == 2 and job["state"] == "COMPLETED" and job["elapsed_s"] == 40 and job["cpu_time_s"] == 80
    assert job["total_cpu_s"] == 25 and job["max_rss_bytes"] == 3000 * 1024 and job["gpus"] == 1
    assert job["energy_j"] == 5400
    assert job["submit"] == "2025-12-31T23:59:58"  # the first run's (a requeue resubmits)


def test_same_submission_tells_a_reused_job_id():
    from hpcgen.impact.accounting import same_submission

    local = datetime.datetime(2026, 11, 28, 15, 0, 0).astimezone()  # sacct prints local time without a zone
    sacct_submit = local.replace(tzinfo=None).isoformat(timespec="seconds")
    recorded = local.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    assert same_submission(recorded, sacct_submit)
    later = (local + datetime.timedelta(seconds=5)).astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    assert same_submission(later, sacct_submit)  # the ledger writes just after submitting
    reused = (local + datetime.timedelta(days=40)).astimezone(datetime.timezone.utc).isoformat(timespec="seconds")
    assert not same_submission(reused, sacct_submit) and not same_submission(sacct_submit, reused.replace("+00:00", ""))
    assert same_submission(None, sacct_submit) and same_submission(recorded, "Unknown")


def test_impact_of_a_local_run(tmp_path):
    run = tmp_path / "run"
    run_stage(h.burn, 0.4, 32, name="qc", run_dir=run)
    run_array(h.square, [1, 2, 3], name="ingest-shard", run_dir=run, workers=1)
    proc = run_hpcgen("impact", str(run))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["stage", "jobs", "failed"]
    assert [ln.split()[0] for ln in lines[1:3]] == ["qc", "ingest-shard"] and lines[4].startswith("TOTAL")
    assert "Green Algorithms" in proc.stdout and "gCO2e/kWh" in proc.stdout
    out = run / "impact"
    data = json.loads((out / "impact.json").read_text())
    assert data["schema"] == "hpcgen.impact/1" and data["sacct_calls"] == 0
    assert data["factors"]["grid_source"] and data["factors"]["grid_date"]
    recs = {r["job_id"]: r for r in h.read_jsonl(run / "jobs.jsonl")}
    for job in data["jobs"]:
        usage = recs[job["job_id"]]["usage"]
        cpu_h = (usage["cpu_user_s"] + usage["cpu_sys_s"]) / 3600
        assert job["cpu_hours"] == pytest.approx(cpu_h)
        assert job["max_rss_mb"] == pytest.approx(usage["max_rss_kb"] / 1024)
        mem_gb = usage["max_rss_kb"] * 1024 / 1e9
        energy = (cpu_h * 12.0 + mem_gb * usage["wall_s"] / 3600 * 0.3725) * 1.0 / 1000  # local.yaml: 12 W, PUE 1
        assert job["energy_kwh"] == pytest.approx(energy) and job["energy_method"] == "estimate (Green Algorithms)"
        assert job["carbon_gco2e"] == pytest.approx(energy * data["factors"]["grid_gco2e_per_kwh"])
        assert job["cost_eur"] == pytest.approx(cpu_h * data["factors"]["eur_per_cpu_hour"])
    qc = next(j for j in data["jobs"] if j["stage"] == "qc")
    assert qc["cpu_hours"] * 3600 >= 0.35  # the burn loop's CPU time is seen
    by_stage = {s["stage"]: s for s in data["stages"]}
    assert by_stage["ingest-shard"]["jobs"] == 3
    shard_energy = sum(j["energy_kwh"] for j in data["jobs"] if j["stage"] == "ingest-shard")
    assert by_stage["ingest-shard"]["energy_kwh"] == pytest.approx(shard_energy)
    assert data["total"]["carbon_gco2e"] == pytest.approx(sum(j["carbon_gco2e"] for j in data["jobs"]))
    assert (out / "impact.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "jobs.tsv").read_text().count("\n") == 5


def test_impact_uses_the_configured_grid_intensity(tmp_path):
    run = tmp_path / "run"
    run_stage(h.burn, 0.1, 8, name="qc", run_dir=run, resources=Resources(cpus_per_task=1))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"impact": {"grid_gco2e_per_kwh": 1000.0, "grid_source": "test", "grid_date": "2030"}}))
    proc = run_hpcgen("impact", str(run), "--config", str(cfg), "--out", str(tmp_path / "imp"), "--json")
    assert proc.returncode == 0, proc.stderr
    total = json.loads(proc.stdout)["total"]
    assert total["carbon_gco2e"] == pytest.approx(total["energy_kwh"] * 1000.0)


def test_impact_of_a_folder_that_is_not_a_run(tmp_path):
    proc = run_hpcgen("impact", str(tmp_path))
    assert proc.returncode == 2 and "jobs.jsonl" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "impact").exists()


def test_impact_allow_empty_for_a_run_that_dispatched_nothing(tmp_path):
    table = tmp_path / "out" / "impact.txt"
    proc = run_hpcgen("impact", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--allow-empty",
                      "--table", str(table))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out" / "impact.json").read_text())
    assert data["jobs"] == [] and data["total"]["jobs"] == 0
    assert table.read_text().startswith("stage") and "TOTAL" in proc.stdout


def test_measured_energy_is_used_when_the_cluster_reports_it():
    from hpcgen.impact.accounting import _slurm_job

    rec = {"energy_constants": {"watts_per_core": 4.375, "watts_per_gpu": 280.0, "watts_per_gb_mem": 0.3725,
                                "pue": 1.2}}
    acct = {"elapsed_s": 3600.0, "mem_bytes": 64e9, "alloc_cpus": 8, "gpus": 1, "cpu_time_s": 8 * 3600.0,
            "total_cpu_s": 4 * 3600.0, "max_rss_bytes": 2**30, "energy_j": 1.8e6, "state": "COMPLETED", "runs": 1,
            "start": "s", "end": "e", "node_list": "g1001"}
    job = _slurm_job(rec, acct)
    assert job["energy_method"].startswith("measured") and job["energy_kwh"] == pytest.approx(0.5 * 1.2)
    assert job["cpu_hours"] == 8 and job["gpu_hours"] == 1 and job["max_rss_mb"] == 1024
    acct["energy_j"] = 0.0
    estimate = _slurm_job(rec, acct)
    assert estimate["energy_method"] == "estimate (Green Algorithms)"
    assert estimate["energy_kwh"] == pytest.approx((4 * 4.375 + 280.0 + 64 * 0.3725) * 1.2 / 1000)
