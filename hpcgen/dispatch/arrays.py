"""run_array: one function over many items (region shards), as Slurm job arrays or a local process pool.

Arrays bigger than the site's cap are split into several arrays; failed tasks are resubmitted up to
``dispatch.max_retries`` times (never for bad input: an InputError will not get better).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from hpcgen.dispatch.executors import JobFailedError, collect, make_executor, refused_as_error, wait_jobs
from hpcgen.dispatch.profiles import Profile, load_profile
from hpcgen.dispatch.records import UsageProbe, append_record, append_records, new_local_id, utc_now
from hpcgen.dispatch.resources import Resources
from hpcgen.dispatch.stage import _record, run_local
from hpcgen.errors import HpcgenError, InputError


def _dispatch_config():
    from hpcgen.config import load_config

    return load_config(None).dispatch


def split(items: Sequence[Any], cap: int) -> list[list[int]]:
    """Indices of ``items`` in consecutive chunks of at most ``cap``."""
    return [list(range(i, min(i + cap, len(items)))) for i in range(0, len(items), cap)]


def _picklable(fn: Callable[..., Any]) -> bool:
    try:
        pickle.dumps(fn)
    except Exception:  # noqa: BLE001 - any pickling failure means "not by reference"
        return False
    return True


def _call_with_usage(fn: Callable[[Any], Any], item: Any) -> tuple[Any, dict, str, str]:
    start = utc_now()
    with UsageProbe() as probe:
        value = fn(item)
    return value, probe.result(), start, utc_now()


def _run_local_array(fn, items, profile: Profile, resources: Resources, name: str, run_dir: Path,
                     retries: int, workers: int) -> list[Any]:
    if workers <= 1 or len(items) <= 1:
        out = []
        for index, item in enumerate(items):
            for attempt in range(retries + 1):
                try:
                    out.append(run_local(fn, (item,), {}, profile=profile, resources=resources, name=name,
                                         run_dir=run_dir, array_index=index))
                    break
                except InputError:
                    raise
                except Exception:
                    if attempt == retries:
                        raise
        return out
    results: list[Any] = [None] * len(items)
    # fork: workers start at once and need not re-import __main__ (spawn breaks scripts run from stdin or Snakemake)
    ctx = multiprocessing.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        attempts = dict.fromkeys(range(len(items)), 0)
        futures = {pool.submit(_call_with_usage, fn, items[i]): i for i in range(len(items))}
        while futures:
            done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                index = futures.pop(fut)
                rec = _record(profile, resources, name)
                rec.update(job_id=new_local_id(), array_index=index)
                try:
                    value, usage, start, end = fut.result()
                except BaseException as exc:
                    rec.update(state="FAILED", end=utc_now(), error=f"{type(exc).__name__}: {exc}"[:500])
                    append_record(run_dir, rec)
                    if isinstance(exc, cf.process.BrokenProcessPool):
                        raise HpcgenError(f"stage '{name}': a local worker process died while running task {index} "
                                          "(killed for memory? try fewer dispatch.local_workers)") from None
                    if isinstance(exc, InputError) or attempts[index] >= retries:
                        for other in futures:
                            other.cancel()
                        raise
                    attempts[index] += 1
                    futures[pool.submit(_call_with_usage, fn, items[index])] = index
                    continue
                rec.update(state="COMPLETED", start=start, end=end, usage=usage, pid=None)
                append_record(run_dir, rec)
                results[index] = value
    return results


def _submit_array(fn, items, indices: list[int], profile: Profile, resources: Resources, name: str,
                  run_dir: Path) -> list[tuple[int, Any]]:
    """Submit ``items[indices]`` as job arrays of at most the profile's cap; return (index, job) pairs."""
    executor = make_executor(profile, resources, name, run_dir, fn)
    submitted: list[tuple[int, Any]] = []
    for chunk in split(indices, profile.array_cap):
        chunk_indices = [indices[i] for i in chunk]
        with refused_as_error(name, profile):
            jobs = executor.map_array(fn, [items[i] for i in chunk_indices])
        records = []
        for index, job in zip(chunk_indices, jobs):
            rec = _record(profile, resources, name)
            rec.update(job_id=job.job_id, array_index=index, state="SUBMITTED", submitted=utc_now(),
                       folder=str(job.paths.folder))
            records.append(rec)
            submitted.append((index, job))
        append_records(run_dir, records)
    return submitted


def run_array(fn: Callable[[Any], Any], items: Sequence[Any], profile: str | Profile = "local",
              resources: Resources | None = None, *, name: str, run_dir: str | os.PathLike,
              max_retries: int | None = None, workers: int | None = None) -> list[Any]:
    """Run ``fn(item)`` for every item; return the values in the order of ``items``.

    Parameters
    ----------
    fn
        A module-level function of one argument (pickled for Slurm and for local worker processes).
    items
        One per task (e.g. region shards).
    profile, resources, name, run_dir
        As for :func:`hpcgen.dispatch.run_stage`; ``resources`` is per task.
    max_retries
        Resubmissions of a failed task (default: config ``dispatch.max_retries``).
    workers
        Local profile only: worker processes (default: config ``dispatch.local_workers``, 0 = cores // cpus_per_task;
        1 runs every item in this process).

    Raises
    ------
    JobFailedError
        A task still failed after its retries (its error and log tail in the message).
    """
    prof = load_profile(profile)
    resources = resources or Resources()
    run_dir = Path(run_dir)
    items = list(items)
    if not items:
        return []
    cfg = _dispatch_config()
    retries = cfg.max_retries if max_retries is None else max_retries
    if prof.is_local:
        if workers is None:
            workers = cfg.local_workers or max(1, (os.cpu_count() or 1) // resources.cpus_per_task)
        if not _picklable(fn):
            workers = 1  # a lambda or closure cannot reach a worker process: run it here
        return _run_local_array(fn, items, prof, resources, name, run_dir, retries, min(workers, len(items)))
    results: dict[int, Any] = {}
    todo = list(range(len(items)))
    failures: list[JobFailedError] = []
    for attempt in range(retries + 1):
        started = time.monotonic()
        submitted = _submit_array(fn, items, todo, prof, resources, name, run_dir)
        submit_s = round(time.monotonic() - started, 3)
        wait_jobs([job for _, job in submitted], desc=f"{name} ({len(submitted)} tasks)", poll_max_s=prof.poll_max_s)
        todo, failures, finals = [], [], []
        for index, job in submitted:
            outcome = collect(job, name)
            finals.append({"job_id": job.job_id, "stage": name, "state": outcome.state, "end": utc_now(),
                           "submit_s": submit_s, "attempt": attempt,
                           "error": None if outcome.ok else outcome.error.error})
            if outcome.ok:
                results[index] = outcome.value
            else:
                failures.append(outcome.error)
                todo.append(index)
        append_records(run_dir, finals)
        if not todo or any("InputError" in f.error for f in failures):
            break
    if failures:
        first = failures[0]
        raise JobFailedError(name, first.job_id, first.state,
                             f"{len(failures)} of {len(items)} task(s) failed after {retries} retr{'y' if retries == 1 else 'ies'}; "
                             f"first: {first.error}", first.log_tail, first.log_path)
    return [results[i] for i in range(len(items))]


__all__ = ["run_array", "split", "HpcgenError"]
