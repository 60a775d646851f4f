"""submitit executors built from a profile; waiting with batched sacct calls; results and log tails.

The one place that talks to submitit. Functions are pickled by submitit, so the folder holding the
function's module is exported on the job's PYTHONPATH (a module that is importable here but not on the
node is the commonest submitit failure).
"""
from __future__ import annotations

import contextlib
import functools
import shlex
import subprocess
import sys
import sysconfig
import types
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from hpcgen.dispatch.profiles import Profile
from hpcgen.dispatch.resources import Resources
from hpcgen.dispatch.sbatch import slurm_parameters
from hpcgen.errors import HpcgenError
from hpcgen.progress import progress

# sacct states after which a job will not run again (REQUEUED / PREEMPTED come back as PENDING)
TERMINAL_STATES = {
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "TIMEOUT", "REVOKED",
}
LOG_TAIL_LINES = 20


class JobFailedError(HpcgenError):
    """A dispatched job failed: its id, state, error and the last lines of its log reach the user."""

    def __init__(self, stage: str, job_id: str, state: str, error: str, log_tail: str, log_path: str | None):
        self.stage, self.job_id, self.state, self.error, self.log_tail, self.log_path = (
            stage, job_id, state, error, log_tail, log_path)
        message = f"stage '{stage}' job {job_id} ended {state}: {error}"
        if log_tail:
            message += f"\n--- last lines of {log_path} ---\n{log_tail}"
        super().__init__(message)


def module_roots(fn: Callable[..., Any]) -> list[str]:
    """Folders that must be on the job's PYTHONPATH for ``fn`` to unpickle there.

    For ``pkg.sub.mod`` defined in ``/x/pkg/sub/mod.py`` that is ``/x``. Functions of ``__main__`` are
    pickled by value, and modules of the standard library or of installed packages are found anyway: both
    need nothing. A ``functools.partial`` is looked through; a callable instance counts by its class.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    target = fn if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, type)) else type(fn)
    module = sys.modules.get(getattr(target, "__module__", "") or "")
    if module is None or module.__name__ == "__main__" or not getattr(module, "__file__", None):
        return []
    path = Path(module.__file__).resolve()
    depth = module.__name__.count(".") + (1 if path.name == "__init__.py" else 0)
    root = path.parents[depth]
    installed = {Path(p).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")
                 if (p := sysconfig.get_paths().get(key))}
    return [] if root in installed else [str(root)]


def pythonpath_setup(fn: Callable[..., Any]) -> list[str]:
    """The setup line exporting ``fn``'s module root on PYTHONPATH (empty when none is needed)."""
    roots = module_roots(fn)
    if not roots:
        return []
    joined = ":".join(shlex.quote(r) for r in roots)
    return [f'export PYTHONPATH={joined}"${{PYTHONPATH:+:$PYTHONPATH}}"']


def make_executor(
    profile: Profile, resources: Resources, name: str, run_dir: Path, fn: Callable[..., Any] | None = None,
    max_num_timeout: int = 3,
):
    """A submitit ``SlurmExecutor`` whose parameters come from :func:`slurm_parameters`.

    Job files (pickles, logs) go to RUN_DIR/slurm/<name>/<job id>.
    """
    import submitit

    # validate first: a refused request leaves nothing behind
    params = slurm_parameters(profile, resources, name, setup_extra=pythonpath_setup(fn) if fn else None)
    # pickled arguments and results may hold cohort data: the job folders are private to their owner
    private = Path(run_dir) / "slurm"
    private.mkdir(parents=True, exist_ok=True)
    private.chmod(0o700)
    executor = submitit.SlurmExecutor(folder=private / name / "%j", max_num_timeout=max_num_timeout)
    executor.update_parameters(**params)
    return executor


class SubmissionRefused(HpcgenError):
    """sbatch refused the job (the site's own checks: partition limits, unknown account or QoS...)."""


@contextlib.contextmanager
def refused_as_error(stage: str, profile: Profile) -> Iterator[None]:
    """Turn sbatch's refusal (submitit raises CalledProcessError / FailedSubmissionError) into one clear line."""
    import submitit

    try:
        yield
    except (subprocess.CalledProcessError, submitit.core.utils.UncompletedJobError,
            submitit.core.utils.FailedSubmissionError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        raise SubmissionRefused(f"sbatch refused stage '{stage}' on profile {profile.name}: "
                                f"{' '.join(detail.split())}") from None


def sacct_calls() -> int:
    """How many sacct calls submitit's shared watcher has made in this process."""
    from submitit.slurm.slurm import SlurmJob

    return SlurmJob.watcher.num_calls


def job_state(job) -> str:
    """Last known Slurm state of a job (no new sacct call)."""
    return job.watcher.get_state(job.job_id, mode="cache").split(" ")[0].upper()


def wait_jobs(jobs: Sequence[Any], desc: str, poll_max_s: float = 30.0, timeout_s: float | None = None) -> None:
    """Wait until every job has finished, with a progress bar.

    A job is finished when its result file exists (a file check, every 0.5 s) or when sacct reports a terminal
    state: that catches jobs that die without a result (cancelled, killed, node failure). sacct is called for
    all unfinished jobs at once (submitit's shared watcher), 2 s after the start, then at doubling intervals
    up to ``poll_max_s``, so a long wait costs few calls.
    """
    from submitit.slurm.slurm import SlurmJob

    watcher = SlurmJob.watcher
    pending = list(jobs)
    start = time.monotonic()
    sacct_gap = 2.0
    next_sacct = start + sacct_gap
    bar = progress(iter(()), total=len(pending), desc=desc, unit="job")
    try:
        while pending:
            still = [j for j in pending if not j.paths.result_pickle.exists()]
            now = time.monotonic()
            if still and now >= next_sacct:
                watcher.update()  # one sacct call for every registered unfinished job
                sacct_gap = min(sacct_gap * 2, poll_max_s)
                next_sacct = now + sacct_gap
            # a state already known terminal (from any earlier call) ends the wait without a new call
            still = [j for j in still if job_state(j) not in TERMINAL_STATES]
            bar.update(len(pending) - len(still))
            pending = still
            if not pending:
                break
            if timeout_s is not None and now - start > timeout_s:
                raise HpcgenError(f"{desc}: {len(pending)} job(s) still running after {timeout_s:.0f} s")
            time.sleep(0.5)
    finally:
        bar.close()


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _last_error_line(trace: str) -> str:
    lines = [line for line in str(trace).strip().splitlines() if line.strip() and not line.startswith("-----")]
    for line in reversed(lines):
        if not line.startswith(" ") and ("Error" in line or "Exception" in line):
            return line.strip()
    return lines[-1].strip() if lines else "no error message"


@dataclass
class Outcome:
    """What a finished job gave back."""

    ok: bool
    value: Any = None
    error: JobFailedError | None = None
    state: str = "UNKNOWN"


def collect(job, stage: str) -> Outcome:
    """The job's result, or a :class:`JobFailedError` carrying its error and log tail."""
    import submitit

    state = job_state(job)
    log_path = job.paths.stderr
    if job.paths.result_pickle.exists():
        outcome, value = submitit.core.utils.pickle_load(job.paths.result_pickle)
        if outcome == "success":
            # the function returned: sacct may still say RUNNING / COMPLETING for a moment
            return Outcome(True, value, state="COMPLETED")
        error = _last_error_line(value)
        state = state if state in TERMINAL_STATES else "FAILED"
    else:
        error = f"no result (Slurm state {state})"
        if state == "OUT_OF_MEMORY":
            error = "killed for using more memory than asked (raise resources.mem_gb)"
        elif state == "TIMEOUT":
            error = "ran past its time limit (raise resources.time_min, or make the stage Checkpointable)"
        elif state == "CANCELLED":
            error = "cancelled (scancel, or by an administrator)"
    tail = _tail(log_path)
    out_tail = _tail(job.paths.stdout, 5)
    if out_tail:
        tail = (tail + "\n" if tail else "") + f"--- last lines of {job.paths.stdout} ---\n" + out_tail
    shown = log_path if log_path.exists() else job.paths.stdout
    return Outcome(False, error=JobFailedError(stage, job.job_id, state, error, tail, str(shown)), state=state)
