#!/usr/bin/env python
"""Report throughput: HTML+JSON+FHIR for a cohort, and PDF by WeasyPrint against Chromium printing the same HTML.

    .venv/bin/python benchmarks/bench_report.py                    # demo cohort (120 samples) called by hpcgen pgx
    .venv/bin/python benchmarks/bench_report.py --calls PGX_DIR --pdf 20

The peer for PDF is headless Chromium (Debian package, through Playwright) printing the very same HTML
files to A4 PDF: the engine hospitals' browsers use. Both run in this one process tree on the same files.
Prints times, per-patient cost, the ratio, and peak RSS (ours: this process; Chromium: its process tree).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def demo_calls(work: Path, samples: int) -> Path:
    """Demo cohort -> store -> `hpcgen pgx call` (the real pipeline), in ``work``."""
    import subprocess

    from hpcgen.demo import make_demo_cohort
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import generate_key_file, load_key

    cohort = make_demo_cohort(work / "demo", samples=samples, variants=2000, seed=7)
    key = generate_key_file(work / "key")
    ingest(cohort["vcf"], work / "store", key=load_key(key), mapping_path=work / "ids.tsv")
    subprocess.run([sys.executable, "-m", "hpcgen", "pgx", "call", str(work / "store"), "--out", str(work / "pgx")],
                   check=True, capture_output=True)
    return work / "pgx"


def rss_tree_mb(proc: psutil.Process) -> float:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=Path, help="a `hpcgen pgx call` output folder (default: build the demo's)")
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--pdf", type=int, default=10, help="patients rendered to PDF by each engine")
    args = ap.parse_args()

    from hpcgen.report.build import build_reports
    from report_helpers import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        work = Path(tmp)
        calls = args.calls or demo_calls(work, args.samples)
        print(f"load: {os.getloadavg()[0]:.2f} (1 min), cpus: {os.cpu_count()}")

        t0, c0 = time.perf_counter(), time.process_time()
        m = build_reports(calls, work / "r1", formats="html,json,fhir")
        t_text, c_text = time.perf_counter() - t0, time.process_time() - c0
        n = m["n_patients"]
        print(f"html+json+fhir: {n} patients in {t_text:.2f} s wall, {c_text:.2f} s CPU = {n / c_text:.1f} patients per "
              f"CPU second ({c_text / n * 1000:.0f} CPU ms/patient)")

        k = min(args.pdf, n)
        t0, c0 = time.perf_counter(), time.process_time()
        build_reports(calls, work / "r2", formats="pdf", pdf_max_patients=k)
        t_weasy, c_weasy = time.perf_counter() - t0, time.process_time() - c0
        rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"PDF, WeasyPrint (ours): {k} patients in {t_weasy:.2f} s wall, {c_weasy:.2f} s CPU = "
              f"{c_weasy / k:.2f} CPU s/patient; peak RSS of this process so far {rss_ours:.0f} MB")

        from playwright.sync_api import sync_playwright

        htmls = sorted((work / "r1" / "patients").glob("*.html"))[:k]
        t0 = time.perf_counter()
        peak_chrome = 0.0
        cpu_chrome = 0.0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            me = psutil.Process()
            for i, h in enumerate(htmls):
                page.goto(h.as_uri())
                page.emulate_media(media="print")
                page.pdf(path=str(work / f"chromium-{i}.pdf"), format="A4")
                peak_chrome = max(peak_chrome, rss_tree_mb(me) - rss_tree_mb_self(me))
            cpu_chrome = tree_cpu_s(me)  # the driver and browser processes, before they exit
            browser.close()
        t_chrome = time.perf_counter() - t0
        print(f"PDF, Chromium (peer):   {k} patients in {t_chrome:.2f} s wall, {cpu_chrome:.2f} s CPU (browser tree, "
              f"incl. start) = {cpu_chrome / k:.2f} CPU s/patient; peak RSS of the browser tree {peak_chrome:.0f} MB")
        print(f"ratio WeasyPrint / Chromium: wall {t_weasy / t_chrome:.2f}, CPU {c_weasy / max(cpu_chrome, 1e-9):.2f} (>1: ours is slower)")
        print(f"projected PDF CPU time for 500 patients: ours {500 * c_weasy / k / 60:.1f} min, "
              f"Chromium {500 * cpu_chrome / k / 60:.1f} min")


def tree_cpu_s(proc: psutil.Process) -> float:
    total = 0.0
    for p in proc.children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def rss_tree_mb_self(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 2**20


if __name__ == "__main__":
    main()
