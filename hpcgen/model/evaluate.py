"""Dose-prediction metrics as the IWPC paper reports them, per subgroup, and k-fold cross-validation.

MAE is in mg/week; "within 20%" is the share of patients whose predicted dose lies within 20% of the
actual stable dose (|pred - actual| <= 0.2 x actual). Dose groups: "<21", "21-49", ">=49" mg/week.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from hpcgen.model.clinical import dose_group

DOSE_GROUPS = ("<21", "21-49", ">=49")


def dose_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE (mg/week), within-20% share and count over rows where both values are finite.

    Parameters
    ----------
    actual, predicted
        float, shape (n,), mg/week.
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    ok = np.isfinite(a) & np.isfinite(p)
    a, p = a[ok], p[ok]
    if a.size == 0:
        return {"n": 0, "mae": float("nan"), "within_20pct": float("nan")}
    err = np.abs(p - a)
    return {"n": int(a.size), "mae": float(err.mean()), "within_20pct": float(np.mean(err <= 0.2 * a))}


def metrics_by_group(actual: np.ndarray, predicted: np.ndarray, ancestry: np.ndarray | None = None) -> dict:
    """Metrics overall, per dose group (by actual dose) and, when given, per ancestry/race label."""
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    groups = dose_group(a)
    out = {"overall": dose_metrics(a, p), "dose_group": {}}
    for g in DOSE_GROUPS:
        out["dose_group"][g] = dose_metrics(a[groups == g], p[groups == g])
    if ancestry is not None:
        anc = np.asarray(ancestry, dtype=object)
        out["ancestry"] = {str(k): dose_metrics(a[anc == k], p[anc == k]) for k in sorted(set(anc.tolist()))}
    return out


def format_metrics(name: str, m: dict) -> str:
    """Human-readable lines for one model's metrics (what the CLI prints)."""
    o = m["overall"]
    lines = [f"{name}: n={o['n']} MAE={o['mae']:.2f} mg/week within 20%={100 * o['within_20pct']:.1f}%"]
    for g in DOSE_GROUPS:
        d = m["dose_group"][g]
        if d["n"]:
            lines.append(f"  dose {g:>5} mg/week: n={d['n']} MAE={d['mae']:.2f} within 20%={100 * d['within_20pct']:.1f}%")
    for k, d in m.get("ancestry", {}).items():
        if d["n"]:
            lines.append(f"  ancestry {k}: n={d['n']} MAE={d['mae']:.2f} within 20%={100 * d['within_20pct']:.1f}%")
    return "\n".join(lines)


def kfold_indices(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of a shuffled k-fold split; every row is tested exactly once."""
    if k < 2 or k > n:
        raise ValueError(f"folds must be between 2 and the number of rows ({n}), got {k}")
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(perm, k)
    return [(np.concatenate([f for j, f in enumerate(folds) if j != i]), folds[i]) for i in range(k)]


def cross_validate(n: int, k: int, seed: int, fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Out-of-fold predictions: ``fit_predict(train_idx, test_idx)`` returns predictions for ``test_idx``."""
    pred = np.full(n, np.nan)
    for train_idx, test_idx in kfold_indices(n, k, seed):
        pred[test_idx] = fit_predict(train_idx, test_idx)
    return pred


def fit_linear_sqrt(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Refit of the IWPC model form: least squares on sqrt(dose) with an intercept; returns dose (mg/week).

    Parameters
    ----------
    x_train : float, shape (n_train, n_features)
    y_train : float, shape (n_train,), mg/week
    x_test : float, shape (n_test, n_features)
    """
    xa = np.column_stack([np.ones(len(x_train)), x_train])
    coef, *_ = np.linalg.lstsq(xa, np.sqrt(y_train), rcond=None)
    pred = np.column_stack([np.ones(len(x_test)), x_test]) @ coef
    return np.square(np.maximum(pred, 0.0))
