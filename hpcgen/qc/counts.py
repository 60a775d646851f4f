"""One Dask pass over the genotypes: every count the QC tables need, per variant and per sample.

The genotype array is cut into (variant block x sample block) tasks. For each block the fused kernel
(:func:`hpcgen.kernels.qc_counts.block_counts`) gives per-variant partial counts (summed across the
sample blocks of that variant row) and per-sample partial counts (summed across variant rows with a
tree reduction). Once a variant row's totals are known, the statistics that need cohort frequencies
(plink2 --het's expected homozygosity, singleton carriers) are finished on the *same* blocks, which are
still in memory: the store is decoded once. Peak memory is about one variant row (block_variants x
n_samples x ploidy bytes) per worker thread plus the small per-sample partials.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

# per-sample het columns (plink2 --het): OBS_CT, O(HOM), E(HOM)
HET_OBS, HET_O, HET_E = 0, 1, 2


@dataclass
class QcCounts:
    """Totals of one pass.

    variant : ndarray, int64, shape (n_variants, 8)  columns kernels.qc_counts.VARIANT_COLS
    sample : ndarray, int64, shape (n_samples, 11)   columns kernels.qc_counts.SAMPLE_COLS
    het : ndarray, float64, shape (n_samples, 3)     OBS_CT, O(HOM), E(HOM) over polymorphic autosomal variants
    singletons : ndarray, int64, shape (n_samples,)  variants where the sample's diploid call carries an allele seen once among diploid calls (bcftools)
    """

    variant: np.ndarray
    sample: np.ndarray
    het: np.ndarray
    singletons: np.ndarray


def _sum(parts: Sequence[np.ndarray]) -> np.ndarray:
    out = parts[0].copy()
    for p in parts[1:]:
        out += p
    return out


def _tree_sum(items: list, delayed: Callable) -> Any:
    # pairwise reduction so partials are freed as they are added (bounded memory, parallel adds)
    while len(items) > 1:
        items = [delayed(_sum)(items[k:k + 8]) if len(items[k:k + 8]) > 1 else items[k]
                 for k in range(0, len(items), 8)]
    return items[0]


def _row_weights(vc: np.ndarray, auto: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-variant weights of one variant row for the het sums, the rows to revisit, the totals, and singletons.

    Returns (weights (n_var, 3) float64: [E(HOM) if included, included, autosomal-but-excluded],
    rows to visit (int64), column totals (3,), singleton rows (int64)).
    """
    from hpcgen.kernels.layout import V_AC, V_AN, V_HAP_ALT, V_HAP_REF, V_HET, V_HOM_ALT, V_HOM_REF, V_MISSING

    an = vc[:, V_AN].astype(np.float64)
    ac = vc[:, V_AC].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(an > 0, ac / an, np.nan)
    is_auto = auto != 0
    # plink2 --het skips monomorphic (and all-missing) variants; haploid calls never count
    included = is_auto & (an > 0) & (ac > 0) & (ac < an)
    w = np.zeros((vc.shape[0], 3), dtype=np.float64)
    w[included, 0] = 1.0 - 2.0 * p[included] * (1.0 - p[included])
    w[included, 1] = 1.0
    w[is_auto & ~included, 2] = 1.0
    nondiploid = vc[:, V_MISSING] + vc[:, V_HAP_REF] + vc[:, V_HAP_ALT]
    rows = np.flatnonzero(is_auto & (nondiploid > 0)).astype(np.int64)
    # singletons as bcftools stats counts them: an allele (ALT, else REF) seen once among the diploid calls
    # (so carried by the one heterozygote); haploid calls do not count
    het, hom_ref, hom_alt = vc[:, V_HET], vc[:, V_HOM_REF], vc[:, V_HOM_ALT]
    alt_once = (het == 1) & (hom_alt == 0)
    ref_once = (het == 1) & (hom_ref == 0) & ~alt_once
    singles = np.flatnonzero(alt_once | ref_once).astype(np.int64)
    which = alt_once[singles].astype(np.int8)
    return w, rows, w.sum(axis=0), (singles, which)


def _finish_block(g: np.ndarray, sc: np.ndarray, prep: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Second look at a block (already in memory): het sums and singleton carriers."""
    from hpcgen.aot import kernel
    from hpcgen.kernels.layout import S_AUTO_HOM

    w, rows, totals, singles = prep
    g = np.ascontiguousarray(g)
    # sums over each sample's non-diploid calls, subtracted from the row totals
    missed = kernel("expected_hom_sums")(g, w, rows)
    het = np.empty((g.shape[1], 3), dtype=np.float64)
    het[:, HET_OBS] = totals[1] - missed[:, 1]
    # O(HOM): autosomal homozygous calls minus those at excluded (monomorphic) variants, where every call is hom
    het[:, HET_O] = sc[:, S_AUTO_HOM] - (totals[2] - missed[:, 2])
    het[:, HET_E] = totals[0] - missed[:, 0]
    return sc, het, kernel("carrier_counts")(g, singles[0], singles[1])


def _counts_block(g: np.ndarray, vclass: np.ndarray, auto: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from hpcgen.aot import kernel

    return kernel("block_counts")(np.ascontiguousarray(g), vclass, auto)


def count_graph(gt, vclass: np.ndarray, auto: np.ndarray):
    """Build (not run) the Dask graph of one counting pass.

    Parameters
    ----------
    gt : dask.array, int8, shape (n_variants, n_samples, ploidy)
        Genotypes; one chunk along the ploidy axis.
    vclass, auto : ndarray, uint8, shape (n_variants,)
        See :func:`hpcgen.kernels.qc_counts.block_counts`.

    Returns
    -------
    dask.delayed.Delayed
        Computes to a :class:`QcCounts`.
    """
    import functools

    import dask

    delayed = functools.partial(dask.delayed, pure=True)
    if gt.numblocks[2] != 1:
        gt = gt.rechunk({2: -1})
    blocks = gt.to_delayed()
    v_edges = np.concatenate([[0], np.cumsum(gt.chunks[0])])
    n_sb = gt.numblocks[1]
    rows_v, per_sb = [], [[] for _ in range(n_sb)]
    for i in range(gt.numblocks[0]):
        sl = slice(int(v_edges[i]), int(v_edges[i + 1]))
        vcl, au = vclass[sl], auto[sl]
        parts = [delayed(_counts_block, nout=2)(blocks[i, j, 0], vcl, au) for j in range(n_sb)]
        vc_i = delayed(_sum)([p[0] for p in parts])
        prep = delayed(_row_weights, nout=4)(vc_i, au)
        rows_v.append(vc_i)
        for j in range(n_sb):
            per_sb[j].append(delayed(_finish_block, nout=3)(blocks[i, j, 0], parts[j][1], prep))
    sample_parts = []
    for j in range(n_sb):
        sc = _tree_sum([f[0] for f in per_sb[j]], delayed)
        het = _tree_sum([f[1] for f in per_sb[j]], delayed)
        single = _tree_sum([f[2] for f in per_sb[j]], delayed)
        sample_parts.append((sc, het, single))

    def assemble(variant_rows, samples):
        return QcCounts(
            variant=np.concatenate(variant_rows, axis=0) if variant_rows else np.zeros((0, 8), np.int64),
            sample=np.concatenate([s[0] for s in samples], axis=0),
            het=np.concatenate([s[1] for s in samples], axis=0),
            singletons=np.concatenate([s[2] for s in samples], axis=0),
        )

    return delayed(assemble)(rows_v, sample_parts)


def compute_counts(gt, vclass: np.ndarray, auto: np.ndarray, **compute_kwargs: Any) -> QcCounts:
    """Run :func:`count_graph` (``compute_kwargs`` go to ``dask.compute``: scheduler, num_workers)."""
    import dask

    (out,) = dask.compute(count_graph(gt, vclass, auto), **compute_kwargs)
    return out


_warm_up: dict[str, Any] = {}


class _Ready:
    """A finished warm-up: nothing to wait for."""

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False


def start_warm_up() -> Any:
    """Start :func:`warm_up_kernels` in a daemon thread, once per process; return it (``join`` waits).

    ``hpcgen qc`` starts it before importing pandas and reading the store: numba's import, and the LLVM work of
    loading cached kernels (GIL released), overlap them. With the ahead-of-time kernels built
    (:mod:`hpcgen.aot`) there is nothing to load: the returned object's ``join`` returns at once.
    """
    import threading

    from hpcgen.aot import available

    if "thread" not in _warm_up:
        if available():
            _warm_up["thread"] = _Ready()
        else:
            _warm_up["thread"] = threading.Thread(target=warm_up_kernels, name="hpcgen-qc-warmup", daemon=True)
            _warm_up["thread"].start()
    return _warm_up["thread"]


def warm_up_kernels() -> None:
    """Load the counting kernels: with numba, its import and the cached kernels (about 0.7 s in a new process).

    ``hpcgen qc`` runs this in a thread while it reads the variant table, so the two overlap.
    """
    from hpcgen.aot import kernel

    g = np.zeros((2, 3, 2), dtype=np.int8)
    flags = np.ones(2, dtype=np.uint8)
    rows = np.arange(2, dtype=np.int64)
    kernel("block_counts")(g, flags, flags)
    kernel("expected_hom_sums")(g, np.zeros((2, 3), dtype=np.float64), rows)
    kernel("carrier_counts")(g, rows, np.zeros(2, dtype=np.int8))
    kernel("hardcall_counts")(np.zeros((2, 2, 1), dtype=np.uint64), np.zeros((2, 1), dtype=np.uint64), flags, 3, flags,
                              flags, np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.uint32))


Task = tuple[int, int, int, int]  # (shard index, first row, end row, first store row)


def row_bytes(store, planes: bool) -> int:
    """Bytes of one variant row (all samples) as a block holds it: bit-planes (16 per 64 samples) or int8 calls."""
    from hpcgen.kernels.layout import n_words

    return 16 * n_words(store.n_samples) if planes else store.n_samples * store.ploidy


def _row_tasks(store, block_variants: int) -> list[Task]:
    """(shard index, first row, end row, global first row) of every block, blocks aligned to store chunks."""
    cv = store.chunk_variants
    # whole store chunks per block when a block holds at least one (a chunk is decoded once), else a divisor
    bv = max(cv, (block_variants // cv) * cv) if block_variants >= cv else max(1, cv // -(-cv // block_variants))
    tasks, k = [], 0
    for i, shard in enumerate(store.shards):
        for a in range(0, shard.n_variants, bv):
            b = min(shard.n_variants, a + bv)
            tasks.append((i, a, b, k + a))
        k += shard.n_variants
    return tasks


def _calls_counts(g: np.ndarray, vcl: np.ndarray, au: np.ndarray) -> tuple[np.ndarray, ...]:
    """(variant counts, sample counts, het sums, singletons) of int8 rows: the fused count, then the second look."""
    from hpcgen.aot import kernel

    vc, sc = kernel("block_counts")(g, vcl, au)
    return (vc, *_finish_block(g, sc, _row_weights(vc, au)))


def read_block(store, task: Task, hardcalls: bool = True, out: np.ndarray | None = None,
               listed: bool = False) -> tuple[Any, ...]:
    """The calls of one task's rows: ``(bits, hap, exact, odd rows, their int8 calls)`` from the bit-planes, or
    ``(int8 calls,)`` when the shard has none (or ``hardcalls`` is False). LZ4 is decoded without the GIL.

    Used by every pass over the store (counts, KING, PCA). ``out``: a reused buffer for the planes;
    ``listed``: rows the store lists by their carriers stay listed (``bits`` then holds the other rows'
    planes only, as a store of version 3 does), and the tuple ends with their ``(offsets, carriers)``
    (:meth:`~hpcgen.store.GenotypeStore.read_hardcall_rows`)."""
    i, a, b, _ = task
    planes = (store.read_hardcall_rows(i, a, b, out=out, listed=listed) if hardcalls and store.shards[i].hardcall
              else None)
    if planes is None:
        return (store.read_genotype_rows(i, a, b),)
    bits, hap, exact = planes[:3]
    from hpcgen.kernels.layout import EXACT_NO

    rest = np.flatnonzero(exact == EXACT_NO)
    if not rest.size:
        g_rest = np.empty((0, store.n_samples, store.ploidy), dtype=np.int8)
    else:
        # the few rows the planes do not hold, as int8 calls, read run by run (not the whole block: wide cohorts)
        runs = np.split(rest, np.flatnonzero(np.diff(rest) > 1) + 1)
        g_rest = np.concatenate([store.read_genotype_rows(i, a + int(r[0]), a + int(r[-1]) + 1) for r in runs])
    return (bits, hap, exact, rest, g_rest, *planes[3:])


def count_block(block: tuple[Any, ...], n_samples: int, vcl: np.ndarray, au: np.ndarray) -> tuple[np.ndarray, ...]:
    """(variant counts, sample counts, het sums, singletons) of a block from :func:`read_block`."""
    if len(block) == 1:
        return _calls_counts(block[0], vcl, au)
    from hpcgen.aot import kernel

    from hpcgen.kernels.layout import no_sparse_rows

    bits, hap, exact, rest, g_rest = block[:5]
    sparse = block[5:] if len(block) == 7 else no_sparse_rows(len(exact))
    vc, sc, h, single = kernel("hardcall_counts")(bits, hap, exact, n_samples, vcl, au, *sparse)
    if rest.size:  # rows the planes do not hold exactly: from the int8 calls
        vc2, sc2, h2, single2 = _calls_counts(g_rest, vcl[rest], au[rest])
        vc[rest] = vc2
        sc += sc2
        h += h2
        single += single2
    return vc, sc, h, single


def compute_counts_store(store, vclass: np.ndarray, auto: np.ndarray, threads: int,
                         block_variants: int, hardcalls: bool = True, read_ahead_mb: int = 512,
                         kernels_ready: Callable[[], Any] | None = None) -> QcCounts:
    """The same totals as :func:`compute_counts`, read straight from the store by pools of threads.

    Used by the local profile: no Dask graph. Each task covers whole variant rows (all samples) of one
    shard (:func:`read_block`, :func:`count_block`). Where the shard has hard-call bit-planes
    (``calls/hardcall``, 2 bits per call) the pass is :func:`hpcgen.kernels.hardcalls.hardcall_counts`; rows
    the planes do not hold exactly (odd allele codes) and shards without planes are read as int8 calls,
    counted with the fused int8 kernel, and the frequency-dependent sums finished on the same rows while they
    are in memory.

    With the kernels loaded (``kernels_ready`` None: the ahead-of-time build), ``threads`` workers each read
    a block and count it: the block is still in the core's cache when it is counted (LZ4 chunks are decoded
    without the GIL), and two threads on two cores beat four (0.43 vs 0.47 s for a whole ``hpcgen qc`` at
    5,000 x 200,000). While numba loads (``kernels_ready``: the warm-up thread's ``join``, called before the
    first count), reading and counting are two pools instead, so that reads run ahead of the counts by up to
    ``read_ahead_mb`` of decoded blocks during the ~0.7 s load. Partials are added in task order either way,
    so float sums are the same from run to run. ``hardcalls=False`` reads the int8 calls only (tests compare
    the two paths).

    Parameters
    ----------
    store : hpcgen.store.GenotypeStore
    vclass, auto : ndarray, uint8, shape (n_variants,)
    threads : int
        Threads per pool.
    block_variants : int
        Variants per task at most (rounded to the store's chunks).
    read_ahead_mb : int
        Decoded blocks (MB) read but not yet counted, at most about (at least one block per thread).
    kernels_ready : callable, optional
        Blocks until the counting kernels are loaded; None when they are.
    """
    import queue
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    n_smp = store.n_samples
    variant = np.zeros((store.n_variants, 8), dtype=np.int64)
    sample = np.zeros((n_smp, 11), dtype=np.int64)
    het = np.zeros((n_smp, 3), dtype=np.float64)
    singletons = np.zeros(n_smp, dtype=np.int64)
    totals = QcCounts(variant=variant, sample=sample, het=het, singletons=singletons)
    tasks = _row_tasks(store, block_variants)

    def planes_held(task: Task) -> bool:
        return hardcalls and store.shards[task[0]].hardcall

    def block_bytes(task: Task) -> int:
        return (task[2] - task[1]) * row_bytes(store, planes_held(task))

    workers = max(1, threads)
    fused = kernels_ready is None
    # the planes are decoded into a few reused buffers, not fresh memory per block: first touches of new
    # pages cost more than the decode on these VMs, and the peak stays a few blocks whatever the cohort
    plane_words = max((block_bytes(t) // 8 for t in tasks if planes_held(t)), default=0)
    buffers: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range((workers + 1 if fused else 2 * workers + 1) if plane_words else 0):
        buffers.put(np.empty(plane_words, dtype=np.uint64))

    def read(task: Task) -> tuple[tuple[Any, ...], np.ndarray | None]:
        # a reader waits for a free buffer: the counts of earlier tasks (already read) free them
        buf = buffers.get() if planes_held(task) else None
        try:
            return read_block(store, task, hardcalls, out=buf, listed=True), buf
        except BaseException:
            if buf is not None:
                buffers.put(buf)
            raise

    def count(task: Task, data: tuple[tuple[Any, ...], np.ndarray | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i, a, b, k = task
        block, buf = data
        try:
            if kernels_ready is not None:
                kernels_ready()
            vc, sc, h, single = count_block(block, n_smp, vclass[k:k + b - a], auto[k:k + b - a])
        finally:
            if buf is not None:
                buffers.put(buf)
        variant[k:k + b - a] = vc
        return sc, h, single

    if fused:
        with ThreadPoolExecutor(workers, thread_name_prefix="hpcgen-qc-count") as pool:
            # a worker holds one buffer at a time; at most 2 x workers partials wait to be added (each has
            # a row per sample: bounded memory for wide cohorts)
            done: deque = deque()  # in task order
            for task in tasks:
                if len(done) >= 2 * workers:
                    _add(done.popleft().result(), sample, het, singletons)
                done.append(pool.submit(lambda t: count(t, read(t)), task))
            while done:
                _add(done.popleft().result(), sample, het, singletons)
        return totals

    budget = max(1, read_ahead_mb) << 20
    with ThreadPoolExecutor(workers, thread_name_prefix="hpcgen-qc-read") as readers, \
            ThreadPoolExecutor(workers, thread_name_prefix="hpcgen-qc-count") as counters:
        pending: deque = deque()  # (count future, bytes), in task order
        ahead = 0
        for task in tasks:
            size = block_bytes(task)
            while pending and ahead + size > budget and len(pending) >= workers:
                done, freed = pending.popleft()
                _add(done.result(), sample, het, singletons)
                ahead -= freed
            read_future = readers.submit(read, task)
            pending.append((counters.submit(lambda t, f: count(t, f.result()), task, read_future), size))
            ahead += size
        while pending:
            _add(pending.popleft()[0].result(), sample, het, singletons)
    return totals


def _store_task(store_path: str, task: Task, vcl: np.ndarray, au: np.ndarray) -> tuple[np.ndarray, ...]:
    # one Dask task: open the store where the worker runs (nothing big travels), read and count whole rows
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open_shared(store_path)
    return count_block(read_block(store, task, listed=True), store.n_samples, vcl, au)


def count_graph_store(store, vclass: np.ndarray, auto: np.ndarray, block_variants: int):
    """Build (not run) the Dask graph of the counting pass over a store with bit-planes (Slurm profiles).

    One task per block of whole rows (:func:`_row_tasks`), as :func:`compute_counts_store` runs them in
    process: each task opens the store on its worker, reads the planes and counts them; per-sample partials
    are tree-summed, variant rows concatenated in store order. A block of rows is 16 bytes per 64 samples
    per variant, so whole rows stay small even for biobank cohorts (no split along samples is needed).

    Returns
    -------
    dask.delayed.Delayed
        Computes to a :class:`QcCounts`.
    """
    import functools

    import dask

    delayed = functools.partial(dask.delayed, pure=True)
    path = str(store.path)
    parts = []
    for task in _row_tasks(store, block_variants):
        i, a, b, k = task
        parts.append(delayed(_store_task, nout=4)(path, task, vclass[k:k + b - a], auto[k:k + b - a]))
    if not parts:
        n = store.n_samples
        return delayed(QcCounts)(np.zeros((0, 8), np.int64), np.zeros((n, 11), np.int64), np.zeros((n, 3)),
                                 np.zeros(n, np.int64))

    def assemble(variant_rows, sample, het, singletons):
        return QcCounts(variant=np.concatenate(variant_rows, axis=0), sample=sample, het=het, singletons=singletons)

    return delayed(assemble)([p[0] for p in parts], _tree_sum([p[1] for p in parts], delayed),
                             _tree_sum([p[2] for p in parts], delayed), _tree_sum([p[3] for p in parts], delayed))


def _add(result: tuple[np.ndarray, np.ndarray, np.ndarray], sample: np.ndarray, het: np.ndarray,
         singletons: np.ndarray) -> None:
    sc, h, single = result
    sample += sc
    het += h
    singletons += single
