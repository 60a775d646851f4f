"""The QC fast path: GIL-free LZ4 chunk decode equals h5py's own read; the thread-pool pass equals the Dask one."""
from __future__ import annotations

import shutil

import h5py
import hdf5plugin
import numpy as np
import pytest

from hpcgen.store.lz4chunk import decode_lz4_chunk
from hpcgen.store.reader import read_rows_fast


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_read_rows_fast_matches_h5py(tmp_path, codec):
    rng = np.random.default_rng(3)
    data = rng.integers(-2, 2, size=(23, 13, 2), dtype=np.int8)
    data[5:9] = 0  # compressible rows (LZ4 blocks stored compressed, others may be stored raw)
    comp = hdf5plugin.LZ4(nbytes=64) if codec == "lz4" else hdf5plugin.Zstd()
    with h5py.File(tmp_path / "t.h5", "w") as h5:
        ds = h5.create_dataset("g", shape=data.shape, dtype=np.int8, chunks=(7, 5, 2), fillvalue=-2, **comp)
        ds[:21] = data[:21]  # the last variant chunk's tail is written, one chunk of it never is
        ds[21:, :5] = data[21:, :5]
        expect = ds[:]
        for a, b in [(0, 23), (0, 7), (3, 11), (6, 8), (14, 23), (22, 23)]:
            out = np.full((b - a, 13, 2), 9, dtype=np.int8)
            read_rows_fast(ds, a, b, out)
            np.testing.assert_array_equal(out, expect[a:b])


def to_schema_version_2(path) -> None:
    """Rewrite a store's planes as version 2 held them: a planes row per variant, a listed row's zero."""
    from hpcgen.fsutil import sha256_file
    from hpcgen.kernels.layout import EXACT_SPARSE
    from hpcgen.store import schema as S
    from hpcgen.store.manifest import read_manifest, write_manifest

    manifest = read_manifest(path)
    for shard in manifest["shards"]:
        with h5py.File(path / shard["file"], "r+") as h5:
            held, exact = h5[S.HARDCALL][:], h5[S.HARDCALL_EXACT][:]
            chunks, comp = h5[S.HARDCALL].chunks, dict(h5[S.HARDCALL]._filters)
            every = np.zeros((len(exact), *held.shape[1:]), dtype=np.uint64)
            every[exact != EXACT_SPARSE] = held
            del h5[S.HARDCALL]
            h5.create_dataset(S.HARDCALL, data=every, maxshape=(None, *held.shape[1:]), chunks=chunks,
                              compression=int(next(iter(comp))), compression_opts=tuple(next(iter(comp.values()))))
        shard["sha256"] = sha256_file(path / shard["file"])
    manifest["schema_version"] = 2
    write_manifest(path, manifest)


@pytest.mark.parametrize("codec,indexed,version", [("lz4", True, 3), ("lz4", False, 3), ("zstd", True, 3),
                                                   ("lz4", True, 2), ("lz4", False, 2)])
def test_plane_rows_low_level_read_matches_h5py(tmp_path, codec, indexed, version, monkeypatch):
    """read_hardcall_rows (the store's chunk index, pread and liblz4 for LZ4; without the index HDF5's chunk
    lookup, pread and liblz4; h5py for other codecs) gives the planes of the calls: h5py's read of the stored
    planes with the listed rows (few carriers) filled in, for ranges inside, across and at the end of chunks
    (the last one shorter), into a reused buffer too; with ``listed`` the stored form: the held rows' planes
    (store version 3), or every row's with a listed one's zero (version 2)."""
    from hpcgen.kernels.hardcalls import fill_sparse_rows, pack_hardcalls
    from hpcgen.kernels.layout import EXACT_SPARSE
    from hpcgen.store import GenotypeStore, reader
    from hpcgen.store import schema as S

    store = odd_rows_store(tmp_path / "st", codec=codec)
    assert (store.path / "chunks.json").is_file() and store.manifest["chunk_index"]["n_shards"] == 2
    if version == 2:
        to_schema_version_2(store.path)
        store = GenotypeStore.open(store.path)
        assert store.verify() == []
    if not indexed:  # a store written before the chunk index
        del store.manifest["chunk_index"]
    # the planes of the calls, as pack_hardcalls makes them from the int8 calls
    expect = [pack_hardcalls(store.read_genotype_rows(i, 0, sh.n_variants)) for i, sh in enumerate(store.shards)]
    if codec == "lz4" and indexed:  # the chunk index must serve every read: no HDF5 call
        monkeypatch.setattr(reader.GenotypeStore, "_hardcall_h5py", lambda *a: pytest.fail("read through HDF5"))
    elif codec == "lz4":  # the low-level path must serve every LZ4 read: no fallback to h5py
        monkeypatch.setattr(reader, "read_rows_fast", lambda *a: pytest.fail("fell back to h5py"))
    buf = np.full(800 * 2 * 3, 7, dtype=np.uint64)  # 150 samples: 3 words per plane row
    rng = np.random.default_rng(5)
    for i, shard in enumerate(store.shards):
        n = shard.n_variants
        with h5py.File(store.path / shard.file, "r") as h5:
            stored, stored_exact = h5[S.HARDCALL][:], h5[S.HARDCALL_EXACT][:]
            hap_all = h5[S.HARDCALL_HAPLOID][:, 0] if S.HARDCALL_HAPLOID in h5 else None
        held = stored_exact != EXACT_SPARSE
        if version == 3:
            assert len(stored) == held.sum()  # no planes rows for the listed rows
        else:
            assert len(stored) == n and not stored[~held].any()  # a listed row's planes are zero
        if shard.chrom == "chr1":  # chrX: every row has haploid calls, never listed
            assert (~held).sum() > 100
        bits_all, _, exact_all = expect[i]
        ranges = [(0, n), (0, 128), (5, 130), (127, 129), (n - 60, n), (n - 1, n), (3, 3)]
        ranges += [tuple(sorted(rng.integers(0, n + 1, 2))) for _ in range(6)]
        for a, b in ranges:
            for out in (None, buf):
                bits, hap, exact = store.read_hardcall_rows(i, a, b, out=out)
                np.testing.assert_array_equal(bits, bits_all[a:b])
                np.testing.assert_array_equal(exact, exact_all[a:b])
                if (exact == 2).any():
                    np.testing.assert_array_equal(hap, hap_all[a:b])
                else:
                    assert hap.shape == (0, 3)
            bits, hap, exact, offsets, carriers = store.read_hardcall_rows(i, a, b, listed=True)
            p0, p1 = (held[:a].sum(), held[:b].sum()) if version == 3 else (a, b)
            np.testing.assert_array_equal(bits, stored[p0:p1])
            np.testing.assert_array_equal(exact, stored_exact[a:b])
            assert offsets.shape == (b - a + 1,) and offsets[0] == 0 and offsets[-1] == carriers.size
            every = np.full((b - a, 2, 3), 5, dtype=np.uint64)
            every[:len(bits)] = bits
            fill_sparse_rows(every, len(bits), exact, offsets, carriers)
            np.testing.assert_array_equal(every, bits_all[a:b])
            np.testing.assert_array_equal(exact, exact_all[a:b])


def test_chunk_index_is_trusted_only_for_unchanged_shards(tmp_path, monkeypatch, caplog):
    """A shard changed since the index was written (its time or size) is read through HDF5, with one warning
    per store; a chunks.json that is not the manifest's (SHA-256) is not used at all, and verify() names it;
    a copy that keeps the files' times keeps the index."""
    import logging
    import os

    from hpcgen.store import GenotypeStore, reader

    store = odd_rows_store(tmp_path / "st")
    expect = [store.read_hardcall_rows(i, 0, sh.n_variants, listed=True) for i, sh in enumerate(store.shards)]
    through_hdf5: list[int] = []
    h5py_read = reader.GenotypeStore._hardcall_h5py
    monkeypatch.setattr(reader.GenotypeStore, "_hardcall_h5py",
                        lambda self, i, *a: through_hdf5.append(i) or h5py_read(self, i, *a))

    def read_all(st):
        for i, sh in enumerate(st.shards):
            for got, want in zip(st.read_hardcall_rows(i, 0, sh.n_variants, listed=True), expect[i]):
                np.testing.assert_array_equal(got, want)

    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)  # copy2: times kept
    read_all(GenotypeStore.open(copy))
    assert through_hdf5 == []
    for shard in store.shards:  # changed in place (here: only their times)
        os.utime(copy / shard.file, ns=(1, 1))
    with caplog.at_level(logging.WARNING, logger="hpcgen.store"):
        st = GenotypeStore.open(copy)
        read_all(st)
        read_all(st)
    assert through_hdf5 == [0, 1, 0, 1] and sum("chunk index" in r.message for r in caplog.records) == 1
    through_hdf5.clear()
    (copy / "chunks.json").write_text((copy / "chunks.json").read_text().replace('"size"', '"size" '))
    st = GenotypeStore.open(copy)
    read_all(st)
    assert through_hdf5 == [0, 1] and st.verify() == ["chunks.json"]


def test_damaged_chunk_is_an_input_error_naming_shard_and_rows(tmp_path):
    """A planes chunk damaged in place (size and times kept, so the index is trusted): ``hpcgen qc`` exits 2 with
    one line naming the shard file, the dataset and its rows; no manifest is written."""
    import json
    import os

    from hpcgen.errors import InputError
    from hpcgen.store import schema as S
    from tests.conftest import run_hpcgen

    store = odd_rows_store(tmp_path / "st")
    shard = store.path / store.shards[0].file
    row0, offset, size, _ = json.loads((store.path / "chunks.json").read_text())["shards"][0]["datasets"][S.HARDCALL]["chunks"][1]
    st = os.stat(shard)
    with open(shard, "r+b") as f:  # the first LZ4 block's stored size, past the chunk's end
        f.seek(offset + 12)
        f.write(b"\xff\xff\xff\x7f")
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(InputError, match="corrupt LZ4 chunk") as err:
        store.read_hardcall_rows(0, 0, store.shards[0].n_variants, listed=True)
    assert err.value.path == str(shard) and err.value.record.startswith(f"{S.HARDCALL} rows {row0}-")
    proc = run_hpcgen("qc", str(store.path), "--out", str(tmp_path / "qc"))
    assert proc.returncode == 2 and shard.name in proc.stderr and "corrupt LZ4 chunk" in proc.stderr
    assert not (tmp_path / "qc" / "manifest.json").exists()


def test_decode_lz4_chunk_rejects_mismatch(tmp_path):
    with h5py.File(tmp_path / "t.h5", "w") as h5:
        ds = h5.create_dataset("g", data=np.arange(600, dtype=np.int8).reshape(100, 3, 2), chunks=(100, 3, 2),
                               **hdf5plugin.LZ4())
        _, raw = ds.id.read_direct_chunk((0, 0, 0))
    out = np.empty((100, 3, 2), np.int8)
    assert decode_lz4_chunk(raw, out)
    np.testing.assert_array_equal(out, np.arange(600, dtype=np.int8).reshape(100, 3, 2))
    assert not decode_lz4_chunk(raw, np.empty((10, 3, 2), np.int8))  # header size differs: caller falls back


def test_thread_pool_pass_equals_dask_pass(demo_store):
    from hpcgen.config import load_config
    from hpcgen.qc.annotate import autosomal, variant_classes
    from hpcgen.qc.counts import compute_counts, compute_counts_store
    from hpcgen.qc.run import genotype_blocks
    from hpcgen.store import GenotypeStore

    store = GenotypeStore.open(demo_store)
    v = store.variants()
    vclass, auto = variant_classes(v["ref"], v["alt"]), autosomal(v["chrom"])
    dask_counts = compute_counts(genotype_blocks(store, load_config(None)), vclass, auto, scheduler="sync")
    # the demo store has bit-planes; chrX rows (haploid males) are held with the haploid plane
    planes = [store.read_hardcall_rows(i, 0, s.n_variants) for i, s in enumerate(store.shards)]
    assert all(p is not None for p in planes)
    exact = np.concatenate([p[2] for p in planes])
    on_x = v["chrom"].to_numpy() == "chrX"
    assert on_x.any() and (exact[on_x] == 2).all() and (exact[~on_x] == 1).all()
    for threads, block, hardcalls, ahead in [(2, 10_000, True, 512), (1, 300, True, 1), (2, 10_000, False, 1)]:
        ours = compute_counts_store(store, vclass, auto, threads=threads, block_variants=block, hardcalls=hardcalls,
                                    read_ahead_mb=ahead)
        np.testing.assert_array_equal(ours.variant, dask_counts.variant)
        np.testing.assert_array_equal(ours.sample, dask_counts.sample)
        np.testing.assert_array_equal(ours.singletons, dask_counts.singletons)
        np.testing.assert_allclose(ours.het, dask_counts.het, rtol=1e-12, atol=1e-9)
    # the Dask graph over the planes (Slurm profiles), run here with the synchronous and threaded schedulers
    import dask

    from hpcgen.qc.counts import count_graph_store

    for kwargs in ({"scheduler": "sync"}, {"scheduler": "threads", "num_workers": 2}):
        (planes,) = dask.compute(count_graph_store(store, vclass, auto, 300), **kwargs)
        np.testing.assert_array_equal(planes.variant, dask_counts.variant)
        np.testing.assert_array_equal(planes.sample, dask_counts.sample)
        np.testing.assert_array_equal(planes.singletons, dask_counts.singletons)
        np.testing.assert_allclose(planes.het, dask_counts.het, rtol=1e-12, atol=1e-9)
    # and the rows themselves: the fast reader equals the h5py read of the whole store
    np.testing.assert_array_equal(np.concatenate([store.read_genotype_rows(i, 0, s.n_variants)
                                                  for i, s in enumerate(store.shards)]), store.genotypes())


def odd_rows_store(path, codec: str = "lz4"):
    """A store whose shards hold rows the planes do not hold (an allele code above 1, an absent first allele)
    among rows they do and rows listed by their carriers, on chr1 and on chrX with haploid males; 150 samples."""
    from hpcgen.store import GenotypeStore, ShardWriter
    from hpcgen.store import schema as S
    from hpcgen.store.manifest import build_manifest, write_manifest

    rng = np.random.default_rng(11)
    samples = [f"P{i:016x}" for i in range(150)]
    infos = []
    for chrom, n in [("chr1", 700), ("chrX", 300)]:
        # cohort-like: most rows rare (the store lists those by their carriers), the others of any frequency
        af = np.where(rng.random(n) < 0.6, rng.random(n) * 0.015, rng.random(n))
        g = (rng.random((n, len(samples), 2)) < af[:, None, None]).astype(np.int8)
        g[rng.random((n, len(samples))) < 0.005] = -1
        if chrom == "chrX":
            g[:, :60, 1] = -2  # haploid males
        odd = np.array([3, 4, 5, 250, 699 % n])
        g[odd, 100] = (2, 1)  # an allele code above 1
        g[10, 8] = (-2, 1)  # an absent first allele
        w = ShardWriter(path / S.SHARDS_DIR / S.shard_name(chrom, 1, 10**6), samples, chrom, 1, 10**6,
                        chunk_variants=128, codec=codec)
        for k in range(n):
            w.add(k + 1, ".", "A", "G" if k % 3 else "T", 0.0, "PASS", g[k], np.zeros(len(samples), bool))
        infos.append(w.close())
    write_manifest(path, build_manifest(infos, samples, build="GRCh38", source={},
                                        store_config={"chunk_variants": 128, "chunk_samples": 150,
                                                      "codec": codec, "clevel": 3}))
    return GenotypeStore.open(path)


def test_rows_the_planes_do_not_hold_are_counted_from_the_calls(tmp_path):
    """Odd rows (an absent first allele, an allele code above 1) inside blocks of planes: both paths agree."""
    from hpcgen.qc.counts import compute_counts_store

    store = odd_rows_store(tmp_path / "st")
    exact = np.concatenate([store.read_hardcall_rows(i, 0, s.n_variants)[2] for i, s in enumerate(store.shards)])
    assert (exact == 0).sum() == 12 and (exact == 2).sum() > 250  # 6 odd rows per shard; chrX held with the haploid plane
    v = store.variants()
    from hpcgen.qc.annotate import autosomal, variant_classes

    vclass, auto = variant_classes(v["ref"], v["alt"]), autosomal(v["chrom"])
    import dask

    from hpcgen.qc.counts import count_graph_store

    calls = compute_counts_store(store, vclass, auto, threads=2, block_variants=300, hardcalls=False)
    on_dask = dask.compute(count_graph_store(store, vclass, auto, 256), scheduler="sync")[0]
    for planes in [compute_counts_store(store, vclass, auto, threads=threads, block_variants=block, hardcalls=True)
                   for threads, block in [(2, 300), (1, 1000)]] + [on_dask]:
        np.testing.assert_array_equal(planes.variant, calls.variant)
        np.testing.assert_array_equal(planes.sample, calls.sample)
        np.testing.assert_array_equal(planes.singletons, calls.singletons)
        np.testing.assert_allclose(planes.het, calls.het, rtol=1e-12, atol=1e-9)


def test_king_and_pca_blocks_from_planes_equal_the_calls(tmp_path):
    """KING over the store (planes, rows through their carriers or the pair kernel, odd rows from the int8
    calls, several sample blocks) equals a loop per pair on the int8 calls; PCA's products equal products with
    the standardized int8 calls; both also on a store without bit-planes."""
    from hpcgen.kernels.king import king_kinship, king_pair_counts_reference
    from hpcgen.kernels.pca_blocks import standardize_block
    from hpcgen.qc.counts import _row_tasks
    from hpcgen.qc.kinship import compute_kinship
    from hpcgen.qc.pca import _block_product

    store = odd_rows_store(tmp_path / "st")
    g = store.genotypes()
    rng = np.random.default_rng(5)
    use = rng.random(store.n_variants) < 0.8  # a subset, odd rows included
    use[[3, 4, 5, 10, 250]] = True
    ref = king_pair_counts_reference(g[use], g[use])
    index = {s: k for k, s in enumerate(store.samples)}

    def check(pairs):
        assert len(pairs) == 150 * 149 // 2
        i = pairs["sample_1"].map(index).to_numpy()
        j = pairs["sample_2"].map(index).to_numpy()
        assert (i < j).all()
        for col, k in [("nsnp", 0), ("hethet", 1), ("ibs0", 2), ("het_1", 3), ("het_2", 4)]:
            np.testing.assert_array_equal(pairs[col].to_numpy(), ref[k][i, j])
        np.testing.assert_allclose(pairs["kinship"].to_numpy(), king_kinship(ref)[i, j], rtol=1e-12)

    check(compute_kinship(store, use, -np.inf, block_variants=256, block_samples=64, scheduler="sync"))
    # a store without bit-planes (written before they existed): every row from the int8 calls
    from hpcgen.store import GenotypeStore
    from hpcgen.store import schema as S

    bare = tmp_path / "bare"
    shutil.copytree(tmp_path / "st", bare)
    for shard in store.shards:
        with h5py.File(bare / shard.file, "r+") as h5:
            for name in (S.HARDCALL, S.HARDCALL_EXACT, S.HARDCALL_HAPLOID):
                if name in h5:
                    del h5[name]
    bare_store = GenotypeStore.open(bare)
    assert all(bare_store.read_hardcall_rows(i, 0, 1) is None for i in range(len(bare_store.shards)))
    check(compute_kinship(bare_store, use, -np.inf, block_variants=300, block_samples=100, scheduler="threads"))
    # PCA products: rows of planes through their carriers (haploid calls as 0) and odd rows alike
    p = rng.uniform(0.05, 0.95, store.n_variants)
    mean, inv_sd = 2 * p, 1 / np.sqrt(2 * p * (1 - p))
    right = rng.standard_normal((store.n_samples, 4))
    for st in (store, bare_store):
        for task in _row_tasks(st, 256):
            sh, r0, r1, k = task
            rows = np.flatnonzero(use[k:k + r1 - r0])
            x = standardize_block(g[k + rows], mean[k + rows], inv_sd[k + rows]).astype(np.float64)
            args = (str(st.path), task, rows, mean[k + rows], inv_sd[k + rows])
            np.testing.assert_allclose(_block_product(*args, right, False), x @ right, rtol=1e-5, atol=1e-5)
            left = rng.standard_normal((len(rows), 4))
            np.testing.assert_allclose(_block_product(*args, left, True), x.T @ left, rtol=1e-5, atol=1e-5)
