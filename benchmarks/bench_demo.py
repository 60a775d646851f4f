"""Benchmark the demo-cohort generator, and its VCF writer against tskit's ``write_vcf`` (the peer), in one run.

Both writers get the same simulated windows (same sites, same samples) and write bgzipped VCF through the same
``bgzip`` (level 1, 2 threads); throughput is in genotypes (samples x records) per second. The full
``make_demo_cohort`` time (simulation, PGx, clinical table, GT:DP:GQ text, index) and peak RSS are printed too.

    .venv/bin/python benchmarks/bench_demo.py --samples 2000 --variants 50000
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tskit


def peak_rss_mb() -> float:
    """Peak RSS (MB) of this process (bgzip children are small and not counted)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-full", action="store_true", help="only the writer comparison")
    args = parser.parse_args()

    from hpcgen.demo import make_demo_cohort
    from hpcgen.demo.background import Background
    from hpcgen.demo.demography import GROUP_SHARES
    from hpcgen.demo.pgx_alleles import read_positions
    from hpcgen.demo.vcf_writer import BgzipWriter, BlockFormatter

    load = os.getloadavg()
    print(f"# bench_demo: {args.samples} samples x {args.variants} variants, seed {args.seed}; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_full:
            t = time.perf_counter()
            paths = make_demo_cohort(tmp / "full", args.samples, args.variants, args.seed)
            full = time.perf_counter() - t
            n_gt = args.samples * (args.variants + 1202)
            size = paths["vcf"].stat().st_size / 2**20
            print(f"make_demo_cohort (GT:DP:GQ)  {full:8.1f} s  {n_gt / full / 1e6:7.1f} M genotypes/s  "
                  f"{size:.0f} MiB vcf.gz")

        rng = np.random.default_rng(args.seed)
        groups = rng.choice(list(GROUP_SHARES), size=args.samples, p=list(GROUP_SHARES.values()))
        t = time.perf_counter()
        bg = Background(groups, args.variants, args.seed, read_positions().positions_by_chrom())
        print(f"msprime simulation           {time.perf_counter() - t:8.1f} s  ({len(bg.sims)} windows)")
        n_gt = args.samples * args.variants

        # ours: tskit decode + our text kernel, GT only (what the peer writes)
        fmt = BlockFormatter(args.samples, with_depth=False)
        phased = np.zeros(args.samples, dtype=bool)
        wrng = np.random.default_rng(0)
        fmt.format("chr1", np.array([1]), ["."], [("A", "C")], ["."], np.zeros((1, args.samples, 2), np.int8),
                   phased, wrng)  # compile / load the kernel outside the timing
        t = time.perf_counter()
        with BgzipWriter(tmp / "ours.vcf.gz") as w:
            for block in bg.blocks():
                for a in range(0, block.pos.size, fmt.rows_per_chunk()):
                    b = a + fmt.rows_per_chunk()
                    w.write(fmt.format(block.chrom, block.pos[a:b], ["."] * len(block.pos[a:b]), block.alleles[a:b],
                                       ["."] * len(block.pos[a:b]), block.haplotypes[a:b], phased, wrng))
        ours = time.perf_counter() - t

        # peer: tskit's own VCF writer on the same sites of the same windows
        t = time.perf_counter()
        with open(tmp / "peer.vcf.gz", "wb") as fh:
            proc = subprocess.Popen(["bgzip", "-c", "--threads=2", "--compress-level=1"], stdin=subprocess.PIPE, stdout=fh)
            text = io.TextIOWrapper(proc.stdin, encoding="ascii")
            for w, path, selected in zip(bg.windows, bg.sims, bg.selected):
                ts = tskit.load(path)
                ts.write_vcf(text, contig_id=w.chrom, site_mask=~selected, allow_position_zero=True)
            text.close()
            proc.wait()
        peer = time.perf_counter() - t
        print(f"ours: decode + text + bgzip  {ours:8.1f} s  {n_gt / ours / 1e6:7.1f} M genotypes/s")
        print(f"peer: tskit write_vcf + bgzip {peer:7.1f} s  {n_gt / peer / 1e6:7.1f} M genotypes/s")
        print(f"ratio (peer time / ours)     {peer / ours:8.2f}x")
        print(f"peak RSS (python, whole run): {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
