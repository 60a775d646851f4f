"""Typed configuration: the one home of every default.

``config/config.yaml`` mirrors these defaults (a test keeps them equal); a user's YAML overrides any
subset. Unknown keys and wrong types are errors naming the key. The JSON Schema exported from
:class:`HpcgenConfig` is what the Snakefile validates its config with.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from hpcgen.config.base import Section
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

    schema_version: int = Field(SCHEMA_VERSION, description="version of this configuration schema")
    workflow: WorkflowConfig = WorkflowConfig()
    store: StoreConfig = StoreConfig()
    ingest: IngestConfig = IngestConfig()
    demo: DemoConfig = DemoConfig()
    qc: QcConfig = QcConfig()
    pgx: PgxConfig = PgxConfig()
    model: ModelConfig = ModelConfig()
    report: ReportConfig = ReportConfig()
    dispatch: DispatchConfig = DispatchConfig()
    impact: ImpactConfig = ImpactConfig()


def validate_config(data: dict[str, Any], source: str = "config") -> HpcgenConfig:
    """Validate a config mapping; raise :class:`InputError` naming the first bad key."""
    try:
        return HpcgenConfig.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"config key '{key}': {err['msg']}", source) from None


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
    schema = HpcgenConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text() -> str:
    """The JSON Schema as stable, sorted text (what config/schema.json holds)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def defaults_yaml() -> str:
    """Every default as commented YAML (what config/config.yaml holds)."""
    lines = ["# hpcgen defaults: generated from hpcgen/config (make schema); override any subset with --configfile.", ""]
    for name, field in HpcgenConfig.model_fields.items():
        value = getattr(HpcgenConfig(), name)
        if isinstance(value, Section):
            lines.append(f"# {type(value).__doc__.strip().splitlines()[0]}")
            lines.append(f"{name}:")
            for sub, sub_field in type(value).model_fields.items():
                if sub_field.description:
                    lines.append(f"  # {sub_field.description}")
                dumped = yaml.safe_dump({sub: getattr(value, sub)}, default_flow_style=False, sort_keys=False, width=200)
                lines.extend("  " + line for line in dumped.rstrip().splitlines())
        else:
            if field.description:
                lines.append(f"# {field.description}")
            lines.append(yaml.safe_dump({name: value}, default_flow_style=False).rstrip())
        lines.append("")
    return "\n".join(lines)


__all__ = ["HpcgenConfig", "Section", "load_config", "validate_config", "json_schema", "json_schema_text", "defaults_yaml"]
