"""The genotype model: dosages read shard by shard from the store, trained and registered; the GPU script on CPU."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, run_hpcgen

from hpcgen.model.data import rank_shard, store_dosages
from hpcgen.model.networks import GenotypeTransformer, count_parameters, transformer_shape_for_params


def test_store_dosages_match_the_genotypes(demo_store):
    """Dosages (alt-allele counts, missing -> variant mean) against a direct count from the store's genotypes."""
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(demo_store)
    samples = list(store.samples[::3])
    x, ids = store_dosages(demo_store, samples, max_variants=300)
    assert x.shape == (len(samples), 300) and len(ids) == 300
    first = store.shards[0]
    g = store.genotypes((first.chrom, first.start, first.end))[:, ::3, :]
    var = store.variants((first.chrom, first.start, first.end))
    # the first kept variant: find it by id and count alleles by hand
    chrom, pos, ref, alt = ids[0].split(":")
    row = int(np.flatnonzero((var["pos"] == int(pos)) & (var["ref"] == ref) & (var["alt"] == alt))[0])
    calls = g[row]
    ok = (calls >= 0).all(axis=1)
    expected = calls[ok].sum(axis=1)
    assert np.array_equal(x[ok, 0], expected.astype(np.float32))
    assert np.allclose(x[~ok, 0], expected.mean())


def test_rank_shards_cover_rows_and_are_equal():
    shards = [rank_shard(11, r, 3) for r in range(3)]
    assert {len(s) for s in shards} == {4}
    assert set(np.concatenate(shards)) == set(range(11))


def test_transformer_scales_to_a_requested_size():
    for target in (1e6, 5e7):
        shape = transformer_shape_for_params(target)
        net = GenotypeTransformer(256, patch=16, **shape)
        assert 0.5 * target < count_parameters(net) < 1.6 * target
    big = transformer_shape_for_params(2e9)
    assert 0.9e9 * 2 < 12 * big["n_layers"] * big["d_model"] ** 2 < 1.1e9 * 2 and big["d_model"] % 128 == 0


def test_genotype_net_trains_from_the_store_and_predicts(demo_cohort, demo_store, tmp_path):
    cfg = tmp_path / "gn.yaml"
    cfg.write_text("model:\n  epochs: 4\n  max_variants: 256\n  genotype_d_model: 32\n  genotype_heads: 2\n"
                   "  batch_size: 32\n")
    mapping = demo_store.parent / "ids.tsv"
    reg = tmp_path / "reg"
    proc = run_hpcgen("train", "--model", "genotype-net", "--data", str(demo_cohort["clinical"]), "--store",
                      str(demo_store), "--id-mapping", str(mapping), "--out", str(reg), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((reg / "genotype-net" / "v0001" / "model.json").read_text())
    assert len(meta["features"]) == 256 and meta["hparams"]["d_model"] == 32
    out = tmp_path / "pred.tsv"
    proc = run_hpcgen("predict", "--model", str(reg / "genotype-net"), "--input", str(demo_cohort["clinical"]),
                      "--store", str(demo_store), "--id-mapping", str(mapping), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pd.read_csv(out, sep="\t")
    assert len(df) == len(pd.read_csv(demo_cohort["clinical"], sep="\t")) and (df["predicted_dose_mg_week"] > 0).all()
    assert df["model"].eq("genotype-net").all()


def test_gpu_script_runs_on_cpu_and_writes_json(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_genotype_model.py"), "--device", "cpu",
                           "--params", "1e5", "--seconds", "3"], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "gpu_genotype_model.json").read_text())
    assert res["steps"] > 0 and res["samples_per_s"] > 0 and res["device"] == "cpu"
    assert 0.5e5 < res["params"] < 2e5
    # the FLOP figure is the stated formula applied to the measured rate
    assert res["tflops_6nd"] == pytest.approx(6 * res["params"] * res["tokens_per_s"] / 1e12, rel=1e-6)
    assert "optimizer" in res and ("deepspeed" in res["optimizer"] or "torch AdamW" in res["optimizer"])
