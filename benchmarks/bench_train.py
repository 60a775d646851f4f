#!/usr/bin/env python
"""Training throughput on CPU: DeepSpeed with 1 and 2 ranks (gloo) vs a plain torch loop, scaling efficiency.

    .venv/bin/python benchmarks/bench_train.py [--model genotype-net|dose-mlp] [--epochs 3]

Same synthetic data, same network, same micro-batch for every run. Samples/s counts training samples
processed per second summed over ranks (set-up excluded); the peer is a single-process torch loop
(AdamW, no DeepSpeed) over the same batches. Scaling efficiency = rate(2 ranks) / (2 x rate(1 rank)).
Peak RSS is the largest resident set of this process or its children (ranks run as submitit tasks).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(REPO / ".cache" / "torch_extensions"))

SIZES = {"genotype-net": ({"patch": 16, "d_model": 128, "n_layers": 2, "n_heads": 4}, 1024),
         "dose-mlp": ({"hidden": (256, 256), "dropout": 0.1}, 24)}


def plain_torch(model_name: str, hparams: dict, x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> float:
    import torch

    from hpcgen.model.data import epoch_batches
    from hpcgen.model.networks import build_model

    torch.manual_seed(0)
    net = build_model(model_name, x.shape[1], **hparams)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.HuberLoss(delta=0.5)
    n, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        for idx in epoch_batches(np.arange(len(x)), batch, 0, epoch, 0):
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            n += len(idx)
    return n / (time.perf_counter() - t0)


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def measure(which: str, args) -> float:
    """One measurement (run in its own process so no run inherits another's threads or allocator state)."""
    from hpcgen.model.data import save_arrays
    from hpcgen.model.distributed import launch
    from hpcgen.model.train import TrainSpec

    hparams, width = SIZES[args.model]
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 3, size=(args.rows, width)) if args.model != "dose-mlp" else rng.normal(size=(args.rows, width)))
    x = x.astype(np.float32)
    y = rng.normal(size=args.rows).astype(np.float32)
    if which == "peer":
        return plain_torch(args.model, hparams, x, y, args.batch, args.epochs)
    ranks = int(which[-1])
    with tempfile.TemporaryDirectory(prefix="hpcgen-bench-") as tmp:
        arrays = str(save_arrays(Path(tmp) / "a.npz", x_train=x, y_train=y, x_val=x[:64], y_val=y[:64]))
        spec = TrainSpec(args.model, hparams, arrays, str(Path(tmp) / "w"), epochs=args.epochs, batch_size=args.batch,
                         patience=10**6, checkpoint_every=10**6, zero_stage=args.zero_stage, device="cpu")
        return launch(spec, ranks=ranks, profile="local", run_dir=Path(tmp) / "run", timeout_min=30)["samples_per_s"]


def main(argv=None) -> int:
    import json
    import subprocess

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="genotype-net", choices=sorted(SIZES))
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--zero-stage", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2, help="measurements of each run (the best is kept)")
    ap.add_argument("--only", choices=["peer", "ds1", "ds2"], help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args(argv)
    if args.only:
        print("RESULT " + json.dumps({"rate": measure(args.only, args), "rss_mb": peak_rss_mb()}))
        return 0

    from hpcgen.model.networks import build_model, count_parameters

    hparams, width = SIZES[args.model]
    n_params = count_parameters(build_model(args.model, width, **hparams))
    print(f"{args.model}: {n_params:,} parameters, {args.rows} rows x {width} inputs, micro-batch {args.batch}, "
          f"{args.epochs} epochs; load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    names = {"peer": "plain torch, 1 process (peer)", "ds1": f"DeepSpeed ZeRO-{args.zero_stage}, 1 rank",
             "ds2": f"DeepSpeed ZeRO-{args.zero_stage}, 2 ranks"}
    runs: dict[str, list[float]] = {k: [] for k in names}
    rss = 0.0
    base = [sys.executable, __file__, "--model", args.model, "--rows", str(args.rows), "--batch", str(args.batch),
            "--epochs", str(args.epochs), "--zero-stage", str(args.zero_stage)]
    for _ in range(args.repeats):
        for key in names:  # interleaved, so load changes hit every run alike
            out = subprocess.run(base + ["--only", key], capture_output=True, text=True, check=True).stdout
            res = json.loads(out.split("RESULT ", 1)[1])
            runs[key].append(res["rate"])
            rss = max(rss, res["rss_mb"])
    print(f"\n{'run':<34}{'samples/s (best)':>18}   all")
    best = {k: max(v) for k, v in runs.items()}
    for k, v in runs.items():
        print(f"{names[k]:<34}{best[k]:>18.1f}   " + ", ".join(f"{r:.0f}" for r in v))
    print(f"\nDeepSpeed 1 rank / plain torch: {best['ds1'] / best['peer']:.2f}x; 2 ranks / 1 rank: "
          f"{best['ds2'] / best['ds1']:.2f}x; scaling efficiency {100 * best['ds2'] / (2 * best['ds1']):.0f}%; "
          f"peak RSS {rss:.0f} MB; load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
