"""``hpcgen impact RUN_DIR``: hours, energy, carbon and cost of every job of a run."""
from __future__ import annotations

import json

import click


@click.command("impact")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where impact.json, jobs.tsv and impact.png go (default: RUN_DIR/impact).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Config YAML (impact section: grid intensity, prices).")
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON instead of the table.")
def impact(run_dir: str, out: str | None, config_path: str | None, as_json: bool) -> None:
    """Account every job of RUN_DIR (sacct for Slurm jobs, process accounting for local ones).

    Prints a table per stage with CPU-hours, GPU-hours, max RSS, energy (measured, or a Green Algorithms
    estimate marked '*'), carbon (dated, sourced grid intensity) and cost; writes impact.json, jobs.tsv and
    impact.png.
    """
    from hpcgen.config import load_config
    from hpcgen.impact import write_impact

    result = write_impact(run_dir, out, load_config(config_path))
    if as_json:
        click.echo(json.dumps({"stages": result["stages"], "total": result["total"]}, indent=2, default=str))
    else:
        click.echo(result["table"])
