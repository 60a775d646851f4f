"""`hpcgen filter`: a new store holding the variants that pass the QC thresholds.

Order of operations (as plink2 with --min-dp-style call masks before --geno/--maf/--hwe): calls with
FORMAT/DP < qc.min_dp or FORMAT/GQ < qc.min_gq are set missing; a counting pass over the masked
genotypes gives each variant's call rate, MAF and HWE p; variants failing any threshold are dropped.
Samples are all kept (sample call rates are in `hpcgen qc`'s table). The new store is written through
the store's public writer (:class:`hpcgen.store.ShardWriter`, :func:`hpcgen.store.manifest.build_manifest`)
into a temporary folder renamed into place when complete, so a failed run leaves nothing that looks
like a store.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hpcgen.config import HpcgenConfig, load_config
from hpcgen.errors import InputError
from hpcgen.fsutil import atomic_dir, sha256_file


def _mask_calls(g: np.ndarray, dp: np.ndarray | None, gq: np.ndarray | None, min_dp: int, min_gq: int) -> np.ndarray:
    """Set calls with DP < min_dp or GQ < min_gq (a missing DP/GQ, -1, does not mask) to missing (-1)."""
    bad = np.zeros(g.shape[:2], dtype=bool)
    if dp is not None and min_dp > 0:
        bad |= (dp >= 0) & (dp < min_dp)
    if gq is not None and min_gq > 0:
        bad |= (gq >= 0) & (gq < min_gq)
    if not bad.any():
        return g
    g = g.copy()
    sel = bad[:, :, None] & (g != -2)  # an absent allele of a haploid call stays absent
    g[sel] = -1
    return g


def masked_genotypes(store, q):
    """The store's genotypes as dask with the DP/GQ call mask applied (unchanged when both are off)."""
    import dask.array as da

    gt = store.genotypes_dask()
    use_dp = q.min_dp > 0 and "dp" in store.fields
    use_gq = q.min_gq > 0 and "gq" in store.fields
    if (q.min_dp > 0 and "dp" not in store.fields) or (q.min_gq > 0 and "gq" not in store.fields):
        raise InputError("qc.min_dp / qc.min_gq set but the store has no DP / GQ (ingest keeps them with store.keep_dp_gq)",
                         store.path)
    if not (use_dp or use_gq):
        return gt
    gt = gt.rechunk({2: -1})
    dp = store.field_dask("dp").rechunk(gt.chunks[:2]) if use_dp else None
    gq = store.field_dask("gq").rechunk(gt.chunks[:2]) if use_gq else None
    args = [a for a in (dp, gq) if a is not None]

    def fn(g, *fields):
        fields = [f[:, :, 0] for f in fields]  # passed with a trailing axis to line up with the ploidy axis
        d = fields.pop(0) if use_dp else None
        qq = fields.pop(0) if use_gq else None
        return _mask_calls(g, d, qq, q.min_dp, q.min_gq)

    return da.map_blocks(fn, gt, *[a[:, :, None] for a in args], dtype=np.int8)


def filter_store(store_path: str | os.PathLike, out_store: str | os.PathLike, *,
                 config: HpcgenConfig | str | os.PathLike | None = None, profile: str | None = None) -> dict[str, Any]:
    """Write ``out_store`` with the passing variants of ``store_path``; return its manifest.

    The manifest is the store's (schema, samples, build) with ``source`` kept and a ``filter`` entry:
    thresholds, input and kept counts, and the SHA-256 of the input store's manifest.
    """
    from hpcgen.qc.annotate import autosomal, variant_classes
    from hpcgen.qc.compute import dask_context
    from hpcgen.qc.counts import compute_counts
    from hpcgen.qc.tables import variant_table
    from hpcgen.store import GenotypeStore, ShardWriter
    from hpcgen.store import schema as S
    from hpcgen.store.manifest import build_manifest, write_manifest

    cfg = config if isinstance(config, HpcgenConfig) else load_config(config)
    q = cfg.qc
    src = GenotypeStore.open(store_path)
    if Path(out_store).resolve() == src.path.resolve():
        raise InputError("filter output must differ from its input store", out_store)
    variants = src.variants()
    vclass = variant_classes(variants["ref"], variants["alt"])
    gt = masked_genotypes(src, q)
    with dask_context(profile, q) as ck:
        counts = compute_counts(gt, vclass, autosomal(variants["chrom"]), **ck)
    keep = variant_table(variants, counts, vclass, q)["pass"].to_numpy()
    cfg_store = src.manifest["store"]
    shards = []
    with atomic_dir(out_store, mode=0o750) as tmp:
        offset = 0
        for k, shard in enumerate(src.shards):
            n = shard.n_variants
            rows = np.flatnonzero(keep[offset:offset + n])
            sel = variants.iloc[offset:offset + n]
            offset += n
            if len(rows) == 0:
                continue
            name = S.shard_name(shard.chrom, shard.start, shard.end)
            with ShardWriter(tmp / S.SHARDS_DIR / name, src.samples, shard.chrom, shard.start, shard.end,
                             fields=src.fields, chunk_variants=src.chunk_variants, chunk_samples=src.chunk_samples,
                             codec=cfg_store.get("codec", "zstd"), clevel=int(cfg_store.get("clevel", 3)),
                             attrs={"build": src.build}, ploidy=src.ploidy) as w:
                # one store chunk of rows at a time: memory stays at chunk_variants x n_samples
                for a in range(0, n, src.chunk_variants):
                    b = min(n, a + src.chunk_variants)
                    part = rows[(rows >= a) & (rows < b)]
                    if len(part) == 0:
                        continue
                    lo, hi = offset - n + a, offset - n + b
                    # the written genotypes are the masked ones (low DP/GQ calls missing)
                    g_block = np.asarray(gt[lo:hi].compute(scheduler="threads"))
                    ph = np.asarray(src.phased_dask()[lo:hi].compute(scheduler="threads"))
                    calls = {f: np.asarray(src.field_dask(f)[lo:hi].compute(scheduler="threads")) for f in src.fields}
                    for r in part:
                        row = sel.iloc[r]
                        i = r - a
                        w.add(int(row["pos"]), str(row["id"]), str(row["ref"]), str(row["alt"]), float(row["qual"]),
                              str(row["filter"]), g_block[i], ph[i], {f: v[i] for f, v in calls.items()})
                shards.append(w.close())
        parent = sha256_file(src.path / S.MANIFEST)
        manifest = build_manifest(shards, list(src.samples), build=src.build, source=dict(src.manifest.get("source", {})),
                                  store_config=dict(cfg_store))
        manifest["filter"] = {
            "by": "hpcgen filter", "input_manifest_sha256": parent, "input_variants": int(src.n_variants),
            "kept": int(keep.sum()),
            "thresholds": {k: getattr(q, k) for k in ("min_call_rate", "min_maf", "hwe_p", "hwe_midp", "min_dp", "min_gq")},
        }
        write_manifest(tmp, manifest)
    return json.loads((Path(out_store) / S.MANIFEST).read_text())
