"""Per-job impact: hours, memory, energy (measured or Green Algorithms estimate), carbon and cost.

Green Algorithms (Lannelongue, Grealey & Inouye, Adv. Sci. 2021):
energy_kWh = (core-hours used x W_per_core + GPU-hours x W_per_GPU + memory_GB x hours x W_per_GB) x PUE / 1000.
"Core-hours used" is CPU time (TotalCPU in sacct, user + system from getrusage locally): Green Algorithms'
cores x usage factor. GPUs are counted at full use (their usage is not measured here).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from hpcgen.dispatch.records import read_records

J_PER_KWH = 3.6e6


def _hours_between(start: str | None, end: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600
    except (TypeError, ValueError):
        return None


def green_algorithms_kwh(core_hours_used: float, gpu_hours: float, mem_gb: float, wall_h: float,
                         constants: dict[str, Any]) -> float:
    """Energy in kWh drawn from the grid (PUE included), by the Green Algorithms formula."""
    watt_hours = (core_hours_used * constants["watts_per_core"] + gpu_hours * constants.get("watts_per_gpu", 0.0)
                  + mem_gb * wall_h * constants.get("watts_per_gb_mem", 0.3725))
    return watt_hours * constants["pue"] / 1000.0


SAME_JOB_TOLERANCE_S = 600  # recorded submission vs sacct's Submit: clock skew and submission latency


def same_submission(recorded: str | None, sacct_submit: str | None, tolerance_s: float = SAME_JOB_TOLERANCE_S) -> bool:
    """Whether sacct's row for a job id is the job the ledger recorded, by submission time.

    Slurm reuses job ids (they wrap at MaxJobId; a controller restarted without its state starts again), so an
    id alone may name another, later or earlier, job. ``recorded`` is jobs.jsonl's ``submitted`` (ISO 8601, UTC,
    written just after submission); ``sacct_submit`` is sacct's Submit (local time, no zone). Unknown times
    compare as the same job.
    """
    from datetime import datetime

    if not recorded or not sacct_submit or sacct_submit in {"Unknown", "None"}:
        return True
    try:
        rec_t = datetime.fromisoformat(recorded)
        acct_t = datetime.fromisoformat(sacct_submit)
    except ValueError:
        return True
    rec_t = rec_t if rec_t.tzinfo else rec_t.astimezone()
    acct_t = acct_t if acct_t.tzinfo else acct_t.astimezone()  # sacct prints this machine's local time
    return abs((rec_t - acct_t).total_seconds()) <= tolerance_s


def _slurm_job(rec: dict[str, Any], acct: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"source": "sacct"}
    if acct is None:
        out.update(source="jobs.jsonl (not in sacct)", state=rec.get("state", "UNKNOWN"))
        return out
    if not same_submission(rec.get("submitted"), acct.get("submit")):
        out.update(source=f"jobs.jsonl (sacct's job {rec['job_id']} was submitted at {acct.get('submit')}, this one at "
                          f"{rec.get('submitted')}: the id was reused; not accounted)", state=rec.get("state", "UNKNOWN"))
        return out
    wall_h = acct["elapsed_s"] / 3600
    mem_gb = (acct["mem_bytes"] or 0) / 1e9
    out.update(
        state=acct["state"], runs=acct["runs"], elapsed_s=acct["elapsed_s"], cpus=acct["alloc_cpus"],
        gpus=acct["gpus"], cpu_hours=acct["cpu_time_s"] / 3600, cpu_used_hours=acct["total_cpu_s"] / 3600,
        gpu_hours=acct["gpus"] * wall_h, max_rss_mb=None if acct["max_rss_bytes"] is None else acct["max_rss_bytes"] / 2**20,
        mem_gb=mem_gb, wall_h=wall_h, start=acct["start"], end=acct["end"], node_list=acct["node_list"],
    )
    if acct["energy_j"] > 0:
        out["energy_it_kwh"] = acct["energy_j"] / J_PER_KWH
        out["energy_kwh"] = out["energy_it_kwh"] * rec["energy_constants"]["pue"]
        out["energy_method"] = "measured (sacct ConsumedEnergyRaw) x PUE"
    else:
        out["energy_kwh"] = green_algorithms_kwh(out["cpu_used_hours"], out["gpu_hours"], mem_gb, wall_h,
                                                 rec["energy_constants"])
        out["energy_method"] = "estimate (Green Algorithms)"
    return out


def _local_job(rec: dict[str, Any]) -> dict[str, Any]:
    usage = rec.get("usage") or {}
    wall_s = usage.get("wall_s")
    if wall_s is None:
        hours = _hours_between(rec.get("start"), rec.get("end"))
        wall_s = hours * 3600 if hours is not None else 0.0
    wall_h = wall_s / 3600
    res = rec.get("resources", {})
    cpu_used_h = (usage.get("cpu_user_s", 0.0) + usage.get("cpu_sys_s", 0.0)) / 3600
    gpus = res.get("gpus_per_node", 0) * res.get("nodes", 1)
    rss_mb = usage.get("max_rss_kb", 0) / 1024 if usage else None
    mem_gb = (rss_mb or 0) * 2**20 / 1e9
    out = {
        "source": "process accounting (getrusage)", "state": rec.get("state", "UNKNOWN"), "runs": 1,
        "elapsed_s": wall_s, "cpus": res.get("cpus_per_task", 1) * res.get("tasks_per_node", 1) * res.get("nodes", 1),
        "gpus": gpus, "cpu_hours": cpu_used_h, "cpu_used_hours": cpu_used_h, "gpu_hours": gpus * wall_h,
        "max_rss_mb": rss_mb, "mem_gb": mem_gb, "wall_h": wall_h, "start": rec.get("start"), "end": rec.get("end"),
        "node_list": rec.get("host"),
    }
    out["energy_kwh"] = green_algorithms_kwh(cpu_used_h, out["gpu_hours"], mem_gb, wall_h, rec["energy_constants"])
    out["energy_method"] = "estimate (Green Algorithms)"
    return out


def job_impacts(run_dir, impact_cfg) -> tuple[list[dict[str, Any]], int]:
    """Every job of a run with its impact; the number of sacct calls made (batched).

    Parameters
    ----------
    run_dir
        The run folder holding jobs.jsonl.
    impact_cfg
        The ``impact`` config section (grid intensity, prices).
    """
    from hpcgen.impact import sacct

    records = read_records(run_dir)
    slurm_ids = [r["job_id"] for r in records if r.get("scheduler") == "slurm"]
    acct, calls = sacct.query(slurm_ids) if slurm_ids else ({}, 0)
    jobs = []
    for rec in records:
        base = {"job_id": rec["job_id"], "stage": rec["stage"], "profile": rec.get("profile"),
                "scheduler": rec.get("scheduler"), "array_index": rec.get("array_index")}
        if rec.get("scheduler") == "slurm":
            base.update(_slurm_job(rec, acct.get(rec["job_id"])))
        else:
            base.update(_local_job(rec))
        energy = base.get("energy_kwh")
        base["carbon_gco2e"] = None if energy is None else energy * impact_cfg.grid_gco2e_per_kwh
        base["cost_eur"] = (base.get("cpu_hours", 0.0) or 0.0) * impact_cfg.eur_per_cpu_hour + \
            (base.get("gpu_hours", 0.0) or 0.0) * impact_cfg.eur_per_gpu_hour
        jobs.append(base)
    return jobs, calls


SUMMED = ["elapsed_s", "cpu_hours", "gpu_hours", "energy_kwh", "carbon_gco2e", "cost_eur"]


def totals(jobs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Totals per stage (in first-seen order) and over the run; max RSS is the peak, not a sum."""
    stages: dict[str, dict[str, Any]] = {}
    for job in jobs:
        st = stages.setdefault(job["stage"], {"stage": job["stage"], "jobs": 0, "failed": 0, "max_rss_mb": None,
                                              "estimated": False, **dict.fromkeys(SUMMED, 0.0)})
        st["jobs"] += 1
        st["failed"] += job.get("state") not in {"COMPLETED"}
        st["estimated"] |= job.get("energy_method", "").startswith("estimate")
        for key in SUMMED:
            st[key] += job.get(key) or 0.0
        if job.get("max_rss_mb") is not None:
            st["max_rss_mb"] = max(st["max_rss_mb"] or 0.0, job["max_rss_mb"])
    run = {"stage": "TOTAL", "jobs": len(jobs), "failed": sum(s["failed"] for s in stages.values()),
           "estimated": any(s["estimated"] for s in stages.values()),
           "max_rss_mb": max((s["max_rss_mb"] for s in stages.values() if s["max_rss_mb"] is not None), default=None),
           **{k: sum(s[k] for s in stages.values()) for k in SUMMED}}
    return list(stages.values()), run
