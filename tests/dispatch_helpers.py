"""Functions the dispatch tests send to Slurm: module-level, so submitit can pickle them by reference.

This module lives in tests/ (not a package): hpcgen.dispatch exports tests/ on the job's PYTHONPATH, which is
what lets the job unpickle them (the classic submitit "No module named ..." failure otherwise).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from submitit.helpers import Checkpointable

from hpcgen.dispatch.checkpoint import FileCheckpoint


def add(a: int, b: int) -> int:
    return a + b


def square(x: int) -> int:
    return x * x


def shard_sum(shard: tuple[int, int]) -> int:
    """Sum of the integers in [start, end): a stand-in for one region shard."""
    start, end = shard
    return sum(range(start, end))


def visible_devices(_: object = None) -> dict[str, str | None]:
    keys = ("CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "SLURM_JOB_ID", "SLURM_JOB_GPUS")
    return {k: os.environ.get(k) for k in keys}


def fail_loudly(shard: str) -> None:
    print(f"processing shard {shard}: reading genotypes", flush=True)
    print(f"shard {shard}: checksum mismatch detected", flush=True)
    raise ValueError(f"shard {shard} is corrupt (test failure)")


def fail_once(marker: str) -> str:
    """Fails the first time (writes ``marker``), succeeds on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once\n")
        raise RuntimeError("transient failure (first attempt)")
    return "ok on retry"


def sleep_then(seconds: float, started: str) -> str:
    Path(started).write_text(os.environ.get("SLURM_JOB_ID", "?"))
    time.sleep(seconds)
    return "slept"


def burn(seconds: float, mb: int = 64) -> dict[str, float]:
    """Busy CPU for ``seconds`` while holding ``mb`` MB, so sacct sees CPU time and RSS."""
    block = bytearray(mb * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    t0 = time.process_time()
    x = 0
    while time.process_time() - t0 < seconds:
        x += 1
    return {"cpu_s": time.process_time() - t0, "touched": sum(block[::4096])}


class CountingTask(Checkpointable):
    """Counts to ``n_steps``; on preemption/timeout submitit pickles it with its count and requeues it."""

    def __init__(self) -> None:
        self.step = 0
        self.runs: list[dict[str, int]] = []

    def __call__(self, n_steps: int, step_s: float, progress_file: str) -> dict:
        self.runs.append({"restart": int(os.environ.get("SLURM_RESTART_COUNT", "0")), "from_step": self.step})
        while self.step < n_steps:
            time.sleep(step_s)
            self.step += 1
            Path(progress_file).write_text(str(self.step))
        return {"step": self.step, "runs": self.runs}


def count_with_file_checkpoint(n_steps: int, step_s: float, state_file: str) -> dict:
    """Counts to ``n_steps``, saving its count after every step: a plain ``scontrol requeue`` resumes it."""
    ckpt = FileCheckpoint(state_file)
    state = ckpt.load() or {"step": 0, "runs": []}
    state["runs"].append({"restart": int(os.environ.get("SLURM_RESTART_COUNT", "0")), "from_step": state["step"]})
    ckpt.save(state)
    while state["step"] < n_steps:
        time.sleep(step_s)
        state["step"] += 1
        ckpt.save(state)
    return state


TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")


def sacct_rows(job_id: str, fields: str, steps: bool = False, timeout_s: float = 20,
               name: str | None = None, count: int | None = None) -> list[dict[str, str]]:
    """sacct's own view of a job (to check hpcgen against it), once slurmdbd has the job's final record.

    slurmdbd learns of a job's end (and, for submitit's jobs, of its name) a moment after the job's own result
    file appears, so poll until the job is in a terminal state and two reads 0.5 s apart agree (and, when
    ``name`` is given, until sacct shows that job name: it says "allocation" for a moment; with ``count``,
    until that many allocation rows are there: array tasks reach slurmdbd one by one).
    """
    cmd = ["sacct", "-D", "--parsable2", "-o", f"JobID,State,{fields}", "-j", job_id] + ([] if steps else ["-X"])
    t0 = time.monotonic()
    previous = None
    while True:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
        head = out[0].split("|")
        rows = [dict(zip(head, line.split("|"))) for line in out[1:]]
        final = [r for r in rows if "." not in r["JobID"]]
        done = bool(final) and all(r["State"].startswith(TERMINAL + ("REQUEUED",)) for r in final)
        done = done and (name is None or all(r.get("JobName") == name for r in final))
        done = done and (count is None or len(final) == count)
        if done and rows == previous or time.monotonic() - t0 > timeout_s:
            return rows
        previous = rows if done else None
        time.sleep(0.5)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def die_hard(x: int) -> int:
    """Kills its own process (as the kernel's OOM killer would)."""
    if x == 1:
        os.kill(os.getpid(), 9)
    return x
