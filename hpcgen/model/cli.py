"""Command line of the model stage: ``hpcgen dose iwpc|evaluate``, ``hpcgen train``, ``hpcgen predict``."""
from __future__ import annotations

import json

import click


@click.group()
def dose() -> None:
    """Warfarin dose algorithms: the published IWPC equations and trained-model evaluation."""


@dose.command("iwpc")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False), help="clinical table (IWPC CSV/TSV)")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="per-patient predictions (TSV)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="also write the metrics as JSON")
def iwpc_cmd(input_path: str, out: str, json_out: str | None) -> None:
    """Apply the IWPC pharmacogenetic and clinical algorithms (Klein et al., NEJM 2009).

    Prints MAE (mg/week) and the share within 20% of the actual dose, overall and per dose group
    (<21, 21-49, >=49 mg/week), when the actual dose is known.
    """
    from hpcgen.fsutil import atomic_write_text
    from hpcgen.model.evaluate import format_metrics
    from hpcgen.model.predict import run_iwpc

    table, frame, metrics = run_iwpc(input_path, out)
    click.echo(f"{table.n_rows} rows read; {table.n_rows - table.n_without_target} with a therapeutic dose, "
               f"{table.n_without_target} without (predicted, not scored); predictions in {out}")
    for note in table.notes:
        click.echo(f"note: {note}")
    if table.n_rows > table.n_without_target:
        click.echo(format_metrics("IWPC pharmacogenetic", metrics["pharmacogenetic"]))
        click.echo(format_metrics("IWPC clinical", metrics["clinical"]))
    if json_out:
        atomic_write_text(json_out, json.dumps(metrics, indent=2) + "\n")


@dose.command("evaluate")
@click.option("--model", "model_path", required=True, type=click.Path(), help="registry model (folder) or 'iwpc'")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False), help="clinical table with doses")
@click.option("--pgx", "pgx_dir", type=click.Path(file_okay=False), help="pgx output folder (genes.tsv)")
@click.option("--pcs", "pcs_path", type=click.Path(), help="QC output folder or PCA table (ancestry PCs)")
@click.option("--store", "store_path", type=click.Path(file_okay=False), help="genotype store (genotype-net)")
@click.option("--id-mapping", type=click.Path(dir_okay=False), help="real -> pseudonym TSV (0600) for joining")
@click.option("--folds", type=int, default=0, show_default=True, help="k-fold cross-validation (retrains the model's config k times); 0 = score the saved model")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="hpcgen config YAML")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="also write the metrics as JSON")
def evaluate_cmd(model_path: str, input_path: str, pgx_dir: str | None, pcs_path: str | None, store_path: str | None,
                 id_mapping: str | None, folds: int, config_path: str | None, json_out: str | None) -> None:
    """Score a trained dose model (MAE, within 20%, per dose group and ancestry) against IWPC on the same rows."""
    from hpcgen.fsutil import atomic_write_text
    from hpcgen.model.evaluate import format_metrics
    from hpcgen.model.workflow import evaluate_model

    result = evaluate_model(model_path, input_path, pgx_dir=pgx_dir, pcs=pcs_path, store=store_path, id_mapping=id_mapping,
                            folds=folds, config_path=config_path)
    for name, m in result["models"].items():
        click.echo(format_metrics(name, m))
    if json_out:
        atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")


@click.command()
@click.option("--model", "model_name", required=True, type=click.Choice(["dose-mlp", "genotype-net"]), help="what to train")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="clinical table (IWPC format or ours)")
@click.option("--append", "append_paths", multiple=True, type=click.Path(dir_okay=False), help="newly observed outcomes appended to --data (same columns)")
@click.option("--pgx", "pgx_dir", type=click.Path(file_okay=False), help="pgx output folder (genes.tsv)")
@click.option("--pcs", "pcs_path", type=click.Path(), help="QC output folder or PCA table (ancestry PCs)")
@click.option("--store", "store_path", type=click.Path(file_okay=False), help="genotype store (genotype-net)")
@click.option("--id-mapping", type=click.Path(dir_okay=False), help="real -> pseudonym TSV (0600) for joining")
@click.option("--profile", default="local", show_default=True, help="dispatch profile (local or slurm/profiles/<name>.yaml)")
@click.option("--ranks", type=click.IntRange(min=1), default=None, help="data-parallel processes (submitit tasks; default: model.ranks of the config)")
@click.option("--out", "registry", required=True, type=click.Path(file_okay=False), help="model registry folder")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="hpcgen config YAML (model section)")
@click.option("--promote/--no-promote", default=True, show_default=True, help="promote the new version if it beats the current one on held-out data")
@click.option("--run-dir", type=click.Path(file_okay=False), help="run folder: jobs.jsonl for hpcgen impact, job files (default: under the registry)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="also write the outcome (version, metrics, promotion) as JSON")
def train(model_name: str, data_path: str, append_paths: tuple[str, ...], pgx_dir: str | None, pcs_path: str | None,
          store_path: str | None, id_mapping: str | None, profile: str, ranks: int | None, registry: str,
          config_path: str | None, promote: bool, run_dir: str | None, json_out: str | None) -> None:
    """Train a dose model (torch + DeepSpeed) and register it (config, data checksums, metrics, model card)."""
    from hpcgen.model.workflow import train_and_register

    result = train_and_register(model_name, data_path, registry, append=list(append_paths), pgx_dir=pgx_dir,
                                pcs=pcs_path, store=store_path, id_mapping=id_mapping, profile=profile,
                                ranks=ranks, config_path=config_path, promote=promote, run_dir=run_dir)
    if json_out:
        from hpcgen.fsutil import atomic_write_text

        atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")
    click.echo(result["summary"])


@click.command()
@click.option("--model", "model_path", required=True, type=click.Path(file_okay=False), help="registry model: REGISTRY/<name>[/<version>]")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False), help="clinical table")
@click.option("--pgx", "pgx_dir", type=click.Path(file_okay=False), help="pgx output folder (genes.tsv)")
@click.option("--pcs", "pcs_path", type=click.Path(), help="QC output folder or PCA table (ancestry PCs)")
@click.option("--store", "store_path", type=click.Path(file_okay=False), help="genotype store (genotype-net)")
@click.option("--id-mapping", type=click.Path(dir_okay=False), help="real -> pseudonym TSV (0600) for joining")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="predictions.tsv (contract 'model')")
def predict(model_path: str, input_path: str, pgx_dir: str | None, pcs_path: str | None, store_path: str | None,
            id_mapping: str | None, out: str) -> None:
    """Predict weekly warfarin doses with a registered model, the IWPC baselines beside them."""
    from hpcgen.model.workflow import predict_to_file

    n, version = predict_to_file(model_path, input_path, out, pgx_dir=pgx_dir, pcs=pcs_path, store=store_path,
                                 id_mapping=id_mapping)
    click.echo(f"{n} patients scored with {version}; predictions in {out}")
