"""hpcgen.dispatch: run stage functions in-process or on Slurm (submitit), with accounting.

The API every stage uses::

    from hpcgen.dispatch import run_stage, run_array, Resources
    value = run_stage(fn, *args, profile="local", resources=Resources(cpus_per_task=4), name="qc", run_dir=RUN_DIR)
    values = run_array(fn, shards, profile="devcluster", name="ingest-shard", run_dir=RUN_DIR)

Every job is appended to RUN_DIR/jobs.jsonl for ``hpcgen impact``. Heavy imports (submitit, dask) wait until used.
"""
from __future__ import annotations

from hpcgen.dispatch.arrays import run_array
from hpcgen.dispatch.executors import JobFailedError
from hpcgen.dispatch.profiles import Profile, available_profiles, load_profile
from hpcgen.dispatch.resources import Resources
from hpcgen.dispatch.sbatch import render_sbatch, slurm_parameters, validate_request
from hpcgen.dispatch.stage import StageHandle, run_stage, submit_stage


def dask_cluster(profile: str | Profile, resources: Resources | None = None, **kwargs):
    """A Dask cluster for the profile: LocalCluster for local, dask-jobqueue SLURMCluster otherwise.

    See :func:`hpcgen.dispatch.dask_clusters.dask_cluster` (a module of its own name would shadow this function).
    """
    from hpcgen.dispatch.dask_clusters import dask_cluster as _make

    return _make(profile, resources, **kwargs)


__all__ = [
    "JobFailedError", "Profile", "Resources", "StageHandle", "available_profiles", "dask_cluster", "load_profile",
    "render_sbatch", "run_array", "run_stage", "slurm_parameters", "submit_stage", "validate_request",
]
