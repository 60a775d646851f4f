"""Model stage orchestration: train + register + promote, evaluate (with k-fold CV), predict to the contract TSV.

The CLI and the Snakemake rules call these functions; the per-rank loop lives in :mod:`hpcgen.model.train`.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hpcgen.config import load_config
from hpcgen.config.model import ModelConfig
from hpcgen.errors import InputError
from hpcgen.fsutil import sha256_file
from hpcgen.model import iwpc, registry
from hpcgen.model.clinical import load_clinical
from hpcgen.model.data import Standardizer, save_arrays, split_indices, store_dosages
from hpcgen.model.evaluate import cross_validate, fit_linear_sqrt, metrics_by_group
from hpcgen.model.features import FeatureSet, build_features
from hpcgen.model.train import TrainSpec


@dataclass
class Inputs:
    """Where a model's features come from (paths; None when unused)."""

    pgx_dir: str | None = None
    pcs: str | None = None
    store: str | None = None
    id_mapping: str | None = None


def load_rows(data_path: str, append: list[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """The clinical table plus appended outcome tables (a later row for the same sample replaces the earlier)."""
    tables = [load_clinical(p) for p in [data_path, *(append or [])]]
    frame = pd.concat([t.frame for t in tables], ignore_index=True)
    frame = frame.drop_duplicates("sample", keep="last").reset_index(drop=True)
    info = {"n_rows": len(frame), "n_without_target": int(frame["dose_mg_week"].isna().sum()),
            "checksums": {Path(t.path).name: sha256_file(t.path) for t in tables}, "notes": sum((t.notes for t in tables), [])}
    return frame, info


def features_for(model_name: str, frame: pd.DataFrame, inputs: Inputs, cfg: ModelConfig,
                 feature_names: list[str] | None = None) -> FeatureSet:
    """Tabular features (dose-mlp) or store dosages (genotype-net) for the rows of ``frame``."""
    genotype = model_name.startswith("genotype")
    fs = build_features(frame, inputs.pgx_dir, inputs.pcs, inputs.id_mapping, cfg.n_pcs,
                        None if genotype else feature_names)
    if genotype:
        if not inputs.store:
            raise InputError(f"{model_name} reads genotypes: pass --store")
        if inputs.pgx_dir is None and inputs.pcs is None:
            from hpcgen.model.features import to_pseudonyms

            fs.samples = to_pseudonyms(fs.samples, inputs.id_mapping)
        x, ids = store_dosages(inputs.store, fs.samples, cfg.max_variants, variant_ids=feature_names)
        fs.x, fs.names = x.astype(float), ids
    return fs


def hparams_for(model_name: str, cfg: ModelConfig) -> dict:
    if model_name == "dose-mlp":
        return {"hidden": tuple(cfg.hidden), "dropout": cfg.dropout}
    return {"patch": cfg.genotype_patch, "d_model": cfg.genotype_d_model, "n_layers": cfg.genotype_layers,
            "n_heads": cfg.genotype_heads}


class Predictor:
    """A trained network with its scaling: ``predict(x)`` -> doses in mg/week."""

    def __init__(self, model_name: str, hparams: dict, scaler: Standardizer, state: dict, features: list[str]):
        from hpcgen.model.networks import build_model

        self.model_name, self.hparams, self.scaler, self.features = model_name, hparams, scaler, features
        self.version, self.meta = model_name, {}  # set by load_predictor for registered versions
        self.net = build_model(model_name, len(features), **hparams)
        self.net.load_state_dict(state)
        self.net.eval()

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            t = self.net(torch.from_numpy(self.scaler.x(x))).numpy()
        return self.scaler.dose(t)


def fit(model_name: str, fs: FeatureSet, train_idx: np.ndarray, cfg: ModelConfig, work_dir: Path, ranks: int = 1,
        profile: str = "local", run_dir=None) -> tuple[Predictor, dict]:
    """Train on ``train_idx`` (a validation part is split off for early stopping); return predictor + result."""
    from safetensors.torch import load_file

    from hpcgen.model.distributed import launch

    rng = np.random.default_rng(cfg.seed + 1)
    perm = rng.permutation(train_idx)
    n_val = max(1, int(round(len(perm) * cfg.val_fraction / (1 - cfg.test_fraction))))
    val, tr = perm[:n_val], perm[n_val:]
    scaler = Standardizer.fit(fs.x[tr], fs.y[tr])
    work_dir.mkdir(parents=True, exist_ok=True)
    arrays = work_dir / "data.npz"
    save_arrays(arrays, x_train=scaler.x(fs.x[tr]), y_train=scaler.y(fs.y[tr]),
                x_val=scaler.x(fs.x[val]), y_val=scaler.y(fs.y[val]))
    hp = hparams_for(model_name, cfg)
    extra = {"y_scale": [scaler.y_mean, scaler.y_std]}
    if model_name == "dose-mlp" and cfg.warm_start:
        xs = np.column_stack([scaler.x(fs.x[tr]), np.ones(len(tr))])
        coef, *_ = np.linalg.lstsq(xs, scaler.y(fs.y[tr]), rcond=None)
        extra["linear_init"] = [float(c) for c in coef]
    spec = TrainSpec(model_name, hp, str(arrays), str(work_dir), seed=cfg.seed, epochs=cfg.epochs,
                     batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
                     zero_stage=cfg.zero_stage, patience=cfg.patience, checkpoint_every=cfg.checkpoint_every,
                     loss=cfg.loss, huber_delta=cfg.huber_delta, device=cfg.device, extra=extra)
    result = launch(spec, ranks=ranks, profile=profile, run_dir=run_dir or work_dir / "run", timeout_min=cfg.timeout_min)
    result.update(n_train=len(tr), n_val=len(val))
    state = load_file(str(work_dir / "model.safetensors"))
    return Predictor(model_name, hp, scaler, state, fs.names), result


def _id_salt(registry_dir: str, model_name: str) -> bytes:
    """The registry's secret salt (0600, made once): training-row IDs are stored only as salted HMACs."""
    from hpcgen.fsutil import PRIVATE_FILE_MODE, atomic_write_text

    path = Path(registry_dir) / model_name / ".id_salt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, os.urandom(32).hex() + "\n", mode=PRIVATE_FILE_MODE)
    return path.read_text(encoding="utf-8").strip().encode()


def _id_hash(sample: str, salt: bytes) -> str:
    import hmac

    return hmac.new(salt, sample.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def learning_curve_png(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ep = [h["epoch"] for h in history]
    ax.plot(ep, [h["train_loss"] for h in history], label="train")
    ax.plot(ep, [h["val_loss"] for h in history], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (standardized sqrt dose)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def work_folder(registry_dir: str, model_name: str, key: dict) -> Path:
    """A run folder keyed by inputs + config, so rerunning the same training resumes its checkpoints."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    d = Path(registry_dir) / model_name / ".runs" / digest
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def train_and_register(model_name: str, data_path: str, registry_dir: str, append: list[str] | None = None,
                       pgx_dir=None, pcs=None, store=None, id_mapping=None, profile: str = "local",
                       ranks: int | None = None, config_path=None, promote: bool = True, run_dir=None) -> dict:
    """Train, evaluate on held-out rows, register a new version, and promote it if it beats the current one."""
    cfg = load_config(config_path).model
    ranks = ranks or cfg.ranks
    inputs = Inputs(pgx_dir, pcs, store, id_mapping)
    frame, info = load_rows(data_path, append)
    frame = frame[frame["dose_mg_week"].notna()].reset_index(drop=True)
    fs = features_for(model_name, frame, inputs, cfg)
    train_idx, val_idx, test_idx = split_indices(len(fs.y), cfg.val_fraction, cfg.test_fraction, cfg.seed)
    fit_idx = np.concatenate([train_idx, val_idx])
    work = work_folder(registry_dir, model_name, {"cfg": cfg.to_dict(), "data": info["checksums"], "ranks": ranks,
                                                  "inputs": [pgx_dir, pcs, store]})
    predictor, result = fit(model_name, fs, fit_idx, cfg, work, ranks, profile, run_dir)
    pred = predictor.predict(fs.x[test_idx])
    test_frame = fs.frame.iloc[test_idx]
    metrics = {"test": metrics_by_group(fs.y[test_idx], pred, fs.race[test_idx]),
               "test_iwpc": metrics_by_group(fs.y[test_idx], iwpc.pharmacogenetic_dose(test_frame), fs.race[test_idx]),
               "best_epoch": result["best_epoch"], "world_size": result["world_size"],
               "resumed_from": result["resumed_from"], "samples_per_s": result["samples_per_s"]}
    meta = {"model": model_name, "hparams": predictor.hparams, "features": fs.names, "scaler": predictor.scaler.to_dict(),
            "seed": cfg.seed, "config": cfg.to_dict(), "drug": "warfarin", "unit": "mg/week",
            "inputs": {"pgx": bool(pgx_dir), "pcs": bool(pcs), "store": bool(store)}}
    salt = _id_salt(registry_dir, model_name)
    data = {**info, "n_with_target": len(fs.y), "n_train": result["n_train"], "n_val": result["n_val"],
            "n_test": len(test_idx), "train_id_hashes": sorted(_id_hash(fs.samples[i], salt) for i in fit_idx)}
    meta["version"] = registry.next_version(registry_dir, model_name)
    curve = work / "learning_curve.png"
    learning_curve_png(result["history"], curve)
    version_dir = registry.save_version(registry_dir, model_name, {
        "model.safetensors": work / "model.safetensors", "model.json": json.dumps(meta, indent=2) + "\n",
        "data.json": json.dumps(data, indent=2) + "\n", "metrics.json": json.dumps(metrics, indent=2) + "\n",
        "history.json": json.dumps(result["history"], indent=1) + "\n", "learning_curve.png": curve,
        "card.md": registry.model_card(meta, data, metrics)})
    decision = decide_promotion(registry_dir, model_name, version_dir, fs, test_idx, pred, inputs, cfg) if promote else \
        {"promoted": False, "reason": "--no-promote"}
    o = metrics["test"]["overall"]
    summary = (f"{model_name} {version_dir.name}: held-out n={o['n']} MAE={o['mae']:.2f} mg/week, within 20%="
               f"{100 * o['within_20pct']:.1f}% (IWPC on the same rows: MAE={metrics['test_iwpc']['overall']['mae']:.2f}); "
               f"{'promoted' if decision['promoted'] else 'not promoted'} ({decision['reason']}); {version_dir}")
    return {"version_dir": str(version_dir), "metrics": metrics, "decision": decision, "summary": summary}


def decide_promotion(registry_dir: str, model_name: str, version_dir: Path, fs: FeatureSet, test_idx: np.ndarray,
                     new_pred: np.ndarray, inputs: Inputs, cfg: ModelConfig) -> dict:
    """Promote ``version_dir`` if no version is current, or if it beats the current one on held-out rows.

    Held-out rows: the new version's test rows that the current version did not train on either.
    """
    cur = registry.current(registry_dir, model_name)
    if cur is None:
        registry.promote(version_dir)
        decision = {"promoted": True, "reason": "first version"}
    else:
        cur_pred = load_predictor(cur)
        seen = set(json.loads((cur / "data.json").read_text())["train_id_hashes"])
        salt = _id_salt(registry_dir, model_name)
        rows = np.array([k for k, i in enumerate(test_idx) if _id_hash(fs.samples[i], salt) not in seen], dtype=int)
        if len(rows) == 0:
            rows = np.arange(len(test_idx))
        sub = fs.frame.iloc[test_idx[rows]]
        old_fs = features_for(cur_pred.model_name, sub.reset_index(drop=True), inputs, cfg, cur_pred.features)
        y = fs.y[test_idx[rows]]
        old_mae = float(np.mean(np.abs(cur_pred.predict(old_fs.x) - y)))
        new_mae = float(np.mean(np.abs(new_pred[rows] - y)))
        better = new_mae < old_mae - cfg.promote_margin
        if better:
            registry.promote(version_dir)
        decision = {"promoted": better, "current_before": cur.name, "n_held_out": int(len(rows)),
                    "new_mae": new_mae, "current_mae": old_mae,
                    "reason": f"held-out MAE {new_mae:.2f} vs current {cur.name} {old_mae:.2f} mg/week (n={len(rows)})"}
    log = Path(registry_dir) / model_name / "promotions.jsonl"
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"version": version_dir.name, **decision}) + "\n")
    return decision


def load_predictor(path) -> Predictor:
    """Verify a registry version (checksums) and load it; a modified file is refused before reading."""
    d, meta, state = registry.load_version(path)
    p = Predictor(meta["model"], meta["hparams"], Standardizer.from_dict(meta["scaler"]), state, meta["features"])
    p.version = f"{meta['model']}/{d.name}"
    p.meta = meta
    return p


def check_inputs(pred: Predictor, inputs: Inputs) -> None:
    """Refuse to score with fewer inputs than the model was trained on (features would silently be zero)."""
    need = pred.meta.get("inputs", {})
    for key, flag, given in (("pgx", "--pgx", inputs.pgx_dir), ("pcs", "--pcs", inputs.pcs), ("store", "--store", inputs.store)):
        if need.get(key) and not given:
            raise InputError(f"{pred.version} was trained with {key} inputs: pass {flag}")


def predict_to_file(model_path: str, input_path: str, out: str, pgx_dir=None, pcs=None, store=None,
                    id_mapping=None) -> tuple[int, str]:
    """Score every row of the clinical table; write predictions.tsv (contract "model") with the IWPC doses."""
    from hpcgen.model.predict import PREDICTION_COLUMNS, write_tsv

    pred = load_predictor(model_path)
    table = load_clinical(input_path)
    cfg = ModelConfig(**pred.meta["config"])
    inputs = Inputs(pgx_dir, pcs, store, id_mapping)
    check_inputs(pred, inputs)
    fs = features_for(pred.model_name, table.frame, inputs, cfg, pred.features)
    out_df = pd.DataFrame({
        "sample": fs.samples, "drug": "warfarin", "model": pred.model_name, "model_version": pred.version,
        "predicted_dose_mg_week": pred.predict(fs.x), "iwpc_dose_mg_week": iwpc.pharmacogenetic_dose(fs.frame),
        "iwpc_clinical_dose_mg_week": iwpc.clinical_dose(fs.frame), "unit": "mg/week"})[list(PREDICTION_COLUMNS)]
    write_tsv(out_df, out, mode=0o600)
    return len(out_df), pred.version


def evaluate_model(model_path: str, input_path: str, pgx_dir=None, pcs=None, id_mapping=None, folds: int = 0,
                   config_path=None, store=None) -> dict:
    """Metrics of a registered model (or, with ``folds`` >= 2, of its configuration under k-fold CV) beside IWPC."""
    frame, info = load_rows(input_path)
    frame = frame[frame["dose_mg_week"].notna()].reset_index(drop=True)
    if len(frame) == 0:
        raise InputError("no row has a therapeutic dose to evaluate against", input_path)
    inputs = Inputs(pgx_dir, pcs, store, id_mapping)
    models: dict[str, dict] = {}
    if folds >= 2:
        cfg = load_config(config_path).model if config_path or model_path == "dose-mlp" else \
            ModelConfig(**load_predictor(model_path).meta["config"])
        fs = features_for("dose-mlp", frame, inputs, cfg)
        preds = cv_predictions(fs, cfg, folds, cfg.seed)
        models[f"dose-mlp ({folds}-fold CV)"] = metrics_by_group(fs.y, preds["dose-mlp"], fs.race)
        models[f"linear refit ({folds}-fold CV)"] = metrics_by_group(fs.y, preds["linear"], fs.race)
    else:
        pred = load_predictor(model_path)
        cfg = ModelConfig(**pred.meta["config"])
        check_inputs(pred, inputs)
        fs = features_for(pred.model_name, frame, inputs, cfg, pred.features)
        models[pred.version] = metrics_by_group(fs.y, pred.predict(fs.x), fs.race)
    models["IWPC pharmacogenetic"] = metrics_by_group(fs.y, iwpc.pharmacogenetic_dose(fs.frame), fs.race)
    models["IWPC clinical"] = metrics_by_group(fs.y, iwpc.clinical_dose(fs.frame), fs.race)
    return {"n_rows": info["n_rows"], "n_without_target": info["n_without_target"], "models": models}


def cv_predictions(fs: FeatureSet, cfg: ModelConfig, folds: int, seed: int) -> dict[str, np.ndarray]:
    """Out-of-fold predictions of the dose MLP (trained in-process per fold) and of a refit linear model."""
    with tempfile.TemporaryDirectory(prefix="hpcgen-cv-") as tmp:
        counter = iter(range(10**6))

        def mlp(train_idx, test_idx):
            p, _ = fit("dose-mlp", fs, train_idx, cfg, Path(tmp) / f"fold{next(counter)}")
            return p.predict(fs.x[test_idx])

        def lin(train_idx, test_idx):
            s = Standardizer.fit(fs.x[train_idx], fs.y[train_idx])
            return fit_linear_sqrt(s.x(fs.x[train_idx]), fs.y[train_idx], s.x(fs.x[test_idx]))

        return {"dose-mlp": cross_validate(len(fs.y), folds, seed, mlp), "linear": cross_validate(len(fs.y), folds, seed, lin)}
