"""`hpcgen report CALLS_DIR --out DIR`: the clinician reports."""
from __future__ import annotations

import click


@click.command("report")
@click.argument("calls_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out", required=True, type=click.Path(path_type=str), help="Output folder (created, or replaced if it holds earlier reports).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default=None, help="Report language [config report.lang; default fr].")
@click.option("--format", "formats", default=None, help="Comma-separated: html,pdf,json,fhir [config report.formats].")
@click.option("--predictions", type=click.Path(dir_okay=False, path_type=str), default=None, help="predictions.tsv from `hpcgen predict` (doses shown with the IWPC baseline).")
@click.option("--id-mapping", type=click.Path(dir_okay=False, path_type=str), default=None, help="ID mapping TSV from ingest (needs --key-file): puts the real identifier inside the reports.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=str), default=None, help="Pseudonymization key that verifies --id-mapping.")
@click.option("--pdf-max-patients", type=click.IntRange(min=0), default=None, help="Render PDF for at most N patients [config report.pdf_max_patients; default all].")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes rendering PDFs [config report.workers; default 1].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str), default=None, help="hpcgen config YAML.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Run folder: the rendering is recorded in RUN_DIR/jobs.jsonl for hpcgen impact.")
def report(calls_dir, out, lang, formats, predictions, id_mapping, key_file, pdf_max_patients, workers, config_path,
           run_dir) -> None:
    """Render one report per patient (by pseudonymized ID) and the cohort summary DIR/index.html."""
    from hpcgen.config import load_config
    from hpcgen.report.build import build_reports

    cfg = load_config(config_path).report
    kwargs = dict(
        lang=lang or cfg.lang,
        formats=formats if formats is not None else cfg.formats,
        predictions=predictions,
        id_mapping=id_mapping,
        key_file=key_file,
        pdf_max_patients=pdf_max_patients if pdf_max_patients is not None else cfg.pdf_max_patients,
        workers=workers or cfg.workers,
    )
    if run_dir is None:
        manifest = build_reports(calls_dir, out, **kwargs)
    else:
        from hpcgen.dispatch import run_stage

        manifest = run_stage(build_reports, calls_dir, out, profile="local", name="report", run_dir=run_dir, **kwargs)
    click.echo(f"{manifest['n_patients']} patient reports ({','.join(manifest['formats'])}, {manifest['lang']}); "
               f"cohort summary: {out}/index.html")
