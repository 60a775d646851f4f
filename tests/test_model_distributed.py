"""Two CPU ranks (gloo) through submitit: data-parallel training, checkpoints on all ranks, requeue + resume."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import psutil
import pytest

from conftest import IN_CI, devcluster_up, run_hpcgen
from model_helpers import random_cohort

from hpcgen.model.train import TrainSpec, checkpoint_tags

CFG = "model:\n  epochs: 8\n  patience: 100\n  checkpoint_every: 2\n  batch_size: 16\n  zero_stage: 2\n"


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """`hpcgen train --ranks 2` (submitit LocalExecutor, 2 tasks, ZeRO-2 over gloo) on a synthetic IWPC table."""
    tmp = tmp_path_factory.mktemp("ranks")
    data = random_cohort(tmp / "c.tsv", 300, seed=8)
    cfg = tmp / "cfg.yaml"
    cfg.write_text(CFG)
    reg = tmp / "reg"
    proc = run_hpcgen("train", "--model", "dose-mlp", "--data", str(data), "--ranks", "2", "--profile", "local",
                      "--out", str(reg), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = list((reg / "dose-mlp" / ".runs").iterdir())
    return {"reg": reg, "run": run, "result": json.loads((run / "train_result.json").read_text()), "tmp": tmp}


def test_two_ranks_train_with_zero2_and_checkpoint_on_every_rank(two_ranks):
    res = two_ranks["result"]
    assert res["world_size"] == 2 and res["rank"] == 0
    metrics = json.loads((two_ranks["reg"] / "dose-mlp" / "v0001" / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # 300 rows -> 255 fit rows -> ~216 train rows; 2 ranks x 16 per micro-batch: 7 steps per epoch, not 14
    n_train = json.loads((two_ranks["reg"] / "dose-mlp" / "v0001" / "data.json").read_text())["n_train"]
    assert res["history"][0]["step"] == -(-(-(-n_train // 2)) // 16)
    tags = checkpoint_tags(two_ranks["run"] / "checkpoints")
    assert tags and tags[-1] == "epoch00007"
    files = {p.name for p in (two_ranks["run"] / "checkpoints" / tags[-1]).iterdir()}
    assert {"zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"} <= files


def test_requeue_after_signal_resumes_from_last_checkpoint(two_ranks):
    """USR2 (what Slurm sends before a timeout) to both tasks after the first checkpoint: submitit calls
    checkpoint() and requeues; the new tasks resume from the checkpoint and finish exactly like the
    uninterrupted run."""
    from hpcgen.model.distributed import TrainJob, local_executor

    ref = two_ranks["result"]
    spec = TrainSpec(**{**ref["spec"], "work_dir": str(two_ranks["tmp"] / "requeued")})
    ex = local_executor(two_ranks["tmp"] / "submitit", ranks=2, timeout_min=8)
    job = ex.submit(TrainJob(), spec)
    ckpt = Path(spec.work_dir) / "checkpoints"
    deadline = time.monotonic() + 300
    while not any((ckpt / t / "checksums.json").is_file() for t in checkpoint_tags(ckpt)):
        assert not job.done(), job.stderr()
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.2)
    tasks = psutil.Process(int(job.job_id)).children()
    assert len(tasks) == 2
    for t in tasks:
        t.send_signal(signal.SIGUSR2)
    result = job.results()[0]
    assert result["world_size"] == 2
    assert result["resumed_from"] is not None and result["resumed_from"] < 7
    assert [h["step"] for h in result["history"]] == [h["step"] for h in ref["history"]]
    for a, b in zip(result["history"], ref["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)


@pytest.mark.slurm
def test_two_ranks_on_the_dev_slurm_cluster(two_ranks):
    """The same training dispatched through hpcgen.dispatch to the dev Slurm cluster (2 tasks, 1 node)."""
    if not devcluster_up():
        pytest.skip("dev Slurm cluster not running (make cluster-up)")
    from hpcgen.model.distributed import launch

    ref = two_ranks["result"]
    spec = TrainSpec(**{**ref["spec"], "work_dir": str(two_ranks["tmp"] / "slurm"), "device": "cpu"})
    result = launch(spec, ranks=2, profile="devcluster", run_dir=two_ranks["tmp"] / "slurm-run", timeout_min=10)
    assert result["world_size"] == 2
    for a, b in zip(result["history"], ref["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    jobs = [json.loads(line) for line in (two_ranks["tmp"] / "slurm-run" / "jobs.jsonl").read_text().splitlines()]
    assert any(j.get("stage") == "train" for j in jobs)


@pytest.mark.slurm
@pytest.mark.slow
def test_slurm_requeue_resumes_from_checkpoint(two_ranks):
    """On the dev cluster: USR2 to the running 2-task job (as before a timeout) -> checkpoint() -> scontrol
    requeue -> the requeued job resumes from its last checkpoint and carries on where it stopped.

    The signal travels scancel -> slurmctld -> slurmd -> tasks, so the job trains long enough (many epochs)
    that it is still running when the signal lands. Equality with the uninterrupted run is checked by
    test_requeue_after_signal_resumes_from_last_checkpoint (same code path, local executor)."""
    if not devcluster_up():
        pytest.skip("dev Slurm cluster not running (make cluster-up)")
    from hpcgen.dispatch import Resources, submit_stage
    from hpcgen.model.distributed import TrainJob

    ref = two_ranks["result"]
    spec = TrainSpec(**{**ref["spec"], "work_dir": str(two_ranks["tmp"] / "slurm-requeue"), "device": "cpu",
                        "epochs": 300, "patience": 1000})
    handle = submit_stage(TrainJob(), spec, profile="devcluster", name="train",
                          resources=Resources(tasks_per_node=2, cpus_per_task=1, time_min=15),
                          run_dir=two_ranks["tmp"] / "slurm-requeue-run")
    ckpt = Path(spec.work_dir) / "checkpoints"
    deadline = time.monotonic() + 300
    while not any((ckpt / t / "checksums.json").is_file() for t in checkpoint_tags(ckpt)):
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.5)
    handle.job._interrupt(timeout=True)  # submitit's test hook: scancel --signal USR2
    result = handle.result(timeout_s=600)
    assert result["world_size"] == 2 and result["resumed_from"] is not None
    # every epoch once, in order, across the requeue: the resumed job starts right after its checkpoint
    steps_per_epoch = ref["history"][0]["step"]
    assert [h["step"] for h in result["history"]] == [steps_per_epoch * (i + 1) for i in range(spec.epochs)]
