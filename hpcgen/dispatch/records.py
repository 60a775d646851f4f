"""The run's job ledger, RUN_DIR/jobs.jsonl: one JSON line per job event, read by ``hpcgen impact``.

A Slurm job is written twice: when submitted (state SUBMITTED) and when it ends; readers keep the last
line per ``job_id``. Local jobs are written once, with their process accounting (``usage``).
"""
from __future__ import annotations

import fcntl
import getpass
import json
import os
import resource
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import psutil

JOBS_FILE = "jobs.jsonl"
RECORD_SCHEMA = "hpcgen.dispatch.job/1"


def utc_now() -> str:
    """The current time, ISO 8601 in UTC with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_local_id() -> str:
    """A job id for an in-process job (``local-`` + 12 hex digits)."""
    return f"local-{uuid.uuid4().hex[:12]}"


def append_record(run_dir: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record to RUN_DIR/jobs.jsonl (see :func:`append_records`)."""
    append_records(run_dir, [record])


def append_records(run_dir: str | os.PathLike, records: list[dict[str, Any]]) -> None:
    """Append records to RUN_DIR/jobs.jsonl (created 0640), one line each, under an exclusive lock.

    All lines go in one ``write`` under ``flock``, so concurrent writers (array workers, two Snakemake
    rules) never interleave.
    """
    if not records:
        return
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps({"schema": RECORD_SCHEMA, **r}, sort_keys=True, default=str) + "\n" for r in records)
    fd = os.open(run_dir / JOBS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_records(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every job of a run, last record per ``job_id``, in first-seen order.

    A torn last line (a writer killed mid-write) is skipped; any other bad line is an error.
    """
    from hpcgen.errors import InputError

    path = Path(run_dir) / JOBS_FILE
    if not path.is_file():
        raise InputError("no jobs.jsonl: not a hpcgen run folder, or nothing was dispatched yet", path)
    latest: dict[str, dict[str, Any]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                continue
            raise InputError("not a JSON line", path, f"line {number}") from None
        if not isinstance(rec, dict) or "job_id" not in rec or "stage" not in rec:
            raise InputError("record without job_id/stage", path, f"line {number}")
        previous = latest.pop(rec["job_id"], None)
        latest[rec["job_id"]] = {**(previous or {}), **rec}
    return list(latest.values())


@dataclass
class UsageProbe:
    """Process accounting of an in-process call: CPU seconds of this process and its children, peak RSS.

    ``getrusage`` counts every thread of the process (numba / BLAS threads included); children count once
    they have been waited for.
    """

    wall0: float = 0.0
    self0: Any = None
    child0: Any = None
    rss0: int = 0

    def __enter__(self) -> "UsageProbe":
        self.wall0 = time.perf_counter()
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.rss0 = psutil.Process().memory_info().rss
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def result(self) -> dict[str, Any]:
        """CPU seconds (user, system), wall seconds, peak RSS (kB) of the process so far."""
        s1 = resource.getrusage(resource.RUSAGE_SELF)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        user = (s1.ru_utime - self.self0.ru_utime) + (c1.ru_utime - self.child0.ru_utime)
        system = (s1.ru_stime - self.self0.ru_stime) + (c1.ru_stime - self.child0.ru_stime)
        return {
            "source": "getrusage",
            "wall_s": round(time.perf_counter() - self.wall0, 6),
            "cpu_user_s": round(user, 6),
            "cpu_sys_s": round(system, 6),
            # ru_maxrss is in kB on Linux and is the process's peak since it started
            "max_rss_kb": max(s1.ru_maxrss, c1.ru_maxrss),
            "rss_start_kb": self.rss0 // 1024,
        }


def base_record(stage: str, profile: str, scheduler: str, resources: dict[str, Any]) -> dict[str, Any]:
    """Fields every record shares: stage, profile, resources, host, user."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    return {
        "stage": stage,
        "profile": profile,
        "scheduler": scheduler,
        "resources": resources,
        "host": socket.gethostname(),
        "user": user,
    }


def iter_stage_records(run_dir: str | os.PathLike, stage: str) -> Iterator[dict[str, Any]]:
    """The records of one stage."""
    return (r for r in read_records(run_dir) if r["stage"] == stage)
