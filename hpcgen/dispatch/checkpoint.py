"""Checkpoint and resume of long stages.

Two mechanisms, usable together:

* ``Checkpointable`` (submitit): a callable class whose ``checkpoint()`` is called when Slurm signals a
  timeout or a preemption (``--signal=USR2@signal_delay_s``); submitit pickles the returned state and
  requeues the job, which resumes from it (at most ``max_num_timeout`` times after timeouts, without limit
  after preemptions).
* :class:`FileCheckpoint`: a stage saves its progress to a file after each unit of work, so that a requeue
  without warning (``scontrol requeue``, node failure) also resumes instead of restarting.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from submitit.helpers import Checkpointable, DelayedSubmission

from hpcgen.fsutil import atomic_write_text


class FileCheckpoint:
    """A JSON state file written atomically (a crash mid-save leaves the previous state).

    Parameters
    ----------
    path
        The state file (on storage shared with the compute nodes, e.g. under RUN_DIR).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def load(self) -> Any | None:
        """The saved state, or None when nothing was saved yet."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save(self, state: Any) -> None:
        """Replace the saved state."""
        atomic_write_text(self.path, json.dumps(state, sort_keys=True))

    def clear(self) -> None:
        """Forget the state (after the stage's output is complete)."""
        self.path.unlink(missing_ok=True)


def restart_count() -> int:
    """How many times Slurm has requeued the current job (0 outside Slurm)."""
    return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)


__all__ = ["Checkpointable", "DelayedSubmission", "FileCheckpoint", "restart_count"]
