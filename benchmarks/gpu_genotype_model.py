#!/usr/bin/env python
"""Genotype model on one GPU in bf16 with DeepSpeed ZeRO-2: throughput, achieved TFLOP/s, peak memory.

Run on the GPU machine (its own torch; deepspeed optional)::

    python benchmarks/gpu_genotype_model.py --params 2e9 --seconds 60

and on CPU as a smoke test::

    python benchmarks/gpu_genotype_model.py --device cpu --params 1e5 --seconds 3

The model is hpcgen's GenotypeTransformer (hpcgen/model/networks.py, loaded by file path so nothing
else of hpcgen is imported) sized to ``--params``; batches are synthetic dosage vectors (0/1/2) of
``tokens x patch`` variants. Achieved FLOP/s uses the usual estimate for a transformer's training step:
6 x N_params x tokens_per_step (forward 2 N per token, backward 4 N per token; attention's own
12 x layers x d_model x seq per token is reported separately and not counted in the headline figure).
Peak: H200 dense bf16 ~ 790 TFLOP/s (``--peak-tflops``). DeepSpeed is used when importable (ZeRO-2,
bf16, torch AdamW via ``"torch_adam": true`` so no CUDA op is built); otherwise plain torch AdamW
(fused on CUDA) with bf16 autocast, and the JSON says which. Results go to stdout and, when ``$OUT``
is set, to ``$OUT/gpu_genotype_model.json``. Exits within ``--seconds`` + warm-up + set-up (well under 5 min).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import socket
import sys
import time
from pathlib import Path

import torch

NETWORKS = Path(__file__).resolve().parents[1] / "hpcgen" / "model" / "networks.py"
# DeepSpeed's CPU path JIT-builds a small op: reuse the repository's cache (the GPU path builds nothing)
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "torch_extensions"))


def load_networks():
    spec = importlib.util.spec_from_file_location("hpcgen_networks", NETWORKS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", type=float, default=2e9, help="target parameter count (e.g. 2e9)")
    ap.add_argument("--seconds", type=float, default=60.0, help="timed training seconds (after warm-up)")
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=512, help="tokens (variant patches) per sample")
    ap.add_argument("--patch", type=int, default=32, help="variants per token")
    ap.add_argument("--micro-batch", type=int, default=0, help="samples per step (0: chosen from the size)")
    ap.add_argument("--zero-stage", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no-deepspeed", action="store_true", help="plain torch AdamW even if deepspeed imports")
    ap.add_argument("--checkpoint-activations", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=790.0, help="dense bf16 peak of the GPU")
    return ap.parse_args(argv)


def pick_micro_batch(params: float, device: str, d_model: int, n_layers: int, tokens: int) -> int:
    """Samples per step that leave the GPU well used but safe: ~16 bytes/param of model and optimizer state
    (bf16 weights + grads, fp32 master + Adam), then ~34 bytes x tokens x d_model x layers of bf16 activations
    per sample (no recomputation), using 60% of what is left of the card's memory."""
    if device == "cpu":
        return 4
    total_gb = torch.cuda.get_device_properties(0).total_memory / 1e9
    free_gb = max(total_gb * 0.9 - 16 * params / 1e9, 4.0)
    per_sample_gb = 34 * tokens * d_model * n_layers / 1e9
    mb = max(1, int(0.6 * free_gb / per_sample_gb))
    return int(min(128, 2 ** math.floor(math.log2(mb))))


def init_single_process(backend: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for k, v in dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0").items():
        os.environ.setdefault(k, v)


def build_engine(model, args, mb: int):
    """(step function, description) with DeepSpeed ZeRO when possible, plain torch otherwise."""
    use_cuda = args.device == "cuda"
    ds_error = None
    if not args.no_deepspeed:
        try:
            os.environ.setdefault("DS_BUILD_OPS", "0")
            import deepspeed

            init_single_process("nccl" if use_cuda else "gloo")
            deepspeed.init_distributed(dist_backend="nccl" if use_cuda else "gloo", verbose=False)
            params = {"lr": 1e-4, "weight_decay": 0.0, "torch_adam": True}  # torch's AdamW: no op to build
            cfg = {"train_micro_batch_size_per_gpu": mb, "gradient_accumulation_steps": 1,
                   "optimizer": {"type": "AdamW", "params": params},
                   "zero_optimization": {"stage": args.zero_stage, "overlap_comm": use_cuda,
                                         "reduce_bucket_size": 5e8, "allgather_bucket_size": 5e8},
                   "steps_per_print": 10**9, "wall_clock_breakdown": False}
            if use_cuda:
                cfg["bf16"] = {"enabled": True}
            engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config=cfg)

            dtype = torch.bfloat16 if use_cuda else torch.float32  # bf16 engine: inputs in the weights' dtype

            def step(x, y):
                loss = torch.nn.functional.mse_loss(engine(x.to(dtype)).float(), y)
                engine.backward(loss)
                engine.step()
                return loss

            return step, f"deepspeed {deepspeed.__version__} ZeRO-{args.zero_stage}" + (" bf16" if use_cuda else " fp32")
        except Exception as exc:  # noqa: BLE001 - fall back to plain torch and say why
            ds_error = f"{type(exc).__name__}: {exc}"[:300]
            print(f"deepspeed unavailable ({ds_error}); using plain torch AdamW", flush=True)
    model.to(args.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=use_cuda)

    def step(x, y):
        with torch.autocast(device_type=args.device, dtype=torch.bfloat16, enabled=use_cuda):
            loss = torch.nn.functional.mse_loss(model(x).float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    return step, "torch AdamW" + (" fused, bf16 autocast" if use_cuda else " fp32") + (f" (deepspeed failed: {ds_error})" if ds_error else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    torch.manual_seed(0)
    nets = load_networks()
    shape = nets.transformer_shape_for_params(args.params)
    n_variants = args.tokens * args.patch
    with torch.device(args.device):  # initialise on the GPU directly (minutes faster than on the CPU)
        model = nets.GenotypeTransformer(n_variants, patch=args.patch, d_model=shape["d_model"],
                                         n_layers=shape["n_layers"], n_heads=shape["n_heads"],
                                         checkpoint_activations=args.checkpoint_activations)
    n_params = nets.count_parameters(model)
    mb = args.micro_batch or pick_micro_batch(n_params, args.device, shape["d_model"], shape["n_layers"], args.tokens)
    print(f"model: d_model={shape['d_model']} layers={shape['n_layers']} heads={shape['n_heads']} params={n_params / 1e9:.3f} B; "
          f"{args.tokens} tokens x {args.patch} variants per sample; micro-batch {mb}", flush=True)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step, how = build_engine(model, args, mb)
    print(f"optimizer: {how}", flush=True)
    dev = torch.device(args.device)

    def make_batches(mb: int) -> list:
        gen = torch.Generator(device="cpu").manual_seed(1)
        return [(torch.randint(0, 3, (mb, n_variants), generator=gen).float().to(dev),
                 torch.randn(mb, generator=gen).to(dev)) for _ in range(4)]

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    while True:  # warm-up; halve the micro-batch if the activation estimate was too optimistic
        batches = make_batches(mb)
        try:
            for i in range(args.warmup_steps):
                step(*batches[i % 4])
            sync()
            break
        except torch.cuda.OutOfMemoryError:
            if mb == 1:
                raise
            del batches
            mb //= 2
            torch.cuda.empty_cache()
            print(f"out of memory in warm-up: micro-batch now {mb}", flush=True)
    steps, t0 = 0, time.perf_counter()
    while True:
        loss = step(*batches[steps % 4])
        steps += 1
        if steps % 5 == 0 or args.device == "cpu":
            sync()
            if time.perf_counter() - t0 >= args.seconds:
                break
    sync()
    elapsed = time.perf_counter() - t0
    tokens_per_step = mb * model.n_tokens
    flops_6nd = 6.0 * n_params * tokens_per_step * steps / elapsed
    attn = 12.0 * shape["n_layers"] * shape["d_model"] * model.n_tokens * tokens_per_step * steps / elapsed
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if args.device == "cuda" else None
    result = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "torch": torch.__version__, "optimizer": how, "params": n_params, "d_model": shape["d_model"],
        "n_layers": shape["n_layers"], "n_heads": shape["n_heads"], "tokens_per_sample": model.n_tokens,
        "variants_per_sample": n_variants, "micro_batch": mb, "steps": steps, "seconds": elapsed,
        "samples_per_s": mb * steps / elapsed, "tokens_per_s": tokens_per_step * steps / elapsed,
        "tflops_6nd": flops_6nd / 1e12, "tflops_attention_extra": attn / 1e12,
        "peak_tflops": args.peak_tflops, "mfu_6nd": flops_6nd / 1e12 / args.peak_tflops,
        "peak_memory_gib": peak_mem, "final_loss": float(loss.detach()), "wall_s_total": time.perf_counter() - t_start,
        "flop_formula": "6 x params x tokens_per_step / step_time (attention 12 x L x d x seq per token reported apart)",
    }
    print(f"samples/s {result['samples_per_s']:.1f}  tokens/s {result['tokens_per_s']:.0f}  "
          f"achieved {result['tflops_6nd']:.1f} TFLOP/s (6ND) = {100 * result['mfu_6nd']:.1f}% of {args.peak_tflops:g} "
          f"(+{result['tflops_attention_extra']:.1f} attention)  peak memory "
          f"{'n/a' if peak_mem is None else f'{peak_mem:.1f} GiB'}  steps {steps} in {elapsed:.1f} s", flush=True)
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "gpu_genotype_model.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    try:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - teardown must not change the exit code
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
