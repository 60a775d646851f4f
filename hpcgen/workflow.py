"""`hpcgen run`: the Snakemake workflow (workflows/Snakefile) on a site profile.

Snakemake stays on the login node (or the local machine) and calls the hpcgen CLI for each stage;
heavy stages dispatch themselves to Slurm through hpcgen.dispatch when the profile is a Slurm one.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import yaml

from hpcgen.config import load_config
from hpcgen.errors import HpcgenError, InputError

WORKFLOW_DIR = Path(__file__).resolve().parents[1] / "workflows"
SNAKEFILE = WORKFLOW_DIR / "Snakefile"


def effective_config(configfile: str | None, profile: str | None) -> dict:
    """The validated config (defaults < ``configfile`` < ``profile``) as a plain mapping."""
    cfg = load_config(configfile)
    if profile is not None:
        cfg.dispatch.profile = profile
    return cfg.to_dict()


def snakemake_command(config_path: Path, cores: int, dry_run: bool, targets: tuple[str, ...], workdir: Path) -> list[str]:
    """The snakemake command line for this run (argv list)."""
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(SNAKEFILE),
        "--directory", str(workdir),
        "--configfile", str(config_path),
        "--cores", str(cores),
        "--rerun-incomplete",
        "--printshellcmds",
        "--show-failed-logs",
    ]
    if dry_run:
        cmd.append("--dry-run")
    return cmd + list(targets)


def print_sbatch_preview(profile: str) -> None:
    """For a Slurm profile, print the sbatch script each heavy stage would be submitted with."""
    from hpcgen.dispatch import load_profile, render_sbatch

    prof = load_profile(profile)
    if prof.scheduler == "local":
        click.echo(f"# profile {profile}: every stage runs in-process (no sbatch)")
        return
    for stage, resources in prof.stage_resources().items():
        click.echo(f"# ---- stage {stage} (profile {profile}) ----")
        click.echo(render_sbatch(prof, resources, name=f"hpcgen-{stage}"))


@click.command()
@click.option("--profile", default=None, help="Site profile (slurm/profiles/NAME.yaml); default from config (local).")
@click.option("--configfile", type=click.Path(dir_okay=False, exists=True), help="YAML overriding config/config.yaml.")
@click.option("--cores", type=int, default=max(1, os.cpu_count() or 1), show_default=True, help="Local cores for Snakemake.")
@click.option("--dry-run", is_flag=True, help="Show the jobs (and, for Slurm profiles, the sbatch scripts) without running.")
@click.option("--workdir", type=click.Path(file_okay=False), default=".", show_default=True, help="Folder the workflow's relative paths start from.")
@click.argument("targets", nargs=-1)
def run(profile: str | None, configfile: str | None, cores: int, dry_run: bool, workdir: str, targets: tuple[str, ...]) -> None:
    """Run the whole workflow (ingest -> qc / pgx -> model -> report -> impact) with Snakemake."""
    if not SNAKEFILE.is_file():
        raise HpcgenError(f"workflow not found at {SNAKEFILE} (hpcgen must be installed from its source tree)")
    data = effective_config(configfile, profile)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="hpcgen-run-", delete=False) as fh:
        yaml.safe_dump(data, fh, sort_keys=False)
        cfg_path = Path(fh.name)
    try:
        if dry_run:
            print_sbatch_preview(data["dispatch"]["profile"])
        proc = subprocess.run(snakemake_command(cfg_path, cores, dry_run, targets, work), cwd=work)
    finally:
        cfg_path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise HpcgenError(f"workflow failed (snakemake exit {proc.returncode}); see the rule logs under {data['workflow']['outdir']}/logs")
    if not dry_run:
        out = work / data["workflow"]["outdir"]
        click.echo(f"\nhpcgen: results are in {out}")
        for label, rel in [("store", "store/manifest.json"), ("QC report", "qc/qc_report.html"), ("PGx calls", "pgx/genes.tsv"),
                           ("drug recommendations", "pgx/drugs.tsv"), ("recommendation texts", "pgx/recommendations.tsv"),
                           ("dose predictions", "predictions/predictions.tsv"),
                           ("clinician reports", "reports/index.html"), ("impact", "impact/impact.json")]:
            if (out / rel).exists():
                click.echo(f"  {label:22s} {out / rel}")


__all__ = ["run", "effective_config", "snakemake_command", "InputError"]
