"""The store manifest (``STORE/manifest.json``): written last and atomically; its presence means complete."""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Sequence

from hpcgen import __version__
from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_write_text
from hpcgen.store import schema as S
from hpcgen.store.schema import ShardInfo


def build_manifest(
    shards: Sequence[ShardInfo],
    samples: Sequence[str],
    *,
    build: str,
    source: dict[str, Any],
    store_config: dict[str, Any],
) -> dict[str, Any]:
    """The manifest mapping for a complete store.

    Parameters
    ----------
    shards
        In genome order (contig order of the input header, then start).
    samples
        Pseudonymized IDs, shape (n_samples,).
    build
        ``"GRCh38"`` or ``"GRCh37"``.
    source
        ``{"file": name, "sha256": hex, "format": "vcf"|"bcf"}`` (the file name only: no site paths).
    store_config
        Chunking and codec used.
    """
    shards = list(shards)
    return {
        "schema": S.SCHEMA,
        "schema_version": S.SCHEMA_VERSION,
        "hpcgen_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "build": build,
        "source": source,
        "samples": list(samples),
        "n_samples": len(samples),
        "n_variants": int(sum(s.n_variants for s in shards)),
        "ploidy": int(max((s.ploidy for s in shards if s.n_variants), default=2)),
        "contigs": list(dict.fromkeys(s.chrom for s in shards)),
        "fields": sorted({f for s in shards for f in s.fields}),
        "store": store_config,
        "shards": [s.to_dict() for s in shards],
    }


def write_manifest(store: str | os.PathLike, manifest: dict[str, Any]) -> Path:
    """Write the variant index (``STORE/variants.parquet``) and the chunk index (``STORE/chunks.json``), then
    ``STORE/manifest.json``; return its path.

    All are written atomically, the manifest last (its presence means the store is complete); the manifest
    gains ``variant_index`` and ``chunk_index`` entries (file, SHA-256, size). See
    :mod:`hpcgen.store.variant_index` and :mod:`hpcgen.store.chunk_index`.
    """
    from hpcgen.store.chunk_index import write_chunk_index
    from hpcgen.store.variant_index import write_variant_index

    manifest["variant_index"] = write_variant_index(store, manifest["shards"])
    manifest["chunk_index"] = write_chunk_index(store, manifest["shards"])
    return atomic_write_text(Path(store) / S.MANIFEST, json.dumps(manifest, indent=1) + "\n")


def read_manifest(store: str | os.PathLike) -> dict[str, Any]:
    """Read and check a store's manifest.

    Raises
    ------
    InputError
        No manifest (the store is incomplete), unreadable JSON, or another schema version.
    """
    path = Path(store) / S.MANIFEST
    if not path.is_file():
        raise InputError("not a complete genotype store (no manifest.json; rerun hpcgen ingest)", store)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable store manifest ({exc})", path) from None
    if manifest.get("schema") != S.SCHEMA or manifest.get("schema_version") not in S.READABLE_VERSIONS:
        raise InputError(
            f"store schema {manifest.get('schema')!r} v{manifest.get('schema_version')} is not one this "
            f"hpcgen reads ({S.SCHEMA} v{', v'.join(map(str, S.READABLE_VERSIONS))}); re-ingest", path)
    return manifest
