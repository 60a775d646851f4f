"""Ingest: VCF/BCF -> genotype store (docs/store.md).

``from hpcgen.ingest import ingest``; the per-shard job is :func:`hpcgen.ingest.shard.ingest_shard`.
"""
from hpcgen.ingest.run import ingest

__all__ = ["ingest"]
