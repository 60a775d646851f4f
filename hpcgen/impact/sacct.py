"""Read Slurm accounting: batched ``sacct`` calls over a run's jobs, one row per job (steps folded in)."""
from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any, Iterable

from hpcgen.errors import HpcgenError

FIELDS = [
    "JobID", "JobName", "State", "ElapsedRaw", "CPUTimeRAW", "TotalCPU", "AllocCPUS", "AllocTRES", "MaxRSS",
    "ConsumedEnergyRaw", "Start", "End", "NodeList", "Submit",
]
BATCH = 100  # job ids per sacct call: one call per hundred jobs, never one per job

_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> float | None:
    """Bytes from a sacct size (``123456K``, ``1.5G``, ``0``); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"([0-9.]+)([KMGT]?)", text)
    if not match:
        return None
    return float(match.group(1)) * _UNITS.get(match.group(2), 1)


def parse_duration(text: str) -> float | None:
    """Seconds from a sacct duration (``[D-][HH:]MM:SS[.mmm]``); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
    parts = [float(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    h, m, s = parts
    return days * 86400 + h * 3600 + m * 60 + s


def parse_tres(text: str) -> dict[str, str]:
    """``billing=1,cpu=2,gres/gpu=2,mem=2G,node=1`` -> mapping."""
    out = {}
    for item in (text or "").split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key] = value
    return out


def _main_id(job_id: str) -> str:
    return job_id.split("_")[0].split(".")[0]


def run_sacct(ids: list[str]) -> str:
    """One sacct call for these (main) job ids, every run of a requeued job included (-D)."""
    exe = shutil.which("sacct")
    if exe is None:
        raise HpcgenError("sacct not found: Slurm accounting is needed for jobs run on a Slurm profile")
    cmd = [exe, "-D", "--parsable2", "--noheader", "-o", ",".join(FIELDS), "-j", ",".join(ids)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or "accounting storage is disabled" in proc.stderr:
        raise HpcgenError(f"sacct failed ({proc.stderr.strip() or proc.returncode}): is slurmdbd running?")
    return proc.stdout


def fold(text: str) -> dict[str, dict[str, Any]]:
    """Rows of sacct text -> one record per job id (array tasks ``123_4`` kept apart).

    Steps (``.batch``, ``.0``) give the peak RSS and, where the job line has none, energy. Several runs of a
    requeued job (-D) add up their elapsed and CPU times; the state is the last run's.
    """
    jobs: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        row = dict(zip(FIELDS, line.split("|")))
        jid = row["JobID"]
        base, _, step = jid.partition(".")
        if "[" in base:  # a pending array range: nothing has run
            continue
        job = jobs.setdefault(base, {"job_id": base, "runs": 0, "elapsed_s": 0.0, "cpu_time_s": 0.0,
                                     "total_cpu_s": 0.0, "max_rss_bytes": None, "energy_j": 0.0,
                                     "state": None, "alloc_cpus": 0, "gpus": 0, "mem_bytes": None,
                                     "start": None, "end": None, "node_list": None, "name": None, "submit": None})
        energy = float(row["ConsumedEnergyRaw"]) if row["ConsumedEnergyRaw"].strip() not in {"", "0"} else 0.0
        rss = parse_size(row["MaxRSS"])
        if rss is not None:
            job["max_rss_bytes"] = max(job["max_rss_bytes"] or 0, rss)
        if step:
            job["step_energy_j"] = job.get("step_energy_j", 0.0) + energy
            continue
        tres = parse_tres(row["AllocTRES"])
        job["runs"] += 1
        job["name"] = row["JobName"]
        job["state"] = row["State"].split(" ")[0]
        job["elapsed_s"] += float(row["ElapsedRaw"] or 0)
        job["cpu_time_s"] += float(row["CPUTimeRAW"] or 0)
        job["total_cpu_s"] += parse_duration(row["TotalCPU"]) or 0.0
        job["alloc_cpus"] = int(row["AllocCPUS"] or 0)
        job["gpus"] = int(tres.get("gres/gpu", 0) or 0)
        job["mem_bytes"] = parse_size(tres.get("mem", "")) if tres.get("mem") else job["mem_bytes"]
        job["energy_j"] += energy
        job["start"] = job["start"] or row["Start"]
        job["submit"] = job["submit"] or row.get("Submit")  # the first run's: a requeue resubmits
        job["end"] = row["End"]
        job["node_list"] = row["NodeList"]
    for job in jobs.values():
        # the job line carries the energy when the plugin reports it there; otherwise sum the steps'
        if not job["energy_j"]:
            job["energy_j"] = job.pop("step_energy_j", 0.0)
        job.pop("step_energy_j", None)
    return jobs


def query(job_ids: Iterable[str]) -> tuple[dict[str, dict[str, Any]], int]:
    """Accounting of these jobs (``123`` or ``123_4``) with one sacct call per :data:`BATCH` main ids.

    Returns
    -------
    (rows, calls)
        Rows keyed by job id, and the number of sacct calls made.
    """
    mains = sorted({_main_id(j) for j in job_ids}, key=lambda x: int(x) if x.isdigit() else 0)
    rows: dict[str, dict[str, Any]] = {}
    calls = 0
    for i in range(0, len(mains), BATCH):
        rows.update(fold(run_sacct(mains[i:i + BATCH])))
        calls += 1
    return rows, calls
