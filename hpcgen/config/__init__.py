"""Typed configuration: the one home of every default.

``config/config.yaml`` mirrors these defaults (a test keeps them equal); a user's YAML overrides any
subset. Unknown keys and wrong types are errors naming the key. The JSON Schema exported from
:class:`HpcgenConfig` is what the Snakefile validates its config with.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from msgspec import Meta, field

from hpcgen.config.base import Section, convert
from hpcgen.config.demo import DemoConfig
from hpcgen.config.dispatch import DispatchConfig
from hpcgen.config.impact import ImpactConfig
from hpcgen.config.ingest import IngestConfig
from hpcgen.config.model import ModelConfig
from hpcgen.config.pgx import PgxConfig
from hpcgen.config.qc import QcConfig
from hpcgen.config.report import ReportConfig
from hpcgen.config.store import StoreConfig
from hpcgen.config.workflow import WorkflowConfig
from hpcgen.errors import InputError

SCHEMA_VERSION = 1


class HpcgenConfig(Section):
    """The whole configuration: one section per stage."""

    schema_version: Annotated[int, Meta(description="version of this configuration schema")] = SCHEMA_VERSION
    workflow: WorkflowConfig = field(default_factory=WorkflowConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    qc: QcConfig = field(default_factory=QcConfig)
    pgx: PgxConfig = field(default_factory=PgxConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    impact: ImpactConfig = field(default_factory=ImpactConfig)


def validate_config(data: dict[str, Any], source: str = "config") -> HpcgenConfig:
    """Validate a config mapping; raise :class:`InputError` naming the first bad key."""
    return convert(data or {}, HpcgenConfig, "config", source)


def load_config(path: str | os.PathLike | None = None) -> HpcgenConfig:
    """Load a YAML config over the defaults; ``None`` gives the defaults.

    Also honours ``$HPCGEN_CONFIG`` when ``path`` is None.
    """
    path = path or os.environ.get("HPCGEN_CONFIG")
    if path is None:
        return HpcgenConfig()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read config ({exc.strerror})", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML ({getattr(exc, 'problem', exc)})", path, None if mark is None else f"line {mark.line + 1}") from None
    if data is not None and not isinstance(data, dict):
        raise InputError("config must be a mapping of sections", path)
    return validate_config(data or {}, str(path))


def json_schema() -> dict[str, Any]:
    """JSON Schema of :class:`HpcgenConfig` (unknown keys forbidden at every level)."""
    import msgspec

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **msgspec.json.schema(HpcgenConfig)}
    # msgspec states a default only where it is a constant; a list's (a default_factory) comes from an instance
    top = HpcgenConfig()
    for name in top.__struct_fields__:
        section = getattr(top, name)
        if isinstance(section, Section):
            props = schema["$defs"][type(section).__name__]["properties"]
            for key, value in section.to_dict().items():
                props[key].setdefault("default", value)
    return schema


def json_schema_text() -> str:
    """The JSON Schema as stable, sorted text (what config/schema.json holds)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def defaults_yaml() -> str:
    """Every default as commented YAML (what config/config.yaml holds); the comments are the schema's descriptions."""
    defs = json_schema()["$defs"]
    top = HpcgenConfig()
    lines = ["# hpcgen defaults: generated from hpcgen/config (make schema); override any subset with --configfile.", ""]
    for name in top.__struct_fields__:
        value = getattr(top, name)
        if isinstance(value, Section):
            props = defs[type(value).__name__]["properties"]
            lines.append(f"# {type(value).__doc__.strip().splitlines()[0]}")
            lines.append(f"{name}:")
            for sub, sub_value in value.to_dict().items():
                if props[sub].get("description"):
                    lines.append(f"  # {props[sub]['description']}")
                dumped = yaml.safe_dump({sub: sub_value}, default_flow_style=False, sort_keys=False, width=200)
                lines.extend("  " + line for line in dumped.rstrip().splitlines())
        else:
            description = defs["HpcgenConfig"]["properties"][name].get("description")
            if description:
                lines.append(f"# {description}")
            lines.append(yaml.safe_dump({name: value}, default_flow_style=False).rstrip())
        lines.append("")
    return "\n".join(lines)


__all__ = ["HpcgenConfig", "Section", "load_config", "validate_config", "json_schema", "json_schema_text", "defaults_yaml"]
