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
@click.option("--table", "table_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the table to this file.")
@click.option("--allow-empty", is_flag=True,
              help="A run folder without jobs.jsonl (nothing dispatched) gives an empty report, not an error.")
def impact(run_dir: str, out: str | None, config_path: str | None, as_json: bool, table_path: str | None,
           allow_empty: bool) -> None:
    """Account every job of RUN_DIR (sacct for Slurm jobs, process accounting for local ones).

    Prints a table per stage with CPU-hours, GPU-hours, max RSS, energy (measured, or a Green Algorithms
    estimate marked '*'), carbon (dated, sourced grid intensity) and cost; writes impact.json, jobs.tsv and
    impact.png.
    """
    from hpcgen.config import load_config
    from hpcgen.fsutil import atomic_write_text
    from hpcgen.impact import write_impact

    result = write_impact(run_dir, out, load_config(config_path), allow_empty=allow_empty)
    if table_path:
        atomic_write_text(table_path, result["table"] + "\n")
    if as_json:
        click.echo(json.dumps({"stages": result["stages"], "total": result["total"]}, indent=2, default=str))
    else:
        click.echo(result["table"])
