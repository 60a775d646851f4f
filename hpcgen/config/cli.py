"""`hpcgen config`: show the effective configuration, export its JSON Schema."""
from __future__ import annotations

import click
import yaml

from hpcgen.config import json_schema_text, load_config


@click.group()
def config() -> None:
    """Inspect the configuration (defaults: config/config.yaml)."""


@config.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML overriding the defaults.")
def show(config_path: str | None) -> None:
    """Print the effective configuration (defaults merged with --config) as YAML."""
    cfg = load_config(config_path)
    click.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False), nl=False)


@config.command()
def schema() -> None:
    """Print the configuration's JSON Schema (config/schema.json)."""
    click.echo(json_schema_text(), nl=False)
