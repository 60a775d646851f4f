"""Where Dask runs: the threaded scheduler in-process, or a dask-jobqueue cluster from hpcgen.dispatch."""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator

log = logging.getLogger("hpcgen.qc")


@contextlib.contextmanager
def dask_context(profile: str | None, threads: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the keyword arguments every ``dask.compute`` of a QC run uses.

    Parameters
    ----------
    profile
        None or ``"local"``: Dask's threaded scheduler in this process (the kernels release the GIL, so
        threads scale without pickling blocks). Any other profile: a cluster from
        :func:`hpcgen.dispatch.dask_cluster` (a dask-jobqueue SLURMCluster for Slurm sites), attached
        through a ``distributed.Client`` for the duration of the block.
    threads
        Worker threads for the local scheduler; 0 = every core this process may use.
    """
    if profile in (None, "", "local"):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        n = threads or cores
        yield {"scheduler": "threads", "num_workers": int(n)}
        return
    from distributed import Client

    from hpcgen.dispatch import dask_cluster

    cluster = dask_cluster(profile)
    client = Client(cluster)
    log.info("qc: Dask cluster for profile %s: %s", profile, client.dashboard_link)
    try:
        yield {}
    finally:
        client.close()
        with contextlib.suppress(Exception):
            cluster.close()
