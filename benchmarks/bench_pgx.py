"""Benchmark `hpcgen pgx`: a synthetic cohort at PharmCAT's positions -> diplotypes (numba matcher),
phenotypes and CPIC/DPWG recommendations, samples/s and peak RSS; PharmCAT's figure beside it.

Usage::

    .venv/bin/python benchmarks/bench_pgx.py                  # 100,000 samples, all 19 genes
    .venv/bin/python benchmarks/bench_pgx.py --samples 5000   # smaller
    .venv/bin/python benchmarks/bench_pgx.py --vcf-samples 500  # also time the VCF path (bcftools-written VCF)

Genotypes: per sample and gene two named alleles drawn from the definitions (reference with probability
0.7, else uniform over the named alleles), 0.5% missing calls, 20% of samples phased. Generated gene by gene
and called gene by gene (the store reader works the same way), so memory stays bounded.

The peer: PharmCAT (Java) cannot run here: Java 17 is installed but no PharmCAT jar is available offline
(building it needs Maven Central). Its published throughput is printed instead: about 1-6 s per sample per
core (ANCHORS.md); at 2 cores that is 0.33-2 samples/s.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PHARMCAT_S_PER_SAMPLE_CORE = (1.0, 6.0)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def synthetic_gene(gene, n: int, rng: np.random.Generator, p_ref: float = 0.8, p_missing: float = 0.005,
                   p_phased: float = 0.2, uniform: bool = False):
    """GeneGenotypes for n samples: two named alleles each, turned into allele codes.

    A haplotype is the reference with probability ``p_ref``; otherwise a non-reference allele drawn with
    Zipf weights 1/k^1.5 in definition order (a few common alleles, a long rare tail, as in real genes), or
    uniformly with ``uniform`` (a stress test: every rare allele as frequent as the common ones)."""
    from hpcgen.pgx.definitions import MISSING
    from hpcgen.pgx.reader import GeneGenotypes

    # allele code of each named allele at each position: its lowest accepted code
    acc = gene.accept
    strand = np.zeros(acc.shape, np.int8)
    for c in range(30, -1, -1):
        strand = np.where((acc >> c) & 1, c, strand).astype(np.int8)
    others = np.array([h for h in range(gene.n_hap) if h != gene.reference])
    weights = np.ones(len(others)) if uniform else 1.0 / np.arange(1, len(others) + 1) ** 1.5
    weights /= weights.sum()

    def draw():
        h = rng.choice(others, size=n, p=weights)
        return np.where(rng.random(n) < p_ref, gene.reference, h)
    h1, h2 = draw(), draw()
    g = GeneGenotypes.empty(n, gene.n_pos)
    g.a1[:] = strand[h1]
    g.a2[:] = strand[h2]
    miss = rng.random(g.a1.shape) < p_missing
    g.a1[miss] = MISSING
    g.a2[miss] = MISSING
    phased = rng.random(n) < p_phased
    g.phased[phased] = True
    return g


def run_ours(n: int, seed: int, uniform: bool = False) -> dict:
    from hpcgen.pgx.definitions import load_definitions
    from hpcgen.pgx.matcher import call_gene
    from hpcgen.pgx.phenotype import add_phenotypes, dpyd_activity
    from hpcgen.pgx.recommend import recommend_index
    import pandas as pd

    genes = load_definitions()
    samples = [f"S{i:07d}" for i in range(n)]
    rng = np.random.default_rng(seed)
    # compile the kernel outside the timing (numba caches it on disk for later runs anyway)
    g0 = next(iter(genes.values()))
    call_gene(g0, synthetic_gene(g0, 4, rng), samples[:4])
    rng = np.random.default_rng(seed)
    t_gen = t_call = 0.0
    frames = []
    act = dpyd_activity()
    for gene in genes.values():
        t = time.perf_counter()
        g = synthetic_gene(gene, n, rng, uniform=uniform)
        t_gen += time.perf_counter() - t
        t = time.perf_counter()
        frames.append(call_gene(gene, g, samples, dpyd_activity=act))
        t_call += time.perf_counter() - t
        del g
    t = time.perf_counter()
    calls = add_phenotypes(pd.concat(frames, ignore_index=True))
    t_pheno = time.perf_counter() - t
    t = time.perf_counter()
    _, s_idx, t_idx, table = recommend_index(calls)
    t_rec = time.perf_counter() - t
    return {"n": n, "generate_s": t_gen, "call_s": t_call, "phenotype_s": t_pheno, "recommend_s": t_rec,
            "total_s": t_call + t_pheno + t_rec, "rows_genes": len(calls), "rows_drugs": len(s_idx),
            "distinct_recommendations": len(table),
            "called_share": float((calls["call_status"] == "called").mean())}


def run_vcf_path(n: int, seed: int) -> dict | None:
    """The same kind of cohort written as a bgzipped, indexed VCF (bcftools), then `hpcgen pgx call`."""
    if not shutil.which("bcftools"):
        return None
    from hpcgen.pgx.definitions import load_definitions

    genes = load_definitions()
    rng = np.random.default_rng(seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pgx-"))
    try:
        lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
        lines += [f"##contig=<ID={c}>" for c in sorted({g.chrom for g in genes.values()})]
        lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                               + [f"S{i}" for i in range(n)]))
        recs = []
        for gene in genes.values():
            g = synthetic_gene(gene, n, rng, p_phased=0.0)
            for p, pos in enumerate(gene.positions):
                a1, a2 = g.a1[:, p].astype(str), g.a2[:, p].astype(str)
                gts = np.char.add(np.char.add(a1, "/"), a2)
                gts = np.where(g.a1[:, p] < 0, "./.", gts)
                alts = ",".join(gene.alleles[p][1:]) or "."
                recs.append((gene.chrom, int(pos), "\t".join([gene.chrom, str(int(pos)), ".", gene.alleles[p][0],
                             alts, ".", "PASS", ".", "GT", *gts])))
        recs.sort(key=lambda r: (r[0], r[1]))
        raw = tmp / "cohort.vcf"
        raw.write_text("\n".join(lines + [r[2] for r in recs]) + "\n")
        vcf = tmp / "cohort.vcf.gz"
        subprocess.run(["bcftools", "view", "-Oz", "-o", str(vcf), str(raw)], check=True)
        subprocess.run(["bcftools", "index", "-t", str(vcf)], check=True)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "hpcgen", "pgx", "call", str(vcf), "--out", str(tmp / "out"),
                               "--no-pseudonymize"], capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        return {"n": n, "wall_s": wall}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="numba threads (NUMBA_NUM_THREADS)")
    ap.add_argument("--uniform", action="store_true", help="stress test: non-reference alleles drawn uniformly")
    ap.add_argument("--vcf-samples", type=int, default=0, help="also time the CLI on a VCF of this many samples")
    args = ap.parse_args()
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    load = os.getloadavg()
    cpu0 = time.process_time()
    res = run_ours(args.samples, args.seed, args.uniform)
    cpu = time.process_time() - cpu0 - 0.0
    rate = res["n"] / res["total_s"]
    lo, hi = (2 / s for s in PHARMCAT_S_PER_SAMPLE_CORE[::-1])  # samples/s on 2 cores
    print(f"hpcgen pgx bench: {res['n']:,} synthetic samples x 19 genes "
          f"({'uniform' if args.uniform else 'Zipf'} allele draw), {args.threads} numba threads "
          f"(load average before: {load[0]:.1f})")
    print(f"  call {res['call_s']:.2f} s | phenotypes {res['phenotype_s']:.2f} s | recommendations "
          f"{res['recommend_s']:.2f} s | total {res['total_s']:.2f} s  (genotype synthesis {res['generate_s']:.2f} s, "
          "not counted)")
    print(f"  throughput {rate:,.0f} samples/s; {res['rows_genes']:,} gene rows, {res['rows_drugs']:,} drug rows "
          f"({res['distinct_recommendations']:,} distinct); called {100 * res['called_share']:.1f}%")
    print(f"  peak RSS {peak_rss_gb():.2f} GB; CPU time {cpu:.1f} s for the whole run incl. synthesis "
          f"(= {res['n'] / cpu:,.0f} samples per CPU-second: the load-independent figure on a shared machine; "
          f"load average after: {os.getloadavg()[0]:.1f})")
    java = shutil.which("java")
    print(f"PharmCAT: not run (java {'found at ' + java if java else 'absent'}, no PharmCAT jar offline); "
          f"published 1-6 s/sample/core -> {lo:.2f}-{hi:.2f} samples/s on 2 cores, "
          f"{res['n'] * PHARMCAT_S_PER_SAMPLE_CORE[0] / 2 / 3600:.1f}-{res['n'] * PHARMCAT_S_PER_SAMPLE_CORE[1] / 2 / 3600:.1f} h "
          f"for this cohort")
    print(f"ratio hpcgen / PharmCAT (published): {rate / hi:,.0f}x - {rate / lo:,.0f}x")
    if args.vcf_samples:
        v = run_vcf_path(args.vcf_samples, args.seed)
        if v:
            print(f"VCF path (indexed VCF, region queries, CLI incl. outputs and Python start): {v['n']:,} samples "
                  f"in {v['wall_s']:.1f} s = {v['n'] / v['wall_s']:,.0f} samples/s")


if __name__ == "__main__":
    main()
