"""`hpcgen qc` against the real peers on the same VCF: plink2 (2.00a3.5) and bcftools stats.

plink2 prints 6 significant digits (this version has no flag for more), so counts are compared exactly
(plink2's `counts` modifiers), and printed floats at the printing's resolution (relative 1e-5; p-values
via -log10 p). The cohort: 3 Balding-Nichols populations, a duplicate, a parent-child trio and siblings,
monomorphic, all-missing and indel records, males haploid on chrX (their sex written into the .psam).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hpcgen.kernels.hwe import hwe_lnp_array
from tests.conftest import need_tool, run_hpcgen
from tests.qc_helpers import import_to_plink, plink2, read_plink, simulate_cohort, write_vcf

RTOL_PRINTED = 1e-5  # 6 significant digits


@pytest.fixture(scope="module")
def peer(tmp_path_factory, key_file):
    need_tool("plink2")
    need_tool("bcftools")
    need_tool("bgzip")
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key, read_mapping

    wd = tmp_path_factory.mktemp("qc-peer")
    cohort = simulate_cohort(seed=3)
    vcf = write_vcf(cohort, wd / "cohort.vcf")
    subprocess.run(["bgzip", "-kf", str(vcf)], check=True)
    prefix = import_to_plink(cohort, vcf, "cohort")
    plink2("--pfile", prefix.name, "--freq", "counts", "--missing", "--hardy", "midp", "--het",
           "--make-king-table", "counts", "--pca", "4", "--out", "mid", cwd=wd)
    plink2("--pfile", prefix.name, "--hardy", "--out", "plain", cwd=wd)
    plink2("--pfile", prefix.name, "--keep-females", "--chr", "X", "--hardy", "midp", "--out", "females", cwd=wd)
    ingest(str(vcf) + ".gz", wd / "store", key=load_key(key_file), mapping_path=wd / "ids.tsv", build="GRCh38")
    cfg = wd / "qc.yaml"
    cfg.write_text(yaml.safe_dump({"qc": {"hwe_midp": True, "kinship_threshold": -1.0, "pca_components": 4,
                                          "block_variants": 400, "block_samples": 32}}))
    proc = run_hpcgen("qc", str(wd / "store"), "--out", str(wd / "qc"), "--config", str(cfg), "--tsv")
    assert proc.returncode == 0, proc.stderr
    real = read_mapping(wd / "ids.tsv")  # pseudonym -> real
    variants = pd.read_parquet(wd / "qc" / "variants.parquet").set_index("id")
    samples = pd.read_parquet(wd / "qc" / "samples.parquet")
    samples["IID"] = samples["sample"].map(real)
    pcs = pd.read_parquet(wd / "qc" / "pca.parquet")
    pcs["IID"] = pcs["sample"].map(real)
    kin = pd.read_parquet(wd / "qc" / "kinship.parquet")
    kin["IID1"], kin["IID2"] = kin["sample_1"].map(real), kin["sample_2"].map(real)
    return {"wd": wd, "cohort": cohort, "variants": variants, "samples": samples.set_index("IID"), "pcs": pcs.set_index("IID"),
            "kin": kin, "vcf": Path(str(vcf) + ".gz")}


def test_freq_and_missing(peer):
    wd, v, s = peer["wd"], peer["variants"], peer["samples"]
    freq = read_plink(wd / "mid.acount").set_index("ID")
    v = v.loc[freq.index]
    # chrX: males haploid (one allele), as plink2 counts them given the .psam sex
    np.testing.assert_array_equal(v["an"], freq["OBS_CT"])
    np.testing.assert_array_equal(v["ac"], freq["ALT_CTS"])
    vmiss = read_plink(wd / "mid.vmiss").set_index("ID")
    np.testing.assert_array_equal(v["n_missing"], vmiss.loc[v.index, "MISSING_CT"])
    np.testing.assert_allclose(1 - v["call_rate"], vmiss.loc[v.index, "F_MISS"], rtol=RTOL_PRINTED)
    smiss = read_plink(wd / "mid.smiss").set_index("IID")
    np.testing.assert_array_equal(s.loc[smiss.index, "n_missing"], smiss["MISSING_CT"])
    np.testing.assert_allclose(1 - s.loc[smiss.index, "call_rate"], smiss["F_MISS"], rtol=RTOL_PRINTED)


def _compare_p(ours: np.ndarray, theirs: np.ndarray) -> None:
    # -log10 p at the printing's resolution (absolute near p = 1, where -log10 p is ~0)
    np.testing.assert_allclose(-np.log10(ours), -np.log10(theirs), rtol=RTOL_PRINTED, atol=1e-5)


def test_hardy_exact_midp_and_plain(peer):
    wd, v = peer["wd"], peer["variants"]
    mid = read_plink(wd / "mid.hardy").set_index("ID")
    sub = v.loc[mid.index]
    # A1 is REF here (biallelic, REF first)
    np.testing.assert_array_equal(sub["n_hom_ref"], mid["HOM_A1_CT"])
    np.testing.assert_array_equal(sub["n_het"], mid["HET_A1_CT"])
    np.testing.assert_array_equal(sub["n_hom_alt"], mid["TWO_AX_CT"])
    called = (sub["n_hom_ref"] + sub["n_het"] + sub["n_hom_alt"]).to_numpy() > 0
    assert (~called).sum() >= 1 and np.isnan(sub["hwe_p"].to_numpy()[~called]).all()  # all-missing: no test
    _compare_p(sub["hwe_p"].to_numpy()[called], mid["MIDP"].to_numpy()[called])
    plain = read_plink(wd / "plain.hardy").set_index("ID").loc[mid.index]
    lnp = hwe_lnp_array(sub["n_het"].to_numpy(), sub["n_hom_ref"].to_numpy(), sub["n_hom_alt"].to_numpy(), False)
    _compare_p(np.exp(lnp[called]), plain["P"].to_numpy()[called])


def test_hardy_chrx_is_the_female_test(peer):
    """On chrX our HWE uses diploid calls only, i.e. the females: plink2 on the females alone."""
    wd, v = peer["wd"], peer["variants"]
    fem = read_plink(wd / "females.hardy.x").set_index("ID")
    sub = v.loc[fem.index]
    np.testing.assert_array_equal(sub["n_het"], fem["FEMALE_HET_A1_CT"])
    ok = (sub["n_hom_ref"] + sub["n_het"] + sub["n_hom_alt"]).to_numpy() > 0
    _compare_p(sub["hwe_p"].to_numpy()[ok], fem["MIDP"].to_numpy()[ok])


def test_het_inbreeding(peer):
    wd, s = peer["wd"], peer["samples"]
    het = read_plink(wd / "mid.het").set_index("IID")
    s = s.loc[het.index]
    np.testing.assert_array_equal(s["o_hom"], het["O(HOM)"])
    np.testing.assert_array_equal(s["het_obs_ct"], het["OBS_CT"])
    np.testing.assert_allclose(s["e_hom"], het["E(HOM)"], rtol=RTOL_PRINTED)
    np.testing.assert_allclose(s["inbreeding_f"], het["F"], rtol=RTOL_PRINTED, atol=1e-6)


def test_king_kinship(peer):
    wd, kin = peer["wd"], peer["kin"]
    theirs = read_plink(wd / "mid.kin0")
    m = theirs.merge(kin, left_on=["IID2", "IID1"], right_on=["IID1", "IID2"], suffixes=("", "_ours"))
    assert len(m) == len(theirs) == len(kin) == 90 * 89 // 2
    np.testing.assert_array_equal(m["NSNP"], m["nsnp"])
    np.testing.assert_array_equal(m["HETHET"], m["hethet"])
    np.testing.assert_array_equal(m["IBS0"], m["ibs0"])
    np.testing.assert_allclose(m["kinship"], m["KINSHIP"], rtol=RTOL_PRINTED, atol=1e-6)
    dup = kin[(kin.IID1 == "S000") & (kin.IID2 == "S001")]
    assert dup["kinship"].iloc[0] == pytest.approx(0.5)  # the planted duplicate


def test_pca_matches_plink2_up_to_sign(peer):
    wd, pcs = peer["wd"], peer["pcs"]
    theirs = pd.read_csv(wd / "mid.eigenvec", sep="\t").set_index("#IID")
    ours = pcs.loc[theirs.index]
    # 3 populations: two structured PCs (the rest are noise, ordered arbitrarily by either tool)
    for k in (1, 2):
        r = np.corrcoef(ours[f"PC{k}"], theirs[f"PC{k}"])[0, 1]
        assert abs(r) > 0.99, (k, r)
    eig = pd.read_parquet(wd / "qc" / "pca_eigenvalues.parquet")
    assert (np.diff(eig["eigenvalue"]) <= 1e-9).all() and eig["explained"].sum() < 1


def _bcftools_psc(vcf: Path) -> pd.DataFrame:
    out = subprocess.run(["bcftools", "stats", "-s", "-", str(vcf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines() if line.startswith("PSC\t")]
    cols = ["PSC", "id", "sample", "nRefHom", "nNonRefHom", "nHets", "nTs", "nTv", "nIndels", "dp", "nSingletons",
            "nHapRef", "nHapAlt", "nMissing"]
    return pd.DataFrame(rows, columns=cols).set_index("sample").drop(columns=["PSC", "id", "dp"]).astype(int)


def test_titv_and_per_sample_counts_vs_bcftools_stats(peer):
    psc = _bcftools_psc(peer["vcf"])
    s = peer["samples"].loc[psc.index]
    np.testing.assert_array_equal(s["n_ts"], psc["nTs"])
    np.testing.assert_array_equal(s["n_tv"], psc["nTv"])
    np.testing.assert_array_equal(s["n_indel"], psc["nIndels"])
    np.testing.assert_array_equal(s["n_singletons"], psc["nSingletons"])
    np.testing.assert_array_equal(s["n_hap_ref"], psc["nHapRef"])
    np.testing.assert_array_equal(s["n_hap_alt"], psc["nHapAlt"])
    np.testing.assert_array_equal(s["n_missing"], psc["nMissing"])
    np.testing.assert_allclose(s["ti_tv"], psc["nTs"] / psc["nTv"])


def test_edge_variants_defined(peer):
    v = peer["variants"]
    mono_ref, mono_alt, all_missing = v.iloc[0], v.iloc[1], v.iloc[2]
    assert mono_ref["af"] == 0 and mono_ref["maf"] == 0 and mono_ref["fail_maf"] and not mono_ref["fail_hwe"]
    assert mono_alt["af"] == 1 and mono_alt["maf"] == 0 and mono_alt["hwe_p"] == pytest.approx(0.5)  # mid-p
    assert all_missing["call_rate"] == 0 and np.isnan(all_missing["af"]) and np.isnan(all_missing["hwe_p"])
    assert all_missing["fail_call_rate"] and not all_missing["pass"]


def test_outputs_and_manifest(peer):
    out = peer["wd"] / "qc"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == "hpcgen.qc/1"
    from hpcgen.fsutil import sha256_file

    for name, digest in manifest["outputs"].items():
        assert sha256_file(out / name) == digest
    assert {"variants.tsv", "samples.tsv", "kinship.parquet", "qc_report.html"} <= set(manifest["outputs"])
    page = (out / "qc_report.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 and "http://" not in page and "https://" not in page
    tsv = pd.read_csv(out / "variants.tsv", sep="\t")
    assert len(tsv) == len(peer["variants"])


@pytest.mark.slurm
def test_qc_on_slurm_matches_local(peer, tmp_path):
    """--profile devcluster: the Dask work runs in a dask-jobqueue worker job; same tables as in-process."""
    need_tool("sinfo")
    if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode != 0:
        pytest.skip("dev Slurm cluster not running (make cluster-up)")
    wd = peer["wd"]
    cfg = yaml.safe_load((wd / "qc.yaml").read_text())
    cfg["qc"].update({"dask_jobs": 1, "dask_job_cores": 1, "dask_job_mem_gb": 2, "dask_job_time_min": 10})
    (tmp_path / "qc.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_hpcgen("qc", str(wd / "store"), "--out", str(tmp_path / "qc"), "--config", str(tmp_path / "qc.yaml"),
                      "--profile", "devcluster")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "qc" / "manifest.json").read_text())["profile"] == "devcluster"
    for name in ("variants", "samples", "kinship"):
        ours = pd.read_parquet(tmp_path / "qc" / f"{name}.parquet")
        local = pd.read_parquet(wd / "qc" / f"{name}.parquet")
        pd.testing.assert_frame_equal(ours, local, check_exact=False, rtol=1e-12)
    # PCA: the same blocks and seed; only float summation order may differ between schedulers
    ours, local = (pd.read_parquet(d / "qc" / "pca.parquet") for d in (tmp_path, wd))
    assert list(ours.columns) == list(local.columns) and (ours["sample"] == local["sample"]).all()
    pcs = [c for c in ours.columns if c.startswith("PC")]
    np.testing.assert_allclose(ours[pcs].to_numpy(), local[pcs].to_numpy(), atol=1e-5)
