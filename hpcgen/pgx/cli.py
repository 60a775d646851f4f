"""`hpcgen pgx`: star-allele calling, phenotypes and CPIC/DPWG recommendations; reference-data checks."""
from __future__ import annotations

import json

import click


@click.group()
def pgx() -> None:
    """Pharmacogenomics: diplotypes -> phenotypes -> drug recommendations (docs/pgx.md)."""


@pgx.command("call")
@click.argument("input_path", metavar="STORE|VCF", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--outside-calls", type=click.Path(dir_okay=False), help="TSV of calls from other tools (CYP2D6, HLA).")
@click.option("--sex-sheet", type=click.Path(dir_okay=False), help="TSV with sample and sex columns (G6PD).")
@click.option("--id-mapping", type=click.Path(dir_okay=False),
              help="real -> pseudonym mapping (from ingest) to read a sex sheet keyed by real IDs.")
@click.option("--key-file", type=click.Path(dir_okay=False),
              help="Pseudonymization key for VCF input (default $HPCGEN_PSEUDONYM_KEY_FILE).")
@click.option("--no-pseudonymize", is_flag=True, help="Keep VCF sample IDs as they are (test files only).")
@click.option("--bam-list", type=click.Path(dir_okay=False),
              help="TSV sample<TAB>BAM/CRAM for CYP2D6 copy number from read depth.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding the defaults.")
@click.option("--profile", default="local", show_default=True, help="Dispatch profile (slurm/profiles/*.yaml).")
@click.option("--run-dir", type=click.Path(file_okay=False),
              help="Run folder for job records (jobs.jsonl, for `hpcgen impact`); default: OUT.run beside OUT.")
def call(input_path: str, out_dir: str, outside_calls: str | None, sex_sheet: str | None, id_mapping: str | None,
         key_file: str | None, no_pseudonymize: bool, bam_list: str | None, config_path: str | None,
         profile: str, run_dir: str | None) -> None:
    """Call the PharmCAT genes for every sample of STORE or VCF and write OUT (manifest.json last)."""
    from hpcgen.config import load_config
    from hpcgen.pgx.api import call_cohort

    cfg = load_config(config_path)
    kwargs = dict(outside_calls=outside_calls, sex_sheet=sex_sheet, id_mapping=id_mapping, key_file=key_file,
                  pseudonymize_ids=not no_pseudonymize, bam_list=bam_list, config=cfg)
    try:
        from hpcgen.dispatch import Resources, run_stage
    except ImportError:  # a build without the dispatch package: in-process only
        if profile != "local":
            raise
        out = call_cohort(input_path, out_dir, **kwargs)
    else:
        # one pass over the cohort: 2 cores, memory ~ 2 bytes x samples x PGx positions + tables
        out = run_stage(call_cohort, input_path, out_dir, profile=profile, name="pgx",
                        resources=Resources(cpus_per_task=2, mem_gb=4.0, time_min=60),
                        run_dir=run_dir or str(out_dir).rstrip("/") + ".run", **kwargs)
    from pathlib import Path

    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    click.echo(f"pgx: {manifest['n_samples']} samples, {len(manifest['genes'])} genes -> {out} "
               f"(data {manifest['data_version']})")


@pgx.command("data")
@click.option("--check", is_flag=True, help="Verify checksums and rule consistency; exit 2 on a problem.")
@click.option("--write-manifest", is_flag=True, help="Maintainers: rewrite MANIFEST.json after updating the data.")
def data(check: bool, write_manifest: bool) -> None:
    """Show, check or re-seal the packaged reference data (hpcgen/pgx/data, see SOURCES.md)."""
    from hpcgen.errors import InputError
    from hpcgen.pgx import data_check

    if write_manifest:
        path = data_check.write_manifest()
        click.echo(f"wrote {path}")
    click.echo(f"data_version {data_check.data_version()}  ({data_check.data_dir()})")
    if check:
        problems = data_check.check_data()
        for p in problems:
            click.echo(f"problem: {p}", err=True)
        if problems:
            raise InputError(f"{len(problems)} problem(s) in the reference data", data_check.data_dir() / "MANIFEST.json")
        click.echo("data check: OK (checksums, allele references, phenotype rules)")
