"""Provenance: what produced an output (inputs' checksums, config hash, code and data versions, who, where).

The workflow writes one record per run (``OUT/provenance.json``); stages may embed the same record in
their manifests. No sample identifier ever enters a provenance record.
"""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any, Iterable

from hpcgen import __version__
from hpcgen.fsutil import atomic_write_text, sha256_file

REPO = Path(__file__).resolve().parents[1]


def code_version() -> str:
    """hpcgen's version plus the git commit of its source tree when there is one (``+dirty`` if modified)."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
                                capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the config's canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def provenance_record(inputs: Iterable[str | os.PathLike], config: dict[str, Any], profile: str,
                      job_ids: Iterable[str] = (), extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A provenance record: input checksums (missing inputs listed as such), config hash, versions, user, host, time."""
    files = {}
    for p in inputs:
        path = Path(p)
        files[str(path)] = sha256_file(path) if path.is_file() else None
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {
        "schema": "hpcgen.provenance/1",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "user": user,
        "profile": profile,
        "config_sha256": config_hash(config),
        "inputs_sha256": files,
        "job_ids": list(job_ids),
        **(extra or {}),
    }


def write_provenance(path: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write a provenance record as JSON (atomically)."""
    return atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")
