"""`hpcgen qc` / `hpcgen filter` on the demo store: samples sheet, PCA by ancestry, filter against
bcftools + plink2, bad input (one line, exit 2, nothing that looks complete), single-sample cohort.
"""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import need_tool, run_hpcgen
from tests.qc_helpers import plink2, read_plink, simulate_cohort, write_vcf


@pytest.fixture(scope="module")
def demo_qc(demo_store, demo_cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-qc") / "qc"
    proc = run_hpcgen("qc", str(demo_store), "--out", str(out), "--samples-sheet", str(demo_cohort["samples"]),
                      "--id-mapping", str(demo_store.parent / "ids.tsv"))
    assert proc.returncode == 0, proc.stderr
    return out


def test_demo_qc_pca_separates_ancestry(demo_qc):
    pcs = pd.read_parquet(demo_qc / "pca.parquet")
    assert pcs["ancestry"].notna().all() and pcs["sample"].str.match(r"^P[0-9a-f]{16}$").all()
    # the demo's continental groups are distinct on the top PCs: group centroids far apart vs spread within
    groups = {g: d[["PC1", "PC2"]].to_numpy() for g, d in pcs.groupby("ancestry") if g in ("AFR", "EUR", "EAS")}
    assert len(groups) >= 2
    names = sorted(groups)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            ga, gb = groups[names[a]], groups[names[b]]
            gap = np.linalg.norm(ga.mean(axis=0) - gb.mean(axis=0))
            spread = max(ga.std(axis=0).max(), gb.std(axis=0).max())
            assert gap > 3 * spread, (names[a], names[b], gap, spread)
    page = (demo_qc / "qc_report.html").read_text()
    assert "PCA by ancestry group" in page
    manifest = json.loads((demo_qc / "manifest.json").read_text())
    assert manifest["summary"]["samples"] == len(pcs)


def test_filter_matches_bcftools_and_plink2(demo_store, demo_cohort, tmp_path):
    """DP/GQ mask (bcftools +setGT) then --geno/--maf/--hwe (plink2) keep the same autosomal variants as ours."""
    need_tool("bcftools")
    need_tool("plink2")
    cfg = tmp_path / "f.yaml"
    q = {"min_call_rate": 0.9, "min_maf": 0.05, "hwe_p": 1e-4, "hwe_midp": True, "min_dp": 10, "min_gq": 20}
    cfg.write_text(yaml.safe_dump({"qc": q}))
    out = tmp_path / "filtered"
    proc = run_hpcgen("filter", str(demo_store), "--out", str(out), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    from hpcgen.store import GenotypeStore

    ours = GenotypeStore.open(out).variants()
    kept = set(ours.loc[~ours["chrom"].isin(["chrX", "chrY", "chrM"])].apply(
        lambda r: f"{r.chrom.removeprefix('chr')}:{r.pos}:{r.ref}:{r.alt}", axis=1))  # plink2 '@' drops "chr"
    masked = tmp_path / "masked.vcf.gz"
    norm = subprocess.run(["bcftools", "norm", "-m", "-any", str(demo_cohort["vcf"]), "-Ou"], capture_output=True, check=True)
    setgt = subprocess.run(["bcftools", "+setGT", "-Oz", "-o", str(masked), "-", "--", "-t", "q", "-n", ".",
                            "-i", f"FMT/DP<{q['min_dp']} | FMT/GQ<{q['min_gq']}"], input=norm.stdout, capture_output=True)
    assert setgt.returncode == 0, setgt.stderr.decode()
    plink2("--vcf", masked.name, "--set-all-var-ids", "@:#:$r:$a", "--new-id-max-allele-len", "1000", "--autosome",
           "--geno", str(1 - q["min_call_rate"]), "--maf", str(q["min_maf"]), "--hwe", str(q["hwe_p"]), "midp",
           "--write-snplist", "--out", "peer", cwd=tmp_path)
    theirs = set((tmp_path / "peer.snplist").read_text().split())
    assert len(kept) > 100 and kept == theirs, (len(kept), len(theirs), sorted(kept ^ theirs)[:10])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filter"]["kept"] == len(ours)


def test_bad_inputs_one_line_exit_2(tmp_path, demo_store):
    not_a_store = tmp_path / "nostore"
    not_a_store.mkdir()
    proc = run_hpcgen("qc", str(not_a_store), "--out", str(tmp_path / "o1"))
    assert proc.returncode == 2 and "nostore" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o1" / "manifest.json").exists()
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("sample\tgroup_of\nA\tEUR\n")
    proc = run_hpcgen("qc", str(demo_store), "--out", str(tmp_path / "o2"), "--samples-sheet", str(sheet))
    assert proc.returncode == 2 and "sheet.tsv" in proc.stderr and "ancestry" in proc.stderr
    sheet.write_text("sample\tancestry\nNOT-IN-STORE\tEUR\n")
    proc = run_hpcgen("qc", str(demo_store), "--out", str(tmp_path / "o3"), "--samples-sheet", str(sheet))
    assert proc.returncode == 2 and "pseudonym" in proc.stderr
    assert not (tmp_path / "o3" / "manifest.json").exists()
    proc = run_hpcgen("filter", str(demo_store), "--out", str(demo_store))
    assert proc.returncode == 2


def test_single_sample_cohort(tmp_path, key_file):
    need_tool("plink2")
    need_tool("bgzip")
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key

    full = simulate_cohort(seed=5, n_samples=12, n_auto=200, n_x=20)
    one = type(full)(full.chrom, full.pos, full.ref, full.alt, full.g[:, 4:5].copy(), full.samples[4:5],
                     full.ancestry[4:5], full.male[4:5])
    vcf = write_vcf(one, tmp_path / "one.vcf")
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    ingest(str(vcf) + ".gz", tmp_path / "store", key=load_key(key_file), mapping_path=tmp_path / "ids.tsv", build="GRCh38")
    proc = run_hpcgen("qc", str(tmp_path / "store"), "--out", str(tmp_path / "qc"))
    assert proc.returncode == 0, proc.stderr
    v = pd.read_parquet(tmp_path / "qc" / "variants.parquet").set_index("id")
    s = pd.read_parquet(tmp_path / "qc" / "samples.parquet")
    assert len(s) == 1 and len(pd.read_parquet(tmp_path / "qc" / "kinship.parquet")) == 0
    assert not (tmp_path / "qc" / "pca.parquet").exists()  # no PC from one sample
    plink2("--vcf", "one.vcf.gz", "--freq", "counts", "--missing", "--out", "one", cwd=tmp_path)
    acount = read_plink(tmp_path / "one.acount").set_index("ID")
    # no sex in the .psam here: plink2 counts the haploid chrX calls as homozygous diploid, so autosomes only
    auto = [i for i in acount.index if v.loc[i, "chrom"] != "chrX"]
    np.testing.assert_array_equal(v.loc[auto, "an"], acount.loc[auto, "OBS_CT"])
    np.testing.assert_array_equal(v.loc[auto, "ac"], acount.loc[auto, "ALT_CTS"])
    smiss = read_plink(tmp_path / "one.smiss")
    assert s["n_missing"].iloc[0] == smiss["MISSING_CT"].iloc[0]
