"""Run every benchmark in turn (our code and its peer in the same run), at the sizes the issues ask for.

Usage: ``python benchmarks/run_all.py [--quick]``. ``--quick`` uses small sizes (minutes, not tens of minutes).
Each script prints its own table: times, the ratio to the peer, throughput, peak RSS. Load on the machine skews
wall times: run on an idle machine and read the CPU times too.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# script -> (full-size arguments, quick arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_ingest.py": ([], ["--samples", "500", "--variants", "20000", "--no-codecs"]),
    "bench_qc.py": ([], ["--samples", "1000", "--variants", "20000"]),
    "bench_pgx.py": ([], ["--samples", "20000"]),
    "bench_report.py": ([], ["--samples", "40", "--pdf", "2"]),
    "bench_train.py": ([], ["--rows", "2000", "--epochs", "3", "--repeats", "1"]),
    "bench_dispatch.py": ([], ["--tasks", "20"]),
    "bench_demo.py": ([], ["--skip-full"]),
    "eval_dose.py": ([], ["--samples", "1000", "--repeats", "1"]),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("names", nargs="*", help="only these scripts (e.g. bench_qc.py)")
    args = parser.parse_args()
    failed = []
    for script, (full, quick) in BENCHMARKS.items():
        if args.names and script not in args.names:
            continue
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n===== {script} {' '.join(cmd[2:])} (load {os.getloadavg()[0]:.1f})", flush=True)
        started = time.monotonic()
        rc = subprocess.call(cmd)
        print(f"===== {script}: exit {rc}, {time.monotonic() - started:.0f} s", flush=True)
        if rc != 0:
            failed.append(script)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
