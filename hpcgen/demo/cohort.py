"""The demo cohort: who the patients are, their genotypes (VCF), star alleles (truth) and clinical table.

Outputs (every file written atomically; the same arguments give the same bytes):

``cohort.vcf.gz`` (+ ``.tbi``)
    GRCh38, bgzipped and tabix-indexed; simulated background variants (:mod:`hpcgen.demo.background`) and every
    PharmCAT position (:mod:`hpcgen.demo.pgx_alleles`); ``GT:DP:GQ``; unphased except for a share of samples
    written phased throughout; chrX haploid in males; a small rate of missing calls (none at PharmCAT positions).
``samples.tsv``
    sample, sex, ancestry (EUR/AFR/EAS/ADM), ancestry_label, phased, relative_of (the sample whose first haplotype
    this one shares: a first-degree relative; empty for most).
``pgx_truth.tsv``
    sample, gene, allele1, allele2 (haplotype 1 and 2 as written; allele2 empty for a male's X-linked gene),
    ancestry, phased.
``clinical.tsv``
    IWPC-format clinical table (:mod:`hpcgen.demo.clinical`).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hpcgen import __version__
from hpcgen.demo import clinical as clinical_mod
from hpcgen.demo.background import Background
from hpcgen.demo.demography import GROUP_SHARES, GROUPS
from hpcgen.demo.grch38 import CONTIG_LENGTHS
from hpcgen.demo.pgx_alleles import assign_alleles, draw_haplotype_sources, gene_models, pgx_haplotypes, read_positions
from hpcgen.demo.vcf_writer import MAX_DP, BgzipWriter, BlockFormatter, header
from hpcgen.fsutil import PRIVATE_FILE_MODE, atomic_path, atomic_write_text
from hpcgen.progress import progress

SITE_PREFIX = "CHU-LYON"


def _sample_ids(n: int, rng: np.random.Generator) -> list[str]:
    digits = max(6, len(str(4 * n)))
    numbers = rng.choice(10**digits - 1, size=n, replace=False) + 1
    return [f"{SITE_PREFIX}-{k:0{digits}d}" for k in numbers]


def _depth_quantiles(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Per sample, 256 equiprobable read depths: negative binomial around a sample mean depth (~30x)."""
    mean = np.clip(rng.normal(30, 6, size=n_samples), 12, 60)
    q = (np.arange(256) + 0.5) / 256
    size = 8.0  # overdispersion of sequencing depth
    dq = stats.nbinom.ppf(q[None, :], size, size / (size + mean[:, None]))
    return np.clip(dq, 0, MAX_DP).astype(np.uint8)


class _Missingness:
    """Missing calls: per-sample rates (a few poor samples) times per-variant rates (a few poor sites)."""

    def __init__(self, n_samples: int, rate: float, rng: np.random.Generator):
        self.rate = rate
        s = rng.lognormal(0.0, 0.5, size=n_samples)
        s[rng.random(n_samples) < 0.01] *= 15  # ~1% of samples fail more often (QC should flag them)
        self.sample = (s / s.mean()).astype(np.float32)

    def apply(self, haps: np.ndarray, rng: np.random.Generator) -> None:
        if self.rate <= 0:
            return
        v = rng.gamma(0.5, 2.0, size=haps.shape[0]).astype(np.float32)  # mean 1, heavy tail: a few bad sites
        p = np.minimum(np.float32(self.rate) * v[:, None] * self.sample[None, :], np.float32(0.5))
        miss = rng.random(p.shape, dtype=np.float32) < p
        first = haps[..., 0]
        second = haps[..., 1]
        first[miss] = -1
        second[miss & (second != -2)] = -1


def make_demo_cohort(out_dir: str | os.PathLike, samples: int, variants: int, seed: int, *,
                     missing_rate: float = 0.005, phased_fraction: float = 0.1, with_depth: bool = True,
                     window_kb: int = 100, relative_fraction: float = 0.02, threads: int = 2) -> dict[str, Path]:
    """Generate the demo cohort in ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Output folder (created).
    samples : int
        Number of patients.
    variants : int
        Number of background variants (the 1,202 PharmCAT positions come on top).
    seed : int
        Everything is deterministic per seed (same arguments -> same bytes).
    missing_rate : float
        Mean share of missing background calls.
    phased_fraction : float
        Share of samples written phased (``|``).
    with_depth : bool
        Write DP and GQ besides GT.
    window_kb : int
        Length of each simulated background window (kb).
    relative_fraction : float
        Share of samples in first-degree relative pairs (one shared autosomal haplotype: kinship 0.25), which QC's
        kinship step should find; ``samples.tsv`` names each pair in ``relative_of``.
    threads : int
        bgzip threads.

    Returns
    -------
    dict
        "vcf", "tbi", "clinical", "samples", "pgx_truth" -> Path.
    """
    if samples < 1 or variants < 0:
        raise ValueError("samples must be >= 1 and variants >= 0")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # a run killed before its renames leaves only hidden *.partial files: clear them, then start afresh
    for name in ("cohort.vcf.gz", "clinical.tsv", "samples.tsv", "pgx_truth.tsv"):
        for stale in out.glob(f".{name}.*.partial*"):
            stale.unlink(missing_ok=True)
    rng = np.random.default_rng([seed, 0])
    groups = rng.choice(list(GROUP_SHARES), size=samples, p=list(GROUP_SHARES.values()))
    sex = np.where(rng.random(samples) < 0.55, "male", "female")
    male = sex == "male"
    ids = _sample_ids(samples, rng)
    phased = rng.random(samples) < phased_fraction

    records = read_positions()
    models = gene_models(records)
    sources = draw_haplotype_sources(groups, rng)
    choices = assign_alleles(models, sources, male, rng)
    relatives = _relative_pairs(groups, relative_fraction, np.random.default_rng([seed, 4]))
    for gene, c in choices.items():
        if gene != "G6PD":  # relatives share one autosomal haplotype (X transmission is left alone)
            c[relatives[:, 1], 0] = c[relatives[:, 0], 0]
    pgx_haps = pgx_haplotypes(records, models, choices, male)

    sample_df = pd.DataFrame({"sample": ids, "sex": sex, "ancestry": groups,
                              "ancestry_label": [GROUPS[g] for g in groups], "phased": phased.astype(int)})
    relative_of = np.full(samples, "", dtype=object)
    relative_of[relatives[:, 1]] = np.array(ids, dtype=object)[relatives[:, 0]]
    sample_df["relative_of"] = relative_of
    paths = {"samples": out / "samples.tsv", "pgx_truth": out / "pgx_truth.tsv", "clinical": out / "clinical.tsv",
             "vcf": out / "cohort.vcf.gz", "tbi": out / "cohort.vcf.gz.tbi"}
    # the files carry hospital-style patient IDs: private, like real identifying data
    private = PRIVATE_FILE_MODE
    atomic_write_text(paths["samples"], sample_df.to_csv(sep="\t", index=False), private)
    atomic_write_text(paths["pgx_truth"], _truth_table(models, choices, sample_df).to_csv(sep="\t", index=False), private)

    c9 = models["CYP2C9"]
    cyp2c9 = np.array(c9.names, dtype=object)[choices["CYP2C9"]]
    vk = models["VKORC1"]
    vkorc1_a = np.array([n != vk.reference for n in vk.names])[choices["VKORC1"]]
    f2 = models["CYP4F2"]
    rs2108622 = int(np.flatnonzero(records.ids[f2.records] == "rs2108622")[0])
    cyp4f2 = (f2.codes[choices["CYP4F2"], rs2108622] > 0).sum(axis=1)
    table, _ = clinical_mod.make_clinical(sample_df, cyp2c9, vkorc1_a, cyp4f2, sources, np.random.default_rng([seed, 2]))
    atomic_write_text(paths["clinical"], table.to_csv(sep="\t", index=False, float_format="%.10g"), private)

    background = Background(groups, variants, seed, records.positions_by_chrom(), window_kb=window_kb)
    meta = {
        "source": f"hpcgen demo-data {__version__} (synthetic: msprime background, PharmCAT positions with star alleles)",
        "hpcgen_demo": f"<samples={samples},variants={variants},seed={seed}>",
        "comment": '"Synthetic cohort. REF/ALT of background variants are simulated bases and do not match the GRCh38 '
                   'sequence; REF/ALT at PharmCAT positions are PharmCAT\'s."',
    }
    write_rng = np.random.default_rng([seed, 3])
    formatter = BlockFormatter(samples, with_depth, _depth_quantiles(samples, write_rng) if with_depth else None)
    missing = _Missingness(samples, missing_rate, write_rng)
    with atomic_path(paths["vcf"], private) as tmp_vcf:
        with BgzipWriter(tmp_vcf, threads=threads) as w:
            w.write(header(ids, with_depth, meta).encode("ascii"))
            for chunk in _record_chunks(background, records, pgx_haps, male, relatives, formatter.rows_per_chunk()):
                chrom, pos, rec_ids, alleles, info, haps, is_pgx = chunk
                if not is_pgx:
                    missing.apply(haps, write_rng)
                w.write(formatter.format(chrom, pos, rec_ids, alleles, info, haps, phased, write_rng))
        tmp_tbi = Path(str(tmp_vcf) + ".tbi")
        # bcftools decompresses with several threads (tabix uses one): indexing a 2 GB file takes seconds, not minutes
        subprocess.run(["bcftools", "index", "--tbi", "--force", f"--threads={threads}", str(tmp_vcf)], check=True,
                       capture_output=True)
        # the index goes in first: a cohort.vcf.gz under its final name always has its index
        os.replace(tmp_tbi, paths["tbi"])
    return paths


def _truth_table(models, choices, sample_df: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for gene, m in models.items():
        names = np.array(m.names + [""], dtype=object)  # index -1 -> "" (a male's absent X haplotype)
        c = choices[gene]
        frames.append(pd.DataFrame({"sample": sample_df["sample"], "gene": gene, "allele1": names[c[:, 0]],
                                    "allele2": names[c[:, 1]], "ancestry": sample_df["ancestry"],
                                    "phased": sample_df["phased"]}))
    return pd.concat(frames, ignore_index=True)


def _relative_pairs(groups: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Pairs (i, j) of first-degree relatives: j inherits i's first haplotype; same ancestry, disjoint pairs.

    Returns
    -------
    ndarray, int64, shape (n_pairs, 2)
    """
    n_pairs = int(round(fraction * groups.size / 2))
    pairs, used = [], set()
    for i in rng.permutation(groups.size):
        if len(pairs) >= n_pairs:
            break
        if i in used:
            continue
        mates = [j for j in np.flatnonzero(groups == groups[i]) if j != i and j not in used]
        if not mates:
            continue
        j = int(rng.choice(mates))
        pairs.append((int(i), j))
        used.update((int(i), j))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _record_chunks(background: Background, records, pgx_haps: np.ndarray, male: np.ndarray, relatives: np.ndarray,
                   max_rows: int):
    """Background blocks and PharmCAT records merged in genome order, cut to at most ``max_rows`` records.

    Yields (chrom, pos, ids, alleles, info, haps int8 (n, n_samples, 2), is_pgx).
    """
    pgx_alleles = [(r, *a) for r, a in zip(records.ref, records.alts)]
    pgx_info = [f"PX={g}" if g else "POI" for g in records.gene]
    cursor = {"i": 0}

    def pgx_until(chrom: str, limit: int):
        i = cursor["i"]
        j = i
        order = list(CONTIG_LENGTHS)
        while j < records.pos.size and (
            order.index(records.chrom[j]) < order.index(chrom) or (records.chrom[j] == chrom and records.pos[j] < limit)
        ):
            j += 1
        for a in range(i, j, max_rows):
            b = min(a + max_rows, j)
            # one chunk never spans two contigs
            for c in dict.fromkeys(records.chrom[a:b]):
                k = np.flatnonzero(records.chrom[a:b] == c) + a
                yield (c, records.pos[k], list(records.ids[k]), [pgx_alleles[x] for x in k],
                       [pgx_info[x] for x in k], pgx_haps[k].copy(), True)
        cursor["i"] = j

    for block in progress(background.blocks(), total=len(background.windows), desc="demo VCF", unit="window"):
        yield from pgx_until(block.chrom, int(block.pos[0]))
        haps = block.haplotypes
        if block.chrom == "chrX":
            haps[:, male, 1] = -2
        else:
            haps[:, relatives[:, 1], 0] = haps[:, relatives[:, 0], 0]
        for a in range(0, block.pos.size, max_rows):
            b = min(a + max_rows, block.pos.size)
            yield (block.chrom, block.pos[a:b], ["."] * (b - a), block.alleles[a:b], ["."] * (b - a), haps[a:b], False)
    yield from pgx_until("chrM", 1 << 40)
