#!/usr/bin/env bash
# One GPU check of hpcgen's training code, sized for a single device call (< 7 min wall in all).
#
# On the GPU machine (run from the repository root, with the wheels of /.whl/ carried along):
#     bash scripts/gpu_check.sh
# Locally, as a smoke test of this script and of the command lines (no GPU, no pip, tiny sizes):
#     GPU_CHECK_CPU=1 bash scripts/gpu_check.sh
#
# Steps (each one's failure is reported as "STEP <name> FAILED rc=N" and the later steps still run;
# a step is skipped when too little of the time budget GPU_CHECK_BUDGET_S, default 440 s, is left):
#   env        nvidia-smi, python, torch and its view of the GPU
#   wheels     pip install of .whl/*.whl into /tmp/site (deepspeed, hjson, pydantic, ..., submitit)
#   imports    deepspeed, pydantic, submitit, hpcgen.cli import
#   bench_ds   benchmarks/gpu_genotype_model.py --params 1e9 --seconds 45 with DeepSpeed ZeRO-2 bf16
#   train_cuda hpcgen train --model dose-mlp on a synthetic IWPC-format cohort, model.device: cuda
#   train_cuda_shim   only if train_cuda failed: the same with CPU-tensor all_reduce routed through CUDA
#              (train.py all-reduced CPU tensors, which an nccl-only process group refuses; fixed on 4 Dec,
#              the step stays as a fallback should another reduction on CPU tensors appear)
#   train_cpu  the same training on the CPU (CUDA_VISIBLE_DEVICES= , model.device: cpu)
#   bench_nods the benchmark with plain torch AdamW (--no-deepspeed --seconds 20)
#   train_cpucfg_gpu  informational: model.device: cpu with the GPU visible (does DeepSpeed honour it?)
#   summary    $OUT/summary.json and a short table (validation metrics and wall times of both devices)
# Files under $OUT (5 at most): gpu_check.log, nvidia_smi.txt, gpu_genotype_model.json,
# gpu_genotype_model_nods.json, summary.json.
set -u
set -o pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
CPU_MODE=${GPU_CHECK_CPU:-0}
if [ -z "${OUT:-}" ]; then
  OUT=$REPO/benchmarks/out/gpu_check  # ignored folder, for local runs
fi
export OUT
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hpcgen_gpu_check.XXXXXX")
BUDGET=${GPU_CHECK_BUDGET_S:-440}
T0=$(date +%s)

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 DS_BUILD_OPS=0 TORCH_EXTENSIONS_DIR=/tmp/ext
export MPLBACKEND=Agg TOKENIZERS_PARALLELISM=false

if [ "$CPU_MODE" = 1 ]; then
  PY=${GPU_CHECK_PYTHON:-$REPO/.venv/bin/python}
  export PYTHONPATH=$REPO
  TRAIN_ROWS=600; TRAIN_EPOCHS=6; TRAIN_PATIENCE=4; DEV_A=${GPU_CHECK_TRAIN_DEVICE:-cpu}
  BENCH_DS=(--device cpu --params 1e5 --seconds 3)
  BENCH_NODS=(--device cpu --params 1e5 --seconds 2 --no-deepspeed)
else
  PY=python3
  export PYTHONPATH=/tmp/site:$REPO
  TRAIN_ROWS=5000; TRAIN_EPOCHS=40; TRAIN_PATIENCE=15; DEV_A=cuda
  BENCH_DS=(--params 1e9 --seconds 45)
  BENCH_NODS=(--params 1e9 --seconds 20 --no-deepspeed)
fi

left() { echo $((BUDGET - ($(date +%s) - T0))); }

# step NAME MAX_S MIN_S command...: run with a timeout of min(MAX_S, time left - 10); skip below MIN_S left
step() {
  local name=$1 max=$2 min=$3 l t s e rc
  shift 3
  l=$(left)
  if [ "$l" -lt "$min" ]; then
    echo "STEP $name SKIPPED: ${l}s of the budget left, needs ${min}s"
    printf '%s\t%s\t%s\n' "$name" skipped 0 >>"$WORK/steps.tsv"
    return 99
  fi
  t=$((l - 10 < max ? l - 10 : max))
  echo
  echo "=== STEP $name (timeout ${t}s, $(date +%T), ${l}s of the budget left)"
  s=$(date +%s.%N)
  timeout -k 10 "$t" "$@"
  rc=$?
  e=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
  if [ "$rc" -eq 0 ]; then
    echo "=== STEP $name ok in ${e}s"
  else
    [ "$rc" -eq 124 ] && echo "STEP $name TIMED OUT after ${t}s"
    echo "STEP $name FAILED rc=$rc (after ${e}s)"
  fi
  printf '%s\t%s\t%s\n' "$name" "$rc" "$e" >>"$WORK/steps.tsv"
  return "$rc"
}

write_helpers() {
  # hpcgen's own CLI, plus: where DeepSpeed put the model (one JSON line per initialize into
  # $GPU_CHECK_ENGINE_FILE), tracebacks of internal errors, and with GPU_CHECK_SHIM=1 CPU-tensor
  # all_reduce through CUDA when the process group is nccl-only
  cat >"$WORK/launch.py" <<'EOF'
import json
import logging
import os
import sys

import deepspeed
import torch.distributed as dist

_initialize = deepspeed.initialize


def initialize(*args, **kwargs):
    out = _initialize(*args, **kwargs)
    engine = out[0]
    p = next(engine.module.parameters())
    rec = {"tag": os.environ.get("GPU_CHECK_TAG", ""), "engine_device": str(engine.device), "param_dtype": str(p.dtype),
           "param_device": str(p.device), "accelerator": deepspeed.get_accelerator().device_name(),
           "backend": dist.get_backend() if dist.is_initialized() else None, "shim": os.environ.get("GPU_CHECK_SHIM") == "1"}
    print("[gpu_check] " + json.dumps(rec), flush=True)
    if os.environ.get("GPU_CHECK_ENGINE_FILE"):
        with open(os.environ["GPU_CHECK_ENGINE_FILE"], "a") as fh:
            fh.write(json.dumps(rec) + "\n")
    return out


deepspeed.initialize = initialize

if os.environ.get("GPU_CHECK_SHIM") == "1":
    _all_reduce = dist.all_reduce
    _said = []

    def all_reduce(tensor, *args, **kwargs):
        if tensor.device.type == "cpu" and dist.get_backend() == "nccl":
            if not _said:
                print("[gpu_check] shim: all_reduce of a CPU tensor routed through CUDA", flush=True)
                _said.append(1)
            g = tensor.cuda()
            work = _all_reduce(g, *args, **kwargs)
            if work is not None:
                work.wait()
            tensor.copy_(g.cpu())
            return None
        return _all_reduce(tensor, *args, **kwargs)

    dist.all_reduce = all_reduce

logging.getLogger("hpcgen").setLevel(logging.DEBUG)  # hpcgen logs an internal error's trace at debug level
sys.argv = ["hpcgen", *sys.argv[1:]]
from hpcgen.cli import entry  # noqa: E402

entry()
EOF

  cat >"$WORK/summary.py" <<'EOF'
import json
import os
import sys
from pathlib import Path

work, out = Path(sys.argv[1]), Path(sys.argv[2])
steps = {}
for line in (work / "steps.tsv").read_text().splitlines() if (work / "steps.tsv").is_file() else []:
    name, rc, secs = line.split("\t")
    steps[name] = {"rc": rc, "wall_s": float(secs)}
engines = [json.loads(x) for x in (work / "engines.jsonl").read_text().splitlines()] if (work / "engines.jsonl").is_file() else []


def train_run(tag):
    p = work / f"train_{tag}.json"
    if not p.is_file():
        return None
    r = json.loads(p.read_text())
    hist = json.loads((Path(r["version_dir"]) / "history.json").read_text())
    m = r["metrics"]
    best = min(hist, key=lambda h: h["val_loss"]) if hist else {}
    best_ep = m["best_epoch"]
    at_best = next((h for h in hist if h["epoch"] == best_ep), None)  # -1: the warm start stayed best
    tr = sorted((work / f"reg_{tag}").glob("*/.runs/*/train_result.json"))
    train_s = json.loads(tr[-1].read_text())["train_seconds"] if tr else None
    return {"test": m["test"]["overall"], "test_iwpc": m["test_iwpc"]["overall"], "best_epoch": best_ep,
            "epochs_run": len(hist), "samples_per_s": m["samples_per_s"], "train_loop_s": train_s,
            "best_val_loss_trained": best.get("val_loss"), "val_mae_at_best_epoch": (at_best or {}).get("val_mae_mg_week"),
            "val_mae_last_epoch": hist[-1].get("val_mae_mg_week") if hist else None,
            "val_loss_last_epoch": hist[-1].get("val_loss") if hist else None,
            "engine": [e for e in engines if e.get("tag") == tag], "wall_s": steps.get(f"train_{tag}", {}).get("wall_s"),
            "summary": r["summary"], "history": hist}


def bench(name):
    p = out / name
    return json.loads(p.read_text()) if p.is_file() else None


res = {"steps": steps, "cpu_mode": os.environ.get("GPU_CHECK_CPU") == "1",
       "train": {t: train_run(t) for t in ("cuda", "cuda_shim", "cpu", "cpucfg_gpu")},
       "bench_deepspeed": bench("gpu_genotype_model.json"), "bench_no_deepspeed": bench("gpu_genotype_model_nods.json")}
gpu = res["train"]["cuda"] or res["train"]["cuda_shim"]
cpu = res["train"]["cpu"]
if gpu and cpu:
    res["cuda_vs_cpu"] = {
        "test_mae_diff": gpu["test"]["mae"] - cpu["test"]["mae"],
        "val_mae_last_diff": (gpu["val_mae_last_epoch"] or 0) - (cpu["val_mae_last_epoch"] or 0),
        "identical_test_mae": gpu["test"]["mae"] == cpu["test"]["mae"],
        "close": abs(gpu["test"]["mae"] - cpu["test"]["mae"]) < 0.1 * cpu["test"]["mae"]}
(out / "summary.json").write_text(json.dumps(res, indent=1) + "\n")

def fmt(v, spec):
    return "-" if v is None else format(v, spec)


print("\n================ GPU CHECK SUMMARY ================")
print("steps: " + "  ".join(f"{k}={v['rc']}({v['wall_s']:.0f}s)" for k, v in steps.items()))
for tag, r in res["train"].items():
    if r is None:
        continue
    eng = r["engine"][0] if r["engine"] else {}
    print(f"train {tag:10s} wall {fmt(r['wall_s'], '.1f')}s (loop {fmt(r['train_loop_s'], '.1f')}s)  engine "
          f"{eng.get('engine_device')} {eng.get('param_dtype')} {eng.get('backend')}  epochs {r['epochs_run']} "
          f"best_epoch {r['best_epoch']}  val MAE best/last {fmt(r['val_mae_at_best_epoch'], '.3f')}/"
          f"{fmt(r['val_mae_last_epoch'], '.3f')}  val loss last {fmt(r['val_loss_last_epoch'], '.4f')}  test MAE "
          f"{r['test']['mae']:.3f} w20 {100 * r['test']['within_20pct']:.1f}% (IWPC {r['test_iwpc']['mae']:.3f})  "
          f"{r['samples_per_s']:.0f} samples/s")
if "cuda_vs_cpu" in res:
    c = res["cuda_vs_cpu"]
    print(f"cuda - cpu: test MAE {c['test_mae_diff']:+.4f}, last val MAE {c['val_mae_last_diff']:+.4f}; "
          f"identical={c['identical_test_mae']} close={c['close']}")
for key in ("bench_deepspeed", "bench_no_deepspeed"):
    b = res[key]
    if b:
        pm = b["peak_memory_gib"]
        print(f"{key}: {b['optimizer']} | {b['params'] / 1e9:.3f} B params mb {b['micro_batch']} steps {b['steps']} "
              f"{b['samples_per_s']:.1f} samples/s {b['tflops_6nd']:.1f} TFLOP/s (6ND, MFU {100 * b['mfu_6nd']:.1f}%) "
              f"peak {'n/a' if pm is None else f'{pm:.1f} GiB'} total {b['wall_s_total']:.0f}s")
    else:
        print(f"{key}: no result")
b = res["bench_deepspeed"]
if b and not b["optimizer"].startswith("deepspeed"):
    print("WARNING: the DeepSpeed benchmark fell back to plain torch: " + b["optimizer"])
EOF
}

main() {
  echo "hpcgen GPU check: $(date -u +%FT%TZ), repo $REPO, commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')," \
       "CPU mode $CPU_MODE, budget ${BUDGET}s, OUT=$OUT, work $WORK"
  write_helpers

  # --- env
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi 2>&1 | tee "$OUT/nvidia_smi.txt"
    nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.sm,clocks.max.sm,power.draw,temperature.gpu \
      --format=csv 2>&1 | tee -a "$OUT/nvidia_smi.txt"
  else
    echo "nvidia-smi: not found"
  fi
  step env 60 5 "$PY" -c "import sys, torch; print(sys.version.split()[0], sys.executable); print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
  echo "g++: $(command -v g++ || echo none)  ninja: $(command -v ninja || echo none)  nproc: $(nproc)"

  # --- wheels (GPU machine only: deepspeed and hpcgen's config/dispatch dependencies)
  if [ "$CPU_MODE" != 1 ]; then
    ls -la .whl/ 2>&1
    step wheels 120 20 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
  fi
  step imports 90 10 "$PY" -c "import time; t=time.time(); import deepspeed, pydantic, submitit, hjson; import hpcgen.cli, hpcgen.model.workflow; print('deepspeed', deepspeed.__version__, 'accelerator', deepspeed.get_accelerator().device_name(), 'pydantic', pydantic.VERSION, 'submitit', submitit.__version__, f'imports {time.time()-t:.1f}s')"

  # --- the genotype transformer benchmark with DeepSpeed (the important one)
  step bench_ds 200 60 "$PY" benchmarks/gpu_genotype_model.py "${BENCH_DS[@]}"

  # --- hpcgen train on both devices
  "$PY" -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from model_helpers import random_cohort; random_cohort(Path(sys.argv[1]), int(sys.argv[2]), seed=11)" \
    "$WORK/cohort.tsv" "$TRAIN_ROWS" || echo "STEP cohort FAILED rc=$?"
  for dev in cuda cpu; do
    printf 'model:\n  epochs: %s\n  patience: %s\n  batch_size: 64\n  checkpoint_every: 10\n  device: %s\n' \
      "$TRAIN_EPOCHS" "$TRAIN_PATIENCE" "$dev" >"$WORK/train_$dev.yaml"
  done
  cp "$WORK/train_$DEV_A.yaml" "$WORK/train_a.yaml"
  # train_cmd TAG CONFIG [VAR=value...]: the hpcgen train command line in the array CMD (timeout runs no shell function)
  train_cmd() {
    local tag=$1 cfg=$2
    shift 2
    CMD=(env GPU_CHECK_TAG="$tag" GPU_CHECK_ENGINE_FILE="$WORK/engines.jsonl" "$@" "$PY" "$WORK/launch.py" train
         --model dose-mlp --data "$WORK/cohort.tsv" --profile local --out "$WORK/reg_$tag" --config "$cfg"
         --json "$WORK/train_$tag.json")
  }
  train_cmd cuda "$WORK/train_a.yaml"
  if ! step train_cuda 150 40 "${CMD[@]}" || [ "${GPU_CHECK_FORCE_SHIM:-0}" = 1 ]; then
    # (GPU_CHECK_FORCE_SHIM=1: a local test of the shim's code path)
    train_cmd cuda_shim "$WORK/train_a.yaml" GPU_CHECK_SHIM=1
    step train_cuda_shim 150 40 "${CMD[@]}"
  fi
  train_cmd cpu "$WORK/train_cpu.yaml" CUDA_VISIBLE_DEVICES=
  step train_cpu 150 40 "${CMD[@]}"

  # --- the benchmark without DeepSpeed (plain torch AdamW, bf16 autocast), shorter
  step bench_nods 120 50 env OUT="$WORK/nods" "$PY" benchmarks/gpu_genotype_model.py "${BENCH_NODS[@]}"
  [ -f "$WORK/nods/gpu_genotype_model.json" ] && cp "$WORK/nods/gpu_genotype_model.json" "$OUT/gpu_genotype_model_nods.json"

  # --- informational: model.device cpu while the GPU is visible
  if [ "$CPU_MODE" != 1 ]; then
    train_cmd cpucfg_gpu "$WORK/train_cpu.yaml"
    step train_cpucfg_gpu 90 40 "${CMD[@]}"
  fi

  step summary 30 1 env GPU_CHECK_CPU="$CPU_MODE" "$PY" "$WORK/summary.py" "$WORK" "$OUT"
  echo "failed steps: $(awk -F'\t' '$2 != 0 && $2 != "skipped" {printf "%s(rc=%s) ", $1, $2}' "$WORK/steps.tsv")"
  echo "skipped steps: $(awk -F'\t' '$2 == "skipped" {printf "%s ", $1}' "$WORK/steps.tsv")"
  echo "total wall $(($(date +%s) - T0))s; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
}

main 2>&1 | tee "$OUT/gpu_check.log"
