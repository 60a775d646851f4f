"""Launching the training ranks: in-process, several local processes (submitit), or Slurm (hpcgen.dispatch).

Every rank runs :class:`TrainJob`, a ``submitit.helpers.Checkpointable``: on timeout or preemption
submitit calls its ``checkpoint()`` on rank 0, which resubmits the same call; the requeued job finds the
last verified checkpoint in the work folder and resumes from it (:func:`hpcgen.model.train.run_training`).
``TorchDistributedEnvironment`` turns submitit's task layout into MASTER_ADDR/PORT, RANK, WORLD_SIZE.
"""
from __future__ import annotations

import os
from pathlib import Path

import submitit

from hpcgen.model.train import TrainSpec, run_training


class TrainJob(submitit.helpers.Checkpointable):
    """One rank of a training job (picklable; submitit ships it to every task)."""

    def __call__(self, spec: TrainSpec) -> dict:
        env = submitit.JobEnvironment()
        if env.activated():
            # MASTER_ADDR/PORT, RANK, WORLD_SIZE, LOCAL_RANK from submitit's task layout (Slurm or local)
            dist_env = submitit.helpers.TorchDistributedEnvironment()
            # each rank keeps every GPU visible and picks LOCAL_RANK's (train.py): NCCL needs to see its peers
            dist_env.export(set_cuda_visible_devices=False, overwrite=True)
            os.environ["MASTER_PORT"] = str(_stable_port(env.job_id))
            if env.num_nodes == 1:
                # all ranks on one node: rendezvous and gloo traffic stay on loopback, never on a network interface
                os.environ["MASTER_ADDR"] = "127.0.0.1"
                os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        return run_training(spec)


def _stable_port(job_id: str) -> int:
    """A port derived from the job id (every rank computes the same one; requeued jobs keep theirs)."""
    import zlib

    return 20000 + zlib.crc32(str(job_id).encode()) % 30000


def local_executor(folder: str | os.PathLike, ranks: int, timeout_min: float, signal_delay_s: int = 15):
    """submitit's LocalExecutor running ``ranks`` processes on this machine."""
    ex = submitit.LocalExecutor(folder=str(folder))
    ex.update_parameters(tasks_per_node=ranks, timeout_min=timeout_min, signal_delay_s=signal_delay_s)
    return ex


def launch(spec: TrainSpec, ranks: int = 1, profile: str = "local", run_dir: str | os.PathLike | None = None,
           timeout_min: float = 60.0, cpus_per_task: int = 1, gpus_per_node: int = 0) -> dict:
    """Train with ``ranks`` data-parallel processes where ``profile`` says; return rank 0's result.

    - ``profile="local"``, one rank: in this process.
    - ``profile="local"``, several ranks: submitit LocalExecutor, ``tasks_per_node=ranks`` (one node).
    - a Slurm profile: ``hpcgen.dispatch.run_stage`` with ``tasks_per_node=ranks`` (requeue on timeout).
    """
    from hpcgen.dispatch import Resources, run_stage

    run_dir = Path(run_dir or Path(spec.work_dir) / "run")
    resources = Resources(tasks_per_node=ranks, cpus_per_task=cpus_per_task, gpus_per_node=gpus_per_node,
                          time_min=max(1, int(timeout_min)))
    if profile == "local" and ranks > 1:
        # recorded in RUN_DIR/jobs.jsonl like any local stage; the ranks are submitit's local tasks
        return run_stage(run_local_ranks, spec, ranks, str(run_dir / "submitit"), timeout_min, profile="local",
                         resources=resources, name="train", run_dir=run_dir)
    if profile != "local" and spec.device != "cpu" and not gpus_per_node:
        from hpcgen.dispatch import load_profile

        if load_profile(profile).node.gpus > 0:  # one GPU per rank on GPU sites
            resources = Resources(**{**resources.to_dict(), "gpus_per_node": ranks})
    fn = run_training if profile == "local" else TrainJob()
    return run_stage(fn, spec, profile=profile, resources=resources, name="train", run_dir=run_dir)


def run_local_ranks(spec: TrainSpec, ranks: int, folder: str, timeout_min: float) -> dict:
    """``ranks`` processes on this machine through submitit's LocalExecutor (requeued on USR2); rank 0's result."""
    job = local_executor(folder, ranks, timeout_min).submit(TrainJob(), spec)
    return job.results()[0]
