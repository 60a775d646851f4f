"""`hpcgen ingest` (VCF/BCF -> genotype store) and `hpcgen keygen` (a new pseudonymization key)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("input_path", metavar="INPUT.vcf.gz|.bcf", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Store folder to write.")
@click.option("--regions", help="Only these regions: chr1:1-1000000,chr2,... (1-based inclusive; 1 or chr1).")
@click.option("--shard-size", "shard_size", type=click.IntRange(min=1), help="Shard width in bp [config ingest.shard_size_bp].")
@click.option("--threads", type=click.IntRange(min=1), help="Shards ingested in parallel [config ingest.threads].")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Pseudonymization key [$HPCGEN_PSEUDONYM_KEY_FILE].")
@click.option("--mapping", type=click.Path(dir_okay=False),
              help="Real -> pseudonym table to write (mode 0600) [STORE.id_mapping.tsv beside the store].")
@click.option("--build", type=click.Choice(["GRCh38", "GRCh37"]), help="Genome build of the input [config ingest.build].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding the defaults.")
@click.option("--profile", help="Dispatch profile for the shard jobs (local, devcluster, adastra-genoa, ...); "
              "jobs are recorded in --run-dir. Without it: a local process pool.")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Job ledger for hpcgen impact [STORE.run beside the store].")
def ingest(input_path, out, regions, shard_size, threads, key_file, mapping, build, config_path, profile, run_dir) -> None:
    """Ingest a VCF/BCF into a genotype store (HDF5 shards + manifest.json).

    Multi-allelic records are split as `bcftools norm -m -any` does; contigs are named chr1..chr22,
    chrX, chrY, chrM; sample IDs are pseudonymized with the key (never written anywhere).
    """
    from hpcgen.config import load_config
    from hpcgen.ingest import ingest as run_ingest
    from hpcgen.pseudonym import load_key

    cfg = load_config(config_path)
    key = load_key(key_file or cfg.ingest.key_file)
    out_path = Path(out)
    mapping = mapping or str(out_path.parent / f"{out_path.name}.id_mapping.tsv")
    manifest = run_ingest(
        input_path, out_path, key=key, mapping_path=mapping,
        regions=[r for r in regions.split(",") if r.strip()] if regions else None,
        shard_size_bp=shard_size, threads=threads, build=build, config=cfg, profile=profile, run_dir=run_dir)
    click.echo(str(manifest))


@click.command()
@click.argument("key_file", type=click.Path(dir_okay=False))
def keygen(key_file: str) -> None:
    """Write a new random pseudonymization key to KEY_FILE (mode 0600; refuses to overwrite)."""
    from hpcgen.pseudonym import generate_key_file

    click.echo(str(generate_key_file(key_file)))
