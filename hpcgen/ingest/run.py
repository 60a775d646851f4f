"""Ingest orchestration: check the input, plan shards, run them in parallel, resume, publish the manifest.

Resuming: ``STORE/.work/plan.json`` fingerprints the run (input checksum, pseudonyms, windows, store
settings); each finished shard leaves ``STORE/.work/done/<shard>.json`` with its SHA-256. A rerun with the
same fingerprint keeps every shard whose file still has that checksum and redoes the rest; any other
rerun starts clean. ``manifest.json`` is removed first and written last, so a store never reads as
complete while it is being (re)built.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Iterator, Sequence

from hpcgen import __version__
from hpcgen.config import HpcgenConfig, load_config
from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_write_text, sha256_file
from hpcgen.ingest.build import detect_build
from hpcgen.ingest.plan import plan_windows
from hpcgen.ingest.shard import ShardTask, ingest_shard
from hpcgen.ingest.vcfinput import bgzip_plain, ensure_index, read_input
from hpcgen.progress import progress
from hpcgen.pseudonym import pseudonymize, write_mapping
from hpcgen.store import schema as S
from hpcgen.store.manifest import build_manifest, write_manifest
from hpcgen.store.schema import ShardInfo

log = logging.getLogger(__name__)


def _config(config: HpcgenConfig | str | os.PathLike | None) -> HpcgenConfig:
    return config if isinstance(config, HpcgenConfig) else load_config(config)


def _check_build(info, max_positions: dict[str, int], wanted: str) -> str:
    detected, evidence, record = detect_build(info.contigs, info.header_text, max_positions)
    if detected is None:
        log.warning("%s: genome build not detectable (%s); taking it as %s", info.path, evidence, wanted)
        return wanted
    if detected != wanted:
        raise InputError(
            f"genome build is {detected} ({evidence}) but {wanted} is expected; pass --build {detected} "
            f"to ingest it as {detected}", info.path, record)
    return detected


@contextlib.contextmanager
def _locked(work: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``work/lock`` for this run; InputError if another ingest holds it.

    File systems without flock (some Lustre mounts) give no lock rather than an error.
    """
    with open(work / "lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise InputError("another hpcgen ingest is writing this store now", work.parent) from None
        yield


def _kept_shards(store: Path, work: Path, fingerprint: str) -> set[str]:
    """Shard names a rerun may keep; clears the store's shards when the previous run was another job."""
    plan_file, done_dir, shards = work / "plan.json", work / "done", store / S.SHARDS_DIR
    previous = json.loads(plan_file.read_text()).get("fingerprint") if plan_file.is_file() else None
    if previous != fingerprint:
        shutil.rmtree(done_dir, ignore_errors=True)
        shutil.rmtree(shards, ignore_errors=True)
    done_dir.mkdir(parents=True, exist_ok=True)
    shards.mkdir(parents=True, exist_ok=True)
    for stale in shards.glob(".*.partial"):  # left by a killed writer
        stale.unlink(missing_ok=True)
    atomic_write_text(plan_file, json.dumps({"fingerprint": fingerprint}) + "\n")
    kept = set()
    for record in done_dir.glob("*.json"):
        info = ShardInfo.from_dict(json.loads(record.read_text()))
        shard = store / info.file
        if shard.is_file() and sha256_file(shard) == info.sha256:
            kept.add(Path(info.file).name)
        else:
            record.unlink(missing_ok=True)
    return kept


def _run_local(tasks: list[ShardTask], threads: int) -> list[dict[str, Any]]:
    if threads <= 1 or len(tasks) <= 1:
        return [ingest_shard(t) for t in progress(tasks, total=len(tasks), desc="ingest shards", unit="shard")]
    # fork: workers inherit the imported modules and the loaded split kernel (loading it from numba's cache
    # costs ~1 s per process), and no file handle is open at this point
    warm_up()
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(threads, len(tasks)), mp_context=ctx) as pool:
        futures = [pool.submit(ingest_shard, t) for t in tasks]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
        return [f.result() for f in futures]


def warm_up() -> None:
    """Load the numba split kernel in this process (forked workers then share it)."""
    import numpy as np

    from hpcgen.ingest.split_numba import split_calls

    split_calls(np.zeros((1, 3), np.int16), 1, np.zeros((1, 1, 2), np.int8), np.zeros((1, 1), bool))


def _run_dispatched(tasks: list[ShardTask], profile: str, run_dir: Path, threads: int) -> list[dict[str, Any]]:
    from hpcgen.dispatch import Resources, run_array

    if not tasks:
        return []
    t = tasks[0]
    # the writer's buffer (genotypes, phasing, DP/GQ) dominates a shard job's memory; 3x leaves room for
    # HDF5 chunk copies and the interpreter
    buffer = t.store["chunk_variants"] * len(t.samples) * (4 + 1 + 4 * len(t.fields))
    mem_gb = round(max(2.0, 3 * buffer / 1e9 + 1.0), 1)
    if profile == "local":
        warm_up()  # its local pool forks this process too
    return run_array(ingest_shard, tasks, profile=profile, resources=Resources(cpus_per_task=1, mem_gb=mem_gb),
                     name="ingest-shard", run_dir=run_dir, workers=threads)


def ingest(
    input_path: str | os.PathLike,
    out_store: str | os.PathLike,
    *,
    key: bytes,
    mapping_path: str | os.PathLike | None = None,
    regions: Sequence[str] | None = None,
    shard_size_bp: int | None = None,
    threads: int | None = None,
    build: str | None = None,
    config: HpcgenConfig | str | os.PathLike | None = None,
    profile: str | None = None,
    run_dir: str | os.PathLike | None = None,
) -> Path:
    """Ingest a VCF/BCF into a genotype store; return the path of its ``manifest.json``.

    Parameters
    ----------
    input_path
        BGZF-compressed VCF (``.vcf.gz``), BCF, or plain VCF (compressed to a work copy first).
        Indexed beside the file (``.tbi``/``.csi``) when no index exists.
    out_store
        The store folder (created; an existing store there is replaced, or resumed if the same job).
    key
        Pseudonymization key (:func:`hpcgen.pseudonym.load_key`); never written anywhere.
    mapping_path
        Where to write the real -> pseudonym table (mode 0600); None writes none.
    regions
        ``chrom:start-end`` strings (1-based inclusive; ``1`` or ``chr1``): ingest only these.
    shard_size_bp, threads, build
        Override config ``ingest.shard_size_bp``, ``ingest.threads``, ``ingest.build``.
    config
        A config object or YAML path (None: defaults / ``$HPCGEN_CONFIG``).
    profile
        A dispatch profile (``local``, ``devcluster``, ``adastra-genoa``...): the shards run as an array through
        :func:`hpcgen.dispatch.run_array` and are recorded in ``run_dir`` for ``hpcgen impact``. None runs
        them in a plain local process pool, unrecorded.
    run_dir
        The run's job ledger folder (default: ``<STORE>.run`` beside the store).

    Raises
    ------
    InputError
        Bad input (see docs/store.md "Refused input"); no manifest is left behind.
    """
    cfg = _config(config)
    shard_size_bp = int(shard_size_bp or cfg.ingest.shard_size_bp)
    threads = int(threads or cfg.ingest.threads)
    wanted_build = build or cfg.ingest.build
    info = read_input(input_path)  # header checks touch nothing on disk
    display = str(input_path)
    source_sha = sha256_file(info.path)
    store = Path(out_store).resolve()  # shard jobs may run elsewhere (Slurm): every path they get is absolute
    work = store / S.WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    with _locked(work):
        return _build_store(info, display, source_sha, store, key=key, mapping_path=mapping_path, regions=regions,
                            shard_size_bp=shard_size_bp, threads=threads, build=wanted_build, cfg=cfg,
                            profile=profile, run_dir=run_dir)


def _build_store(info, display: str, source_sha: str, store: Path, *, key: bytes, mapping_path, regions,
                 shard_size_bp: int, threads: int, build: str, cfg: HpcgenConfig, profile, run_dir) -> Path:
    """The body of :func:`ingest` once the input's header is checked and the store is locked."""
    work = store / S.WORK_DIR
    (store / S.MANIFEST).unlink(missing_ok=True)  # from here on the store reads as incomplete
    readable = bgzip_plain(info, work) if info.kind == "vcf" else info
    index = ensure_index(readable).resolve()
    windows, max_positions = plan_windows(readable, str(index), shard_size_bp, regions)
    genome = _check_build(info, max_positions, build)
    if not windows:
        raise InputError("no records to ingest" + (" in the requested regions" if regions else ""), display)
    pseudonyms = pseudonymize(info.samples, key)
    if len(set(pseudonyms)) != len(pseudonyms):
        raise InputError("two sample IDs share a pseudonym (HMAC prefix collision); use another key", display)
    fields = tuple(f.lower() for f in info.fields) if cfg.store.keep_dp_gq else ()
    store_cfg = {"chunk_variants": cfg.store.chunk_variants, "chunk_samples": cfg.store.chunk_samples,
                 "codec": cfg.store.codec, "clevel": cfg.store.clevel}
    attrs = {"build": genome, "source_file": info.path.name, "source_sha256": source_sha, "hpcgen_version": __version__}
    fingerprint = hashlib.sha256(json.dumps(
        [S.SCHEMA_VERSION, source_sha, pseudonyms, [w.__dict__ for w in windows], store_cfg, fields, genome],
        sort_keys=True).encode()).hexdigest()
    kept = _kept_shards(store, work, fingerprint)
    tasks, names = [], []
    for w in windows:
        name = S.shard_name(w.chrom, w.start, w.end)
        names.append(name)
        if name in kept:
            continue
        tasks.append(ShardTask(
            source=str(readable.path.resolve()), index=str(index), display=display, contig=w.contig, chrom=w.chrom,
            start=w.start, end=w.end, out=str(store / S.SHARDS_DIR / name), samples=tuple(pseudonyms),
            fields=fields, store=store_cfg, attrs=attrs, done=str(work / "done" / f"{name}.json")))
    if kept:
        log.info("resuming %s: %d of %d shards already complete (checksums verified)", store, len(windows) - len(tasks), len(windows))
    if profile is None:
        _run_local(tasks, threads)
    else:
        _run_dispatched(tasks, profile, Path(run_dir or store.parent / f"{store.name}.run"), threads)
    shards = [ShardInfo.from_dict(json.loads((work / "done" / f"{n}.json").read_text())) for n in names]
    for extra in set(p.name for p in (store / S.SHARDS_DIR).glob("*.h5")) - set(names):
        (store / S.SHARDS_DIR / extra).unlink()
    if mapping_path is not None:
        Path(mapping_path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new folder: private too
        write_mapping(mapping_path, info.samples, pseudonyms)
    manifest = build_manifest(
        shards, pseudonyms, build=genome,
        source={"file": info.path.name, "sha256": source_sha, "format": "bcf" if info.kind == "bcf" else "vcf"},
        store_config=store_cfg)
    path = write_manifest(store, manifest)
    shutil.rmtree(work, ignore_errors=True)
    log.info("ingested %s: %d variants x %d samples in %d shards -> %s", display, manifest["n_variants"],
             manifest["n_samples"], len(shards), store)
    return path
