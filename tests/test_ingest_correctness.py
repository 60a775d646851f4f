"""Every genotype read back from the store equals `bcftools norm -m -any` + `bcftools query -f '[%GT\\t]\\n'`."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HTSLIB_TEST, need_tool
from ingest_helpers import bcftools_gt, random_vcf_text, store_gt, write_vcf

KEY = b"correctness-test-key-0123456789"


def _ingest(vcf: Path, store: Path, **kw) -> Path:
    from hpcgen.ingest import ingest

    ingest(vcf, store, key=KEY, **kw)
    return store


@pytest.mark.parametrize("seed,naming,shard", [(1, "chr", 500_000), (2, "bare", 20_000_000), (3, "chr", 123_457)])
def test_random_vcfs_match_bcftools(tmp_path, seed, naming, shard):
    need_tool("bcftools")
    vcf = write_vcf(tmp_path / "in.vcf", random_vcf_text(n_samples=15, n_records=240, seed=seed, naming=naming))
    expected = bcftools_gt(vcf)
    got = store_gt(_ingest(vcf, tmp_path / "store", shard_size_bp=shard, threads=2))
    assert got == expected
    # the corner cases this generator is meant to hit are really there
    calls = [g for rows in expected.values() for _, _, _, gts in rows for g in gts]
    assert any("|" in g for g in calls) and any(g.count("/") == 2 for g in calls)
    assert any(g.isdigit() for g in calls) and any("." in g for g in calls)
    assert len({(c, p) for c, rows in expected.items() for p, *_ in rows}) < sum(map(len, expected.values()))


def test_bcf_input_matches_bcftools(tmp_path):
    need_tool("bcftools")
    vcf = write_vcf(tmp_path / "in.vcf", random_vcf_text(n_samples=9, n_records=120, seed=5))
    bcf = tmp_path / "in.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf)], check=True)
    assert store_gt(_ingest(bcf, tmp_path / "store", shard_size_bp=1_000_000)) == bcftools_gt(vcf)


def _htslib_corpus() -> list[tuple[Path, str]]:
    """Every VCF/BCF of Debian's htslib-test with samples and FORMAT/GT that bcftools norm + query accept.

    Returns (file, bcftools' stderr) pairs.
    """
    if not HTSLIB_TEST.is_dir() or shutil.which("bcftools") is None:
        return []
    keep = []
    for f in sorted(HTSLIB_TEST.rglob("*")):
        if not f.is_file() or not (f.name.endswith((".vcf", ".vcf.gz", ".bcf"))):
            continue
        samples = subprocess.run(["bcftools", "query", "-l", str(f)], capture_output=True, text=True)
        if samples.returncode != 0 or not samples.stdout.strip():
            continue
        proc = subprocess.run(["bash", "-o", "pipefail", "-c",
                               f"bcftools norm -m -any -Ou '{f}' | bcftools query -f '[%GT\\t]\\n' >/dev/null"],
                              capture_output=True)
        # bcftools query can print an [E::] parse error, output nothing and still exit 0: that is a rejection
        if proc.returncode == 0 and b"[E::" not in proc.stderr:
            keep.append((f, proc.stderr.decode("utf-8", "replace")))
    return keep


CORPUS = _htslib_corpus()


def test_htslib_corpus_found():
    need_tool("bcftools")
    assert HTSLIB_TEST.is_dir(), "htslib-test is not installed (make setup installs it)"
    assert len(CORPUS) >= 5, [str(p) for p, _ in CORPUS]


@pytest.mark.parametrize("vcf,bcftools_stderr", CORPUS, ids=[str(p.relative_to(HTSLIB_TEST)) for p, _ in CORPUS])
def test_htslib_corpus_matches_bcftools(tmp_path, vcf, bcftools_stderr):
    from hpcgen.errors import InputError
    from hpcgen.ingest.build import detect_build
    from hpcgen.ingest.vcfinput import read_input

    info = read_input(vcf)
    # the corpus files are mostly GRCh37 (b37 contig lengths): ingest each under the build it declares
    build = detect_build(info.contigs, info.header_text)[0] or "GRCh38"
    local = tmp_path / vcf.name  # the test folder is read-only for other users: work on a copy
    shutil.copy(vcf, local)
    try:
        got = store_gt(_ingest(local, tmp_path / "store", build=build, shard_size_bp=1_000_000))
    except InputError as exc:
        # we refuse records on contigs the header does not declare; bcftools only warns about them
        assert "not declared by a ##contig header line" in str(exc), exc
        assert "is not defined in the header" in bcftools_stderr
        assert not (tmp_path / "store" / "manifest.json").exists()
        return
    assert got == bcftools_gt(vcf)


def test_demo_cohort_matches_bcftools(demo_cohort, demo_store):
    need_tool("bcftools")
    assert store_gt(demo_store) == bcftools_gt(Path(demo_cohort["vcf"]))


def test_tiny_chunks_match_bcftools(tmp_path):
    """Chunks smaller than a record's ALT count take the row-by-row path; the store must not change."""
    need_tool("bcftools")
    from hpcgen.config import HpcgenConfig

    cfg = HpcgenConfig()
    cfg.store.chunk_variants = 2
    cfg.store.chunk_samples = 4
    vcf = write_vcf(tmp_path / "in.vcf", random_vcf_text(n_samples=7, n_records=60, seed=12))
    assert store_gt(_ingest(vcf, tmp_path / "store", config=cfg, threads=1)) == bcftools_gt(vcf)
