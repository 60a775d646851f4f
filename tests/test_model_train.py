"""Training (DeepSpeed, 1 rank), registry, predict, promotion, evaluation, on the demo generator's data."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, run_hpcgen
from model_helpers import genes_tsv_from_truth, random_cohort

from hpcgen.errors import InputError
from hpcgen.model import registry
from hpcgen.model.data import save_arrays
from hpcgen.model.predict import PREDICTION_COLUMNS
from hpcgen.model.train import TrainSpec, checkpoint_tags, latest_valid_checkpoint, run_training, write_checksums

SHORT = "model:\n  epochs: 25\n  patience: 8\n  checkpoint_every: 5\n  batch_size: 32\n"
WEAK = "model:\n  epochs: 1\n  learning_rate: 1.0e-6\n  batch_size: 32\n  warm_start: false\n"


def _cfg(tmp_path: Path, text: str, name: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.fixture(scope="module")
def trained(demo_cohort, key_file, tmp_path_factory):
    """`hpcgen train` on the demo clinical table joined with pgx calls (contract genes.tsv, pseudonymized)."""
    from hpcgen.pseudonym import load_key

    tmp = tmp_path_factory.mktemp("trained")
    pgx = tmp / "pgx"
    genes_tsv_from_truth(demo_cohort["pgx_truth"], pgx, load_key(key_file))
    reg = tmp / "registry"
    proc = run_hpcgen("train", "--model", "dose-mlp", "--data", str(demo_cohort["clinical"]), "--pgx", str(pgx),
                      "--profile", "local", "--out", str(reg), "--config", _cfg(tmp, SHORT, "short.yaml"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"registry": reg, "pgx": pgx, "clinical": demo_cohort["clinical"], "stdout": proc.stdout, "tmp": tmp}


def test_train_registers_a_complete_version(trained):
    vdir = trained["registry"] / "dose-mlp" / "v0001"
    assert "promoted (first version)" in trained["stdout"]
    assert (trained["registry"] / "dose-mlp" / "CURRENT").read_text().strip() == "v0001"
    manifest = registry.verify(vdir)
    assert set(manifest["files"]) >= {"model.safetensors", "model.json", "data.json", "metrics.json", "history.json",
                                      "learning_curve.png", "card.md"}
    assert manifest["code"]["hpcgen"]
    assert (vdir / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((vdir / "metrics.json").read_text())
    assert set(metrics["test"]["dose_group"]) == {"<21", "21-49", ">=49"}
    assert set(metrics["test"]["ancestry"]) <= {"White", "Asian", "Black", "Unknown"}
    data = json.loads((vdir / "data.json").read_text())
    assert data["checksums"] and data["n_without_target"] >= 0 and data["n_train"] > data["n_test"] > 0
    history = json.loads((vdir / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(len(history))) and all("val_loss" in h for h in history)
    card = (vdir / "card.md").read_text()
    assert "## Intended use" in card and "## Limits" in card and "MAE" in card
    meta = json.loads((vdir / "model.json").read_text())
    assert "cyp4f2_star3" in meta["features"]  # the pgx join contributed a feature


def test_predict_writes_the_contract_with_iwpc_beside(trained, tmp_path):
    out = tmp_path / "predictions.tsv"
    proc = run_hpcgen("predict", "--model", str(trained["registry"] / "dose-mlp"), "--input", str(trained["clinical"]),
                      "--pgx", str(trained["pgx"]), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out, sep="\t")
    assert tuple(df.columns) == PREDICTION_COLUMNS
    assert df["sample"].map(lambda s: bool(re.fullmatch(r"P[0-9a-f]{16}", s))).all()  # pseudonyms only
    genes = pd.read_csv(trained["pgx"] / "genes.tsv", sep="\t", comment="#")
    assert set(df["sample"]) <= set(genes["sample"])
    assert (df["predicted_dose_mg_week"] > 0).all() and (df["unit"] == "mg/week").all()
    assert df["model_version"].eq("dose-mlp/v0001").all()
    # independent check of usefulness: better than always predicting the cohort's mean dose
    clinical = pd.read_csv(trained["clinical"], sep="\t")
    actual = clinical["Therapeutic Dose of Warfarin"].to_numpy(float)
    ok = np.isfinite(actual)
    mae_model = np.mean(np.abs(df["predicted_dose_mg_week"].to_numpy()[ok] - actual[ok]))
    mae_mean = np.mean(np.abs(np.nanmean(actual) - actual[ok]))
    assert mae_model < mae_mean
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"


def test_evaluate_reports_model_and_iwpc(trained):
    proc = run_hpcgen("dose", "evaluate", "--model", str(trained["registry"] / "dose-mlp"), "--input",
                      str(trained["clinical"]), "--pgx", str(trained["pgx"]))
    assert proc.returncode == 0, proc.stderr
    assert "dose-mlp/v0001: n=" in proc.stdout and "IWPC pharmacogenetic: n=" in proc.stdout
    assert "dose 21-49 mg/week" in proc.stdout


def test_predict_refuses_missing_inputs(trained, tmp_path):
    out = tmp_path / "p.tsv"
    proc = run_hpcgen("predict", "--model", str(trained["registry"] / "dose-mlp"), "--input", str(trained["clinical"]),
                      "--out", str(out))
    assert proc.returncode == 2 and "trained with pgx inputs: pass --pgx" in proc.stderr and not out.exists()


def _flip(target: Path) -> None:
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01  # flip one bit
    os.chmod(target, 0o640)
    target.write_bytes(bytes(data))


def test_corrupted_artifact_is_never_loaded(trained, tmp_path):
    victim = "model.safetensors"
    vdir = tmp_path / "dose-mlp" / "v0001"
    shutil.copytree(trained["registry"] / "dose-mlp" / "v0001", vdir)
    _flip(vdir / victim)
    out = tmp_path / "pred.tsv"
    proc = run_hpcgen("predict", "--model", str(vdir), "--input", str(trained["clinical"]), "--pgx",
                      str(trained["pgx"]), "--out", str(out))
    assert proc.returncode == 2
    assert f"checksum mismatch: {victim}" in proc.stderr and not out.exists()
    with pytest.raises(InputError, match="checksum mismatch"):
        registry.load_version(vdir)
    shutil.copyfile(trained["registry"] / "dose-mlp" / "v0001" / victim, vdir / victim)
    registry.load_version(vdir)  # restored: loads again
    _flip(vdir / "metrics.json")  # any registered file counts, not only the weights
    with pytest.raises(InputError, match="checksum mismatch: metrics.json"):
        registry.load_version(vdir)


def test_corrupted_checkpoint_is_skipped(tmp_path):
    ckpt = tmp_path / "checkpoints"
    for tag in ("epoch00004", "epoch00009"):
        (ckpt / tag).mkdir(parents=True)
        (ckpt / tag / "mp_rank_00_model_states.pt").write_bytes(os.urandom(256))
        write_checksums(ckpt / tag)
    assert latest_valid_checkpoint(ckpt, print) == "epoch00009"
    f = ckpt / "epoch00009" / "mp_rank_00_model_states.pt"
    b = bytearray(f.read_bytes())
    b[7] ^= 0xFF
    f.write_bytes(bytes(b))
    seen = []
    assert latest_valid_checkpoint(ckpt, seen.append) == "epoch00004"
    assert "checksum mismatch" in seen[0]
    (ckpt / "epoch00004" / "checksums.json").unlink()  # a save interrupted before its checksums: incomplete
    assert latest_valid_checkpoint(ckpt, seen.append) is None


def _arrays(tmp_path: Path) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 8)).astype(np.float32)
    y = (x @ rng.normal(size=8) / 3 + 0.2 * rng.normal(size=240)).astype(np.float32)
    return str(save_arrays(tmp_path / "a.npz", x_train=x[:200], y_train=y[:200], x_val=x[200:], y_val=y[200:]))


def test_killed_training_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL a run after its first checkpoint; the rerun resumes there and matches an uninterrupted run."""
    arrays = _arrays(tmp_path)
    work = tmp_path / "work"
    script = (f"from hpcgen.model.train import TrainSpec, run_training\n"
              f"run_training(TrainSpec('dose-mlp', {{}}, {arrays!r}, {str(work)!r}, epochs=100000, "
              f"checkpoint_every=2, patience=10**6, batch_size=16))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not any((work / "checkpoints" / t / "checksums.json").is_file() for t in checkpoint_tags(work / "checkpoints")):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = latest_valid_checkpoint(work / "checkpoints", print)
    ckpt_epoch = int(done[len("epoch"):])
    spec = TrainSpec("dose-mlp", {}, arrays, str(work), epochs=ckpt_epoch + 4, checkpoint_every=2, patience=10**6,
                     batch_size=16)
    resumed = run_training(spec)
    assert resumed["resumed_from"] == ckpt_epoch
    fresh = run_training(TrainSpec(**{**spec.__dict__, "work_dir": str(tmp_path / "fresh")}))
    assert fresh["resumed_from"] is None
    steps_per_epoch = fresh["history"][0]["step"]
    tail = [h for h in resumed["history"] if h["epoch"] > ckpt_epoch]
    assert tail[0]["step"] == (ckpt_epoch + 2) * steps_per_epoch  # the step counter continues from the checkpoint
    for a, b in zip(resumed["history"], fresh["history"]):
        assert a["epoch"] == b["epoch"] and a["step"] == b["step"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)


def test_retraining_promotes_only_a_better_version(tmp_path):
    """v1 (barely trained) -> v2 on appended outcomes (beats v1: promoted) -> v3 barely trained (not promoted)."""
    from hpcgen.model.workflow import train_and_register

    base = random_cohort(tmp_path / "base.tsv", 260, seed=3)
    new = random_cohort(tmp_path / "new.tsv", 140, seed=4, start=10_000)
    reg = tmp_path / "reg"
    weak, short = _cfg(tmp_path, WEAK, "weak.yaml"), _cfg(tmp_path, SHORT, "short.yaml")
    r1 = train_and_register("dose-mlp", str(base), str(reg), config_path=weak)
    assert r1["decision"] == {"promoted": True, "reason": "first version"}
    r2 = train_and_register("dose-mlp", str(base), str(reg), append=[str(new)], config_path=short)
    assert r2["decision"]["promoted"] is True and r2["decision"]["new_mae"] < r2["decision"]["current_mae"]
    assert "v0002" in r2["summary"] and "promoted (held-out MAE" in r2["summary"]
    assert registry.current(reg, "dose-mlp").name == "v0002"
    d2 = json.loads((reg / "dose-mlp" / "v0002" / "data.json").read_text())
    assert d2["n_with_target"] == 400  # the appended outcomes were used
    r3 = train_and_register("dose-mlp", str(base), str(reg), append=[str(new)], config_path=weak)
    assert r3["decision"]["promoted"] is False and r3["decision"]["new_mae"] > r3["decision"]["current_mae"]
    assert registry.current(reg, "dose-mlp").name == "v0002"
    log = [json.loads(line) for line in (reg / "dose-mlp" / "promotions.jsonl").read_text().splitlines()]
    assert [e["promoted"] for e in log] == [True, True, False]


def test_kfold_evaluation_compares_mlp_linear_and_iwpc(tmp_path):
    data = random_cohort(tmp_path / "c.tsv", 150, seed=5)
    cfg = _cfg(tmp_path, "model:\n  epochs: 8\n  patience: 4\n  batch_size: 32\n", "cv.yaml")
    proc = run_hpcgen("dose", "evaluate", "--model", "dose-mlp", "--input", str(data), "--folds", "3", "--config", cfg,
                      "--json", str(tmp_path / "cv.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "cv.json").read_text())
    names = set(res["models"])
    assert {"dose-mlp (3-fold CV)", "linear refit (3-fold CV)", "IWPC pharmacogenetic", "IWPC clinical"} == names
    assert all(m["overall"]["n"] == 150 for m in res["models"].values())  # every row predicted out of fold


def test_bad_training_input_is_one_line(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("Age\tHeight (cm)\tWeight (kg)\tTherapeutic Dose of Warfarin\n")
    proc = run_hpcgen("train", "--model", "dose-mlp", "--data", str(empty), "--out", str(tmp_path / "reg"))
    assert proc.returncode == 2 and "empty table" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "reg" / "dose-mlp" / "v0001").exists()
