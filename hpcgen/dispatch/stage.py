"""run_stage: one stage function, in-process (profile "local") or as one Slurm job through submitit."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hpcgen.dispatch.executors import collect, make_executor, refused_as_error, wait_jobs
from hpcgen.dispatch.profiles import Profile, load_profile
from hpcgen.dispatch.records import UsageProbe, append_record, base_record, new_local_id, utc_now
from hpcgen.dispatch.resources import Resources


def energy_constants(profile: Profile) -> dict[str, Any]:
    """The profile's energy constants, copied into each record so impact never depends on a later edit."""
    return {**profile.energy.to_dict(), "node_cores": profile.node.cores, "node_gpus": profile.node.gpus}


def _record(profile: Profile, resources: Resources, name: str) -> dict[str, Any]:
    rec = base_record(name, profile.name, profile.scheduler, resources.to_dict())
    rec["energy_constants"] = energy_constants(profile)
    return rec


def run_local(fn: Callable[..., Any], args: tuple, kwargs: dict, *, profile: Profile, resources: Resources,
              name: str, run_dir: Path, array_index: int | None = None) -> Any:
    """Call ``fn`` in this process, recording its process accounting in RUN_DIR/jobs.jsonl."""
    rec = _record(profile, resources, name)
    rec.update(job_id=new_local_id(), array_index=array_index, start=utc_now(), pid=os.getpid())
    with UsageProbe() as probe:
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            rec.update(state="FAILED", end=utc_now(), usage=probe.result(), error=f"{type(exc).__name__}: {exc}"[:500])
            append_record(run_dir, rec)
            raise
    rec.update(state="COMPLETED", end=utc_now(), usage=probe.result())
    append_record(run_dir, rec)
    return value


@dataclass
class StageHandle:
    """A submitted Slurm job: wait for it, get its result (or its error with the log tail), cancel it."""

    job: Any
    profile: Profile
    resources: Resources
    name: str
    run_dir: Path
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        """The Slurm job id."""
        return self.job.job_id

    def wait(self, timeout_s: float | None = None) -> None:
        """Block until the job has finished (polls sacct in batches)."""
        wait_jobs([self.job], desc=self.name, poll_max_s=self.profile.poll_max_s, timeout_s=timeout_s)

    def cancel(self) -> None:
        """scancel the job."""
        self.job.cancel(check=False)

    def result(self, timeout_s: float | None = None) -> Any:
        """Wait, record the end in jobs.jsonl, then return the value or raise :class:`JobFailedError`."""
        self.wait(timeout_s)
        outcome = collect(self.job, self.name)
        append_record(self.run_dir, {**self.record, "state": outcome.state, "end": utc_now(),
                                     "error": None if outcome.ok else outcome.error.error})
        if not outcome.ok:
            raise outcome.error
        return outcome.value


def submit_stage(fn: Callable[..., Any], *args: Any, profile: str | Profile, resources: Resources | None = None,
                 name: str, run_dir: str | os.PathLike, max_num_timeout: int = 3, **kwargs: Any) -> StageHandle:
    """Submit ``fn(*args, **kwargs)`` as one Slurm job and return at once (validation happens first)."""
    profile = load_profile(profile)
    resources = resources or Resources()
    run_dir = Path(run_dir)
    executor = make_executor(profile, resources, name, run_dir, fn, max_num_timeout=max_num_timeout)
    with refused_as_error(name, profile):
        job = executor.submit(fn, *args, **kwargs)
    rec = _record(profile, resources, name)
    rec.update(job_id=job.job_id, array_index=None, state="SUBMITTED", submitted=utc_now(),
               folder=str(job.paths.folder))
    append_record(run_dir, rec)
    return StageHandle(job, profile, resources, name, run_dir, rec)


def run_stage(fn: Callable[..., Any], *args: Any, profile: str | Profile = "local", resources: Resources | None = None,
              name: str, run_dir: str | os.PathLike, **kwargs: Any) -> Any:
    """Run one stage function where the profile says, and return its value.

    Parameters
    ----------
    fn
        The stage function (module-level, importable: it is pickled for Slurm), or a
        ``submitit.helpers.Checkpointable`` instance (requeued and resumed on timeout / preemption).
    *args, **kwargs
        Passed to ``fn``.
    profile
        ``"local"`` (in-process) or a Slurm profile name / path (slurm/profiles/<name>.yaml).
    resources
        What the job needs (defaults: 1 task, 1 core, 2 GB, 60 min).
    name
        Stage name: the Slurm job name and the ``stage`` of the jobs.jsonl record.
    run_dir
        The run folder: RUN_DIR/jobs.jsonl gets the record, RUN_DIR/slurm/<name>/ the job files.

    Raises
    ------
    InputError
        The request is impossible on this site (refused before submission).
    JobFailedError
        The job failed; the message holds its error and the last lines of its log.
    """
    prof = load_profile(profile)
    resources = resources or Resources()
    if prof.is_local:
        return run_local(fn, args, kwargs, profile=prof, resources=resources, name=name, run_dir=Path(run_dir))
    started = time.monotonic()
    handle = submit_stage(fn, *args, profile=prof, resources=resources, name=name, run_dir=run_dir, **kwargs)
    handle.record["submit_s"] = round(time.monotonic() - started, 3)
    return handle.result()
