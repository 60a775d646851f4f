"""Ingest end to end through the CLI: pseudonyms, key and mapping handling, naming, regions, threads, fields."""
from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import need_tool, run_hpcgen
from ingest_helpers import bcftools_gt, random_vcf_text, store_gt, write_vcf


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ingest-cohort")
    return write_vcf(d / "cohort.vcf", random_vcf_text(n_samples=25, n_records=400, seed=8), index=True)


def test_keygen_and_cli_ingest_keep_identities_private(tmp_path, cohort):
    key = tmp_path / "secret" / "k.key"
    key.parent.mkdir()
    assert run_hpcgen("keygen", str(key)).returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = run_hpcgen("keygen", str(key))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    out, mapping = tmp_path / "store", tmp_path / "private" / "ids.tsv"
    proc = run_hpcgen("ingest", str(cohort), "--out", str(out), "--key-file", str(key), "--mapping", str(mapping))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out / "manifest.json")
    from hpcgen.pseudonym import load_key, pseudonymize, read_mapping
    from hpcgen.store import GenotypeStore

    st = GenotypeStore.open(out)
    real = [f"S{i:03d}" for i in range(25)]
    assert st.samples.tolist() == pseudonymize(real, load_key(key))
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    assert read_mapping(mapping) == dict(zip(st.samples.tolist(), real))
    secret = key.read_bytes().strip()
    for f in [p for p in out.rglob("*") if p.is_file()]:
        data = f.read_bytes()
        assert secret not in data, f"key found in {f}"
        assert b"S007" not in data and b"S013" not in data, f"a real sample ID is in {f}"
    assert secret.decode() not in proc.stderr + proc.stdout


def test_missing_key_is_a_usage_error(tmp_path, cohort, monkeypatch):
    env = {"HPCGEN_PSEUDONYM_KEY_FILE": "", "HPCGEN_PSEUDONYM_KEY": ""}
    proc = run_hpcgen("ingest", str(cohort), "--out", str(tmp_path / "s"), env=env)
    assert proc.returncode == 2 and "no pseudonymization key" in proc.stderr
    assert not (tmp_path / "s").exists()


def test_chr_and_bare_naming_give_the_same_store(tmp_path, key_file):
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key
    from hpcgen.store import GenotypeStore

    stores = []
    for naming in ("chr", "bare"):
        vcf = write_vcf(tmp_path / f"{naming}.vcf", random_vcf_text(n_samples=6, n_records=100, seed=9, naming=naming))
        ingest(vcf, tmp_path / naming, key=load_key(key_file))
        stores.append(GenotypeStore.open(tmp_path / naming))
    a, b = stores
    assert a.variants()["chrom"].unique().tolist() == ["chr1", "chr2"]
    assert a.variants().drop(columns="shard").equals(b.variants().drop(columns="shard"))
    np.testing.assert_array_equal(a.genotypes(), b.genotypes())
    np.testing.assert_array_equal(a.genotypes("1:1-2000000"), b.genotypes("chr1:1-2000000"))


def test_regions_match_bcftools_regions(tmp_path, cohort, key_file):
    need_tool("bcftools")
    out = tmp_path / "store"
    proc = run_hpcgen("ingest", str(cohort), "--out", str(out), "--regions", "chr1:1-1500000,2:1000000-2500000",
                      "--shard-size", "400000", "--key-file", str(key_file))
    assert proc.returncode == 0, proc.stderr
    # bcftools -r also returns records that start before a region and overlap it; we keep only POS inside
    expected = bcftools_gt(cohort, regions="chr1:1-1500000,chr2:1000000-2500000")
    expected = {c: [r for r in rows if (1 if c == "chr1" else 1_000_000) <= r[0] <= (1_500_000 if c == "chr1" else 2_500_000)]
                for c, rows in expected.items()}
    assert store_gt(out) == expected
    from hpcgen.store import GenotypeStore

    st = GenotypeStore.open(out)
    assert all(s.start >= 1_000_000 for s in st.shards if s.chrom == "chr2")
    assert max(s.end for s in st.shards if s.chrom == "chr1") == 1_500_000


def test_threads_do_not_change_the_store(tmp_path, cohort, key_file):
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key
    from hpcgen.store import GenotypeStore

    key = load_key(key_file)
    ingest(cohort, tmp_path / "t1", key=key, threads=1, shard_size_bp=300_000)
    ingest(cohort, tmp_path / "t2", key=key, threads=2, shard_size_bp=300_000)
    a, b = GenotypeStore.open(tmp_path / "t1"), GenotypeStore.open(tmp_path / "t2")
    assert [s.sha256 for s in a.shards] != [] and len(a.shards) > 4
    np.testing.assert_array_equal(a.genotypes(), b.genotypes())
    np.testing.assert_array_equal(a.phased(), b.phased())
    np.testing.assert_array_equal(a.field("gq"), b.field("gq"))


def test_plain_vcf_and_dp_gq_fields(tmp_path, key_file):
    need_tool("bcftools")
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key
    from hpcgen.store import GenotypeStore

    plain = write_vcf(tmp_path / "plain.vcf", random_vcf_text(n_samples=5, n_records=80, seed=10), compress=False)
    ingest(plain, tmp_path / "store", key=load_key(key_file))
    assert store_gt(tmp_path / "store") == bcftools_gt(plain)
    st = GenotypeStore.open(tmp_path / "store")
    assert st.fields == ["dp", "gq"]
    query = subprocess.run(
        f"bcftools norm -m -any {plain} 2>/dev/null | bcftools query -f '[%DP\\t]|[%GQ\\t]\\n'",
        shell=True, capture_output=True, text=True, check=True).stdout.splitlines()
    dp = [[-1 if x == "." else int(x) for x in line.split("|")[0].rstrip("\t").split("\t")] for line in query]
    gq = [[-1 if x == "." else int(x) for x in line.split("|")[1].rstrip("\t").split("\t")] for line in query]
    np.testing.assert_array_equal(st.field("dp"), np.array(dp))
    np.testing.assert_array_equal(st.field("gq"), np.array(gq))
    assert not list(tmp_path.glob("plain.vcf.*")), "nothing may be written beside the input"


@pytest.mark.parametrize("jit", [True, False])
def test_split_kernel_matches_numpy_reference(jit):
    """The numba kernel and its plain-numpy twin agree over ploidy, missingness, phasing and ALT counts."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hpcgen.ingest.shard import split_alleles
    from hpcgen.ingest.split_numba import split_calls

    kernel = split_calls if jit else split_calls.py_func  # py_func: the same code run as Python (coverage)

    @settings(max_examples=150, deadline=None)
    @given(n=st.integers(1, 9), p=st.integers(1, 3), n_alt=st.integers(0, 4), seed=st.integers(0, 2**31))
    def check(n, p, n_alt, seed):
        rng = np.random.default_rng(seed)
        alleles = rng.integers(-1, n_alt + 1, size=(n, p)).astype(np.int16)
        if p > 1:
            alleles[rng.random(n) < 0.3, 1:] = -2  # haploid calls in a polyploid record
        flags = (rng.random(n) < 0.5).astype(np.int16)
        arr = np.concatenate([alleles, flags[:, None]], axis=1)
        k = max(n_alt, 1)
        gt = np.full((k, n, p + 1), -2, np.int8)
        ph = np.zeros((k, n), bool)
        top = kernel(arr, n_alt, gt, ph)
        assert top == alleles.max()
        for r, ref in enumerate(split_alleles(alleles, n_alt)):
            np.testing.assert_array_equal(gt[r, :, :p], ref)
        assert (gt[:, :, p] == -2).all()
        expected_ph = flags.astype(bool) & (alleles[:, 1] != -2) if p > 1 else np.zeros(n, bool)
        np.testing.assert_array_equal(ph, np.tile(expected_ph, (k, 1)))

    check()
