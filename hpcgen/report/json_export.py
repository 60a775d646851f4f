"""The machine-readable report: the patient model as JSON (schema ``hpcgen.report/1``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-1.schema.json"


def report_json(model: dict[str, Any]) -> str:
    """The report as stable, pretty JSON text (keys in the model's order, UTF-8 kept readable)."""
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every report JSON validates against."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
