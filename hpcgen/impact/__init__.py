"""hpcgen.impact: what a run cost, per job and per stage (hours, memory, energy, carbon, euros).

Slurm jobs are read from sacct (batched); in-process jobs from the process accounting run_stage recorded.
"""
from __future__ import annotations

import getpass
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hpcgen.impact.accounting import job_impacts, totals


def compute_impact(run_dir: str | os.PathLike, config=None, allow_empty: bool = False) -> dict[str, Any]:
    """The impact of every job of RUN_DIR, per stage and in total.

    Parameters
    ----------
    run_dir
        Folder holding jobs.jsonl.
    config
        An ``HpcgenConfig`` (its ``impact`` section); ``None`` loads the defaults.
    allow_empty
        Treat a folder without jobs.jsonl as a run with no jobs (otherwise an :class:`InputError`).

    Returns
    -------
    dict
        ``factors`` (grid intensity, prices, their sources), ``jobs``, ``stages``, ``total``, ``sacct_calls``.
    """
    from hpcgen.config import load_config

    cfg = (config or load_config(None)).impact
    from hpcgen.dispatch.records import JOBS_FILE

    if allow_empty and not (Path(run_dir) / JOBS_FILE).exists():
        jobs, calls = [], 0
    else:
        jobs, calls = job_impacts(run_dir, cfg)
    stages, total = totals(jobs)
    return {
        "run_dir": str(Path(run_dir).resolve()),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "factors": cfg.to_dict(),
        "jobs": jobs, "stages": stages, "total": total, "sacct_calls": calls,
    }


def write_impact(run_dir: str | os.PathLike, out: str | os.PathLike | None = None, config=None,
                 allow_empty: bool = False) -> dict[str, Any]:
    """Compute and write OUT/impact.json, OUT/jobs.tsv, OUT/impact.png (OUT defaults to RUN_DIR/impact)."""
    from hpcgen.impact.report import table, write_json, write_plot, write_tsv

    result = compute_impact(run_dir, config, allow_empty)
    out = Path(out) if out is not None else Path(run_dir) / "impact"
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(out / "jobs.tsv", result["jobs"])
    write_plot(out / "impact.png", result["stages"], f"hpcgen impact: {result['run_dir']}")
    result["table"] = table(result["stages"], result["total"], result["factors"])
    try:
        result["user"] = getpass.getuser()
    except Exception:  # noqa: BLE001
        result["user"] = str(os.getuid())
    write_json(out / "impact.json", {k: v for k, v in result.items() if k != "table"})
    return result


__all__ = ["compute_impact", "write_impact"]
