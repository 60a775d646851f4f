"""Impact outputs: a table for the terminal, impact.json, a TSV of jobs and a PNG plot per run."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from hpcgen.fsutil import atomic_path, atomic_write_text

IMPACT_SCHEMA = "hpcgen.impact/1"
JOB_COLUMNS = ["stage", "job_id", "state", "elapsed_s", "cpu_hours", "gpu_hours", "max_rss_mb", "energy_kwh",
               "energy_method", "carbon_gco2e", "cost_eur", "profile", "source"]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def table(stages: list[dict[str, Any]], total: dict[str, Any], factors: dict[str, Any]) -> str:
    """The per-stage table shown on stdout (units in the header; '*' marks estimated energy)."""
    head = ["stage", "jobs", "failed", "elapsed_s", "CPU_h", "GPU_h", "maxRSS_MB", "energy_kWh", "CO2e_g", "cost_EUR"]
    rows = [[s["stage"], s["jobs"], s["failed"], s["elapsed_s"], s["cpu_hours"], s["gpu_hours"], s["max_rss_mb"],
             s["energy_kwh"], s["carbon_gco2e"], s["cost_eur"], s["estimated"]] for s in [*stages, total]]
    cells = [[_fmt(c) for c in r[:-1]] for r in rows]
    for r, c in zip(rows, cells):
        if r[-1]:
            c[7] += "*"
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    for n, c in enumerate(cells):
        if n == len(cells) - 1:
            lines.append("-" * len(lines[0]))
        lines.append("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths))))
    lines.append(f"*: energy estimated with Green Algorithms (profile constants, PUE included); "
                 f"carbon at {factors['grid_gco2e_per_kwh']} gCO2e/kWh ({factors['grid_source']}, {factors['grid_date']}); "
                 f"cost at {factors['eur_per_cpu_hour']} EUR/CPU-h, {factors['eur_per_gpu_hour']} EUR/GPU-h ({factors['price_source']})")
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    """impact.json, atomically."""
    return atomic_write_text(path, json.dumps({"schema": IMPACT_SCHEMA, **payload}, indent=2, default=str) + "\n")


def write_tsv(path: Path, jobs: list[dict[str, Any]]) -> Path:
    """One row per job."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=JOB_COLUMNS, delimiter="\t", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for job in jobs:
        writer.writerow({k: ("" if job.get(k) is None else job.get(k)) for k in JOB_COLUMNS})
    return atomic_write_text(path, buf.getvalue())


def write_plot(path: Path, stages: list[dict[str, Any]], title: str) -> Path:
    """A PNG with three panels per stage: CPU/GPU hours, energy (kWh), carbon (gCO2e)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["stage"] for s in stages]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    x = range(len(names))
    axes[0].bar([i - 0.2 for i in x], [s["cpu_hours"] for s in stages], width=0.4, label="CPU core-h")
    axes[0].bar([i + 0.2 for i in x], [s["gpu_hours"] for s in stages], width=0.4, label="GPU-h")
    axes[0].set_title("hours")
    axes[0].legend(fontsize=8)
    axes[1].bar(x, [s["energy_kwh"] for s in stages], color="tab:orange")
    axes[1].set_title("energy (kWh)" + (" - estimate" if any(s["estimated"] for s in stages) else ""))
    axes[2].bar(x, [s["carbon_gco2e"] for s in stages], color="tab:green")
    axes[2].set_title("carbon (gCO2e)")
    for ax in axes:
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
