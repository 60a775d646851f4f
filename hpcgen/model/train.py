"""The training loop on every rank: DeepSpeed (ZeRO stage from config), seeds, early stopping, checkpoints.

One call of :func:`run_training` is one rank. It joins the process group from the environment (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``/``PORT``; set by :mod:`hpcgen.model.distributed` or the caller) with gloo on
CPU and nccl on GPUs, resumes from the newest *verified* checkpoint in ``work_dir/checkpoints`` if any,
and checkpoints every ``checkpoint_every`` epochs on all ranks (DeepSpeed writes each rank's ZeRO
partition). Training checkpoints never leave ``work_dir``: each tag's files are checksummed after saving
and verified before loading, and the registry receives safetensors weights only.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hpcgen.fsutil import atomic_write_text, sha256_file
from hpcgen.model.data import epoch_batches, load_arrays, rank_shard

# DeepSpeed JIT-builds a small op on first use; cache it beside the source tree (the Makefile sets the same)
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[2] / ".cache" / "torch_extensions"))
os.environ.setdefault("DS_BUILD_OPS", "0")

CKPT_CHECKSUMS = "checksums.json"


@dataclass
class TrainSpec:
    """Everything one rank needs (picklable: submitit ships it to the job).

    Attributes
    ----------
    model_name : "dose-mlp", "genotype-net" or "genotype-mlp"
    hparams : keyword arguments of the network
    arrays : .npz with x_train, y_train, x_val, y_val (standardized float32)
    work_dir : checkpoints, history.json, model.safetensors
    seed, epochs, batch_size, learning_rate, weight_decay, zero_stage, patience, checkpoint_every
    loss : "huber" (robust to the heavy-tailed residuals of doses; the default) or "mse"
    device : "cpu", "cuda", or "auto" (cuda when this rank sees a GPU; decided on the rank, not the login node)
    """

    model_name: str
    hparams: dict
    arrays: str
    work_dir: str
    seed: int = 0
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    zero_stage: int = 1
    patience: int = 20
    checkpoint_every: int = 5
    keep_checkpoints: int = 2
    loss: str = "huber"
    huber_delta: float = 0.5
    device: str = "auto"
    extra: dict = field(default_factory=dict)


def deepspeed_config(spec: TrainSpec, world: int) -> dict:
    """The DeepSpeed config: torch Adam (no fused-op build), ZeRO stage from the spec, bf16 on GPUs."""
    cfg = {
        "train_micro_batch_size_per_gpu": spec.batch_size,
        "train_batch_size": spec.batch_size * world,
        "gradient_accumulation_steps": 1,
        "optimizer": {"type": "AdamW", "params": {"lr": spec.learning_rate, "weight_decay": spec.weight_decay,
                                                  "torch_adam": True}},
        "zero_optimization": {"stage": spec.zero_stage},
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if spec.device == "cuda":
        cfg["bf16"] = {"enabled": True}
    return cfg


def _env_single_process() -> dict[str, str | None]:
    """Give a lone process a world of one (free port); return the previous values to restore."""
    import socket

    keys = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "GLOO_SOCKET_IFNAME")
    old = {k: os.environ.get(k) for k in keys}
    if "RANK" not in os.environ:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0",
                          GLOO_SOCKET_IFNAME=os.environ.get("GLOO_SOCKET_IFNAME", "lo"))
    return old


def _restore_env(old: dict[str, str | None]) -> None:
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def checkpoint_tags(ckpt_dir: Path) -> list[str]:
    """Saved tags, oldest first."""
    if not ckpt_dir.is_dir():
        return []
    return sorted(p.name for p in ckpt_dir.iterdir() if p.is_dir() and p.name.startswith("epoch"))


def write_checksums(tag_dir: Path) -> None:
    """sha256 of every file of a checkpoint tag, written last (a tag without it is incomplete)."""
    sums = {str(p.relative_to(tag_dir)): sha256_file(p) for p in sorted(tag_dir.rglob("*"))
            if p.is_file() and p.name != CKPT_CHECKSUMS}
    atomic_write_text(tag_dir / CKPT_CHECKSUMS, json.dumps(sums, indent=1, sort_keys=True) + "\n", mode=0o600)


def verify_checkpoint(tag_dir: Path) -> str | None:
    """None if every file matches its checksum; else what is wrong (the tag must not be loaded)."""
    sums_path = tag_dir / CKPT_CHECKSUMS
    if not sums_path.is_file():
        return "no checksums (incomplete save)"
    sums = json.loads(sums_path.read_text())
    for rel, digest in sums.items():
        p = tag_dir / rel
        if not p.is_file():
            return f"missing {rel}"
        if sha256_file(p) != digest:
            return f"checksum mismatch in {rel}"
    return None


def latest_valid_checkpoint(ckpt_dir: Path, log) -> str | None:
    """The newest tag whose checksums verify; corrupted tags are reported and skipped, never loaded."""
    for tag in reversed(checkpoint_tags(ckpt_dir)):
        problem = verify_checkpoint(ckpt_dir / tag)
        if problem is None:
            return tag
        log(f"checkpoint {tag} rejected: {problem}")
    return None


def run_training(spec: TrainSpec) -> dict:
    """Train on this rank; return the history and figures (identical on every rank).

    Returns
    -------
    dict with ``history`` (per-epoch train_loss, val_loss, val_mae_mg_week, step, resumed_from), ``best_epoch``,
    ``best_val_loss``, ``world_size``, ``rank``, ``resumed_from`` (epoch or None), ``samples_per_s``,
    ``train_seconds``.
    """
    import torch

    old_env = _env_single_process()
    try:
        return _train(spec, torch)
    finally:
        _restore_env(old_env)


def _train(spec: TrainSpec, torch) -> dict:
    import deepspeed
    import torch.distributed as dist

    from hpcgen.model.networks import build_model

    if spec.device == "auto":
        spec = TrainSpec(**{**asdict(spec), "device": "cuda" if torch.cuda.is_available() else "cpu"})
    if spec.device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    backend = "nccl" if spec.device == "cuda" else "gloo"
    if not dist.is_initialized():
        deepspeed.init_distributed(dist_backend=backend, verbose=False)
    rank, world = dist.get_rank(), dist.get_world_size()
    if spec.device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # ranks on one node share its cores: one intra-op pool per rank, not one per core per rank
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        torch.set_num_threads(max(1, (len(os.sched_getaffinity(0)) or 1) // max(1, per_node)))
    work = Path(spec.work_dir)
    ckpt_dir = work / "checkpoints"
    work.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        if rank == 0:
            print(f"[train rank0/{world}] {msg}", flush=True)

    data = load_arrays(spec.arrays)
    x_train, y_train = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    x_val, y_val = torch.from_numpy(data["x_val"]), torch.from_numpy(data["y_val"])
    torch.manual_seed(spec.seed)
    np.random.seed(spec.seed)
    model = build_model(spec.model_name, x_train.shape[1], **spec.hparams)
    init = spec.extra.get("linear_init")
    if init is not None and hasattr(model, "linear"):
        # warm start: the linear path begins at the least-squares fit (the IWPC model form refit)
        with torch.no_grad():
            model.linear.weight.copy_(torch.tensor(init[:-1], dtype=torch.float32).view(1, -1))
            model.linear.bias.fill_(float(init[-1]))
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=model.parameters(),
                                           config=deepspeed_config(spec, world))
    state = {"epoch": -1, "history": [], "best_val_loss": math.inf, "best_epoch": -1, "bad_epochs": 0}
    resumed_from = None
    tag = None
    if rank == 0:
        tag = latest_valid_checkpoint(ckpt_dir, log)
    tags = [tag]
    dist.broadcast_object_list(tags, src=0)
    tag = tags[0]
    if tag is not None:
        _, client = engine.load_checkpoint(str(ckpt_dir), tag=tag)
        state.update({k: client[k] for k in state})
        resumed_from = state["epoch"]
        log(f"resumed from checkpoint {tag} (epoch {resumed_from}, step {engine.global_steps})")

    # a bf16 engine (GPUs) holds bf16 weights: inputs follow the weights' dtype
    dtype = next(engine.module.parameters()).dtype
    x_train, x_val = x_train.to(dtype), x_val.to(dtype)
    shard = rank_shard(len(x_train), rank, world)
    mse = torch.nn.HuberLoss(delta=spec.huber_delta) if spec.loss == "huber" else torch.nn.MSELoss()
    if tag is None and init is not None:
        # the warm start is itself a candidate: training must beat it on validation to replace it
        engine.eval()
        with torch.no_grad():
            state["best_val_loss"] = float(mse(engine(x_val.to(engine.device)).float().cpu(), y_val))
        if rank == 0:
            _save_weights(engine.module, work / "best.safetensors")
    t0, n_samples = time.perf_counter(), 0
    for epoch in range(state["epoch"] + 1, spec.epochs):
        # dropout draws from torch's global generator: seed it per (seed, epoch, rank) so a resumed run
        # draws exactly what the uninterrupted run would have
        torch.manual_seed(spec.seed * 1_000_003 + epoch * 1009 + rank)
        engine.train()
        total, count = 0.0, 0
        for idx in epoch_batches(shard, spec.batch_size, spec.seed, epoch, rank):
            xb, yb = x_train[idx].to(engine.device), y_train[idx].to(engine.device)
            loss = mse(engine(xb).float(), yb)
            engine.backward(loss)
            engine.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        n_samples += count
        # on the engine's device: nccl (GPUs) reduces CUDA tensors only, gloo (CPU) CPU ones
        stats = torch.tensor([total, count], dtype=torch.float64, device=engine.device)
        dist.all_reduce(stats)
        stats = stats.cpu()
        engine.eval()
        with torch.no_grad():
            pv = engine(x_val.to(engine.device)).float().cpu()
        val_loss = float(mse(pv, y_val))
        entry = {"epoch": epoch, "step": int(engine.global_steps), "train_loss": float(stats[0] / stats[1]),
                 "val_loss": val_loss, "resumed_from": resumed_from}
        if "y_scale" in spec.extra:  # validation MAE in mg/week: back from standardized sqrt dose
            mean, std = spec.extra["y_scale"]
            dose = lambda t: torch.clamp(t * std + mean, min=0) ** 2  # noqa: E731
            entry["val_mae_mg_week"] = float(torch.mean(torch.abs(dose(pv) - dose(y_val))))
        state["history"].append(entry)
        state["epoch"] = epoch
        improved = val_loss < state["best_val_loss"] - 1e-9
        if improved:
            state["best_val_loss"], state["best_epoch"], state["bad_epochs"] = val_loss, epoch, 0
            if rank == 0:
                _save_weights(engine.module, work / "best.safetensors")
        else:
            state["bad_epochs"] += 1
        stop = state["bad_epochs"] >= spec.patience or epoch == spec.epochs - 1
        if rank == 0:
            atomic_write_text(work / "history.json", json.dumps(state["history"], indent=1) + "\n")
        if (epoch + 1) % spec.checkpoint_every == 0 or stop:
            _checkpoint(engine, ckpt_dir, epoch, state, spec.keep_checkpoints, rank, dist)
        if stop:
            break
    elapsed = time.perf_counter() - t0
    rate = torch.tensor([n_samples / max(elapsed, 1e-9)], dtype=torch.float64, device=engine.device)
    dist.all_reduce(rate)
    rate = rate.cpu()
    dist.barrier()
    if rank == 0 and (work / "best.safetensors").is_file():
        shutil.copyfile(work / "best.safetensors", work / "model.safetensors")
    dist.barrier()
    result = {"history": state["history"], "best_epoch": state["best_epoch"], "best_val_loss": state["best_val_loss"],
              "world_size": world, "rank": rank, "resumed_from": resumed_from, "samples_per_s": float(rate[0]),
              "train_seconds": elapsed, "spec": asdict(spec)}
    if rank == 0:
        atomic_write_text(work / "train_result.json", json.dumps(result, indent=1) + "\n")
    del engine
    # deepspeed.comm (not torch.distributed) so DeepSpeed drops its cached groups and a later call can re-init
    deepspeed.comm.destroy_process_group()
    return result


def _save_weights(module, path: Path) -> None:
    from safetensors.torch import save_file

    from hpcgen.fsutil import atomic_path

    tensors = {k: v.detach().float().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path, mode=0o600) as tmp:
        save_file(tensors, str(tmp))


def _checkpoint(engine, ckpt_dir: Path, epoch: int, state: dict, keep: int, rank: int, dist) -> None:
    """Save on all ranks, then rank 0 checksums the tag and prunes old ones."""
    tag = f"epoch{epoch:05d}"
    engine.save_checkpoint(str(ckpt_dir), tag=tag, client_state=dict(state))
    dist.barrier()
    if rank == 0:
        write_checksums(ckpt_dir / tag)
        for old in checkpoint_tags(ckpt_dir)[:-keep]:
            shutil.rmtree(ckpt_dir / old, ignore_errors=True)
    dist.barrier()
