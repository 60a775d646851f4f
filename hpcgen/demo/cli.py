"""``hpcgen demo-data``: write the synthetic demo cohort."""
from __future__ import annotations

from pathlib import Path

import click


@click.command(name="demo-data")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="Number of patients [config demo.samples].")
@click.option("--variants", type=click.IntRange(min=0), default=None, help="Background variants, besides the PharmCAT positions [config demo.variants].")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed; same seed, same bytes [config demo.seed].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="YAML config (section `demo`).")
def demo_data(samples: int | None, variants: int | None, seed: int | None, out_dir: Path, config_path: Path | None) -> None:
    """Write a synthetic GRCh38 cohort: cohort.vcf.gz (+.tbi), samples.tsv, pgx_truth.tsv, clinical.tsv (IWPC format)."""
    from hpcgen.config import load_config
    from hpcgen.demo.cohort import make_demo_cohort

    from hpcgen.errors import InputError

    cfg = load_config(config_path).demo
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".hpcgen-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the demo cohort here ({exc.strerror})", out_dir) from None
    paths = make_demo_cohort(
        out_dir,
        samples=cfg.samples if samples is None else samples,
        variants=cfg.variants if variants is None else variants,
        seed=cfg.seed if seed is None else seed,
        missing_rate=cfg.missing_rate,
        phased_fraction=cfg.phased_fraction,
        with_depth=cfg.depth_fields,
        window_kb=cfg.window_kb,
        relative_fraction=cfg.relative_fraction,
    )
    for key, path in paths.items():
        click.echo(f"{key}\t{path}")
