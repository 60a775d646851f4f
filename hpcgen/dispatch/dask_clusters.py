"""A Dask cluster from a site profile: LocalCluster in-process, dask-jobqueue SLURMCluster on Slurm sites.

The worker jobs carry the same directives, validation and setup lines as every other hpcgen job, because
they come from the same :func:`hpcgen.dispatch.sbatch.slurm_parameters`.
"""
from __future__ import annotations

import os
import shlex
import sys
import tempfile
from typing import Any

from hpcgen.dispatch.profiles import Profile, load_profile
from hpcgen.dispatch.resources import Resources
from hpcgen.dispatch.sbatch import slurm_parameters

# submitit parameter -> sbatch flag, for the directives SLURMCluster has no argument of its own for
_EXTRA_FLAGS = {"constraint": "--constraint", "qos": "--qos", "gres": "--gres", "gpus_per_node": "--gpus-per-node",
                "ntasks_per_node": "--ntasks-per-node", "nodes": "--nodes"}


def slurm_cluster_kwargs(profile: Profile | str, resources: Resources | None = None,
                         account: str | None = None, name: str = "hpcgen-dask",
                         pythonpath: list[str] | None = None) -> dict[str, Any]:
    """Keyword arguments of ``dask_jobqueue.SLURMCluster`` for one worker job per ``resources``.

    Each worker job runs one Dask worker process with ``cpus_per_task`` threads and the job's memory.
    ``pythonpath`` folders are exported in the worker job, so that functions of modules outside the installed
    packages unpickle there (see :func:`hpcgen.dispatch.executors.module_roots`).
    """
    profile = load_profile(profile)
    resources = resources or Resources()
    setup = []
    if pythonpath:
        joined = ":".join(shlex.quote(p) for p in pythonpath)
        setup.append(f'export PYTHONPATH={joined}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    params = slurm_parameters(profile, resources, name, account=account, setup_extra=setup)
    extra = [f"{flag}={params[key]}" for key, flag in _EXTRA_FLAGS.items() if key in params and key != "nodes"]
    extra += [f"--{k.replace('_', '-')}={v}" for k, v in params.get("additional_parameters", {}).items()]
    hours, minutes = divmod(resources.time_min, 60)
    kwargs: dict[str, Any] = {
        "queue": params.get("partition"),
        "account": params.get("account"),
        "cores": params["cpus_per_task"],
        "processes": 1,
        "memory": f"{resources.mem_gb:g}GB",
        "walltime": f"{hours:02d}:{minutes:02d}:00",
        "job_name": name,
        "job_extra_directives": extra,
        "job_script_prologue": list(params.get("setup", [])),
        "python": sys.executable,
        # worker logs go beside the run, never as slurm-<id>.out in whatever folder the driver started in
        "log_directory": os.path.join(tempfile.gettempdir(), f"hpcgen-dask-{os.getuid()}"),
        # no web dashboards: nothing listens beyond what the computation needs
        "scheduler_options": {"dashboard": False},
        "worker_extra_args": ["--no-dashboard"],
    }
    if profile.dask_interface:
        kwargs["interface"] = profile.dask_interface
    if not profile.mem_directive:
        kwargs["job_directives_skip"] = ["--mem"]
    return kwargs


def dask_cluster(profile: Profile | str, resources: Resources | None = None, pythonpath: list[str] | None = None,
                 **overrides: Any):
    """A Dask cluster for the profile (call ``.scale(n)`` or ``.adapt()`` on a SLURMCluster, then ``Client(c)``).

    Parameters
    ----------
    profile
        ``local`` gives a ``distributed.LocalCluster`` (one worker per ``cpus_per_task`` cores of this machine);
        a Slurm profile gives a ``dask_jobqueue.SLURMCluster`` whose worker jobs use ``resources``.
    resources
        Per worker job.
    pythonpath
        Folders exported on the workers' PYTHONPATH (Slurm only).
    **overrides
        Passed to the cluster class (e.g. ``log_directory``, ``scheduler_options``).
    """
    profile = load_profile(profile)
    resources = resources or Resources()
    if profile.is_local:
        import os

        from distributed import LocalCluster

        n_workers = max(1, (os.cpu_count() or 1) // resources.cpus_per_task)
        return LocalCluster(n_workers=n_workers, threads_per_worker=resources.cpus_per_task, processes=True,
                            dashboard_address=None, **overrides)
    from dask_jobqueue import SLURMCluster

    kwargs = slurm_cluster_kwargs(profile, resources, pythonpath=pythonpath)
    kwargs.update(overrides)
    return SLURMCluster(**kwargs)
