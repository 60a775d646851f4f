"""Where Dask runs: the threaded scheduler in-process, or a dask-jobqueue cluster from hpcgen.dispatch."""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator

log = logging.getLogger("hpcgen.qc")


def _is_local(profile: str | None) -> bool:
    if profile in (None, "", "local"):
        return True
    from hpcgen.dispatch import load_profile

    return load_profile(profile).is_local


@contextlib.contextmanager
def dask_context(profile: str | None, qc_config) -> Iterator[dict[str, Any]]:
    """Yield the keyword arguments every ``dask.compute`` of a QC run uses.

    Parameters
    ----------
    profile
        None, ``"local"`` or any profile with ``scheduler: local``: Dask's threaded scheduler in this process
        (the kernels release the GIL, so threads scale without pickling blocks). A Slurm profile: a
        dask-jobqueue SLURMCluster from :func:`hpcgen.dispatch.dask_cluster`, scaled to ``qc.dask_jobs``
        worker jobs of ``qc.dask_job_cores`` cores and ``qc.dask_job_mem_gb`` GB, attached through a
        ``distributed.Client`` for the duration of the block and closed after it.
    qc_config
        The ``qc`` config section (threads, Dask worker jobs).
    """
    if _is_local(profile):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        yield {"scheduler": "threads", "num_workers": int(qc_config.threads or cores)}
        return
    from distributed import Client

    from hpcgen.dispatch import Resources, dask_cluster

    resources = Resources(cpus_per_task=qc_config.dask_job_cores, mem_gb=qc_config.dask_job_mem_gb,
                          time_min=qc_config.dask_job_time_min)
    cluster = dask_cluster(profile, resources)
    cluster.scale(jobs=qc_config.dask_jobs)
    client = Client(cluster)
    log.info("qc: Dask on profile %s: %d worker jobs", profile, qc_config.dask_jobs)
    try:
        yield {}
    finally:
        client.close()
        with contextlib.suppress(Exception):
            cluster.close()
