"""CYP2D6 copy number from read depth: BAMs written with pysam whose reads imitate 0, 1, 2 and 3 copies of
CYP2D6 against a two-copy control region, checked through the library and the CLI (--bam-list)."""
from __future__ import annotations

import numpy as np
import pysam
import pytest

from conftest import run_hpcgen

CHROM_LENGTHS = {"chr12": 133_275_309, "chr22": 50_818_468}
CONTROL = ("chr12", 47_841_537, 47_905_031)
TARGET = ("chr22", 42_126_499, 42_130_881)
READ_LEN = 100
DEPTH_PER_COPY = 6  # reads per base per copy: 12x at two copies


def _reads(chrom_id, start, end, copies, rng, mapq=60):
    """Read starts covering [start, end] at DEPTH_PER_COPY x copies (jittered, 1-based bounds)."""
    n = int((end - start + 1) * DEPTH_PER_COPY * copies / READ_LEN)
    # start reads READ_LEN before the region so every base is covered evenly
    starts = np.sort(rng.integers(start - READ_LEN, end, n))
    return [(chrom_id, int(s) - 1, mapq) for s in starts]


def write_bam(path, cyp2d6_copies: int, seed: int = 1, noise_mapq0: int = 200):
    """A coordinate-sorted, indexed BAM: control at 2 copies, CYP2D6 at ``cyp2d6_copies``; plus reads
    with mapping quality 0 over CYP2D6 (multi-mapping CYP2D7 look-alikes) that must not be counted."""
    rng = np.random.default_rng(seed)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": c, "LN": n} for c, n in CHROM_LENGTHS.items()]}
    reads = _reads(0, *CONTROL[1:], 2, rng) + _reads(1, *TARGET[1:], cyp2d6_copies, rng)
    reads += [(1, int(s) - 1, 0) for s in rng.integers(TARGET[1], TARGET[2], noise_mapq0)]
    reads.sort()
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for k, (ref_id, pos, mapq) in enumerate(reads):
            a = pysam.AlignedSegment()
            a.query_name = f"r{k}"
            a.query_sequence = "A" * READ_LEN
            a.flag = 0
            a.reference_id = ref_id
            a.reference_start = max(pos, 0)
            a.mapping_quality = mapq
            a.cigar = [(0, READ_LEN)]
            a.query_qualities = pysam.qualitystring_to_array("I" * READ_LEN)
            out.write(a)
    pysam.index(str(path))
    return path


@pytest.fixture(scope="module")
def bams(tmp_path_factory):
    d = tmp_path_factory.mktemp("cnv")
    return {cn: write_bam(d / f"cn{cn}.bam", cn, seed=cn + 3) for cn in (0, 1, 2, 3)}


def _region(r):
    return f"{r[0]}:{r[1]}-{r[2]}"


@pytest.mark.parametrize("cn", [0, 1, 2, 3])
def test_copy_number_from_depth(bams, cn):
    from hpcgen.pgx.cnv import copy_number

    res = copy_number(bams[cn], _region(TARGET), _region(CONTROL), min_mapq=20)
    assert res["copy_number"] == cn
    assert res["control_depth"] == pytest.approx(2 * DEPTH_PER_COPY, rel=0.1)
    # an independent count with samtools-style pileup (pysam.count_coverage) agrees on the ratio
    with pysam.AlignmentFile(str(bams[cn])) as bam:
        cov = np.sum(bam.count_coverage(TARGET[0], TARGET[1] - 1, TARGET[2], quality_threshold=0,
                                        read_callback=lambda r: r.mapping_quality >= 20), axis=0)
    assert res["target_depth"] == pytest.approx(cov.mean(), rel=1e-6)


def test_mapq_filter_matters(bams):
    from hpcgen.pgx.cnv import copy_number

    loose = copy_number(bams[0], _region(TARGET), _region(CONTROL), min_mapq=0)
    assert loose["target_depth"] > 0  # the mapq-0 look-alikes are there, and excluded by default


def test_combination_with_outside_call_and_cli(bams, shared_pgx, tmp_path):
    listing = tmp_path / "bams.tsv"
    listing.write_text("".join(f"S{cn}\t{bams[cn]}\n" for cn in (0, 1, 2, 3)))
    from hpcgen.pgx.definitions import load_definitions
    from pgx_helpers import definition_records, write_vcf

    gene = load_definitions()["CYP3A5"]
    recs = definition_records(gene, [["0/0"] * gene.n_pos] * 4)
    vcf = write_vcf(tmp_path / "four.vcf", recs, ["S0", "S1", "S2", "S3"])
    outside = tmp_path / "outside.tsv"
    outside.write_text("sample\tgene\tdiplotype\n" + "".join(f"S{cn}\tCYP2D6\t*1/*4\n" for cn in (1, 2, 3)))
    out = tmp_path / "pgx"
    proc = run_hpcgen("pgx", "call", str(vcf), "--out", str(out), "--no-pseudonymize", "--bam-list", str(listing),
                      "--outside-calls", str(outside))
    assert proc.returncode == 0, proc.stderr
    import json

    rows = {}
    for cn in (0, 1, 2, 3):
        doc = json.loads((out / "samples" / f"S{cn}.json").read_text())
        rows[cn] = next(g for g in doc["genes"] if g["gene"] == "CYP2D6")
        assert rows[cn]["source"] == "cnv" and rows[cn]["copy_number"] == cn
        assert any("copy number" in w for w in rows[cn]["warnings"])
    assert rows[0]["diplotype"] == "*5/*5" and rows[0]["phenotype"] == "Poor Metabolizer"
    assert rows[1]["diplotype"] == "*1/*5 or *4/*5"
    assert rows[1]["phenotype"] == "Intermediate Metabolizer or Poor Metabolizer"
    assert rows[2]["diplotype"] == "*1/*4" and rows[2]["activity_score"] == "1.0"
    assert rows[3]["diplotype"] == "*1/*4x2 or *1x2/*4"
    assert rows[3]["activity_score"] == "1.0 or 2.0"
