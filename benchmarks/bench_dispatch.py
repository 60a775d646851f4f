#!/usr/bin/env python
"""Job-array dispatch on the dev Slurm cluster: hpcgen.dispatch.run_array against plain submitit, same tasks.

    sudo bash slurm/devcluster/start.sh            # once
    .venv/bin/python benchmarks/bench_dispatch.py  # 100 tasks of 0.5 s
    .venv/bin/python benchmarks/bench_dispatch.py --tasks 20 --task-s 0.2   # a quick run

Prints, for each: the submission time (until every task has a job id), the wall time until every result is
back, the ideal wall time (tasks x task time / slots of the node, no overhead), their ratio, the number of
sacct calls made while waiting, and the peak RSS of this process. The peer is submitit used as its README
shows (``map_array`` then ``job.result()`` for each job), on the same cluster and tasks in the same run.
"""
from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def task(x: int, seconds: float = 0.5) -> int:
    """A short task: sleep, return the square (defined in __main__, so submitit pickles it by value)."""
    time.sleep(seconds)
    return x * x


class Task:
    """``task`` with its duration bound (picklable, unlike a lambda's closure over a local)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, x: int) -> int:
        return task(x, self.seconds)


def sacct_calls() -> int:
    from submitit.slurm.slurm import SlurmJob

    return SlurmJob.watcher.num_calls


def node_slots() -> int:
    out = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%c"], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def bench_hpcgen(fn: Task, items: list[int], run_dir: Path) -> dict:
    import hpcgen.dispatch.arrays as arrays
    from hpcgen.dispatch import Resources, run_array

    submit = {}
    original = arrays._submit_array

    def timed_submit(*args, **kwargs):  # measure the submission part of run_array
        t0 = time.perf_counter()
        out = original(*args, **kwargs)
        submit["s"] = time.perf_counter() - t0
        submit["calls_after_submit"] = sacct_calls()
        return out

    arrays._submit_array = timed_submit
    try:
        t0 = time.perf_counter()
        out = run_array(fn, items, profile="devcluster", resources=Resources(mem_gb=0.25, time_min=10),
                        name="bench", run_dir=run_dir, max_retries=0)
        wall = time.perf_counter() - t0
    finally:
        arrays._submit_array = original
    assert out == [x * x for x in items]
    return {"submit_s": submit["s"], "wall_s": wall, "sacct_calls": sacct_calls() - submit["calls_after_submit"]}


def bench_submitit(fn: Task, items: list[int], folder: Path) -> dict:
    import submitit

    executor = submitit.AutoExecutor(folder=folder / "%j")
    executor.update_parameters(slurm_partition="debug", slurm_account="hpcgen", timeout_min=10, mem_gb=0.25,
                               slurm_array_parallelism=64)
    t0 = time.perf_counter()
    jobs = executor.map_array(fn, items)
    submit_s = time.perf_counter() - t0
    calls0 = sacct_calls()
    out = [job.result() for job in jobs]
    wall = time.perf_counter() - t0
    assert out == [x * x for x in items]
    return {"submit_s": submit_s, "wall_s": wall, "sacct_calls": sacct_calls() - calls0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--task-s", type=float, default=0.5)
    args = parser.parse_args()
    items = list(range(args.tasks))
    fn = Task(args.task_s)
    slots = node_slots()
    ideal = math.ceil(args.tasks / slots) * args.task_s
    load = open("/proc/loadavg").read().split()[:3]
    print(f"{args.tasks} tasks of {args.task_s} s on the dev cluster ({slots} slots): ideal wall {ideal:.1f} s; "
          f"load average before: {' '.join(load)}")
    with tempfile.TemporaryDirectory() as tmp:
        results = {"hpcgen.dispatch": bench_hpcgen(fn, items, Path(tmp) / "run"),
                   "submitit (peer)": bench_submitit(fn, items, Path(tmp) / "peer")}
    print(f"{'':18}{'submit_s':>10}{'wall_s':>10}{'wall/ideal':>12}{'sacct calls':>13}{'tasks/s':>10}")
    for name, r in results.items():
        print(f"{name:18}{r['submit_s']:10.2f}{r['wall_s']:10.2f}{r['wall_s'] / ideal:12.2f}{r['sacct_calls']:13d}"
              f"{args.tasks / r['wall_s']:10.2f}")
    ours, peer = results["hpcgen.dispatch"], results["submitit (peer)"]
    print(f"wall ratio hpcgen/submitit: {ours['wall_s'] / peer['wall_s']:.2f}; "
          f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
