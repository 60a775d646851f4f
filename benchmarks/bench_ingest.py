#!/usr/bin/env python
"""Ingest throughput against `bcftools query` decoding the same file, peak memory at two sizes, codec decode speed.

    .venv/bin/python benchmarks/bench_ingest.py                      # 2,000 samples x 100,000 variants (the target)
    .venv/bin/python benchmarks/bench_ingest.py --samples 200 --variants 5000   # a quick run

Prints, from one run on one file: bcftools' decode rate and ours (genotypes/s), the ratio (target >= 0.5 with
2 cores), the peak memory (PSS) of the whole ingest process tree for the full file and for its first half (memory must
not grow with the number of variants), and the decode speed and size of every store codec.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")


def synthetic_vcf(path: Path, n_samples: int, n_variants: int, seed: int = 1, block: int = 2000) -> Path:
    """A phased GRCh38 chr1 VCF (GT only) with a skewed allele-frequency spectrum and 0.5% missing calls, bgzipped."""
    rng = np.random.default_rng(seed)
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{i:06d}" for i in range(n_samples)) + "\n"
    )
    positions = np.sort(rng.choice(np.arange(1_000_000, 240_000_000), size=n_variants, replace=False))
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as out:
        bgzip = subprocess.Popen(["bgzip", "-@", "2", "-c"], stdin=subprocess.PIPE, stdout=out)
        bgzip.stdin.write(header.encode())
        for a in range(0, n_variants, block):
            b = min(a + block, n_variants)
            p = np.clip(rng.beta(0.15, 1.0, size=b - a), 0.002, 0.998)
            haps = rng.random((b - a, n_samples, 2)) < p[:, None, None]
            cells = np.empty((b - a, n_samples, 4), dtype=np.uint8)
            cells[..., 0] = 48 + haps[..., 0]
            cells[..., 1] = ord("|")
            cells[..., 2] = 48 + haps[..., 1]
            cells[..., 3] = ord("\t")
            missing = rng.random((b - a, n_samples)) < 0.005
            cells[missing] = np.frombuffer(b"./.\t", dtype=np.uint8)
            cells[:, -1, 3] = ord("\n")
            bases = rng.integers(0, 4, size=(b - a, 2))
            lines = []
            for i in range(b - a):
                ref, alt = "ACGT"[bases[i, 0]], "CGTA"[bases[i, 0]]
                lines.append(f"chr1\t{positions[a + i]}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t".encode() + cells[i].tobytes())
            bgzip.stdin.write(b"".join(lines))
        bgzip.stdin.close()
        if bgzip.wait() != 0:
            raise RuntimeError("bgzip failed")
    os.replace(tmp, path)
    subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)
    return path


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def demo_vcf(workdir: Path, n_samples: int, n_variants: int, seed: int = 1) -> Path:
    """The demo cohort of that size (``hpcgen demo-data``: msprime background + PGx alleles, GT:DP:GQ), cached."""
    out = workdir / f"demo_{n_samples}x{n_variants}"
    vcf = out / "cohort.vcf.gz"
    if not vcf.exists():
        subprocess.run([sys.executable, "-m", "hpcgen", "demo-data", "--samples", str(n_samples), "--variants",
                        str(n_variants), "--seed", str(seed), "--out", str(out)], check=True)
    return vcf


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Run ``cmd``; return (wall seconds, peak memory in MiB of its whole process tree, CPU seconds).

    Also returns the CPU seconds (user + system) of the whole tree: on a shared machine the wall clock
    depends on the neighbours' load, CPU time much less. Memory is the sum of PSS (proportional set size: pages shared between the forked workers are counted
    once, split between them), sampled every 50 ms.
    """
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_full_info().pss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, peak / 2**20, _children_cpu() - cpu0


def bcftools_decode(vcf: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``bcftools query -f '[%GT\\t]\\n'`` (single-threaded) over the whole file."""
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    subprocess.run(["bcftools", "query", "-f", "[%GT\t]\n", "-o", "/dev/null", str(vcf)], check=True)
    return time.perf_counter() - t0, _children_cpu() - cpu0


def ingest_cmd(vcf: Path, out: Path, key: Path, threads: int, shard_bp: int, regions: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "hpcgen", "ingest", str(vcf), "--out", str(out), "--key-file", str(key),
           "--threads", str(threads), "--shard-size", str(shard_bp), "--mapping", str(out.parent / "ids.tsv")]
    return cmd + (["--regions", regions] if regions else [])


def _first_half_regions(vcf: Path, n_records: int) -> str:
    """``--regions`` covering about the first half of the file's records (whole contigs, then part of one)."""
    rows = subprocess.run(["bcftools", "index", "-s", str(vcf)], capture_output=True, text=True, check=True).stdout
    regions, seen = [], 0
    for line in rows.splitlines():
        contig, length, count = line.split("\t")
        count = int(count)
        if seen + count >= n_records // 2:
            share = (n_records // 2 - seen) / count
            regions.append(f"{contig}:1-{max(1, int(int(length) * share)) if length != '.' else 1}")
            break
        regions.append(contig)
        seen += count
    return ",".join(regions)


def codec_table(store: Path, repeats: int = 3) -> list[dict]:
    """Rewrite the store's genotypes with every codec; time full decodes (best of ``repeats``)."""
    import h5py

    from hpcgen.store import GenotypeStore
    from hpcgen.store import schema as S

    st = GenotypeStore.open(store)
    g = st.genotypes()
    rows = []
    with tempfile.TemporaryDirectory(dir=store.parent) as tmp:
        for codec in S.CODECS:
            path = Path(tmp) / f"{codec}.h5"
            chunks = (min(st.chunk_variants, len(g)), min(st.chunk_samples, st.n_samples), g.shape[2])
            with h5py.File(path, "w") as h5:
                h5.create_dataset("g", data=g, chunks=chunks, **S.compression(codec, 3))
            best = np.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                with h5py.File(path, "r") as h5:
                    back = h5["g"][:]
                best = min(best, time.perf_counter() - t0)
            assert np.array_equal(back, g)
            rows.append({"codec": codec, "decode_genotypes_per_s": g.shape[0] * g.shape[1] / best,
                         "MiB": path.stat().st_size / 2**20, "ratio": g.nbytes / path.stat().st_size})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=REPO / ".cache" / "bench_ingest")
    ap.add_argument("--no-codecs", action="store_true", help="skip the codec decode table")
    ap.add_argument("--source", choices=["demo", "synthetic"], default="demo",
                    help="demo: `hpcgen demo-data` (GT:DP:GQ, all chromosomes); synthetic: a quick GT-only chr1 file")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.source == "demo":
        vcf = demo_vcf(args.workdir, args.samples, args.variants)
    else:
        vcf = args.workdir / f"synthetic_{args.samples}x{args.variants}.vcf.gz"
        if not vcf.exists():
            synthetic_vcf(vcf, args.samples, args.variants)
    print(f"input {vcf} ({vcf.stat().st_size / 2**20:.0f} MiB; {time.perf_counter() - t0:.0f} s to get it)")
    key = args.workdir / "bench.key"
    if not key.exists():
        from hpcgen.pseudonym import generate_key_file

        generate_key_file(key)
    n_records = int(subprocess.run(f"bcftools index -n {vcf}", shell=True, capture_output=True, text=True,
                                   check=True).stdout)
    n_gt = args.samples * n_records
    # 30 Mb shards: >= 8 shards, so that 2 workers stay busy
    shard_bp = 30_000_000
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    t_bcf, cpu_bcf = bcftools_decode(vcf)
    out = args.workdir / "store"
    shutil.rmtree(out, ignore_errors=True)
    t_ours, rss_full, cpu_ours = run_measured(ingest_cmd(vcf, out, key, args.threads, shard_bp))
    half = args.workdir / "store_half"
    shutil.rmtree(half, ignore_errors=True)
    # the same file, half of its records (the first contigs): memory must not follow the record count
    half_regions = _first_half_regions(vcf, n_records)
    _, rss_half, _ = run_measured(ingest_cmd(vcf, half, key, args.threads, shard_bp, regions=half_regions))
    ours_rate, bcf_rate = n_gt / t_ours, n_gt / t_bcf
    figures = {
        "input": str(vcf), "samples": args.samples, "records": n_records, "threads": args.threads,
        "bcftools_query_s": t_bcf, "bcftools_genotypes_per_s": bcf_rate,
        "bcftools_cpu_s": cpu_bcf, "ingest_cpu_s": cpu_ours,
        "ratio_at_2_idle_cores_from_cpu_time": 2 * cpu_bcf / cpu_ours if args.threads >= 2 else cpu_bcf / cpu_ours,
        "ingest_s": t_ours, "ingest_genotypes_per_s": ours_rate, "ratio": ours_rate / bcf_rate,
        "peak_pss_mib_full": rss_full, "peak_pss_mib_first_half": rss_half, "load_average_after": os.getloadavg()[0],
    }
    print(f"{args.samples} samples x {n_records} records = {n_gt:,} genotypes")
    print(f"bcftools query -f '[%GT\\t]\\n'   {t_bcf:7.2f} s  {bcf_rate / 1e6:8.1f} M genotypes/s (1 thread)")
    print(f"hpcgen ingest --threads {args.threads}       {t_ours:7.2f} s  {ours_rate / 1e6:8.1f} M genotypes/s")
    print(f"ratio hpcgen / bcftools         {ours_rate / bcf_rate:7.2f}x  (target >= 0.5x)")
    print(f"CPU seconds: bcftools {cpu_bcf:.1f}, hpcgen {cpu_ours:.1f} (all processes); on {args.threads} idle cores "
          f"the ratio would be ~{figures['ratio_at_2_idle_cores_from_cpu_time']:.2f}x")
    print(f"peak memory (PSS, process tree): all variants {rss_full:.0f} MiB; first half only {rss_half:.0f} MiB")
    if not args.no_codecs:
        rows = codec_table(out)
        figures["codecs"] = rows
        print("codec   decode M genotypes/s   size MiB   compression ratio")
        for r in sorted(rows, key=lambda r: -r["decode_genotypes_per_s"]):
            print(f"{r['codec']:7} {r['decode_genotypes_per_s'] / 1e6:20.0f} {r['MiB']:10.1f} {r['ratio']:10.1f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
