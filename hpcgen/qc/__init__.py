"""Cohort QC over the genotype store: per-variant and per-sample tables, PCA, kinship, report, filter.

Function API (the CLI and the workflow call these)::

    from hpcgen.qc import run_qc, filter_store
    manifest = run_qc(store, out_dir, config=cfg, profile="local", tsv=True, samples_sheet=..., id_mapping=...)
    manifest = filter_store(store, out_store, config=cfg)

Outputs are described in docs/qc.md. Heavy imports (dask, numba, matplotlib) wait until a function runs.
"""
from __future__ import annotations


def run_qc(*args, **kwargs):
    """See :func:`hpcgen.qc.run.run_qc`."""
    from hpcgen.qc.run import run_qc as _run

    return _run(*args, **kwargs)


def filter_store(*args, **kwargs):
    """See :func:`hpcgen.qc.filter.filter_store`."""
    from hpcgen.qc.filter import filter_store as _filter

    return _filter(*args, **kwargs)


__all__ = ["run_qc", "filter_store"]
