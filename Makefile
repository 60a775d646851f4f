# hpcgen: the two commands are `make demo` and `make test`; everything they need is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
HPCGEN  := $(VENV)/bin/hpcgen
STAMP   := $(VENV)/.hpcgen-installed
# DeepSpeed's JIT-built ops are cached here so only the first run pays for the build
export TORCH_EXTENSIONS_DIR ?= $(CURDIR)/.cache/torch_extensions
export DS_BUILD_OPS := 0
# hpcgen never phones home; make sure the libraries it uses do not either
export HF_HUB_OFFLINE := 1
export DO_NOT_TRACK := 1
export MPLBACKEND := Agg
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

# Debian's interpreter where there is one (built with PGO and LTO: imports and Python-level code ~10% faster
# than an unoptimized build such as pyenv's default, which may come first on PATH); any other with PYTHON=
PYTHON  ?= $(firstword $(wildcard /usr/bin/python3.11) python3.11)
PYTEST_ARGS ?=

.PHONY: help setup system-deps venv aot bytecode demo test test-fast cluster-up cluster-down bench schema clean

help:
	@echo "make demo         set up, then run the whole workflow on the bundled demo cohort (local, no Slurm)"
	@echo "make test         set up, start the dev Slurm cluster, run the test suite"
	@echo "make cluster-up   start the single-node dev Slurm cluster (root)"
	@echo "make cluster-down stop it"
	@echo "make bench        run the benchmarks against bcftools / plink2 / PharmCAT figures"

setup: system-deps venv aot bytecode

system-deps:
	@bash scripts/install-system-deps.sh

venv: $(STAMP)

# the QC counting kernels compiled ahead of time for this CPU (hpcgen/aot.py): a short hpcgen qc does not
# wait for numba; rebuilt when a kernel changes (without a current build the jitted kernels run)
AOT_STAMP := hpcgen/_aot/_hpcgen_qc_kernels.json
aot: $(AOT_STAMP)

$(AOT_STAMP): $(STAMP) $(wildcard kernels/*.py) hpcgen/aot.py
	$(PY) -m hpcgen.aot build

# hpcgen is installed editable, so pip never byte-compiles it, and where PYTHONDONTWRITEBYTECODE is set (CI
# images, some clusters) Python never writes the .pyc either: every command then compiles ~60 modules from
# source (~25 ms of a 0.4 s hpcgen qc). compileall writes the missing or stale ones; reruns cost ~0.1 s.
bytecode: $(STAMP)
	@PYTHONDONTWRITEBYTECODE= $(PY) -m compileall -q -j 0 hpcgen kernels

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel "setuptools>=69"
	# the CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	@touch $@

DEMO_KEY := demo-out/secrets/pseudonym.key

demo: setup
	@[ -f $(DEMO_KEY) ] || $(HPCGEN) keygen $(DEMO_KEY)
	HPCGEN_PSEUDONYM_KEY_FILE=$(CURDIR)/$(DEMO_KEY) $(HPCGEN) run --profile local

test: setup
	@if [ "$$(id -u)" = 0 ]; then bash slurm/devcluster/start.sh; else echo "not root: dev Slurm cluster not started"; fi
	$(PY) -m pytest $(PYTEST_ARGS)

cluster-up: system-deps
	bash slurm/devcluster/start.sh

cluster-down:
	bash slurm/devcluster/stop.sh

bench: setup
	$(PY) benchmarks/run_all.py $(BENCH_ARGS)

schema: venv
	$(HPCGEN) config schema > config/schema.json
	$(PY) -c "from hpcgen.config import defaults_yaml; print(defaults_yaml(), end='')" > config/config.yaml

clean:
	rm -rf demo-out .pytest_cache .snakemake benchmarks/out hpcgen/_aot
