"""`hpcgen qc` and `hpcgen filter`: thin click shells over hpcgen.qc.run_qc / filter_store."""
from __future__ import annotations

import click


@click.command("qc")
@click.argument("store", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Output folder (its manifest.json is written last).")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=str), default=None,
              help="YAML config (section qc); defaults otherwise.")
@click.option("--profile", default=None, help="Site profile: 'local' (threads in-process) or a Slurm profile (Dask on Slurm).")
@click.option("--tsv", is_flag=True, help="Also write every table as TSV.")
@click.option("--samples-sheet", type=click.Path(dir_okay=False, exists=True, path_type=str), default=None,
              help="TSV with columns sample, ancestry (pseudonyms, or real IDs with --id-mapping): colours the PCA.")
@click.option("--id-mapping", type=click.Path(dir_okay=False, exists=True, path_type=str), default=None,
              help="The ingest --id-mapping file, to key a samples sheet of real IDs by pseudonym.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Run folder: the QC driver is recorded in RUN_DIR/jobs.jsonl for hpcgen impact.")
def qc(store: str, out_dir: str, config: str | None, profile: str | None, tsv: bool, samples_sheet: str | None,
       id_mapping: str | None, run_dir: str | None) -> None:
    """Cohort QC of STORE: variant and sample tables, PCA, kinship, qc_report.html."""
    from hpcgen.qc.counts import start_warm_up

    start_warm_up()  # numba loads while the rest is imported
    from hpcgen.qc.run import run_qc

    kwargs = dict(config=config, profile=profile, tsv=tsv, samples_sheet=samples_sheet, id_mapping=id_mapping)
    if run_dir is None:
        manifest = run_qc(store, out_dir, **kwargs)
    else:
        from functools import partial

        from hpcgen.dispatch import run_stage

        # the driver runs here (its Dask workers go where the profile says); accounted like any stage
        manifest = run_stage(partial(run_qc, store, out_dir, **kwargs), profile="local", name="qc", run_dir=run_dir)
    s = manifest["summary"]
    click.echo(f"qc: {s['variants']} variants x {s['samples']} samples, {s['variants passing all filters']} passing; "
               f"report {out_dir}/qc_report.html")


@click.command("filter")
@click.argument("store", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out_store", required=True, type=click.Path(file_okay=False, path_type=str),
              help="The filtered store (written whole, then renamed into place).")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=str), default=None,
              help="YAML config: qc.min_call_rate, min_maf, hwe_p, hwe_midp, min_dp, min_gq.")
@click.option("--profile", default=None, help="Site profile for the QC pass that decides what is kept.")
def filter_store(store: str, out_store: str, config: str | None, profile: str | None) -> None:
    """Write a new store with the variants of STORE passing the QC thresholds (low DP/GQ calls set missing)."""
    from hpcgen.qc.filter import filter_store as run_filter

    manifest = run_filter(store, out_store, config=config, profile=profile)
    f = manifest["filter"]
    click.echo(f"filter: kept {f['kept']} of {f['input_variants']} variants -> {out_store}")
